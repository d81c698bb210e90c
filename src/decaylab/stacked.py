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
of whole-buffer operations per step. It flushes denormal numbers to zero while it runs
(``torch.set_flush_denormal``): Adam's second moments of dead units decay into the
denormal range, where CPU arithmetic is many times slower.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

from . import _checks
from .reference import ONLY_FOR

__all__ = ["BatchedOptimizer", "StackedMLP", "fit_classifiers", "minibatch_orders"]

ACTIVATIONS = ("relu", "tanh")


def _torch():
    import torch

    return torch


class StackedMLP:
    """``M`` multilayer perceptrons of one architecture, evaluated as one computation.

    ``weights[k]`` has shape ``[M, in_k, out_k]`` (note: ``x @ W``, the transpose of
    ``torch.nn.Linear.weight``) and ``biases[k]`` shape ``[M, 1, out_k]``. The
    activation is applied between layers, not after the last one.
    """

    def __init__(self, weights: Sequence, biases: Sequence, activation: str = "relu"):
        torch = _torch()
        self.activation = _checks.one_of("activation", activation, ACTIVATIONS)
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

    @classmethod
    def from_modules(cls, modules: Sequence, activation: str = "relu") -> StackedMLP:
        """Stack the ``torch.nn.Linear`` layers of several modules (same architecture), in order."""
        torch = _torch()
        if isinstance(modules, torch.nn.Module) or not modules:
            raise TypeError("modules must be a non-empty list of torch.nn.Module")
        per_model = []
        for i, module in enumerate(modules):
            if not isinstance(module, torch.nn.Module):
                raise TypeError(f"modules[{i}] must be a torch.nn.Module; got {type(module).__name__}")
            linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
            if not linears or any(lin.bias is None for lin in linears):
                raise ValueError(f"modules[{i}] must contain torch.nn.Linear layers, each with a bias")
            per_model.append(linears)
        shapes = [[tuple(lin.weight.shape) for lin in linears] for linears in per_model]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"modules must share one architecture; layer shapes differ: {shapes}")
        weights = [torch.stack([m[k].weight.detach().T for m in per_model]) for k in range(len(per_model[0]))]
        biases = [
            torch.stack([m[k].bias.detach()[None, :] for m in per_model]) for k in range(len(per_model[0]))
        ]
        return cls(weights, biases, activation)

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first: ``[in, hidden..., out]``."""
        return [self.weights[0].shape[1], *(w.shape[2] for w in self.weights)]

    def parameters(self) -> list:
        """Weights and biases, layer by layer: ``[W0, b0, W1, b1, ...]``."""
        out = []
        for w, b in zip(self.weights, self.biases, strict=True):
            out += [w, b]
        return out

    def __call__(self, x):
        """``x`` of shape ``[B, in]`` (the same batch for every model) or ``[M, B, in]``; returns ``[M, B, out]``."""
        torch = _torch()
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_models, -1, -1)
        if x.dim() != 3 or x.shape[0] != self.n_models or x.shape[2] != self.weights[0].shape[1]:
            raise ValueError(
                f"x must have shape [B, {self.weights[0].shape[1]}] or [{self.n_models}, B, {self.weights[0].shape[1]}]; "
                f"got {tuple(x.shape)}"
            )
        h = x
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if k < len(self.weights) - 1:
                h = self._act(h)
        return h


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
_DECAY_FORMS = {False: "l2", True: "decoupled", "paper": "decoupled_paper"}


class BatchedOptimizer:
    """SGD (with momentum) or Adam over stacked parameters, with per-model hyperparameters.

    Every parameter in ``params`` has the model index as its first dimension (size
    ``M``). ``lr``, ``weight_decay`` and ``l1`` are one number for all models or one
    per model. The update of model ``i`` is what :mod:`decaylab.reference` computes, and
    what ``torch.optim`` does where it has the method:

    * ``kind="sgd"``: ``torch.optim.SGD(lr, momentum, weight_decay)`` (no dampening, no
      Nesterov); ``momentum`` defaults to 0 and is refused with Adam.
    * ``kind="adam"``: ``torch.optim.Adam(lr, betas, eps, weight_decay)``; ``betas`` and
      ``eps`` default to torch's and are refused with SGD.

    ``decoupled`` says what ``weight_decay`` is:

    * ``False``: a coupled L2 penalty, ``g <- g + wd * w`` (torch's ``weight_decay``);
    * ``True``: the frameworks' decoupled decay, ``w <- w * (1 - lr_t * wd)`` before the
      step: ``torch.optim.AdamW`` with Adam, and SGDW written the same way with SGD;
    * ``"paper"``: the AdamW paper's decoupled decay (its SGDW and AdamW),
      ``w <- w * (1 - eta_t * wd)`` with ``eta_t`` the schedule multiplier, not multiplied
      by the base learning rate: ``weight_decay`` is then the paper's ``lambda``.

    ``step(multiplier=eta_t)`` takes the schedule multiplier (default 1): the step's
    learning rate is ``lr_t = eta_t * lr``.

    ``l1`` adds an L1 penalty ``l1 * sum(|w|)``: ``l1_mode="subgradient"`` adds
    ``l1 * sign(w)`` to the gradient (what autograd gives); ``l1_mode="proximal"``
    instead soft-thresholds after the step, ``w <- sign(w) * max(|w| - lr_t*l1, 0)``,
    which sets small weights exactly to zero. ``decay_mask`` (one bool per parameter)
    says which parameters are decayed at all (e.g. not the biases); default: all.
    """

    KINDS = ("sgd", "adam")
    L1_MODES = ("subgradient", "proximal")

    def __init__(
        self,
        params: Sequence,
        *,
        kind: str,
        lr,
        weight_decay=0.0,
        decoupled: bool | str = False,
        momentum: float | None = None,
        betas: tuple[float, float] | None = None,
        eps: float | None = None,
        l1=0.0,
        l1_mode: str = "subgradient",
        decay_mask: Sequence[bool] | None = None,
    ):
        torch = _torch()
        params = list(params)
        if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
            raise TypeError("params must be a non-empty list of tensors that require grad")
        m = params[0].shape[0]
        if any(p.dim() < 2 or p.shape[0] != m for p in params):
            raise ValueError(f"every parameter must have the model index as its first dimension (size {m})")
        self.params, self.n_models = params, m
        self.kind = _checks.one_of("kind", kind, self.KINDS)
        self.l1_mode = _checks.one_of("l1_mode", l1_mode, self.L1_MODES)
        self.lr = _per_model("lr", lr, m, low=0.0, low_open=True)
        self.weight_decay = _per_model("weight_decay", weight_decay, m)
        self.l1 = _per_model("l1", l1, m)
        if isinstance(decoupled, str):
            if decoupled != "paper":
                raise ValueError(f"decoupled must be False, True or 'paper'; got {decoupled!r}")
        else:
            decoupled = _checks.flag("decoupled", decoupled)
        self.decoupled = decoupled
        self.decay_form = _DECAY_FORMS[decoupled]
        # Hyperparameters the other optimizer uses would be silently ignored: refuse them.
        if self.kind == "adam":
            if momentum is not None:
                raise ValueError(
                    "momentum is not used by kind='adam' (Adam's momentum is betas[0]); leave it out"
                )
            self.momentum = 0.0
            self.beta1, self.beta2 = _checks.betas(ONLY_FOR["betas"][1] if betas is None else betas)
            self.eps = _checks.real("eps", ONLY_FOR["eps"][1] if eps is None else eps, low=0.0, low_open=True)
        else:
            for name, value in (("betas", betas), ("eps", eps)):
                if value is not None:
                    raise ValueError(f"{name} is not used by kind='sgd' (only by 'adam'); leave it out")
            self.momentum = 0.0 if momentum is None else momentum
            self.momentum = _checks.real("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
            self.beta1 = self.beta2 = self.eps = None
        if decay_mask is None:
            decay_mask = [True] * len(params)
        if len(decay_mask) != len(params) or not all(isinstance(d, bool | _np().bool_) for d in decay_mask):
            raise ValueError(
                f"decay_mask must hold one True/False per parameter ({len(params)}); got {decay_mask!r}"
            )
        self.decay_mask = [bool(d) for d in decay_mask]
        self.t = 0
        self.state: list[dict] = [{} for _ in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _columns(self, shape_rest: int, multiplier: float, decayed: bool = True) -> dict:
        """Per-model hyperparameters as ``[M, 1, ...]`` columns that broadcast over a parameter."""
        view = (-1,) + (1,) * shape_rest
        lr = (self.lr * multiplier).view(view)
        wd = self.weight_decay.view(view) if decayed and bool(self.weight_decay.any()) else None
        l1 = self.l1.view(view) if decayed and bool(self.l1.any()) else None
        return _with_shrink({"lr": lr, "wd": wd, "l1": l1}, self.decay_form, multiplier)

    def step(self, multiplier: float = 1.0) -> None:
        """Update every parameter from its ``.grad``; ``multiplier`` is the schedule multiplier ``eta_t``."""
        torch = _torch()
        multiplier = _checks.real("multiplier", multiplier, low=0.0)
        self.t += 1
        with torch.no_grad():
            for p, state, decayed in zip(self.params, self.state, self.decay_mask, strict=True):
                if p.grad is None:
                    continue
                cols = self._columns(p.dim() - 1, multiplier, decayed)
                _update(self, p, p.grad, state, cols, self.t)


def _with_shrink(cols: dict, decay_form: str, multiplier: float) -> dict:
    """Add the decoupled decay's factor: ``1 - lr_t * wd`` (frameworks) or ``1 - eta_t * wd`` (paper)."""
    wd = cols["wd"]
    if wd is None or decay_form == "l2":
        cols["shrink"] = None
    elif decay_form == "decoupled":
        cols["shrink"] = 1 - cols["lr"] * wd
    else:
        cols["shrink"] = 1 - multiplier * wd
    return cols


def _update(opt: BatchedOptimizer, p, g, state: dict, cols: dict, t: int) -> None:
    """One update of ``p`` in place. ``cols`` holds ``lr``, ``wd``, ``l1``, ``shrink``, each
    ``None`` (not used) or a tensor that broadcasts over ``p``.

    The same code serves one parameter ``[M, ...]`` (``BatchedOptimizer.step``) and the
    flat buffer of all parameters of all models (:func:`fit_classifiers`); ``g`` may be
    overwritten.
    """
    torch = _torch()
    lr, wd, l1 = cols["lr"], cols["wd"], cols["l1"]
    if wd is not None and opt.decay_form == "l2":
        g = g + wd * p
    if cols["shrink"] is not None:
        p.mul_(cols["shrink"])
    if l1 is not None and opt.l1_mode == "subgradient":
        g = g + l1 * torch.sign(p)
    if opt.kind == "sgd":
        if opt.momentum:
            buf = state.get("buf")
            buf = g.clone() if buf is None else buf.mul_(opt.momentum).add_(g)
            state["buf"] = buf
            g = buf
        p.sub_(lr * g)
    else:
        m = state.setdefault("m", torch.zeros_like(p))
        v = state.setdefault("v", torch.zeros_like(p))
        m.lerp_(g, 1 - opt.beta1)
        v.mul_(opt.beta2).addcmul_(g, g, value=1 - opt.beta2)
        bias1 = 1 - opt.beta1**t
        bias2 = 1 - opt.beta2**t
        # torch.optim.Adam: p <- p - (lr / bias1) * m / (sqrt(v) / sqrt(bias2) + eps)
        denom = v.sqrt().div_(bias2**0.5).add_(opt.eps)
        p.addcmul_(torch.div(m, denom, out=denom), lr, value=-1 / bias1)
    if l1 is not None and opt.l1_mode == "proximal":
        p.copy_(torch.sign(p) * torch.clamp(p.abs() - lr * l1, min=0.0))


def minibatch_orders(order_seeds: Sequence[int], n: int, epochs: int):
    """Yield, epoch by epoch, one permutation of ``range(n)`` per model, as a ``[M, n]`` tensor.

    Models with the same seed see the same minibatches in the same order (common random
    numbers: a sweep then compares settings, not data orders). Each distinct seed has its
    own ``torch.Generator``, so the global RNG is not touched.
    """
    distinct, group = _seed_groups(order_seeds)
    for perms in _orders_by_seed(distinct, n, epochs):
        yield perms.index_select(0, group)


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
    """All parameters of all models in one flat buffer, parameter by parameter.

    Parameter ``k`` occupies a contiguous block holding ``[M, *shape_k]``, so its view is
    a contiguous tensor (the batched matrix products write their gradients straight into
    it). The gradients and the optimizer state have the same layout, and the per-model
    hyperparameters are expanded to one value per element once, before training.
    """

    def __init__(self, stack: StackedMLP, opt: BatchedOptimizer):
        torch = _torch()
        self.m, params = stack.n_models, stack.parameters()
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
        cols = {"lr": self.expand(opt.lr)}
        for key, values in (("wd", opt.weight_decay), ("l1", opt.l1)):
            masked = [values if d else torch.zeros_like(values) for d in opt.decay_mask]
            cols[key] = self.expand(masked) if any(bool(v.any()) for v in masked) else None
        self.cols = _with_shrink(cols, opt.decay_form, 1.0)

    def pack(self, tensors):
        torch = _torch()
        return torch.cat([t.detach().reshape(-1).float() for t in tensors]).contiguous()

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
        torch = _torch()
        with torch.no_grad():
            for p, v in zip(stack.parameters(), self.views(self.p), strict=True):
                p.copy_(v)
            for key, flat in state.items():
                for s, v in zip(opt.state, self.views(flat), strict=True):
                    s[key] = v.clone()


def _forward_backward(flat: _Flat, n_layers: int, act: str, xb, onehot, batch: int) -> None:
    """Gradient of ``sum_i mean_b cross_entropy(model_i(xb_i))`` into ``flat.g``, by hand."""
    torch = _torch()
    ps, gs = flat.views(flat.p), flat.views(flat.g)
    hs = [xb]  # inputs of each layer
    h = xb
    for k in range(n_layers):
        h = torch.baddbmm(ps[2 * k + 1], h, ps[2 * k])
        if k < n_layers - 1:
            h = torch.relu_(h) if act == "relu" else torch.tanh_(h)
            hs.append(h)
    # d(mean cross-entropy)/d logits = (softmax - onehot) / B
    d = torch.softmax(h, dim=-1).sub_(onehot).div_(batch)
    for k in range(n_layers - 1, -1, -1):
        torch.bmm(hs[k].transpose(1, 2), d, out=gs[2 * k])
        torch.sum(d, dim=1, keepdim=True, out=gs[2 * k + 1])
        if k:
            d = torch.bmm(d, ps[2 * k].transpose(1, 2))
            if act == "relu":
                d = torch.ops.aten.threshold_backward(d, hs[k], 0)
            else:
                d.mul_(1 - hs[k] * hs[k])


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
) -> dict:
    """Train every model of ``stack`` with cross-entropy on minibatches; return the accuracy history.

    ``x`` ``[n, features]`` (finite floats) and ``y`` ``[n]`` (integer labels
    ``0 .. classes-1``) are the training set; ``order_seeds[i]`` is the data-order seed of
    model ``i`` (see :func:`minibatch_orders`). Each epoch visits ``n // batch_size`` full
    minibatches. Every ``eval_every`` epochs (and after the last) the accuracy of every
    model on each set of ``eval_sets`` (``{"train": (x, y), "val": (x_val, y_val)}``) is
    recorded. Returns ``{"epoch": [...], name: array [n_evals, M], ...}`` as NumPy arrays.

    ``optimizer`` must update ``stack.parameters()``. The gradients are computed by hand
    (the loss is fixed), so each step is a few batched matrix products plus a few
    whole-buffer updates; the tests check the result against per-model ``torch.optim``
    loops. The stack's parameters and the optimizer's state are updated in place, so a
    second call continues the training.
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
    sizes = stack.sizes
    x, y = _checked_data("training", x, y, sizes[0], sizes[-1])
    eval_sets = {
        name: _checked_data(f"eval_sets[{name!r}]", *pair, sizes[0], sizes[-1])
        for name, pair in (eval_sets or {}).items()
    }
    n = x.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of training rows ({n}); got {batch_size}")
    history: dict = {"epoch": [], **{name: [] for name in eval_sets}}
    n_layers = len(stack.weights)
    onehot = torch.nn.functional.one_hot(y, sizes[-1]).float()

    with _flush_denormals(), torch.no_grad():
        flat = _Flat(stack, optimizer)
        state = dict(flat.state)
        distinct, group = _seed_groups(order_seeds)
        for epoch, perm in enumerate(_orders_by_seed(distinct, n, epochs), start=1):
            for k in range(0, n - batch_size + 1, batch_size):
                # one gather per distinct data order, then copied to the models that share it
                idx = perm[:, k : k + batch_size]
                xb = x[idx].index_select(0, group)
                _forward_backward(
                    flat, n_layers, stack.activation, xb, onehot[idx].index_select(0, group), batch_size
                )
                optimizer.t += 1
                _update(optimizer, flat.p, flat.g, state, flat.cols, optimizer.t)
            if epoch % eval_every == 0 or epoch == epochs:
                flat.unpack_into(stack, optimizer, state)
                history["epoch"].append(epoch)
                for name, (xe, ye) in eval_sets.items():
                    history[name].append((stack(xe).argmax(-1) == ye).float().mean(1).numpy())
        flat.unpack_into(stack, optimizer, state)
    return {k: np.asarray(v) for k, v in history.items()}
