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
``torch.optim`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _checks

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

    def export(self, i: int, module) -> None:
        """Copy model ``i``'s weights into the ``torch.nn.Linear`` layers of ``module``, in place."""
        torch = _torch()
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.n_models:
            raise ValueError(f"i must be a model index in 0..{self.n_models - 1}; got {i!r}")
        linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
        if len(linears) != len(self.weights):
            raise ValueError(f"module must have {len(self.weights)} Linear layers; it has {len(linears)}")
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases, strict=True):
                if tuple(lin.weight.shape) != tuple(w.shape[1:][::-1]):
                    raise ValueError(
                        f"module's Linear layer has shape {tuple(lin.weight.shape)}; expected {tuple(w.shape[1:][::-1])}"
                    )
                lin.weight.copy_(w[i].T)
                lin.bias.copy_(b[i, 0])


def _per_model(name: str, value, m: int, *, low: float = 0.0, low_open: bool = False):
    """A float or a length-M sequence/tensor as a float tensor of shape [M]."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        values = value.detach().double().flatten().tolist()
    elif isinstance(value, Sequence) and not isinstance(value, str):
        values = list(value)
    else:
        values = [value] * m
    if len(values) != m:
        raise ValueError(f"{name} must be one number or one per model ({m}); got {len(values)} values")
    checked = [_checks.real(f"{name}[{i}]", v, low=low, low_open=low_open) for i, v in enumerate(values)]
    return torch.tensor(checked, dtype=torch.float32)


class BatchedOptimizer:
    """SGD (with momentum) or Adam over stacked parameters, with per-model hyperparameters.

    Every parameter in ``params`` has the model index as its first dimension (size
    ``M``). ``lr``, ``weight_decay`` and ``l1`` are one number for all models or one
    per model. The update of model ``i`` is exactly what ``torch.optim`` does:

    * ``kind="sgd"``: ``torch.optim.SGD(lr, momentum, weight_decay)`` (no dampening,
      no Nesterov);
    * ``kind="adam"``: ``torch.optim.Adam(lr, betas, eps, weight_decay)``, or with
      ``decoupled=True`` ``torch.optim.AdamW`` (decay ``w <- w * (1 - lr*wd)`` first).
      ``decoupled=True`` with SGD is SGDW (same rule).

    ``l1`` adds an L1 penalty ``l1 * sum(|w|)``: ``l1_mode="subgradient"`` adds
    ``l1 * sign(w)`` to the gradient (what autograd gives); ``l1_mode="proximal"``
    instead soft-thresholds after the step, ``w <- sign(w) * max(|w| - lr*l1, 0)``,
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
        decoupled: bool = False,
        momentum: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
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
        if not isinstance(decoupled, bool):
            raise TypeError(f"decoupled must be True or False; got {decoupled!r}")
        self.decoupled = decoupled
        self.momentum = _checks.real("momentum", momentum, low=0.0, high=1.0, high_open=True)
        if not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2); got {betas!r}")
        self.beta1 = _checks.real("betas[0]", betas[0], low=0.0, high=1.0, high_open=True)
        self.beta2 = _checks.real("betas[1]", betas[1], low=0.0, high=1.0, high_open=True)
        self.eps = _checks.real("eps", eps, low=0.0, low_open=True)
        if decay_mask is None:
            decay_mask = [True] * len(params)
        if len(decay_mask) != len(params) or not all(isinstance(d, bool) for d in decay_mask):
            raise ValueError(
                f"decay_mask must hold one True/False per parameter ({len(params)}); got {decay_mask!r}"
            )
        self.decay_mask = list(decay_mask)
        self.t = 0
        self.state: list[dict] = [{} for _ in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _shaped(self, values, p):
        return values.view(-1, *([1] * (p.dim() - 1)))

    def step(self) -> None:
        """Update every parameter from its ``.grad``."""
        torch = _torch()
        self.t += 1
        with torch.no_grad():
            for p, state, decayed in zip(self.params, self.state, self.decay_mask, strict=True):
                if p.grad is None:
                    continue
                g = p.grad
                lr = self._shaped(self.lr, p)
                wd = self._shaped(self.weight_decay, p) if decayed else None
                l1 = self._shaped(self.l1, p) if decayed else None
                if wd is not None:
                    if self.decoupled:
                        p.mul_(1 - lr * wd)
                    else:
                        g = g + wd * p
                if l1 is not None and self.l1_mode == "subgradient":
                    g = g + l1 * torch.sign(p)
                if self.kind == "sgd":
                    if self.momentum:
                        buf = state.get("buf")
                        buf = g.clone() if buf is None else buf.mul_(self.momentum).add_(g)
                        state["buf"] = buf
                        g = buf
                    p.sub_(lr * g)
                else:
                    m = state.setdefault("m", torch.zeros_like(p))
                    v = state.setdefault("v", torch.zeros_like(p))
                    m.lerp_(g, 1 - self.beta1)
                    v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                    bias1 = 1 - self.beta1**self.t
                    bias2 = 1 - self.beta2**self.t
                    denom = (v.sqrt() / bias2**0.5).add_(self.eps)
                    p.sub_((lr / bias1) * m / denom)
                if l1 is not None and self.l1_mode == "proximal":
                    p.copy_(torch.sign(p) * torch.clamp(p.abs() - lr * l1, min=0.0))


def minibatch_orders(order_seeds: Sequence[int], n: int, epochs: int):
    """Yield, epoch by epoch, one permutation of ``range(n)`` per model, as a ``[M, n]`` tensor.

    Models with the same seed see the same minibatches in the same order (common random
    numbers: a sweep then compares settings, not data orders). Each distinct seed has its
    own ``torch.Generator``, so the global RNG is not touched.
    """
    torch = _torch()
    gens = {s: torch.Generator().manual_seed(int(s)) for s in set(order_seeds)}
    for _ in range(epochs):
        perms = {s: torch.randperm(n, generator=g) for s, g in gens.items()}
        yield torch.stack([perms[s] for s in order_seeds])


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

    ``x`` ``[n, features]`` and ``y`` ``[n]`` (int labels) are the training set;
    ``order_seeds[i]`` is the data-order seed of model ``i`` (see :func:`minibatch_orders`).
    Each epoch visits ``n // batch_size`` full minibatches. Every ``eval_every`` epochs
    (and after the last) the accuracy of every model on each set of ``eval_sets``
    (``{"train": (x, y), "val": (x_val, y_val)}``) is recorded. Returns
    ``{"epoch": [...], name: array [n_evals, M], ...}`` as NumPy arrays.
    """
    import numpy as np

    torch = _torch()
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if len(order_seeds) != stack.n_models:
        raise ValueError(
            f"order_seeds must hold one seed per model ({stack.n_models}); got {len(order_seeds)}"
        )
    n = x.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y must have shape [{n}] (one label per row of x); got {tuple(y.shape)}")
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of training rows ({n}); got {batch_size}")
    eval_sets = eval_sets or {}
    history: dict = {"epoch": [], **{name: [] for name in eval_sets}}
    m = stack.n_models

    def evaluate(epoch):
        with torch.no_grad():
            history["epoch"].append(epoch)
            for name, (xe, ye) in eval_sets.items():
                history[name].append((stack(xe).argmax(-1) == ye).float().mean(1).numpy())

    for epoch, perm in enumerate(minibatch_orders(order_seeds, n, epochs), start=1):
        for k in range(0, n - batch_size + 1, batch_size):
            idx = perm[:, k : k + batch_size]
            logits = stack(x[idx])  # [M, B, classes]
            losses = torch.nn.functional.cross_entropy(
                logits.reshape(m * batch_size, -1), y[idx].reshape(-1), reduction="none"
            )
            optimizer.zero_grad()
            losses.view(m, batch_size).mean(1).sum().backward()
            optimizer.step()
        if epoch % eval_every == 0 or epoch == epochs:
            evaluate(epoch)
    return {k: np.asarray(v) for k, v in history.items()}
