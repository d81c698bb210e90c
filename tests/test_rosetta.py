"""Every row of the rosetta table: what it does, measured against the reference."""

import numpy as np
import pytest

from decaylab.notebook import setup_notebook
from decaylab.rosetta import (
    AT_Y,
    AT_Z,
    CANDIDATE_LABELS,
    DECOUPLED_ADJUSTED,
    DECOUPLED_C,
    DECOUPLED_UNSCALED,
    EXCLUSION_KEYS,
    L1_C,
    L1_C_L2_TWO_C,
    L2_C,
    L2_TWO_C,
    NEW_CANDIDATE_LABELS,
    NOTHING,
    ROWS,
    RUNNER_UP_GAP,
    Y_BEFORE,
    IdentificationFailed,
    candidates,
    exclusion_recipe,
    identify,
    initial_weights,
    one_batch,
    replay_error_new,
    replay_errors,
    run_row,
)

setup_notebook()

EXPECTED = {
    # row: (what the weights get, what the biases get)
    "torch-sgd": (L2_C, L2_C),
    "torch-adam": (L2_C, L2_C),
    "torch-adamw": (DECOUPLED_C, DECOUPLED_C),
    "torch-penalty-l2": (L2_C, L2_C),
    "torch-penalty-l1": (L1_C, L1_C),
    "paddle-l2decay": (L2_C, L2_C),
    "paddle-l1decay": (L1_C, L1_C),
    "paddle-float": (L2_C, L2_C),
    "paddle-paramattr": (L2_C, NOTHING),
    "paddle-adamw": (DECOUPLED_C, DECOUPLED_C),
    "keras-l2": (L2_TWO_C, NOTHING),
    "keras-l1": (L1_C, NOTHING),
    "keras-l1l2": (L1_C_L2_TWO_C, NOTHING),
    "keras-sgd": (DECOUPLED_C, DECOUPLED_C),
    "keras-adam": (DECOUPLED_C, DECOUPLED_C),
    "keras-adamw": (DECOUPLED_C, DECOUPLED_C),
    "torch-lion": (DECOUPLED_C, DECOUPLED_C),
    "torch-lion-decoupled": (DECOUPLED_UNSCALED, DECOUPLED_UNSCALED),
    "keras-lion": (DECOUPLED_C, DECOUPLED_C),
    "torch-muon": (DECOUPLED_C, DECOUPLED_C),  # the biases: AdamW's decoupled decay
    "keras-muon": (DECOUPLED_C, DECOUPLED_C),
    "torch-schedulefree-adamw": (AT_Y, AT_Y),
    "keras-schedulefree-adamw": (Y_BEFORE, Y_BEFORE),
}
#: The rows of the newer optimizers (Lion, Muon, schedule-free AdamW).
NEW = [r for r in ROWS if ROWS[r].optimizer in NEW_CANDIDATE_LABELS]
#: The rows of SGD and Adam, whose decay-only step scales with lr·c (but ADAM_COUPLED).
CLASSIC = [r for r in ROWS if r not in NEW]
#: The one row where coupled L2 goes through Adam: its step is set by lr, not by c.
ADAM_COUPLED = "torch-adam"


def test_every_row_has_an_expectation():
    assert set(EXPECTED) == set(ROWS)


def test_candidate_labels_are_the_named_constants():
    assert tuple(candidates(0.05)) == CANDIDATE_LABELS
    assert len(set(CANDIDATE_LABELS)) == len(CANDIDATE_LABELS)
    assert candidates(0.05)[L2_TWO_C] == {"l2": pytest.approx(0.1)}


@pytest.mark.parametrize("row_id", list(ROWS))
def test_row_is_identified(row_id):
    traj, grads = run_row(row_id, **ROWS[row_id].probe)
    found = identify(row_id, traj, grads)
    weights, biases = EXPECTED[row_id]
    assert found == {"0.weight": weights, "0.bias": biases, "2.weight": weights, "2.bias": biases}


def decay_only_step(row_id, *, lr, coeff):
    traj, _ = run_row(row_id, lr=lr, coeff=coeff, steps=1, zero_data=True)
    return np.abs(traj["0.weight"][1] - traj["0.weight"][0]).sum()


@pytest.mark.parametrize("row_id", [r for r in CLASSIC if r != ADAM_COUPLED])
def test_decay_scales_with_the_learning_rate_and_the_coefficient(row_id):
    base = decay_only_step(row_id, lr=0.01, coeff=0.05)
    assert decay_only_step(row_id, lr=0.02, coeff=0.05) / base == pytest.approx(2.0, rel=1e-3)
    assert decay_only_step(row_id, lr=0.01, coeff=0.1) / base == pytest.approx(2.0, rel=1e-3)


def test_adam_with_coupled_l2_steps_by_lr_whatever_the_coefficient():
    # Adam divides the gradient c*w by its own size: the first step is lr*sign(w) for any c.
    base = decay_only_step(ADAM_COUPLED, lr=0.01, coeff=0.05)
    assert decay_only_step(ADAM_COUPLED, lr=0.01, coeff=0.1) / base == pytest.approx(1.0, rel=1e-4)
    assert base == pytest.approx(0.01 * initial_weights()["0.weight"].size, rel=1e-4)


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
        ("torch-lion", 0.05, "keras-lion", 0.05),
        ("torch-muon", 0.05, "keras-muon", 0.05),
    ],
)
def test_conversions_give_the_same_update_on_the_weights(row_a, coeff_a, row_b, coeff_b):
    def absolute(row, coeff):
        traj, grads = run_row(row, coeff=coeff, **ROWS[row].probe)
        label = identify(row, traj, grads, coeff=coeff)["0.weight"]
        return ROWS[row].optimizer, candidates(coeff, ROWS[row].optimizer)[label]

    (opt_a, config_a), (opt_b, config_b) = absolute(row_a, coeff_a), absolute(row_b, coeff_b)
    assert opt_a == opt_b
    assert config_a == pytest.approx(config_b)


# -- the newer optimizers ------------------------------------------------------------------------


def test_new_candidates_are_the_named_constants():
    assert tuple(candidates(0.05, "lion")) == NEW_CANDIDATE_LABELS["lion"]
    assert candidates(0.05, "muon")[DECOUPLED_ADJUSTED] == {"adjusted": 0.05}
    assert candidates(0.05, "schedulefree")[AT_Z] == {"z": 0.05}
    assert candidates(0.05, "schedulefree")[NOTHING] == {"none": 0.0}


#: For each new row, a deliberately wrong alternative that must be rejected (the one a reader
#: would most likely assume), and the smallest margin by which it must miss.
WRONG = {
    "torch-lion": (L2_C, 1e-2),  # coupled: c·w into the sign
    "torch-lion-decoupled": (DECOUPLED_C, 1e-2),  # the flag removes the lr from the decay
    "keras-lion": (DECOUPLED_UNSCALED, 1e-2),
    "torch-muon": (DECOUPLED_ADJUSTED, 5e-4),  # decay by the adjusted lr
    "keras-muon": (DECOUPLED_ADJUSTED, 5e-4),
    "torch-schedulefree-adamw": (AT_Z, 2e-4),  # decay at z: differs from the third step on
    "keras-schedulefree-adamw": (AT_Y, 1e-3),  # the schedulefree package's rule
}


def test_every_new_row_has_a_wrong_alternative():
    assert set(WRONG) == set(NEW)


@pytest.mark.parametrize("row_id", NEW)
def test_wrong_alternative_is_rejected(row_id):
    traj, grads = run_row(row_id, **ROWS[row_id].probe)
    errors = replay_errors(row_id, traj, grads)
    wrong, margin = WRONG[row_id]
    for n in ("0.weight", "2.weight"):
        assert errors[n][wrong] > max(margin, RUNNER_UP_GAP)
        assert errors[n][EXPECTED[row_id][0]] < 2e-6


def test_lion_decoupled_flag_drops_the_learning_rate_from_the_decay():
    # lion-pytorch's decoupled_weight_decay=True divides wd by the initial lr: w·(1 − c)
    row = "torch-lion-decoupled"
    base = decay_only_step(row, lr=0.01, coeff=0.05)
    assert decay_only_step(row, lr=0.02, coeff=0.05) / base == pytest.approx(1.0, rel=1e-4)
    assert decay_only_step(row, lr=0.01, coeff=0.1) / base == pytest.approx(2.0, rel=1e-3)
    assert base == pytest.approx(0.05 * np.abs(initial_weights()["0.weight"]).sum(), rel=1e-5)


@pytest.mark.parametrize("row_id", ["torch-lion", "keras-lion", "torch-muon", "keras-muon"])
def test_new_decay_scales_with_the_learning_rate_and_the_coefficient(row_id):
    base = decay_only_step(row_id, lr=0.01, coeff=0.05)
    assert decay_only_step(row_id, lr=0.02, coeff=0.05) / base == pytest.approx(2.0, rel=1e-3)
    assert decay_only_step(row_id, lr=0.01, coeff=0.1) / base == pytest.approx(2.0, rel=1e-3)


def test_keras_schedulefree_loses_the_first_steps_decay():
    # Keras shrinks y before the step, but the first step sets y = z, and z is never decayed
    assert decay_only_step("keras-schedulefree-adamw", lr=0.1, coeff=0.05) < 1e-6  # float32 rounding
    assert decay_only_step("torch-schedulefree-adamw", lr=0.1, coeff=0.05) == pytest.approx(
        0.1 * 0.05 * np.abs(initial_weights()["0.weight"]).sum(), rel=1e-5
    )


def test_keras_schedulefree_is_not_the_packages_step_with_data():
    # the package's rule (x recovered from the old z) misses Keras's data step on the torch backend
    traj, grads = run_row("keras-schedulefree-adamw")
    n = "0.weight"
    kwargs = {"lr": 0.1, "decay": {"y-before": 0.05}}
    assert replay_error_new("schedulefree", traj[n], grads[n], **kwargs) > 1e-3
    assert replay_error_new("schedulefree", traj[n], grads[n], x_from_new_z=True, **kwargs) < 2e-6


def test_torch_muon_is_identified_on_a_zero_gradient_run_only():
    traj, grads = run_row("torch-muon")  # with data: Newton-Schulz in bfloat16
    with pytest.raises(IdentificationFailed, match=r"torch-muon: .* zero_data=True"):
        identify("torch-muon", traj, grads)
    assert ROWS["torch-muon"].probe == {"zero_data": True, "steps": 3}


def test_schedulefree_needs_its_steps_to_tell_y_from_z():
    # two steps: decay at y and at z coincide (y = z after the first step)
    traj, grads = run_row("torch-schedulefree-adamw", steps=2)
    with pytest.raises(IdentificationFailed, match="ambiguous between"):
        identify("torch-schedulefree-adamw", traj, grads)


def test_identify_fails_loudly_when_nothing_replays_the_trajectory():
    traj, grads = run_row("torch-sgd")
    traj["0.weight"][2] = traj["0.weight"][2] + 1e-3  # no optimizer takes this step
    with pytest.raises(IdentificationFailed, match=r"torch-sgd, 0.weight: no candidate replays"):
        identify("torch-sgd", traj, grads)


def test_identify_fails_loudly_when_two_candidates_fit():
    # With c = 0 every candidate is "no decay": the identification is ambiguous.
    traj, grads = run_row("torch-sgd", coeff=0.0)
    with pytest.raises(IdentificationFailed, match="ambiguous between"):
        identify("torch-sgd", traj, grads, coeff=0.0)


@pytest.mark.parametrize("framework", ["PyTorch", "Paddle", "Keras 3"])
def test_exclusion_recipe_decays_weights_only(framework):
    ratios = exclusion_recipe(framework)
    assert tuple(ratios) == EXCLUSION_KEYS
    assert ratios["linear1.weight"] == pytest.approx(0.99**3, abs=1e-6)
    assert ratios["linear2.weight"] == pytest.approx(0.99**3, abs=1e-6)
    for key in ("linear1.bias", "norm.weight", "norm.bias", "linear2.bias"):
        assert ratios[key] == pytest.approx(1.0, abs=1e-7)
    everything = exclusion_recipe(framework, exclude=False)
    assert all(v == pytest.approx(0.99**3, abs=1e-6) for v in everything.values())


def test_numpy_scalars_are_accepted():
    traj, _ = run_row("torch-sgd", lr=np.float32(0.1), coeff=np.float64(0.05), steps=np.int64(1))
    assert len(traj["0.weight"]) == 2
    assert initial_weights(np.int64(0))["0.bias"].shape == (8,)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="row_id must be one of 'torch-sgd'"):
        run_row("torch-rmsprop")
    with pytest.raises(ValueError, match="row_id must be one of 'torch-sgd'"):
        identify("torch-rmsprop", {}, {})
    with pytest.raises(ValueError, match="steps must be >= 1"):
        run_row("torch-sgd", steps=0)
    with pytest.raises(TypeError, match="steps must be a whole number"):
        run_row("torch-sgd", steps=1.5)
    with pytest.raises(ValueError, match="coeff must be >= 0"):
        run_row("torch-sgd", coeff=-1.0)
    with pytest.raises(TypeError, match="zero_data must be True or False"):
        run_row("torch-sgd", zero_data=1)
    with pytest.raises(ValueError, match=r"weights\['0.weight'\] must have shape \(8, 4\)"):
        run_row("torch-sgd", weights={**initial_weights(), "0.weight": np.zeros((4, 8))})
    with pytest.raises(ValueError, match=r"weights must have the keys .* missing \['2.bias'\]"):
        run_row("torch-sgd", weights={k: v for k, v in initial_weights().items() if k != "2.bias"})
    with pytest.raises(ValueError, match=r"batch\[1\] must hold 16 integer labels in 0..2"):
        run_row("torch-sgd", batch=(one_batch()[0], np.full(16, 5)))
    with pytest.raises(TypeError, match=r"batch\[1\] must hold integer labels; got dtype float64"):
        run_row("torch-sgd", batch=(one_batch()[0], np.zeros(16)))
    with pytest.raises(TypeError, match="trajectories must be a dict"):
        identify("torch-sgd", [1, 2], {})
    with pytest.raises(TypeError, match="seed must be a whole number"):
        initial_weights(0.5)
    with pytest.raises(ValueError, match="framework must be one of 'PyTorch', 'Paddle', 'Keras 3'"):
        exclusion_recipe("jax")
    with pytest.raises(TypeError, match="exclude must be True or False"):
        exclusion_recipe("PyTorch", exclude="no")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        exclusion_recipe("PyTorch", steps=0)
    with pytest.raises(ValueError, match="optimizer must be one of 'momentum', 'adam', 'lion'"):
        candidates(0.05, "sgd")
    with pytest.raises(ValueError, match=r"name must be one of '0\.weight'"):
        ROWS["torch-muon"].optimizer_of("1.weight")
    traj, grads = run_row("torch-lion", steps=1)
    w, g = traj["0.weight"], grads["0.weight"]
    with pytest.raises(ValueError, match="optimizer must be one of 'lion', 'muon', 'schedulefree'"):
        replay_error_new("adam", w, g, lr=0.1, decay={"none": 0.0})
    with pytest.raises(ValueError, match="decay rule must be one of 'none', 'l2', 'decoupled', 'unscaled'"):
        replay_error_new("lion", w, g, lr=0.1, decay={"z": 0.05})
    with pytest.raises(TypeError, match="decay must be a dict with one rule"):
        replay_error_new("lion", w, g, lr=0.1, decay={"l2": 0.05, "decoupled": 0.05})
    with pytest.raises(ValueError, match="decay coefficient must be >= 0"):
        replay_error_new("lion", w, g, lr=0.1, decay={"l2": -1.0})
    with pytest.raises(ValueError, match="weights must hold one more entry than grads"):
        replay_error_new("lion", w, w, lr=0.1, decay={"none": 0.0})
    with pytest.raises(ValueError, match=r"weights\[0\] must be a matrix for optimizer 'muon'"):
        replay_error_new("muon", traj["0.bias"], grads["0.bias"], lr=0.1, decay={"none": 0.0})
