"""Bridges: the same weights in torch, Paddle and Keras, round trips, and bad input."""

import re

import numpy as np
import pytest

from decaylab.bridges import (
    keras_to_torch,
    paddle_linear_weight_names,
    read_paddle,
    read_paddle_grads,
    read_torch,
    torch_to_keras,
    write_paddle,
    write_torch,
)
from decaylab.notebook import import_keras, setup_notebook

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


def test_paddle_gradients_are_read_in_torch_layout():
    # The same weights and the same loss give the same gradients in both frameworks.
    t, p = torch_mlp(), paddle_mlp()
    write_paddle(p, read_torch(t))
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    (t(torch.from_numpy(x)) ** 2).mean().backward()
    (p(paddle.to_tensor(x)) ** 2).mean().backward()
    grads = read_paddle_grads(p)
    for name, param in t.named_parameters():
        np.testing.assert_allclose(grads[name], param.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_paddle_gradients_must_exist():
    with pytest.raises(ValueError, match=r"no gradient: \['0.bias', '0.weight', '2.bias', '2.weight'\]"):
        read_paddle_grads(paddle_mlp())


def keras_dense():
    keras = import_keras()

    layer = keras.layers.Dense(5, activation=None)
    layer.build((None, 3))
    return layer


def test_keras_dense_gives_the_torch_linear_function():
    t = torch_mlp()[0]
    dense = keras_dense()
    kernel, bias = dense.trainable_variables
    weights = read_torch(t)
    kernel.assign(torch_to_keras("weight", weights["weight"]))
    bias.assign(torch_to_keras("bias", weights["bias"]))
    assert tuple(kernel.shape) == (3, 5)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    out_k = dense(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out_k, t(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(keras_to_torch("0.weight", kernel.value), weights["weight"])
    np.testing.assert_array_equal(keras_to_torch("0.bias", bias.value), weights["bias"])


def test_keras_conversions_round_trip_and_copy():
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    back = keras_to_torch("hidden.weight", torch_to_keras("hidden.weight", w))
    np.testing.assert_array_equal(back, w)
    b = np.ones(3, dtype=np.float32)
    copied = keras_to_torch("hidden.bias", b)
    copied[:] = 5.0
    assert b[0] == 1.0
    grad = torch.ones(3, 2, requires_grad=True) * 2.0  # a tensor that still tracks gradients
    assert keras_to_torch("0.weight", grad).shape == (2, 3)


def test_keras_conversions_refuse_bad_input():
    with pytest.raises(ValueError, match=r"array for '0.weight' must be 2-D; got shape \(3,\)"):
        torch_to_keras("0.weight", np.zeros(3))
    with pytest.raises(ValueError, match=r"value for '0.bias' must be 1-D"):
        keras_to_torch("0.bias", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="name must end in 'weight' or 'bias'"):
        torch_to_keras("0.gamma", np.zeros(3))
    with pytest.raises(TypeError, match="name must be the PyTorch name"):
        torch_to_keras(0, np.zeros(3))


# --- added for mutation testing (issue 10, section 6) ---------------------------------------------

TORCH_SEQ = "torch.nn.modules.container.Sequential"


def test_every_function_names_its_own_argument():
    p, t = paddle_mlp(), torch_mlp()
    paddle_name = re.escape(f"{type(p).__module__}.{type(p).__name__}")
    with pytest.raises(TypeError, match=rf"^module must be a torch\.nn\.Module; got {paddle_name}$"):
        write_torch(p, {})
    for fn, args in [
        (paddle_linear_weight_names, ()),
        (read_paddle_grads, ()),
        (write_paddle, ({},)),
    ]:
        with pytest.raises(TypeError, match=rf"^layer must be a paddle\.nn\.Layer; got {TORCH_SEQ}$"):
            fn(t, *args)


def test_weights_type_error_names_the_type():
    with pytest.raises(TypeError, match=r"^weights must be a dict \{parameter name: array\}; got list$"):
        write_paddle(paddle_mlp(), [1, 2, 3])


@pytest.mark.parametrize(
    ("framework", "target"), [("torch", "the torch module"), ("paddle", "the Paddle layer")]
)
def test_only_missing_or_only_unknown_names_are_refused(framework, target):
    model, write = (torch_mlp(), write_torch) if framework == "torch" else (paddle_mlp(), write_paddle)
    weights = read_torch(torch_mlp())
    accepted = r"Accepted names: \['0.bias', '0.weight', '2.bias', '2.weight'\]$"
    missing = {k: v for k, v in weights.items() if k != "2.bias"}
    with pytest.raises(
        ValueError,
        match=rf"^weights must have exactly the parameter names of {target}: missing name\(s\) \['2.bias'\]\. "
        + accepted,
    ):
        write(model, missing)
    with pytest.raises(ValueError, match=r"^weights must have exactly .*: unknown name\(s\) \['extra'\]\. "):
        write(model, {**weights, "extra": np.zeros(2)})


def test_shape_errors_state_the_layout():
    t = torch_mlp()
    weights = read_torch(t)
    weights["0.weight"] = weights["0.weight"].T
    with pytest.raises(
        ValueError, match=r"^weights\['0.weight'\] must have shape \(5, 3\) \(PyTorch layout\); got \(3, 5\)$"
    ):
        write_torch(t, weights)
    weights = read_torch(t)
    weights["0.bias"] = np.zeros(4, dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"^weights\['0.bias'\] must have shape \(5,\) \(same in both frameworks\); got \(4,\)$",
    ):
        write_paddle(paddle_mlp(), weights)


def test_write_keeps_the_parameter_dtype():
    weights = {k: v.astype(np.float64) for k, v in read_torch(torch_mlp()).items()}
    p, t = paddle_mlp(), torch_mlp()
    write_paddle(p, weights)
    write_torch(t, weights)
    for name, arr in read_paddle(p).items():
        assert arr.dtype == np.float32
        np.testing.assert_array_equal(arr, weights[name].astype(np.float32))
    assert all(v.dtype == np.float32 for v in read_torch(t).values())


def test_paddle_conv_kernels_and_their_gradients_are_read_as_they_are():
    t = torch.nn.Conv2d(2, 3, (1, 2))
    p = paddle.nn.Conv2D(2, 3, (1, 2))
    write_paddle(p, read_torch(t))
    weights = read_paddle(p)
    assert weights["weight"].shape == (3, 2, 1, 2)
    np.testing.assert_array_equal(weights["weight"], t.weight.detach().numpy())
    p(paddle.ones([1, 2, 2, 3])).sum().backward()
    assert read_paddle_grads(p)["weight"].shape == (3, 2, 1, 2)


def test_paddle_reads_return_copies():
    p = paddle_mlp()
    p(paddle.ones([1, 3])).sum().backward()
    weights, grads = read_paddle(p), read_paddle_grads(p)
    weights["0.bias"][:] = 123.0
    grads["0.bias"][:] = 123.0
    assert not np.any(p[0].bias.numpy() == 123.0)
    assert not np.any(p[0].bias.grad.numpy() == 123.0)


def test_a_weight_that_is_not_finite_is_named_whole():
    # added for mutation testing (issue 19): the message names the parameter, in full
    weights = read_torch(torch_mlp())
    weights["2.bias"] = np.array([np.nan, 0.0])
    for write, module in ((write_torch, torch_mlp()), (write_paddle, paddle_mlp())):
        with pytest.raises(
            ValueError, match=r"^weights\['2\.bias'\] must hold only finite numbers \(no NaN or inf\)$"
        ):
            write(module, weights)
