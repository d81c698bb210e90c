"""Train many small models at once: stacked MLPs and a batched optimizer.

A sweep (several seeds, several decay coefficients, a grid of learning rates) trains
many copies of one small network. Run one after the other, each step costs a few
tiny matrix products plus Python overhead, and the overhead dominates. Here the
``M`` models' weights are stacked along a leading dimension and every model is
evaluated by one batched matrix product (``torch.baddbmm``); the optimizer update is
written in batched form with a per-model learning rate and decay coefficient.

Why this gives the same numbers as separate runs: the models do not interact. The
training loss is the *sum* of the models' own losses, so the gradient of the stack,
sliced at model ``i``, is model ``i``'s own gradient; and SGD, momentum and Adam
update every weight elementwise. The tests check it against separate
``torch.optim`` runs and against the NumPy reference (:mod:`decaylab.reference`).

:func:`fit_classifiers` is the fast path the chapters use: it keeps every model's
parameters, gradients and optimizer state in one flat ``[M, P]`` float32 buffer each,
computes the gradients of the MLP and its cross-entropy by hand (a few batched matrix
products, no autograd graph), and updates all parameters of all models with a handful
of whole-buffer operations per step. It trains the models in groups, as many groups at
once as torch has threads (``torch.get_num_threads()``), each group on one thread: at
these sizes two single-threaded computations side by side beat one computation whose
every small operation is split over two threads. It flushes denormal numbers to zero
while it runs (``torch.set_flush_denormal``): Adam's second moments of dead units decay
into the denormal range, where CPU arithmetic is many times slower.

Normalization layers: ``StackedMLP(..., norm="layer")`` (or ``"batch"``) places a
LayerNorm (BatchNorm1d) after each hidden linear layer, before the activation, with a
per-model gain and bias; their backward passes are written by hand too, and the tests
check them against per-model ``torch.nn.LayerNorm``/``BatchNorm1d`` runs and against
autograd and finite differences in float64. For example, the AdamW figure's network with
LayerNorm, decaying the linear weights only (not the biases, not the norms' gains)::

    models = [nn.Sequential(nn.Linear(40, 48), nn.LayerNorm(48), nn.ReLU(), ...) for ...]
    stack = StackedMLP.from_modules(models)        # norm="layer", read from the modules
    opt = BatchedOptimizer(stack.parameters(), optimizer="adam", lr=lrs,
                           decay="decoupled_paper", coeff=lams,
                           decay_mask=stack.mask("weight"))
    fit_classifiers(stack, opt, x, y, epochs=..., batch_size=..., order_seeds=...)
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
from collections.abc import Sequence

from . import _checks
from .reference import DECAYS, ONLY_FOR, OPTIMIZERS

__all__ = [
    "NORMS",
    "PARAMETER_KINDS",
    "BatchedOptimizer",
    "StackedMLP",
    "cosine_multipliers",
    "fit_classifiers",
    "minibatch_orders",
]

ACTIVATIONS = ("relu", "tanh")

#: The normalization layers a :class:`StackedMLP` can place after each hidden linear layer
#: (before the activation): ``None`` (none), ``"layer"`` (``torch.nn.LayerNorm``) or
#: ``"batch"`` (``torch.nn.BatchNorm1d``).
NORMS = (None, "layer", "batch")

#: The normalization layers' epsilon and BatchNorm's running-statistics momentum: torch's defaults.
NORM_EPS = 1e-5
BATCH_NORM_MOMENTUM = 0.1

#: The kinds of parameter of a stack, as :meth:`StackedMLP.parameter_kinds` names them.
PARAMETER_KINDS = ("weight", "bias", "norm_weight", "norm_bias")


def _torch():
    import torch

    return torch


class StackedMLP:
    """``M`` multilayer perceptrons of one architecture, evaluated as one computation.

    ``weights[k]`` has shape ``[M, in_k, out_k]`` (note: ``x @ W``, the transpose of
    ``torch.nn.Linear.weight``) and ``biases[k]`` shape ``[M, 1, out_k]`` (tensors; a list
    of the same length). ``activation`` (``"relu"`` or ``"tanh"``) is applied between
    layers, not after the last one.

    ``norm`` places a normalization layer after each hidden linear layer, before its
    activation (``Linear -> Norm -> activation -> ... -> Linear``, the order of
    ``torch.nn.Sequential(Linear, LayerNorm, ReLU, ..., Linear)``), each with its own
    per-model affine gain and bias (``norm_weights[k]`` and ``norm_biases[k]``, shape
    ``[M, 1, out_k]``, one per hidden layer; default ones and zeros, as torch initializes
    them) and ``eps = 1e-5`` (:data:`NORM_EPS`):

    * ``None``: no normalization layer (the default);
    * ``"layer"``: ``torch.nn.LayerNorm(out_k)``, each sample normalized over its features;
    * ``"batch"``: ``torch.nn.BatchNorm1d(out_k)``, each feature normalized over the
      minibatch (biased variance) while training, as torch does in ``train()`` mode. The
      running statistics ``running_means[k]`` and ``running_vars[k]`` (``[M, 1, out_k]``,
      default zeros and ones) are updated at every training-mode call with torch's
      momentum 0.1 and the unbiased batch variance; in evaluation mode (:meth:`eval`)
      the layer uses them instead, as torch's ``eval()`` mode does. A training-mode call
      needs at least 2 samples.

    Any other ``norm`` raises ``ValueError`` naming the accepted values; a tensor of the
    wrong shape raises ``ValueError``, something else than a tensor ``TypeError``.
    """

    def __init__(
        self,
        weights: Sequence,
        biases: Sequence,
        activation: str = "relu",
        *,
        norm: str | None = None,
        norm_weights: Sequence | None = None,
        norm_biases: Sequence | None = None,
        running_means: Sequence | None = None,
        running_vars: Sequence | None = None,
    ):
        torch = _torch()
        self.activation = _checks.one_of("activation", activation, ACTIVATIONS)
        if norm not in NORMS:
            raise ValueError(f"norm must be one of None, 'layer', 'batch'; got {norm!r}")
        self.norm = norm
        _tensors("weights", weights)
        _tensors("biases", biases)
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError(
                f"weights and biases must be non-empty lists of the same length; got {len(weights)} and {len(biases)}"
            )
        self.weights = [w.detach().clone().requires_grad_(True) for w in weights]
        self.biases = [b.detach().clone().requires_grad_(True) for b in biases]
        m = self.weights[0].shape[0]
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.dim() != 3 or b.dim() != 3 or w.shape[0] != m or b.shape != (m, 1, w.shape[2]):
                raise ValueError(
                    f"weights[{k}] must have shape [M, in, out] and biases[{k}] shape [M, 1, out] with M = {m}; "
                    f"got {tuple(w.shape)} and {tuple(b.shape)}"
                )
            if k and w.shape[1] != self.weights[k - 1].shape[2]:
                raise ValueError(
                    f"weights[{k}] takes {w.shape[1]} inputs but layer {k - 1} gives {self.weights[k - 1].shape[2]}"
                )
        self.n_models = m
        self._act = torch.relu if self.activation == "relu" else torch.tanh
        hidden = [(m, 1, w.shape[2]) for w in self.weights[:-1]]
        self.norm_weights = self._norm_tensors("norm_weights", norm_weights, hidden, 1.0, grad=True)
        self.norm_biases = self._norm_tensors("norm_biases", norm_biases, hidden, 0.0, grad=True)
        batch = norm == "batch"
        self.running_means = self._norm_tensors("running_means", running_means, hidden, 0.0, used=batch)
        self.running_vars = self._norm_tensors("running_vars", running_vars, hidden, 1.0, used=batch)
        self.training = True

    def _norm_tensors(self, name, given, shapes, fill, *, grad=False, used=None):
        """The normalization layers' tensors: ``given`` checked, or filled with ``fill``."""
        torch = _torch()
        used = self.norm is not None if used is None else used
        if not used:
            if given is not None:
                why = "only with norm='batch'" if name.startswith("running") else "only with a norm"
                raise _checks.unused(name, f"norm={self.norm!r}", why)
            return []
        if given is None:
            tensors = [torch.full(s, fill, dtype=self.weights[0].dtype) for s in shapes]
        else:
            _tensors(name, given)
            if len(given) != len(shapes) or any(
                tuple(t.shape) != s for t, s in zip(given, shapes, strict=False)
            ):
                raise ValueError(
                    f"{name} must hold one tensor per hidden layer with shapes {shapes}; "
                    f"got {[tuple(t.shape) for t in given]}"
                )
            tensors = [t.detach().clone() for t in given]
        return [t.requires_grad_(True) for t in tensors] if grad else tensors

    def train(self, mode: bool = True) -> StackedMLP:
        """Training mode (``mode=True``, the default state) or evaluation mode; returns the stack.

        Only ``norm="batch"`` behaves differently: batch statistics and running-statistics
        updates while training, the running statistics in evaluation mode.
        """
        self.training = _checks.flag("mode", mode)
        return self

    def eval(self) -> StackedMLP:
        """Evaluation mode (``train(False)``), as ``torch.nn.Module.eval``; returns the stack."""
        return self.train(False)

    @classmethod
    def from_modules(cls, modules: Sequence, activation: str = "relu") -> StackedMLP:
        """Stack several modules of one architecture: their ``torch.nn.Linear`` layers, in order,
        and their normalization layers if they have them.

        Each module holds linear layers with biases and, optionally, one
        ``torch.nn.LayerNorm`` or ``torch.nn.BatchNorm1d`` after each hidden linear layer
        (affine, ``eps=1e-5``; BatchNorm with momentum 0.1 and running statistics, which
        are copied). The activation between layers is ``activation``: the module's own
        activation modules are not read, so say which one it uses.
        """
        torch = _torch()
        if isinstance(modules, torch.nn.Module) or not modules:
            raise TypeError("modules must be a non-empty list of torch.nn.Module")
        norm_types = {torch.nn.LayerNorm: "layer", torch.nn.BatchNorm1d: "batch"}
        per_model, norms = [], []
        for i, module in enumerate(modules):
            if not isinstance(module, torch.nn.Module):
                raise TypeError(f"modules[{i}] must be a torch.nn.Module; got {type(module).__name__}")
            layers = [
                m
                for m in module.modules()
                if isinstance(m, torch.nn.Linear | torch.nn.LayerNorm | torch.nn.BatchNorm1d)
            ]
            linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
            if not linears or any(lin.bias is None for lin in linears):
                raise ValueError(f"modules[{i}] must contain torch.nn.Linear layers, each with a bias")
            kinds = {norm_types[type(m)] for m in layers if type(m) in norm_types}
            if len(kinds) > 1:
                raise ValueError(
                    f"modules[{i}] mixes LayerNorm and BatchNorm1d layers; one kind is supported"
                )
            norm = kinds.pop() if kinds else None
            if norm is not None:
                expected = [torch.nn.Linear, type(next(m for m in layers if type(m) in norm_types))]
                expected = expected * (len(linears) - 1) + [torch.nn.Linear]
                if [type(m) for m in layers] != expected:
                    raise ValueError(
                        f"modules[{i}] must have one normalization layer after each hidden linear layer "
                        f"(Linear, Norm, ..., Linear); got {[type(m).__name__ for m in layers]}"
                    )
                for m in layers:
                    _check_norm_module(i, m, norm)
            per_model.append(layers)
            norms.append(norm)
        if any(n != norms[0] for n in norms):
            raise ValueError(
                f"modules must share one architecture; their normalization layers differ: {norms}"
            )
        shapes = [
            [tuple(p.shape) for m in layers for p in m.parameters(recurse=False)] for layers in per_model
        ]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"modules must share one architecture; layer shapes differ: {shapes}")
        step = 1 if norms[0] is None else 2

        def stacked(get, layers_at):
            return [torch.stack([get(layers[k]) for layers in per_model]) for k in layers_at]

        lins = range(0, len(per_model[0]), step)
        nrms = range(1, len(per_model[0]), step) if norms[0] is not None else []
        kwargs = {}
        if norms[0] is not None:
            kwargs["norm_weights"] = stacked(lambda m: m.weight.detach()[None, :], nrms)
            kwargs["norm_biases"] = stacked(lambda m: m.bias.detach()[None, :], nrms)
        if norms[0] == "batch":
            kwargs["running_means"] = stacked(lambda m: m.running_mean.detach()[None, :], nrms)
            kwargs["running_vars"] = stacked(lambda m: m.running_var.detach()[None, :], nrms)
        return cls(
            stacked(lambda m: m.weight.detach().T, lins),
            stacked(lambda m: m.bias.detach()[None, :], lins),
            activation,
            norm=norms[0],
            **kwargs,
        )

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first: ``[in, hidden..., out]``."""
        return [self.weights[0].shape[1], *(w.shape[2] for w in self.weights)]

    def parameters(self) -> list:
        """The trainable tensors, layer by layer, in the order of the matching
        ``torch.nn.Sequential``'s ``parameters()``: ``[W0, b0, W1, b1, ...]`` without a norm,
        ``[W0, b0, n0, s0, W1, b1, n1, s1, ..., W_last, b_last]`` with one (``n_k``, ``s_k``:
        ``norm_weights[k]``, ``norm_biases[k]``). :meth:`parameter_kinds` names each."""
        out = []
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out += [w, b]
            if self.norm is not None and k < len(self.weights) - 1:
                out += [self.norm_weights[k], self.norm_biases[k]]
        return out

    def parameter_kinds(self) -> list[str]:
        """The kind of each tensor of :meth:`parameters`, in order: ``"weight"`` and ``"bias"``
        (a linear layer's), ``"norm_weight"`` and ``"norm_bias"`` (a normalization layer's
        gain and bias)."""
        out = []
        for k in range(len(self.weights)):
            out += ["weight", "bias"]
            if self.norm is not None and k < len(self.weights) - 1:
                out += ["norm_weight", "norm_bias"]
        return out

    def mask(self, *kinds: str) -> list[bool]:
        """One bool per tensor of :meth:`parameters`: is its kind among ``kinds``?

        For :class:`BatchedOptimizer`'s ``decay_mask``: ``stack.mask("weight")`` decays the
        linear weights only (not the biases, not the norms' gains), ``stack.mask("weight",
        "norm_weight")`` the norms' gains too. Each kind must be one of
        :data:`PARAMETER_KINDS` (else ``ValueError``).
        """
        for kind in kinds:
            _checks.one_of("kinds", kind, PARAMETER_KINDS)
        return [kind in kinds for kind in self.parameter_kinds()]

    def __call__(self, x):
        """``x`` of shape ``[B, in]`` (the same batch for every model) or ``[M, B, in]``; returns ``[M, B, out]``.

        With ``norm="batch"`` in training mode this updates the running statistics, as
        torch's ``BatchNorm1d`` does.
        """
        torch = _torch()
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"x must be a torch tensor of shape [B, in] or [M, B, in] (torch.from_numpy(x) for an "
                f"array); got {type(x).__name__}"
            )
        given = tuple(x.shape)
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_models, -1, -1)
        if x.dim() != 3 or x.shape[0] != self.n_models or x.shape[2] != self.weights[0].shape[1]:
            raise ValueError(
                f"x must have shape [B, {self.weights[0].shape[1]}] or [{self.n_models}, B, {self.weights[0].shape[1]}]; "
                f"got {given}"
            )
        if self.norm == "batch" and self.training and x.shape[1] < 2:
            raise ValueError(
                f"x must hold at least 2 samples for norm='batch' in training mode (batch statistics); got {x.shape[1]}"
            )
        h = x
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if k < len(self.weights) - 1:
                if self.norm is not None:
                    h = self._normalize(k, h)
                h = self._act(h)
        return h

    def _normalize(self, k: int, z):
        """Layer ``k``'s normalization of ``z`` ``[M, B, n]`` (autograd-friendly)."""
        torch = _torch()
        gain, shift = self.norm_weights[k], self.norm_biases[k]
        if self.norm == "layer":
            dim = -1
        elif self.training:
            dim = 1
            with torch.no_grad():
                mean, var = z.mean(1, keepdim=True), z.var(1, keepdim=True, unbiased=True)
                self.running_means[k].mul_(1 - BATCH_NORM_MOMENTUM).add_(mean, alpha=BATCH_NORM_MOMENTUM)
                self.running_vars[k].mul_(1 - BATCH_NORM_MOMENTUM).add_(var, alpha=BATCH_NORM_MOMENTUM)
        else:
            xhat = (z - self.running_means[k]) / torch.sqrt(self.running_vars[k] + NORM_EPS)
            return xhat * gain + shift
        mean = z.mean(dim, keepdim=True)
        var = z.var(dim, keepdim=True, unbiased=False)
        return (z - mean) / torch.sqrt(var + NORM_EPS) * gain + shift


def _tensors(name: str, items: Sequence) -> None:
    """Refuse a list of tensors holding something else than a tensor."""
    torch = _torch()
    if isinstance(items, torch.Tensor) or not isinstance(items, Sequence):
        raise TypeError(f"{name} must be a list of torch tensors; got {type(items).__name__}")
    for k, t in enumerate(items):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"{name}[{k}] must be a torch tensor (torch.from_numpy(...) for a NumPy array); "
                f"got {type(t).__name__}"
            )


def _check_norm_module(i: int, module, norm: str) -> None:
    """Refuse a normalization module the stack would compute differently."""
    torch = _torch()
    if isinstance(module, torch.nn.Linear):
        return
    name = type(module).__name__
    affine = module.elementwise_affine if norm == "layer" else module.affine
    if not affine or module.weight is None or module.bias is None:
        raise ValueError(f"modules[{i}]'s {name} layers must be affine, with a weight and a bias")
    if module.eps != NORM_EPS:
        raise ValueError(
            f"modules[{i}]'s {name} layers must have eps={NORM_EPS} (torch's default); got {module.eps}"
        )
    if norm == "layer" and len(module.normalized_shape) != 1:
        raise ValueError(f"modules[{i}]'s LayerNorm layers must normalize over the last dimension only")
    if norm == "batch" and (module.momentum != BATCH_NORM_MOMENTUM or not module.track_running_stats):
        raise ValueError(
            f"modules[{i}]'s BatchNorm1d layers must track running statistics with momentum "
            f"{BATCH_NORM_MOMENTUM} (torch's default); got momentum={module.momentum}"
        )


def _per_model(name: str, value, m: int, *, low: float = 0.0, low_open: bool = False):
    """A float or a length-M sequence/tensor as a float tensor of shape [M]."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        values = value.detach().double().flatten().tolist()
    elif isinstance(value, Sequence | _np().ndarray) and not isinstance(value, str):
        values = list(value)
    else:
        values = [value] * m
    if len(values) != m:
        raise ValueError(f"{name} must be one number or one per model ({m}); got {len(values)} values")
    checked = [_checks.real(f"{name}[{i}]", v, low=low, low_open=low_open) for i, v in enumerate(values)]
    return torch.tensor(checked, dtype=torch.float32)


def _np():
    import numpy as np

    return np


#: ``decoupled`` argument -> the name of the decay in :data:`decaylab.reference.DECAYS`.
#: The kinds of decay the batched engine runs (the reference's names, :data:`decaylab.reference.DECAYS`):
#: at most one of the weight decays, with or without an L1 penalty.
WEIGHT_DECAYS = ("l2", "decoupled", "decoupled_paper")


def _flags(name: str, value, n: int, *, default: bool) -> list[bool]:
    """One True/False per parameter (``n`` of them); ``None`` means ``default`` for all."""
    if value is None:
        return [default] * n
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != n:
        raise ValueError(f"{name} must hold one True/False per parameter ({n}); got {value!r}")
    return [_checks.flag(f"{name}[{i}]", v) for i, v in enumerate(value)]


class BatchedOptimizer:
    """SGD, SGD with momentum or Adam over stacked parameters, with per-model hyperparameters.

    It speaks the reference's vocabulary (:mod:`decaylab.reference`): the same ``optimizer``,
    ``decay`` and ``coeff``, so a batched run and its reference check are written alike.
    Every parameter in ``params`` has the model index as its first dimension (size ``M``).
    ``lr`` and every coefficient are one number for all models or one per model. The update
    of model ``i`` is what :mod:`decaylab.reference` computes, and what ``torch.optim`` does
    where it has the method:

    * ``optimizer="sgd"``: ``torch.optim.SGD(lr, weight_decay)``;
    * ``optimizer="momentum"``: ``torch.optim.SGD(lr, momentum, weight_decay)`` (no dampening,
      no Nesterov); ``momentum`` defaults to 0.9, as in the reference;
    * ``optimizer="adam"``: ``torch.optim.Adam(lr, betas, eps, weight_decay)``; ``betas`` and
      ``eps`` default to torch's. A hyperparameter the optimizer does not use is refused.

    ``decay`` with coefficient ``coeff``:

    * ``"none"`` (``coeff`` must be 0);
    * ``"l2"``: a coupled L2 penalty, ``g <- g + coeff * w`` (torch's ``weight_decay``);
    * ``"decoupled"``: the frameworks' decoupled decay, ``w <- w * (1 - lr_t * coeff)`` before
      the step: ``torch.optim.AdamW`` with Adam, and SGDW written the same way with SGD;
    * ``"decoupled_paper"``: the AdamW paper's decoupled decay (its SGDW and AdamW),
      ``w <- w * (1 - eta_t * coeff)`` with ``eta_t`` the schedule multiplier, not multiplied
      by the base learning rate: ``coeff`` is then the paper's ``lambda``;
    * ``"l1"``: an L1 penalty ``coeff * sum(|w|)``: ``l1_mode="subgradient"`` adds
      ``coeff * sign(w)`` to the gradient (what autograd gives); ``l1_mode="proximal"``
      instead soft-thresholds after the step, ``w <- sign(w) * max(|w| - lr_t*coeff, 0)``,
      which sets small weights exactly to zero;
    * a dict for an L1 penalty beside a weight decay, as the reference takes it:
      ``decay={"decoupled": 0.1, "l1": 1e-4}`` (then ``coeff`` is left out).

    ``step(multiplier=eta_t)`` takes the schedule multiplier (default 1): the step's
    learning rate is ``lr_t = eta_t * lr``. ``decay_mask`` (one bool per parameter, e.g.
    :meth:`StackedMLP.mask`) says which parameters are decayed at all (e.g. not the
    biases, or not the norms' gains); default: all.

    ``corrected_mask`` (one bool per parameter; default: none) marks the parameters whose
    decoupled decay is AdamC's corrected decay (``corrected=True`` of the reference): it is
    scaled once more by the schedule multiplier, ``w <- w * (1 - eta_t * lr_t * coeff)``
    with ``"decoupled"`` (timm's ``corrected_weight_decay``, ``lr_t**2 / max_lr * coeff``
    with ``max_lr = lr``) and ``w <- w * (1 - eta_t**2 * coeff)`` with ``"decoupled_paper"``;
    AdamC applies it to the weights of layers followed by a normalization layer. A
    ``True`` entry needs a decoupled decay and a decayed parameter (``decay_mask`` True
    there); otherwise ``ValueError``.
    """

    OPTIMIZERS = OPTIMIZERS
    L1_MODES = ("subgradient", "proximal")

    def __init__(
        self,
        params: Sequence,
        *,
        optimizer: str,
        lr,
        decay="none",
        coeff=0.0,
        momentum: float | None = None,
        betas: tuple[float, float] | None = None,
        eps: float | None = None,
        l1_mode: str = "subgradient",
        decay_mask: Sequence[bool] | None = None,
        corrected_mask: Sequence[bool] | None = None,
    ):
        torch = _torch()
        params = list(params)
        if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
            raise TypeError("params must be a non-empty list of tensors that require grad")
        m = params[0].shape[0]
        if any(p.dim() < 2 or p.shape[0] != m for p in params):
            raise ValueError(f"every parameter must have the model index as its first dimension (size {m})")
        self.params, self.n_models = params, m
        self.optimizer = _checks.one_of("optimizer", optimizer, OPTIMIZERS)
        self.kind = "adam" if self.optimizer == "adam" else "sgd"  # the update's form
        self.l1_mode = _checks.one_of("l1_mode", l1_mode, self.L1_MODES)
        self.lr = _per_model("lr", lr, m, low=0.0, low_open=True)
        coeffs = _decay_coefficients(decay, coeff)
        forms = [k for k in coeffs if k in WEIGHT_DECAYS]
        self.decay_form = forms[0] if forms else "l2"
        self.weight_decay = _per_model("coeff", coeffs[forms[0]], m) if forms else _per_model("coeff", 0.0, m)
        self.l1 = _per_model("coeff", coeffs.get("l1", 0.0), m)
        # Hyperparameters the chosen optimizer does not use would be silently ignored: refuse them.
        if self.optimizer == "adam":
            if momentum is not None:
                raise _checks.unused("momentum", "optimizer='adam'", "Adam's momentum is betas[0]")
            self.momentum = 0.0
            self.beta1, self.beta2 = _checks.betas(ONLY_FOR["betas"][1] if betas is None else betas)
            self.eps = _checks.real("eps", ONLY_FOR["eps"][1] if eps is None else eps, low=0.0, low_open=True)
        else:
            for name, value in (("betas", betas), ("eps", eps)):
                if value is not None:
                    raise _checks.unused(name, f"optimizer={self.optimizer!r}", "only by 'adam'")
            if self.optimizer == "sgd":
                if momentum not in (None, 0, 0.0):
                    raise _checks.unused("momentum", "optimizer='sgd'", "only by 'momentum'")
                self.momentum = 0.0
            else:
                default = ONLY_FOR["momentum"][1]
                self.momentum = _checks.real(
                    "momentum", default if momentum is None else momentum, low=0.0, high=1.0, high_open=True
                )
            self.beta1 = self.beta2 = self.eps = None
        self.decay_mask = _flags("decay_mask", decay_mask, len(params), default=True)
        self.corrected_mask = _flags("corrected_mask", corrected_mask, len(params), default=False)
        if any(self.corrected_mask) and self.decay_form == "l2":
            raise ValueError(
                "corrected_mask needs a decoupled decay (decay 'decoupled' or 'decoupled_paper'), "
                f"the decay it scales; got decay={decay!r}"
            )
        for i, (c, d) in enumerate(zip(self.corrected_mask, self.decay_mask, strict=True)):
            if c and not d:
                raise ValueError(
                    f"corrected_mask[{i}] is True but decay_mask[{i}] is False: parameter {i} is not decayed"
                )
        if not any(self.decay_mask) and (bool(self.weight_decay.any()) or bool(self.l1.any())):
            # a coefficient no parameter receives: refuse, as the reference does
            raise _checks.unused("coeff", "decay_mask with every entry False", "no parameter is decayed")
        self.t = 0
        self.state: list[dict] = [{} for _ in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _columns(self, shape_rest: int, decayed: bool = True, corrected: bool = False) -> dict:
        """Per-model hyperparameters as ``[M, 1, ...]`` columns that broadcast over a parameter."""
        view = (-1,) + (1,) * shape_rest
        lr = self.lr.view(view)
        wd = self.weight_decay.view(view) if decayed and bool(self.weight_decay.any()) else None
        l1 = self.l1.view(view) if decayed and bool(self.l1.any()) else None
        if corrected:
            return _with_rate({"lr": lr, "wd": None, "wd_corrected": wd, "l1": l1}, self.decay_form)
        return _with_rate({"lr": lr, "wd": wd, "l1": l1}, self.decay_form)

    def step(self, multiplier: float = 1.0) -> None:
        """Update every parameter from its ``.grad``; ``multiplier`` is the schedule multiplier ``eta_t``."""
        torch = _torch()
        multiplier = _checks.real("multiplier", multiplier, low=0.0)
        self.t += 1
        with torch.no_grad():
            for p, state, decayed, corrected in zip(
                self.params, self.state, self.decay_mask, self.corrected_mask, strict=True
            ):
                if p.grad is None:
                    continue
                cols = self._columns(p.dim() - 1, decayed, corrected)
                _update(self, p, p.grad.clone(), state, cols, self.t, multiplier=multiplier)


def _decay_coefficients(decay, coeff) -> dict:
    """``{kind: coefficient}`` from the reference's ``decay`` and ``coeff`` (a coefficient may
    be a per-model sequence): "none" gives ``{}``; a dict holds at most one weight decay and
    an ``"l1"``."""
    if isinstance(decay, dict):
        if not (isinstance(coeff, int | float) and coeff == 0):
            raise ValueError(
                f"coeff must be left out when decay is a dict (the dict holds the coefficients); got {coeff!r}"
            )
        unknown = [k for k in decay if k not in DECAYS or k == "none"]
        if unknown or not decay:
            raise ValueError(
                f"decay's keys must be among {[k for k in DECAYS if k != 'none']}; got {list(decay)}"
            )
        if sum(k in WEIGHT_DECAYS for k in decay) > 1:
            raise ValueError(f"decay may hold one of {list(WEIGHT_DECAYS)} (beside 'l1'); got {list(decay)}")
        return dict(decay)
    decay = _checks.one_of("decay", decay, DECAYS)
    if decay == "none":
        if not _all_zero(coeff):
            raise ValueError(
                f"coeff must be 0 with decay='none' (the coefficient would be ignored); got {coeff!r}"
            )
        return {}
    return {decay: coeff}


def _all_zero(value) -> bool:
    if isinstance(value, str | bytes):  # NumPy would read "0" as 0.0
        return False
    try:
        import numpy as np

        return bool(np.all(np.asarray(value, dtype=float) == 0))
    except (TypeError, ValueError):
        return False


def _with_rate(cols: dict, decay_form: str) -> dict:
    """Add the decoupled decay per unit of schedule multiplier, ``rate``: a step shrinks the
    weights by the factor ``1 - eta_t * rate``, with ``rate = lr * wd`` (frameworks) or
    ``rate = wd`` (paper); ``None`` without decoupled decay. ``rate_corrected`` is the same
    from ``wd_corrected`` (the coefficients of the parameters with AdamC's corrected decay,
    if any), for the factor ``1 - eta_t**2 * rate_corrected``."""
    for wd_key, rate_key in (("wd", "rate"), ("wd_corrected", "rate_corrected")):
        wd = cols.get(wd_key)
        if wd is None or decay_form == "l2":
            cols[rate_key] = None
        elif decay_form == "decoupled":
            cols[rate_key] = cols["lr"] * wd
        else:
            cols[rate_key] = wd
    return cols


def _update(
    opt: BatchedOptimizer, p, g, state: dict, cols: dict, t: int, *, multiplier: float = 1.0, scratch=None
) -> None:
    """One update of ``p`` in place, with the schedule multiplier ``eta_t = multiplier``.
    ``cols`` holds ``lr``, ``wd``, ``l1`` and ``rate`` (see :func:`_with_rate`), each
    ``None`` (not used) or a tensor that broadcasts over ``p``.

    The same code serves one parameter ``[M, ...]`` (``BatchedOptimizer.step``) and the
    flat buffer of all parameters of all models (:func:`fit_classifiers`). ``g`` is
    overwritten (the penalties are added to it in place); ``scratch``, a tensor shaped
    like ``p``, saves Adam's denominator an allocation.
    """
    torch = _torch()
    lr, wd, l1 = cols["lr"], cols["wd"], cols["l1"]
    if wd is not None and opt.decay_form == "l2":
        g.addcmul_(wd, p)
    if cols["rate"] is not None:  # w <- (1 - eta_t * rate) * w
        p.addcmul_(cols["rate"], p, value=-multiplier)
    if cols["rate_corrected"] is not None:  # AdamC: w <- (1 - eta_t**2 * rate) * w
        p.addcmul_(cols["rate_corrected"], p, value=-multiplier * multiplier)
    if l1 is not None and opt.l1_mode == "subgradient":
        g.addcmul_(l1, torch.sign(p))
    if opt.kind == "sgd":
        if opt.momentum:
            buf = state.get("buf")
            buf = g.clone() if buf is None else buf.mul_(opt.momentum).add_(g)
            state["buf"] = buf
            g = buf
        p.addcmul_(lr, g, value=-multiplier)
    else:
        if "m" not in state:
            state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
        m, v = state["m"], state["v"]
        m.lerp_(g, 1 - opt.beta1)
        v.mul_(opt.beta2).addcmul_(g, g, value=1 - opt.beta2)
        bias1 = 1 - opt.beta1**t
        bias2 = 1 - opt.beta2**t
        # torch.optim.Adam: p <- p - (lr / bias1) * m / (sqrt(v) / sqrt(bias2) + eps)
        denom = torch.sqrt(v, out=scratch) if scratch is not None else v.sqrt()
        denom.div_(bias2**0.5).add_(opt.eps)
        p.addcmul_(torch.div(m, denom, out=denom), lr, value=-multiplier / bias1)
    if l1 is not None and opt.l1_mode == "proximal":
        p.copy_(torch.sign(p) * torch.clamp(p.abs() - multiplier * lr * l1, min=0.0))


def _train_group(flat: _Flat, order_seeds: list, run: dict) -> tuple[dict, dict]:
    """Train one group of models (:class:`_Flat`) for ``run["epochs"]`` epochs; return its
    optimizer state (flat buffers) and its accuracies (one list per evaluation set).

    Runs in the calling thread with denormals flushed and autograd off (both are per-thread
    settings, so a worker thread sets them itself).
    """
    torch = _torch()
    x, onehot, sizes, batch_size = run["x"], run["onehot"], run["sizes"], run["batch_size"]
    schedule, t0, optimizer = run["schedule"], run["t0"], flat.opt
    n = x.shape[0]
    state = dict(flat.state)
    acc = {name: [] for name in run["eval_sets"]}
    with _flush_denormals(), torch.no_grad():
        ws = _Workspace(flat, sizes, batch_size)
        distinct, group = _seed_groups(order_seeds)
        t = t0
        for epoch, perm in enumerate(_orders_by_seed(distinct, n, run["epochs"]), start=1):
            perm = perm.index_select(0, group)  # one data order per model
            for k in range(0, n - batch_size + 1, batch_size):
                idx = perm[:, k : k + batch_size].reshape(-1)
                torch.index_select(x, 0, idx, out=ws.x.view(-1, sizes[0]))
                torch.index_select(onehot, 0, idx, out=ws.onehot.view(-1, sizes[-1]))
                _forward_backward(flat, ws)
                multiplier = 1.0 if schedule is None else schedule[t - t0]
                t += 1
                _update(
                    optimizer, flat.p, flat.g, state, flat.cols, t, multiplier=multiplier, scratch=ws.scratch
                )
            if epoch % run["eval_every"] == 0 or epoch == run["epochs"]:
                for name, (xe, ye) in run["eval_sets"].items():
                    acc[name].append(flat.accuracy(xe, ye))
    return state, acc


def _group_slices(m: int, workers: int) -> list[slice]:
    """Split ``m`` models into groups of at most :data:`_GROUP` (sizes differing by at most
    one), their number a multiple of ``workers`` where there are enough models, so that
    every worker thread gets the same share."""
    n_groups = -(-m // _GROUP)
    n_groups = min(m, -(-n_groups // workers) * workers)
    bounds = [i * m // n_groups for i in range(n_groups + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def _in_threads(jobs: list, workers: int) -> list:
    """``[job() for job in jobs]``, computed by ``workers`` threads that each run one
    job at a time with one torch thread.

    The groups of a stack are independent, so two single-threaded groups side by side
    replace one group on two threads: no thread waits for the other after each of the
    step's many small operations, and a core taken by another process slows the run
    down by its share instead of stalling every operation. The per-model results are
    the same bits (a group's products are computed model by model either way). torch's
    thread count is restored afterwards; with ``workers == 1`` the jobs run here.
    """
    if workers <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    torch = _torch()
    results: list = [None] * len(jobs)
    errors: list = []
    todo = list(range(len(jobs)))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if not todo or errors:
                    return
                i = todo.pop(0)
            try:
                results[i] = jobs[i]()
            except BaseException as exc:  # re-raised in the calling thread
                errors.append(exc)
                return

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(jobs)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        torch.set_num_threads(before)
    if errors:
        raise errors[0]
    return results


def cosine_multipliers(steps: int):
    """Cosine annealing from 1 to 0 over ``steps`` steps: ``eta_t = (1 + cos(pi * t / steps)) / 2``.

    The schedule multiplier of the AdamW paper's runs (SGDR without restarts), one per step
    ``t = 0 .. steps - 1``, as a float64 NumPy array (for :func:`fit_classifiers`' ``schedule``).

    >>> cosine_multipliers(4).round(3).tolist()
    [1.0, 0.854, 0.5, 0.146]
    """
    np = _np()
    steps = _checks.integer("steps", steps, low=1)
    return 0.5 * (1 + np.cos(np.pi * np.arange(steps) / steps))


def minibatch_orders(order_seeds: Sequence[int], n: int, epochs: int):
    """Yield, epoch by epoch, one permutation of ``range(n)`` per model, as a ``[M, n]`` tensor.

    Models with the same seed see the same minibatches in the same order (common random
    numbers: a sweep then compares settings, not data orders). Each distinct seed has its
    own ``torch.Generator``, so the global RNG is not touched. The arguments are checked when
    it is called, not at the first epoch.
    """
    if (
        isinstance(order_seeds, str)
        or not isinstance(order_seeds, Sequence | _np().ndarray)
        or len(order_seeds) == 0
    ):
        raise TypeError(
            f"order_seeds must be a non-empty list of seeds (whole numbers >= 0), one per model; got {order_seeds!r}"
        )
    n = _checks.integer("n", n, low=1)
    epochs = _checks.integer("epochs", epochs, low=1)
    distinct, group = _seed_groups(order_seeds)
    return (perms.index_select(0, group) for perms in _orders_by_seed(distinct, n, epochs))


def _seed_groups(order_seeds: Sequence[int]):
    """The distinct seeds, and for each model the position of its seed among them."""
    torch = _torch()
    seeds = [_checks.integer(f"order_seeds[{i}]", s, low=0) for i, s in enumerate(order_seeds)]
    distinct = sorted(set(seeds))
    where = {s: i for i, s in enumerate(distinct)}
    return distinct, torch.tensor([where[s] for s in seeds], dtype=torch.long)


def _orders_by_seed(distinct: list[int], n: int, epochs: int):
    """Yield, epoch by epoch, one permutation per distinct seed, as a ``[S, n]`` tensor."""
    torch = _torch()
    gens = [torch.Generator().manual_seed(s) for s in distinct]
    for _ in range(epochs):
        yield torch.stack([torch.randperm(n, generator=g) for g in gens])


@contextlib.contextmanager
def _flush_denormals():
    torch = _torch()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _checked_data(name: str, x, y, n_in: int, n_classes: int):
    """``(x, y)`` as float32 ``[n, n_in]`` and int64 ``[n]`` tensors, refusing bad values."""
    torch = _torch()
    np = _np()
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(_checks.array(f"{name} x", x))
    if x.dim() != 2 or x.shape[1] != n_in:
        raise ValueError(f"{name} x must have shape [n, {n_in}]; got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} x must hold floating-point numbers; got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} x must hold only finite numbers (no NaN or inf)")
    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(np.asarray(y))
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"{name} y must hold integer class labels; got dtype {y.dtype}")
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"{name} y must have shape [{x.shape[0]}] (one label per row of x); got {tuple(y.shape)}"
        )
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(
            f"{name} y must hold labels 0..{n_classes - 1} (the networks have {n_classes} outputs); "
            f"got labels from {int(y.min())} to {int(y.max())}"
        )
    return x.float().contiguous(), y.long()


class _Flat:
    """The parameters of a group of models (``models``, a slice of the stack) in one flat
    buffer, parameter by parameter.

    Parameter ``k`` occupies a contiguous block holding ``[m, *shape_k]``, so its view is
    a contiguous tensor (the batched matrix products write their gradients straight into
    it). The gradients and the optimizer state have the same layout, and the per-model
    hyperparameters are expanded to one value per element once, before training.
    """

    def __init__(self, stack: StackedMLP, opt: BatchedOptimizer, models: slice, dtype=None):
        torch = _torch()
        self.models, params = models, stack.parameters()
        self.opt, self.dtype = opt, torch.float32 if dtype is None else dtype
        self.m = len(range(stack.n_models)[models])
        self.norm, self.activation = stack.norm, stack.activation
        # layer k's parameters as indices into params: (weight, bias, norm gain, norm bias)
        kinds, self.layout = stack.parameter_kinds(), []
        for i, kind in enumerate(kinds):
            if kind == "weight":
                self.layout.append([i, i + 1, None, None])
            elif kind == "norm_weight":
                self.layout[-1][2:] = [i, i + 1]
        # BatchNorm's running statistics of the group's models, written back by unpack_into
        self.running = [
            self.pack([rm, rv], split=True)
            for rm, rv in zip(stack.running_means, stack.running_vars, strict=True)
        ]
        self.shapes = [tuple(p.shape[1:]) for p in params]
        sizes = [self.m * math.prod(s) for s in self.shapes]
        self.offsets = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        self.p = self.pack(params)
        self.g = torch.zeros_like(self.p)
        self.state = {}
        for key in ("buf", "m", "v"):
            if all(key in s for s in opt.state):
                self.state[key] = self.pack([s[key] for s in opt.state])
            elif any(key in s for s in opt.state):
                raise ValueError(f"optimizer state {key!r} exists for some parameters only")
        lr, wd, l1 = (v[models] for v in (opt.lr, opt.weight_decay, opt.l1))
        cols = {"lr": self.expand(lr)}
        plain = [d and not c for d, c in zip(opt.decay_mask, opt.corrected_mask, strict=True)]
        for key, values, mask in (
            ("wd", wd, plain),
            ("l1", l1, opt.decay_mask),
            ("wd_corrected", wd, opt.corrected_mask),
        ):
            masked = [values if d else torch.zeros_like(values) for d in mask]
            cols[key] = self.expand(masked) if any(bool(v.any()) for v in masked) else None
        self.cols = _with_rate(cols, opt.decay_form)

    def pack(self, tensors, split: bool = False):
        """The group's slice of each full ``[M, ...]`` tensor, flattened into one buffer
        (``split=True``: each a copy of its own)."""
        torch = _torch()
        if split:
            return [t.detach()[self.models].to(self.dtype, copy=True) for t in tensors]
        return torch.cat([t.detach()[self.models].reshape(-1).to(self.dtype) for t in tensors]).contiguous()

    def expand(self, per_model):
        """One value per model (or a list of such, one per parameter) as one value per element."""
        torch = _torch()
        if not isinstance(per_model, list):
            per_model = [per_model] * len(self.shapes)
        return torch.cat(
            [
                v.view(-1, 1).expand(self.m, math.prod(s)).reshape(-1)
                for v, s in zip(per_model, self.shapes, strict=True)
            ]
        )

    def views(self, flat):
        """Per-parameter views ``[M, *shape]`` into a flat buffer (contiguous, no copy)."""
        return [
            flat[a:b].view(self.m, *s)
            for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes, strict=True)
        ]

    def unpack_into(self, stack: StackedMLP, opt: BatchedOptimizer, state: dict) -> None:
        """Write the group's parameters and optimizer state back into the stack and the optimizer."""
        torch = _torch()
        with torch.no_grad():
            for p, v in zip(stack.parameters(), self.views(self.p), strict=True):
                p[self.models] = v
            for key, flat in state.items():
                for s, p, v in zip(opt.state, stack.parameters(), self.views(flat), strict=True):
                    if key not in s:
                        s[key] = torch.zeros_like(p)
                    s[key][self.models] = v
            for rm, rv, (m, v) in zip(stack.running_means, stack.running_vars, self.running, strict=True):
                rm[self.models], rv[self.models] = m, v

    def accuracy(self, x, y):
        """Each model's accuracy on ``(x, y)``, as :class:`StackedMLP` computes its outputs
        (in evaluation mode: BatchNorm uses the running statistics)."""
        torch = _torch()
        ps = self.views(self.p)
        h = x.to(self.dtype).unsqueeze(0).expand(self.m, -1, -1)
        for k, (iw, ib, ig, ish) in enumerate(self.layout):
            h = torch.baddbmm(ps[ib], h, ps[iw])
            if k < len(self.layout) - 1:
                if self.norm == "layer":
                    mean = h.mean(-1, keepdim=True)
                    h = h - mean
                    rstd = torch.rsqrt((h * h).mean(-1, keepdim=True) + NORM_EPS)
                    h = torch.addcmul(ps[ish], h * rstd, ps[ig])
                elif self.norm == "batch":
                    mean, var = self.running[k]
                    h = torch.addcmul(ps[ish], (h - mean) * torch.rsqrt(var + NORM_EPS), ps[ig])
                h = torch.relu(h) if self.activation == "relu" else torch.tanh(h)
        return (h.argmax(-1) == y).float().mean(1).numpy()


#: :func:`fit_classifiers` trains the models of a stack in groups of at most this many
#: (torch's thread count of groups side by side, one thread each): a group's activations and
#: parameters then stay in the CPU's caches (measured: 320 models of a 40-48-48-10 MLP,
#: minibatches of 200, train about a quarter faster in groups of 80 than all at once, and
#: about a tenth faster again in groups of 40 on one thread each). The grouping does not
#: change a bit of the results: the models do not interact.
_GROUP = 40

#: Layers with fewer outputs than this (the classes) are computed as ``W^T h^T``: batched
#: matrix products with a narrow right-hand side run several times slower on the CPU than
#: the same products transposed (measured: 64 models, 100 x 64 @ 64 x 10, 0.83 ms vs 0.11 ms).
_NARROW = 32


class _Workspace:
    """The buffers one training step writes into, allocated once per run.

    Allocating the activations and gradients afresh at every step costs more than the
    arithmetic at these sizes (each new megabyte-sized buffer is fresh memory, paid for
    in page faults), so every product writes into a buffer of this workspace.
    """

    def __init__(self, flat: _Flat, sizes: list[int], batch: int):
        torch = _torch()
        m, kw = flat.m, {"dtype": flat.dtype}
        self.batch = batch
        self.x = torch.empty(m, batch, sizes[0], **kw)
        self.onehot = torch.empty(m, batch, sizes[-1], **kw)
        # activations after each hidden layer, and the gradient with respect to them
        self.h = [torch.empty(m, batch, n, **kw) for n in sizes[1:-1]]
        self.dh = [torch.empty(m, batch, n, **kw) for n in sizes[1:-1]]
        # with a norm: each hidden layer's normalized pre-activations, their 1/std, and scratch
        norm = flat.norm is not None
        self.xhat = [torch.empty(m, batch, n, **kw) for n in sizes[1:-1]] if norm else []
        self.tmp = [torch.empty(m, batch, n, **kw) for n in sizes[1:-1]] if norm else []
        self.rstd: list = [None] * (len(sizes) - 2)
        # the logits, stored transposed ([M, classes, batch]) when the layer is narrow
        self.narrow = sizes[-1] < _NARROW
        shape = (m, sizes[-1], batch) if self.narrow else (m, batch, sizes[-1])
        self.logits, self.probs = torch.empty(shape, **kw), torch.empty(shape, **kw)
        self.last_grad = torch.empty(m, sizes[-1], sizes[-2], **kw) if self.narrow else None
        # scratch for the optimizer update (Adam's denominator), one value per parameter
        self.scratch = torch.empty_like(flat.p)
        # per-parameter views of the parameters and gradients, made once
        self.ps, self.gs = flat.views(flat.p), flat.views(flat.g)


def _norm_forward(flat: _Flat, ws: _Workspace, k: int, out) -> None:
    """Hidden layer ``k``'s normalization, training mode: ``ws.xhat[k]`` holds the linear
    layer's output ``z`` and is normalized in place (mean 0, variance 1 over the features
    with ``norm="layer"``, over the minibatch with ``"batch"``); ``out`` receives
    ``xhat * gain + bias``; ``ws.rstd[k]`` keeps ``1 / sqrt(var + eps)`` for the backward
    pass. BatchNorm's running statistics are updated as torch updates them."""
    torch = _torch()
    _, _, ig, ish = flat.layout[k]
    xhat, tmp = ws.xhat[k], ws.tmp[k]
    dim = -1 if flat.norm == "layer" else 1
    mean = xhat.mean(dim, keepdim=True)
    xhat.sub_(mean)
    var = torch.mul(xhat, xhat, out=tmp).mean(dim, keepdim=True)  # biased
    if flat.norm == "batch":  # running = (1 - momentum) * running + momentum * batch (unbiased var)
        running_mean, running_var = flat.running[k]
        running_mean.mul_(1 - BATCH_NORM_MOMENTUM).add_(mean, alpha=BATCH_NORM_MOMENTUM)
        running_var.mul_(1 - BATCH_NORM_MOMENTUM).add_(
            var, alpha=BATCH_NORM_MOMENTUM * ws.batch / (ws.batch - 1)
        )
    ws.rstd[k] = rstd = var.add_(NORM_EPS).rsqrt_()
    xhat.mul_(rstd)
    torch.addcmul(ws.ps[ish], xhat, ws.ps[ig], out=out)


def _norm_backward(flat: _Flat, ws: _Workspace, k: int, d) -> None:
    """Backward through hidden layer ``k``'s normalization: ``d`` holds the gradient with
    respect to the norm's output and becomes, in place, the gradient with respect to its
    input ``z``; the gain's and bias's gradients go into ``flat.g``.

    With ``xhat = (z - mean) * rstd`` and ``u = gain * xhat + bias`` (means over the
    normalized dimension, ``n`` elements): ``dz = rstd * (dxhat - mean(dxhat) - xhat *
    mean(dxhat * xhat))`` where ``dxhat = gain * du``."""
    torch = _torch()
    _, _, ig, ish = flat.layout[k]
    xhat, tmp, rstd = ws.xhat[k], ws.tmp[k], ws.rstd[k]
    dim = -1 if flat.norm == "layer" else 1
    torch.sum(torch.mul(d, xhat, out=tmp), dim=1, keepdim=True, out=ws.gs[ig])
    torch.sum(d, dim=1, keepdim=True, out=ws.gs[ish])
    d.mul_(ws.ps[ig])  # dxhat
    mean_dx_xhat = torch.mul(d, xhat, out=tmp).mean(dim, keepdim=True)
    d.sub_(d.mean(dim, keepdim=True)).addcmul_(xhat, mean_dx_xhat, value=-1).mul_(rstd)


def _forward_backward(flat: _Flat, ws: _Workspace) -> None:
    """Gradient of ``sum_i mean_b cross_entropy(model_i(xb_i))`` into ``flat.g``, by hand.

    The minibatch is ``ws.x`` (``[M, B, in]``) with labels ``ws.onehot``; every
    intermediate result is written into a buffer of ``ws``.
    """
    torch = _torch()
    ps, gs, layout, batch, act = ws.ps, ws.gs, flat.layout, ws.batch, flat.activation
    hs = [ws.x, *ws.h]  # the input of each layer
    for k in range(len(layout) - 1):
        iw, ib = layout[k][:2]
        if flat.norm is None:
            torch.baddbmm(ps[ib], hs[k], ps[iw], out=hs[k + 1])
        else:
            torch.baddbmm(ps[ib], hs[k], ps[iw], out=ws.xhat[k])
            _norm_forward(flat, ws, k, hs[k + 1])
        torch.relu_(hs[k + 1]) if act == "relu" else torch.tanh_(hs[k + 1])
    iw, ib = layout[-1][:2]
    w, b, h = ps[iw], ps[ib], hs[-1]
    # d(mean cross-entropy)/d logits = (softmax - onehot) / B
    if ws.narrow:  # logits^T = W^T h^T + b^T, [M, classes, B]
        torch.baddbmm(b.transpose(1, 2), w.transpose(1, 2), h.transpose(1, 2), out=ws.logits)
        d_t = torch.softmax(ws.logits, dim=1, out=ws.probs)
        d_t.sub_(ws.onehot.transpose(1, 2)).div_(batch)
        d = d_t.transpose(1, 2)  # [M, B, classes], a view
        gs[iw].copy_(torch.bmm(d_t, h, out=ws.last_grad).transpose(1, 2))
        torch.sum(d_t, dim=2, out=gs[ib].view(flat.m, -1))
    else:
        torch.baddbmm(b, h, w, out=ws.logits)
        d = torch.softmax(ws.logits, dim=-1, out=ws.probs)
        d.sub_(ws.onehot).div_(batch)
        torch.bmm(h.transpose(1, 2), d, out=gs[iw])
        torch.sum(d, dim=1, keepdim=True, out=gs[ib])
    for k in range(len(layout) - 2, -1, -1):
        # gradient with respect to the output of layer k, through the layer above it
        dh = torch.bmm(d, ps[layout[k + 1][0]].transpose(1, 2), out=ws.dh[k])
        if act == "relu":
            torch.ops.aten.threshold_backward.grad_input(dh, hs[k + 1], 0, grad_input=dh)
        else:
            dh.mul_(1 - hs[k + 1] * hs[k + 1])
        if flat.norm is not None:
            _norm_backward(flat, ws, k, dh)
        d = dh
        iw, ib = layout[k][:2]
        torch.bmm(hs[k].transpose(1, 2), d, out=gs[iw])
        torch.sum(d, dim=1, keepdim=True, out=gs[ib])


def fit_classifiers(
    stack: StackedMLP,
    optimizer: BatchedOptimizer,
    x,
    y,
    *,
    epochs: int,
    batch_size: int,
    order_seeds: Sequence[int],
    eval_sets: dict | None = None,
    eval_every: int = 1,
    schedule=None,
) -> dict:
    """Train every model of ``stack`` with cross-entropy on minibatches; return the accuracy history.

    ``x`` ``[n, features]`` (finite floats) and ``y`` ``[n]`` (integer labels
    ``0 .. classes-1``) are the training set; ``order_seeds[i]`` is the data-order seed of
    model ``i`` (see :func:`minibatch_orders`). Each epoch visits ``n // batch_size`` full
    minibatches. Every ``eval_every`` epochs (and after the last) the accuracy of every
    model on each set of ``eval_sets`` (``{"train": (x, y), "val": (x_val, y_val)}``) is
    recorded. Returns ``{"epoch": [...], name: array [n_evals, M], ...}`` as NumPy arrays.

    ``schedule`` holds the schedule multiplier ``eta_t`` of every step (one finite number
    ``>= 0`` per step, ``epochs * (n // batch_size)`` of them, e.g. :func:`cosine_multipliers`);
    step ``t`` then uses the learning rate ``eta_t * lr``, and the decoupled decay shrinks
    by ``eta_t * lr * coeff`` (``decay="decoupled"``) or ``eta_t * coeff`` (``decay="decoupled_paper"``),
    as :meth:`BatchedOptimizer.step` does with ``multiplier=eta_t``. Default: 1 throughout.

    ``optimizer`` must update ``stack.parameters()``. The gradients are computed by hand
    (the loss is fixed), so each step is a few batched matrix products plus a few
    whole-buffer updates; the tests check the result against per-model ``torch.optim``
    loops. The stack's parameters and the optimizer's state are updated in place, so a
    second call continues the training.

    With normalization layers (``stack.norm``), training normalizes as torch's ``train()``
    mode does; with ``norm="batch"`` each step uses the minibatch's statistics and updates
    the stack's running statistics (``batch_size`` must then be at least 2, else
    ``ValueError``), and the ``eval_sets`` accuracies use the running statistics, as
    torch's ``eval()`` mode does. The stack's own ``training`` flag is not read.

    With ``torch.get_num_threads() == k > 1``, groups of models train in ``k`` worker
    threads with one torch thread each; torch's thread count is set to 1 while they run
    and restored afterwards (so do not change it from another thread meanwhile). The
    results are the same bits as on one thread.
    """
    np = _np()
    torch = _torch()
    if not isinstance(stack, StackedMLP):
        raise TypeError(f"stack must be a StackedMLP; got {type(stack).__name__}")
    if not isinstance(optimizer, BatchedOptimizer):
        raise TypeError(f"optimizer must be a BatchedOptimizer; got {type(optimizer).__name__}")
    params = stack.parameters()
    if len(optimizer.params) != len(params) or any(
        a is not b for a, b in zip(optimizer.params, params, strict=True)
    ):
        raise ValueError("optimizer must be built on stack.parameters() (the same tensors, in order)")
    epochs = _checks.integer("epochs", epochs, low=1)
    batch_size = _checks.integer("batch_size", batch_size, low=1)
    eval_every = _checks.integer("eval_every", eval_every, low=1)
    if isinstance(order_seeds, str) or not isinstance(order_seeds, Sequence | np.ndarray):
        raise TypeError("order_seeds must be a list of integers, one per model")
    if len(order_seeds) != stack.n_models:
        raise ValueError(
            f"order_seeds must hold one seed per model ({stack.n_models}); got {len(order_seeds)}"
        )
    _seed_groups(order_seeds)  # every seed checked here, named by its index in the whole list
    sizes = stack.sizes
    x, y = _checked_data("training", x, y, sizes[0], sizes[-1])
    if eval_sets is not None and not isinstance(eval_sets, dict):
        raise TypeError(f"eval_sets must be None or a dict {{name: (x, y)}}; got {type(eval_sets).__name__}")
    for name, pair in (eval_sets or {}).items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"eval_sets' names must be non-empty strings; got {name!r}")
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"eval_sets[{name!r}] must be a pair (x, y); got {type(pair).__name__}")
    eval_sets = {
        name: _checked_data(f"eval_sets[{name!r}]", *pair, sizes[0], sizes[-1])
        for name, pair in (eval_sets or {}).items()
    }
    n = x.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of training rows ({n}); got {batch_size}")
    if stack.norm == "batch" and batch_size < 2:
        raise ValueError(
            f"batch_size must be at least 2 with norm='batch' (batch statistics); got {batch_size}"
        )
    steps = epochs * (n // batch_size)
    if schedule is not None:
        schedule = _checks.array("schedule", schedule)
        if schedule.shape != (steps,):
            raise ValueError(
                f"schedule must hold one multiplier per step (epochs * (n // batch_size) = {steps}); "
                f"got shape {schedule.shape}"
            )
        if (schedule < 0).any():
            raise ValueError("schedule must hold multipliers >= 0")
        schedule = schedule.tolist()
    onehot = torch.nn.functional.one_hot(y, sizes[-1]).float()
    m = stack.n_models
    t0 = optimizer.t
    workers = min(torch.get_num_threads(), m)
    flats = [_Flat(stack, optimizer, group) for group in _group_slices(m, workers)]
    run = {
        "x": x,
        "onehot": onehot,
        "sizes": sizes,
        "epochs": epochs,
        "batch_size": batch_size,
        "eval_sets": eval_sets,
        "eval_every": eval_every,
        "schedule": schedule,
        "t0": t0,
    }
    jobs = [(lambda flat=flat: _train_group(flat, list(order_seeds[flat.models]), run)) for flat in flats]
    results = _in_threads(jobs, workers)
    for flat, (state, _) in zip(flats, results, strict=True):
        flat.unpack_into(stack, optimizer, state)
    optimizer.t = t0 + steps
    history = {"epoch": [e for e in range(1, epochs + 1) if e % eval_every == 0 or e == epochs]}
    for name in eval_sets:
        history[name] = [
            np.concatenate([acc[name][e] for _, acc in results]) for e in range(len(history["epoch"]))
        ]
    return {k: np.asarray(v) for k, v in history.items()}
