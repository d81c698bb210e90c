"""A NumPy reference of one optimizer step, against which every framework result is checked.

The reference is written the way the update rules are printed in the frameworks'
documentation, in float64, with no framework in sight. Every hyperparameter lives in one
frozen, validated :class:`StepConfig`; :func:`reference_step`, :class:`ReferenceOptimizer`
and :func:`replay_error` take its fields as keyword arguments. Three optimizers and five
kinds of regularization cover every case the book discusses.

``optimizer``
    ``"sgd"``: ``w <- w - lr_t * g'``, with ``lr_t = schedule * lr`` (below).

    ``"momentum"``: heavy-ball momentum. ``momentum_style="pytorch"`` is
    ``torch.optim.SGD(momentum=mu, dampening=d, nesterov=...)``: the buffer starts as
    the first gradient, then ``buf <- mu * buf + (1 - d) * g'``.
    ``momentum_style="paddle"`` is ``paddle.optimizer.Momentum``: the velocity starts
    at zero, then ``v <- mu * v + g'``; it has no dampening. With ``dampening=0`` the
    two styles give the same numbers (the unit tests check it). Both then take
    ``w <- w - lr_t * buf`` (or ``w - lr_t * (g' + mu * buf)`` with Nesterov).

    ``"adam"``: Adam with bias correction,
    ``w <- w - lr_t * m_hat / (sqrt(v_hat) + eps)``. PaddlePaddle writes the same rule
    with the corrections folded into the learning rate and epsilon; algebraically it
    is identical. Keras 3 adds epsilon *before* the bias correction,
    ``w <- w - lr_t * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``: select it with
    ``eps_style="keras"`` (the default is ``"pytorch"``).

``schedule``
    The schedule multiplier ``eta_t`` of the AdamW paper (1 by default): the step uses the
    learning rate ``lr_t = eta_t * lr``. A framework's scheduler that sets the learning rate
    to ``lr_t`` is the same as passing ``lr=lr_t`` with ``schedule=1``.

``decay`` (with coefficient ``coeff``)
    ``"none"``: ``g' = g`` (``coeff`` must then be 0).

    ``"l2"``: a coupled L2 penalty ``coeff/2 * sum(w**2)`` in the loss, so
    ``g' = g + coeff * w``. This is ``weight_decay`` of ``torch.optim.SGD`` and
    ``torch.optim.Adam``, and ``paddle.regularizer.L2Decay``.

    ``"l1"``: a coupled L1 penalty ``coeff * sum(|w|)``, ``g' = g + coeff * sign(w)``
    (``paddle.regularizer.L1Decay``).

    ``"decoupled"``: the frameworks' decoupled decay, multiplied by the learning rate:
    ``w <- (1 - lr_t * coeff) * w`` before the step, and ``g' = g``. This is
    ``torch.optim.AdamW`` and ``paddle.optimizer.AdamW``; with ``optimizer="momentum"``
    it is SGDW written the way torch writes AdamW (torch has no SGDW).

    ``"decoupled_paper"``: the decoupled decay of Loshchilov & Hutter's Algorithms 1-2
    (SGDW, AdamW), multiplied by the schedule multiplier only, not by the base learning
    rate: ``w <- w - eta_t * (lr * step + coeff * w)``, i.e. ``w <- (1 - eta_t * coeff) * w``
    before the step. ``coeff`` is then the paper's ``lambda``; the frameworks' form gives
    the same numbers with ``weight_decay = lambda / lr``. The paper's SGDW keeps the
    learning rate inside the momentum buffer (``m_t = mu * m + eta_t * lr * g``); the
    reference keeps torch's buffer (``lr_t`` applied after it). The two agree whenever the
    schedule multiplier is constant, as in the book's runs.

    ``corrected=True`` (default ``False``; only with ``"decoupled"`` or ``"decoupled_paper"``)
    is AdamC's corrected decay (Defazio et al. 2025, "Why Gradients Rapidly Increase Near
    the End of Training", arXiv 2506.02285), meant for the weights of layers followed by a
    normalization layer: the decoupled decay is scaled once more by the schedule multiplier
    ``eta_t = gamma_t / gamma_max`` (the step's learning rate over the schedule's largest,
    1 at the schedule's peak), so ``w <- (1 - eta_t * lr_t * coeff) * w`` with
    ``"decoupled"`` and ``w <- (1 - eta_t**2 * coeff) * w`` with ``"decoupled_paper"``. The
    first is timm's ``corrected_weight_decay=True``, which shrinks by
    ``lr_t**2 / max_lr * weight_decay`` with ``max_lr`` the constructor's learning rate.

    Several kinds at once are given as a dict instead of a name, e.g.
    ``decay={"l2": 0.01, "decoupled": 0.1}`` (then ``coeff`` is left out): this is what
    ``paddle.optimizer.AdamW`` does to a parameter that carries its own
    ``ParamAttr(regularizer=L2Decay(0.01))``.

Contradictory input is refused, never ignored: a coefficient with ``decay="none"``; and a
hyperparameter that the chosen optimizer does not use (``momentum``, ``dampening``,
``nesterov``, ``momentum_style`` except with ``"momentum"``; ``betas``, ``eps``,
``eps_style`` except with ``"adam"``) when it is passed explicitly. The values that say
"no momentum" (``momentum=0``, ``dampening=0``, ``nesterov=False``) are accepted with
``"sgd"``, since plain SGD is exactly that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _checks

OPTIMIZERS = ("sgd", "momentum", "adam")
DECAYS = ("none", "l2", "l1", "decoupled", "decoupled_paper")
MOMENTUM_STYLES = ("pytorch", "paddle")
EPS_STYLES = ("pytorch", "keras")

__all__ = [
    "DECAYS",
    "OPTIMIZERS",
    "ReferenceOptimizer",
    "StepConfig",
    "check_trajectory",
    "reference_step",
    "replay_error",
]

#: Hyperparameters that one optimizer alone uses: that optimizer, and the default there.
#: Elsewhere the field is ``None`` (not used), and passing it is refused.
ONLY_FOR = {
    "momentum": ("momentum", 0.9),
    "dampening": ("momentum", 0.0),
    "nesterov": ("momentum", False),
    "momentum_style": ("momentum", "pytorch"),
    "betas": ("adam", (0.9, 0.999)),
    "eps": ("adam", 1e-8),
    "eps_style": ("adam", "pytorch"),
}
#: The values that say "no momentum", accepted with plain ``"sgd"``.
_NO_MOMENTUM = {"momentum": 0.0, "dampening": 0.0, "nesterov": False}


@dataclass(frozen=True)
class StepConfig:
    """Every hyperparameter of the reference step, validated once; see the module docstring.

    Construct it with keyword arguments (``StepConfig(optimizer="adam", lr=1e-3,
    decay="decoupled", coeff=0.01)``); invalid or contradictory values raise ``TypeError``
    (wrong type) or ``ValueError`` (wrong value) naming the argument. Fields that the
    optimizer does not use are ``None``. :attr:`decays` holds the normalised
    ``{kind: coefficient}`` dict (without ``"none"``).

    >>> StepConfig(optimizer="momentum", lr=0.1).momentum
    0.9
    >>> StepConfig(optimizer="adam", lr=0.1, momentum=0.9)
    Traceback (most recent call last):
    ...
    ValueError: momentum is not used by optimizer='adam' (only by 'momentum'); leave it out
    """

    optimizer: str
    lr: float
    decay: str | Mapping[str, float] = "none"
    coeff: float = 0.0
    schedule: float = 1.0
    corrected: bool = False
    momentum: float | None = None
    dampening: float | None = None
    nesterov: bool | None = None
    momentum_style: str | None = None
    betas: tuple[float, float] | None = None
    eps: float | None = None
    eps_style: str | None = None
    decays: Mapping[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        optimizer = _checks.one_of("optimizer", self.optimizer, OPTIMIZERS)
        put("optimizer", optimizer)
        put("lr", _checks.real("lr", self.lr, low=0.0, low_open=True))
        put("schedule", _checks.real("schedule", self.schedule, low=0.0))
        put("coeff", _checks.real("coeff", self.coeff, low=0.0))
        put("decays", _decays(self.decay, self.coeff))
        put("corrected", _checks.flag("corrected", self.corrected))
        if self.corrected and not {"decoupled", "decoupled_paper"} & set(self.decays):
            raise ValueError(
                "corrected=True needs a decoupled decay (decay 'decoupled' or 'decoupled_paper'), "
                f"the decay it scales; got decay={self.decay!r}"
            )
        for name, (user, default) in ONLY_FOR.items():
            value = getattr(self, name)
            if optimizer == user:
                put(name, default if value is None else value)
            elif value is not None and not (optimizer == "sgd" and _NO_MOMENTUM.get(name) == value):
                raise _checks.unused(name, f"optimizer={optimizer!r}", f"only by {user!r}")
            else:
                put(name, None)
        if optimizer == "momentum":
            put("momentum", _checks.real("momentum", self.momentum, low=0.0, high=1.0, high_open=True))
            put("dampening", _checks.real("dampening", self.dampening, low=0.0, high=1.0))
            put("nesterov", _checks.flag("nesterov", self.nesterov))
            style = _checks.one_of("momentum_style", self.momentum_style, MOMENTUM_STYLES)
            put("momentum_style", style)
            if style == "paddle" and self.dampening != 0.0:
                raise ValueError(
                    "dampening must be 0 with momentum_style='paddle' (paddle.optimizer.Momentum "
                    f"has no dampening); got {self.dampening!r}"
                )
            if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
                raise ValueError("nesterov=True needs momentum > 0 and dampening = 0, as in torch.optim.SGD")
        if optimizer == "adam":
            put("betas", _checks.betas(self.betas))
            put("eps", _checks.real("eps", self.eps, low=0.0, low_open=True))
            put("eps_style", _checks.one_of("eps_style", self.eps_style, EPS_STYLES))

    @classmethod
    def from_kwargs(cls, **kwargs) -> StepConfig:
        """``StepConfig(**kwargs)``, with a message that lists the accepted names for a wrong one."""
        accepted = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise TypeError(f"unknown argument(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}")
        missing = [name for name in ("optimizer", "lr") if name not in kwargs]
        if missing:
            raise TypeError(f"missing argument(s) {', '.join(missing)}")
        return cls(**kwargs)

    @property
    def step_lr(self) -> float:
        """The learning rate of the step, ``schedule * lr``."""
        return self.schedule * self.lr


def _decays(decay, coeff: float) -> dict[str, float]:
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
    if decays.pop("none", 0.0) != 0.0:
        raise ValueError(
            f"coeff must be 0 with decay='none' (the coefficient would be ignored); got {coeff!r}. "
            "Name the decay: 'l2', 'l1', 'decoupled' or 'decoupled_paper'"
        )
    return decays


#: What a state may hold, per optimizer (besides the step counter "t").
_STATE_KEYS = {"sgd": (), "momentum": ("buf",), "adam": ("m", "v")}


def _checked_state(state, w: np.ndarray, cfg: StepConfig) -> dict:
    """The previous step's state, checked against the optimizer and the weights' shape."""
    if state is None:
        return {}
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be None or the dict returned by the previous step; got {state!r}")
    expected = _STATE_KEYS[cfg.optimizer]
    unexpected = sorted(set(state) - {"t", *expected})
    if unexpected:
        raise ValueError(
            f"state has key(s) {unexpected} that optimizer={cfg.optimizer!r} does not keep "
            f"(it keeps 't'{''.join(f', {k!r}' for k in expected)}): is it another optimizer's state?"
        )
    out = {"t": _checks.integer("state['t']", state.get("t", 0), low=0)}
    present = [k for k in expected if k in state]
    if cfg.optimizer == "adam" and len(present) == 1:
        raise ValueError(f"state must hold both 'm' and 'v' or neither; got only {present[0]!r}")
    for key in present:
        value = _checks.array(f"state[{key!r}]", state[key])
        _checks.same_shape("w", w, f"state[{key!r}]", value)
        out[key] = value
    return out


def _step(w: np.ndarray, g: np.ndarray, state: Mapping, cfg: StepConfig) -> tuple[np.ndarray, dict]:
    """One update with already validated inputs. Returns new weights and a new state."""
    lr, decays = cfg.step_lr, cfg.decays
    t = int(state.get("t", 0)) + 1
    new_state: dict = {"t": t}

    # The coupled penalties are gradients of the penalty at the current weights ...
    if "l2" in decays:
        g = g + decays["l2"] * w
    if "l1" in decays:
        g = g + decays["l1"] * np.sign(w)
    # ... the decoupled decay shrinks the weights themselves, before the step: by lr_t * coeff
    # in the frameworks' form, by eta_t * lambda in the paper's; AdamC's correction scales
    # either by eta_t once more.
    scale = cfg.schedule if cfg.corrected else 1.0
    if "decoupled" in decays:
        w = w * (1.0 - scale * lr * decays["decoupled"])
    if "decoupled_paper" in decays:
        w = w * (1.0 - scale * cfg.schedule * decays["decoupled_paper"])

    if cfg.optimizer == "sgd":
        return w - lr * g, new_state

    if cfg.optimizer == "momentum":
        mu, d = cfg.momentum, cfg.dampening
        buf = state.get("buf")
        if cfg.momentum_style == "pytorch":
            buf = g.copy() if buf is None else mu * buf + (1.0 - d) * g
        else:  # paddle: velocity starts at zero
            buf = (0.0 if buf is None else mu * buf) + g
        new_state["buf"] = buf
        direction = g + mu * buf if cfg.nesterov else buf
        return w - lr * direction, new_state

    # adam
    (b1, b2), eps = cfg.betas, cfg.eps
    m = state.get("m", np.zeros_like(w))
    v = state.get("v", np.zeros_like(w))
    m = b1 * m + (1.0 - b1) * g
    v = b2 * v + (1.0 - b2) * g * g
    new_state.update(m=m, v=v)
    if cfg.eps_style == "keras":
        alpha = lr * np.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        return w - alpha * m / (np.sqrt(v) + eps), new_state
    m_hat = m / (1.0 - b1**t)
    v_hat = v / (1.0 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), new_state


def reference_step(w, grad, state: Mapping | None = None, **hyper) -> tuple[np.ndarray, dict]:
    """Apply one optimizer step to the weights ``w`` with the data gradient ``grad``.

    ``hyper`` are the fields of :class:`StepConfig` (``optimizer`` and ``lr`` are
    required). ``grad`` is the gradient of the data loss only; the penalty named by
    ``decay`` is added here. ``state`` is the dict returned by the previous call (``None``
    for the first step); one that does not fit the optimizer or the weights' shape is
    refused. Returns ``(new_weights, new_state)`` as float64; the inputs are not modified.

    >>> w_new, _ = reference_step([1.0, -2.0], [0.5, 0.5], optimizer="sgd", lr=0.1,
    ...                           decay="l2", coeff=0.1)
    >>> w_new.round(6).tolist()
    [0.94, -2.03]
    """
    cfg = StepConfig.from_kwargs(**hyper)
    w = _checks.array("w", w)
    g = _checks.array("grad", grad)
    _checks.same_shape("w", w, "grad", g)
    if w.size == 0:
        raise ValueError("w must hold at least one weight (an empty step proves nothing)")
    return _step(w, g, _checked_state(state, w, cfg), cfg)


class ReferenceOptimizer:
    """The reference step for several named parameters, keeping each one's state.

    Takes the fields of :class:`StepConfig` as keyword arguments (or a ``StepConfig``).
    ``step(params, grads)`` takes two dicts keyed by parameter name and returns the new
    weights as a dict.

    >>> opt = ReferenceOptimizer(optimizer="momentum", lr=0.1, momentum=0.9)
    >>> p = {"w": np.array([1.0])}
    >>> for _ in range(2):
    ...     p = opt.step(p, {"w": np.array([1.0])})
    >>> float(p["w"][0].round(6))  # 1 - 0.1*1 - 0.1*(0.9*1 + 1)
    0.71
    """

    def __init__(self, config: StepConfig | None = None, **hyper):
        if config is None:
            config = StepConfig.from_kwargs(**hyper)
        elif not isinstance(config, StepConfig) or hyper:
            raise TypeError("pass either a StepConfig or its fields as keyword arguments, not both")
        self.config = config
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


def check_trajectory(weights: Sequence, grads: Sequence) -> None:
    """Refuse a recorded trajectory that cannot be replayed: ``weights`` must hold
    ``w_0 ... w_T`` and ``grads`` ``g_0 ... g_(T-1)``, with at least one step."""
    if len(weights) != len(grads) + 1:
        raise ValueError(
            f"weights must hold one more entry than grads (w_0 ... w_T and g_0 ... g_(T-1)); "
            f"got {len(weights)} weights and {len(grads)} grads"
        )
    if len(grads) == 0:
        raise ValueError("grads must hold at least one step")


def replay_error(weights: Sequence, grads: Sequence, **config) -> float:
    """How well one reference configuration explains an observed training trajectory.

    ``weights`` holds the observed weights ``w_0 ... w_T`` of one parameter and
    ``grads`` the observed data gradients ``g_0 ... g_{T-1}`` (the gradient of the loss
    without any penalty, at ``w_t``). The reference optimizer described by ``config``
    (the fields of :class:`StepConfig`) is replayed along the observed path: at each step
    it predicts ``w_{t+1}`` from ``w_t``, ``g_t`` and its own state. Returns the largest
    absolute prediction error over all steps. The configuration that the framework really
    used gives an error at float32 rounding level; a wrong coefficient or a wrong kind of
    decay gives a visibly larger one.
    """
    opt = ReferenceOptimizer(**config)
    check_trajectory(weights, grads)
    worst = 0.0
    for t, g in enumerate(grads):
        predicted = opt.step({"w": weights[t]}, {"w": g})["w"]
        observed = _checks.array(f"weights[{t + 1}]", weights[t + 1])
        _checks.same_shape("predicted weights", predicted, f"weights[{t + 1}]", observed)
        worst = max(worst, float(np.max(np.abs(predicted - observed))))
    return worst
