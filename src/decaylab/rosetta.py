"""One reference, three frameworks: what each way of asking for regularization really does.

Every *row* is one way a user asks for weight decay or an L1/L2 penalty in PyTorch,
PaddlePaddle or Keras 3 (on its PyTorch backend). :func:`run_row` builds the same small
network (4-8-3, tanh) in that framework from one set of initial weights, trains it a few
steps on one batch with cross-entropy, and records every parameter's trajectory and
its *data* gradients (the gradient of the loss without any penalty). :func:`identify`
then asks which configuration of the NumPy reference (:mod:`decaylab.reference`)
reproduces each trajectory: that, and nothing typed by hand, is what the rosetta
chapter's tables report. The names of those configurations (:data:`L2_C`,
:data:`DECOUPLED_C`, ...) are constants, shared by :func:`candidates`, the tests and the
chapter.

:func:`exclusion_recipe` runs each framework's own way to decay the weights but not the
biases and normalization parameters.

Weights travel in PyTorch's layout (``"0.weight"`` is ``[8, 4]``); the conversions to
Paddle's ``Linear`` and Keras's ``Dense`` (both ``[in, out]``) are in
:mod:`decaylab.bridges`.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import _checks
from .bridges import keras_to_torch, read_paddle, read_paddle_grads, torch_to_keras, write_paddle
from .notebook import import_keras
from .reference import check_trajectory, replay_error

__all__ = [
    "AT_Y",
    "AT_Z",
    "CANDIDATE_LABELS",
    "DECOUPLED_ADJUSTED",
    "DECOUPLED_C",
    "DECOUPLED_UNSCALED",
    "EXCLUSION_KEYS",
    "FRAMEWORKS",
    "L1_C",
    "L1_C_L2_TWO_C",
    "L2_C",
    "L2_HALF_C",
    "L2_TWO_C",
    "MUON_ADJUST_LR_FN",
    "NAMES",
    "NEW_CANDIDATE_LABELS",
    "NOTHING",
    "OPTIMIZERS",
    "ROWS",
    "Y_BEFORE",
    "IdentificationFailed",
    "Row",
    "candidates",
    "exclusion_recipe",
    "identify",
    "initial_weights",
    "one_batch",
    "replay_error_new",
    "replay_errors",
    "run_row",
]

FRAMEWORKS = ("PyTorch", "Paddle", "Keras 3")
#: The parameters of the 4-8-3 network, by their PyTorch names.
NAMES = ("0.weight", "0.bias", "2.weight", "2.bias")
_SHAPES = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (3, 8), "2.bias": (3,)}

# -- the names of the reference configurations a row can be identified as ---------------------------
#: No regularization reaches the parameter.
NOTHING = "nothing"
#: Coupled L2 adding ``c/2·w`` to the gradient (penalty ``c/4·Σw²``).
L2_HALF_C = "L2, adds c/2·w"
#: Coupled L2 adding ``c·w`` to the gradient (penalty ``c/2·Σw²``: PyTorch's, Paddle's convention).
L2_C = "L2, adds c·w"
#: Coupled L2 adding ``2c·w`` to the gradient (penalty ``c·Σw²``: Keras's ``l2(c)``).
L2_TWO_C = "L2, adds 2c·w"
#: Coupled L1 adding ``c·sign(w)`` to the gradient (penalty ``c·Σ|w|``).
L1_C = "L1, adds c·sign(w)"
#: Keras's ``l1_l2(l1=c, l2=c)``: ``c·sign(w) + 2c·w``.
L1_C_L2_TWO_C = "L1 + L2, adds c·sign(w) + 2c·w"
#: Decoupled decay: the weights are multiplied by ``1 − lr·c`` outside the gradient.
DECOUPLED_C = "decoupled, w·(1 − lr·c)"
#: Every label, in the order :func:`candidates` lists them.
CANDIDATE_LABELS = (NOTHING, L2_HALF_C, L2_C, L2_TWO_C, L1_C, L1_C_L2_TWO_C, DECOUPLED_C)

# -- ... and the newer optimizers' (Lion, Muon, schedule-free AdamW: :mod:`decaylab.newopt`) ------
#: Decoupled decay not scaled by the learning rate: ``w·(1 − c)`` (the AdamW paper's λ).
DECOUPLED_UNSCALED = "decoupled, w·(1 − c)"
#: Muon: decoupled decay by the *adjusted* learning rate ``lr·ρ`` that scales the update.
DECOUPLED_ADJUSTED = "decoupled, w·(1 − lr·ρ·c)"
#: Schedule-free AdamW, decay computed at ``y`` and subtracted from ``z`` (``schedulefree``).
AT_Y = "decoupled, z − lr·c·y"
#: Schedule-free AdamW, decay computed at ``z`` and subtracted from ``z``.
AT_Z = "decoupled, z − lr·c·z"
#: Schedule-free AdamW, the model's weights ``y`` shrunk by ``1 − lr·c`` before the step, ``z`` never.
Y_BEFORE = "decoupled, y·(1 − lr·c) before the step"
#: The candidates of each newer optimizer, in the order :func:`candidates` lists them. For all
#: three, ``L2_C`` means ``c·w`` added to the data gradient before the optimizer sees it.
NEW_CANDIDATE_LABELS = {
    "lion": (NOTHING, L2_C, DECOUPLED_C, DECOUPLED_UNSCALED),
    "muon": (NOTHING, L2_C, DECOUPLED_C, DECOUPLED_UNSCALED, DECOUPLED_ADJUSTED),
    "schedulefree": (NOTHING, L2_C, AT_Y, AT_Z, Y_BEFORE),
}
#: The reference optimizers a row's parameters can be compared with.
OPTIMIZERS = ("momentum", "adam", *NEW_CANDIDATE_LABELS)
#: How the Muon rows scale the update of a ``[A, B]`` matrix: ``0.2·sqrt(max(A, B))``, Keras's only
#: rule and torch's ``adjust_lr_fn="match_rms_adamw"``. (torch's default, ``sqrt(max(1, A/B))``, is
#: 1 for the ``[3, 8]`` output layer, where decay by the base and by the adjusted rate coincide.)
MUON_ADJUST_LR_FN = "match_rms_adamw"

#: The momentum of every SGD row (the posts' and the frameworks' usual value).
MOMENTUM = 0.9

#: Replay error below which a candidate explains a trajectory (float32 rounding level) ...
MATCH_TOLERANCE = 2e-6
#: ... and above which every other candidate must stay, or the identification is ambiguous.
RUNNER_UP_GAP = 1e-4


@dataclass(frozen=True)
class Row:
    """One way to ask for regularization: the code that does it, and the reference optimizer
    whose update it is compared with.

    ``setup(build, lr, c)`` is the code a user writes, run as it is: it builds the network
    with ``build`` (passing a layer argument such as Paddle's ``weight_attr`` or Keras's
    ``kernel_regularizer`` when the row asks through the layer) and returns
    ``(net, optimizer, penalty)``, ``penalty`` a function giving the term added to the loss
    (or ``None``); in PyTorch ``optimizer`` may be a list of optimizers, each stepped. :attr:`code`
    is its source, :attr:`request` the same code on one line, as the chapter's tables print it.
    ``optimizer`` names the reference optimizer (one of :data:`OPTIMIZERS`): ``"momentum"``
    (SGD with momentum 0.9), ``"adam"``, or one of the newer optimizers of
    :mod:`decaylab.newopt` (``"lion"``, ``"muon"``, ``"schedulefree"``); ``bias_optimizer``
    the one the biases get when it differs (Muon takes matrices only: its rows give the
    biases to AdamW). ``zero_data=True`` marks a row whose trajectory with data cannot be
    replayed to float32 rounding (torch's Muon runs Newton-Schulz in bfloat16): it is
    identified on a run with no data gradient, where its update is exactly zero and only
    the decay moves the weights (:attr:`probe`). ``steps``: how many steps identification needs
    (schedule-free's decay at ``y`` and at ``z`` coincide on the first two). ``options``:
    ``(name, value)`` pairs passed to the newer optimizers' reference step for this row.
    """

    id: str
    framework: str
    setup: Callable
    optimizer: str
    bias_optimizer: str | None = None
    zero_data: bool = False
    steps: int = 3
    options: tuple = ()

    @property
    def code(self) -> str:
        """The body of :attr:`setup`, as run."""
        lines = inspect.getsource(self.setup).splitlines()[1:]
        return textwrap.dedent("\n".join(lines)).strip("\n")

    @property
    def request(self) -> str:
        """The lines of :attr:`code` that ask for regularization, on one line: not the imports,
        not a call to ``build`` that passes nothing, not the ``return``; a loss term as
        ``loss + ...``.

        >>> ROWS["torch-penalty-l1"].request
        'opt = SGD(net.parameters(), lr, momentum=0.9); loss + c * sum(p.abs().sum() for p in net.parameters())'
        """
        parts = []
        for line in self.code.splitlines():
            line = line.split("  # ")[0].strip()
            if not line or line.startswith(("import ", "from ", "#")) or line == "net = build()":
                continue
            if line.startswith("return net, opt") or line.startswith("def penalty"):
                continue
            parts.append(f"loss + {line.removeprefix('return ')}" if line.startswith("return") else line)
        return "; ".join(parts)

    @property
    def probe(self) -> dict:
        """The keyword arguments of :func:`run_row` that this row is identified with."""
        return {"zero_data": self.zero_data, "steps": self.steps}

    def optimizer_of(self, name: str) -> str:
        """The reference optimizer of parameter ``name`` (one of :data:`NAMES`)."""
        name = _checks.one_of("name", name, NAMES)
        if self.bias_optimizer is not None and name.endswith(".bias"):
            return self.bias_optimizer
        return self.optimizer

    def reference_of(self, name: str) -> dict:
        """Keyword arguments of the reference optimizer of parameter ``name``."""
        optimizer = self.optimizer_of(name)
        cfg = {"optimizer": optimizer}
        if optimizer == "momentum":
            cfg["momentum"] = MOMENTUM
        if self.framework == "Keras 3" and optimizer == "adam":
            cfg["eps_style"] = "keras"
        return cfg

    @property
    def reference(self) -> dict:
        """Keyword arguments of the reference optimizer that matches this row's optimizer
        (its weights', for a row whose biases get another one)."""
        return self.reference_of("0.weight")


# -- the rows: each is the code a user writes, run as it is ---------------------------------------


def _torch_sgd(build, lr, c):
    from torch.optim import SGD

    net = build()
    opt = SGD(net.parameters(), lr, momentum=0.9, weight_decay=c)
    return net, opt, None


def _torch_adam(build, lr, c):
    from torch.optim import Adam

    net = build()
    opt = Adam(net.parameters(), lr, weight_decay=c)
    return net, opt, None


def _torch_adamw(build, lr, c):
    from torch.optim import AdamW

    net = build()
    opt = AdamW(net.parameters(), lr, weight_decay=c)
    return net, opt, None


def _torch_penalty_l2(build, lr, c):
    from torch.optim import SGD

    net = build()
    opt = SGD(net.parameters(), lr, momentum=0.9)

    def penalty():  # added to the loss
        return c / 2 * sum((p**2).sum() for p in net.parameters())

    return net, opt, penalty


def _torch_penalty_l1(build, lr, c):
    from torch.optim import SGD

    net = build()
    opt = SGD(net.parameters(), lr, momentum=0.9)

    def penalty():  # added to the loss
        return c * sum(p.abs().sum() for p in net.parameters())

    return net, opt, penalty


def _paddle_l2decay(build, lr, c):
    from paddle.optimizer import Momentum
    from paddle.regularizer import L2Decay

    net = build()
    opt = Momentum(lr, parameters=net.parameters(), weight_decay=L2Decay(c))
    return net, opt, None


def _paddle_l1decay(build, lr, c):
    from paddle.optimizer import Momentum
    from paddle.regularizer import L1Decay

    net = build()
    opt = Momentum(lr, parameters=net.parameters(), weight_decay=L1Decay(c))
    return net, opt, None


def _paddle_float(build, lr, c):
    from paddle.optimizer import Momentum

    net = build()
    opt = Momentum(lr, parameters=net.parameters(), weight_decay=c)
    return net, opt, None


def _paddle_paramattr(build, lr, c):
    from paddle import ParamAttr
    from paddle.optimizer import Momentum
    from paddle.regularizer import L2Decay

    attr = ParamAttr(regularizer=L2Decay(c))
    net = build(weight_attr=attr)
    opt = Momentum(lr, parameters=net.parameters())
    return net, opt, None


def _paddle_adamw(build, lr, c):
    from paddle.optimizer import AdamW

    net = build()
    opt = AdamW(lr, parameters=net.parameters(), weight_decay=c)
    return net, opt, None


def _keras_l2(build, lr, c):
    from keras.optimizers import SGD
    from keras.regularizers import l2

    net = build(kernel_regularizer=l2(c))
    opt = SGD(lr, momentum=0.9)
    return net, opt, None


def _keras_l1(build, lr, c):
    from keras.optimizers import SGD
    from keras.regularizers import l1

    net = build(kernel_regularizer=l1(c))
    opt = SGD(lr, momentum=0.9)
    return net, opt, None


def _keras_l1l2(build, lr, c):
    from keras.optimizers import SGD
    from keras.regularizers import l1_l2

    net = build(kernel_regularizer=l1_l2(l1=c, l2=c))
    opt = SGD(lr, momentum=0.9)
    return net, opt, None


def _keras_sgd(build, lr, c):
    from keras.optimizers import SGD

    net = build()
    opt = SGD(lr, momentum=0.9, weight_decay=c)
    return net, opt, None


def _keras_adam(build, lr, c):
    from keras.optimizers import Adam

    net = build()
    opt = Adam(lr, weight_decay=c, epsilon=1e-8)
    return net, opt, None


def _keras_adamw(build, lr, c):
    from keras.optimizers import AdamW

    net = build()
    opt = AdamW(lr, weight_decay=c, epsilon=1e-8)
    return net, opt, None


def _torch_lion(build, lr, c):
    from lion_pytorch import Lion

    net = build()
    opt = Lion(net.parameters(), lr, weight_decay=c)
    return net, opt, None


def _torch_lion_decoupled(build, lr, c):
    from lion_pytorch import Lion

    net = build()
    opt = Lion(net.parameters(), lr, weight_decay=c, decoupled_weight_decay=True)
    return net, opt, None


def _keras_lion(build, lr, c):
    from keras.optimizers import Lion

    net = build()
    opt = Lion(lr, weight_decay=c)
    return net, opt, None


def _torch_muon(build, lr, c):
    from torch.optim import AdamW, Muon

    net = build()
    # Muon takes matrices only: the biases go to AdamW
    mats = [p for p in net.parameters() if p.ndim == 2]
    rest = [p for p in net.parameters() if p.ndim != 2]
    muon = Muon(mats, lr, weight_decay=c, adjust_lr_fn="match_rms_adamw")
    opt = [muon, AdamW(rest, lr, weight_decay=c)]
    return net, opt, None


def _keras_muon(build, lr, c):
    from keras.optimizers import Muon

    net = build()
    # Muon gives the biases (not 2-D) its own AdamW step
    opt = Muon(lr, weight_decay=c, adam_weight_decay=c, epsilon=1e-8)
    return net, opt, None


def _torch_schedulefree(build, lr, c):
    from schedulefree import AdamWScheduleFree

    net = build()
    opt = AdamWScheduleFree(net.parameters(), lr, weight_decay=c)
    opt.train()  # and opt.eval() before evaluating or saving
    return net, opt, None


def _keras_schedulefree(build, lr, c):
    from keras.optimizers import ScheduleFreeAdamW

    net = build()
    opt = ScheduleFreeAdamW(lr, weight_decay=c)
    return net, opt, None


ROWS: dict[str, Row] = {
    r.id: r
    for r in [
        Row("torch-sgd", "PyTorch", _torch_sgd, "momentum"),
        Row("torch-adam", "PyTorch", _torch_adam, "adam"),
        Row("torch-adamw", "PyTorch", _torch_adamw, "adam"),
        Row("torch-penalty-l2", "PyTorch", _torch_penalty_l2, "momentum"),
        Row("torch-penalty-l1", "PyTorch", _torch_penalty_l1, "momentum"),
        Row("paddle-l2decay", "Paddle", _paddle_l2decay, "momentum"),
        Row("paddle-l1decay", "Paddle", _paddle_l1decay, "momentum"),
        Row("paddle-float", "Paddle", _paddle_float, "momentum"),
        Row("paddle-paramattr", "Paddle", _paddle_paramattr, "momentum"),
        Row("paddle-adamw", "Paddle", _paddle_adamw, "adam"),
        Row("keras-l2", "Keras 3", _keras_l2, "momentum"),
        Row("keras-l1", "Keras 3", _keras_l1, "momentum"),
        Row("keras-l1l2", "Keras 3", _keras_l1l2, "momentum"),
        Row("keras-sgd", "Keras 3", _keras_sgd, "momentum"),
        Row("keras-adam", "Keras 3", _keras_adam, "adam"),
        Row("keras-adamw", "Keras 3", _keras_adamw, "adam"),
        Row("torch-lion", "PyTorch", _torch_lion, "lion"),
        Row("torch-lion-decoupled", "PyTorch", _torch_lion_decoupled, "lion"),
        Row("keras-lion", "Keras 3", _keras_lion, "lion"),
        Row("torch-muon", "PyTorch", _torch_muon, "muon", "adam", zero_data=True),
        Row("keras-muon", "Keras 3", _keras_muon, "muon", "adam"),
        Row("torch-schedulefree-adamw", "PyTorch", _torch_schedulefree, "schedulefree", steps=5),
        Row(
            "keras-schedulefree-adamw",
            "Keras 3",
            _keras_schedulefree,
            "schedulefree",
            options=(("x_from_new_z", True),),
        ),
    ]
}


class IdentificationFailed(AssertionError):
    """No reference configuration replays a trajectory, or more than one does."""


def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Initial weights of the 4-8-3 network, in PyTorch's layout, drawn with NumPy."""
    seed = _checks.integer("seed", seed, low=0)
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(-0.5, 0.5, size=s).astype(np.float32) for n, s in _SHAPES.items()}


def one_batch(seed: int = 1, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """One batch ``(x [n, 4] float32, y [n] int64 in 0..2)``."""
    seed = _checks.integer("seed", seed, low=0)
    n = _checks.integer("n", n, low=1)
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n).astype(np.int64)


def _row(row_id) -> Row:
    return ROWS[_checks.one_of("row_id", row_id, ROWS)]


# -- running one row ---------------------------------------------------------------------------------


def _run_torch(row, weights, x, y, lr, coeff, steps, zero_data):
    import torch

    def build():
        net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
        with torch.no_grad():
            for n, p in net.named_parameters():
                p.copy_(torch.from_numpy(weights[n]))
        return net

    net, opt, penalty = row.setup(build, lr, coeff)
    opts = list(opt) if isinstance(opt, list | tuple) else [opt]
    params = dict(net.named_parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    traj = {n: [weights[n].copy()] for n in NAMES}
    grads = {n: [] for n in NAMES}
    for _ in range(steps):
        data_loss = torch.nn.functional.cross_entropy(net(xt), yt) * (0.0 if zero_data else 1.0)
        data_grads = torch.autograd.grad(data_loss, list(params.values()), retain_graph=True)
        for o in opts:
            o.zero_grad()
        (data_loss + (penalty() if penalty else 0.0)).backward()
        for o in opts:
            o.step()
        for (n, p), g in zip(params.items(), data_grads, strict=True):
            grads[n].append(g.numpy().copy())
            traj[n].append(p.detach().numpy().copy())
    return traj, grads


def _run_paddle(row, weights, x, y, lr, coeff, steps, zero_data):
    import paddle

    def build(weight_attr=None):
        net = paddle.nn.Sequential(
            paddle.nn.Linear(4, 8, weight_attr=weight_attr),
            paddle.nn.Tanh(),
            paddle.nn.Linear(8, 3, weight_attr=weight_attr),
        )
        write_paddle(net, weights)
        return net

    net, opt, penalty = row.setup(build, lr, coeff)
    if penalty is not None:
        raise ValueError(f"row {row.id!r}: the Paddle runner adds no loss term")
    xp, yp = paddle.to_tensor(x), paddle.to_tensor(y)
    traj = {n: [weights[n].copy()] for n in NAMES}
    grads = {n: [] for n in NAMES}
    for _ in range(steps):
        loss = paddle.nn.functional.cross_entropy(net(xp), yp) * (0.0 if zero_data else 1.0)
        loss.backward()
        # Paddle adds its regularizers inside step(): .grad is the data gradient.
        for n, g in read_paddle_grads(net).items():
            grads[n].append(g)
        opt.step()
        opt.clear_grad()
        for n, w in read_paddle(net).items():
            traj[n].append(w)
    return traj, grads


def _run_keras(row, weights, x, y, lr, coeff, steps, zero_data):
    keras = import_keras()
    import torch

    def build(kernel_regularizer=None):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8, activation="tanh", kernel_regularizer=kernel_regularizer),
                keras.layers.Dense(3, kernel_regularizer=kernel_regularizer),
            ]
        )
        for v, n in zip(model.trainable_variables, NAMES, strict=True):  # kernel0, bias0, kernel1, bias1
            v.assign(torch_to_keras(n, weights[n]))
        return model

    model, opt, penalty = row.setup(build, lr, coeff)
    if penalty is not None:
        raise ValueError(f"row {row.id!r}: the Keras runner adds no loss term (Keras keeps its own)")
    kvars = model.trainable_variables
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    params = [v.value for v in kvars]
    traj = {n: [weights[n].copy()] for n in NAMES}
    grads = {n: [] for n in NAMES}
    for _ in range(steps):
        data_loss = torch.nn.functional.cross_entropy(model(xt), yt) * (0.0 if zero_data else 1.0)
        loss_terms = sum(model.losses) if model.losses else 0.0
        data_grads = torch.autograd.grad(data_loss, params, retain_graph=True)
        total_grads = torch.autograd.grad(data_loss + loss_terms, params) if model.losses else data_grads
        opt.apply([g.detach() for g in total_grads], kvars)
        for n, v, g in zip(NAMES, kvars, data_grads, strict=True):
            grads[n].append(keras_to_torch(n, g))
            traj[n].append(keras_to_torch(n, v.value))
    return traj, grads


_RUNNERS = {"PyTorch": _run_torch, "Paddle": _run_paddle, "Keras 3": _run_keras}


def _by_name(name: str, value) -> Mapping:
    """``value`` if it is a dict with (at least) the keys :data:`NAMES`, else raise naming ``name``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict keyed by {NAMES}; got {type(value).__name__}")
    missing = [n for n in NAMES if n not in value]
    if missing:
        raise ValueError(f"{name} must have the keys {NAMES}; missing {missing}")
    return value


def _check_weights(weights) -> dict[str, np.ndarray]:
    weights = _by_name("weights", weights)
    out = {}
    for n in NAMES:
        arr = _checks.array(f"weights[{n!r}]", weights[n])
        if arr.shape != _SHAPES[n]:
            raise ValueError(f"weights[{n!r}] must have shape {_SHAPES[n]} (PyTorch layout); got {arr.shape}")
        out[n] = arr.astype(np.float32)
    return out


def _check_batch(batch) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, tuple | list) or len(batch) != 2:
        raise TypeError(f"batch must be a pair (x, y); got {type(batch).__name__}")
    x = _checks.array("batch[0]", batch[0]).astype(np.float32)
    y = np.asarray(batch[1])
    if x.ndim != 2 or x.shape[1] != 4:
        raise ValueError(f"batch[0] must have shape [n, 4]; got {x.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"batch[1] must hold integer labels; got dtype {y.dtype}")
    if y.shape != (x.shape[0],) or not np.isin(y, (0, 1, 2)).all():
        raise ValueError(f"batch[1] must hold {x.shape[0]} integer labels in 0..2")
    return x, y.astype(np.int64)


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
    row = _row(row_id)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    coeff = _checks.real("coeff", coeff, low=0.0)
    steps = _checks.integer("steps", steps, low=1)
    zero_data = _checks.flag("zero_data", zero_data)
    weights = initial_weights() if weights is None else _check_weights(weights)
    x, y = one_batch() if batch is None else _check_batch(batch)
    return _RUNNERS[row.framework](row, weights, x, y, lr, coeff, steps, zero_data)


# -- identifying what a row does ----------------------------------------------------------------------


def candidates(coeff: float, optimizer: str = "momentum") -> dict[str, dict]:
    """The configurations a row is compared against, by label (the constants above).

    For ``"momentum"`` and ``"adam"`` the values are the ``decay`` argument of the NumPy
    reference (:mod:`decaylab.reference`), ``{kind: coefficient}``; for the newer optimizers
    (:data:`NEW_CANDIDATE_LABELS`) they are ``{rule: coefficient}`` with the rules of
    :func:`replay_error_new`.
    """
    c = _checks.real("coeff", coeff, low=0.0)
    optimizer = _checks.one_of("optimizer", optimizer, OPTIMIZERS)
    if optimizer in NEW_CANDIDATE_LABELS:
        rules = {
            NOTHING: "none",
            L2_C: "l2",
            DECOUPLED_C: "decoupled",
            DECOUPLED_UNSCALED: "unscaled",
            DECOUPLED_ADJUSTED: "adjusted",
            AT_Y: "y",
            AT_Z: "z",
            Y_BEFORE: "y-before",
        }
        return {
            label: {rules[label]: 0.0 if label == NOTHING else c} for label in NEW_CANDIDATE_LABELS[optimizer]
        }
    return {
        NOTHING: {"none": 0.0},
        L2_HALF_C: {"l2": c / 2},
        L2_C: {"l2": c},
        L2_TWO_C: {"l2": 2 * c},
        L1_C: {"l1": c},
        L1_C_L2_TWO_C: {"l1": c, "l2": 2 * c},
        DECOUPLED_C: {"decoupled": c},
    }


#: The rules of :func:`replay_error_new`, by optimizer.
_NEW_RULES = {
    "lion": ("none", "l2", "decoupled", "unscaled"),
    "muon": ("none", "l2", "decoupled", "unscaled", "adjusted"),
    "schedulefree": ("none", "l2", "y", "z", "y-before"),
}


def replay_error_new(optimizer: str, weights, grads, *, lr: float, decay: Mapping, **options) -> float:
    """:func:`decaylab.reference.replay_error` for the newer optimizers of :mod:`decaylab.newopt`.

    ``weights`` holds one parameter's observed ``w_0 ... w_T`` (PyTorch layout), ``grads``
    its data gradients ``g_0 ... g_(T-1)``; the reference step of ``optimizer`` (``"lion"``:
    :func:`~decaylab.newopt.lion_step` in float32, with lion-pytorch's and Keras's betas
    (0.9, 0.99); ``"muon"``: :func:`~decaylab.newopt.muon_step` with momentum 0.95, Nesterov and
    ``adjust_lr_fn=MUON_ADJUST_LR_FN``; ``"schedulefree"``:
    :func:`~decaylab.newopt.schedulefree_adamw_step` with its defaults) predicts each
    ``w_(t+1)`` from the observed ``w_t``, ``g_t`` and its own state; returns the largest
    absolute error. ``decay`` is ``{rule: c}``, one rule:

    * ``"none"``; ``"l2"``: ``c·w`` added to the data gradient before the optimizer sees it;
    * ``"decoupled"``: ``w·(1 − lr·c)`` before the update (Lion, Muon);
    * ``"unscaled"``: ``w·(1 − c)`` (Lion, Muon); ``"adjusted"``: ``w·(1 − lr·ρ·c)``, ``ρ`` Muon's
      update scale :func:`~decaylab.newopt.muon_lr_ratio` (Muon);
    * ``"y"``, ``"z"``, ``"y-before"``: the ``decay_at`` of
      :func:`~decaylab.newopt.schedulefree_adamw_step` (schedule-free AdamW).

    ``options`` go to the reference step (e.g. ``x_from_new_z=True`` for schedule-free).
    """
    from . import newopt

    optimizer = _checks.one_of("optimizer", optimizer, _NEW_RULES)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    if not isinstance(decay, Mapping) or len(decay) != 1:
        raise TypeError(f"decay must be a dict with one rule and its coefficient; got {decay!r}")
    ((rule, c),) = decay.items()
    rule = _checks.one_of("decay rule", rule, _NEW_RULES[optimizer])
    c = _checks.real("decay coefficient", c, low=0.0)
    check_trajectory(weights, grads)
    single = optimizer == "lion"
    dt = np.float32 if single else np.float64
    worst, state = 0.0, None
    for t, g in enumerate(grads):
        w = _checks.array(f"weights[{t}]", weights[t]).astype(dt)
        g = _checks.array(f"grads[{t}]", g).astype(dt)
        _checks.same_shape(f"weights[{t}]", w, f"grads[{t}]", g)
        if rule == "l2":
            g = g + w * dt(c)
        if optimizer == "lion":
            wd = {"decoupled": c, "unscaled": c / lr}.get(rule, 0.0)
            state = np.zeros_like(w) if state is None else state
            predicted, state = newopt.lion_step(w, g, state, lr=lr, weight_decay=wd, **options)
        elif optimizer == "muon":
            if w.ndim != 2:
                raise ValueError(f"weights[{t}] must be a matrix for optimizer 'muon'; got shape {w.shape}")
            rho = newopt.muon_lr_ratio(w.shape, MUON_ADJUST_LR_FN)
            wd = {"decoupled": c, "unscaled": c / lr, "adjusted": c * rho}.get(rule, 0.0)
            state = np.zeros_like(w) if state is None else state
            predicted, state = newopt.muon_step(
                w, g, state, lr=lr, weight_decay=wd, **{"adjust_lr_fn": MUON_ADJUST_LR_FN, **options}
            )
        else:
            at = rule if rule in ("y", "z", "y-before") else "y"
            wd = c if rule in ("y", "z", "y-before") else 0.0
            predicted, state = newopt.schedulefree_adamw_step(
                w, g, state, lr=lr, weight_decay=wd, decay_at=at, **options
            )
        observed = _checks.array(f"weights[{t + 1}]", weights[t + 1])
        _checks.same_shape("predicted weights", predicted, f"weights[{t + 1}]", observed)
        worst = max(worst, float(np.max(np.abs(predicted.astype(np.float64) - observed))))
    return worst


def replay_errors(
    row_id: str, trajectories, data_grads, *, lr: float = 0.1, coeff: float = 0.05
) -> dict[str, dict[str, float]]:
    """For each parameter, the replay error of every candidate: ``{name: {label: error}}``.

    ``trajectories`` and ``data_grads`` are what :func:`run_row` returned, run with the
    same ``lr`` and ``coeff``; each parameter is compared with the candidates of its own
    reference optimizer (:meth:`Row.optimizer_of`).
    """
    row = _row(row_id)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    coeff = _checks.real("coeff", coeff, low=0.0)
    trajectories = _by_name("trajectories", trajectories)
    data_grads = _by_name("data_grads", data_grads)
    out = {}
    for n in NAMES:
        optimizer = row.optimizer_of(n)
        if optimizer in NEW_CANDIDATE_LABELS:
            out[n] = {
                label: replay_error_new(
                    optimizer, trajectories[n], data_grads[n], lr=lr, decay=decay, **dict(row.options)
                )
                for label, decay in candidates(coeff, optimizer).items()
            }
        else:
            base = {**row.reference_of(n), "lr": lr}
            out[n] = {
                label: replay_error(trajectories[n], data_grads[n], decay=decay, **base)
                for label, decay in candidates(coeff, optimizer).items()
            }
    return out


def identify(
    row_id: str, trajectories, data_grads, *, lr: float = 0.1, coeff: float = 0.05
) -> dict[str, str]:
    """For each parameter, the label of the one candidate configuration that replays its trajectory.

    ``trajectories`` and ``data_grads`` are what :func:`run_row` returned, run with the
    same ``lr`` and ``coeff`` (and, for a row with ``zero_data=True``, with no data
    gradient: :attr:`Row.probe`). Raises :class:`IdentificationFailed` if no candidate
    reproduces a trajectory to ``MATCH_TOLERANCE`` (2e-6), or if a second candidate also
    comes within ``RUNNER_UP_GAP`` (1e-4): the identification would be ambiguous.
    """
    row = _row(row_id)
    errors_by_name = replay_errors(row_id, trajectories, data_grads, lr=lr, coeff=coeff)
    if row.zero_data and any(np.any(np.asarray(g) != 0) for g in data_grads["0.weight"]):
        raise IdentificationFailed(
            f"{row_id}: its data trajectory is not replayed to float32 rounding (Newton-Schulz in "
            "bfloat16); identify it on a run with zero_data=True (Row.probe)"
        )
    found = {}
    for n in NAMES:
        errors = errors_by_name[n]
        best, second = sorted(errors, key=errors.get)[:2]
        if not errors[best] < MATCH_TOLERANCE:
            raise IdentificationFailed(
                f"{row_id}, {n}: no candidate replays the trajectory to {MATCH_TOLERANCE:g} "
                f"(best {best!r}: {errors[best]:.1e})"
            )
        if not errors[second] > RUNNER_UP_GAP:
            raise IdentificationFailed(
                f"{row_id}, {n}: ambiguous between {best!r} ({errors[best]:.1e}) and "
                f"{second!r} ({errors[second]:.1e})"
            )
        found[n] = best
    return found


# -- the exclusion recipe -------------------------------------------------------------------------

#: The parameters of the Linear → LayerNorm → Linear model of :func:`exclusion_recipe`, in order.
EXCLUSION_KEYS = (
    "linear1.weight",
    "linear1.bias",
    "norm.weight",
    "norm.bias",
    "linear2.weight",
    "linear2.bias",
)


def _exclusion_torch(x, exclude, lr, coeff, steps):
    import torch

    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3)]
    params = [p for layer in layers for p in (layer.weight, layer.bias)]  # in the order of EXCLUSION_KEYS
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
    return [float(p.detach().norm() / s.norm()) for p, s in zip(params, start, strict=True)]


def _exclusion_paddle(x, exclude, lr, coeff, steps):
    import paddle

    paddle.seed(0)
    layers = [paddle.nn.Linear(4, 8), paddle.nn.LayerNorm(8), paddle.nn.Linear(8, 3)]
    params = [p for layer in layers for p in (layer.weight, layer.bias)]  # in the order of EXCLUSION_KEYS
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
    return [float(np.linalg.norm(p.numpy()) / np.linalg.norm(s)) for p, s in zip(params, start, strict=True)]


def _exclusion_keras(x, exclude, lr, coeff, steps):
    keras = import_keras()
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
    return [float(v.value.detach().norm() / s.norm()) for v, s in zip(kvars, start, strict=True)]


_EXCLUSIONS = {"PyTorch": _exclusion_torch, "Paddle": _exclusion_paddle, "Keras 3": _exclusion_keras}


def exclusion_recipe(
    framework: str, *, exclude: bool = True, lr: float = 0.1, coeff: float = 0.1, steps: int = 3
) -> dict[str, float]:
    """Decay weights but not biases or normalization parameters, with each framework's own tools.

    Builds Linear(4, 8) → LayerNorm(8) → Linear(8, 3) in ``framework`` (biases and the
    normalization parameters are moved off their initial 0 and 1 first), trains
    ``steps`` steps of decoupled decay (AdamW) with a **zero data gradient**, so only the
    decay can move a parameter, and returns ``{parameter: final / initial norm}``. With
    the recipe (PyTorch: parameter groups; Paddle: ``apply_decay_param_fun``; Keras:
    ``exclude_from_weight_decay``), the two Linear weights shrink by
    ``(1 - lr*coeff)**steps`` and everything else stays at 1. ``exclude=False`` runs the
    same optimizer without the recipe (every parameter decayed), for contrast. Keys:
    :data:`EXCLUSION_KEYS`.
    """
    framework = _checks.one_of("framework", framework, FRAMEWORKS)
    exclude = _checks.flag("exclude", exclude)
    lr = _checks.real("lr", lr, low=0.0, low_open=True)
    coeff = _checks.real("coeff", coeff, low=0.0)
    steps = _checks.integer("steps", steps, low=1)
    x, _ = one_batch()
    ratios = _EXCLUSIONS[framework](x, exclude, lr, coeff, steps)
    return dict(zip(EXCLUSION_KEYS, ratios, strict=True))
