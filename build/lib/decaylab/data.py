"""The book's data sets: the toy line of the overfitting post, scikit-learn's bundled digits, MNIST-1D.

Nothing is downloaded: the toy line is generated, the digits images (8×8, 1797 of
them) ship inside scikit-learn, and MNIST-1D is generated locally from its ten templates
by the ``mnist1d`` package's own ``make_dataset`` (never its download path).
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["MNIST1D_ARGS", "digits_split", "mnist1d", "toy_line"]


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

    n = _checks.integer("n", n, low=2)
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

    n_train = _checks.integer("n_train", n_train, low=1)
    n_val = _checks.integer("n_val", n_val, low=1)
    seed = _checks.integer("seed", seed, low=0)
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


#: The arguments of ``mnist1d.data.make_dataset`` that the book fixes: the package's own
#: defaults (``get_dataset_args()``, the published MNIST-1D recipe) minus the download URL.
#: :func:`mnist1d` sets ``num_samples``, ``train_split`` and ``seed`` from its arguments.
MNIST1D_ARGS = {
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
}


def mnist1d(n_train: int = 4000, n_test: int = 1000, *, seed: int = 42):
    """MNIST-1D, generated here with the ``mnist1d`` package's ``make_dataset`` and fixed arguments.

    ``n_train + n_test`` signals (a multiple of 10: the same number per digit) of length
    40 are generated from the ten templates with :data:`MNIST1D_ARGS` and ``seed`` (the
    package's default seed is 42; with ``n_train=4000, n_test=1000`` this is the package's
    default data set), then split, the first ``n_train`` for training. Nothing is fetched:
    ``make_dataset`` only computes. The generator seeds NumPy's and Python's global random
    state; both are restored afterwards, so a notebook's other random draws do not depend
    on whether it called this.

    Returns a dict of NumPy arrays ``x_train, y_train, x_test, y_test`` (``x`` float32 of
    shape ``[n, 40]``, standardized over the whole set as ``make_dataset`` does; ``y``
    int64 labels 0..9).
    """
    import random

    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    n_train = _checks.integer("n_train", n_train, low=10)
    n_test = _checks.integer("n_test", n_test, low=10)
    seed = _checks.integer("seed", seed, low=0, high=2**32 - 1)
    total = n_train + n_test
    if total % 10:
        raise ValueError(
            f"n_train + n_test must be a multiple of 10 (the same number of signals per digit); got {total}"
        )
    # make_dataset keeps int(total * train_split) signals for training: the + 0.5 makes that exact.
    args = ObjectView(
        {**MNIST1D_ARGS, "num_samples": total, "train_split": (n_train + 0.5) / total, "seed": seed}
    )
    # make_dataset seeds the legacy global generators (its recipe); put them back afterwards.
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    out = {
        "x_train": data["x"].astype(np.float32),
        "y_train": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }
    if out["x_train"].shape != (n_train, 40) or out["x_test"].shape != (n_test, 40):
        raise RuntimeError(
            f"mnist1d.make_dataset returned an unexpected split: {data['x'].shape}, {data['x_test'].shape}"
        )
    return out
