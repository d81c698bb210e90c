"""The batched engine's fast unit tests: tiny shapes, hand-computed values, the NumPy reference.

Every test here runs in milliseconds (a few models of a few units, a handful of steps), so
that ``make mutants`` can run them against every mutant of ``stacked.py``; the slow
comparisons with per-model ``torch.optim`` runs are in tests/test_stacked_torch.py. The
optimizer tests use learning rates and coefficients that are exact binary fractions (and
``lr != 1``, multipliers ``!= 1``) in float64, so a step is compared with the reference to
the last bits; the training loop of :func:`fit_classifiers` is checked in float64 against
autograd and :meth:`BatchedOptimizer.step`; every error message is matched whole.
"""

import dataclasses
import itertools
import re
import threading

import numpy as np
import pytest
import torch

import decaylab.stacked as stacked
from decaylab.reference import ReferenceOptimizer
from decaylab.stacked import (
    BatchedOptimizer,
    StackedMLP,
    cosine_multipliers,
    fit_classifiers,
    minibatch_orders,
)

#: The engine warns about nothing: a torch warning here (an ``out=`` buffer of the wrong shape that
#: torch resizes, say) fails the test.
pytestmark = pytest.mark.filterwarnings("error")

F64 = torch.float64


def whole(message: str) -> str:
    """A regular expression that matches exactly ``message`` (pytest.raises' ``match``)."""
    return "^" + re.escape(message) + "$"


def tensors(m=2, sizes=(3, 4, 2), seed=0, dtype=F64):
    """Random weights ``[M, in, out]`` and biases ``[M, 1, out]`` of an MLP with ``sizes``."""
    g = torch.Generator().manual_seed(seed)
    ws = [torch.randn(m, a, b, generator=g, dtype=dtype) * 0.7 for a, b in itertools.pairwise(sizes)]
    bs = [torch.randn(m, 1, b, generator=g, dtype=dtype) * 0.3 for b in sizes[1:]]
    return ws, bs


def norm_tensors(m, sizes, seed=1, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    gains = [0.5 + torch.rand(m, 1, b, generator=g, dtype=dtype) for b in sizes[1:-1]]
    shifts = [torch.rand(m, 1, b, generator=g, dtype=dtype) - 0.5 for b in sizes[1:-1]]
    return gains, shifts


def stack_of(m=2, sizes=(3, 4, 2), norm=None, activation="relu", seed=0, dtype=F64, running=False):
    ws, bs = tensors(m, sizes, seed, dtype)
    kw = {}
    if norm is not None:
        kw["norm_weights"], kw["norm_biases"] = norm_tensors(m, sizes, seed + 1, dtype)
    if running:
        g = torch.Generator().manual_seed(seed + 2)
        kw["running_means"] = [torch.rand(m, 1, b, generator=g, dtype=dtype) - 0.5 for b in sizes[1:-1]]
        kw["running_vars"] = [0.5 + torch.rand(m, 1, b, generator=g, dtype=dtype) for b in sizes[1:-1]]
    return StackedMLP(ws, bs, activation, norm=norm, **kw)


def batch(n=8, features=3, classes=2, seed=5, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g, dtype=dtype), torch.randint(0, classes, (n,), generator=g)


def np_forward(stack, x, i, *, training=True):
    """Model ``i``'s outputs computed with NumPy from the stack's tensors (the running
    statistics as they are before the call)."""
    h = np.asarray(x[i] if x.dim() == 3 else x, dtype=np.float64)
    n_layers = len(stack.weights)
    for k in range(n_layers):
        h = (
            h @ stack.weights[k][i].detach().double().numpy()
            + stack.biases[k][i, 0].detach().double().numpy()
        )
        if k == n_layers - 1:
            break
        if stack.norm is not None:
            gain = stack.norm_weights[k][i, 0].detach().double().numpy()
            shift = stack.norm_biases[k][i, 0].detach().double().numpy()
            if stack.norm == "layer":
                mean, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
            elif training:
                mean, var = h.mean(0, keepdims=True), h.var(0, keepdims=True)
            else:
                mean = stack.running_means[k][i, 0].double().numpy()
                var = stack.running_vars[k][i, 0].double().numpy()
            h = (h - mean) / np.sqrt(var + 1e-5) * gain + shift
        h = np.maximum(h, 0.0) if stack.activation == "relu" else np.tanh(h)
    return h


def hidden_pre_norm(stack, x, i):
    """The inputs of model ``i``'s normalization layers (for the running statistics)."""
    h, out = np.asarray(x, dtype=np.float64), []
    for k in range(len(stack.weights) - 1):
        h = h @ stack.weights[k][i].detach().numpy() + stack.biases[k][i, 0].detach().numpy()
        out.append(h)
        mean, var = h.mean(0, keepdims=True), h.var(0, keepdims=True)
        gain, shift = (
            stack.norm_weights[k][i, 0].detach().numpy(),
            stack.norm_biases[k][i, 0].detach().numpy(),
        )
        h = (h - mean) / np.sqrt(var + 1e-5) * gain + shift
        h = np.maximum(h, 0.0) if stack.activation == "relu" else np.tanh(h)
    return out


# -- StackedMLP: construction ----------------------------------------------------------------------


def test_a_stack_copies_its_tensors_and_makes_them_trainable():
    ws, bs = tensors(2, (3, 4, 2))
    stack = StackedMLP(ws, bs)
    assert stack.activation == "relu" and stack.norm is None and stack.training is True
    assert stack.n_models == 2 and stack.sizes == [3, 4, 2]
    for mine, given in zip(stack.weights + stack.biases, ws + bs, strict=True):
        assert mine.requires_grad and mine.is_leaf and mine is not given
        assert torch.equal(mine.detach(), given)
    ws[0].add_(1.0)  # the stack holds copies
    assert not torch.equal(stack.weights[0].detach(), ws[0])
    assert stack.norm_weights == stack.norm_biases == stack.running_means == stack.running_vars == []


def test_a_single_linear_layer_is_a_stack():
    ws, bs = tensors(3, (2, 5))
    stack = StackedMLP(ws, bs, "tanh")
    x = torch.randn(4, 2, dtype=F64)
    np.testing.assert_allclose(stack(x).detach().numpy(), (x @ ws[0] + bs[0]).numpy(), rtol=1e-12)
    assert stack.sizes == [2, 5] and stack.parameter_kinds() == ["weight", "bias"]


@pytest.mark.parametrize(
    ("weights", "biases", "message"),
    [
        ([], [], "weights and biases must be non-empty lists of the same length; got 0 and 0"),
        (
            [torch.zeros(2, 3, 4)],
            [torch.zeros(2, 1, 4)] * 2,
            "weights and biases must be non-empty lists of the same length; got 1 and 2",
        ),
        (
            [torch.zeros(3, 4)],
            [torch.zeros(2, 1, 4)],
            "weights[0] must have shape [M, in, out] and biases[0] shape [M, 1, out] with M = 3; got (3, 4) and (2, 1, 4)",
        ),
        (
            [torch.zeros(2, 3, 4)],
            [torch.zeros(2, 4)],
            "weights[0] must have shape [M, in, out] and biases[0] shape [M, 1, out] with M = 2; got (2, 3, 4) and (2, 4)",
        ),
        (
            [torch.zeros(2, 3, 4), torch.zeros(3, 4, 1)],
            [torch.zeros(2, 1, 4), torch.zeros(3, 1, 1)],
            "weights[1] must have shape [M, in, out] and biases[1] shape [M, 1, out] with M = 2; got (3, 4, 1) and (3, 1, 1)",
        ),
        (
            [torch.zeros(2, 3, 4)],
            [torch.zeros(2, 1, 5)],
            "weights[0] must have shape [M, in, out] and biases[0] shape [M, 1, out] with M = 2; got (2, 3, 4) and (2, 1, 5)",
        ),
        (
            [torch.zeros(2, 3, 4)],
            [torch.zeros(2, 2, 4)],
            "weights[0] must have shape [M, in, out] and biases[0] shape [M, 1, out] with M = 2; got (2, 3, 4) and (2, 2, 4)",
        ),
        (
            [torch.zeros(2, 3, 4)],
            [torch.zeros(1, 1, 4)],
            "weights[0] must have shape [M, in, out] and biases[0] shape [M, 1, out] with M = 2; got (2, 3, 4) and (1, 1, 4)",
        ),
        (
            [torch.zeros(2, 3, 4), torch.zeros(2, 5, 1)],
            [torch.zeros(2, 1, 4), torch.zeros(2, 1, 1)],
            "weights[1] takes 5 inputs but layer 0 gives 4",
        ),
        (
            [torch.zeros(2, 3, 4), torch.zeros(2, 4, 6), torch.zeros(2, 4, 1)],
            [torch.zeros(2, 1, 4), torch.zeros(2, 1, 6), torch.zeros(2, 1, 1)],
            "weights[2] takes 4 inputs but layer 1 gives 6",
        ),
    ],
)
def test_a_stack_refuses_inconsistent_shapes(weights, biases, message):
    with pytest.raises(ValueError, match=whole(message)):
        StackedMLP(weights, biases)


def test_a_stack_refuses_what_is_not_a_list_of_tensors():
    ws, bs = tensors(2, (3, 4, 2))
    with pytest.raises(TypeError, match=whole("weights must be a list of torch tensors; got Tensor")):
        StackedMLP(ws[0], bs)
    with pytest.raises(TypeError, match=whole("biases must be a list of torch tensors; got dict")):
        StackedMLP(ws, dict(enumerate(bs)))
    with pytest.raises(TypeError, match=whole("biases must be a list of torch tensors; got int")):
        StackedMLP(ws, 3)
    with pytest.raises(
        TypeError,
        match=whole(
            "weights[1] must be a torch tensor (torch.from_numpy(...) for a NumPy array); got ndarray"
        ),
    ):
        StackedMLP([ws[0], ws[1].numpy()], bs)
    with pytest.raises(
        TypeError,
        match=whole("biases[0] must be a torch tensor (torch.from_numpy(...) for a NumPy array); got list"),
    ):
        StackedMLP(ws, [[0.0], bs[1]])
    assert StackedMLP(tuple(ws), tuple(bs)).n_models == 2  # any sequence of tensors


def test_a_stack_refuses_a_bad_activation_or_norm():
    ws, bs = tensors(2, (3, 4, 2))
    with pytest.raises(ValueError, match=whole("activation must be one of 'relu', 'tanh'; got 'gelu'")):
        StackedMLP(ws, bs, "gelu")
    with pytest.raises(ValueError, match=whole("norm must be one of None, 'layer', 'batch'; got 'group'")):
        StackedMLP(ws, bs, norm="group")


def test_the_norm_tensors_default_to_torch_initial_values():
    ws, bs = tensors(2, (3, 4, 5, 2), dtype=torch.float32)
    layer = StackedMLP(ws, bs, norm="layer")
    assert layer.norm == "layer" and layer.running_means == layer.running_vars == []
    for k, n in enumerate((4, 5)):
        assert torch.equal(layer.norm_weights[k].detach(), torch.ones(2, 1, n))
        assert torch.equal(layer.norm_biases[k].detach(), torch.zeros(2, 1, n))
        assert layer.norm_weights[k].requires_grad and layer.norm_biases[k].requires_grad
        assert layer.norm_weights[k].dtype == torch.float32
    batchnorm = StackedMLP([w.double() for w in ws], [b.double() for b in bs], norm="batch")
    for k, n in enumerate((4, 5)):
        assert torch.equal(batchnorm.running_means[k], torch.zeros(2, 1, n, dtype=F64))
        assert torch.equal(batchnorm.running_vars[k], torch.ones(2, 1, n, dtype=F64))
        assert not batchnorm.running_means[k].requires_grad and not batchnorm.running_vars[k].requires_grad
        assert batchnorm.norm_weights[k].dtype == F64


def test_given_norm_tensors_are_copied():
    ws, bs = tensors(2, (3, 4, 2))
    gains, shifts = norm_tensors(2, (3, 4, 2))
    means, varis = [torch.full((2, 1, 4), 0.25, dtype=F64)], [torch.full((2, 1, 4), 2.0, dtype=F64)]
    stack = StackedMLP(
        ws, bs, norm="batch", norm_weights=gains, norm_biases=shifts, running_means=means, running_vars=varis
    )
    assert torch.equal(stack.norm_weights[0].detach(), gains[0]) and stack.norm_weights[0] is not gains[0]
    assert torch.equal(stack.norm_biases[0].detach(), shifts[0]) and stack.norm_biases[0].requires_grad
    assert torch.equal(stack.running_means[0], means[0]) and stack.running_means[0] is not means[0]
    assert torch.equal(stack.running_vars[0], varis[0]) and not stack.running_vars[0].requires_grad
    gains[0].add_(1.0)
    means[0].add_(1.0)
    assert not torch.equal(stack.norm_weights[0].detach(), gains[0])
    assert not torch.equal(stack.running_means[0], means[0])


@pytest.mark.parametrize(
    ("norm", "kwargs", "error", "message"),
    [
        (
            None,
            {"norm_weights": [torch.ones(2, 1, 4)]},
            ValueError,
            "norm_weights is not used by norm=None (only with a norm); leave it out",
        ),
        (
            None,
            {"norm_biases": [torch.ones(2, 1, 4)]},
            ValueError,
            "norm_biases is not used by norm=None (only with a norm); leave it out",
        ),
        (
            "layer",
            {"running_means": [torch.zeros(2, 1, 4)]},
            ValueError,
            "running_means is not used by norm='layer' (only with norm='batch'); leave it out",
        ),
        (
            None,
            {"running_vars": [torch.ones(2, 1, 4)]},
            ValueError,
            "running_vars is not used by norm=None (only with norm='batch'); leave it out",
        ),
        (
            "layer",
            {"norm_biases": [torch.zeros(2, 4)]},
            ValueError,
            "norm_biases must hold one tensor per hidden layer with shapes [(2, 1, 4)]; got [(2, 4)]",
        ),
        (
            "batch",
            {"running_vars": [torch.ones(2, 1, 4)] * 2},
            ValueError,
            "running_vars must hold one tensor per hidden layer with shapes [(2, 1, 4)]; got [(2, 1, 4), (2, 1, 4)]",
        ),
        (
            "batch",
            {"running_means": []},
            ValueError,
            "running_means must hold one tensor per hidden layer with shapes [(2, 1, 4)]; got []",
        ),
        (
            "layer",
            {"norm_weights": [np.ones((2, 1, 4))]},
            TypeError,
            "norm_weights[0] must be a torch tensor (torch.from_numpy(...) for a NumPy array); got ndarray",
        ),
        (
            "batch",
            {"running_means": torch.zeros(2, 1, 4)},
            TypeError,
            "running_means must be a list of torch tensors; got Tensor",
        ),
    ],
)
def test_norm_tensors_are_checked(norm, kwargs, error, message):
    ws, bs = tensors(2, (3, 4, 2), dtype=torch.float32)
    with pytest.raises(error, match=whole(message)):
        StackedMLP(ws, bs, norm=norm, **kwargs)


# -- StackedMLP: the forward pass -----------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_the_forward_pass_is_the_numpy_one(norm, activation):
    stack = stack_of(3, (3, 5, 4, 2), norm=norm, activation=activation, running=norm == "batch")
    x, _ = batch(6)
    before = [(m.clone(), v.clone()) for m, v in zip(stack.running_means, stack.running_vars, strict=True)]
    expected = [np_forward(stack, x, i) for i in range(3)]
    pre = [hidden_pre_norm(stack, x, i) for i in range(3)] if norm == "batch" else []
    out = stack(x)
    assert out.shape == (3, 6, 2)
    for i in range(3):
        np.testing.assert_allclose(out[i].detach().numpy(), expected[i], rtol=1e-11, atol=1e-12)
    # BatchNorm's running statistics move by torch's momentum 0.1, with the unbiased variance
    for k, (m0, v0) in enumerate(before):
        for i in range(3):
            z = pre[i][k]
            np.testing.assert_allclose(
                stack.running_means[k][i, 0].numpy(), 0.9 * m0[i, 0].numpy() + 0.1 * z.mean(0), rtol=1e-12
            )
            np.testing.assert_allclose(
                stack.running_vars[k][i, 0].numpy(),
                0.9 * v0[i, 0].numpy() + 0.1 * z.var(0, ddof=1),
                rtol=1e-12,
            )


def test_layer_norm_uses_the_biased_variance_and_eps():
    """A hidden layer whose outputs vary by ~1e-3: eps = 1e-5 matters, and n vs n - 1 too."""
    ws, bs = tensors(1, (2, 3, 1))
    ws[0] = torch.tensor([[[1e-3, -2e-3, 0.5e-3], [2e-3, 1e-3, -1e-3]]], dtype=F64)
    stack = StackedMLP(ws, bs, norm="layer")
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=F64)
    np.testing.assert_allclose(stack(x)[0].detach().numpy(), np_forward(stack, x, 0), rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_batch_norm_in_eval_mode_uses_the_running_statistics(activation):
    stack = stack_of(2, (3, 4, 4, 2), norm="batch", activation=activation, running=True)
    x, _ = batch(1)  # one sample is enough in evaluation mode
    assert stack.eval() is stack and stack.training is False
    before = [m.clone() for m in stack.running_means + stack.running_vars]
    out = stack(x)
    for i in range(2):
        np.testing.assert_allclose(
            out[i].detach().numpy(), np_forward(stack, x, i, training=False), rtol=1e-11
        )
    assert all(
        torch.equal(a, b) for a, b in zip(before, stack.running_means + stack.running_vars, strict=True)
    )
    # the layer-norm stack ignores the mode
    layer = stack_of(2, (3, 4, 2), norm="layer")
    x, _ = batch(3)
    np.testing.assert_array_equal(layer.eval()(x).detach().numpy(), layer.train()(x).detach().numpy())


def test_train_and_eval_switch_the_mode_and_return_the_stack():
    stack = stack_of(1, (3, 2))
    assert stack.train(False) is stack and stack.training is False
    assert stack.train() is stack and stack.training is True
    assert stack.train(np.bool_(False)).training is False
    with pytest.raises(TypeError, match=whole("mode must be True or False; got str 'yes'")):
        stack.train("yes")


def test_a_stack_takes_one_batch_for_all_models_or_one_batch_per_model():
    stack = stack_of(2, (3, 4, 2))
    x3 = torch.randn(2, 5, 3, dtype=F64)
    out = stack(x3)
    for i in range(2):
        np.testing.assert_allclose(out[i].detach().numpy(), np_forward(stack, x3, i), rtol=1e-12)
        np.testing.assert_allclose(stack(x3[i])[i].detach().numpy(), out[i].detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.zeros(5, 4), "x must have shape [B, 3] or [2, B, 3]; got (5, 4)"),
        (torch.zeros(3, 5, 3), "x must have shape [B, 3] or [2, B, 3]; got (3, 5, 3)"),
        (torch.zeros(2, 5, 2), "x must have shape [B, 3] or [2, B, 3]; got (2, 5, 2)"),
        (torch.zeros(2, 1, 5, 3), "x must have shape [B, 3] or [2, B, 3]; got (2, 1, 5, 3)"),
        (torch.zeros(3), "x must have shape [B, 3] or [2, B, 3]; got (3,)"),
    ],
)
def test_a_stack_refuses_inputs_of_the_wrong_shape(x, message):
    stack = stack_of(2, (3, 4, 2), dtype=torch.float32)
    with pytest.raises(ValueError, match=whole(message)):
        stack(x)


def test_a_stack_refuses_an_array_and_batch_norm_a_single_training_sample():
    stack = stack_of(2, (3, 4, 2), norm="batch", dtype=torch.float32)
    with pytest.raises(
        TypeError,
        match=whole(
            "x must be a torch tensor of shape [B, in] or [M, B, in] (torch.from_numpy(x) for an array); got ndarray"
        ),
    ):
        stack(np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(
        ValueError,
        match=whole(
            "x must hold at least 2 samples for norm='batch' in training mode (batch statistics); got 1"
        ),
    ):
        stack(torch.zeros(1, 3))
    assert stack(torch.zeros(2, 3)).shape == (2, 2, 2)
    assert stack.eval()(torch.zeros(1, 3)).shape == (2, 1, 2)
    assert stack_of(2, (3, 4, 2), norm="layer", dtype=torch.float32)(torch.zeros(1, 3)).shape == (2, 1, 2)


# -- StackedMLP: from_modules, parameters, kinds, masks ----------------------------------------------


def sequential(sizes, norm=None, seed=0, activation=torch.nn.ReLU):
    torch.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if k < len(sizes) - 2:
            if norm is not None:
                layer = {"layer": torch.nn.LayerNorm, "batch": torch.nn.BatchNorm1d}[norm](b)
                with torch.no_grad():
                    layer.weight.uniform_(0.5, 1.5)
                    layer.bias.uniform_(-0.5, 0.5)
                    if norm == "batch":
                        layer.running_mean.uniform_(-1.0, 1.0)
                        layer.running_var.uniform_(0.5, 2.0)
                layers.append(layer)
            layers.append(activation())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_from_modules_stacks_the_layers_of_each_module(norm):
    modules = [sequential((3, 4, 5, 2), norm, seed=s) for s in range(2)]
    stack = StackedMLP.from_modules(modules, activation="tanh")
    assert stack.norm == norm and stack.activation == "tanh" and stack.n_models == 2
    assert stack.sizes == [3, 4, 5, 2]
    for i, module in enumerate(modules):
        linears = [m for m in module if isinstance(m, torch.nn.Linear)]
        for k, lin in enumerate(linears):
            assert torch.equal(stack.weights[k][i].detach(), lin.weight.detach().T)
            assert torch.equal(stack.biases[k][i, 0].detach(), lin.bias.detach())
        norms = [m for m in module if isinstance(m, torch.nn.LayerNorm | torch.nn.BatchNorm1d)]
        assert len(stack.norm_weights) == len(stack.norm_biases) == len(norms)
        for k, layer in enumerate(norms):
            assert torch.equal(stack.norm_weights[k][i, 0].detach(), layer.weight.detach())
            assert torch.equal(stack.norm_biases[k][i, 0].detach(), layer.bias.detach())
            if norm == "batch":
                assert torch.equal(stack.running_means[k][i, 0], layer.running_mean)
                assert torch.equal(stack.running_vars[k][i, 0], layer.running_var)
        assert len(stack.running_means) == (len(norms) if norm == "batch" else 0)
    torch_out = modules[1].eval()(torch.ones(2, 3))
    ours = stack.eval()(torch.ones(2, 3))[1]
    if norm is None:  # the modules use ReLU, the stack was told tanh: the module's activation is not read
        assert not torch.allclose(torch_out, ours)
    relu = StackedMLP.from_modules(modules).eval()
    np.testing.assert_allclose(
        relu(torch.ones(2, 3))[1].detach().numpy(), torch_out.detach().numpy(), atol=1e-6
    )


def test_from_modules_reads_linear_layers_nested_anywhere():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
            self.head = torch.nn.Linear(4, 2)

    nets = [Net(), Net()]
    stack = StackedMLP.from_modules(nets)
    assert stack.sizes == [3, 4, 2] and stack.norm is None
    assert torch.equal(stack.weights[1][1].detach(), nets[1].head.weight.detach().T)


def test_from_modules_refuses_what_it_would_compute_differently():
    def mods(changes, norm="layer"):
        module = sequential((3, 4, 5, 2), norm)
        for index, (attr, value) in changes.items():
            setattr(module[index], attr, value)
        return [module]

    cases = [
        (torch.nn.Linear(3, 2), TypeError, "modules must be a non-empty list of torch.nn.Module"),
        ([], TypeError, "modules must be a non-empty list of torch.nn.Module"),
        (
            [sequential((3, 2)), "linear"],
            TypeError,
            "modules[1] must be a torch.nn.Module; got str",
        ),
        (
            [torch.nn.Sequential(torch.nn.ReLU())],
            ValueError,
            "modules[0] must contain torch.nn.Linear layers, each with a bias",
        ),
        (
            [sequential((3, 2)), torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False))],
            ValueError,
            "modules[1] must contain torch.nn.Linear layers, each with a bias",
        ),
        (
            [
                torch.nn.Sequential(
                    torch.nn.Linear(3, 4),
                    torch.nn.LayerNorm(4),
                    torch.nn.Linear(4, 4),
                    torch.nn.BatchNorm1d(4),
                    torch.nn.Linear(4, 2),
                )
            ],
            ValueError,
            "modules[0] mixes LayerNorm and BatchNorm1d layers; one kind is supported",
        ),
        (
            [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2), torch.nn.LayerNorm(2))],
            ValueError,
            "modules[0] must have one normalization layer after each hidden linear layer (Linear, Norm, ..., Linear); "
            "got ['Linear', 'Linear', 'LayerNorm']",
        ),
        (
            [
                torch.nn.Sequential(
                    torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)
                )
            ],
            ValueError,
            "modules[0] must have one normalization layer after each hidden linear layer (Linear, Norm, ..., Linear); "
            "got ['Linear', 'LayerNorm', 'Linear', 'Linear']",
        ),
        (
            mods({1: ("eps", 1e-3)}),
            ValueError,
            "modules[0]'s LayerNorm layers must have eps=1e-05 (torch's default); got 0.001",
        ),
        (
            mods({4: ("eps", 1e-3)}, "batch"),
            ValueError,
            "modules[0]'s BatchNorm1d layers must have eps=1e-05 (torch's default); got 0.001",
        ),
        (
            [
                torch.nn.Sequential(
                    torch.nn.Linear(3, 4),
                    torch.nn.LayerNorm(4, elementwise_affine=False),
                    torch.nn.Linear(4, 2),
                )
            ],
            ValueError,
            "modules[0]'s LayerNorm layers must be affine, with a weight and a bias",
        ),
        (
            [
                torch.nn.Sequential(
                    torch.nn.Linear(3, 4), torch.nn.LayerNorm(4, bias=False), torch.nn.Linear(4, 2)
                )
            ],
            ValueError,
            "modules[0]'s LayerNorm layers must be affine, with a weight and a bias",
        ),
        (
            [
                torch.nn.Sequential(
                    torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4, affine=False), torch.nn.Linear(4, 2)
                )
            ],
            ValueError,
            "modules[0]'s BatchNorm1d layers must be affine, with a weight and a bias",
        ),
        (
            mods({1: ("normalized_shape", (1, 4))}),
            ValueError,
            "modules[0]'s LayerNorm layers must normalize over the last dimension only",
        ),
        (
            mods({1: ("momentum", 0.2)}, "batch"),
            ValueError,
            "modules[0]'s BatchNorm1d layers must track running statistics with momentum 0.1 (torch's default); "
            "got momentum=0.2",
        ),
        (
            mods({4: ("track_running_stats", False)}, "batch"),
            ValueError,
            "modules[0]'s BatchNorm1d layers must track running statistics with momentum 0.1 (torch's default); "
            "got momentum=0.1",
        ),
        (
            [sequential((3, 4, 2), "layer"), sequential((3, 4, 2))],
            ValueError,
            "modules must share one architecture; their normalization layers differ: ['layer', None]",
        ),
        (
            [sequential((3, 4, 2), "layer"), sequential((3, 4, 2), "batch")],
            ValueError,
            "modules must share one architecture; their normalization layers differ: ['layer', 'batch']",
        ),
        (
            [sequential((3, 2)), sequential((3, 3))],
            ValueError,
            "modules must share one architecture; layer shapes differ: [[(2, 3), (2,)], [(3, 3), (3,)]]",
        ),
    ]
    for modules, error, message in cases:
        with pytest.raises(error, match=whole(message)):
            StackedMLP.from_modules(modules)
    with pytest.raises(ValueError, match=whole("activation must be one of 'relu', 'tanh'; got 'gelu'")):
        StackedMLP.from_modules([sequential((3, 2))], activation="gelu")


def test_parameters_kinds_and_masks_follow_torch_order():
    plain = stack_of(1, (3, 4, 5, 2))
    expected = [
        plain.weights[0],
        plain.biases[0],
        plain.weights[1],
        plain.biases[1],
        plain.weights[2],
        plain.biases[2],
    ]
    assert len(plain.parameters()) == 6 and all(
        p is q for p, q in zip(plain.parameters(), expected, strict=True)
    )
    assert plain.parameter_kinds() == ["weight", "bias"] * 3
    norm = stack_of(1, (3, 4, 5, 2), norm="batch")
    expected = [
        norm.weights[0], norm.biases[0], norm.norm_weights[0], norm.norm_biases[0],
        norm.weights[1], norm.biases[1], norm.norm_weights[1], norm.norm_biases[1],
        norm.weights[2], norm.biases[2],
    ]  # fmt: skip
    assert len(norm.parameters()) == 10 and all(
        p is q for p, q in zip(norm.parameters(), expected, strict=True)
    )
    assert norm.parameter_kinds() == ["weight", "bias", "norm_weight", "norm_bias"] * 2 + ["weight", "bias"]
    # the order of torch.nn.Sequential(Linear, BatchNorm1d, ReLU, ...).parameters()
    torch_shapes = [tuple(p.shape) for p in sequential((3, 4, 5, 2), "batch").parameters()]
    ours = [tuple(p.shape[:0:-1]) if p.shape[1] > 1 else (p.shape[2],) for p in norm.parameters()]
    assert ours == torch_shapes
    assert norm.mask("weight") == [True, False, False, False] * 2 + [True, False]
    assert norm.mask("norm_weight", "bias") == [False, True, True, False] * 2 + [False, True]
    assert norm.mask("norm_bias") == [False, False, False, True] * 2 + [False, False]
    assert norm.mask() == [False] * 10
    assert plain.mask("weight", "norm_weight") == [True, False] * 3
    with pytest.raises(
        ValueError,
        match=whole("kinds must be one of 'weight', 'bias', 'norm_weight', 'norm_bias'; got 'gain'"),
    ):
        norm.mask("weight", "gain")


def test_stacked_mlp_has_no_export():
    assert not hasattr(StackedMLP, "export")


# -- BatchedOptimizer: arguments ---------------------------------------------------------------------


def params(m=2, shapes=((3, 2), (1, 2)), dtype=F64):
    g = torch.Generator().manual_seed(7)
    return [torch.randn(m, *s, generator=g, dtype=dtype).requires_grad_(True) for s in shapes]


def test_an_optimizer_stores_its_hyperparameters():
    ps = params()
    sgd = BatchedOptimizer(ps, optimizer="sgd", lr=[0.5, 0.25])
    assert sgd.params == ps and sgd.n_models == 2 and sgd.optimizer == "sgd" and sgd.kind == "sgd"
    assert sgd.lr.dtype == torch.float32 and sgd.lr.tolist() == [0.5, 0.25]
    assert sgd.momentum == 0.0 and sgd.beta1 is None and sgd.beta2 is None and sgd.eps is None
    assert sgd.l1_mode == "subgradient" and sgd.decay_form == "l2"
    assert sgd.weight_decay.tolist() == [0.0, 0.0] and sgd.l1.tolist() == [0.0, 0.0]
    assert sgd.decay_mask == [True, True] and sgd.corrected_mask == [False, False]
    assert sgd.t == 0 and sgd.state == [{}, {}] and sgd.state[0] is not sgd.state[1]
    momentum = BatchedOptimizer(ps, optimizer="momentum", lr=0.5, decay="decoupled", coeff=[0.25, 0.5])
    assert momentum.kind == "sgd" and momentum.momentum == 0.9 and momentum.decay_form == "decoupled"
    assert momentum.lr.tolist() == [0.5, 0.5] and momentum.weight_decay.tolist() == [0.25, 0.5]
    assert BatchedOptimizer(ps, optimizer="momentum", lr=0.5, momentum=0.0).momentum == 0.0
    adam = BatchedOptimizer(ps, optimizer="adam", lr=0.5, decay={"decoupled_paper": 0.25, "l1": 0.125})
    assert (
        adam.kind == "adam"
        and adam.momentum == 0.0
        and (adam.beta1, adam.beta2, adam.eps) == (0.9, 0.999, 1e-8)
    )
    assert adam.decay_form == "decoupled_paper" and adam.weight_decay.tolist() == [0.25, 0.25]
    assert adam.l1.tolist() == [0.125, 0.125]
    custom = BatchedOptimizer(ps, optimizer="adam", lr=0.5, betas=(0.5, 0.75), eps=0.25, l1_mode="proximal")
    assert (custom.beta1, custom.beta2, custom.eps, custom.l1_mode) == (0.5, 0.75, 0.25, "proximal")
    l1 = BatchedOptimizer(ps, optimizer="sgd", lr=0.5, decay="l1", coeff=0.25, momentum=0)
    assert l1.decay_form == "l2" and l1.weight_decay.tolist() == [0.0, 0.0] and l1.l1.tolist() == [0.25, 0.25]
    l2 = BatchedOptimizer(ps, optimizer="sgd", lr=0.5, decay="l2", coeff=0.25, momentum=0.0)
    assert l2.decay_form == "l2" and l2.weight_decay.tolist() == [0.25, 0.25]
    paper = BatchedOptimizer(ps, optimizer="sgd", lr=0.5, decay={"decoupled_paper": [0.0, 0.5]})
    assert paper.decay_form == "decoupled_paper" and paper.weight_decay.tolist() == [0.0, 0.5]
    assert paper.l1.tolist() == [0.0, 0.0]


def test_per_model_values_come_as_numbers_lists_arrays_or_tensors():
    ps = params(m=3)
    for lr in (
        [0.5, 0.25, 0.125],
        np.array([0.5, 0.25, 0.125]),
        torch.tensor([[0.5], [0.25], [0.125]], dtype=F64),
    ):
        assert BatchedOptimizer(ps, optimizer="sgd", lr=lr).lr.tolist() == [0.5, 0.25, 0.125]
    third = BatchedOptimizer(ps, optimizer="sgd", lr=torch.tensor([1 / 3] * 3, dtype=F64)).lr
    assert third.dtype == torch.float32 and third.tolist() == [np.float32(1 / 3)] * 3
    assert BatchedOptimizer(ps, optimizer="sgd", lr=np.float32(0.5)).lr.tolist() == [0.5] * 3
    assert BatchedOptimizer(ps, optimizer="sgd", lr=2).lr.tolist() == [2.0] * 3


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr": [0.1, 0.2, 0.3]}, ValueError, "lr must be one number or one per model (2); got 3 values"),
        ({"lr": np.array([0.1])}, ValueError, "lr must be one number or one per model (2); got 1 values"),
        (
            {"lr": torch.tensor([0.1, 0.2, 0.3])},
            ValueError,
            "lr must be one number or one per model (2); got 3 values",
        ),
        ({"lr": 0.0}, ValueError, "lr[0] must be > 0.0; got 0.0"),
        ({"lr": [0.1, -0.5]}, ValueError, "lr[1] must be > 0.0; got -0.5"),
        ({"lr": "0.1"}, TypeError, "lr[0] must be a real number; got str '0.1'"),
        ({"lr": [0.1, float("nan")]}, ValueError, "lr[1] must be finite; got nan"),
        (
            {"optimizer": "rmsprop"},
            ValueError,
            "optimizer must be one of 'sgd', 'momentum', 'adam'; got 'rmsprop'",
        ),
        ({"l1_mode": "prox"}, ValueError, "l1_mode must be one of 'subgradient', 'proximal'; got 'prox'"),
        ({"decay": "l2", "coeff": [0.1, -1.0]}, ValueError, "coeff[1] must be >= 0.0; got -1.0"),
        (
            {"decay": "l2", "coeff": [0.1]},
            ValueError,
            "coeff must be one number or one per model (2); got 1 values",
        ),
        ({"decay": {"l1": -0.5}}, ValueError, "coeff[0] must be >= 0.0; got -0.5"),
        ({"decay": {"l2": 0.1, "l1": [0.1, -0.5]}}, ValueError, "coeff[1] must be >= 0.0; got -0.5"),
        (
            {"decay": "torch", "coeff": 0.1},
            ValueError,
            "decay must be one of 'none', 'l2', 'l1', 'decoupled', 'decoupled_paper'; got 'torch'",
        ),
        (
            {"coeff": 0.1},
            ValueError,
            "coeff must be 0 with decay='none' (the coefficient would be ignored); got 0.1",
        ),
        (
            {"coeff": [0.0, 0.5]},
            ValueError,
            "coeff must be 0 with decay='none' (the coefficient would be ignored); got [0.0, 0.5]",
        ),
        (
            {"decay": "none", "coeff": "a"},
            ValueError,
            "coeff must be 0 with decay='none' (the coefficient would be ignored); got 'a'",
        ),
        (
            {"decay": "none", "coeff": "0"},
            ValueError,
            "coeff must be 0 with decay='none' (the coefficient would be ignored); got '0'",
        ),
        (
            {"coeff": object},
            ValueError,
            "coeff must be 0 with decay='none' (the coefficient would be ignored); got <class 'object'>",
        ),
        (
            {"decay": {"l2": 0.1, "decoupled": 0.1}},
            ValueError,
            "decay may hold one of ['l2', 'decoupled', 'decoupled_paper'] (beside 'l1'); got ['l2', 'decoupled']",
        ),
        (
            {"decay": {"decoupled_paper": 0.1, "decoupled": 0.1, "l1": 0.1}},
            ValueError,
            "decay may hold one of ['l2', 'decoupled', 'decoupled_paper'] (beside 'l1'); "
            "got ['decoupled_paper', 'decoupled', 'l1']",
        ),
        (
            {"decay": {"l2": 0.1}, "coeff": 0.1},
            ValueError,
            "coeff must be left out when decay is a dict (the dict holds the coefficients); got 0.1",
        ),
        (
            {"decay": {"l2": 0.1}, "coeff": [0.0, 0.0]},
            ValueError,
            "coeff must be left out when decay is a dict (the dict holds the coefficients); got [0.0, 0.0]",
        ),
        (
            {"decay": {"l2": 0.1}, "coeff": 1},
            ValueError,
            "coeff must be left out when decay is a dict (the dict holds the coefficients); got 1",
        ),
        (
            {"decay": {}},
            ValueError,
            "decay's keys must be among ['l2', 'l1', 'decoupled', 'decoupled_paper']; got []",
        ),
        (
            {"decay": {"none": 0.0}},
            ValueError,
            "decay's keys must be among ['l2', 'l1', 'decoupled', 'decoupled_paper']; got ['none']",
        ),
        (
            {"decay": {"l2": 0.1, "l3": 0.1}},
            ValueError,
            "decay's keys must be among ['l2', 'l1', 'decoupled', 'decoupled_paper']; got ['l2', 'l3']",
        ),
        (
            {"momentum": 0.9},
            ValueError,
            "momentum is not used by optimizer='sgd' (only by 'momentum'); leave it out",
        ),
        (
            {"momentum": 1},
            ValueError,
            "momentum is not used by optimizer='sgd' (only by 'momentum'); leave it out",
        ),
        (
            {"optimizer": "adam", "momentum": 0.9},
            ValueError,
            "momentum is not used by optimizer='adam' (Adam's momentum is betas[0]); leave it out",
        ),
        (
            {"optimizer": "adam", "momentum": 0.0},
            ValueError,
            "momentum is not used by optimizer='adam' (Adam's momentum is betas[0]); leave it out",
        ),
        (
            {"betas": (0.9, 0.99)},
            ValueError,
            "betas is not used by optimizer='sgd' (only by 'adam'); leave it out",
        ),
        (
            {"optimizer": "momentum", "eps": 1e-6},
            ValueError,
            "eps is not used by optimizer='momentum' (only by 'adam'); leave it out",
        ),
        ({"optimizer": "momentum", "momentum": 1.0}, ValueError, "momentum must be < 1.0; got 1.0"),
        ({"optimizer": "momentum", "momentum": -0.5}, ValueError, "momentum must be >= 0.0; got -0.5"),
        (
            {"optimizer": "adam", "betas": 0.9},
            TypeError,
            "betas must be a pair (beta1, beta2) of numbers in [0, 1); got 0.9",
        ),
        ({"optimizer": "adam", "betas": (0.9, 1.0)}, ValueError, "betas[1] must be < 1.0; got 1.0"),
        ({"optimizer": "adam", "eps": 0.0}, ValueError, "eps must be > 0.0; got 0.0"),
        ({"optimizer": "adam", "eps": "1e-8"}, TypeError, "eps must be a real number; got str '1e-8'"),
    ],
)
def test_optimizer_arguments_are_checked(kwargs, error, message):
    kwargs = {"optimizer": "sgd", "lr": 0.1} | kwargs
    with pytest.raises(error, match=whole(message)):
        BatchedOptimizer(params(), **kwargs)


def test_hyperparameters_are_float32_whatever_torchs_default_dtype():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ps = [*params(dtype=torch.float32), torch.zeros(2, 3, dtype=torch.float32, requires_grad=True)]
        opt = BatchedOptimizer(ps, optimizer="sgd", lr=[0.5, 0.25], decay={"l2": 0.25, "l1": [0.5, 0.0]})
        assert opt.lr.dtype == opt.weight_decay.dtype == opt.l1.dtype == torch.float32
        for p in ps:
            p.grad = torch.ones_like(p)
        opt.step()
    finally:
        torch.set_default_dtype(before)
    assert all(p.dtype == torch.float32 for p in ps)
    assert ps[2].detach().tolist() == [[-0.5] * 3, [-0.25] * 3]  # a parameter [M, n] is fine


def test_the_parameters_are_checked():
    ps = params()
    message = "params must be a non-empty list of tensors that require grad"
    for bad in ([], [ps[0], ps[1].detach()], [ps[0], ps[1].detach().numpy()]):
        with pytest.raises(TypeError, match=whole(message)):
            BatchedOptimizer(bad, optimizer="sgd", lr=0.1)
    message = "every parameter must have the model index as its first dimension (size 2)"
    for bad in ([ps[0], torch.zeros(2, requires_grad=True)], [ps[0], torch.zeros(3, 2, requires_grad=True)]):
        with pytest.raises(ValueError, match=whole(message)):
            BatchedOptimizer(bad, optimizer="sgd", lr=0.1)
    opt = BatchedOptimizer(iter(ps), optimizer="sgd", lr=0.1)  # any iterable
    assert opt.params == ps and opt.n_models == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"decay_mask": [True]},
            ValueError,
            "decay_mask must hold one True/False per parameter (2); got [True]",
        ),
        (
            {"decay_mask": "ab"},
            ValueError,
            "decay_mask must hold one True/False per parameter (2); got 'ab'",
        ),
        (
            {"decay_mask": True},
            ValueError,
            "decay_mask must hold one True/False per parameter (2); got True",
        ),
        ({"decay_mask": [True, 1]}, TypeError, "decay_mask[1] must be True or False; got int 1"),
        (
            {"decay": "decoupled", "coeff": 0.1, "corrected_mask": [True, False, True]},
            ValueError,
            "corrected_mask must hold one True/False per parameter (2); got [True, False, True]",
        ),
        (
            {"decay": "decoupled", "coeff": 0.1, "corrected_mask": [1, 0]},
            TypeError,
            "corrected_mask[0] must be True or False; got int 1",
        ),
        (
            {"decay": "l2", "coeff": 0.1, "corrected_mask": [False, True]},
            ValueError,
            "corrected_mask needs a decoupled decay (decay 'decoupled' or 'decoupled_paper'), the decay it "
            "scales; got decay='l2'",
        ),
        (
            {"decay": "l1", "coeff": 0.1, "corrected_mask": [True, False]},
            ValueError,
            "corrected_mask needs a decoupled decay (decay 'decoupled' or 'decoupled_paper'), the decay it "
            "scales; got decay='l1'",
        ),
        (
            {"corrected_mask": [True, False]},
            ValueError,
            "corrected_mask needs a decoupled decay (decay 'decoupled' or 'decoupled_paper'), the decay it "
            "scales; got decay='none'",
        ),
        (
            {"decay": "decoupled", "coeff": 0.1, "decay_mask": [True, False], "corrected_mask": [True, True]},
            ValueError,
            "corrected_mask[1] is True but decay_mask[1] is False: parameter 1 is not decayed",
        ),
        (
            {"decay": "decoupled", "coeff": 0.1, "decay_mask": [False, True], "corrected_mask": [True, True]},
            ValueError,
            "corrected_mask[0] is True but decay_mask[0] is False: parameter 0 is not decayed",
        ),
        (
            {"decay": "l2", "coeff": [0.0, 0.1], "decay_mask": [False, False]},
            ValueError,
            "coeff is not used by decay_mask with every entry False (no parameter is decayed); leave it out",
        ),
        (
            {"decay": "l1", "coeff": [0.1, 0.0], "decay_mask": [False, False]},
            ValueError,
            "coeff is not used by decay_mask with every entry False (no parameter is decayed); leave it out",
        ),
    ],
)
def test_the_masks_are_checked(kwargs, error, message):
    with pytest.raises(error, match=whole(message)):
        BatchedOptimizer(params(), optimizer="sgd", lr=0.1, **kwargs)


def test_masks_that_decay_nothing_are_accepted_without_a_coefficient():
    ps = params()
    opt = BatchedOptimizer(ps, optimizer="sgd", lr=0.1, decay="l2", coeff=0.0, decay_mask=[False, False])
    assert opt.decay_mask == [False, False]
    opt = BatchedOptimizer(
        ps, optimizer="adam", lr=0.1, decay="decoupled_paper", coeff=0.5,
        decay_mask=[np.bool_(True), False], corrected_mask=(np.bool_(True), False),
    )  # fmt: skip
    assert opt.decay_mask == [True, False] and opt.corrected_mask == [True, False]
    assert all(type(v) is bool for v in opt.decay_mask + opt.corrected_mask)
    opt = BatchedOptimizer(
        ps, optimizer="sgd", lr=0.1, decay="decoupled", coeff=0.5, corrected_mask=[False, True]
    )
    assert opt.decay_mask == [True, True] and opt.corrected_mask == [False, True]


# -- BatchedOptimizer.step: hand-computed values and the NumPy reference -----------------------------


# One step from w = 2 with gradient 0.5, lr = 0.25 at multiplier 0.5 (lr_t = 0.125), coeff 0.5:
# every number is a binary fraction, so the results are exact.
HAND = [
    ({"optimizer": "sgd"}, 2 - 0.125 * 0.5),
    ({"optimizer": "sgd", "decay": "l2", "coeff": 0.5}, 2 - 0.125 * (0.5 + 0.5 * 2)),
    ({"optimizer": "sgd", "decay": "l1", "coeff": 0.5}, 2 - 0.125 * (0.5 + 0.5)),
    (
        {"optimizer": "sgd", "decay": "l1", "coeff": 0.5, "l1_mode": "proximal"},
        (2 - 0.125 * 0.5) - 0.125 * 0.5,
    ),
    ({"optimizer": "sgd", "decay": "decoupled", "coeff": 0.5}, 2 * (1 - 0.125 * 0.5) - 0.125 * 0.5),
    ({"optimizer": "sgd", "decay": "decoupled_paper", "coeff": 0.5}, 2 * (1 - 0.5 * 0.5) - 0.125 * 0.5),
    (
        {"optimizer": "sgd", "decay": "decoupled", "coeff": 0.5, "corrected_mask": [True]},
        2 * (1 - 0.5 * 0.125 * 0.5) - 0.125 * 0.5,
    ),
    (
        {"optimizer": "sgd", "decay": "decoupled_paper", "coeff": 0.5, "corrected_mask": [True]},
        2 * (1 - 0.5 * 0.5 * 0.5) - 0.125 * 0.5,
    ),
    ({"optimizer": "momentum", "momentum": 0.5, "decay": "l2", "coeff": 0.5}, 2 - 0.125 * (0.5 + 0.5 * 2)),
    # Adam, betas (0.5, 0.75), eps 0.25: m = 0.25, v = 0.0625, bias corrections 0.5 and 0.25,
    # so the step is lr_t * (0.25 / 0.5) / (sqrt(0.0625 / 0.25) + 0.25) = 0.125 * 0.5 / 0.75
    ({"optimizer": "adam", "betas": (0.5, 0.75), "eps": 0.25}, 2 - 0.125 * 0.5 / 0.75),
    (
        {"optimizer": "adam", "betas": (0.5, 0.75), "eps": 0.25, "decay": "decoupled", "coeff": 0.5},
        2 * (1 - 0.125 * 0.5) - 0.125 * 0.5 / 0.75,
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), HAND)
def test_one_step_by_hand(kwargs, expected):
    w = torch.full((1, 1, 2), 2.0, dtype=F64, requires_grad=True)
    opt = BatchedOptimizer([w], lr=0.25, **kwargs)
    w.grad = torch.full_like(w, 0.5)
    opt.step(multiplier=0.5)
    assert w.detach().flatten().tolist() == pytest.approx([expected] * 2, rel=1e-15, abs=0)
    assert opt.t == 1
    assert w.grad.flatten().tolist() == [0.5, 0.5]  # the penalty is added to a copy of the gradient


def test_momentum_and_adam_over_two_steps_by_hand():
    w = torch.full((1, 1, 1), 2.0, dtype=F64, requires_grad=True)
    opt = BatchedOptimizer([w], optimizer="momentum", momentum=0.5, lr=0.25)
    for g in (0.5, 1.0):
        w.grad = torch.full_like(w, g)
        opt.step(multiplier=0.5)
    # buf = 0.5, then 0.5 * 0.5 + 1.0 = 1.25; w = 2 - 0.125 * 0.5 - 0.125 * 1.25
    assert w.item() == 2 - 0.125 * 0.5 - 0.125 * 1.25 and opt.state[0]["buf"].item() == 1.25
    w = torch.full((1, 1, 1), 2.0, dtype=F64, requires_grad=True)
    opt = BatchedOptimizer([w], optimizer="adam", betas=(0.5, 0.75), eps=0.25, lr=0.25)
    for g in (0.5, 1.0):
        w.grad = torch.full_like(w, g)
        opt.step()
    # m = 0.25, then 0.625; v = 0.0625, then 0.296875; corrections 0.75 and 0.4375 at t = 2
    m, v = 0.5 * 0.25 + 0.5 * 1.0, 0.75 * 0.0625 + 0.25 * 1.0
    first = 2 - 0.25 * (0.25 / 0.5) / (np.sqrt(0.0625 / 0.25) + 0.25)
    expected = first - 0.25 * (m / 0.75) / (np.sqrt(v / 0.4375) + 0.25)
    assert w.item() == pytest.approx(expected, rel=1e-15)
    assert opt.state[0]["m"].item() == m and opt.state[0]["v"].item() == v and opt.t == 2


def reference_configs():
    """(optimizer kwargs, decay spec) pairs covering every decay kind with every optimizer."""
    out = []
    for opt in (
        {"optimizer": "sgd"},
        {"optimizer": "momentum", "momentum": 0.5},
        {"optimizer": "adam", "betas": (0.5, 0.75), "eps": 0.125},
    ):
        for decay in (
            {"decay": "none"},
            {"decay": "l2", "coeff": [0.25, 0.5]},
            {"decay": "l1", "coeff": [0.25, 0.5]},
            {"decay": "l1", "coeff": [0.25, 0.0], "l1_mode": "proximal"},
            {"decay": "decoupled", "coeff": [0.25, 0.5]},
            {"decay": "decoupled_paper", "coeff": [0.125, 0.25]},
            {"decay": {"decoupled": [0.25, 0.5], "l1": [0.125, 0.25]}},
            {"decay": {"l2": [0.5, 0.25], "l1": [0.125, 0.25]}, "l1_mode": "proximal"},
            {"decay": {"decoupled_paper": 0.25, "l1": 0.125}, "l1_mode": "proximal"},
            {"decay": "decoupled", "coeff": [0.25, 0.5], "corrected_mask": [True, False]},
            {"decay": "decoupled_paper", "coeff": [0.125, 0.25], "corrected_mask": [True, False]},
            {"decay": "l2", "coeff": [0.25, 0.5], "decay_mask": [False, True]},
            {
                "decay": {"decoupled": 0.5, "l1": 0.25},
                "decay_mask": [True, False],
                "corrected_mask": [True, False],
            },
        ):
            out.append(
                pytest.param(opt, decay, id=f"{opt['optimizer']}-{'-'.join(map(str, decay.values()))}")
            )
    return out


def per_model(value, i):
    return value[i] if isinstance(value, list) else value


def reference_for(opt_kwargs, decay, i, j):
    """The reference optimizer of model ``i``'s parameter ``j``, and its proximal L1 coefficient."""
    spec = decay["decay"]
    spec = dict(spec) if isinstance(spec, dict) else {spec: decay.get("coeff", 0.0)}
    spec = {k: per_model(v, i) for k, v in spec.items() if k != "none"}
    if not decay.get("decay_mask", [True, True])[j]:
        spec = {}
    prox = spec.pop("l1", 0.0) if decay.get("l1_mode") == "proximal" else 0.0
    corrected = decay.get("corrected_mask", [False, False])[j]
    ref = ReferenceOptimizer(lr=[0.5, 0.25][i], decay=spec or "none", corrected=corrected, **opt_kwargs)
    return ref, prox


@pytest.mark.parametrize(("opt_kwargs", "decay"), reference_configs())
def test_steps_match_the_numpy_reference(opt_kwargs, decay):
    """Two models (lr 0.5 and 0.25) with two parameters, four steps at multipliers 1, 0.5, 0.25, 0.75."""
    rng = np.random.default_rng(3)
    w0, u0 = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 1, 2))
    w0[:, 0, 0] = 0.01  # a small weight with no gradient: the proximal step sets it to zero
    w, u = torch.tensor(w0, requires_grad=True), torch.tensor(u0, requires_grad=True)
    opt = BatchedOptimizer([w, u], lr=[0.5, 0.25], **opt_kwargs, **decay)
    refs = [[reference_for(opt_kwargs, decay, i, j) for j in range(2)] for i in range(2)]
    ps = [[w0[i], u0[i]] for i in range(2)]
    for multiplier in (1.0, 0.5, 0.25, 0.75):
        gw, gu = rng.normal(size=w0.shape), rng.normal(size=u0.shape)
        gw[:, 0, 0] = 0.0
        w.grad, u.grad = torch.tensor(gw), torch.tensor(gu)
        opt.step(multiplier=multiplier)
        for i in range(2):
            for j, g in enumerate((gw, gu)):
                ref, prox = refs[i][j]
                ref.config = dataclasses.replace(ref.config, schedule=multiplier)
                new = ref.step({"p": ps[i][j]}, {"p": g[i]})["p"]
                threshold = multiplier * [0.5, 0.25][i] * prox
                ps[i][j] = np.sign(new) * np.maximum(np.abs(new) - threshold, 0.0)
    for j, p in enumerate((w, u)):
        for i in range(2):
            np.testing.assert_allclose(p.detach()[i].numpy(), ps[i][j], rtol=1e-12, atol=1e-14)
            state = refs[i][j][0].state["p"]
            for key in ("buf", "m", "v"):
                assert (key in opt.state[j]) == (key in state)
                if key in state:
                    np.testing.assert_allclose(
                        opt.state[j][key][i].numpy(), state[key], rtol=1e-12, atol=1e-14
                    )
    assert opt.t == 4
    if decay.get("l1_mode") == "proximal":  # the soft threshold set the small weight exactly to zero
        assert w[0, 0, 0].item() == 0.0
    else:
        assert w[0, 0, 0].item() != 0.0


def test_optimizer_defaults_are_torch_defaults_in_steps():
    rng = np.random.default_rng(4)
    w0 = rng.normal(size=(2, 2, 2)) * 1e-3
    for kwargs, ref_kwargs in (
        ({"optimizer": "momentum"}, {"optimizer": "momentum", "momentum": 0.9}),
        ({"optimizer": "adam"}, {"optimizer": "adam", "betas": (0.9, 0.999), "eps": 1e-8}),
    ):
        w = torch.tensor(w0, requires_grad=True)
        opt = BatchedOptimizer([w], lr=0.25, **kwargs)
        ref = ReferenceOptimizer(lr=0.25, **ref_kwargs)
        p = w0[0]
        for _ in range(3):
            g = rng.normal(size=w0.shape) * 1e-7  # tiny gradients: Adam's eps matters
            w.grad = torch.tensor(g)
            opt.step()
            p = ref.step({"p": p}, {"p": g[0]})["p"]
        np.testing.assert_allclose(w.detach()[0].numpy(), p, rtol=1e-12)


def test_a_parameter_without_gradient_is_left_alone():
    ps = params()
    before = [p.detach().clone() for p in ps]
    opt = BatchedOptimizer(ps, optimizer="momentum", lr=0.5, decay="decoupled", coeff=0.5)
    ps[1].grad = torch.ones_like(ps[1])
    opt.step()
    assert torch.equal(ps[0].detach(), before[0]) and opt.state[0] == {}
    assert not torch.equal(ps[1].detach(), before[1]) and set(opt.state[1]) == {"buf"}
    assert ps[1].grad.tolist() == torch.ones_like(ps[1]).tolist()
    opt.zero_grad()
    assert ps[0].grad is None and ps[1].grad is None


def test_the_multiplier_is_checked_and_zero_stops_the_step():
    ps = params()
    opt = BatchedOptimizer(ps, optimizer="sgd", lr=0.5, decay="decoupled_paper", coeff=0.5)
    with pytest.raises(ValueError, match=whole("multiplier must be >= 0.0; got -0.5")):
        opt.step(multiplier=-0.5)
    with pytest.raises(TypeError, match=whole("multiplier must be a real number; got bool True")):
        opt.step(multiplier=True)
    assert opt.t == 0
    before = [p.detach().clone() for p in ps]
    for p in ps:
        p.grad = torch.ones_like(p)
    opt.step(multiplier=0)
    assert opt.t == 1 and all(torch.equal(p.detach(), b) for p, b in zip(ps, before, strict=True))
    opt.step()  # multiplier 1 by default
    np.testing.assert_allclose(ps[0].detach().numpy(), (before[0] * 0.5 - 0.5).numpy(), rtol=1e-15)


# -- the hand-written gradients of fit_classifiers ----------------------------------------------------


def one_hot(y, classes, dtype=F64):
    return torch.nn.functional.one_hot(y, classes).to(dtype)


def hand_gradients(stack, x, y):
    """One forward and backward pass of the fast path, in float64: (flat, workspace)."""
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5)
    flat = stacked._Flat(stack, opt, slice(0, stack.n_models), dtype=F64)
    ws = stacked._Workspace(flat, stack.sizes, x.shape[1])
    ws.x.copy_(x)
    ws.onehot.copy_(one_hot(y, stack.sizes[-1]))
    stacked._forward_backward(flat, ws)
    return flat, ws


def autograd_loss(stack, x, y):
    logits = stack(x)
    return sum(torch.nn.functional.cross_entropy(logits[i], y[i]) for i in range(stack.n_models))


@pytest.mark.parametrize("classes", [2, 33], ids=["narrow", "wide"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_the_hand_written_gradients_are_autograd_ones(norm, activation, classes):
    """Each model its own minibatch; the gradient of the sum of the models' mean cross-entropies."""
    stack = stack_of(2, (3, 4, 5, classes), norm=norm, activation=activation, running=norm == "batch")
    g = torch.Generator().manual_seed(11)
    x = torch.randn(2, 6, 3, generator=g, dtype=F64)
    y = torch.randint(0, classes, (2, 6), generator=g)
    flat, ws = hand_gradients(stack, x, y)
    autograd_loss(stack, x, y).backward()
    assert len(ws.gs) == len(stack.parameters())
    for got, p in zip(ws.gs, stack.parameters(), strict=True):
        np.testing.assert_allclose(got.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(flat.g.numpy(), torch.cat([gr.reshape(-1) for gr in ws.gs]).numpy())
    # the training-mode pass moved the group's running statistics as the stack's own call did
    assert len(flat.running) == (2 if norm == "batch" else 0)
    for (mean, var), rm, rv in zip(flat.running, stack.running_means, stack.running_vars, strict=True):
        np.testing.assert_allclose(mean.numpy(), rm.numpy(), rtol=1e-12)
        np.testing.assert_allclose(var.numpy(), rv.numpy(), rtol=1e-12)


def test_the_norm_gradients_match_central_differences():
    stack = stack_of(1, (3, 4, 2), norm="layer", activation="tanh")
    g = torch.Generator().manual_seed(12)
    x, y = torch.randn(1, 5, 3, generator=g, dtype=F64), torch.tensor([[0, 1, 1, 0, 1]])
    _, ws = hand_gradients(stack, x, y)
    for which, index in ((0, (0, 1, 2)), (2, (0, 0, 3)), (3, (0, 0, 1))):
        p = stack.parameters()[which]
        with torch.no_grad():
            p[index] += 1e-6
            plus = autograd_loss(stack, x, y).item()
            p[index] -= 2e-6
            minus = autograd_loss(stack, x, y).item()
            p[index] += 1e-6
        assert ws.gs[which][index].item() == pytest.approx((plus - minus) / 2e-6, rel=1e-6, abs=1e-10)


# -- the training loop, in float64 against autograd and BatchedOptimizer.step ---------------------------


def orders(seeds, n, epochs):
    """Each model's permutation of range(n) per epoch, from a torch.Generator seeded with its seed."""
    gens = {s: torch.Generator().manual_seed(s) for s in sorted(set(seeds))}
    out = []
    for _ in range(epochs):
        perms = {s: torch.randperm(n, generator=gens[s]) for s in sorted(gens)}
        out.append(torch.stack([perms[s] for s in seeds]))
    return out


def slow_train(stack, opt, x, y, epochs, batch_size, seeds, schedule=None):
    """fit_classifiers' contract written with autograd and BatchedOptimizer.step."""
    steps = iter([] if schedule is None else schedule)
    for perm in orders(seeds, len(x), epochs):
        for k in range(0, len(x) - batch_size + 1, batch_size):
            idx = perm[:, k : k + batch_size]
            opt.zero_grad()
            autograd_loss(stack, x[idx], y[idx]).backward()
            opt.step(multiplier=next(steps, 1.0))


def fast_train(stack, opt, x, y, epochs, batch_size, seeds, schedule=None, eval_sets=None, eval_every=1):
    """fit_classifiers' training of all models as one group, in float64 (the run it builds)."""
    flat = stacked._Flat(stack, opt, slice(0, stack.n_models), dtype=F64)
    run = {
        "x": x,
        "onehot": one_hot(y, stack.sizes[-1]),
        "sizes": stack.sizes,
        "epochs": epochs,
        "batch_size": batch_size,
        "eval_sets": eval_sets or {},
        "eval_every": eval_every,
        "schedule": None if schedule is None else list(schedule),
        "t0": opt.t,
    }
    state, acc = stacked._train_group(flat, list(seeds), run)
    flat.unpack_into(stack, opt, state)
    opt.t += epochs * (len(x) // batch_size)
    return acc


def assert_same_training(a, opt_a, b, opt_b, rtol=1e-10, atol=1e-12):
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.detach().numpy(), pb.detach().numpy(), rtol=rtol, atol=atol)
    for ra, rb in zip(a.running_means + a.running_vars, b.running_means + b.running_vars, strict=True):
        np.testing.assert_allclose(ra.numpy(), rb.numpy(), rtol=rtol, atol=atol)
    assert opt_a.t == opt_b.t
    for sa, sb in zip(opt_a.state, opt_b.state, strict=True):
        assert sa.keys() == sb.keys()
        for key in sa:
            np.testing.assert_allclose(sa[key].numpy(), sb[key].numpy(), rtol=rtol, atol=atol)


ADAM = {"optimizer": "adam", "betas": (0.5, 0.75), "eps": 0.125}
MOMENTUM = {"optimizer": "momentum", "momentum": 0.5}
TRAININGS = {
    "sgd-none-relu": ({"optimizer": "sgd"}, None, "relu", 2, False),
    "sgd-l2-tanh-wide": ({"optimizer": "sgd", "decay": "l2", "coeff": [0.0, 0.25, 0.5]}, None, "tanh", 33, False),
    "momentum-l1-layer": (MOMENTUM | {"decay": "l1", "coeff": [0.0, 0.125, 0.25]}, "layer", "relu", 2, True),
    "momentum-proximal-batch": (
        MOMENTUM | {"decay": "l1", "coeff": [0.0, 0.125, 0.25], "l1_mode": "proximal"}, "batch", "tanh", 3, False,
    ),
    "momentum-decoupled-l1-batch": (
        MOMENTUM | {"decay": {"decoupled": [0.0, 0.25, 0.5], "l1": 0.125}}, "batch", "relu", 2, True,
    ),
    "adam-decoupled-layer": (ADAM | {"decay": "decoupled", "coeff": [0.0, 0.25, 0.5]}, "layer", "tanh", 2, True),
    "adam-paper-masked-batch": (
        ADAM | {"decay": "decoupled_paper", "coeff": [0.0, 0.125, 0.25], "decay_mask": "weights"},
        "batch", "relu", 33, True,
    ),
    "adam-corrected-layer": (
        ADAM | {"decay": "decoupled", "coeff": [0.0, 0.25, 0.5], "decay_mask": "weights", "corrected_mask": "hidden"},
        "layer", "relu", 2, True,
    ),
    "sgd-paper-corrected-l2-proximal": (
        {"optimizer": "sgd", "decay": {"decoupled_paper": [0.125, 0.0, 0.25], "l1": [0.0, 0.25, 0.125]},
         "l1_mode": "proximal", "corrected_mask": "hidden"},
        None, "tanh", 2, True,
    ),
    "adam-l2-default-eps": ({"optimizer": "adam", "decay": "l2", "coeff": 0.25}, "layer", "relu", 2, False),
}  # fmt: skip


def optimizer_for(stack, kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("decay_mask") == "weights":
        kwargs["decay_mask"] = stack.mask("weight")
    if kwargs.get("corrected_mask") == "hidden":  # AdamC: the weights of the layers before a norm
        kinds = stack.parameter_kinds()
        kwargs["corrected_mask"] = [k == "weight" and i < len(kinds) - 2 for i, k in enumerate(kinds)]
    return BatchedOptimizer(stack.parameters(), lr=[0.5, 0.25, 0.125], **kwargs)


@pytest.mark.parametrize("name", list(TRAININGS))
def test_the_training_loop_is_autograd_and_step(name):
    """Three models, 11 rows in minibatches of 4 (2 steps an epoch, 3 rows left out), 3 epochs."""
    kwargs, norm, activation, classes, scheduled = TRAININGS[name]
    x, y = batch(11, 3, classes, seed=6)
    schedule = [1.0, 0.5, 0.75, 0.25, 0.5, 0.125] if scheduled else None
    stacks = [stack_of(3, (3, 4, 5, classes), norm=norm, activation=activation) for _ in range(2)]
    opts = [optimizer_for(s, kwargs) for s in stacks]
    fast_train(stacks[0], opts[0], x, y, 3, 4, [2, 5, 2], schedule)
    slow_train(stacks[1], opts[1], x, y, 3, 4, [2, 5, 2], schedule)
    assert_same_training(stacks[0], opts[0], stacks[1], opts[1])
    assert opts[0].t == 6
    untouched = stack_of(3, (3, 4, 5, classes), norm=norm, activation=activation)
    for p, q in zip(stacks[0].parameters(), untouched.parameters(), strict=True):
        assert not torch.equal(p.detach(), q.detach())  # every parameter trained


def test_training_continues_from_the_optimizer_state():
    """Two steps by hand, then the fast loop: Adam's step count and moments carry on."""
    x, y = batch(8, 3, 2, seed=7)
    stacks = [stack_of(3, (3, 4, 2), norm="layer") for _ in range(2)]
    opts = [optimizer_for(s, ADAM | {"decay": "decoupled", "coeff": 0.25}) for s in stacks]
    slow_train(stacks[0], opts[0], x, y, 1, 4, [1, 1, 2])
    slow_train(stacks[1], opts[1], x, y, 1, 4, [1, 1, 2])
    fast_train(stacks[0], opts[0], x, y, 2, 4, [3, 1, 2])
    slow_train(stacks[1], opts[1], x, y, 2, 4, [3, 1, 2])
    assert_same_training(stacks[0], opts[0], stacks[1], opts[1])
    assert opts[0].t == 6


def test_a_state_for_some_parameters_only_is_refused():
    stack = stack_of(2, (3, 4, 2), dtype=torch.float32)
    opt = BatchedOptimizer(stack.parameters(), optimizer="momentum", lr=0.5)
    stack.weights[0].grad = torch.ones_like(stack.weights[0])
    opt.step()
    x, y = batch(8, 3, 2, dtype=torch.float32)
    with pytest.raises(ValueError, match=whole("optimizer state 'buf' exists for some parameters only")):
        fit_classifiers(stack, opt, x, y, epochs=1, batch_size=4, order_seeds=[0, 0])


# -- fit_classifiers: the whole run ----------------------------------------------------------------


def f32_stack(m=3, sizes=(3, 4, 2), norm=None, activation="relu", seed=0):
    return stack_of(m, sizes, norm=norm, activation=activation, seed=seed, dtype=torch.float32)


def as64(stack):
    """A float64 copy of a float32 stack (the same numbers)."""
    kw = {}
    if stack.norm is not None:
        kw = {
            "norm_weights": [t.double() for t in stack.norm_weights],
            "norm_biases": [t.double() for t in stack.norm_biases],
        }
    if stack.norm == "batch":
        kw |= {
            "running_means": [t.double() for t in stack.running_means],
            "running_vars": [t.double() for t in stack.running_vars],
        }
    return StackedMLP(
        [w.double() for w in stack.weights],
        [b.double() for b in stack.biases],
        stack.activation,
        norm=stack.norm,
        **kw,
    )


def accuracy(stack, x, y):
    """Each model's accuracy on (x, y), as the stack computes its outputs in evaluation mode."""
    mode = stack.training
    out = stack.eval()(x)
    stack.train(mode)
    return (out.argmax(-1) == y).double().mean(1).numpy()


@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_fit_classifiers_trains_as_autograd_and_step_do(norm):
    """float32 end to end (data checks, groups, write-back) against the float64 slow loop."""
    x, y = batch(10, 3, 2, seed=8, dtype=torch.float32)
    stack = f32_stack(3, (3, 4, 2), norm=norm)
    ref = as64(stack)
    kwargs = MOMENTUM | {"decay": "decoupled", "coeff": [0.0, 0.25, 0.5]}
    opt = BatchedOptimizer(stack.parameters(), lr=[0.5, 0.25, 0.125], **kwargs)
    ref_opt = BatchedOptimizer(ref.parameters(), lr=[0.5, 0.25, 0.125], **kwargs)
    schedule = cosine_multipliers(6)
    hist = fit_classifiers(stack, opt, x, y, epochs=3, batch_size=4, order_seeds=[3, 1, 3], schedule=schedule)
    slow_train(ref, ref_opt, x.double(), y, 3, 4, [3, 1, 3], schedule)
    assert_same_training(stack, opt, ref, ref_opt, rtol=1e-4, atol=1e-5)
    assert opt.t == 6 and list(hist) == ["epoch"] and hist["epoch"].tolist() == [1, 2, 3]
    assert all(p.dtype == torch.float32 and p.requires_grad for p in stack.parameters())
    assert all(p.grad is None for p in stack.parameters())


def test_each_eval_set_is_scored_on_its_own_data():
    """Two classes: a set and the same set with flipped labels score a and 1 - a; the training
    set, the set and a third one each score what the trained stack scores on them."""
    x, y = batch(12, 3, 2, seed=9, dtype=torch.float32)
    xv, yv = batch(9, 3, 2, seed=10, dtype=torch.float32)
    xw, yw = batch(7, 3, 2, seed=11, dtype=torch.float32)
    for norm in (None, "layer", "batch"):
        stack = f32_stack(3, (3, 5, 2), norm=norm)
        opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=[0.5, 0.25, 0.125])
        sets = {"train": (x, y), "val": (xv, yv), "flipped": (xv, 1 - yv), "other": (xw.numpy(), yw.tolist())}
        hist = fit_classifiers(
            stack, opt, x, y, epochs=2, batch_size=4, order_seeds=[0, 1, 2], eval_sets=sets
        )
        assert set(hist) == {"epoch", "train", "val", "flipped", "other"}
        for name, (xe, ye) in sets.items():
            assert hist[name].shape == (2, 3) and hist[name].dtype == np.float32
            np.testing.assert_allclose(
                hist[name][-1], accuracy(stack, torch.as_tensor(xe), torch.as_tensor(ye)), atol=1e-6
            )
        np.testing.assert_allclose(hist["val"] + hist["flipped"], 1.0, atol=1e-6)
        assert not np.array_equal(hist["val"], hist["train"]) and not np.array_equal(
            hist["other"], hist["val"]
        )
        assert stack.training is True  # the stack's own flag is neither read nor changed


def history_run(epochs, eval_every=1):
    x, y = batch(12, 3, 2, seed=12, dtype=torch.float32)
    xv, yv = batch(200, 3, 2, seed=16, dtype=torch.float32)
    stack = f32_stack(3, (3, 6, 2), norm="batch", activation="tanh")
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=[1.0, 0.5, 0.25])
    return fit_classifiers(
        stack, opt, x, y, epochs=epochs, batch_size=4, order_seeds=[4, 4, 5], eval_sets={"v": (xv, yv)},
        eval_every=eval_every,
    )  # fmt: skip


def test_the_history_is_recorded_every_eval_every_epochs_and_after_the_last():
    final = {k: history_run(k)["v"][-1] for k in range(1, 6)}  # the accuracy after k epochs
    assert len({tuple(a) for a in final.values()}) == 5  # it changes from epoch to epoch
    every = history_run(5)
    assert every["epoch"].tolist() == [1, 2, 3, 4, 5] and every["v"].shape == (5, 3)
    for k in range(1, 6):
        np.testing.assert_array_equal(every["v"][k - 1], final[k])
    for epochs, eval_every, recorded in (
        (5, 2, [2, 4, 5]),
        (4, 2, [2, 4]),
        (3, 5, [3]),
        (1, 2, [1]),
        (3, 1, [1, 2, 3]),
    ):
        hist = history_run(epochs, eval_every)
        assert hist["epoch"].tolist() == recorded
        np.testing.assert_array_equal(hist["v"], np.array([final[k] for k in recorded]))


def test_a_second_call_continues_the_training():
    x, y = batch(8, 3, 2, seed=13, dtype=torch.float32)
    stacks = [f32_stack(2, (3, 4, 2), norm="layer") for _ in range(2)]
    opts = [BatchedOptimizer(s.parameters(), lr=0.25, **ADAM) for s in stacks]
    fit_classifiers(stacks[0], opts[0], x, y, epochs=1, batch_size=4, order_seeds=[1, 2])
    assert opts[0].t == 2 and all(set(s) == {"m", "v"} for s in opts[0].state)
    fit_classifiers(
        stacks[0], opts[0], x, y, epochs=1, batch_size=4, order_seeds=[1, 2], schedule=[0.5, 0.25]
    )
    ref, ref_opt = as64(stacks[1]), BatchedOptimizer(as64(stacks[1]).parameters(), lr=0.25, **ADAM)
    ref_opt = BatchedOptimizer(ref.parameters(), lr=0.25, **ADAM)
    slow_train(ref, ref_opt, x.double(), y, 1, 4, [1, 2])
    slow_train(ref, ref_opt, x.double(), y, 1, 4, [1, 2], [0.5, 0.25])
    assert_same_training(stacks[0], opts[0], ref, ref_opt, rtol=1e-4, atol=1e-5)
    assert opts[0].t == 4


def test_models_train_in_groups_and_threads_with_the_same_bits(monkeypatch):
    """Groups of one or two models, on one or two threads: the same parameters, state and history."""
    x, y = batch(8, 3, 2, seed=14, dtype=torch.float32)
    calls = []
    in_threads = stacked._in_threads

    def spy(jobs, workers):
        calls.append((len(jobs), workers))
        return in_threads(jobs, workers)

    monkeypatch.setattr(stacked, "_in_threads", spy)
    before = torch.get_num_threads()
    results = []
    try:
        for group, threads in ((40, 1), (1, 1), (2, 2), (1, 2)):
            monkeypatch.setattr(stacked, "_GROUP", group)
            torch.set_num_threads(threads)
            stack = f32_stack(5, (3, 4, 2), norm="batch")
            opt = BatchedOptimizer(stack.parameters(), lr=[0.5, 0.25, 0.125, 0.5, 0.25], **ADAM)
            hist = fit_classifiers(
                stack, opt, x, y, epochs=2, batch_size=4, order_seeds=[1, 2, 1, 3, 2], eval_sets={"t": (x, y)}
            )
            assert torch.get_num_threads() == threads
            results.append((stack, opt, hist))
    finally:
        torch.set_num_threads(before)
    assert calls == [(1, 1), (5, 1), (4, 2), (5, 2)]  # groups: 1; 5; 3 rounded up to 4; 5 (no more than m)
    a, opt_a, hist_a = results[0]
    for b, opt_b, hist_b in results[1:]:
        for pa, pb in zip(
            a.parameters() + a.running_means + a.running_vars,
            b.parameters() + b.running_means + b.running_vars,
            strict=True,
        ):
            assert torch.equal(pa, pb)
        for sa, sb in zip(opt_a.state, opt_b.state, strict=True):
            assert sa.keys() == sb.keys() == {"m", "v"} and all(torch.equal(sa[k], sb[k]) for k in sa)
        np.testing.assert_array_equal(hist_a["t"], hist_b["t"])
        assert opt_b.t == 4


def test_a_worker_thread_trains_with_one_torch_thread(monkeypatch):
    seen = []
    train_group = stacked._train_group

    def spy(*args):
        seen.append((threading.current_thread() is threading.main_thread(), torch.get_num_threads()))
        return train_group(*args)

    monkeypatch.setattr(stacked, "_train_group", spy)
    monkeypatch.setattr(stacked, "_GROUP", 1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        x, y = batch(4, 3, 2, dtype=torch.float32)
        stack = f32_stack(3)
        fit_classifiers(
            stack,
            BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5),
            x,
            y,
            epochs=1,
            batch_size=4,
            order_seeds=[0, 0, 0],
        )
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen == [(False, 1)] * 3


@pytest.mark.parametrize(
    ("m", "workers", "sizes"),
    [
        (320, 2, [40] * 8),
        (64, 2, [32, 32]),
        (5, 2, [2, 3]),
        (1, 2, [1]),
        (100, 1, [33, 33, 34]),
        (41, 1, [20, 21]),
        (40, 1, [40]),
        (80, 3, [26, 27, 27]),
        (3, 4, [1, 1, 1]),
        (121, 2, [30, 30, 30, 31]),
    ],
)
def test_group_slices_share_the_models_evenly_between_workers(m, workers, sizes):
    slices = stacked._group_slices(m, workers)
    assert [s.stop - s.start for s in slices] == sizes
    assert slices[0].start == 0 and slices[-1].stop == m
    assert all(a.stop == b.start for a, b in itertools.pairwise(slices))
    assert all(s.step is None for s in slices)


def test_jobs_in_threads_run_side_by_side_and_keep_their_order():
    barrier = threading.Barrier(2, timeout=10)
    running, most = [0], [0]
    lock = threading.Lock()

    def job(i, wait):
        def run():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            if wait:
                barrier.wait()  # the first two jobs meet: they run at the same time
            assert threading.current_thread() is not threading.main_thread()
            assert threading.current_thread().daemon
            assert torch.get_num_threads() == 1
            with lock:
                running[0] -= 1
            return i * 10

        return run

    before = torch.get_num_threads()
    unhandled = []
    hook, threading.excepthook = threading.excepthook, unhandled.append
    try:
        assert stacked._in_threads([job(i, i < 2) for i in range(5)], 2) == [0, 10, 20, 30, 40]
        assert most[0] == 2 and torch.get_num_threads() == before
        assert stacked._in_threads([job(0, True), job(1, True)], 3) == [0, 10]  # two jobs: two threads
        assert stacked._in_threads([job(i, False) for i in range(3)], 5) == [0, 10, 20]
        assert most[0] == 2  # no more threads than jobs or workers
    finally:
        threading.excepthook = hook
    assert unhandled == []  # every worker thread ended cleanly
    # one worker, or one job: run here, in order
    here = []
    assert stacked._in_threads([lambda: here.append(threading.current_thread()) or 1] * 2, 1) == [1, 1]
    assert stacked._in_threads([lambda: here.append(threading.current_thread()) or 2], 2) == [2]
    assert here == [threading.main_thread()] * 3
    assert stacked._in_threads([], 2) == []


def test_an_error_in_a_worker_thread_reaches_the_caller():
    done = []

    def fail():
        raise RuntimeError("boom")

    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match=whole("boom")):
        stacked._in_threads([fail, lambda: done.append(1), fail, lambda: done.append(2)], 2)
    assert torch.get_num_threads() == before
    assert len(done) <= 2  # workers stop taking jobs after an error
    with pytest.raises(KeyboardInterrupt):  # any exception, not only Exception
        stacked._in_threads([lambda: 1, lambda: (_ for _ in ()).throw(KeyboardInterrupt())], 2)


def test_denormals_are_flushed_while_training_only():
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # a denormal float32
    with stacked._flush_denormals():
        assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() != 0.0
    with pytest.raises(ValueError), stacked._flush_denormals():
        raise ValueError
    assert (tiny * 1.0).item() != 0.0


# -- fit_classifiers: its arguments -------------------------------------------------------------------


def fit_args(**changes):
    x, y = batch(8, 3, 2, seed=15, dtype=torch.float32)
    stack = f32_stack(2, (3, 4, 2))
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5)
    args = {
        "stack": stack,
        "optimizer": opt,
        "x": x,
        "y": y,
        "epochs": 1,
        "batch_size": 4,
        "order_seeds": [0, 1],
    }
    return args | changes


X8, Y8 = batch(8, 3, 2, seed=15, dtype=torch.float32)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"stack": "stack"}, TypeError, "stack must be a StackedMLP; got str"),
        ({"optimizer": torch.optim.SGD}, TypeError, "optimizer must be a BatchedOptimizer; got type"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1; got 0"),
        ({"epochs": 1.0}, TypeError, "epochs must be a whole number; got float 1.0"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1; got 0"),
        ({"batch_size": 9}, ValueError, "batch_size must be at most the number of training rows (8); got 9"),
        ({"eval_every": 0}, ValueError, "eval_every must be >= 1; got 0"),
        ({"order_seeds": "01"}, TypeError, "order_seeds must be a list of integers, one per model"),
        ({"order_seeds": 1}, TypeError, "order_seeds must be a list of integers, one per model"),
        ({"order_seeds": [1]}, ValueError, "order_seeds must hold one seed per model (2); got 1"),
        (
            {"order_seeds": np.array([1, 2, 3])},
            ValueError,
            "order_seeds must hold one seed per model (2); got 3",
        ),
        ({"order_seeds": [0, -1]}, ValueError, "order_seeds[1] must be >= 0; got -1"),
        ({"order_seeds": [0, 1.0]}, TypeError, "order_seeds[1] must be a whole number; got float 1.0"),
        ({"eval_sets": [(X8, Y8)]}, TypeError, "eval_sets must be None or a dict {name: (x, y)}; got list"),
        ({"eval_sets": {1: (X8, Y8)}}, TypeError, "eval_sets' names must be non-empty strings; got 1"),
        ({"eval_sets": {"": (X8, Y8)}}, TypeError, "eval_sets' names must be non-empty strings; got ''"),
        ({"eval_sets": {"v": X8}}, TypeError, "eval_sets['v'] must be a pair (x, y); got Tensor"),
        ({"eval_sets": {"v": (X8, Y8, Y8)}}, TypeError, "eval_sets['v'] must be a pair (x, y); got tuple"),
        (
            {"eval_sets": {"v": (X8[:, :2], Y8)}},
            ValueError,
            "eval_sets['v'] x must have shape [n, 3]; got (8, 2)",
        ),
        (
            {"eval_sets": {"v": (X8, Y8 + 1)}},
            ValueError,
            "eval_sets['v'] y must hold labels 0..1 (the networks have 2 outputs); got labels from 1 to 2",
        ),
        ({"x": X8[:, :2]}, ValueError, "training x must have shape [n, 3]; got (8, 2)"),
        ({"x": X8[0]}, ValueError, "training x must have shape [n, 3]; got (3,)"),
        ({"x": X8.long()}, TypeError, "training x must hold floating-point numbers; got dtype torch.int64"),
        (
            {"x": [[0.0, 1.0, None]] * 8},
            TypeError,
            "training x must be an array of real numbers; got None among its elements",
        ),
        (
            {"x": X8.clone().fill_(float("inf"))},
            ValueError,
            "training x must hold only finite numbers (no NaN or inf)",
        ),
        (
            {"x": np.full((8, 3), np.nan)},
            ValueError,
            "training x must hold only finite numbers (no NaN or inf)",
        ),
        ({"y": Y8.float()}, TypeError, "training y must hold integer class labels; got dtype torch.float32"),
        ({"y": Y8.bool()}, TypeError, "training y must hold integer class labels; got dtype torch.bool"),
        (
            {"y": Y8.to(torch.complex64)},
            TypeError,
            "training y must hold integer class labels; got dtype torch.complex64",
        ),
        ({"y": np.zeros(8)}, TypeError, "training y must hold integer class labels; got dtype torch.float64"),
        ({"y": Y8[:7]}, ValueError, "training y must have shape [8] (one label per row of x); got (7,)"),
        (
            {"y": Y8[:, None]},
            ValueError,
            "training y must have shape [8] (one label per row of x); got (8, 1)",
        ),
        (
            {"y": Y8 - 1},
            ValueError,
            "training y must hold labels 0..1 (the networks have 2 outputs); got labels from -1 to 0",
        ),
        (
            {"y": Y8 * 2},
            ValueError,
            "training y must hold labels 0..1 (the networks have 2 outputs); got labels from 0 to 2",
        ),
        (
            {"schedule": [1.0, 1.0, 1.0]},
            ValueError,
            "schedule must hold one multiplier per step (epochs * (n // batch_size) = 2); got shape (3,)",
        ),
        (
            {"schedule": [[1.0, 1.0]]},
            ValueError,
            "schedule must hold one multiplier per step (epochs * (n // batch_size) = 2); got shape (1, 2)",
        ),
        ({"schedule": [1.0, -0.5]}, ValueError, "schedule must hold multipliers >= 0"),
        (
            {"schedule": [1.0, float("nan")]},
            ValueError,
            "schedule must hold only finite numbers (no NaN or inf)",
        ),
        ({"schedule": "ab"}, TypeError, "schedule must be an array of real numbers; got str"),
    ],
)
def test_fit_classifiers_arguments_are_checked(changes, error, message):
    args = fit_args(**changes)
    before = (
        [p.detach().clone() for p in args["stack"].parameters()]
        if isinstance(args["stack"], StackedMLP)
        else []
    )
    with pytest.raises(error, match=whole(message)):
        fit_classifiers(**args)
    if before:  # nothing was trained
        assert all(
            torch.equal(b, p.detach()) for b, p in zip(before, args["stack"].parameters(), strict=True)
        )


def test_fit_classifiers_refuses_an_optimizer_of_other_tensors():
    args = fit_args()
    message = "optimizer must be built on stack.parameters() (the same tensors, in order)"
    stack = args["stack"]
    for params in (
        StackedMLP.__new__(StackedMLP) and f32_stack(2, (3, 4, 2)).parameters(),
        stack.parameters()[:3],
        stack.parameters()[::-1],
        [*stack.parameters(), torch.zeros(2, 1, 1, requires_grad=True)],
    ):
        with pytest.raises(ValueError, match=whole(message)):
            fit_classifiers(**(args | {"optimizer": BatchedOptimizer(params, optimizer="sgd", lr=0.5)}))


def test_batch_norm_needs_two_rows_per_minibatch():
    stack = f32_stack(2, (3, 4, 2), norm="batch")
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5)
    with pytest.raises(
        ValueError, match=whole("batch_size must be at least 2 with norm='batch' (batch statistics); got 1")
    ):
        fit_classifiers(stack, opt, X8, Y8, epochs=1, batch_size=1, order_seeds=[0, 0])
    fit_classifiers(stack, opt, X8, Y8, epochs=1, batch_size=2, order_seeds=[0, 0])
    layer = f32_stack(2, (3, 4, 2), norm="layer")
    fit_classifiers(
        layer,
        BatchedOptimizer(layer.parameters(), optimizer="sgd", lr=0.5),
        X8,
        Y8,
        epochs=1,
        batch_size=1,
        order_seeds=[0, 0],
    )


def test_fit_classifiers_takes_data_in_other_forms():
    """Arrays, lists, float64 and non-contiguous tensors, int32 labels, a float32 schedule: the same run."""
    runs = []
    for x, y, seeds, schedule in (
        (X8, Y8, [0, 1], [1.0, 0.5]),
        (X8.double().numpy(), Y8.int().numpy(), np.array([0, 1]), np.array([1.0, 0.5], dtype=np.float32)),
        (X8.T.contiguous().T, Y8.tolist(), (np.int64(0), 1), (1, 0.5)),
    ):
        stack = f32_stack(2, (3, 4, 2))
        opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5)
        hist = fit_classifiers(
            stack, opt, x, y, epochs=np.int64(1), batch_size=np.int64(4), order_seeds=seeds, schedule=schedule,
            eval_sets={"t": (x, y)}, eval_every=np.int64(1),
        )  # fmt: skip
        runs.append((stack, hist))
    for stack, hist in runs[1:]:
        for a, b in zip(runs[0][0].parameters(), stack.parameters(), strict=True):
            assert torch.equal(a, b)
        np.testing.assert_array_equal(hist["t"], runs[0][1]["t"])
    x, y = stacked._checked_data("training", X8.T.contiguous().T.double(), Y8.int(), 3, 2)
    assert x.dtype == torch.float32 and x.is_contiguous() and y.dtype == torch.int64
    empty_x, empty_y = stacked._checked_data("v", torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 3, 2)
    assert empty_x.shape == (0, 3) and empty_y.shape == (0,)


# -- minibatch orders, schedules ------------------------------------------------------------------------


def test_minibatch_orders_give_each_seed_its_own_generator():
    epochs = list(minibatch_orders([3, 1, 3, 0], 6, 3))
    assert len(epochs) == 3
    expected = orders([3, 1, 3, 0], 6, 3)
    for got, want in zip(epochs, expected, strict=True):
        assert got.shape == (4, 6) and got.dtype == torch.long
        assert torch.equal(got, want)
        assert torch.equal(got[0], got[2]) and sorted(got[1].tolist()) == list(range(6))
    assert not torch.equal(epochs[0], epochs[1])  # a new permutation each epoch
    state = torch.random.get_rng_state()
    list(minibatch_orders(np.array([5]), 4, np.int64(2)))
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched
    assert [p.tolist() for p in minibatch_orders([7], 1, 1)] == [[[0]]]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            ("12", 4, 1),
            TypeError,
            "order_seeds must be a non-empty list of seeds (whole numbers >= 0), one per model; got '12'",
        ),
        (
            ([], 4, 1),
            TypeError,
            "order_seeds must be a non-empty list of seeds (whole numbers >= 0), one per model; got []",
        ),
        (
            (7, 4, 1),
            TypeError,
            "order_seeds must be a non-empty list of seeds (whole numbers >= 0), one per model; got 7",
        ),
        (([1, -2], 4, 1), ValueError, "order_seeds[1] must be >= 0; got -2"),
        (([1], 0, 1), ValueError, "n must be >= 1; got 0"),
        (([1], 4.0, 1), TypeError, "n must be a whole number; got float 4.0"),
        (([1], 4, 0), ValueError, "epochs must be >= 1; got 0"),
        (([1], 4, None), TypeError, "epochs must be a whole number; got NoneType None"),
    ],
)
def test_minibatch_orders_check_their_arguments_when_called(args, error, message):
    with pytest.raises(error, match=whole(message)):
        minibatch_orders(*args)  # not only at the first epoch


def test_cosine_multipliers():
    np.testing.assert_allclose(
        cosine_multipliers(4),
        [1.0, 0.5 + 0.5 * np.cos(np.pi / 4), 0.5, 0.5 - 0.5 * np.cos(np.pi / 4)],
        rtol=1e-15,
    )
    assert cosine_multipliers(1).tolist() == [1.0] and cosine_multipliers(np.int64(2)).tolist() == [1.0, 0.5]
    assert cosine_multipliers(3).dtype == np.float64
    with pytest.raises(ValueError, match=whole("steps must be >= 1; got 0")):
        cosine_multipliers(0)
    with pytest.raises(TypeError, match=whole("steps must be a whole number; got float 2.0")):
        cosine_multipliers(2.0)


# -- the flat buffers of a group -------------------------------------------------------------------------


def test_a_group_packs_its_models_parameters_and_hyperparameters():
    stack = stack_of(4, (3, 4, 2), norm="batch", running=True)
    kinds = stack.parameter_kinds()
    opt = BatchedOptimizer(
        stack.parameters(), optimizer="sgd", lr=[0.5, 0.25, 0.125, 0.0625],
        decay={"decoupled": [0.5, 0.0, 0.25, 0.125], "l1": [0.0, 0.25, 0.0, 0.5]},
        decay_mask=[k != "bias" for k in kinds], corrected_mask=[i == 0 for i in range(len(kinds))],
    )  # fmt: skip
    flat = stacked._Flat(stack, opt, slice(1, 3))
    assert flat.m == 2 and flat.dtype == torch.float32 and flat.norm == "batch" and flat.activation == "relu"
    assert flat.layout == [[0, 1, 2, 3], [4, 5, None, None]]
    assert flat.shapes == [(3, 4), (1, 4), (1, 4), (1, 4), (4, 2), (1, 2)]
    assert flat.offsets == [0, 24, 32, 40, 48, 64, 68]
    views = flat.views(flat.p)
    for v, p in zip(views, stack.parameters(), strict=True):
        assert v.dtype == torch.float32 and v.is_contiguous() and torch.equal(v, p.detach()[1:3].float())
    for (m, v), rm, rv in zip(flat.running, stack.running_means, stack.running_vars, strict=True):
        assert torch.equal(m, rm[1:3].float()) and torch.equal(v, rv[1:3].float())
    assert flat.g.shape == flat.p.shape == (68,) and not flat.g.any() and flat.state == {}
    cols = {k: None if v is None else flat.views(v) for k, v in flat.cols.items()}
    assert set(cols) == {"lr", "wd", "l1", "wd_corrected", "rate", "rate_corrected"}
    for k, kind in enumerate(kinds):
        assert cols["lr"][k][:, 0, 0].tolist() == [0.25, 0.125]
        decayed, corrected = kind != "bias", k == 0
        assert cols["wd"][k][:, 0, 0].tolist() == ([0.0, 0.25] if decayed and not corrected else [0.0, 0.0])
        assert cols["wd_corrected"][k][:, 0, 0].tolist() == ([0.0, 0.25] if corrected else [0.0, 0.0])
        assert cols["l1"][k][:, 0, 0].tolist() == ([0.25, 0.0] if decayed else [0.0, 0.0])
        assert cols["rate"][k][:, -1, -1].tolist() == [
            0.0,
            0.125 * 0.25 if decayed and not corrected else 0.0,
        ]
        assert torch.equal(cols["rate_corrected"][k], cols["lr"][k] * cols["wd_corrected"][k])
    # no coefficient at all in the group: no column
    plain = stacked._Flat(stack, opt, slice(1, 2))
    assert plain.cols["wd"] is None and plain.cols["rate"] is None and plain.cols["wd_corrected"] is None
    assert plain.cols["rate_corrected"] is None and plain.cols["l1"] is not None
    paper = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5, decay="decoupled_paper", coeff=0.25)
    assert torch.equal(stacked._Flat(stack, paper, slice(0, 4)).cols["rate"], torch.full((136,), 0.25))
    l2 = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5, decay="l2", coeff=0.25)
    cols = stacked._Flat(stack, l2, slice(0, 4)).cols
    assert cols["rate"] is None and torch.equal(cols["wd"], torch.full((136,), 0.25))


def test_a_group_writes_its_results_back_into_its_slice_only():
    stack = stack_of(3, (3, 4, 2), norm="batch", running=True, dtype=torch.float32)
    opt = BatchedOptimizer(stack.parameters(), optimizer="adam", lr=0.5)
    before = [t.detach().clone() for t in stack.parameters() + stack.running_means + stack.running_vars]
    flat = stacked._Flat(stack, opt, slice(1, 2))
    flat.p.add_(1.0)
    for m, v in flat.running:
        m.add_(2.0)
        v.add_(3.0)
    # the group trains copies: nothing reaches the stack before unpack_into
    assert all(
        torch.equal(b, a)
        for b, a in zip(before, stack.parameters() + stack.running_means + stack.running_vars, strict=True)
    )
    state = {"m": torch.full_like(flat.p, 4.0), "v": torch.full_like(flat.p, 5.0)}
    flat.unpack_into(stack, opt, state)
    after = stack.parameters() + stack.running_means + stack.running_vars
    shifts = (
        [1.0] * len(stack.parameters()) + [2.0] * len(stack.running_means) + [3.0] * len(stack.running_vars)
    )
    for b, a, shift in zip(before, after, shifts, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
        assert torch.equal(a[1], b[1] + shift)
    for s, p in zip(opt.state, stack.parameters(), strict=True):
        assert set(s) == {"m", "v"} and s["m"].shape == p.shape
        assert (
            torch.equal(s["m"][1], torch.full_like(p[1], 4.0)) and not s["m"][0].any() and not s["m"][2].any()
        )
        assert torch.equal(s["v"][1], torch.full_like(p[1], 5.0)) and not s["v"][2].any()
    # a second group's state goes into the existing buffers
    stacked._Flat(stack, opt, slice(2, 3)).unpack_into(stack, opt, {"m": torch.full_like(flat.p, 6.0)})
    assert opt.state[0]["m"][1].eq(4.0).all() and opt.state[0]["m"][2].eq(6.0).all()
    assert stack.weights[0].requires_grad and stack.weights[0].is_leaf


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_the_accuracy_of_a_group_is_the_stacks_own(norm, activation):
    """Hidden pre-activations whose variance is below the norms' eps (1e-5): eps decides the
    outputs. Labels: model 0's own predictions, of several classes."""
    stack = stack_of(2, (3, 4, 3), norm=norm, activation=activation, running=norm == "batch")
    with torch.no_grad():
        if norm is not None:
            stack.weights[0].mul_(1e-3)
            stack.biases[0].mul_(1e-3)
        for m, v in zip(stack.running_means, stack.running_vars, strict=True):
            m.mul_(1e-3)
            v.fill_(1e-6)
    x, _ = batch(60, 3, 3, seed=17)
    y = stack.eval()(x)[0].argmax(-1)
    stack.train()
    assert len(set(y.tolist())) > 1
    flat = stacked._Flat(
        stack, BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5), slice(0, 2), dtype=F64
    )
    acc = flat.accuracy(x.float(), y)  # the group's dtype, whatever the data's
    assert acc[0] == 1.0 and acc[1] < 1.0 and acc.dtype == np.float32
    np.testing.assert_allclose(acc, accuracy(stack, x, y), rtol=1e-7)


def test_a_zero_multiplier_is_a_step_that_changes_nothing():
    stack = f32_stack(2, (3, 4, 2))
    before = [p.detach().clone() for p in stack.parameters()]
    opt = BatchedOptimizer(
        stack.parameters(), optimizer="momentum", lr=0.5, decay="decoupled_paper", coeff=0.5
    )
    fit_classifiers(stack, opt, X8, Y8, epochs=1, batch_size=4, order_seeds=[0, 1], schedule=[0.0, 0.0])
    assert all(torch.equal(b, p.detach()) for b, p in zip(before, stack.parameters(), strict=True))
    assert opt.t == 2 and all(set(s) == {"buf"} for s in opt.state)


def test_labels_need_not_include_every_class():
    """Only class 0 among the labels of a 3-class network: the one-hot targets still have 3 columns."""
    x, _ = batch(8, 3, 3, seed=18, dtype=torch.float32)
    y = torch.zeros(8, dtype=torch.long)
    stack = f32_stack(2, (3, 4, 3))
    ref = as64(stack)
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5)
    ref_opt = BatchedOptimizer(ref.parameters(), optimizer="sgd", lr=0.5)
    fit_classifiers(stack, opt, x, y, epochs=1, batch_size=4, order_seeds=[0, 1])
    slow_train(ref, ref_opt, x.double(), y, 1, 4, [0, 1])
    assert_same_training(stack, opt, ref, ref_opt, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("norm", "classes"), [(None, 2), ("layer", 31), ("batch", 32), (None, 40)])
def test_a_workspace_holds_one_buffer_per_product(norm, classes):
    """Allocated once per run; the output layer is computed transposed below 32 classes (``_NARROW``)."""
    stack = stack_of(3, (3, 4, 5, classes), norm=norm)
    flat = stacked._Flat(
        stack, BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.5), slice(0, 2), dtype=F64
    )
    ws = stacked._Workspace(flat, stack.sizes, 6)
    assert ws.batch == 6 and ws.x.shape == (2, 6, 3) and ws.onehot.shape == (2, 6, classes)
    assert [h.shape for h in ws.h] == [d.shape for d in ws.dh] == [(2, 6, 4), (2, 6, 5)]
    assert (
        [t.shape for t in ws.xhat]
        == [t.shape for t in ws.tmp]
        == ([] if norm is None else [(2, 6, 4), (2, 6, 5)])
    )
    assert ws.rstd == [None, None]
    assert ws.narrow is (classes < 32)
    logits = (2, classes, 6) if ws.narrow else (2, 6, classes)
    assert ws.logits.shape == ws.probs.shape == logits
    assert (ws.last_grad is None) if not ws.narrow else (ws.last_grad.shape == (2, classes, 5))
    assert ws.scratch.shape == flat.p.shape and ws.scratch.dtype == F64
    assert all(t.dtype == F64 for t in [ws.x, ws.onehot, *ws.h, *ws.dh, ws.logits, ws.probs])
    assert (
        [tuple(v.shape) for v in ws.ps] == [(2, *s) for s in flat.shapes] == [tuple(g.shape) for g in ws.gs]
    )
    assert ws.ps[0].data_ptr() == flat.p.data_ptr() and ws.gs[0].data_ptr() == flat.g.data_ptr()
