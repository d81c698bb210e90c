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


def test_decay_mask_leaves_biases_alone():
    models = make_models(1)
    stack = StackedMLP.from_modules(models)
    before = [b.detach().clone() for b in stack.biases]
    opt = BatchedOptimizer(
        stack.parameters(), optimizer="sgd", lr=0.1, decay="l2", coeff=0.5, decay_mask=[True, False] * 2
    )
    for p in stack.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for b0, b in zip(before, stack.biases, strict=True):
        assert torch.equal(b0, b)
    assert torch.allclose(stack.weights[0], StackedMLP.from_modules(models).weights[0] * 0.95)


def test_proximal_l1_sets_small_weights_exactly_to_zero():
    w = torch.tensor([[[0.01, -0.5, 0.02]]], requires_grad=True)
    opt = BatchedOptimizer([w], optimizer="sgd", lr=1.0, decay="l1", coeff=0.05, l1_mode="proximal")
    w.grad = torch.zeros_like(w)
    opt.step()
    assert w.detach().numpy().tolist() == [[[0.0, pytest.approx(-0.45), 0.0]]]


def test_bad_arguments_are_named():
    models = make_models(2)
    stack = StackedMLP.from_modules(models)
    with pytest.raises(ValueError, match=r"lr must be one number or one per model \(2\); got 3 values"):
        BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"optimizer must be one of 'sgd', 'momentum', 'adam'"):
        BatchedOptimizer(stack.parameters(), optimizer="rmsprop", lr=0.1)
    with pytest.raises(ValueError, match=r"coeff\[1\] must be >= 0"):
        BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1, decay="l2", coeff=[0.1, -1.0])
    with pytest.raises(ValueError, match=r"coeff must be 0 with decay='none'"):
        BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1, coeff=0.1)
    with pytest.raises(ValueError, match=r"decay may hold one of"):
        BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1, decay={"l2": 0.1, "decoupled": 0.1})
    with pytest.raises(ValueError, match=r"coeff must be left out when decay is a dict"):
        BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1, decay={"l2": 0.1}, coeff=0.1)
    with pytest.raises(ValueError, match=r"momentum is not used by optimizer='sgd'"):
        BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1, momentum=0.9)
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


def test_fit_classifiers_checks_arguments():
    from decaylab.stacked import fit_classifiers

    x, y = data(n=40)
    stack = StackedMLP.from_modules(make_models(2))
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"order_seeds must hold one seed per model \(2\)"):
        fit_classifiers(stack, opt, x, y, epochs=1, batch_size=8, order_seeds=[1])
    with pytest.raises(ValueError, match="batch_size must be at most the number of training rows"):
        fit_classifiers(stack, opt, x, y, epochs=1, batch_size=80, order_seeds=[1, 1])
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit_classifiers(stack, opt, x, y, epochs=0, batch_size=8, order_seeds=[1, 1])


# -- SGDW and the paper's AdamW ------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "ref",
    [
        {"optimizer": "sgd", "decay": "l2"},
        {"optimizer": "momentum", "momentum": 0.9, "decay": "l2"},
        {"optimizer": "momentum", "momentum": 0.9, "decay": "decoupled"},
        {"optimizer": "momentum", "momentum": 0.9, "decay": "decoupled_paper"},
        {"optimizer": "momentum", "momentum": 0.5, "decay": "l1"},
        {"optimizer": "adam", "decay": "l2"},
        {"optimizer": "adam", "decay": "decoupled"},
        {"optimizer": "adam", "decay": "decoupled_paper", "betas": (0.8, 0.99)},
    ],
)
def test_batched_step_matches_the_numpy_reference(ref):
    """The same words build both: the batched optimizer takes the reference's arguments."""
    from decaylab.reference import ReferenceOptimizer

    rng = np.random.default_rng(0)
    lrs, wds = [0.01, 0.05], [0.02, 0.3]
    w0 = rng.normal(size=(2, 3, 4))
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = BatchedOptimizer([w], lr=lrs, coeff=wds, **ref)
    refs = [ReferenceOptimizer(lr=lrs[i], coeff=wds[i], **ref) for i in range(2)]
    ps = [{"w": w0[i]} for i in range(2)]
    for t in range(4):
        g = rng.normal(size=(2, 3, 4))
        multiplier = [1.0, 0.5, 0.25, 1.0][t]
        w.grad = torch.tensor(g)
        opt.step(multiplier=multiplier)
        for i in range(2):
            cfg = refs[i].config
            refs[i].config = __import__("dataclasses").replace(cfg, schedule=multiplier)
            ps[i] = refs[i].step(ps[i], {"w": g[i]})
    for i in range(2):
        np.testing.assert_allclose(w.detach()[i].numpy(), ps[i]["w"], rtol=1e-6, atol=1e-7)


# -- the fast path of fit_classifiers --------------------------------------------------------------


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


def test_schedule_is_checked():
    from decaylab.stacked import cosine_multipliers, fit_classifiers

    x, y = data(n=16)
    stack = StackedMLP.from_modules(make_models(1))
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1)
    kw = {"epochs": 2, "batch_size": 8, "order_seeds": [0]}
    with pytest.raises(
        ValueError, match=r"schedule must hold one multiplier per step .* = 4\); got shape \(3,\)"
    ):
        fit_classifiers(stack, opt, x, y, schedule=[1.0, 1.0, 1.0], **kw)
    with pytest.raises(ValueError, match=r"schedule must hold multipliers >= 0"):
        fit_classifiers(stack, opt, x, y, schedule=[1.0, -1.0, 1.0, 1.0], **kw)
    with pytest.raises(ValueError, match=r"schedule must hold only finite"):
        fit_classifiers(stack, opt, x, y, schedule=[1.0, float("nan"), 1.0, 1.0], **kw)
    with pytest.raises(ValueError, match=r"steps must be >= 1"):
        cosine_multipliers(0)
    assert cosine_multipliers(1).tolist() == [1.0]


def test_fit_classifiers_refuses_bad_data():
    from decaylab.stacked import fit_classifiers

    x, y = data(n=40)
    stack = StackedMLP.from_modules(make_models(2))
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1)
    kw = {"epochs": np.int64(1), "batch_size": np.int64(8), "order_seeds": [np.int64(1), 1]}
    bad_x = x.clone()
    bad_x[3, 1] = float("nan")
    with pytest.raises(ValueError, match=r"training x must hold only finite numbers"):
        fit_classifiers(stack, opt, bad_x, y, **kw)
    with pytest.raises(ValueError, match=r"training y must hold labels 0..2 .* from 1 to 3"):
        fit_classifiers(stack, opt, x, torch.where(y == 0, 3, y), **kw)
    with pytest.raises(TypeError, match=r"training y must hold integer class labels"):
        fit_classifiers(stack, opt, x, y.float(), **kw)
    with pytest.raises(ValueError, match=r"eval_sets\['val'\] x must hold only finite numbers"):
        fit_classifiers(stack, opt, x, y, eval_sets={"val": (bad_x, y)}, **kw)
    with pytest.raises(TypeError, match=r"epochs must be a whole number"):
        fit_classifiers(stack, opt, x, y, epochs=1.0, batch_size=8, order_seeds=[1, 1])
    other = BatchedOptimizer(StackedMLP.from_modules(make_models(2)).parameters(), optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"optimizer must be built on stack.parameters\(\)"):
        fit_classifiers(stack, other, x, y, **kw)
    hist = fit_classifiers(stack, opt, x, y, eval_sets={"train": (x, y)}, **kw)
    assert np.all(np.isfinite(hist["train"]))


def test_contradictory_optimizer_arguments_are_refused():
    params = StackedMLP.from_modules(make_models(2)).parameters()
    with pytest.raises(ValueError, match=r"momentum is not used by optimizer='adam'"):
        BatchedOptimizer(params, optimizer="adam", lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"betas is not used by optimizer='sgd'"):
        BatchedOptimizer(params, optimizer="sgd", lr=0.1, betas=(0.9, 0.99))
    with pytest.raises(ValueError, match=r"eps is not used by optimizer='momentum'"):
        BatchedOptimizer(params, optimizer="momentum", lr=0.1, eps=1e-6)
    with pytest.raises(
        ValueError, match=r"decay must be one of 'none', 'l2', 'l1', 'decoupled', 'decoupled_paper'"
    ):
        BatchedOptimizer(params, optimizer="adam", lr=0.1, decay="torch", coeff=0.1)
    with pytest.raises(TypeError, match=r"betas must be a pair"):
        BatchedOptimizer(params, optimizer="adam", lr=0.1, betas=0.9)
    with pytest.raises(ValueError, match=r"betas\[1\] must be < 1"):
        BatchedOptimizer(params, optimizer="adam", lr=0.1, betas=(0.9, 1.0))
    ok = BatchedOptimizer(
        params, optimizer="adam", lr=np.float32(1e-3), eps=np.float32(1e-6), decay="l2", coeff=np.float64(0.1)
    )
    assert ok.eps == pytest.approx(1e-6) and (ok.beta1, ok.beta2) == (0.9, 0.999)


def test_stacked_mlp_has_no_export():
    assert not hasattr(StackedMLP, "export")


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


def test_worker_threads_give_the_same_bits_as_one_thread():
    """Groups trained side by side on one thread each equal the same training on one thread."""
    from decaylab.stacked import fit_classifiers

    x, y = data(n=40)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            stack = StackedMLP.from_modules(make_models(4))
            opt = BatchedOptimizer(stack.parameters(), optimizer="adam", lr=[0.01, 0.02, 0.05, 0.1])
            hist = fit_classifiers(
                stack, opt, x, y, epochs=2, batch_size=8, order_seeds=[1, 2, 1, 3], eval_sets={"t": (x, y)}
            )
            assert torch.get_num_threads() == threads  # restored
            results.append((stack, opt, hist))
    finally:
        torch.set_num_threads(before)
    (a, opt_a, hist_a), (b, opt_b, hist_b) = results
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    for sa, sb in zip(opt_a.state, opt_b.state, strict=True):
        assert all(torch.equal(sa[k], sb[k]) for k in ("m", "v"))
    np.testing.assert_array_equal(hist_a["t"], hist_b["t"])


def test_group_slices_share_the_models_evenly_between_workers(monkeypatch):
    import decaylab.stacked as stacked

    monkeypatch.setattr(stacked, "_GROUP", 40)
    sizes = [
        [s.stop - s.start for s in stacked._group_slices(m, w)]
        for m, w in ((320, 2), (64, 2), (5, 2), (1, 2))
    ]
    assert sizes == [[40] * 8, [32, 32], [2, 3], [1]]
    assert [s.stop - s.start for s in stacked._group_slices(100, 1)] == [33, 33, 34]


def test_an_error_in_a_worker_thread_reaches_the_caller():
    import decaylab.stacked as stacked

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        stacked._in_threads([lambda: 1, fail, lambda: 3], 2)
    assert stacked._in_threads([lambda: 1, lambda: 2, lambda: 3], 2) == [1, 2, 3]


# -- normalization layers ------------------------------------------------------------------------


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


@pytest.mark.parametrize("norm", ["layer", "batch"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_hand_written_norm_backward_is_the_gradient_in_float64(norm, activation):
    """One step's gradient by the fast path, in float64: autograd's, and central differences'."""
    import decaylab.stacked as stacked

    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
    stack = StackedMLP.from_modules(make_norm_models(2, norm), activation=activation)
    stack = StackedMLP(
        [w.double() for w in stack.weights],
        [b.double() for b in stack.biases],
        activation,
        norm=norm,
        norm_weights=[w.double() for w in stack.norm_weights],
        norm_biases=[b.double() for b in stack.norm_biases],
    )
    opt = BatchedOptimizer(stack.parameters(), optimizer="sgd", lr=0.1)
    flat = stacked._Flat(stack, opt, slice(0, 2), dtype=torch.float64)
    ws = stacked._Workspace(flat, stack.sizes, 6)
    ws.x.copy_(x.expand(2, -1, -1))
    ws.onehot.copy_(torch.nn.functional.one_hot(y, 3).double().expand(2, -1, -1))
    stacked._forward_backward(flat, ws)

    def loss(params):
        s = StackedMLP(stack.weights, stack.biases, activation, norm=norm)
        s.weights, s.biases = [params[0], params[4], params[8]], [params[1], params[5], params[9]]
        s.norm_weights, s.norm_biases = [params[2], params[6]], [params[3], params[7]]
        logits = s(x)
        return sum(torch.nn.functional.cross_entropy(logits[i], y) for i in range(2))

    params = [p.detach().clone().requires_grad_(True) for p in stack.parameters()]
    loss(params).backward()
    for got, p in zip(ws.gs, params, strict=True):
        np.testing.assert_allclose(got.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)
    # central differences on a few coordinates of the first layer's weight and the norm gains
    for which, index in ((0, (1, 2, 3)), (2, (0, 0, 5)), (6, (1, 0, 1)), (7, (0, 0, 2))):
        plus = [p.detach().clone() for p in params]
        minus = [p.detach().clone() for p in params]
        plus[which][index] += 1e-6
        minus[which][index] -= 1e-6
        numeric = (loss(plus) - loss(minus)).item() / 2e-6
        assert ws.gs[which][index].item() == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_norm_layers_refuse_bad_arguments():
    import decaylab.stacked as stacked

    base = StackedMLP.from_modules(make_models(2))
    with pytest.raises(ValueError, match=r"norm must be one of None, 'layer', 'batch'; got 'group'"):
        StackedMLP(base.weights, base.biases, norm="group")
    with pytest.raises(ValueError, match=r"norm_weights is not used by norm=None"):
        StackedMLP(base.weights, base.biases, norm_weights=[torch.ones(2, 1, 8)])
    with pytest.raises(ValueError, match=r"running_means is not used by norm='layer'"):
        StackedMLP(base.weights, base.biases, norm="layer", running_means=[torch.zeros(2, 1, 8)])
    with pytest.raises(
        ValueError, match=r"norm_biases must hold one tensor per hidden layer with shapes \[\(2, 1, 8\)\]"
    ):
        StackedMLP(base.weights, base.biases, norm="layer", norm_biases=[torch.zeros(2, 8)])
    with pytest.raises(TypeError, match=r"norm_weights\[0\] must be a torch tensor"):
        StackedMLP(base.weights, base.biases, norm="layer", norm_weights=[np.ones((2, 1, 8))])
    stack = StackedMLP(base.weights, base.biases, norm="batch")
    with pytest.raises(
        ValueError, match=r"kinds must be one of 'weight', 'bias', 'norm_weight', 'norm_bias'"
    ):
        stack.mask("gain")
    with pytest.raises(ValueError, match=r"at least 2 samples for norm='batch' in training mode"):
        stack(torch.zeros(1, 4))
    assert stack.eval()(torch.zeros(1, 4)).shape == (2, 1, 3)
    with pytest.raises(TypeError, match=r"mode must be"):
        stack.train("yes")
    opt = BatchedOptimizer(stack.train().parameters(), optimizer="sgd", lr=0.1)
    x, y = data(n=8)
    with pytest.raises(ValueError, match=r"batch_size must be at least 2 with norm='batch'"):
        stacked.fit_classifiers(stack, opt, x, y, epochs=1, batch_size=1, order_seeds=[0, 0])
    other_eps = make_norm_models(1, "layer")
    other_eps[0][1].eps = 1e-3
    with pytest.raises(ValueError, match=r"LayerNorm layers must have eps=1e-05"):
        StackedMLP.from_modules(other_eps)
    with pytest.raises(ValueError, match=r"normalization layers differ"):
        StackedMLP.from_modules([*make_norm_models(1, "layer"), *make_models(1, sizes=(4, 8, 6, 3))])
    misplaced = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.LayerNorm(3)
    )
    with pytest.raises(ValueError, match=r"one normalization layer after each hidden linear layer"):
        StackedMLP.from_modules([misplaced])


def test_mask_selects_parameters_by_kind():
    stack = StackedMLP.from_modules(make_norm_models(1, "layer"))
    assert stack.mask("weight") == [True, False, False, False] * 2 + [True, False]
    assert stack.mask("norm_weight", "bias") == [False, True, True, False] * 2 + [False, True]
    assert StackedMLP.from_modules(make_models(1)).mask("weight", "norm_weight") == [True, False, True, False]


# -- AdamC's corrected decay ---------------------------------------------------------------------


@pytest.mark.parametrize("decay", ["decoupled", "decoupled_paper"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_corrected_decay_matches_the_numpy_reference(optimizer, decay):
    """Per parameter: the corrected one follows reference(corrected=True), the other the plain decay."""
    import dataclasses

    from decaylab.reference import ReferenceOptimizer

    rng = np.random.default_rng(1)
    lrs, wds = [0.01, 0.05], [0.02, 0.3]
    w0, u0 = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 1, 4))
    w = torch.tensor(w0, requires_grad=True)
    u = torch.tensor(u0, requires_grad=True)
    opt = BatchedOptimizer(
        [w, u], optimizer=optimizer, lr=lrs, decay=decay, coeff=wds, corrected_mask=[True, False]
    )
    refs = {
        name: [
            ReferenceOptimizer(optimizer=optimizer, lr=lrs[i], decay=decay, coeff=wds[i], corrected=corrected)
            for i in range(2)
        ]
        for name, corrected in (("w", True), ("u", False))
    }
    ps = [{"w": w0[i], "u": u0[i]} for i in range(2)]
    for multiplier in (1.0, 0.5, 0.25, 0.8):
        gw, gu = rng.normal(size=w0.shape), rng.normal(size=u0.shape)
        w.grad, u.grad = torch.tensor(gw), torch.tensor(gu)
        opt.step(multiplier=multiplier)
        for i in range(2):
            new = {}
            for name, g in (("w", gw), ("u", gu)):
                ref = refs[name][i]
                ref.config = dataclasses.replace(ref.config, schedule=multiplier)
                new[name] = ref.step({name: ps[i][name]}, {name: g[i]})[name]
            ps[i] = new
    for i in range(2):
        np.testing.assert_allclose(w.detach()[i].numpy(), ps[i]["w"], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(u.detach()[i].numpy(), ps[i]["u"], rtol=1e-6, atol=1e-7)


def test_corrected_decay_by_hand_one_step():
    """Zero gradient, SGD, lr 0.2 at multiplier 0.5, coeff 0.1: shrink 1 - 0.5*0.1*0.1, not 1 - 0.1*0.1."""
    w = torch.full((1, 1, 2), 2.0, requires_grad=True)
    u = torch.full((1, 1, 2), 2.0, requires_grad=True)
    opt = BatchedOptimizer(
        [w, u], optimizer="sgd", lr=0.2, decay="decoupled", coeff=0.1, corrected_mask=[True, False]
    )
    w.grad, u.grad = torch.zeros_like(w), torch.zeros_like(u)
    opt.step(multiplier=0.5)
    assert w.detach().flatten().tolist() == pytest.approx([2.0 * 0.995] * 2, abs=1e-7)
    assert u.detach().flatten().tolist() == pytest.approx([2.0 * 0.99] * 2, abs=1e-7)


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


def test_corrected_mask_is_checked():
    params = StackedMLP.from_modules(make_models(2)).parameters()
    with pytest.raises(ValueError, match=r"corrected_mask must hold one True/False per parameter \(4\)"):
        BatchedOptimizer(
            params, optimizer="adam", lr=0.1, decay="decoupled", coeff=0.1, corrected_mask=[True]
        )
    with pytest.raises(ValueError, match=r"corrected_mask needs a decoupled decay"):
        BatchedOptimizer(params, optimizer="adam", lr=0.1, decay="l2", coeff=0.1, corrected_mask=[True] * 4)
    with pytest.raises(ValueError, match=r"corrected_mask\[1\] is True but decay_mask\[1\] is False"):
        BatchedOptimizer(
            params, optimizer="sgd", lr=0.1, decay="decoupled", coeff=0.1,
            decay_mask=[True, False] * 2, corrected_mask=[True] * 4,
        )  # fmt: skip
    with pytest.raises(TypeError, match=r"corrected_mask\[0\] must be True or False"):
        BatchedOptimizer(
            params, optimizer="sgd", lr=0.1, decay="decoupled", coeff=0.1, corrected_mask=[1, 0, 0, 0]
        )
