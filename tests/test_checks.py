"""The shared argument checks: one error type per kind of mistake, NumPy scalars accepted."""

import math

import numpy as np
import pytest

from decaylab import _checks


def test_real_accepts_python_and_numpy_numbers():
    assert _checks.real("x", 1) == 1.0
    assert _checks.real("x", np.float32(1e-6)) == pytest.approx(1e-6)
    assert _checks.real("x", np.int64(100)) == 100.0


@pytest.mark.parametrize("bad", ["1", None, True, np.bool_(False), [1.0]])
def test_real_refuses_wrong_types_with_type_error(bad):
    with pytest.raises(TypeError, match="x must be a real number"):
        _checks.real("x", bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_real_refuses_non_finite(bad):
    with pytest.raises(ValueError, match="x must be finite"):
        _checks.real("x", bad)


def test_real_ranges():
    assert _checks.real("x", 0.0, low=0.0) == 0.0
    with pytest.raises(ValueError, match="x must be > 0"):
        _checks.real("x", 0.0, low=0.0, low_open=True)
    with pytest.raises(ValueError, match="x must be < 1"):
        _checks.real("x", 1.0, high=1.0, high_open=True)
    with pytest.raises(ValueError, match="x must be <= 1"):
        _checks.real("x", 1.5, high=1.0)


def test_integer():
    assert _checks.integer("n", np.int64(100), low=1) == 100
    for bad in (1.0, "1", True, np.float32(2.0)):
        with pytest.raises(TypeError, match="n must be a whole number"):
            _checks.integer("n", bad)
    with pytest.raises(ValueError, match="n must be >= 1"):
        _checks.integer("n", 0, low=1)
    with pytest.raises(ValueError, match="n must be <= 3"):
        _checks.integer("n", 4, high=3)


def test_flag():
    assert _checks.flag("f", np.bool_(True)) is True
    for bad in (1, "yes", None):
        with pytest.raises(TypeError, match="f must be True or False"):
            _checks.flag("f", bad)


def test_one_of_and_text():
    assert _checks.one_of("k", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="k must be one of 'a', 'b'; got 'c'"):
        _checks.one_of("k", "c", ("a", "b"))
    with pytest.raises(TypeError, match="k must be a string, one of"):
        _checks.one_of("k", 1, ("a", "b"))
    with pytest.raises(ValueError, match="t must be words"):
        _checks.text("t", "  ", what="words")
    with pytest.raises(TypeError, match="t must be words"):
        _checks.text("t", 3, what="words")


def test_betas():
    assert _checks.betas((0.9, np.float32(0.999))) == pytest.approx((0.9, 0.999))
    assert _checks.betas(np.array([0.5, 0.5])) == (0.5, 0.5)
    for bad in ((0.9,), "ab", 0.9, (0.9, 0.99, 0.999)):
        with pytest.raises(TypeError, match="betas must be a pair"):
            _checks.betas(bad)
    with pytest.raises(ValueError, match=r"betas\[1\] must be < 1"):
        _checks.betas((0.9, 1.0))


def test_array_and_same_shape():
    assert _checks.array("a", [1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match="a must hold only finite numbers"):
        _checks.array("a", [1.0, math.nan])
    with pytest.raises(TypeError, match="a must be an array of real numbers"):
        _checks.array("a", ["x"])
    with pytest.raises(ValueError, match="b must have the same shape as a"):
        _checks.same_shape("a", np.zeros(2), "b", np.zeros(3))
