"""The book's data sets: the toy line of the overfitting post, and scikit-learn's bundled digits.

Nothing is downloaded: the toy line is generated, and the digits images (8×8, 1797 of
them) ship inside scikit-learn.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["digits_split", "toy_line"]


def toy_line(
    n: int = 10,
    x_range: tuple[float, float] = (-1.0, 1.0),
    *,
    slope: float = 1.5,
    intercept: float = 0.5,
    train_noise: float = 0.5,
    test_noise: float = 0.3,
):
    """The 10-point line of post 003: ``y = 1.5 x + 0.5 + noise`` on an even grid.

    Returns ``(train_x, train_y, test_x, test_y)`` as float32 torch tensors of shape
    ``[n, 1]``. Like the post, it draws from **torch's global generator**, train noise
    first, then test noise, so ``torch.manual_seed(1)`` followed by this call and then by
    building the models reproduces the post's numbers. The test inputs are the *same* x
    values as the training inputs; only the noise differs.
    """
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (number of points); got {n!r}")
    if not isinstance(x_range, tuple | list) or len(x_range) != 2:
        raise TypeError(f"x_range must be a pair (low, high); got {x_range!r}")
    low = _checks.real("x_range[0]", x_range[0])
    high = _checks.real("x_range[1]", x_range[1])
    if not low < high:
        raise ValueError(f"x_range must have low < high; got {x_range!r}")
    slope = _checks.real("slope", slope)
    intercept = _checks.real("intercept", intercept)
    train_noise = _checks.real("train_noise", train_noise, low=0.0)
    test_noise = _checks.real("test_noise", test_noise, low=0.0)

    train_x = torch.linspace(low, high, n).unsqueeze(1)
    train_y = slope * train_x + intercept + torch.normal(0.0, train_noise, size=train_x.size())
    test_x = torch.linspace(low, high, n).unsqueeze(1)
    test_y = slope * test_x + intercept + torch.normal(0.0, test_noise, size=test_x.size())
    return train_x, train_y, test_x, test_y


def digits_split(n_train: int = 1000, n_val: int = 400, *, seed: int = 0):
    """scikit-learn's digits, shuffled with ``seed`` and split into train / validation / test.

    Pixel values (0..16) are scaled to [0, 1]. Returns a dict with NumPy arrays
    ``x_train, y_train, x_val, y_val, x_test, y_test`` (``x`` float32 of shape
    ``[n, 64]``, ``y`` int64 labels 0..9); the test part is whatever remains of the 1797
    images.
    """
    from sklearn.datasets import load_digits

    for name, value in (("n_train", n_train), ("n_val", n_val), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name != "seed" else 0):
            raise ValueError(
                f"{name} must be a {'non-negative' if name == 'seed' else 'positive'} integer; got {value!r}"
            )
    x, y = load_digits(return_X_y=True)
    if n_train + n_val >= len(x):
        raise ValueError(
            f"n_train + n_val must leave some of the {len(x)} images for the test part; got {n_train + n_val}"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    x = (x[order] / 16.0).astype(np.float32)
    y = y[order].astype(np.int64)
    a, b = n_train, n_train + n_val
    return {
        "x_train": x[:a],
        "y_train": y[:a],
        "x_val": x[a:b],
        "y_val": y[a:b],
        "x_test": x[b:],
        "y_test": y[b:],
    }
