"""decaylab.explorer: the primer's formulas against the NumPy reference, and its bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from decaylab import explorer
from decaylab.rosetta import ROWS

LINEAR = [
    ("sgd", 0.0),
    ("sgd", 0.5),
    ("sgd", 0.9),
    ("sgd", 0.99),
    ("sgdw", 0.9),
    ("adamw", None),
]
SETTINGS = [(0.1, 0.01), (0.01, 0.1), (0.1, 0.5), (1.0, 2.0), (0.5, 1.0)]


@pytest.mark.parametrize(("optimizer", "momentum"), LINEAR)
@pytest.mark.parametrize(("lr", "decay"), SETTINGS)
def test_closed_form_is_the_reference_path(optimizer, momentum, lr, decay):
    ref = explorer.trajectory(optimizer, lr, decay, 300, momentum=momentum)
    np.testing.assert_allclose(
        explorer.closed_form(optimizer, lr, decay, 300, momentum=momentum), ref, atol=1e-12
    )


@pytest.mark.parametrize(("optimizer", "momentum"), LINEAR)
@pytest.mark.parametrize(("lr", "decay"), [(0.1, 0.01), (0.01, 0.1), (0.1, 0.5)])
def test_the_factor_is_the_reference_path_s_rate(optimizer, momentum, lr, decay):
    f = explorer.step_factor(optimizer, lr, decay, momentum=momentum)
    path = explorer.trajectory(optimizer, lr, decay, 2000, momentum=momentum)
    # the envelope over the last 400 steps shrinks by |factor| per step
    rate = (np.abs(path[-400:]).max() / np.abs(path[-800:-400]).max()) ** (1 / 400)
    assert rate == pytest.approx(abs(f.value), rel=2e-3)
    swings = bool((np.diff(np.sign(path)) != 0).any())
    assert swings == (f.kind == "swings")


def test_kinds_and_the_momentum_threshold():
    mu = 0.9
    threshold = (1 - math.sqrt(mu)) ** 2
    assert explorer.step_factor("sgd", 1.0, 0.9 * threshold, momentum=mu).kind == "shrinks"
    assert explorer.step_factor("sgd", 1.0, 1.1 * threshold, momentum=mu).kind == "swings"
    assert explorer.step_factor("sgd", 1.0, 1.1 * threshold, momentum=mu).value == pytest.approx(
        math.sqrt(mu)
    )
    assert explorer.step_factor("adamw", 1.0, 1.5).kind == "swings"  # 1 − ηλ = −0.5
    assert explorer.step_factor("adamw", 1.0, 2.5).kind == "grows"
    assert explorer.step_factor("sgd", 1.0, 4.0, momentum=0.9).kind == "grows"
    assert explorer.step_factor("adam", 0.1, 0.1) == explorer.Factor(None, "no factor")


def test_half_life():
    assert explorer.half_life("adamw", 0.01, 0.1) == pytest.approx(math.log(2) / -math.log(1 - 1e-3))
    assert explorer.half_life("adam", 0.01, 0.1) is None
    assert explorer.half_life("adamw", 1.0, 2.5) is None
    assert explorer.half_life("adamw", 1.0, 1.0) == 0.0
    assert explorer.half_life("sgd", 0.1, 0.0, momentum=0.0) == math.inf
    for lr, decay in [(0.1, 0.01), (0.01, 0.1), (0.1, 0.05)]:
        path = explorer.closed_form("sgd", lr, decay, 5000, momentum=0.0)
        assert explorer.steps_to_half(path) == math.ceil(explorer.half_life("sgd", lr, decay, momentum=0.0))


def test_coupled_adam_ignores_the_size_of_the_decay():
    a = explorer.trajectory("adam", 0.01, 1e-3, 200)
    b = explorer.trajectory("adam", 0.01, 10.0, 200)
    assert np.abs(a - b).max() < 1e-4
    assert 1 - a[1] == pytest.approx(0.01, rel=1e-4)  # ε = 1e-8 against a gradient of 1e-3
    assert explorer.steps_to_half(a) == explorer.steps_to_half(b)
    with pytest.raises(ValueError, match="no closed form"):
        explorer.closed_form("adam", 0.01, 0.1, 10)


def test_steps_to_half():
    assert explorer.steps_to_half([1.0, 0.8, 0.5, 0.2]) == 2
    assert explorer.steps_to_half([-1.0, 0.6, -0.4]) == 2
    assert explorer.steps_to_half([1.0, 0.9]) is None


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: explorer.step_factor("sgdm", 0.1, 0.1), ValueError, "optimizer must be one of"),
        (lambda: explorer.step_factor(None, 0.1, 0.1), TypeError, "optimizer must be a string"),
        (lambda: explorer.step_factor("adam", 0.1, 0.1, momentum=0.9), ValueError, "momentum is not used"),
        (lambda: explorer.step_factor("sgd", 0.0, 0.1), ValueError, "lr must be > 0"),
        (lambda: explorer.step_factor("sgd", 0.1, float("nan")), ValueError, "decay must be finite"),
        (lambda: explorer.step_factor("sgd", 0.1, -1.0), ValueError, "decay must be >= 0"),
        (lambda: explorer.step_factor("sgd", 0.1, 0.1, momentum=1.0), ValueError, "momentum must be < 1"),
        (lambda: explorer.trajectory("sgd", 0.1, 0.1, 0), ValueError, "steps must be >= 1"),
        (lambda: explorer.trajectory("sgd", 0.1, 0.1, 2.5), TypeError, "steps must be a whole number"),
        (lambda: explorer.arguments("sgd", 0.3, 0.1), ValueError, "lr must be one of the figure's values"),
        (lambda: explorer.arguments("sgd", 0.1, 0.1, momentum=0.7), ValueError, "momentum must be one of"),
    ],
)
def test_bad_input_is_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _without_default_momentum(code: str) -> str:
    return code.replace(", momentum=0.9", "")


@pytest.mark.parametrize(
    ("optimizer", "framework"), [(o, f) for o, rows in explorer.CODE.items() for f in rows]
)
def test_each_template_is_its_rosetta_row(optimizer, framework):
    row_id, template, _ = explorer.CODE[optimizer][framework]
    row = ROWS[row_id]
    assert row.framework == framework
    filled = template.format(lr="lr", mu="0.9", c="c")
    assert _without_default_momentum(filled) == _without_default_momentum(row.request)


def test_arguments_fill_the_templates():
    code = explorer.arguments("sgd", 0.1, 0.001, momentum=0.5)
    assert code["PyTorch"] == "opt = SGD(net.parameters(), 0.1, momentum=0.5, weight_decay=0.001)"
    assert code["Keras 3"] == "net = build(kernel_regularizer=l2(0.0005)); opt = SGD(0.1, momentum=0.5)"
    assert set(explorer.arguments("adam", 0.01, 0.1)) == {"PyTorch"}


def test_constants_are_json_and_match_the_choices():
    data = json.loads(json.dumps(explorer.constants()))
    assert data["choices"]["lr"] == list(explorer.CHOICES["lr"])
    assert data["labels"]["decay"][0] == "1e-05"
    assert data["scaled"]["0.5"][data["choices"]["decay"].index(0.001)] == "0.0005"
    assert data["betas"] == [0.9, 0.999]
    assert set(data["code"]) == set(explorer.OPTIMIZERS)
