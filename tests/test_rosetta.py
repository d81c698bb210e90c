"""Every row of the rosetta table: what it does, measured against the reference."""

import numpy as np
import pytest

from decaylab.notebook import setup_notebook
from decaylab.rosetta import ROWS, candidates, exclusion_recipe, identify, run_row

setup_notebook()

EXPECTED = {
    # row: (what the weights get, what the biases get)
    "torch-sgd": ("L2, adds c·w", "L2, adds c·w"),
    "torch-adam": ("L2, adds c·w", "L2, adds c·w"),
    "torch-adamw": ("decoupled, w·(1 − lr·c)", "decoupled, w·(1 − lr·c)"),
    "torch-penalty-l2": ("L2, adds c·w", "L2, adds c·w"),
    "torch-penalty-l1": ("L1, adds c·sign(w)", "L1, adds c·sign(w)"),
    "paddle-l2decay": ("L2, adds c·w", "L2, adds c·w"),
    "paddle-l1decay": ("L1, adds c·sign(w)", "L1, adds c·sign(w)"),
    "paddle-float": ("L2, adds c·w", "L2, adds c·w"),
    "paddle-paramattr": ("L2, adds c·w", "nothing"),
    "paddle-adamw": ("decoupled, w·(1 − lr·c)", "decoupled, w·(1 − lr·c)"),
    "keras-l2": ("L2, adds 2c·w", "nothing"),
    "keras-l1": ("L1, adds c·sign(w)", "nothing"),
    "keras-l1l2": ("L1 + L2, adds c·sign(w) + 2c·w", "nothing"),
    "keras-sgd": ("decoupled, w·(1 − lr·c)", "decoupled, w·(1 − lr·c)"),
    "keras-adam": ("decoupled, w·(1 − lr·c)", "decoupled, w·(1 − lr·c)"),
    "keras-adamw": ("decoupled, w·(1 − lr·c)", "decoupled, w·(1 − lr·c)"),
}


def test_every_row_has_an_expectation():
    assert set(EXPECTED) == set(ROWS)


@pytest.mark.parametrize("row_id", list(ROWS))
def test_row_is_identified(row_id):
    traj, grads = run_row(row_id)
    found = identify(row_id, traj, grads)
    weights, biases = EXPECTED[row_id]
    assert found == {"0.weight": weights, "0.bias": biases, "2.weight": weights, "2.bias": biases}


@pytest.mark.parametrize("row_id", list(ROWS))
def test_decay_scales_with_the_learning_rate(row_id):
    shrink = {}
    for lr in (0.01, 0.02):
        traj, _ = run_row(row_id, lr=lr, steps=1, zero_data=True)
        shrink[lr] = np.abs(traj["0.weight"][1] - traj["0.weight"][0]).sum()
    assert shrink[0.02] / shrink[0.01] == pytest.approx(2.0, rel=1e-3)


@pytest.mark.parametrize(
    ("row_a", "coeff_a", "row_b", "coeff_b"),
    [
        ("torch-sgd", 0.05, "paddle-l2decay", 0.05),
        ("torch-sgd", 0.05, "keras-l2", 0.025),
        ("torch-penalty-l1", 0.05, "paddle-l1decay", 0.05),
        ("paddle-l1decay", 0.05, "keras-l1", 0.05),
        ("torch-adamw", 0.05, "paddle-adamw", 0.05),
        ("torch-adamw", 0.05, "keras-adamw", 0.05),
        ("keras-adam", 0.05, "keras-adamw", 0.05),
    ],
)
def test_conversions_give_the_same_update_on_the_weights(row_a, coeff_a, row_b, coeff_b):
    def absolute(row, coeff):
        traj, grads = run_row(row, coeff=coeff)
        label = identify(row, traj, grads, coeff=coeff)["0.weight"]
        return candidates(coeff)[label]

    assert absolute(row_a, coeff_a) == pytest.approx(absolute(row_b, coeff_b))


@pytest.mark.parametrize("framework", ["PyTorch", "Paddle", "Keras 3"])
def test_exclusion_recipe_decays_weights_only(framework):
    ratios = exclusion_recipe(framework)
    assert ratios["linear1.weight"] == pytest.approx(0.99**3, abs=1e-6)
    assert ratios["linear2.weight"] == pytest.approx(0.99**3, abs=1e-6)
    for key in ("linear1.bias", "norm.weight", "norm.bias", "linear2.bias"):
        assert ratios[key] == pytest.approx(1.0, abs=1e-7)
    everything = exclusion_recipe(framework, exclude=False)
    assert all(v == pytest.approx(0.99**3, abs=1e-6) for v in everything.values())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="row_id must be one of 'torch-sgd'"):
        run_row("torch-rmsprop")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        run_row("torch-sgd", steps=0)
    with pytest.raises(ValueError, match="coeff must be >= 0"):
        run_row("torch-sgd", coeff=-1.0)
    with pytest.raises(ValueError, match="framework must be one of 'PyTorch', 'Paddle', 'Keras 3'"):
        exclusion_recipe("jax")
