"""The book's data sets: the post's toy line and the bundled digits."""

import numpy as np
import pytest
import torch

from decaylab.data import digits_split, toy_line


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
    rows = {r.tobytes() for part in ("x_train", "x_val", "x_test") for r in d[part]}
    assert len(rows) > 1700  # (a few digits images are exact duplicates in the data set itself)
    again = digits_split(n_train=200, n_val=600, seed=3)
    assert np.array_equal(again["y_val"], d["y_val"])
    assert not np.array_equal(digits_split(n_train=200, n_val=600, seed=4)["y_val"], d["y_val"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: toy_line(n=1), "n must be an integer >= 2"),
        (lambda: toy_line(x_range=(1, -1)), "x_range must have low < high"),
        (lambda: toy_line(train_noise=-0.1), "train_noise must be >= 0"),
        (lambda: digits_split(n_train=0), "n_train must be a positive integer"),
        (lambda: digits_split(n_train=1500, n_val=400), "n_train \\+ n_val must leave some"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
