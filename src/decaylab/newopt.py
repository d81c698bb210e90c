"""NumPy references for the decay rules of three newer optimizers: Lion, Muon, schedule-free AdamW.

Each function is written from the update rule as the implementation the book checks applies it,
in plain NumPy, with no framework in sight:

* :func:`lion_step`: ``lion_pytorch.Lion`` (lucidrains, 0.2.5). The decay is decoupled and
  scaled by the learning rate, ``w <- (1 - lr*wd) * w``, then ``w <- w - lr * sign(b1*m + (1-b1)*g)``
  and ``m <- b2*m + (1-b2)*g``. Because the update is a sign, ``|w|`` can never pass
  ``1/wd`` from below: :func:`lion_bound`.
* :func:`muon_step`: ``torch.optim.Muon`` (torch 2.13). The momentum buffer is
  orthogonalized by five Newton-Schulz steps (:func:`newton_schulz`); the decay uses the
  *base* learning rate, ``w <- (1 - lr*wd) * w``, while the update uses the *adjusted* one,
  ``lr * muon_lr_ratio(shape, adjust_lr_fn)``. The Newton-Schulz output has singular values
  at most :func:`newton_schulz_max_gain` (about 1.2), so the spectral norm obeys
  :func:`muon_spectral_bound`.
* :func:`schedulefree_adamw_step`: ``schedulefree.AdamWScheduleFree`` (1.4.1) in train mode,
  with its decay computed at ``y`` (what the code does), at ``z`` (the base optimizer's own
  decay under ``ScheduleFreeWrapper``, or ``decay_at_z=True`` of the reference class), or as an
  L2 penalty added to the gradient before Adam's normalization (what the docstring's words
  "L2 penalty" would mean); :func:`schedulefree_eval_weights` gives the averaged weights ``x``
  that ``optimizer.eval()`` puts in the model. ``decay_at="y-before"`` is a fourth rule, Keras
  3's ``ScheduleFreeAdamW``: its base optimizer shrinks the model's weights ``y`` by
  ``1 - lr*wd`` *before* the step, and ``z`` is never decayed.

Lion's reference computes in float32 when its inputs are float32 (each operation rounded as
the framework rounds it), so that a long float32 run can be replayed step for step; Muon's and
schedule-free's compute in float64. torch's Muon runs Newton-Schulz in bfloat16: compare it
with :func:`muon_step` within a tolerance of a few percent of the update, or on a zero gradient
(where the update is exactly zero) to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import _checks

__all__ = [
    "ADJUST_LR_FNS",
    "DECAY_BEFORE_STEP",
    "DECAY_POINTS",
    "MUON_NS_COEFFICIENTS",
    "lion_bound",
    "lion_step",
    "muon_lr_ratio",
    "muon_spectral_bound",
    "muon_step",
    "newton_schulz",
    "newton_schulz_max_gain",
    "schedulefree_adamw_step",
    "schedulefree_eval_weights",
]

#: The quintic Newton-Schulz coefficients (a, b, c) of torch.optim.Muon (Keller Jordan's).
MUON_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
#: The values torch.optim.Muon accepts for ``adjust_lr_fn`` (None means "original").
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
#: Where schedule-free AdamW's decay can be computed (see :func:`schedulefree_adamw_step`).
DECAY_POINTS = ("y", "z", "l2")
#: Keras 3's rule for schedule-free AdamW: ``y <- (1 - lr*wd) * y`` before the step, ``z`` untouched.
DECAY_BEFORE_STEP = "y-before"


# -- shared argument checks ----------------------------------------------------------------------


def _float_array(name: str, value, *, dtype=np.float64) -> np.ndarray:
    arr = _checks.array(name, value)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array with at least one dimension; got a scalar")
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one number; got an empty array")
    return arr.astype(dtype)


def _shape(name: str, shape) -> tuple[int, int]:
    if isinstance(shape, str) or not isinstance(shape, Sequence | tuple) or len(shape) != 2:
        raise TypeError(f"{name} must be the shape of a matrix, a pair (rows, columns); got {shape!r}")
    return (
        _checks.integer(f"{name}[0]", shape[0], low=1),
        _checks.integer(f"{name}[1]", shape[1], low=1),
    )


def _adjust_lr_fn(value) -> str | None:
    if value is None:
        return None
    return _checks.one_of("adjust_lr_fn", value, [v for v in ADJUST_LR_FNS if v is not None])


def _coefficients(value) -> tuple[float, float, float]:
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray) or len(value) != 3:
        raise TypeError(f"coefficients must be three numbers (a, b, c); got {value!r}")
    return tuple(_checks.real(f"coefficients[{i}]", v) for i, v in enumerate(value))


# -- Lion ----------------------------------------------------------------------------------------


def lion_step(w, grad, exp_avg, *, lr, weight_decay=0.0, betas=(0.9, 0.99)):
    """One step of ``lion_pytorch.Lion``: returns ``(w, exp_avg)`` after the step.

    ``w <- (1 - lr*weight_decay) * w``; ``w <- w - lr * sign(b1*exp_avg + (1-b1)*grad)``;
    ``exp_avg <- b2*exp_avg + (1-b2)*grad``. If ``w`` and ``exp_avg`` are both float32 the
    step is computed in float32, each operation rounded as torch rounds it; otherwise in
    float64. A zero gradient does not stop the weight: the sign of a decaying momentum is
    still +1 or -1.

    >>> w, m = lion_step([1.0, -2.0], [0.5, 0.0], [0.0, 0.3], lr=0.1, weight_decay=0.5)
    >>> w.round(6).tolist(), m.round(6).tolist()
    ([0.85, -2.0], [0.005, 0.297])
    """
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    weight_decay = _checks.real("weight_decay", weight_decay, low=0.0)
    b1, b2 = _checks.betas(betas)
    single = all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in (w, exp_avg))
    dt = np.float32 if single else np.float64
    w = _float_array("w", w, dtype=dt)
    g = _float_array("grad", grad, dtype=dt)
    m = _float_array("exp_avg", exp_avg, dtype=dt)
    _checks.same_shape("w", w, "grad", g)
    _checks.same_shape("w", w, "exp_avg", m)
    w = w * dt(1.0 - lr * weight_decay)
    update = np.sign(m * dt(b1) + g * dt(1.0 - b1))
    w = w + update * dt(-lr)
    m = m * dt(b2) + g * dt(1.0 - b2)
    return w, m


def lion_bound(initial, *, lr, weight_decay, steps):
    """The largest ``|w|`` Lion can reach after ``steps`` steps from ``max|w_0| = initial``.

    Each step gives ``|w'| <= (1 - lr*wd)|w| + lr``, so ``|w_t| <= 1/wd + (1 - lr*wd)^t (initial - 1/wd)``
    when ``initial > 1/wd``, and ``|w_t| <= 1/wd`` for ever once it is inside: the box
    ``[-1/wd, 1/wd]`` is exact. ``steps`` may be an array of step counts.

    >>> lion_bound(0.5, lr=0.1, weight_decay=1.0, steps=3)
    1.0
    >>> round(float(lion_bound(3.0, lr=0.1, weight_decay=1.0, steps=1)), 6)
    2.8
    """
    initial = _checks.real("initial", initial, low=0.0)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    weight_decay = _checks.real("weight_decay", weight_decay, low=0.0, low_open=True)
    if not 0 < lr * weight_decay <= 1:
        raise ValueError(f"lr * weight_decay must be in (0, 1]; got {lr * weight_decay!r}")
    t = _checks.array("steps", steps)
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("steps must be whole numbers >= 0")
    box = 1.0 / weight_decay
    out = np.where(initial > box, box + (1 - lr * weight_decay) ** t * (initial - box), box)
    return float(out) if out.ndim == 0 else out


# -- Muon ----------------------------------------------------------------------------------------


def muon_lr_ratio(shape, adjust_lr_fn=None) -> float:
    """The factor by which torch.optim.Muon scales ``lr`` for the update of a ``[A, B]`` matrix.

    ``None`` or ``"original"`` (Keller Jordan's): ``sqrt(max(1, A/B))``; ``"match_rms_adamw"``
    (Moonshot's): ``0.2 * sqrt(max(A, B))``. The decay is *not* scaled: it uses ``lr``.

    >>> muon_lr_ratio((64, 16)), muon_lr_ratio((16, 64)), muon_lr_ratio((16, 64), "match_rms_adamw")
    (2.0, 1.0, 1.6)
    """
    a, b = _shape("shape", shape)
    fn = _adjust_lr_fn(adjust_lr_fn)
    if fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(a, b))
    return math.sqrt(max(1.0, a / b))


def newton_schulz(g, *, steps=5, coefficients=MUON_NS_COEFFICIENTS, eps=1e-7) -> np.ndarray:
    """Muon's orthogonalization in float64: ``X <- a X + (b A + c A^2) X`` with ``A = X X^T``,
    ``steps`` times, from ``X = G / max(||G||_F, eps)`` (the wide orientation).

    The singular values of the output are those of the input, divided by the Frobenius norm
    and passed ``steps`` times through ``p(s) = a s + b s^3 + c s^5``; the singular vectors are
    kept. torch runs it in bfloat16, about two significant digits.

    >>> x = newton_schulz(np.diag([3.0, 4.0]))  # singular values 0.6 and 0.8 after normalizing
    >>> np.diag(x).round(4).tolist()  # p applied five times to 0.6 and to 0.8
    [0.7229, 1.1192]
    """
    g = _float_array("g", g)
    if g.ndim != 2:
        raise ValueError(
            f"g must be a matrix (a 2-D array), as Muon accepts only 2-D parameters; got shape {g.shape}"
        )
    steps = _checks.integer("steps", steps, low=0, high=99)
    a, b, c = _coefficients(coefficients)
    eps = _checks.real("eps", eps, low=0.0, low_open=True)
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(float(np.linalg.norm(x)), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def newton_schulz_max_gain(*, steps=5, coefficients=MUON_NS_COEFFICIENTS) -> float:
    """The largest singular value :func:`newton_schulz` can output: ``max p^steps(s)`` over ``s`` in [0, 1].

    Its input is divided by its Frobenius norm, so every singular value starts in [0, 1]. The
    maximum is found on a grid of 200,001 points and refined around the best one.

    >>> round(newton_schulz_max_gain(), 4)
    1.2024
    >>> newton_schulz_max_gain(steps=0)
    1.0
    """
    steps = _checks.integer("steps", steps, low=0, high=99)
    a, b, c = _coefficients(coefficients)

    def p(s):
        for _ in range(steps):
            s = a * s + b * s**3 + c * s**5
        return s

    grid = np.linspace(0.0, 1.0, 200_001)
    i = int(np.argmax(p(grid)))
    fine = np.linspace(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)], 20_001)
    return float(max(p(grid).max(), p(fine).max()))


def muon_spectral_bound(*, lr, weight_decay, shape, adjust_lr_fn=None, steps=None, initial=0.0, gain=None):
    """The largest spectral norm torch.optim.Muon can give a ``shape`` matrix after ``steps`` steps.

    Each step is ``W <- (1 - lr*wd) W - lr*rho*O`` with ``rho = muon_lr_ratio(shape, adjust_lr_fn)``
    and ``||O||_2 <= gain`` (by default :func:`newton_schulz_max_gain`), so
    ``||W_t||_2 <= q^t * initial + rho*gain/wd * (1 - q^t)`` with ``q = 1 - lr*wd``;
    ``steps=None`` gives the limit ``rho*gain/wd``. ``steps`` and ``initial`` (``||W_0||_2``)
    may be arrays; they are broadcast together.

    >>> muon_spectral_bound(lr=0.1, weight_decay=2.0, shape=(16, 64), gain=1.0)
    0.5
    >>> round(float(muon_spectral_bound(lr=0.1, weight_decay=2.0, shape=(64, 16), steps=1, gain=1.0)), 6)
    0.2
    """
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    weight_decay = _checks.real("weight_decay", weight_decay, low=0.0, low_open=True)
    if not lr * weight_decay <= 1:
        raise ValueError(f"lr * weight_decay must be <= 1; got {lr * weight_decay!r}")
    rho = muon_lr_ratio(shape, adjust_lr_fn)
    initial = _checks.array("initial", initial)
    if np.any(initial < 0):
        raise ValueError("initial must be >= 0: it is the spectral norm of the starting matrix")
    gain = newton_schulz_max_gain() if gain is None else _checks.real("gain", gain, low=0.0, low_open=True)
    limit = rho * gain / weight_decay
    if steps is None:
        return limit
    t = _checks.array("steps", steps)
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("steps must be whole numbers >= 0")
    q = (1.0 - lr * weight_decay) ** t
    out = q * initial + limit * (1.0 - q)
    return float(out) if out.ndim == 0 else out


def muon_step(
    w,
    grad,
    buf,
    *,
    lr,
    weight_decay=0.1,
    momentum=0.95,
    nesterov=True,
    adjust_lr_fn=None,
    ns_steps=5,
    coefficients=MUON_NS_COEFFICIENTS,
    eps=1e-7,
):
    """One step of ``torch.optim.Muon`` in float64: returns ``(w, buf)`` after the step.

    ``buf <- momentum*buf + (1-momentum)*grad``; the update direction is
    ``grad + momentum*(buf - grad)`` with Nesterov, else ``buf``; ``O = newton_schulz(direction)``;
    ``w <- (1 - lr*weight_decay) * w - lr * muon_lr_ratio(w.shape, adjust_lr_fn) * O``.
    The defaults are torch's (``weight_decay=0.1``, ``momentum=0.95``, Nesterov). On a zero
    gradient with a zero buffer, ``O = 0`` and only the decay acts, by the *base* ``lr``.

    >>> w, b = muon_step(np.ones((2, 8)), np.zeros((2, 8)), np.zeros((2, 8)), lr=0.5, weight_decay=0.2)
    >>> float(w[0, 0]), float(np.abs(b).max())
    (0.9, 0.0)
    """
    lr = _checks.real("lr", lr, low=0.0)
    weight_decay = _checks.real("weight_decay", weight_decay, low=0.0)
    momentum = _checks.real("momentum", momentum, low=0.0)
    nesterov = _checks.flag("nesterov", nesterov)
    w = _float_array("w", w)
    if w.ndim != 2:
        raise ValueError(
            f"w must be a matrix (a 2-D array): torch.optim.Muon refuses other shapes; got shape {w.shape}"
        )
    g = _float_array("grad", grad)
    buf = _float_array("buf", buf)
    _checks.same_shape("w", w, "grad", g)
    _checks.same_shape("w", w, "buf", buf)
    buf = buf + (1.0 - momentum) * (g - buf)
    direction = g + momentum * (buf - g) if nesterov else buf
    o = newton_schulz(direction, steps=ns_steps, coefficients=coefficients, eps=eps)
    rho = muon_lr_ratio(w.shape, adjust_lr_fn)
    return (1.0 - lr * weight_decay) * w - lr * rho * o, buf


# -- schedule-free AdamW -------------------------------------------------------------------------


def _sf_state(state, y: np.ndarray) -> dict:
    if state is None:
        return {"z": y.copy(), "exp_avg_sq": np.zeros_like(y), "k": 0, "weight_sum": 0.0, "lr_max": -1.0}
    if not isinstance(state, Mapping):
        raise TypeError(
            f"state must be None (first step) or the dict a previous step returned; got {state!r}"
        )
    missing = {"z", "exp_avg_sq", "k", "weight_sum", "lr_max"} - set(state)
    if missing:
        raise ValueError(
            f"state must hold z, exp_avg_sq, k, weight_sum and lr_max; missing {sorted(missing)}"
        )
    out = dict(state)
    for key in ("z", "exp_avg_sq"):
        out[key] = _float_array(f"state[{key!r}]", state[key])
        _checks.same_shape("y", y, f"state[{key!r}]", out[key])
    out["k"] = _checks.integer("state['k']", state["k"], low=0)
    out["weight_sum"] = _checks.real("state['weight_sum']", state["weight_sum"], low=0.0)
    out["lr_max"] = _checks.real("state['lr_max']", state["lr_max"])
    return out


def schedulefree_adamw_step(
    y,
    grad,
    state=None,
    *,
    lr,
    weight_decay=0.0,
    decay_at="y",
    betas=(0.9, 0.999),
    eps=1e-8,
    warmup_steps=0,
    r=0.0,
    weight_lr_power=2.0,
    x_from_new_z=False,
):
    """One train-mode step of ``schedulefree.AdamWScheduleFree``: returns ``(y, state)``.

    ``y`` is what the model holds in train mode; ``state`` holds ``z`` (the base sequence),
    ``exp_avg_sq``, the step count ``k``, ``weight_sum`` and ``lr_max`` (``None`` on the first
    step: ``z`` starts at ``y``). With ``lr_t = lr * min(1, (k+1)/warmup_steps)`` and
    ``d = sqrt(v_hat) + eps``:

    * ``decay_at="y"`` (the code): ``u = grad/d + wd*y``, decoupled from the normalization;
    * ``decay_at="z"``: ``u = grad/d + wd*z`` (``AdamWScheduleFreeReference(decay_at_z=True)``; on a
      zero gradient, also a base optimizer's own decay under ``ScheduleFreeWrapper``);
    * ``decay_at="l2"``: an L2 penalty, ``grad <- grad + wd*y`` before ``v`` and ``d``: ``u = grad/d``;
    * ``decay_at="y-before"`` (:data:`DECAY_BEFORE_STEP`, Keras 3's ``ScheduleFreeAdamW``): the
      weights in the model are shrunk first, ``y <- (1 - lr*wd) * y`` with the *base* ``lr``,
      and the step runs with ``u = grad/d`` (the gradient is still the one taken at the old
      ``y``); ``z`` is never decayed, so on the first step (``c = 1``, ``x = z``) the decay is
      lost entirely;

    then ``z <- z - lr_t*u``, ``x <- (1-c) x + c z`` with ``c = w_k / sum(w)`` and
    ``w_k = (k+1)^r * lr_max^weight_lr_power``, and ``y <- (1-b1) z + b1 x``. The averaged
    weights ``x`` are recovered from ``y`` and the old ``z``; ``x_from_new_z=True`` recovers
    them from the *updated* ``z`` instead, as Keras 3.15's ``ScheduleFreeAdamW`` does on its
    torch backend (its saved ``momentum_old`` is the tensor that the update then changes in
    place): a different step whenever the gradient is not zero.

    >>> y, s = schedulefree_adamw_step([1.0], [0.0], lr=0.1, weight_decay=0.5)
    >>> y.tolist(), s["z"].tolist(), s["k"]  # first step: c = 1, so x = z = 1 - lr*wd*y
    ([0.95], [0.95], 1)
    """
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    weight_decay = _checks.real("weight_decay", weight_decay, low=0.0)
    decay_at = _checks.one_of("decay_at", decay_at, (*DECAY_POINTS, DECAY_BEFORE_STEP))
    b1, b2 = _checks.betas(betas)
    if b1 == 0:
        raise ValueError(
            "betas[0] must be > 0: the averaged weights x are recovered from y and z by dividing by it"
        )
    eps = _checks.real("eps", eps, low=0.0)
    warmup_steps = _checks.integer("warmup_steps", warmup_steps, low=0)
    r = _checks.real("r", r, low=0.0)
    weight_lr_power = _checks.real("weight_lr_power", weight_lr_power, low=0.0)
    x_from_new_z = _checks.flag("x_from_new_z", x_from_new_z)
    y = _float_array("y", y)
    g = _float_array("grad", grad)
    _checks.same_shape("y", y, "grad", g)
    s = _sf_state(state, y)
    k = s["k"]
    lr_t = lr * ((k + 1) / warmup_steps if k < warmup_steps else 1.0)
    lr_max = max(lr_t, s["lr_max"])
    weight = (k + 1) ** r * lr_max**weight_lr_power
    weight_sum = s["weight_sum"] + weight
    c = weight / weight_sum if weight_sum > 0 else 0.0
    z = s["z"]
    if decay_at == DECAY_BEFORE_STEP:
        y = (1.0 - lr * weight_decay) * y
    x = schedulefree_eval_weights(y, s, beta1=b1)
    if decay_at == "l2":
        g = g + weight_decay * y
    v = b2 * s["exp_avg_sq"] + (1.0 - b2) * g * g
    denom = np.sqrt(v / (1.0 - b2 ** (k + 1))) + eps
    u = g / denom
    if decay_at == "y":
        u = u + weight_decay * y
    elif decay_at == "z":
        u = u + weight_decay * z
    z = z - lr_t * u
    if x_from_new_z:
        x = schedulefree_eval_weights(y, {"z": z}, beta1=b1)
    x = (1.0 - c) * x + c * z
    y = (1.0 - b1) * z + b1 * x
    return y, {"z": z, "exp_avg_sq": v, "k": k + 1, "weight_sum": weight_sum, "lr_max": lr_max}


def schedulefree_eval_weights(y, state, *, beta1=0.9) -> np.ndarray:
    """The averaged weights ``x = (y - (1-b1) z) / b1`` that ``optimizer.eval()`` puts in the model.

    ``state`` is the dict :func:`schedulefree_adamw_step` returns (only its ``z`` is read);
    ``None`` (before the first step) gives ``y`` itself.

    >>> schedulefree_eval_weights([0.5], {"z": np.array([0.0])}, beta1=0.5).tolist()
    [1.0]
    """
    y = _float_array("y", y)
    b1 = _checks.real("beta1", beta1, low=0.0, high=1.0, low_open=True, high_open=True)
    if state is None:
        return y.copy()
    if not isinstance(state, Mapping) or "z" not in state:
        raise TypeError("state must be None or a dict holding 'z' (as schedulefree_adamw_step returns)")
    z = _float_array("state['z']", state["z"])
    _checks.same_shape("y", y, "state['z']", z)
    return (y - (1.0 - b1) * z) / b1
