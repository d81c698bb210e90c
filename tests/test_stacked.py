"""The batched engine gives the same weights as separate torch.optim runs."""

import itertools

import numpy as np
import pytest
import torch

from decaylab.stacked import BatchedOptimizer, StackedMLP


def make_models(n, sizes=(4, 8, 3), seed=0):
    torch.manual_seed(seed)
    models = []
    for _ in range(n):
        layers = []
        for a, b in itertools.pairwise(sizes):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        models.append(torch.nn.Sequential(*layers[:-1]))
    return models


def data(seed=1, n=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def run_separate(models, make_opt, steps=15):
    x, y = data()
    for i, model in enumerate(models):
        opt = make_opt(model.parameters(), i)
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    return models


def run_stacked(models, steps=15, **opt_kwargs):
    x, y = data()
    stack = StackedMLP.from_modules(models)
    opt = BatchedOptimizer(stack.parameters(), **opt_kwargs)
    for _ in range(steps):
        opt.zero_grad()
        logits = stack(x)  # [M, B, C]
        loss = sum(torch.nn.functional.cross_entropy(logits[i], y) for i in range(stack.n_models))
        loss.backward()
        opt.step()
    return stack


def assert_same(stack, models, atol=1e-5):
    for i, model in enumerate(models):
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        for k, lin in enumerate(linears):
            np.testing.assert_allclose(
                stack.weights[k][i].detach().T.numpy(), lin.weight.detach().numpy(), atol=atol
            )
            np.testing.assert_allclose(
                stack.biases[k][i, 0].detach().numpy(), lin.bias.detach().numpy(), atol=atol
            )


LRS = [0.05, 0.1, 0.2]
WDS = [0.0, 1e-3, 0.1]


@pytest.mark.parametrize(
    ("kind", "torch_opt", "extra"),
    [
        ("sgd", lambda p, i: torch.optim.SGD(p, lr=LRS[i], weight_decay=WDS[i]), {}),
        (
            "sgd",
            lambda p, i: torch.optim.SGD(p, lr=LRS[i], momentum=0.9, weight_decay=WDS[i]),
            {"momentum": 0.9},
        ),
        ("adam", lambda p, i: torch.optim.Adam(p, lr=LRS[i] / 10, weight_decay=WDS[i]), {}),
        (
            "adamw",
            lambda p, i: torch.optim.AdamW(p, lr=LRS[i] / 10, weight_decay=WDS[i]),
            {"decoupled": True},
        ),
    ],
    ids=["sgd", "momentum", "adam", "adamw"],
)
def test_stacked_matches_separate_torch_optim_runs(kind, torch_opt, extra):
    separate = run_separate(make_models(3), torch_opt)
    lrs = LRS if kind == "sgd" else [lr / 10 for lr in LRS]
    stack = run_stacked(
        make_models(3), kind="adam" if kind == "adamw" else kind, lr=lrs, weight_decay=WDS, **extra
    )
    assert_same(stack, separate)


def test_decay_mask_leaves_biases_alone():
    models = make_models(1)
    stack = StackedMLP.from_modules(models)
    before = [b.detach().clone() for b in stack.biases]
    opt = BatchedOptimizer(
        stack.parameters(), kind="sgd", lr=0.1, weight_decay=0.5, decay_mask=[True, False] * 2
    )
    for p in stack.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for b0, b in zip(before, stack.biases, strict=True):
        assert torch.equal(b0, b)
    assert torch.allclose(stack.weights[0], StackedMLP.from_modules(models).weights[0] * 0.95)


def test_proximal_l1_sets_small_weights_exactly_to_zero():
    w = torch.tensor([[[0.01, -0.5, 0.02]]], requires_grad=True)
    opt = BatchedOptimizer([w], kind="sgd", lr=1.0, l1=0.05, l1_mode="proximal")
    w.grad = torch.zeros_like(w)
    opt.step()
    assert w.detach().numpy().tolist() == [[[0.0, pytest.approx(-0.45), 0.0]]]


def test_bad_arguments_are_named():
    models = make_models(2)
    stack = StackedMLP.from_modules(models)
    with pytest.raises(ValueError, match=r"lr must be one number or one per model \(2\); got 3 values"):
        BatchedOptimizer(stack.parameters(), kind="sgd", lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"kind must be one of 'sgd', 'adam'"):
        BatchedOptimizer(stack.parameters(), kind="rmsprop", lr=0.1)
    with pytest.raises(ValueError, match=r"weight_decay\[1\] must be >= 0"):
        BatchedOptimizer(stack.parameters(), kind="sgd", lr=0.1, weight_decay=[0.1, -1.0])
    with pytest.raises(ValueError, match=r"x must have shape \[B, 4\]"):
        stack(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="modules must share one architecture"):
        StackedMLP.from_modules([*make_models(1), *make_models(1, sizes=(4, 5, 3))])
    with pytest.raises(ValueError, match="activation must be one of 'relu', 'tanh'"):
        StackedMLP.from_modules(models, activation="gelu")


def test_fit_classifiers_matches_a_plain_training_loop():
    from decaylab.stacked import fit_classifiers, minibatch_orders

    x, y = data(n=40)
    models = make_models(2)
    stack = StackedMLP.from_modules(models)
    opt = BatchedOptimizer(stack.parameters(), kind="sgd", lr=0.1, momentum=0.9, weight_decay=[0.0, 0.01])
    hist = fit_classifiers(
        stack, opt, x, y, epochs=3, batch_size=8, order_seeds=[5, 5], eval_sets={"train": (x, y)}
    )
    assert hist["epoch"].tolist() == [1, 2, 3] and hist["train"].shape == (3, 2)
    for i, (model, wd) in enumerate(zip(models, [0.0, 0.01], strict=True)):
        sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=wd)
        for perm in minibatch_orders([5], 40, 3):
            for k in range(0, 40, 8):
                idx = perm[0, k : k + 8]
                sgd.zero_grad()
                torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
                sgd.step()
        acc = (model(x).argmax(-1) == y).float().mean().item()
        assert acc == pytest.approx(hist["train"][-1, i])
    assert_same(stack, models)


def test_fit_classifiers_checks_arguments():
    from decaylab.stacked import fit_classifiers

    x, y = data(n=40)
    stack = StackedMLP.from_modules(make_models(2))
    opt = BatchedOptimizer(stack.parameters(), kind="sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"order_seeds must hold one seed per model \(2\)"):
        fit_classifiers(stack, opt, x, y, epochs=1, batch_size=8, order_seeds=[1])
    with pytest.raises(ValueError, match="batch_size must be at most the number of training rows"):
        fit_classifiers(stack, opt, x, y, epochs=1, batch_size=80, order_seeds=[1, 1])
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_classifiers(stack, opt, x, y, epochs=0, batch_size=8, order_seeds=[1, 1])
