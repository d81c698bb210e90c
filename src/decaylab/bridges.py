"""Put the same weights into a PyTorch module and a PaddlePaddle layer, and read them back.

Weights travel as a dict ``{parameter name: NumPy array}`` in **PyTorch's layout**, the
book's neutral format. The names are the ones ``state_dict()`` uses in both
frameworks (``"0.weight"``, ``"hidden.bias"``, ...), which agree for the same
architecture. The one layout difference that matters for the book's models:

* ``torch.nn.Linear.weight`` has shape ``[out_features, in_features]``;
* ``paddle.nn.Linear.weight`` has shape ``[in_features, out_features]``.

The Paddle functions transpose the weights of every ``paddle.nn.Linear`` on the way
in and out; convolution kernels (``[out, in, kh, kw]`` in both) and biases are copied
as they are. Neither framework is imported by this module: the functions take the
module or layer you already built.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import numpy as np

__all__ = [
    "paddle_linear_weight_names",
    "read_paddle",
    "read_torch",
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
    return {str(k): np.asarray(v) for k, v in weights.items()}


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
