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


# ------------------------------------------------------------------ the clock in epochs


def test_steps_per_epoch_counts_the_last_short_batch():
    assert explorer.steps_per_epoch(128, 60000) == 469  # 468 × 128 = 59,904, then 96
    assert explorer.steps_per_epoch(100, 50000) == 500  # B divides N
    assert explorer.steps_per_epoch(4096, 1000) == 1  # one batch holds the data
    assert explorer.steps_per_epoch(1, 1000) == 1000
    assert explorer.training_steps(128, 60000, 10) == 4690
    assert explorer.training_steps(4096, 1000, 300) == 300


def test_timescales_by_hand():
    assert explorer.timescale(0.01, 0.1) == pytest.approx(1000.0, rel=1e-15)
    assert explorer.timescale(0.1, 0.0) == math.inf
    # B divides N: Wang & Aitchison's B/(ηλN) = 100 / (1e-4 · 50,000) = 20 epochs
    assert explorer.timescale_epochs(1e-3, 0.1, 100, 50000) == pytest.approx(20.0, rel=1e-15)
    # B = 128 does not divide N = 60,000: τ = 1,000 steps over 469 steps an epoch
    assert explorer.timescale_epochs(0.1, 0.01, 128, 60000) == pytest.approx(1000 / 469, rel=1e-15)
    # a batch larger than the data: an epoch is one step, so τ_epoch = τ
    assert explorer.timescale_epochs(0.1, 0.01, 4096, 1000) == pytest.approx(1000.0, rel=1e-15)
    assert explorer.timescale_epochs(0.1, 0.0, 128, 60000) == math.inf


def test_total_shrink_by_hand():
    assert explorer.total_shrink(0.1, 0.01, 1000) == pytest.approx(math.exp(-1), rel=1e-15)
    assert explorer.total_shrink(0.1, 0.01, 0) == 1.0
    assert explorer.total_shrink(0.1, 0.0, 10**6) == 1.0
    # CIFAR-10, B = 128, 100 epochs, η = 0.1, λ = 5e-4: 39,100 steps, ηλ·steps = 1.955
    assert explorer.total_shrink(0.1, 5e-4, 39100) == pytest.approx(0.1415645, rel=1e-6)


def test_clock_by_hand():
    c = explorer.clock("adamw", 0.1, 0.01, 128, 60000, 10)
    assert (c.steps_per_epoch, c.steps) == (469, 4690)
    assert c.tau == pytest.approx(1000.0) and c.tau_epochs == pytest.approx(1000 / 469)
    half = math.log(2) / -math.log(0.999)  # 692.8 steps
    assert c.half_life == pytest.approx(half) and c.half_life_epochs == pytest.approx(half / 469)
    assert c.shrink == pytest.approx(math.exp(-4.69))
    assert c.factor_shrink == pytest.approx(0.999**4690)
    # SGD with momentum 0.9: the factor's shrink, about exp(−ηλ·steps/(1 − μ)) = exp(−0.2),
    # is faster than the clock's exp(−ηλ·steps) = exp(−0.02)
    m = explorer.clock("sgd", 0.01, 0.01, 1000, 50000, 4, momentum=0.9)
    assert m.steps == 200
    f = explorer.step_factor("sgd", 0.01, 0.01, momentum=0.9).value
    assert m.factor_shrink == pytest.approx(f**200, rel=1e-12)
    assert m.factor_shrink == pytest.approx(math.exp(-0.2), rel=5e-3)
    assert m.shrink == pytest.approx(math.exp(-0.02), rel=1e-12)
    adam = explorer.clock("adam", 0.1, 0.01, 128, 60000, 10)
    assert adam.half_life is adam.half_life_epochs is adam.factor_shrink is None
    assert adam.shrink == c.shrink  # the clock's reading does not depend on the optimizer
    grows = explorer.clock("adamw", 1.0, 2.5, 128, 60000, 1)
    assert grows.half_life is None and grows.factor_shrink is None
    assert explorer.clock("adamw", 0.1, 0.0, 128, 60000, 1).half_life_epochs == math.inf


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: explorer.steps_per_epoch(0, 1000), ValueError, "batch_size must be >= 1"),
        (lambda: explorer.steps_per_epoch(32.0, 1000), TypeError, "batch_size must be a whole number"),
        (lambda: explorer.steps_per_epoch(True, 1000), TypeError, "batch_size must be a whole number"),
        (lambda: explorer.steps_per_epoch(32, 1e4), TypeError, "data_size must be a whole number"),
        (lambda: explorer.steps_per_epoch(32, -5), ValueError, "data_size must be >= 1"),
        (lambda: explorer.training_steps(32, 1000, 2.5), TypeError, "epochs must be a whole number"),
        (lambda: explorer.training_steps(32, 1000, 0), ValueError, "epochs must be >= 1"),
        (lambda: explorer.timescale(0.0, 0.1), ValueError, "lr must be > 0"),
        (lambda: explorer.timescale(float("inf"), 0.1), ValueError, "lr must be finite"),
        (lambda: explorer.timescale(0.1, float("nan")), ValueError, "decay must be finite"),
        (lambda: explorer.timescale(0.1, -0.1), ValueError, "decay must be >= 0"),
        (lambda: explorer.timescale("0.1", 0.1), TypeError, "lr must be a real number"),
        (lambda: explorer.timescale_epochs(0.1, 0.1, 32, 0), ValueError, "data_size must be >= 1"),
        (lambda: explorer.total_shrink(0.1, 0.1, -1), ValueError, "steps must be >= 0"),
        (lambda: explorer.total_shrink(0.1, 0.1, 10.5), TypeError, "steps must be a whole number"),
        (lambda: explorer.clock("sgdm", 0.1, 0.1, 32, 1000, 1), ValueError, "optimizer must be one of"),
        (lambda: explorer.clock("adam", 0.1, 0.1, 32, 1000, 1, momentum=0.9), ValueError, "momentum"),
        (lambda: explorer.clock("sgd", 0.1, 0.1, 32, 1000, 1.5), TypeError, "epochs must be a whole"),
    ],
)
def test_bad_clock_input_is_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_constants_carry_the_run_s_sliders():
    data = explorer.constants()
    assert data["choices"]["batch"] == list(explorer.CHOICES["batch"])
    assert data["labels"]["data"][-1] == "1,281,167"
    assert data["labels"]["epochs"][0] == "1"
    assert data["labels"]["steps"][-1] == "10,000"
