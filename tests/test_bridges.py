"""Bridges: the same weights in torch and Paddle, round trips, and bad input."""

import numpy as np
import pytest

from decaylab.bridges import paddle_linear_weight_names, read_paddle, read_torch, write_paddle, write_torch
from decaylab.notebook import setup_notebook

setup_notebook()  # quiet Paddle import for the whole module

import paddle  # noqa: E402
import torch  # noqa: E402


def torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))


def paddle_mlp():
    paddle.seed(0)
    return paddle.nn.Sequential(paddle.nn.Linear(3, 5), paddle.nn.ReLU(), paddle.nn.Linear(5, 2))


def test_linear_weights_are_transposed_between_frameworks():
    t, p = torch_mlp(), paddle_mlp()
    assert tuple(t[0].weight.shape) == (5, 3)
    assert tuple(p[0].weight.shape) == (3, 5)
    assert paddle_linear_weight_names(p) == {"0.weight", "2.weight"}
    assert {k: v.shape for k, v in read_paddle(p).items()} == {k: v.shape for k, v in read_torch(t).items()}


def test_torch_to_paddle_gives_the_same_function_and_round_trips():
    t, p = torch_mlp(), paddle_mlp()
    weights = read_torch(t)
    write_paddle(p, weights)
    back = read_paddle(p)
    assert set(back) == set(weights)
    for name in weights:
        np.testing.assert_array_equal(back[name], weights[name])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    out_t = t(torch.from_numpy(x)).detach().numpy()
    out_p = p(paddle.to_tensor(x)).numpy()
    np.testing.assert_allclose(out_p, out_t, rtol=1e-6, atol=1e-6)


def test_paddle_to_torch_round_trips():
    t, p = torch_mlp(), paddle_mlp()
    weights = read_paddle(p)
    write_torch(t, weights)
    for name, arr in read_torch(t).items():
        np.testing.assert_array_equal(arr, weights[name])


def test_single_linear_layer_without_bias():
    t = torch.nn.Linear(3, 4, bias=False)
    p = paddle.nn.Linear(3, 4, bias_attr=False)
    write_paddle(p, read_torch(t))
    np.testing.assert_array_equal(p.weight.numpy(), t.weight.detach().numpy().T)


def test_conv_kernels_are_copied_as_they_are():
    t = torch.nn.Conv2d(2, 3, 1, bias=False)
    p = paddle.nn.Conv2D(2, 3, 1, bias_attr=False)
    write_paddle(p, read_torch(t))
    np.testing.assert_array_equal(p.weight.numpy(), t.weight.detach().numpy())


def test_read_returns_copies():
    t = torch_mlp()
    weights = read_torch(t)
    weights["0.bias"][:] = 123.0
    assert not np.any(t[0].bias.detach().numpy() == 123.0)


def test_mismatched_shape_is_named():
    p = paddle_mlp()
    weights = read_paddle(p)
    weights["0.weight"] = weights["0.weight"].T  # Paddle's own layout, not PyTorch's
    with pytest.raises(ValueError, match=r"weights\['0.weight'\] must have shape \(5, 3\) \(PyTorch layout"):
        write_paddle(p, weights)
    t = torch_mlp()
    with pytest.raises(ValueError, match=r"weights\['0.weight'\] must have shape \(5, 3\)"):
        write_torch(t, weights)


def test_unknown_and_missing_names_are_listed():
    t = torch_mlp()
    weights = read_torch(t)
    weights["hidden.weight"] = weights.pop("0.weight")
    with pytest.raises(
        ValueError, match=r"unknown name\(s\) \['hidden.weight'\]; missing name\(s\) \['0.weight'\]"
    ):
        write_torch(t, weights)


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.Module"):
        read_torch(paddle_mlp())
    with pytest.raises(TypeError, match=r"layer must be a paddle\.nn\.Layer"):
        read_paddle(torch_mlp())
    with pytest.raises(TypeError, match=r"weights must be a dict"):
        write_torch(torch_mlp(), [1, 2, 3])
