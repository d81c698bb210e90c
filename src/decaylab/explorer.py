"""What decay alone does to one weight: the numbers behind the primer's interactive figure.

Take one weight whose data gradient is zero (an unused embedding row, a weight the loss
no longer pulls on), so that only the decay acts on it. Then:

* SGD with ``weight_decay=λ`` and momentum ``μ`` (coupled, the same as an L2 penalty)
  follows ``w[t+1] = (1 + μ − ηλ)·w[t] − μ·w[t−1]``: after a few steps it shrinks by the
  root of ``z² − (1 + μ − ηλ)z + μ`` of largest size each step (:func:`step_factor`). If
  the roots are complex (``ηλ > (1 − √μ)²``), or the largest is negative, the weight
  swings across zero; if its size reaches 1, the weight grows.
* Decoupled decay (AdamW; Keras's ``SGD(weight_decay=λ)``) multiplies the weight by
  ``1 − ηλ`` per step, whatever the momentum: the buffers see no gradient.
* Adam with ``weight_decay=λ`` (coupled) divides the term ``λw`` by its own running size,
  so the weight moves by about η per step, whatever λ is: it has no per-step factor.

:func:`trajectory` runs the NumPy reference (:mod:`decaylab.reference`) on such a weight,
so the closed forms are checked against the same update every framework is checked
against. :func:`half_life` is ``ln 2 / −ln|factor|`` steps.

The clock in epochs. A run of ``E`` epochs over ``N`` examples in batches of ``B`` takes
``⌈N/B⌉`` steps per epoch (:func:`steps_per_epoch`: the last, smaller batch is a step too,
as with PyTorch's and Paddle's ``DataLoader`` by default and Keras's ``fit``), so
``E·⌈N/B⌉`` steps in all (:func:`training_steps`). Decay alone acts as an exponential
moving average with timescale ``τ = 1/(ηλ)`` steps (:func:`timescale`), which is
``τ_epoch = τ/⌈N/B⌉`` epochs: Wang & Aitchison's ``B/(ηλN)`` when ``B`` divides ``N``
(:func:`timescale_epochs`). After ``E`` epochs the clock has shrunk a weight by
``exp(−ηλ·E·⌈N/B⌉)`` (:func:`total_shrink`). :func:`clock` gathers these for one setting,
with the half-life in epochs and the shrink the optimizer's own factor gives.

The primer's figure runs the same formulas in JavaScript. :func:`constants` is what the
build writes for it (the slider values and their labels, Adam's constants, the code each
framework needs, taken from the rosetta rows that were measured to do it); the browser test
compares the page's numbers with this module on a grid of settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks
from .reference import ONLY_FOR, reference_step

__all__ = [
    "CHOICES",
    "CODE",
    "OPTIMIZERS",
    "Clock",
    "Factor",
    "arguments",
    "clock",
    "closed_form",
    "constants",
    "half_life",
    "step_factor",
    "steps_per_epoch",
    "steps_to_half",
    "timescale",
    "timescale_epochs",
    "total_shrink",
    "training_steps",
    "trajectory",
]

#: The optimizers the figure offers: coupled decay with SGD (momentum μ), decoupled decay with
#: SGD (momentum μ), coupled decay with Adam, decoupled decay with Adam (AdamW).
OPTIMIZERS = ("sgd", "sgdw", "adam", "adamw")

#: The values each slider steps through (a slider is an index into its list, so the page and
#: this module always use the same numbers).
CHOICES = {
    "lr": (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    "decay": (1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
    "momentum": (0.0, 0.5, 0.8, 0.9, 0.95, 0.99),
    "steps": (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000),
    # the run the clock is read in: batch size B, examples N (MNIST's 60,000, CIFAR's 50,000,
    # ImageNet-1k's 1,281,167), epochs E
    "batch": (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
    "data": (1000, 5000, 10000, 50000, 60000, 100000, 1000000, 1281167),
    "epochs": (1, 2, 5, 10, 20, 50, 90, 100, 200, 300, 1000),
}

#: The code that asks for each optimizer, per framework: (rosetta row id, the code with
#: ``{lr}``, ``{mu}`` and ``{c}`` to fill in, and the factor between λ and that row's
#: ``c``). The rows are the rosetta chapter's, measured there against the reference (the
#: test suite checks each template against its row's code and its identified update).
#: Keras's ``l2(c)`` adds ``2c·w`` to the gradient, so λ/2; optimizers a framework does
#: not offer under a row that was measured have no entry.
CODE = {
    "sgd": {
        "PyTorch": ("torch-sgd", "opt = SGD(net.parameters(), {lr}, momentum={mu}, weight_decay={c})", 1.0),
        "Paddle": (
            "paddle-l2decay",
            "opt = Momentum({lr}, momentum={mu}, parameters=net.parameters(), weight_decay=L2Decay({c}))",
            1.0,
        ),
        "Keras 3": (
            "keras-l2",
            "net = build(kernel_regularizer=l2({c})); opt = SGD({lr}, momentum={mu})",
            0.5,
        ),
    },
    "sgdw": {
        "Keras 3": ("keras-sgd", "opt = SGD({lr}, momentum={mu}, weight_decay={c})", 1.0),
    },
    "adam": {
        "PyTorch": ("torch-adam", "opt = Adam(net.parameters(), {lr}, weight_decay={c})", 1.0),
    },
    "adamw": {
        "PyTorch": ("torch-adamw", "opt = AdamW(net.parameters(), {lr}, weight_decay={c})", 1.0),
        "Paddle": ("paddle-adamw", "opt = AdamW({lr}, parameters=net.parameters(), weight_decay={c})", 1.0),
        "Keras 3": ("keras-adamw", "opt = AdamW({lr}, weight_decay={c}, epsilon=1e-8)", 1.0),
    },
}


def _label(value: float) -> str:
    """How a slider value is written, in the code and next to the slider (whole numbers
    with thousands separated by commas)."""
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _setting(optimizer, lr, decay, momentum):
    optimizer = _checks.one_of("optimizer", optimizer, OPTIMIZERS)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    decay = _checks.real("decay", decay, low=0.0)
    if optimizer in ("adam", "adamw"):
        if momentum is not None:
            raise _checks.unused("momentum", f"optimizer={optimizer!r}", "Adam's β1 is fixed at 0.9")
        return optimizer, lr, decay, None
    momentum = _checks.real(
        "momentum", 0.9 if momentum is None else momentum, low=0.0, high=1.0, high_open=True
    )
    return optimizer, lr, decay, momentum


@dataclass(frozen=True)
class Factor:
    """What one step of decay alone does, after the first few steps.

    ``value`` multiplies the weight each step (for complex roots, the size of both: the
    weight's envelope shrinks by it while it swings); ``None`` for coupled Adam, which has
    no factor. ``kind`` is ``"shrinks"``, ``"swings"`` (crosses zero back and forth),
    ``"grows"``, ``"stays"`` (size exactly 1: no decay) or ``"no factor"``.
    """

    value: float | None
    kind: str


def step_factor(optimizer: str, lr: float, decay: float, momentum: float | None = None) -> Factor:
    """The per-step factor of a zero-gradient weight under ``optimizer`` (see the module
    docstring). ``momentum`` is for ``"sgd"`` and ``"sgdw"`` (default 0.9), refused for Adam.

    >>> step_factor("adamw", 1e-3, 0.01)
    Factor(value=0.99999, kind='shrinks')
    >>> round(step_factor("sgd", 0.01, 0.01, momentum=0.9).value, 6)  # ≈ 1 − ηλ/(1 − μ) = 0.999
    0.998991
    >>> step_factor("sgd", 0.1, 0.5, momentum=0.9).kind  # ηλ = 0.05 > (1 − √0.9)² ≈ 0.0026
    'swings'
    """
    optimizer, lr, decay, momentum = _setting(optimizer, lr, decay, momentum)
    if optimizer == "adam":
        return Factor(None, "no factor")
    if optimizer in ("sgdw", "adamw") or momentum == 0.0:
        roots = [complex(1.0 - lr * decay)]
    else:
        b = 1.0 + momentum - lr * decay
        disc = complex(b * b - 4.0 * momentum)
        roots = [(b + disc**0.5) / 2.0, (b - disc**0.5) / 2.0]
    top = max(roots, key=abs)
    size = abs(top)
    if size > 1.0:
        return Factor(float(top.real) if top.imag == 0 else size, "grows")
    if top == 1.0:
        return Factor(1.0, "stays")
    if top.imag != 0.0:
        return Factor(size, "swings")
    return Factor(float(top.real), "swings" if top.real < 0 else "shrinks")


def half_life(optimizer: str, lr: float, decay: float, momentum: float | None = None) -> float | None:
    """Steps for the decay to halve the weight (its envelope, if it swings): ``ln 2 / −ln|f|``.

    ``None`` for coupled Adam (no factor); ``math.inf`` without decay; ``None`` if the
    weight grows.

    >>> round(half_life("adamw", 1e-3, 0.01))  # ≈ ln 2 / (ηλ)
    69314
    """
    f = step_factor(optimizer, lr, decay, momentum)
    if f.value is None or f.kind == "grows":
        return None
    if f.value == 0.0:
        return 0.0
    size = abs(f.value)
    return math.inf if size == 1.0 else math.log(2.0) / -math.log(size)


def _reference_kwargs(optimizer, lr, decay, momentum) -> dict:
    kind = "decoupled" if optimizer in ("sgdw", "adamw") else "l2"
    if optimizer in ("adam", "adamw"):
        return dict(optimizer="adam", lr=lr, decay=kind, coeff=decay)
    return dict(optimizer="momentum", lr=lr, momentum=momentum, decay=kind, coeff=decay)


def trajectory(
    optimizer: str, lr: float, decay: float, steps: int, momentum: float | None = None, w0: float = 1.0
):
    """The weight after 0, 1, ..., ``steps`` steps with a zero data gradient, computed with
    :func:`decaylab.reference.reference_step` (float64). Returns an array of ``steps + 1``.

    >>> trajectory("adamw", 0.1, 0.5, 2).round(6).tolist()
    [1.0, 0.95, 0.9025]
    """
    optimizer, lr, decay, momentum = _setting(optimizer, lr, decay, momentum)
    steps = _checks.integer("steps", steps, low=1)
    w = np.array([_checks.real("w0", w0)])
    kwargs = _reference_kwargs(optimizer, lr, decay, momentum)
    out, state, zero = [float(w[0])], None, np.zeros(1)
    for _ in range(steps):
        w, state = reference_step(w, zero, state, **kwargs)
        out.append(float(w[0]))
    return np.array(out)


def closed_form(optimizer: str, lr: float, decay: float, steps: int, momentum: float | None = None):
    """The zero-gradient weight after 0 ... ``steps`` steps (from 1), in closed form:
    ``(1 − ηλ)^t`` for decoupled decay and plain SGD; for SGD with momentum, the solution
    ``A·r1^t + B·r2^t`` of its recurrence, with ``w0 = 1`` and ``w1 = 1 − ηλ`` (the first
    step has an empty momentum buffer). Coupled Adam has no closed form: ``ValueError``.

    >>> closed_form("sgd", 0.1, 0.5, 3, momentum=0.9).round(6).tolist()
    [1.0, 0.95, 0.8575, 0.731375]
    """
    optimizer, lr, decay, momentum = _setting(optimizer, lr, decay, momentum)
    steps = _checks.integer("steps", steps, low=1)
    if optimizer == "adam":
        raise ValueError("optimizer='adam' (coupled decay through Adam) has no closed form; use trajectory()")
    t = np.arange(steps + 1)
    if optimizer in ("sgdw", "adamw") or momentum == 0.0:
        return (1.0 - lr * decay) ** t
    b = 1.0 + momentum - lr * decay
    disc = np.sqrt(complex(b * b - 4.0 * momentum))
    r1, r2 = (b + disc) / 2.0, (b - disc) / 2.0
    w1 = 1.0 - lr * decay
    if abs(r1 - r2) < 1e-12:  # a double root: w_t = (1 + c·t)·r^t
        c = w1 / r1 - 1.0
        return ((1.0 + c * t) * r1**t).real
    a = (w1 - r2) / (r1 - r2)
    return (a * r1**t + (1.0 - a) * r2**t).real


def steps_to_half(path) -> int | None:
    """The first step at which ``|w| ≤ |w[0]| / 2`` along ``path``; ``None`` if it never is."""
    path = np.abs(np.asarray(path, dtype=float))
    below = np.flatnonzero(path <= path[0] / 2.0)
    return int(below[0]) if below.size else None


def _lr_decay(lr, decay):
    return _checks.real("lr", lr, low=0.0, low_open=True), _checks.real("decay", decay, low=0.0)


def steps_per_epoch(batch_size: int, data_size: int) -> int:
    """Steps in one epoch over ``data_size`` examples (N) in batches of ``batch_size`` (B):
    ``⌈N/B⌉``. The last, smaller batch is a step too (PyTorch's and Paddle's ``DataLoader``
    with their default ``drop_last=False``, Keras's ``fit``); a batch as large as the data or
    larger makes one step. Both must be whole numbers >= 1.

    >>> steps_per_epoch(batch_size=128, data_size=60000)  # 468 batches of 128, one of 96
    469
    >>> steps_per_epoch(batch_size=4096, data_size=1000)
    1
    """
    b = _checks.integer("batch_size", batch_size, low=1)
    n = _checks.integer("data_size", data_size, low=1)
    return -(-n // b)


def training_steps(batch_size: int, data_size: int, epochs: int) -> int:
    """The optimizer steps of ``epochs`` (E) epochs: ``E·⌈N/B⌉`` (see :func:`steps_per_epoch`).

    >>> training_steps(batch_size=128, data_size=50000, epochs=100)  # 391 steps an epoch
    39100
    """
    per_epoch = steps_per_epoch(batch_size, data_size)
    return _checks.integer("epochs", epochs, low=1) * per_epoch


def timescale(lr: float, decay: float) -> float:
    """The timescale of decay alone, ``τ = 1/(ηλ)`` steps: the weight is an exponential moving
    average over about the last τ steps (Wang & Aitchison), and decay alone shrinks it by
    about ``e`` every τ steps. ``math.inf`` without decay.

    >>> round(timescale(0.1, 0.01), 9)
    1000.0
    """
    lr, decay = _lr_decay(lr, decay)
    return math.inf if decay == 0.0 else 1.0 / (lr * decay)


def timescale_epochs(lr: float, decay: float, batch_size: int, data_size: int) -> float:
    """``τ`` in epochs: ``τ_epoch = τ/⌈N/B⌉``. When ``B`` divides ``N`` this is Wang &
    Aitchison's ``B/(ηλN)``; otherwise the last, smaller batch counts as a step and
    ``τ_epoch`` is a little smaller (with ``B ≥ N``, an epoch is one step and
    ``τ_epoch = τ``, where ``B/(ηλN)`` would say more).

    >>> round(timescale_epochs(1e-3, 0.1, batch_size=100, data_size=50000), 9)  # = B/(ηλN)
    20.0
    >>> round(timescale_epochs(0.1, 5e-4, batch_size=128, data_size=50000), 4)  # 20,000 / 391
    51.1509
    """
    return timescale(lr, decay) / steps_per_epoch(batch_size, data_size)


def total_shrink(lr: float, decay: float, steps: int) -> float:
    """What the clock multiplies a weight by in ``steps`` steps: ``exp(−ηλ·steps)``. It is
    the clock's reading, not any optimizer's: decoupled decay and plain SGD give
    ``(1 − ηλ)^steps``, a little smaller, and momentum makes SGD's coupled decay faster
    (:func:`step_factor`). ``steps`` is a whole number >= 0.

    >>> round(total_shrink(0.1, 5e-4, 39100), 6)  # CIFAR-10, B = 128, 100 epochs
    0.141564
    """
    lr, decay = _lr_decay(lr, decay)
    steps = _checks.integer("steps", steps, low=0)
    return math.exp(-lr * decay * steps)


@dataclass(frozen=True)
class Clock:
    """Decay's clock for one run (see :func:`clock`). Times are in steps unless named
    ``_epochs``; ``None`` where the optimizer has no factor (coupled Adam) or the weight
    grows."""

    steps_per_epoch: int  #: ⌈N/B⌉
    steps: int  #: E·⌈N/B⌉
    tau: float  #: 1/(ηλ), steps
    tau_epochs: float  #: τ/⌈N/B⌉
    half_life: float | None  #: :func:`half_life`, steps
    half_life_epochs: float | None  #: half_life/⌈N/B⌉
    shrink: float  #: exp(−ηλ·steps)
    factor_shrink: float | None  #: |factor|^steps, the optimizer's own shrink (its envelope's)


def clock(
    optimizer: str,
    lr: float,
    decay: float,
    batch_size: int,
    data_size: int,
    epochs: int,
    momentum: float | None = None,
) -> Clock:
    """Decay's clock read for a run of ``epochs`` epochs over ``data_size`` examples in batches
    of ``batch_size``: steps, ``τ`` and the half-life in steps and epochs, the clock's
    shrink ``exp(−ηλ·steps)`` and the optimizer's ``|factor|^steps``.

    >>> c = clock("adamw", 0.1, 5e-4, batch_size=128, data_size=50000, epochs=100)
    >>> c.steps_per_epoch, c.steps, round(c.tau), round(c.tau_epochs, 2), round(c.half_life_epochs, 2)
    (391, 39100, 20000, 51.15, 35.45)
    >>> round(c.shrink, 4), round(c.factor_shrink, 4)
    (0.1416, 0.1416)
    """
    optimizer, lr, decay, momentum = _setting(optimizer, lr, decay, momentum)
    per_epoch = steps_per_epoch(batch_size, data_size)
    steps = training_steps(batch_size, data_size, epochs)
    f = step_factor(optimizer, lr, decay, momentum)
    half = half_life(optimizer, lr, decay, momentum)
    tau = timescale(lr, decay)
    own = None if f.value is None or f.kind == "grows" else abs(f.value) ** steps
    return Clock(
        steps_per_epoch=per_epoch,
        steps=steps,
        tau=tau,
        tau_epochs=tau / per_epoch,
        half_life=half,
        half_life_epochs=None if half is None else half / per_epoch,
        shrink=total_shrink(lr, decay, steps),
        factor_shrink=own,
    )


def _index(name: str, value) -> int:
    choices = CHOICES[name]
    for k, choice in enumerate(choices):
        if value == choice:
            return k
    raise ValueError(
        f"{name} must be one of the figure's values {', '.join(map(_label, choices))}; got {value!r}"
    )


def arguments(optimizer: str, lr: float, decay: float, momentum: float | None = None) -> dict[str, str]:
    """The code that asks each framework for this decay, for values on the figure's sliders
    (:data:`CHOICES`): ``{framework: code}``, only the frameworks with a measured row.

    >>> arguments("sgd", 0.1, 0.001, momentum=0.9)["Keras 3"]
    'net = build(kernel_regularizer=l2(0.0005)); opt = SGD(0.1, momentum=0.9)'
    """
    optimizer, lr, decay, momentum = _setting(optimizer, lr, decay, momentum)
    _index("lr", lr), _index("decay", decay)
    if momentum is not None:
        _index("momentum", momentum)
    return {
        fw: code.format(lr=_label(lr), mu=_label(momentum or 0.0), c=_label(decay * scale))
        for fw, (_, code, scale) in CODE[optimizer].items()
    }


def constants() -> dict:
    """Everything the page's script needs, as JSON-ready data: the slider values and their
    labels (λ's also scaled by each row's factor), Adam's β and ε as the reference uses them,
    and :data:`CODE` without the row ids."""
    adam = {k: ONLY_FOR[k][1] for k in ("betas", "eps")}
    scales = sorted({scale for rows in CODE.values() for (_, _, scale) in rows.values()})
    return {
        "choices": {name: list(values) for name, values in CHOICES.items()},
        "labels": {name: [_label(v) for v in values] for name, values in CHOICES.items()},
        "scaled": {str(s): [_label(v * s) for v in CHOICES["decay"]] for s in scales},
        "betas": list(adam["betas"]),
        "eps": adam["eps"],
        "code": {
            opt: {fw: [code, str(scale)] for fw, (_, code, scale) in rows.items()}
            for opt, rows in CODE.items()
        },
    }
