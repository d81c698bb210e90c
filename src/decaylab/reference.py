"""A NumPy reference of one optimizer step, against which every framework result is checked.

The reference is written the way the update rules are printed in the frameworks'
documentation, in float64, with no framework in sight. Three optimizers and four
kinds of regularization cover every case the book discusses:

``optimizer``
    ``"sgd"``: ``w <- w - lr * g'``.

    ``"momentum"``: heavy-ball momentum. ``momentum_style="pytorch"`` is
    ``torch.optim.SGD(momentum=mu, dampening=d, nesterov=...)``: the buffer starts as
    the first gradient, then ``buf <- mu * buf + (1 - d) * g'``.
    ``momentum_style="paddle"`` is ``paddle.optimizer.Momentum``: the velocity starts
    at zero, then ``v <- mu * v + g'``; it has no dampening. With ``dampening=0`` the
    two styles give the same numbers (the unit tests check it). Both then take
    ``w <- w - lr * buf`` (or ``w - lr * (g' + mu * buf)`` with Nesterov).

    ``"adam"``: Adam with bias correction,
    ``w <- w - lr * m_hat / (sqrt(v_hat) + eps)``. PaddlePaddle writes the same rule
    with the corrections folded into the learning rate and epsilon; algebraically it
    is identical. Keras 3 adds epsilon *before* the bias correction,
    ``w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``: select it with
    ``eps_style="keras"`` (the default is ``"pytorch"``).

``decay`` (with coefficient ``coeff``)
    ``"none"``: ``g' = g``.

    ``"l2"``: a coupled L2 penalty ``coeff/2 * sum(w**2)`` in the loss, so
    ``g' = g + coeff * w``. This is ``weight_decay`` of ``torch.optim.SGD`` and
    ``torch.optim.Adam``, and ``paddle.regularizer.L2Decay``.

    ``"l1"``: a coupled L1 penalty ``coeff * sum(|w|)``, ``g' = g + coeff * sign(w)``
    (``paddle.regularizer.L1Decay``).

    ``"decoupled"``: the weights are shrunk outside the gradient,
    ``w <- (1 - lr * coeff) * w`` before the step, and ``g' = g``. This is
    ``torch.optim.AdamW`` and ``paddle.optimizer.AdamW`` (their decay is multiplied
    by the learning rate).

    Several kinds at once are given as a dict instead of a name, e.g.
    ``decay={"l2": 0.01, "decoupled": 0.1}`` (then ``coeff`` is left out): this is what
    ``paddle.optimizer.AdamW`` does to a parameter that carries its own
    ``ParamAttr(regularizer=L2Decay(0.01))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import _checks

OPTIMIZERS = ("sgd", "momentum", "adam")
DECAYS = ("none", "l2", "l1", "decoupled")
MOMENTUM_STYLES = ("pytorch", "paddle")
EPS_STYLES = ("pytorch", "keras")

__all__ = [
    "DECAYS",
    "OPTIMIZERS",
    "ReferenceOptimizer",
    "reference_step",
    "replay_error",
]


def _validated_config(
    optimizer,
    lr,
    decay,
    coeff,
    momentum,
    dampening,
    nesterov,
    momentum_style,
    betas,
    eps,
    eps_style="pytorch",
) -> dict:
    """Check every hyperparameter once and return them normalised."""
    optimizer = _checks.one_of("optimizer", optimizer, OPTIMIZERS)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    coeff = _checks.real("coeff", coeff, low=0.0)
    if isinstance(decay, Mapping):
        if coeff != 0.0:
            raise ValueError(
                "coeff must be left out when decay is a dict of {kind: coefficient}; "
                f"got coeff={coeff!r} and decay={dict(decay)!r}"
            )
        decays = {}
        for kind, value in decay.items():
            _checks.one_of("a key of decay", kind, DECAYS)
            decays[kind] = _checks.real(f"decay[{kind!r}]", value, low=0.0)
    else:
        decays = {_checks.one_of("decay", decay, DECAYS): coeff}
    decays.pop("none", None)
    momentum = _checks.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    dampening = _checks.real("dampening", dampening, low=0.0, high=1.0)
    momentum_style = _checks.one_of("momentum_style", momentum_style, MOMENTUM_STYLES)
    if not isinstance(nesterov, bool | np.bool_):
        raise TypeError(f"nesterov must be True or False; got {nesterov!r}")
    if momentum_style == "paddle" and dampening != 0.0:
        raise ValueError(
            "dampening must be 0 with momentum_style='paddle' (paddle.optimizer.Momentum "
            f"has no dampening); got {dampening!r}"
        )
    if nesterov and (momentum == 0.0 or dampening != 0.0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0, as in torch.optim.SGD")
    if not isinstance(betas, Sequence) or isinstance(betas, str) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2); got {betas!r}")
    beta1 = _checks.real("betas[0]", betas[0], low=0.0, high=1.0, high_open=True)
    beta2 = _checks.real("betas[1]", betas[1], low=0.0, high=1.0, high_open=True)
    eps = _checks.real("eps", eps, low=0.0, low_open=True)
    eps_style = _checks.one_of("eps_style", eps_style, EPS_STYLES)
    return {
        "eps_style": eps_style,
        "optimizer": optimizer,
        "lr": lr,
        "decays": decays,
        "momentum": momentum,
        "dampening": dampening,
        "nesterov": bool(nesterov),
        "momentum_style": momentum_style,
        "beta1": beta1,
        "beta2": beta2,
        "eps": eps,
    }


def _step(w: np.ndarray, g: np.ndarray, state: Mapping, cfg: dict) -> tuple[np.ndarray, dict]:
    """One update with already validated inputs. Returns new weights and a new state."""
    lr, decays = cfg["lr"], cfg["decays"]
    t = int(state.get("t", 0)) + 1
    new_state: dict = {"t": t}

    # The coupled penalties are gradients of the penalty at the current weights ...
    if "l2" in decays:
        g = g + decays["l2"] * w
    if "l1" in decays:
        g = g + decays["l1"] * np.sign(w)
    # ... the decoupled decay shrinks the weights themselves, before the step.
    if "decoupled" in decays:
        w = w * (1.0 - lr * decays["decoupled"])

    if cfg["optimizer"] == "sgd":
        return w - lr * g, new_state

    if cfg["optimizer"] == "momentum":
        mu, d = cfg["momentum"], cfg["dampening"]
        buf = state.get("buf")
        if cfg["momentum_style"] == "pytorch":
            buf = g.copy() if buf is None else mu * buf + (1.0 - d) * g
        else:  # paddle: velocity starts at zero
            buf = (0.0 if buf is None else mu * buf) + g
        new_state["buf"] = buf
        direction = g + mu * buf if cfg["nesterov"] else buf
        return w - lr * direction, new_state

    # adam
    b1, b2, eps = cfg["beta1"], cfg["beta2"], cfg["eps"]
    m = state.get("m", np.zeros_like(w))
    v = state.get("v", np.zeros_like(w))
    m = b1 * m + (1.0 - b1) * g
    v = b2 * v + (1.0 - b2) * g * g
    new_state.update(m=m, v=v)
    if cfg["eps_style"] == "keras":
        alpha = lr * np.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        return w - alpha * m / (np.sqrt(v) + eps), new_state
    m_hat = m / (1.0 - b1**t)
    v_hat = v / (1.0 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), new_state


def reference_step(
    w,
    grad,
    state: Mapping | None = None,
    *,
    optimizer: str,
    lr: float,
    decay: str | Mapping[str, float] = "none",
    coeff: float = 0.0,
    momentum: float = 0.9,
    dampening: float = 0.0,
    nesterov: bool = False,
    momentum_style: str = "pytorch",
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    eps_style: str = "pytorch",
) -> tuple[np.ndarray, dict]:
    """Apply one optimizer step to the weights ``w`` with the data gradient ``grad``.

    ``grad`` is the gradient of the data loss only; the penalty named by ``decay`` is
    added here. ``state`` is the dict returned by the previous call (``None`` for the
    first step). Returns ``(new_weights, new_state)`` as float64; the inputs are not
    modified.

    >>> w_new, _ = reference_step([1.0, -2.0], [0.5, 0.5], optimizer="sgd", lr=0.1,
    ...                           decay="l2", coeff=0.1)
    >>> w_new.round(6).tolist()
    [0.94, -2.03]
    """
    cfg = _validated_config(
        optimizer, lr, decay, coeff, momentum, dampening, nesterov, momentum_style, betas, eps, eps_style
    )
    w = _checks.array("w", w)
    g = _checks.array("grad", grad)
    _checks.same_shape("w", w, "grad", g)
    if state is None:
        state = {}
    elif not isinstance(state, Mapping):
        raise TypeError(f"state must be None or the dict returned by the previous step; got {state!r}")
    return _step(w, g, state, cfg)


class ReferenceOptimizer:
    """The reference step for several named parameters, keeping each one's state.

    Takes the same keyword arguments as :func:`reference_step`. ``step(params, grads)``
    takes two dicts keyed by parameter name and returns the new weights as a dict.

    >>> opt = ReferenceOptimizer(optimizer="momentum", lr=0.1, momentum=0.9)
    >>> p = {"w": np.array([1.0])}
    >>> for _ in range(2):
    ...     p = opt.step(p, {"w": np.array([1.0])})
    >>> float(p["w"][0].round(6))  # 1 - 0.1*1 - 0.1*(0.9*1 + 1)
    0.71
    """

    def __init__(self, *, optimizer: str, lr: float, **hyper):
        accepted = {
            "decay",
            "coeff",
            "momentum",
            "dampening",
            "nesterov",
            "momentum_style",
            "betas",
            "eps",
            "eps_style",
        }
        unknown = sorted(set(hyper) - accepted)
        if unknown:
            raise TypeError(
                f"unknown argument(s) {', '.join(unknown)}; accepted: optimizer, lr, {', '.join(sorted(accepted))}"
            )
        defaults = {
            "decay": "none",
            "coeff": 0.0,
            "momentum": 0.9,
            "dampening": 0.0,
            "nesterov": False,
            "momentum_style": "pytorch",
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "eps_style": "pytorch",
        }
        defaults.update(hyper)
        self.config = _validated_config(optimizer=optimizer, lr=lr, **defaults)
        self.state: dict[str, dict] = {}

    def step(self, params: Mapping, grads: Mapping) -> dict[str, np.ndarray]:
        """Update every parameter in ``params`` with its gradient in ``grads``."""
        if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
            raise TypeError("params and grads must both be dicts keyed by parameter name")
        if set(params) != set(grads):
            raise ValueError(
                f"grads must have the same keys as params: params has {sorted(params)}, grads has {sorted(grads)}"
            )
        out = {}
        for name in params:
            w = _checks.array(f"params[{name!r}]", params[name])
            g = _checks.array(f"grads[{name!r}]", grads[name])
            _checks.same_shape(f"params[{name!r}]", w, f"grads[{name!r}]", g)
            out[name], self.state[name] = _step(w, g, self.state.get(name, {}), self.config)
        return out


def replay_error(weights: Sequence, grads: Sequence, **config) -> float:
    """How well one reference configuration explains an observed training trajectory.

    ``weights`` holds the observed weights ``w_0 ... w_T`` of one parameter and
    ``grads`` the observed data gradients ``g_0 ... g_{T-1}`` (the gradient of the loss
    without any penalty, at ``w_t``). The reference optimizer described by ``config``
    (the keyword arguments of :func:`reference_step`) is replayed along the observed
    path: at each step it predicts ``w_{t+1}`` from ``w_t``, ``g_t`` and its own state.
    Returns the largest absolute prediction error over all steps. The configuration
    that the framework really used gives an error at float32 rounding level; a wrong
    coefficient or a wrong kind of decay gives a visibly larger one.
    """
    if len(weights) != len(grads) + 1:
        raise ValueError(
            f"weights must hold one more entry than grads (w_0 ... w_T and g_0 ... g_(T-1)); "
            f"got {len(weights)} weights and {len(grads)} grads"
        )
    if len(grads) == 0:
        raise ValueError("grads must hold at least one step")
    opt = ReferenceOptimizer(**config)
    worst = 0.0
    for t, g in enumerate(grads):
        predicted = opt.step({"w": weights[t]}, {"w": g})["w"]
        observed = _checks.array(f"weights[{t + 1}]", weights[t + 1])
        _checks.same_shape("predicted weights", predicted, f"weights[{t + 1}]", observed)
        worst = max(worst, float(np.max(np.abs(predicted - observed))))
    return worst
