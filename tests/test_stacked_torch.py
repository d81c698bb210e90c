"""The batched engine against separate torch.optim runs and autograd: the slow comparisons.

Each test here trains small networks for 15 steps with the engine and again with per-model
``torch.optim`` loops (or autograd and :meth:`BatchedOptimizer.step`) and compares the
weights. They run in ``make check`` and ``make test``, not under ``make mutants``: a mutant
that slows a training loop would run into mutmut's timeout here. The mutation score of
``stacked.py`` measures the fast unit tests of tests/test_stacked.py, which check the same
engine against hand-computed values and the NumPy reference on tiny shapes.
"""

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
        ("sgd", lambda p, i: torch.optim.SGD(p, lr=LRS[i], weight_decay=WDS[i]), {"decay": "l2"}),
        (
            "momentum",
            lambda p, i: torch.optim.SGD(p, lr=LRS[i], momentum=0.9, weight_decay=WDS[i]),
            {"momentum": 0.9, "decay": "l2"},
        ),
        ("adam", lambda p, i: torch.optim.Adam(p, lr=LRS[i] / 10, weight_decay=WDS[i]), {"decay": "l2"}),
        (
            "adam",
            lambda p, i: torch.optim.AdamW(p, lr=LRS[i] / 10, weight_decay=WDS[i]),
            {"decay": "decoupled"},
        ),
    ],
    ids=["sgd", "momentum", "adam", "adamw"],
)
def test_stacked_matches_separate_torch_optim_runs(kind, torch_opt, extra):
    separate = run_separate(make_models(3), torch_opt)
    lrs = [lr / 10 for lr in LRS] if kind == "adam" else LRS
    stack = run_stacked(make_models(3), optimizer=kind, lr=lrs, coeff=WDS, **extra)
    assert_same(stack, separate)


def test_fit_classifiers_matches_a_plain_training_loop():
    from decaylab.stacked import fit_classifiers, minibatch_orders

    x, y = data(n=40)
    models = make_models(2)
    stack = StackedMLP.from_modules(models)
    opt = BatchedOptimizer(
        stack.parameters(), optimizer="momentum", lr=0.1, momentum=0.9, decay="l2", coeff=[0.0, 0.01]
    )
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


def test_sgdw_matches_torch_sgd_with_a_manual_decoupled_step():
    # torch has no SGDW: shrink w by (1 - lr*wd) by hand, then torch.optim.SGD(momentum=0.9)
    x, y = data()
    models = make_models(3)
    for i, model in enumerate(models):
        opt = torch.optim.SGD(model.parameters(), lr=LRS[i], momentum=0.9)
        for _ in range(15):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(1 - LRS[i] * WDS[i])
            opt.step()
    stack = run_stacked(make_models(3), optimizer="momentum", lr=LRS, decay="decoupled", coeff=WDS)
    assert_same(stack, models)
    # the paper's form with lambda = lr * wd gives the same weights
    lams = [lr * wd for lr, wd in zip(LRS, WDS, strict=True)]
    paper = run_stacked(make_models(3), optimizer="momentum", lr=LRS, decay="decoupled_paper", coeff=lams)
    assert_same(paper, models)


def test_paper_adamw_matches_torch_adamw_with_weight_decay_lambda_over_lr():
    lrs = [lr / 10 for lr in LRS]
    lams = [1e-4, 3e-3, 1e-2]
    separate = run_separate(
        make_models(3), lambda p, i: torch.optim.AdamW(p, lr=lrs[i], weight_decay=lams[i] / lrs[i])
    )
    stack = run_stacked(make_models(3), optimizer="adam", lr=lrs, decay="decoupled_paper", coeff=lams)
    assert_same(stack, separate)


def slow_fit(stack, opt, x, y, epochs, batch_size, seeds, schedule=None):
    """fit_classifiers' contract, written with autograd and BatchedOptimizer.step."""
    from decaylab.stacked import minibatch_orders

    steps = iter(schedule if schedule is not None else [])
    for perm in minibatch_orders(seeds, len(x), epochs):
        for k in range(0, len(x) - batch_size + 1, batch_size):
            idx = perm[:, k : k + batch_size]
            logits = stack(x[idx])
            losses = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y[idx].reshape(-1), reduction="none"
            )
            opt.zero_grad()
            losses.view(stack.n_models, batch_size).mean(1).sum().backward()
            opt.step() if schedule is None else opt.step(multiplier=next(steps))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"optimizer": "adam", "decay": "decoupled_paper", "coeff": [0.0, 1e-3, 1e-2]},
        {
            "optimizer": "adam",
            "decay": "l2",
            "coeff": [0.0, 1e-3, 1e-2],
            "decay_mask": [True, False, True, False],
        },
        {"optimizer": "momentum", "decay": "l1", "coeff": [0.0, 1e-3, 1e-2], "l1_mode": "proximal"},
        {"optimizer": "momentum", "decay": {"l1": 1e-3, "decoupled": 1e-2}},
    ],
    ids=["adamw-paper", "adam-l2-mask", "sgd-proximal-l1", "sgdw-subgradient-l1"],
)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_fit_classifiers_fast_path_equals_autograd_and_step(kwargs, activation):
    from decaylab.stacked import fit_classifiers

    x, y = data(n=40)
    stacks = [StackedMLP.from_modules(make_models(3), activation=activation) for _ in range(2)]
    opts = [BatchedOptimizer(s.parameters(), lr=[0.01, 0.05, 0.1], **kwargs) for s in stacks]
    fit_classifiers(stacks[0], opts[0], x, y, epochs=3, batch_size=8, order_seeds=[1, 2, 1])
    slow_fit(stacks[1], opts[1], x, y, 3, 8, [1, 2, 1])
    for a, b in zip(stacks[0].parameters(), stacks[1].parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=2e-6)
    assert opts[0].t == opts[1].t == 15
    for sa, sb in zip(opts[0].state, opts[1].state, strict=True):
        assert sa.keys() == sb.keys()
        for key in sa:
            np.testing.assert_allclose(sa[key].numpy(), sb[key].numpy(), atol=2e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"optimizer": "adam", "decay": "decoupled_paper", "coeff": [0.0, 1e-2, 1e-1]},
        {"optimizer": "adam", "decay": "decoupled", "coeff": [0.0, 1e-2, 1e-1]},
        {"optimizer": "momentum", "decay": "decoupled_paper", "coeff": [0.0, 1e-2, 1e-1]},
        {"optimizer": "momentum", "decay": {"l2": 1e-2, "l1": 1e-2}, "l1_mode": "proximal"},
    ],
    ids=["adamw-paper", "adamw-torch", "sgdw-paper", "sgd-l2-proximal-l1"],
)
def test_a_scheduled_run_equals_steps_with_the_same_multipliers(kwargs):
    """The schedule multiplies the learning rate, and the decoupled decay by the paper's or torch's rule."""
    from decaylab.stacked import cosine_multipliers, fit_classifiers

    x, y = data(n=40)
    schedule = cosine_multipliers(15)
    stacks = [StackedMLP.from_modules(make_models(3)) for _ in range(2)]
    opts = [BatchedOptimizer(s.parameters(), lr=[0.01, 0.05, 0.1], **kwargs) for s in stacks]
    fit_classifiers(
        stacks[0], opts[0], x, y, epochs=3, batch_size=8, order_seeds=[1, 2, 1], schedule=schedule
    )
    slow_fit(stacks[1], opts[1], x, y, 3, 8, [1, 2, 1], schedule=schedule)
    for a, b in zip(stacks[0].parameters(), stacks[1].parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=2e-6)
    # and the schedule changed the run: the same training at a constant multiplier ends elsewhere
    constant = StackedMLP.from_modules(make_models(3))
    opt = BatchedOptimizer(constant.parameters(), lr=[0.01, 0.05, 0.1], **kwargs)
    fit_classifiers(constant, opt, x, y, epochs=3, batch_size=8, order_seeds=[1, 2, 1])
    assert not np.allclose(constant.weights[0].detach().numpy(), stacks[0].weights[0].detach().numpy())


def test_the_paper_decay_follows_the_multiplier_not_the_learning_rate():
    """One step from zero gradient: the paper's SGDW shrinks by eta_t * wd, torch's form by eta_t * lr * wd."""
    from decaylab.stacked import fit_classifiers

    x, y = data(n=8)
    for decay, expected in (("decoupled_paper", 1 - 0.5 * 0.1), ("decoupled", 1 - 0.5 * 0.2 * 0.1)):
        stack = StackedMLP.from_modules(make_models(1))
        w0 = stack.weights[0].detach().clone()
        opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.2, decay=decay, coeff=0.1)
        # learning rate 0.2 at multiplier 0.5 on a zero-loss-gradient step is isolated by
        # subtracting the run without decay
        ref = StackedMLP.from_modules(make_models(1))
        ref_opt = BatchedOptimizer(ref.parameters(), optimizer="sgd", lr=0.2)
        for s, o in ((stack, opt), (ref, ref_opt)):
            fit_classifiers(s, o, x, y, epochs=1, batch_size=8, order_seeds=[0], schedule=[0.5])
        # w_decay = shrink * w0 - step, w_ref = w0 - step
        shrink = (stack.weights[0] - ref.weights[0]).detach() / w0 + 1
        np.testing.assert_allclose(shrink.numpy(), expected, rtol=1e-4)


def test_fit_classifiers_wide_output_layer_matches_autograd():
    """Outputs of 32 classes or more take the untransposed product: the same numbers."""
    from decaylab.stacked import fit_classifiers

    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(40, 4, generator=g), torch.randint(0, 40, (40,), generator=g)
    stacks = [StackedMLP.from_modules(make_models(2, sizes=(4, 8, 40))) for _ in range(2)]
    opts = [BatchedOptimizer(s.parameters(), optimizer="adam", lr=[0.01, 0.05]) for s in stacks]
    fit_classifiers(stacks[0], opts[0], x, y, epochs=2, batch_size=8, order_seeds=[1, 2])
    slow_fit(stacks[1], opts[1], x, y, 2, 8, [1, 2])
    for a, b in zip(stacks[0].parameters(), stacks[1].parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=2e-6)


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_training_in_groups_gives_the_same_models(monkeypatch, optimizer):
    """fit_classifiers trains large stacks group by group: the same weights, state and history."""
    import decaylab.stacked as stacked

    x, y = data(n=40)
    results = []
    for group in (80, 2):
        monkeypatch.setattr(stacked, "_GROUP", group)
        stack = StackedMLP.from_modules(make_models(5))
        opt = BatchedOptimizer(
            stack.parameters(), optimizer=optimizer, lr=[0.01, 0.02, 0.05, 0.1, 0.2], decay="l2", coeff=1e-2
        )
        hist = stacked.fit_classifiers(
            stack, opt, x, y, epochs=3, batch_size=8, order_seeds=[1, 2, 1, 3, 2], eval_sets={"train": (x, y)}
        )
        results.append((stack, opt, hist))
    (a, opt_a, hist_a), (b, opt_b, hist_b) = results
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.detach().numpy(), pb.detach().numpy(), atol=1e-6)
    assert opt_a.t == opt_b.t == 15
    for sa, sb in zip(opt_a.state, opt_b.state, strict=True):
        assert sa.keys() == sb.keys() and sa
        for key in sa:
            np.testing.assert_allclose(sa[key].numpy(), sb[key].numpy(), atol=1e-6)
    assert hist_a["train"].shape == hist_b["train"].shape == (3, 5)
    np.testing.assert_array_equal(hist_a["train"], hist_b["train"])


def make_norm_models(n, norm, sizes=(4, 8, 6, 3), seed=0):
    """nn.Sequential(Linear, Norm, ReLU, ..., Linear) with random norm gains and biases."""
    torch.manual_seed(seed)
    kind = {"layer": torch.nn.LayerNorm, "batch": torch.nn.BatchNorm1d}[norm]
    models = []
    for _ in range(n):
        layers = []
        for a, b in itertools.pairwise(sizes):
            norm_layer = kind(b)
            with torch.no_grad():
                norm_layer.weight.uniform_(0.5, 1.5)
                norm_layer.bias.uniform_(-0.3, 0.3)
            layers += [torch.nn.Linear(a, b), norm_layer, torch.nn.ReLU()]
        models.append(torch.nn.Sequential(*layers[:-2]))
    return models


def assert_same_params(stack, models, atol=1e-5, skip=()):
    for i, model in enumerate(models):
        torch_params = list(model.parameters())
        ours = stack.parameters()
        assert len(torch_params) == len(ours)
        for j, (p, kind, q) in enumerate(zip(ours, stack.parameter_kinds(), torch_params, strict=True)):
            if j in skip:
                continue
            mine = p[i].detach().T if kind == "weight" else p[i, 0].detach()
            np.testing.assert_allclose(mine.numpy(), q.detach().numpy(), atol=atol)


@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_a_norm_stack_computes_what_torch_modules_compute(norm):
    x, _ = data(n=10)
    models = make_norm_models(3, norm)
    for m in models:  # non-trivial running statistics, as if trained
        for layer in m:
            if isinstance(layer, torch.nn.BatchNorm1d):
                layer.running_mean.uniform_(-1, 1)
                layer.running_var.uniform_(0.5, 2)
    stack = StackedMLP.from_modules(models)
    assert stack.norm == norm and len(stack.norm_weights) == 2
    assert stack.parameter_kinds() == ["weight", "bias", "norm_weight", "norm_bias"] * 2 + ["weight", "bias"]
    for mode in ("train", "eval"):
        getattr(stack, mode)()
        out = stack(x)
        for i, m in enumerate(models):
            getattr(m, mode)()
            np.testing.assert_allclose(out[i].detach().numpy(), m(x).detach().numpy(), atol=1e-5)
    if norm == "batch":  # the training-mode call moved the running statistics as torch's did
        for k, bn in enumerate([layer for layer in models[1] if isinstance(layer, torch.nn.BatchNorm1d)]):
            np.testing.assert_allclose(
                stack.running_means[k][1, 0].numpy(), bn.running_mean.numpy(), atol=1e-6
            )
            np.testing.assert_allclose(stack.running_vars[k][1, 0].numpy(), bn.running_var.numpy(), atol=1e-6)


def torch_norm_run(models, x, y, config, lrs, wds, schedule, seeds, epochs=3, batch=8, decay_norms=True):
    """Per-model torch.optim runs with the cosine schedule, on fit_classifiers' minibatches."""
    from decaylab.stacked import minibatch_orders

    for i, model in enumerate(models):
        decayed = [
            p
            for name, p in model.named_parameters()
            if decay_norms or name.endswith(("0.weight", "3.weight", "6.weight"))
        ]
        rest = [p for p in model.parameters() if all(p is not q for q in decayed)]
        groups = [{"params": decayed, "weight_decay": wds[i]}, {"params": rest, "weight_decay": 0.0}]
        optimizer, decay = config["optimizer"], config["decay"]
        if optimizer == "adam":
            kind = torch.optim.AdamW if decay == "decoupled" else torch.optim.Adam
            opt = kind(groups, lr=lrs[i])
        else:
            momentum = 0.9 if optimizer == "momentum" else 0.0
            opt = torch.optim.SGD(
                [g | {"weight_decay": 0.0} for g in groups] if decay == "decoupled" else groups,
                lr=lrs[i],
                momentum=momentum,
            )
        t = 0
        for perm in minibatch_orders([seeds[i]], len(x), epochs):
            for k in range(0, len(x) - batch + 1, batch):
                idx = perm[0, k : k + batch]
                eta = float(schedule[t])
                t += 1
                for g in opt.param_groups:
                    g["lr"] = eta * lrs[i]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
                if decay == "decoupled" and optimizer != "adam":  # SGDW by hand
                    with torch.no_grad():
                        for p in decayed:
                            p.mul_(1 - eta * lrs[i] * wds[i])
                opt.step()


NORM_CONFIGS = [
    {"optimizer": "sgd", "decay": "l2"},
    {"optimizer": "momentum", "decay": "l2"},
    {"optimizer": "momentum", "decay": "decoupled"},
    {"optimizer": "adam", "decay": "l2"},
    {"optimizer": "adam", "decay": "decoupled"},
]


@pytest.mark.parametrize(
    ("config", "decay_norms"),
    [pytest.param(c, True, id=f"{c['optimizer']}-{c['decay']}") for c in NORM_CONFIGS]
    + [
        pytest.param(NORM_CONFIGS[i], False, id=f"{NORM_CONFIGS[i]['optimizer']}-spare-norms") for i in (1, 4)
    ],
)
@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_fit_classifiers_with_norms_matches_torch_optim_runs(norm, config, decay_norms):
    from decaylab.stacked import cosine_multipliers, fit_classifiers

    x, y = data(n=40)
    lrs = [0.01, 0.03, 0.05] if config["optimizer"] == "adam" else [0.05, 0.1, 0.2]
    wds, seeds, schedule = [0.0, 0.01, 0.1], [1, 2, 1], cosine_multipliers(15)
    stack = StackedMLP.from_modules(make_norm_models(3, norm))
    mask = stack.mask("weight", "norm_weight", "norm_bias", "bias") if decay_norms else stack.mask("weight")
    opt = BatchedOptimizer(stack.parameters(), lr=lrs, coeff=wds, decay_mask=mask, **config)
    models = make_norm_models(3, norm)
    hist = fit_classifiers(
        stack,
        opt,
        x,
        y,
        epochs=3,
        batch_size=8,
        order_seeds=seeds,
        schedule=schedule,
        eval_sets={"t": (x, y)},
    )
    torch_norm_run(models, x, y, config, lrs, wds, schedule, seeds, decay_norms=decay_norms)
    # Before a BatchNorm, a linear bias is cancelled by the mean subtraction: its gradient is
    # zero but for rounding, which Adam scales up to steps of size lr (in torch as here), so
    # those biases, and the running means and evaluation outputs that include them, follow
    # the rounding under Adam: not compared there.
    noise = norm == "batch" and config["optimizer"] == "adam"
    assert_same_params(stack, models, skip=(1, 5) if noise else ())
    for i, model in enumerate(models):  # evaluation: torch's eval() mode (BatchNorm: running statistics)
        model.eval()
        if not noise:
            assert hist["t"][-1, i] == pytest.approx((model(x).argmax(-1) == y).float().mean().item())
        norms = [layer for layer in model if isinstance(layer, torch.nn.BatchNorm1d)]
        for k, bn in enumerate(norms):
            np.testing.assert_allclose(stack.running_vars[k][i, 0].numpy(), bn.running_var.numpy(), atol=1e-5)
            if not noise:
                mean = stack.running_means[k][i, 0].numpy()
                np.testing.assert_allclose(mean, bn.running_mean.numpy(), atol=1e-5)


@pytest.mark.parametrize("decay", ["decoupled", "decoupled_paper"])
def test_fit_classifiers_corrected_decay_equals_steps_with_the_same_multipliers(decay):
    from decaylab.stacked import cosine_multipliers, fit_classifiers

    x, y = data(n=40)
    schedule = cosine_multipliers(15)
    stacks = [StackedMLP.from_modules(make_norm_models(3, "layer")) for _ in range(2)]
    kinds = stacks[0].parameter_kinds()
    # AdamC: the weights of the layers followed by a norm (not the last layer's)
    corrected = [kind == "weight" and i < len(kinds) - 2 for i, kind in enumerate(kinds)]
    opts = [
        BatchedOptimizer(
            s.parameters(),
            optimizer="adam",
            lr=[0.01, 0.02, 0.05],
            decay=decay,
            coeff=[0.0, 0.5, 2.0],
            decay_mask=s.mask("weight"),
            corrected_mask=corrected,
        )
        for s in stacks
    ]
    fit_classifiers(
        stacks[0], opts[0], x, y, epochs=3, batch_size=8, order_seeds=[1, 2, 1], schedule=schedule
    )
    slow_fit(stacks[1], opts[1], x, y, 3, 8, [1, 2, 1], schedule=schedule)
    for a, b in zip(stacks[0].parameters(), stacks[1].parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=2e-6)
    # and the correction changed the run
    plain = StackedMLP.from_modules(make_norm_models(3, "layer"))
    opt = BatchedOptimizer(
        plain.parameters(), optimizer="adam", lr=[0.01, 0.02, 0.05], decay=decay, coeff=[0.0, 0.5, 2.0],
        decay_mask=plain.mask("weight"),
    )  # fmt: skip
    fit_classifiers(plain, opt, x, y, epochs=3, batch_size=8, order_seeds=[1, 2, 1], schedule=schedule)
    assert not np.allclose(plain.weights[0][2].detach().numpy(), stacks[0].weights[0][2].detach().numpy())
    np.testing.assert_array_equal(
        plain.weights[0][0].detach().numpy(), stacks[0].weights[0][0].detach().numpy()
    )
