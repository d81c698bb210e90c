"""Put the same weights into a PyTorch module, a PaddlePaddle layer or a Keras layer, and read them back.

Weights travel as a dict ``{parameter name: NumPy array}`` in **PyTorch's layout**, the
book's neutral format. The names are the ones ``state_dict()`` uses in both
frameworks (``"0.weight"``, ``"hidden.bias"``, ...), which agree for the same
architecture. The one layout difference that matters for the book's models:

* ``torch.nn.Linear.weight`` has shape ``[out_features, in_features]``;
* ``paddle.nn.Linear.weight`` has shape ``[in_features, out_features]``.

The Paddle functions transpose the weights of every ``paddle.nn.Linear`` on the way
in and out (:func:`read_paddle_grads` does the same for the gradients); convolution
kernels (``[out, in, kh, kw]`` in both) and biases are copied as they are.

Keras 3's ``Dense`` kernel is ``[in_features, out_features]`` too. Keras names its
variables ``kernel`` and ``bias`` rather than by module path, so its two functions
convert one parameter at a time, given the PyTorch name it stands for:
:func:`torch_to_keras` on the way in, :func:`keras_to_torch` on the way out (for a
variable's value or its gradient).

No framework is imported by this module: the functions take the module, layer or
tensor you already have.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import numpy as np

from . import _checks

__all__ = [
    "keras_to_torch",
    "paddle_linear_weight_names",
    "read_paddle",
    "read_paddle_grads",
    "read_torch",
    "torch_to_keras",
    "write_paddle",
    "write_torch",
]


def _require(obj, kind: str, name: str):
    """Raise TypeError unless ``obj`` is a torch.nn.Module / paddle.nn.Layer.

    Looks the framework up in ``sys.modules``: an object can only be a module of a
    framework that has been imported, and this keeps decaylab from importing one.
    """
    if kind == "torch":
        framework, what = sys.modules.get("torch"), "a torch.nn.Module"
        ok = framework is not None and isinstance(obj, framework.nn.Module)
    else:
        framework, what = sys.modules.get("paddle"), "a paddle.nn.Layer"
        ok = framework is not None and isinstance(obj, framework.nn.Layer)
    if not ok:
        raise TypeError(f"{name} must be {what}; got {type(obj).__module__}.{type(obj).__name__}")


def _check_weights(weights) -> dict[str, np.ndarray]:
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a dict {{parameter name: array}}; got {type(weights).__name__}")
    # every value a finite array (None, NaN and inf refused, naming the parameter)
    return {str(k): _checks.array(f"weights[{str(k)!r}]", v) for k, v in weights.items()}


def _check_names(weights: Mapping, expected: Mapping, target: str) -> None:
    missing = sorted(set(expected) - set(weights))
    unknown = sorted(set(weights) - set(expected))
    if missing or unknown:
        parts = []
        if unknown:
            parts.append(f"unknown name(s) {unknown}")
        if missing:
            parts.append(f"missing name(s) {missing}")
        raise ValueError(
            f"weights must have exactly the parameter names of {target}: {'; '.join(parts)}. "
            f"Accepted names: {sorted(expected)}"
        )


def _check_shape(name: str, given: tuple, expected: tuple, layout: str) -> None:
    if tuple(given) != tuple(expected):
        raise ValueError(
            f"weights[{name!r}] must have shape {tuple(expected)} ({layout}); got {tuple(given)}"
        )


def read_torch(module) -> dict[str, np.ndarray]:
    """Return a copy of every parameter of a torch module, in PyTorch's layout."""
    _require(module, "torch", "module")
    return {name: p.detach().cpu().numpy().copy() for name, p in module.named_parameters()}


def write_torch(module, weights: Mapping) -> None:
    """Copy ``weights`` (PyTorch layout) into the parameters of a torch module, in place.

    Every parameter of ``module`` must be given, with its exact shape; the dtype of each
    parameter is kept.
    """
    import torch  # the caller already uses torch; keep decaylab importable without it

    _require(module, "torch", "module")
    weights = _check_weights(weights)
    params = dict(module.named_parameters())
    _check_names(weights, params, "the torch module")
    with torch.no_grad():
        for name, p in params.items():
            _check_shape(name, weights[name].shape, p.shape, "PyTorch layout")
            p.copy_(torch.as_tensor(weights[name], dtype=p.dtype))


def paddle_linear_weight_names(layer) -> set[str]:
    """Names of the parameters of ``layer`` that are ``paddle.nn.Linear`` weights."""
    import paddle

    _require(layer, "paddle", "layer")
    names = set()
    for prefix, sub in layer.named_sublayers(include_self=True):
        if isinstance(sub, paddle.nn.Linear):
            names.add(f"{prefix}.weight" if prefix else "weight")
    return names


def read_paddle(layer) -> dict[str, np.ndarray]:
    """Return a copy of every parameter of a Paddle layer, converted to PyTorch's layout."""
    _require(layer, "paddle", "layer")
    linear = paddle_linear_weight_names(layer)
    out = {}
    for name, p in layer.named_parameters():
        arr = np.array(p.numpy(), copy=True)
        out[name] = arr.T.copy() if name in linear else arr
    return out


def read_paddle_grads(layer) -> dict[str, np.ndarray]:
    """Return a copy of the gradient (``.grad``) of every parameter of a Paddle layer, in PyTorch's layout.

    Raises ``ValueError`` naming the parameters that have no gradient (``backward()``
    was not called, or the parameter does not take part in the loss).
    """
    _require(layer, "paddle", "layer")
    params = dict(layer.named_parameters())
    missing = sorted(name for name, p in params.items() if p.grad is None)
    if missing:
        raise ValueError(f"layer has parameters with no gradient: {missing}; call loss.backward() first")
    linear = paddle_linear_weight_names(layer)
    out = {}
    for name, p in params.items():
        arr = np.array(p.grad.numpy(), copy=True)
        out[name] = arr.T.copy() if name in linear else arr
    return out


def _dense_parameter(name, value, what: str) -> tuple[str, np.ndarray]:
    name = _checks.text("name", name, what="the PyTorch name of a Linear parameter, e.g. '0.weight'")
    if hasattr(value, "detach"):  # a torch tensor (Keras 3 on its PyTorch backend)
        value = value.detach().cpu().numpy()
    arr = np.array(value, copy=True)
    kind = "weight" if name == "weight" or name.endswith(".weight") else "bias"
    if kind == "bias" and not (name == "bias" or name.endswith(".bias")):
        raise ValueError(f"name must end in 'weight' or 'bias' (a Linear parameter); got {name!r}")
    expected = 2 if kind == "weight" else 1
    if arr.ndim != expected:
        raise ValueError(f"{what} for {name!r} must be {expected}-D; got shape {arr.shape}")
    return kind, arr


def torch_to_keras(name: str, array) -> np.ndarray:
    """The PyTorch ``Linear`` parameter ``name`` as a Keras ``Dense`` layer stores it.

    A weight (``name`` ends in ``weight``, ``[out, in]``) becomes a kernel ``[in, out]``;
    a bias is copied. Assign the result with ``variable.assign(...)``.
    """
    kind, arr = _dense_parameter(name, array, "array")
    return np.ascontiguousarray(arr.T) if kind == "weight" else arr


def keras_to_torch(name: str, value) -> np.ndarray:
    """A copy of a Keras ``Dense`` variable's value (or gradient) as the PyTorch ``Linear`` parameter ``name``.

    ``value`` is a NumPy array or a torch tensor (what ``variable.value`` is on Keras's
    PyTorch backend). A kernel ``[in, out]`` (``name`` ends in ``weight``) becomes
    ``[out, in]``; a bias is copied.
    """
    kind, arr = _dense_parameter(name, value, "value")
    return np.ascontiguousarray(arr.T) if kind == "weight" else arr


def write_paddle(layer, weights: Mapping) -> None:
    """Copy ``weights`` (PyTorch layout) into the parameters of a Paddle layer, in place.

    ``paddle.nn.Linear`` weights are transposed to Paddle's ``[in, out]`` layout. Every
    parameter must be given, with the shape PyTorch would use for it.
    """
    _require(layer, "paddle", "layer")
    weights = _check_weights(weights)
    params = dict(layer.named_parameters())
    _check_names(weights, params, "the Paddle layer")
    linear = paddle_linear_weight_names(layer)
    for name, p in params.items():
        arr = weights[name]
        shape = tuple(p.shape)
        if name in linear:
            _check_shape(name, arr.shape, shape[::-1], "PyTorch layout [out_features, in_features]")
            arr = arr.T
        else:
            _check_shape(name, arr.shape, shape, "same in both frameworks")
        p.set_value(np.ascontiguousarray(arr, dtype=p.numpy().dtype))
