"""One reference, three frameworks: what each way of asking for regularization really does.

Every *row* is one way a user asks for weight decay or an L1/L2 penalty in PyTorch,
PaddlePaddle or Keras 3 (on its PyTorch backend). :func:`run_row` builds the same small
network (4-8-3, tanh) in that framework from one set of initial weights, trains it a few
steps on one batch with cross-entropy, and records every parameter's trajectory and
its *data* gradients (the gradient of the loss without any penalty). :func:`identify`
then asks which configuration of the NumPy reference (:mod:`decaylab.reference`)
reproduces each trajectory: that, and nothing typed by hand, is what the rosetta
chapter's table reports.

Weights travel in PyTorch's layout (``"0.weight"`` is ``[8, 4]``), see
:mod:`decaylab.bridges`. Keras ``Dense`` kernels are ``[in, out]`` like Paddle's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import _checks
from .reference import replay_error

__all__ = [
    "ROWS",
    "Row",
    "exclusion_recipe",
    "identify",
    "initial_weights",
    "one_batch",
    "run_row",
]

FRAMEWORKS = ("PyTorch", "Paddle", "Keras 3")
NAMES = ("0.weight", "0.bias", "2.weight", "2.bias")


@dataclass(frozen=True)
class Row:
    """One way to ask for regularization. ``request`` is the code as a user writes it."""

    id: str
    framework: str
    request: str
    optimizer: str  # reference optimizer: "momentum" (SGD with momentum 0.9) or "adam"
    exclude_recipe: str

    @property
    def reference(self) -> dict:
        """Keyword arguments of the reference optimizer that matches this row's optimizer."""
        cfg = {"optimizer": self.optimizer}
        if self.optimizer == "momentum":
            cfg["momentum"] = 0.9
        if self.framework == "Keras 3" and self.optimizer == "adam":
            cfg["eps_style"] = "keras"
        return cfg


_TORCH_EXCLUDE = "parameter groups: `[{'params': weights, 'weight_decay': c}, {'params': biases_and_norms, 'weight_decay': 0}]`"
_PADDLE_EXCLUDE = "`ParamAttr(regularizer=...)` on weights only, or parameter groups"
_PADDLE_ADAMW_EXCLUDE = "`apply_decay_param_fun=lambda name: name in decayed_names`"
_KERAS_REG_EXCLUDE = "already excluded: set `kernel_regularizer` only (not `bias_regularizer`)"
_KERAS_OPT_EXCLUDE = "`optimizer.exclude_from_weight_decay(var_names=['bias', 'gamma', 'beta'])`"

ROWS: dict[str, Row] = {
    r.id: r
    for r in [
        Row("torch-sgd", "PyTorch", "SGD(momentum=0.9, weight_decay=c)", "momentum", _TORCH_EXCLUDE),
        Row("torch-adam", "PyTorch", "Adam(weight_decay=c)", "adam", _TORCH_EXCLUDE),
        Row("torch-adamw", "PyTorch", "AdamW(weight_decay=c)", "adam", _TORCH_EXCLUDE),
        Row(
            "torch-penalty-l2",
            "PyTorch",
            "loss + c/2 * sum((p**2).sum() for p in params)",
            "momentum",
            "sum over the weights only",
        ),
        Row(
            "torch-penalty-l1",
            "PyTorch",
            "loss + c * sum(p.abs().sum() for p in params)",
            "momentum",
            "sum over the weights only",
        ),
        Row("paddle-l2decay", "Paddle", "Momentum(weight_decay=L2Decay(c))", "momentum", _PADDLE_EXCLUDE),
        Row("paddle-l1decay", "Paddle", "Momentum(weight_decay=L1Decay(c))", "momentum", _PADDLE_EXCLUDE),
        Row("paddle-float", "Paddle", "Momentum(weight_decay=c)", "momentum", _PADDLE_EXCLUDE),
        Row(
            "paddle-paramattr",
            "Paddle",
            "Linear(weight_attr=ParamAttr(regularizer=L2Decay(c)))",
            "momentum",
            "already excluded: set it on weights only",
        ),
        Row("paddle-adamw", "Paddle", "AdamW(weight_decay=c)", "adam", _PADDLE_ADAMW_EXCLUDE),
        Row(
            "keras-l2",
            "Keras 3",
            "Dense(kernel_regularizer=regularizers.l2(c))",
            "momentum",
            _KERAS_REG_EXCLUDE,
        ),
        Row(
            "keras-l1",
            "Keras 3",
            "Dense(kernel_regularizer=regularizers.l1(c))",
            "momentum",
            _KERAS_REG_EXCLUDE,
        ),
        Row(
            "keras-l1l2",
            "Keras 3",
            "Dense(kernel_regularizer=regularizers.l1_l2(l1=c, l2=c))",
            "momentum",
            _KERAS_REG_EXCLUDE,
        ),
        Row("keras-sgd", "Keras 3", "SGD(momentum=0.9, weight_decay=c)", "momentum", _KERAS_OPT_EXCLUDE),
        Row("keras-adam", "Keras 3", "Adam(weight_decay=c)", "adam", _KERAS_OPT_EXCLUDE),
        Row("keras-adamw", "Keras 3", "AdamW(weight_decay=c)", "adam", _KERAS_OPT_EXCLUDE),
    ]
}


def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Initial weights of the 4-8-3 network, in PyTorch's layout, drawn with NumPy."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    rng = np.random.default_rng(seed)
    shapes = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (3, 8), "2.bias": (3,)}
    return {n: rng.uniform(-0.5, 0.5, size=s).astype(np.float32) for n, s in shapes.items()}


def one_batch(seed: int = 1, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """One batch ``(x [n, 4] float32, y [n] int64 in 0..2)``."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n).astype(np.int64)


def _keras():
    backend = os.environ.setdefault("KERAS_BACKEND", "torch")
    if backend != "torch":
        raise RuntimeError(
            f"decaylab.rosetta runs Keras 3 on its PyTorch backend; KERAS_BACKEND is {backend!r}"
        )
    import keras

    if keras.backend.backend() != "torch":
        raise RuntimeError(
            f"Keras was already imported with the {keras.backend.backend()!r} backend; set KERAS_BACKEND=torch first"
        )
    return keras


# -- running one row ---------------------------------------------------------------------------------


def _run_torch(row, weights, x, y, lr, coeff, steps, zero_data):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for n, p in net.named_parameters():
            p.copy_(torch.from_numpy(weights[n]))
    params = dict(net.named_parameters())
    if row.id == "torch-sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=coeff)
    elif row.id == "torch-adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=coeff)
    elif row.id == "torch-adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=coeff)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    traj = {n: [weights[n].copy()] for n in NAMES}
    grads = {n: [] for n in NAMES}
    for _ in range(steps):
        data_loss = torch.nn.functional.cross_entropy(net(xt), yt) * (0.0 if zero_data else 1.0)
        penalty = 0.0
        if row.id == "torch-penalty-l2":
            penalty = coeff / 2 * sum((p**2).sum() for p in net.parameters())
        elif row.id == "torch-penalty-l1":
            penalty = coeff * sum(p.abs().sum() for p in net.parameters())
        data_grads = torch.autograd.grad(data_loss, list(params.values()), retain_graph=True)
        opt.zero_grad()
        (data_loss + penalty).backward()
        opt.step()
        for (n, p), g in zip(params.items(), data_grads, strict=True):
            grads[n].append(g.numpy().copy())
            traj[n].append(p.detach().numpy().copy())
    return traj, grads


def _run_paddle(row, weights, x, y, lr, coeff, steps, zero_data):
    import paddle
    from paddle.regularizer import L1Decay, L2Decay

    from .bridges import write_paddle

    attr = paddle.ParamAttr(regularizer=L2Decay(coeff)) if row.id == "paddle-paramattr" else None
    net = paddle.nn.Sequential(
        paddle.nn.Linear(4, 8, weight_attr=attr), paddle.nn.Tanh(), paddle.nn.Linear(8, 3, weight_attr=attr)
    )
    write_paddle(net, weights)
    wd = {
        "paddle-l2decay": L2Decay(coeff),
        "paddle-l1decay": L1Decay(coeff),
        "paddle-float": float(coeff),
        "paddle-paramattr": None,
    }
    if row.id == "paddle-adamw":
        opt = paddle.optimizer.AdamW(lr, parameters=net.parameters(), weight_decay=coeff)
    else:
        opt = paddle.optimizer.Momentum(
            lr, momentum=0.9, parameters=net.parameters(), weight_decay=wd[row.id]
        )
    params = dict(net.named_parameters())
    xp, yp = paddle.to_tensor(x), paddle.to_tensor(y)

    def torch_layout(n, arr):
        return arr.T.copy() if n.endswith("weight") else arr.copy()

    traj = {n: [weights[n].copy()] for n in NAMES}
    grads = {n: [] for n in NAMES}
    for _ in range(steps):
        loss = paddle.nn.functional.cross_entropy(net(xp), yp) * (0.0 if zero_data else 1.0)
        loss.backward()
        for n, p in params.items():  # Paddle adds its regularizers inside step(): .grad is the data gradient
            grads[n].append(torch_layout(n, p.grad.numpy()))
        opt.step()
        opt.clear_grad()
        for n, p in params.items():
            traj[n].append(torch_layout(n, p.numpy()))
    return traj, grads


def _run_keras(row, weights, x, y, lr, coeff, steps, zero_data):
    keras = _keras()
    import torch

    reg = {
        "keras-l2": lambda: keras.regularizers.l2(coeff),
        "keras-l1": lambda: keras.regularizers.l1(coeff),
        "keras-l1l2": lambda: keras.regularizers.l1_l2(l1=coeff, l2=coeff),
    }.get(row.id, lambda: None)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="tanh", kernel_regularizer=reg()),
            keras.layers.Dense(3, kernel_regularizer=reg()),
        ]
    )
    kvars = model.trainable_variables  # kernel0, bias0, kernel1, bias1
    for v, n in zip(kvars, NAMES, strict=True):
        v.assign(weights[n].T if n.endswith("weight") else weights[n])
    if row.id == "keras-adam":
        opt = keras.optimizers.Adam(learning_rate=lr, weight_decay=coeff, epsilon=1e-8)
    elif row.id == "keras-adamw":
        opt = keras.optimizers.AdamW(learning_rate=lr, weight_decay=coeff, epsilon=1e-8)
    elif row.id == "keras-sgd":
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9, weight_decay=coeff)
    else:
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    params = [v.value for v in kvars]

    def torch_layout(n, t):
        arr = t.detach().cpu().numpy()
        return arr.T.copy() if n.endswith("weight") else arr.copy()

    traj = {n: [weights[n].copy()] for n in NAMES}
    grads = {n: [] for n in NAMES}
    for _ in range(steps):
        data_loss = torch.nn.functional.cross_entropy(model(xt), yt) * (0.0 if zero_data else 1.0)
        penalty = sum(model.losses) if model.losses else 0.0
        data_grads = torch.autograd.grad(data_loss, params, retain_graph=True)
        total_grads = torch.autograd.grad(data_loss + penalty, params) if model.losses else data_grads
        opt.apply([g.detach() for g in total_grads], kvars)
        for n, v, g in zip(NAMES, kvars, data_grads, strict=True):
            grads[n].append(torch_layout(n, g))
            traj[n].append(torch_layout(n, v.value))
    return traj, grads


def run_row(
    row_id: str,
    weights=None,
    batch=None,
    *,
    lr: float = 0.1,
    coeff: float = 0.05,
    steps: int = 3,
    zero_data: bool = False,
):
    """Train the 4-8-3 network ``steps`` steps the way row ``row_id`` asks; return ``(trajectories, data_grads)``.

    Both are dicts keyed by ``"0.weight", "0.bias", "2.weight", "2.bias"``, in PyTorch's
    layout: ``trajectories[n]`` holds ``steps + 1`` arrays (the initial weights first),
    ``data_grads[n]`` the ``steps`` data gradients. ``zero_data=True`` multiplies the data
    loss by 0, so that only the regularization moves the weights.
    """
    if row_id not in ROWS:
        raise ValueError(f"row_id must be one of {', '.join(map(repr, ROWS))}; got {row_id!r}")
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    coeff = _checks.real("coeff", coeff, low=0.0)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    weights = (
        initial_weights() if weights is None else {n: np.asarray(weights[n], dtype=np.float32) for n in NAMES}
    )
    x, y = (
        one_batch() if batch is None else (np.asarray(batch[0], np.float32), np.asarray(batch[1], np.int64))
    )
    row = ROWS[row_id]
    runner = {"PyTorch": _run_torch, "Paddle": _run_paddle, "Keras 3": _run_keras}[row.framework]
    return runner(row, weights, x, y, lr, coeff, steps, bool(zero_data))


# -- identifying what a row does ----------------------------------------------------------------------


def candidates(coeff: float) -> dict[str, dict]:
    """The reference configurations a row is compared against, by name."""
    c = coeff
    return {
        "nothing": {"none": 0.0},
        "L2, adds c/2·w": {"l2": c / 2},
        "L2, adds c·w": {"l2": c},
        "L2, adds 2c·w": {"l2": 2 * c},
        "L1, adds c·sign(w)": {"l1": c},
        "L1 + L2, adds c·sign(w) + 2c·w": {"l1": c, "l2": 2 * c},
        "decoupled, w·(1 − lr·c)": {"decoupled": c},
    }


def identify(
    row_id: str, trajectories, data_grads, *, lr: float = 0.1, coeff: float = 0.05
) -> dict[str, str]:
    """For each parameter, the one candidate configuration that replays its trajectory.

    Raises ``AssertionError`` if no candidate reproduces a trajectory to 2e-6, or if a
    second candidate also comes within 1e-4 (the identification would be ambiguous).
    """
    if row_id not in ROWS:
        raise ValueError(f"row_id must be one of {', '.join(map(repr, ROWS))}; got {row_id!r}")
    base = {**ROWS[row_id].reference, "lr": lr}
    found = {}
    for n in NAMES:
        errors = {
            name: replay_error(trajectories[n], data_grads[n], decay=decay, **base)
            for name, decay in candidates(coeff).items()
        }
        ranked = sorted(errors, key=errors.get)
        best, second = ranked[0], ranked[1]
        assert errors[best] < 2e-6, (
            f"{row_id}, {n}: no candidate replays the trajectory (best {best}: {errors[best]:.1e})"
        )
        assert errors[second] > 1e-4, f"{row_id}, {n}: ambiguous between {best} and {second}"
        found[n] = best
    return found


# -- the exclusion recipe -------------------------------------------------------------------------


def exclusion_recipe(
    framework: str, *, exclude: bool = True, lr: float = 0.1, coeff: float = 0.1, steps: int = 3
) -> dict[str, float]:
    """Decay weights but not biases or normalization parameters, with each framework's own tools.

    Builds Linear(4, 8) → LayerNorm(8) → Linear(8, 3) in ``framework`` (biases and the
    normalization parameters are moved off their initial 0 and 1 first), trains
    ``steps`` steps of decoupled decay (AdamW) with a **zero data gradient**, so only the
    decay can move a parameter, and returns ``{parameter: final / initial norm}``. With
    the recipe, the two Linear weights shrink by ``(1 - lr*coeff)**steps`` and
    everything else stays at 1. ``exclude=False`` runs the same optimizer without the
    recipe (every parameter decayed), for contrast. Keys: ``"linear1.weight", "linear1.bias", "norm.weight",
    "norm.bias", "linear2.weight", "linear2.bias"``.
    """
    _checks.one_of("framework", framework, FRAMEWORKS)
    if not isinstance(exclude, bool):
        raise TypeError(f"exclude must be True or False; got {exclude!r}")
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    coeff = _checks.real("coeff", coeff, low=0.0)
    x, _ = one_batch()
    keys = ["linear1.weight", "linear1.bias", "norm.weight", "norm.bias", "linear2.weight", "linear2.bias"]
    if framework == "PyTorch":
        import torch

        torch.manual_seed(0)
        layers = [torch.nn.Linear(4, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3)]
        params = [p for layer in layers for p in (layer.weight, layer.bias)]  # in the order of `keys`
        with torch.no_grad():  # non-trivial values for the parameters that start at 0 or 1
            for p in params[1:4] + params[5:]:
                p.add_(0.5)
        decay = [layers[0].weight, layers[2].weight] if exclude else params
        rest = [p for p in params if all(p is not q for q in decay)]
        groups = [{"params": decay, "weight_decay": coeff}] + (
            [{"params": rest, "weight_decay": 0.0}] if rest else []
        )
        opt = torch.optim.AdamW(groups, lr=lr)
        start = [p.detach().clone() for p in params]
        xt = torch.from_numpy(x)
        for _ in range(steps):
            out = layers[2](layers[1](layers[0](xt)))
            opt.zero_grad()
            (0.0 * out.sum()).backward()
            opt.step()
        return {k: float(p.detach().norm() / s.norm()) for k, p, s in zip(keys, params, start, strict=True)}
    if framework == "Paddle":
        import paddle

        paddle.seed(0)
        layers = [paddle.nn.Linear(4, 8), paddle.nn.LayerNorm(8), paddle.nn.Linear(8, 3)]
        params = [p for layer in layers for p in (layer.weight, layer.bias)]  # in the order of `keys`
        for p in params[1:4] + params[5:]:  # non-trivial values for the parameters that start at 0 or 1
            p.set_value(p.numpy() + 0.5)
        decayed_names = {layers[0].weight.name, layers[2].weight.name}
        opt = paddle.optimizer.AdamW(
            lr,
            parameters=params,
            weight_decay=coeff,
            apply_decay_param_fun=(lambda name: name in decayed_names) if exclude else None,
        )
        start = [p.numpy().copy() for p in params]
        xp = paddle.to_tensor(x)
        for _ in range(steps):
            out = layers[2](layers[1](layers[0](xp)))
            (0.0 * out.sum()).backward()
            opt.step()
            opt.clear_grad()
        return {
            k: float(np.linalg.norm(p.numpy()) / np.linalg.norm(s))
            for k, p, s in zip(keys, params, start, strict=True)
        }
    keras = _keras()
    import torch

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), keras.layers.LayerNormalization(), keras.layers.Dense(3)]
    )
    kvars = model.trainable_variables  # kernel, bias, gamma, beta, kernel, bias
    for v in kvars[1:4] + kvars[5:]:  # non-trivial values for the parameters that start at 0 or 1
        v.assign(v.value.detach() + 0.5)
    opt = keras.optimizers.AdamW(learning_rate=lr, weight_decay=coeff)
    if exclude:
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    start = [v.value.detach().clone() for v in kvars]
    xt = torch.from_numpy(x)
    for _ in range(steps):
        out = model(xt)
        grads = torch.autograd.grad(0.0 * out.sum(), [v.value for v in kvars], allow_unused=True)
        grads = [torch.zeros_like(v.value) if g is None else g for v, g in zip(kvars, grads, strict=True)]
        opt.apply(grads, kvars)
    return {k: float(v.value.detach().norm() / s.norm()) for k, v, s in zip(keys, kvars, start, strict=True)}
