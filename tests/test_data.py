"""The book's data sets: the post's toy line, the bundled digits, MNIST-1D generated locally."""

import hashlib
import random
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from decaylab.data import digits_split, mnist1d, toy_line


def test_toy_line_follows_the_posts_recipe():
    torch.manual_seed(1)
    tx, ty, vx, vy = toy_line()
    assert tx.shape == ty.shape == vx.shape == vy.shape == (10, 1)
    assert torch.equal(tx, vx)  # the test inputs are the training inputs
    np.testing.assert_allclose(tx[:, 0].numpy(), np.linspace(-1, 1, 10), atol=1e-7)
    # the same draws as the post's gen_data: train noise N(0, 0.5) first, then test noise N(0, 0.3)
    torch.manual_seed(1)
    x = torch.linspace(-1, 1, 10).unsqueeze(1)
    train_noise = torch.normal(0, 0.5, size=x.size())
    test_noise = torch.normal(0, 0.3, size=x.size())
    np.testing.assert_allclose(ty.numpy(), (1.5 * x + 0.5 + train_noise).numpy(), atol=1e-7)
    np.testing.assert_allclose(vy.numpy(), (1.5 * x + 0.5 + test_noise).numpy(), atol=1e-7)


def test_digits_split_is_a_disjoint_scaled_partition():
    d = digits_split(n_train=200, n_val=600, seed=3)
    assert (
        d["x_train"].shape == (200, 64) and d["x_val"].shape == (600, 64) and d["x_test"].shape == (997, 64)
    )
    assert d["x_train"].dtype == np.float32 and d["y_train"].dtype == np.int64
    assert 0.0 <= d["x_train"].min() and d["x_train"].max() <= 1.0
    assert d["x_train"].max() == 1.0  # pixel values 0..16, divided by 16
    assert d["y_test"].shape == (997,)
    rows = {r.tobytes() for part in ("x_train", "x_val", "x_test") for r in d[part]}
    assert len(rows) > 1700  # (a few digits images are exact duplicates in the data set itself)
    again = digits_split(n_train=200, n_val=600, seed=3)
    assert np.array_equal(again["y_val"], d["y_val"])
    assert not np.array_equal(digits_split(n_train=200, n_val=600, seed=4)["y_val"], d["y_val"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: toy_line(n=1), "n must be >= 2"),
        (lambda: toy_line(x_range=(1, -1)), "x_range must have low < high"),
        (lambda: toy_line(train_noise=-0.1), "train_noise must be >= 0"),
        (lambda: digits_split(n_train=0), "n_train must be >= 1"),
        (lambda: mnist1d(n_train=105, n_test=100), "n_train \\+ n_test must be a multiple of 10"),
        (lambda: mnist1d(n_train=0), "n_train must be >= 10"),
        (lambda: digits_split(n_train=1500, n_val=400), "n_train \\+ n_val must leave some"),
        (lambda: toy_line(x_range=(1, 1)), "x_range must have low < high"),
        (lambda: toy_line(test_noise=-0.1), "test_noise must be >= 0"),
        (lambda: toy_line(slope=float("nan")), "slope must be finite"),
        (lambda: toy_line(intercept=float("inf")), "intercept must be finite"),
        (lambda: toy_line(x_range=(float("nan"), 1)), r"x_range\[0\] must be finite"),
        (lambda: toy_line(x_range=(0, float("inf"))), r"x_range\[1\] must be finite"),
        (lambda: digits_split(n_val=0), "n_val must be >= 1"),
        (lambda: digits_split(seed=-1), "seed must be >= 0"),
        (
            lambda: digits_split(n_train=1397, n_val=400),
            "n_train \\+ n_val must leave some of the 1797 images for the test part; got 1797",
        ),
        (lambda: mnist1d(n_train=100, n_test=0), "n_test must be >= 10"),
        (lambda: mnist1d(n_train=100, n_test=100, seed=-1), "seed must be >= 0"),
        (lambda: mnist1d(n_train=100, n_test=100, seed=2**32), "seed must be <= 4294967295"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_x_range_must_be_a_pair():
    for bad in ((0.0,), (0.0, 1.0, 2.0), "ab"):
        with pytest.raises(TypeError, match=r"x_range must be a pair \(low, high\); got"):
            toy_line(x_range=bad)


def test_edge_values_are_accepted():
    assert digits_split(n_train=1396, n_val=400)["x_test"].shape == (1, 64)
    assert mnist1d(n_train=10, n_test=10, seed=0)["x_test"].shape[0] == 10
    assert mnist1d(n_train=10, n_test=10, seed=2**32 - 1)["x_train"].shape[0] == 10


def test_wrong_types_are_type_errors_and_numpy_integers_are_accepted():
    with pytest.raises(TypeError, match="n_train must be a whole number"):
        digits_split(n_train=100.0)
    with pytest.raises(TypeError, match="n_test must be a whole number"):
        mnist1d(n_train=100, n_test="100")
    assert digits_split(n_train=np.int64(100), n_val=np.int32(100))["x_train"].shape == (100, 64)


def _digest(d):
    h = hashlib.sha256()
    for key in sorted(d):
        h.update(key.encode() + d[key].tobytes())
    return h.hexdigest()


SMALL = {"n_train": 200, "n_test": 100, "seed": 3}


def test_mnist1d_shapes_labels_and_a_pinned_summary():
    d = mnist1d(**SMALL)
    assert d["x_train"].shape == (200, 40) and d["x_test"].shape == (100, 40)
    assert d["x_train"].dtype == np.float32 and d["y_train"].dtype == np.int64
    assert np.bincount(np.concatenate([d["y_train"], d["y_test"]])).tolist() == [30] * 10
    # pinned (rounded, so that last-bit differences between CPUs do not matter)
    assert d["y_train"][:12].tolist() == [3, 6, 6, 1, 9, 6, 7, 6, 4, 7, 9, 5]
    assert float(d["x_train"].astype(np.float64).sum()) == pytest.approx(124.945, abs=2e-3)


def test_mnist1d_is_identical_run_to_run():
    here = _digest(mnist1d(**SMALL))
    assert _digest(mnist1d(**SMALL)) == here
    code = (
        "import hashlib; from decaylab.data import mnist1d; d = mnist1d(n_train=200, n_test=100, seed=3); "
        "h = hashlib.sha256(); [h.update(k.encode() + d[k].tobytes()) for k in sorted(d)]; print(h.hexdigest())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert other.stdout.strip() == here
    assert _digest(mnist1d(n_train=200, n_test=100, seed=4)) != here


def test_mnist1d_default_is_the_packages_default_data_set():
    from mnist1d.data import get_dataset_args, make_dataset

    ours = mnist1d()
    state = np.random.get_state()  # noqa: NPY002
    theirs = make_dataset(get_dataset_args())
    np.random.set_state(state)  # noqa: NPY002
    np.testing.assert_array_equal(ours["x_train"], theirs["x"].astype(np.float32))
    np.testing.assert_array_equal(ours["y_test"], theirs["y_test"])


def test_mnist1d_fetches_nothing_and_restores_the_global_random_state(monkeypatch):
    import requests

    def refuse(*args, **kwargs):
        raise AssertionError("network access during MNIST-1D generation")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    d = mnist1d(n_train=100, n_test=100, seed=5)
    assert d["x_train"].shape == (100, 40)
    assert random.getstate() == py_state
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]


# -- added for mutation testing (issue 19) -----------------------------------------------------------


def test_digits_split_defaults():
    default, explicit = digits_split(), digits_split(1000, 400, seed=0)
    assert default["x_train"].shape == (1000, 64) and default["x_val"].shape == (400, 64)
    for key, value in default.items():
        np.testing.assert_array_equal(value, explicit[key])


@pytest.mark.parametrize("which", ["x", "x_test", "both"])
def test_mnist1d_refuses_an_unexpected_split_from_upstream(monkeypatch, which):
    import mnist1d.data as upstream

    real = upstream.make_dataset

    def short(args):
        data = dict(real(args))
        for key in ("x", "x_test") if which == "both" else (which,):
            data[key] = data[key][:-1]
        return data

    monkeypatch.setattr(upstream, "make_dataset", short)
    shapes = {"x": "(19, 40), (20, 40)", "x_test": "(20, 40), (19, 40)", "both": "(19, 40), (19, 40)"}[which]
    with pytest.raises(
        RuntimeError, match=r"^mnist1d\.make_dataset returned an unexpected split: " + re.escape(shapes) + "$"
    ):
        mnist1d(n_train=20, n_test=20, seed=0)
