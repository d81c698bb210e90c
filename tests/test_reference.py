"""The NumPy reference step: values computed by hand for small cases, and argument checks."""

import dataclasses

import numpy as np
import pytest

from decaylab.reference import ReferenceOptimizer, StepConfig, reference_step, replay_error

W = np.array([1.0, -2.0, 0.0])
G = np.array([0.5, 0.5, -1.0])


def step(**kw):
    return reference_step(W, G, **kw)[0]


# -- SGD -------------------------------------------------------------------------------------


def test_sgd_without_decay_is_plain_gradient_step():
    np.testing.assert_allclose(step(optimizer="sgd", lr=0.1), [0.95, -2.05, 0.1], atol=1e-15)


def test_sgd_l2_adds_coeff_times_w_to_the_gradient():
    # w - 0.1 * (g + 0.2 w): [1 - 0.1*(0.5+0.2), -2 - 0.1*(0.5-0.4), 0 - 0.1*(-1)]
    np.testing.assert_allclose(
        step(optimizer="sgd", lr=0.1, decay="l2", coeff=0.2), [0.93, -2.01, 0.1], atol=1e-15
    )


def test_sgd_l1_adds_coeff_times_sign_and_leaves_zero_weights_alone():
    # sign(0) = 0: the subgradient used by the frameworks
    np.testing.assert_allclose(
        step(optimizer="sgd", lr=0.1, decay="l1", coeff=0.2), [0.93, -2.03, 0.1], atol=1e-15
    )


def test_sgd_decoupled_equals_sgd_l2():
    # for plain SGD, (1 - lr c) w - lr g == w - lr (g + c w)
    np.testing.assert_allclose(
        step(optimizer="sgd", lr=0.1, decay="decoupled", coeff=0.2),
        step(optimizer="sgd", lr=0.1, decay="l2", coeff=0.2),
        atol=1e-15,
    )


# -- momentum ------------------------------------------------------------------------------------


def test_momentum_two_steps_by_hand():
    opt = ReferenceOptimizer(optimizer="momentum", lr=0.1, momentum=0.9, decay="l2", coeff=0.5)
    p = opt.step({"w": np.array([2.0])}, {"w": np.array([1.0])})
    # g' = 1 + 0.5*2 = 2, buf = 2, w = 2 - 0.2 = 1.8
    assert p["w"][0] == pytest.approx(1.8)
    p = opt.step(p, {"w": np.array([1.0])})
    # g' = 1 + 0.9 = 1.9, buf = 0.9*2 + 1.9 = 3.7, w = 1.8 - 0.37 = 1.43
    assert p["w"][0] == pytest.approx(1.43)


def assert_same_trajectory(a, b, *, steps, seed, rtol):
    """Step two ReferenceOptimizers on the same random weights and gradients; they must agree."""
    rng = np.random.default_rng(seed)
    pa = pb = {"w": rng.normal(size=5)}
    for _ in range(steps):
        g = {"w": rng.normal(size=5)}
        pa, pb = a.step(pa, g), b.step(pb, g)
    np.testing.assert_allclose(pa["w"], pb["w"], rtol=rtol)


def test_momentum_pytorch_and_paddle_styles_agree_without_dampening():
    a = ReferenceOptimizer(optimizer="momentum", lr=0.05, momentum=0.8, decay="l2", coeff=0.1)
    b = ReferenceOptimizer(
        optimizer="momentum", lr=0.05, momentum=0.8, decay="l2", coeff=0.1, momentum_style="paddle"
    )
    assert_same_trajectory(a, b, steps=6, seed=0, rtol=1e-13)


def test_momentum_dampening_does_not_dampen_the_first_step():
    # torch.optim.SGD: the first buffer is the raw gradient
    w1, state = reference_step([1.0], [1.0], optimizer="momentum", lr=1.0, momentum=0.5, dampening=0.5)
    assert w1[0] == pytest.approx(0.0)
    w2, _ = reference_step(w1, [1.0], state, optimizer="momentum", lr=1.0, momentum=0.5, dampening=0.5)
    # buf = 0.5*1 + 0.5*1 = 1
    assert w2[0] == pytest.approx(-1.0)


def test_nesterov_step_by_hand():
    w1, state = reference_step([0.0], [1.0], optimizer="momentum", lr=1.0, momentum=0.5, nesterov=True)
    assert w1[0] == pytest.approx(-1.5)  # buf = 1, direction = 1 + 0.5*1
    w2, _ = reference_step(w1, [1.0], state, optimizer="momentum", lr=1.0, momentum=0.5, nesterov=True)
    assert w2[0] == pytest.approx(-1.5 - (1 + 0.5 * 1.5))  # buf = 1.5


def test_momentum_decoupled_shrinks_weights_outside_the_buffer():
    w1, state = reference_step([2.0], [0.0], optimizer="momentum", lr=0.1, decay="decoupled", coeff=0.5)
    assert w1[0] == pytest.approx(2.0 * 0.95)
    assert state["buf"][0] == 0.0


# -- Adam ------------------------------------------------------------------------------------------


def test_adam_first_step_is_lr_times_sign():
    w1 = step(optimizer="adam", lr=0.01, eps=1e-12)
    np.testing.assert_allclose(w1, W - 0.01 * np.sign(G), atol=1e-12)


def test_adam_second_step_by_hand():
    b1, b2, lr, eps = 0.9, 0.999, 0.1, 1e-8
    w1, s = reference_step([1.0], [2.0], optimizer="adam", lr=lr, betas=(b1, b2), eps=eps)
    w2, _ = reference_step(w1, [1.0], s, optimizer="adam", lr=lr, betas=(b1, b2), eps=eps)
    m = b1 * (1 - b1) * 2 + (1 - b1) * 1
    v = b2 * (1 - b2) * 4 + (1 - b2) * 1
    expected = w1[0] - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    assert w2[0] == pytest.approx(expected, rel=1e-14)


def test_adam_l2_is_divided_by_sqrt_v_but_decoupled_is_not():
    # one weight with a huge gradient: coupled L2 barely changes its step, decoupled shrinks it by lr*c*w
    w, g = np.array([1.0]), np.array([100.0])
    none = reference_step(w, g, optimizer="adam", lr=0.1)[0]
    l2 = reference_step(w, g, optimizer="adam", lr=0.1, decay="l2", coeff=0.1)[0]
    dec = reference_step(w, g, optimizer="adam", lr=0.1, decay="decoupled", coeff=0.1)[0]
    assert abs(l2 - none)[0] < 1e-9
    assert (none - dec)[0] == pytest.approx(0.1 * 0.1 * 1.0)


def test_combined_decays_apply_both():
    both = reference_step([1.0], [0.0], optimizer="sgd", lr=0.1, decay={"l2": 0.1, "decoupled": 0.2})[0]
    # w*(1 - 0.02) - 0.1*(0.1*1): the L2 gradient is taken at the weights before the shrink
    assert both[0] == pytest.approx(0.98 - 0.01)


def test_inputs_are_not_modified():
    w, g = W.copy(), G.copy()
    reference_step(w, g, optimizer="adam", lr=0.1, decay="decoupled", coeff=0.1)
    np.testing.assert_array_equal(w, W)
    np.testing.assert_array_equal(g, G)


# -- SGDW and the paper's AdamW ----------------------------------------------------------------


def test_sgdw_two_steps_by_hand_in_the_frameworks_form():
    # decay="decoupled" with momentum: w <- w*(1 - lr*c), then torch's momentum step
    opt = ReferenceOptimizer(optimizer="momentum", lr=0.1, momentum=0.9, decay="decoupled", coeff=0.5)
    p = opt.step({"w": np.array([2.0])}, {"w": np.array([1.0])})
    # w = 2*(1 - 0.05) = 1.9; buf = 1; w = 1.9 - 0.1*1 = 1.8
    assert p["w"][0] == pytest.approx(1.8, abs=1e-15)
    p = opt.step(p, {"w": np.array([1.0])})
    # w = 1.8*0.95 = 1.71; buf = 0.9*1 + 1 = 1.9; w = 1.71 - 0.19 = 1.52
    assert p["w"][0] == pytest.approx(1.52, abs=1e-15)
    assert opt.state["w"]["buf"][0] == pytest.approx(1.9, abs=1e-15)


def test_sgdw_paper_form_uses_lambda_per_step_not_lr_times_lambda():
    # the paper's SGDW: w <- w - eta*lambda*w - m, with lambda = lr*c this is the same step
    paper = reference_step([2.0], [1.0], optimizer="momentum", lr=0.1, decay="decoupled_paper", coeff=0.05)
    torch_form = reference_step([2.0], [1.0], optimizer="momentum", lr=0.1, decay="decoupled", coeff=0.5)
    assert paper[0][0] == pytest.approx(1.8, abs=1e-15) and torch_form[0][0] == pytest.approx(1.8, abs=1e-15)
    # double the learning rate: the paper's decay stays 2*0.05, the frameworks' doubles to 2*0.1
    p2 = reference_step([2.0], [0.0], optimizer="momentum", lr=0.2, decay="decoupled_paper", coeff=0.05)[0]
    f2 = reference_step([2.0], [0.0], optimizer="momentum", lr=0.2, decay="decoupled", coeff=0.5)[0]
    assert p2[0] == pytest.approx(1.9, abs=1e-15)
    assert f2[0] == pytest.approx(1.8, abs=1e-15)


def test_paper_adamw_step_by_hand_with_a_schedule_multiplier():
    # w <- w - eta*(alpha*m_hat/(sqrt(v_hat)+eps) + lambda*w); first step m_hat/sqrt(v_hat) = sign(g)
    w1, _ = reference_step(
        [1.0, -1.0], [2.0, 3.0], optimizer="adam", lr=0.01, decay="decoupled_paper", coeff=0.1, schedule=0.5
    )
    # [1 - 0.5*(0.01 + 0.1), -1 - 0.5*(0.01 - 0.1)] = [0.945, -0.955]
    np.testing.assert_allclose(w1, [0.945, -0.955], atol=1e-9)
    # the frameworks' AdamW multiplies by lr_t = 0.5*0.01 instead: 1 - 0.005*(1 + 0.1) = 0.9945
    wf, _ = reference_step(
        [1.0], [2.0], optimizer="adam", lr=0.01, decay="decoupled", coeff=0.1, schedule=0.5
    )
    assert wf[0] == pytest.approx(0.9945, abs=1e-9)


def test_paper_adamw_equals_framework_adamw_with_weight_decay_lambda_over_lr():
    lr, lam = 0.02, 0.004
    a = ReferenceOptimizer(optimizer="adam", lr=lr, decay="decoupled_paper", coeff=lam)
    b = ReferenceOptimizer(optimizer="adam", lr=lr, decay="decoupled", coeff=lam / lr)
    assert_same_trajectory(a, b, steps=5, seed=3, rtol=1e-14)


def test_schedule_multiplies_the_learning_rate():
    half = reference_step([1.0], [1.0], optimizer="sgd", lr=0.2, schedule=0.5)[0]
    assert half[0] == pytest.approx(0.9, abs=1e-15)


# -- the configuration ------------------------------------------------------------------------


def test_step_config_is_frozen_and_fills_defaults_only_where_used():
    cfg = StepConfig(optimizer="adam", lr=np.float32(1e-3), eps=np.float32(1e-6))
    assert cfg.betas == (0.9, 0.999) and cfg.eps == pytest.approx(1e-6) and isinstance(cfg.lr, float)
    assert cfg.momentum is None and cfg.nesterov is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 0.1
    mom = StepConfig(optimizer="momentum", lr=0.1)
    assert (mom.momentum, mom.dampening, mom.nesterov, mom.betas) == (0.9, 0.0, False, None)
    assert StepConfig(optimizer="sgd", lr=0.1, momentum=0, nesterov=False).momentum is None


def test_every_field_is_stored_as_its_python_type():
    """NumPy scalars in, Python scalars out: every validated field is stored, not just checked."""
    f32 = np.float32
    mom = StepConfig(
        optimizer="momentum",
        lr=f32(0.1),
        decay="l2",
        coeff=f32(0.5),
        schedule=f32(0.5),
        momentum=f32(0.5),
        dampening=f32(0.25),
        nesterov=np.bool_(False),
        momentum_style="pytorch",
    )
    adam = StepConfig(optimizer="adam", lr=0.1, betas=(f32(0.5), f32(0.75)), eps=f32(0.5), eps_style="keras")
    values = {
        "optimizer": (mom.optimizer, "momentum"),
        "lr": (mom.lr, float(f32(0.1))),
        "coeff": (mom.coeff, 0.5),
        "schedule": (mom.schedule, 0.5),
        "momentum": (mom.momentum, 0.5),
        "dampening": (mom.dampening, 0.25),
        "nesterov": (mom.nesterov, False),
        "momentum_style": (mom.momentum_style, "pytorch"),
        "betas": (adam.betas, (0.5, 0.75)),
        "eps": (adam.eps, 0.5),
        "eps_style": (adam.eps_style, "keras"),
    }
    for name, (got, want) in values.items():
        assert got == want and type(got) is type(want), name
    assert all(type(b) is float for b in adam.betas)


def test_keras_eps_style_puts_eps_outside_the_bias_correction():
    """Keras adds eps to sqrt(v) before correcting for bias; PyTorch to sqrt(v_hat)."""
    kw = {"optimizer": "adam", "lr": 0.1, "betas": (0.9, 0.99), "eps": 0.5}
    g = np.array([0.5])
    torch_like = reference_step(np.zeros(1), g, **kw)[0]
    keras_like = reference_step(np.zeros(1), g, **kw, eps_style="keras")[0]
    # first step: m_hat = g, v_hat = g**2; Keras: alpha = lr*sqrt(1-b2)/(1-b1), m = (1-b1) g
    assert torch_like == pytest.approx(-0.1 * 0.5 / (0.5 + 0.5))
    assert keras_like == pytest.approx(-0.1 * np.sqrt(0.01) / 0.1 * 0.05 / (np.sqrt(0.01 * 0.25) + 0.5))


def test_numpy_scalars_are_accepted():
    w1, s = reference_step(
        W,
        G,
        optimizer="adam",
        lr=np.float32(0.1),
        betas=(np.float64(0.9), np.float32(0.99)),
        eps=np.float32(1e-6),
    )
    w2, _ = reference_step(w1, G, {"t": np.int64(s["t"]), "m": s["m"], "v": s["v"]}, optimizer="adam", lr=0.1)
    assert np.all(np.isfinite(w2))


# -- replay --------------------------------------------------------------------------------------


def test_replay_error_identifies_the_true_configuration():
    rng = np.random.default_rng(1)
    cfg = {"optimizer": "adam", "lr": 0.05, "decay": "l2", "coeff": 0.1}
    opt = ReferenceOptimizer(**cfg)
    ws, gs = [rng.normal(size=4)], []
    for _ in range(4):
        gs.append(rng.normal(size=4))
        ws.append(opt.step({"w": ws[-1]}, {"w": gs[-1]})["w"])
    assert replay_error(ws, gs, **cfg) < 1e-15
    assert replay_error(ws, gs, **{**cfg, "coeff": 0.2}) > 1e-4
    assert replay_error(ws, gs, **{**cfg, "decay": "decoupled"}) > 1e-4


def test_replay_error_checks_lengths():
    with pytest.raises(ValueError, match="weights must hold one more entry than grads"):
        replay_error([np.zeros(2)], [np.zeros(2)], optimizer="sgd", lr=0.1)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"optimizer": "rmsprop", "lr": 0.1},
            ValueError,
            r"optimizer must be one of 'sgd', 'momentum', 'adam'",
        ),
        (
            {"optimizer": "sgd", "lr": 0.1, "decay": "l3"},
            ValueError,
            r"decay must be one of 'none', 'l2', 'l1'",
        ),
        ({"optimizer": "sgd", "lr": 0.1, "decay": "l2", "coeff": -0.1}, ValueError, r"coeff must be >= 0"),
        ({"optimizer": "sgd", "lr": 0.0}, ValueError, r"lr must be > 0"),
        ({"optimizer": "sgd", "lr": float("nan")}, ValueError, r"lr must be finite"),
        ({"optimizer": "sgd", "lr": "0.1"}, TypeError, r"lr must be a real number"),
        ({"optimizer": "momentum", "lr": 0.1, "momentum": 1.0}, ValueError, r"momentum must be < 1"),
        ({"optimizer": "momentum", "lr": 0.1, "momentum": -0.1}, ValueError, r"momentum must be >= 0"),
        ({"optimizer": "momentum", "lr": 0.1, "dampening": -0.1}, ValueError, r"dampening must be >= 0"),
        ({"optimizer": "momentum", "lr": 0.1, "dampening": 1.5}, ValueError, r"dampening must be <= 1"),
        ({"optimizer": "momentum", "lr": 0.1, "nesterov": 1}, TypeError, r"nesterov must be True or False"),
        (
            {"optimizer": "momentum", "lr": 0.1, "momentum_style": "keras"},
            ValueError,
            r"momentum_style must be one of 'pytorch', 'paddle'",
        ),
        (
            {"optimizer": "adam", "lr": 0.1, "eps_style": "tf"},
            ValueError,
            r"eps_style must be one of 'pytorch'",
        ),
        (
            {"optimizer": "momentum", "lr": 0.1, "nesterov": True, "momentum": 0.0},
            ValueError,
            r"nesterov=True needs momentum > 0 and dampening = 0, as in torch\.optim\.SGD",
        ),
        (
            {"optimizer": "momentum", "lr": 0.1, "nesterov": True, "dampening": 0.5},
            ValueError,
            r"nesterov=True needs momentum > 0 and dampening = 0",
        ),
        ({"optimizer": "adam", "lr": 0.1, "betas": (0.9,)}, TypeError, r"betas must be a pair"),
        ({"optimizer": "adam", "lr": 0.1, "eps": 0}, ValueError, r"eps must be > 0"),
        (
            {"optimizer": "momentum", "lr": 0.1, "dampening": 0.1, "momentum_style": "paddle"},
            ValueError,
            r"dampening must be 0 with momentum_style='paddle' \(paddle\.optimizer\.Momentum has no",
        ),
        (
            {"optimizer": "sgd", "lr": 0.1, "decay": {"l2": 0.1}, "coeff": 0.1},
            ValueError,
            r"coeff must be left out when decay is a dict of \{kind: coefficient\}",
        ),
        ({"optimizer": "sgd", "lr": 0.1, "decay": {"l2": -0.1}}, ValueError, r"decay\['l2'\] must be >= 0"),
        (
            {"optimizer": "sgd", "lr": 0.1, "coeff": 0.1},
            ValueError,
            r"Name the decay: 'l2', 'l1', 'decoupled' or 'decoupled_paper'",
        ),
        ({"optimizer": "sgd", "lr": 0.1, "decay": {"l4": 0.1}}, ValueError, r"a key of decay must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        reference_step(W, G, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "sgd", "lr": 0.1, "coeff": 0.1}, r"coeff must be 0 with decay='none'"),
        ({"optimizer": "sgd", "lr": 0.1, "decay": {"none": 0.1}}, r"coeff must be 0 with decay='none'"),
        ({"optimizer": "adam", "lr": 0.1, "momentum": 0.9}, r"momentum is not used by optimizer='adam'"),
        ({"optimizer": "adam", "lr": 0.1, "nesterov": False}, r"nesterov is not used by optimizer='adam'"),
        ({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}, r"momentum is not used by optimizer='sgd'"),
        ({"optimizer": "sgd", "lr": 0.1, "betas": (0.9, 0.99)}, r"betas is not used by optimizer='sgd'"),
        ({"optimizer": "momentum", "lr": 0.1, "eps": 1e-6}, r"eps is not used by optimizer='momentum'"),
        ({"optimizer": "sgd", "lr": 0.1, "eps_style": "keras"}, r"eps_style is not used by optimizer='sgd'"),
        (
            {"optimizer": "adam", "lr": 0.1, "momentum_style": "paddle"},
            r"momentum_style is not used by optimizer='adam'",
        ),
        ({"optimizer": "sgd", "lr": 0.1, "schedule": -1.0}, r"schedule must be >= 0"),
    ],
)
def test_contradictory_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        reference_step(W, G, **kwargs)


@pytest.mark.parametrize(
    ("state", "optimizer", "message"),
    [
        ({"t": 1, "buf": np.zeros(2)}, "momentum", r"state\['buf'\] must have the same shape as w"),
        ({"t": 1, "m": np.zeros(3)}, "adam", r"state must hold both 'm' and 'v' or neither"),
        ({"t": 1, "m": np.zeros(3), "v": np.zeros(3)}, "momentum", r"state has key\(s\) \['m', 'v'\]"),
        ({"t": 1, "buf": np.zeros(3)}, "adam", r"state has key\(s\) \['buf'\]"),
        ({"t": -1}, "sgd", r"state\['t'\] must be >= 0"),
        ({"t": 1, "buf": [np.nan] * 3}, "momentum", r"state\['buf'\] must hold only finite numbers"),
    ],
)
def test_a_state_that_does_not_fit_is_refused(state, optimizer, message):
    with pytest.raises(ValueError, match=message):
        reference_step(W, G, state, optimizer=optimizer, lr=0.1)


def test_non_finite_weights_are_refused():
    with pytest.raises(ValueError, match="w must hold only finite numbers"):
        reference_step([np.nan, 0.0, 1.0], G, optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match="grad must hold only finite numbers"):
        reference_step(W, [np.inf, 0.0, 1.0], optimizer="sgd", lr=0.1)


def test_a_state_of_the_wrong_kind_is_named():
    with pytest.raises(
        TypeError, match=r"state must be None or the dict returned by the previous step; got 3"
    ):
        reference_step(W, G, 3, optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"\(it keeps 't', 'm', 'v'\): is it another optimizer's state\?"):
        reference_step(W, G, {"buf": G}, optimizer="adam", lr=0.1)


def test_a_state_without_t_starts_at_step_one():
    zeros = {"m": np.zeros(3), "v": np.zeros(3)}
    np.testing.assert_array_equal(
        step(optimizer="adam", lr=0.1), reference_step(W, G, zeros, optimizer="adam", lr=0.1)[0]
    )
    _, state = reference_step(W, G, zeros, optimizer="adam", lr=0.1)
    assert state["t"] == 1


def test_replay_error_names_an_empty_run_and_a_step_of_another_shape():
    with pytest.raises(ValueError, match="grads must hold at least one step"):
        replay_error([W], [], optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"weights\[2\] must hold only finite numbers"):
        replay_error([W, W, [np.nan] * 3], [G, G], optimizer="sgd", lr=0.1)
    with pytest.raises(
        ValueError, match=r"weights\[1\] must have the same shape as predicted weights: predicted weights has"
    ):
        replay_error([W, W[:2]], [G], optimizer="sgd", lr=0.1)


def test_mismatched_shapes_are_named():
    with pytest.raises(
        ValueError, match=r"grad must have the same shape as w: w has shape \(3,\), grad has shape \(2,\)"
    ):
        reference_step(W, G[:2], optimizer="sgd", lr=0.1)


def test_unknown_optimizer_argument_is_named():
    with pytest.raises(TypeError, match=r"unknown argument\(s\) weight_decay; accepted: optimizer, lr, "):
        ReferenceOptimizer(optimizer="sgd", lr=0.1, weight_decay=0.1)


def test_reference_optimizer_checks_parameter_names():
    opt = ReferenceOptimizer(optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match="grads must have the same keys as params"):
        opt.step({"w": W}, {"v": G})


# -- AdamC's corrected decay ------------------------------------------------------------------


def test_corrected_decay_scales_the_decoupled_decay_by_the_multiplier_once_more():
    # SGD, lr 0.2 at multiplier 0.5 (lr_t = 0.1), coeff 0.1: the frameworks' form shrinks by
    # lr_t*coeff = 0.01, the corrected one by eta_t*lr_t*coeff = 0.005; then the step 0.1*0.5
    kw = {"optimizer": "sgd", "lr": 0.2, "decay": "decoupled", "coeff": 0.1, "schedule": 0.5}
    plain = reference_step([2.0], [0.5], **kw)[0]
    corrected = reference_step([2.0], [0.5], corrected=True, **kw)[0]
    assert plain[0] == pytest.approx(2.0 * 0.99 - 0.05, abs=1e-15)
    assert corrected[0] == pytest.approx(2.0 * 0.995 - 0.05, abs=1e-15)
    # the paper's form: eta_t * lambda becomes eta_t**2 * lambda (0.25 * 0.1)
    paper = reference_step(
        [2.0], [0.0], optimizer="sgd", lr=0.2, decay="decoupled_paper", coeff=0.1, schedule=0.5
    )
    paper_c = reference_step(
        [2.0],
        [0.0],
        optimizer="sgd",
        lr=0.2,
        decay="decoupled_paper",
        coeff=0.1,
        schedule=0.5,
        corrected=True,
    )
    assert paper[0][0] == pytest.approx(2.0 * 0.95, abs=1e-15)
    assert paper_c[0][0] == pytest.approx(2.0 * 0.975, abs=1e-15)


def test_corrected_decay_is_timms_lr_squared_over_max_lr():
    """timm's corrected_weight_decay: w <- w * (1 - lr_t**2 / max_lr * wd), max_lr the constructor's lr."""
    max_lr, wd, w, g = 0.03, 0.2, np.array([1.5, -0.5]), np.array([0.3, -0.1])
    for eta in (1.0, 0.7, 0.1):
        lr_t = eta * max_lr
        got, _ = reference_step(
            w, g, optimizer="adam", lr=max_lr, decay="decoupled", coeff=wd, schedule=eta, corrected=True
        )
        shrunk = w * (1 - lr_t**2 / max_lr * wd)
        expected = shrunk - lr_t * g / (np.abs(g) + 1e-8)  # Adam's first step: m_hat = g, v_hat = g**2
        np.testing.assert_allclose(got, expected, rtol=1e-14)
    # at the schedule's peak the correction changes nothing
    plain = reference_step(w, g, optimizer="adam", lr=max_lr, decay="decoupled", coeff=wd)[0]
    np.testing.assert_array_equal(
        plain,
        reference_step(w, g, optimizer="adam", lr=max_lr, decay="decoupled", coeff=wd, corrected=True)[0],
    )


@pytest.mark.parametrize("decay", ["none", "l2", "l1", {"l2": 0.1, "l1": 0.1}])
def test_corrected_needs_a_decoupled_decay(decay):
    coeff = 0.0 if decay == "none" or isinstance(decay, dict) else 0.1
    with pytest.raises(ValueError, match=r"corrected=True needs a decoupled decay"):
        StepConfig(optimizer="sgd", lr=0.1, decay=decay, coeff=coeff, corrected=True)
    with pytest.raises(TypeError, match=r"corrected must be"):
        StepConfig(optimizer="sgd", lr=0.1, decay="decoupled", coeff=0.1, corrected="yes")
    assert StepConfig(optimizer="sgd", lr=0.1, decay={"decoupled": 0.1, "l1": 0.1}, corrected=True).corrected


# -- added for mutation testing (issue 19): whole messages, normalised fields, Keras over steps ------


def whole(message):
    import re

    return "^" + re.escape(message) + "$"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"optimizer": "sgd", "lr": 0.1, "decay": "l2", "coeff": 0.1, "corrected": True},
            ValueError,
            "corrected=True needs a decoupled decay (decay 'decoupled' or 'decoupled_paper'), the decay it "
            "scales; got decay='l2'",
        ),
        (
            {"optimizer": "adam", "lr": 0.1, "momentum": 0.9},
            ValueError,
            "momentum is not used by optimizer='adam' (only by 'momentum'); leave it out",
        ),
        (
            {"optimizer": "momentum", "lr": 0.1, "momentum": 0.0, "nesterov": True},
            ValueError,
            "nesterov=True needs momentum > 0 and dampening = 0, as in torch.optim.SGD",
        ),
        (
            {"optimizer": "sgd", "lr": 0.1, "decay": {"l2": 0.1}, "coeff": 0.1},
            ValueError,
            "coeff must be left out when decay is a dict of {kind: coefficient}; got coeff=0.1 and "
            "decay={'l2': 0.1}",
        ),
        (
            {"optimizer": "sgd", "lr": 0.1, "coeff": 0.1},
            ValueError,
            "coeff must be 0 with decay='none' (the coefficient would be ignored); got 0.1. Name the decay: "
            "'l2', 'l1', 'decoupled' or 'decoupled_paper'",
        ),
    ],
)
def test_step_config_messages_in_full(kwargs, error, message):
    with pytest.raises(error, match=whole(message)):
        StepConfig(**kwargs)


def test_step_config_stores_the_checked_values():
    cfg = StepConfig(optimizer="adam", lr=0.1, decay="decoupled", coeff=0.1, corrected=np.bool_(True))
    assert cfg.corrected is True


def test_from_kwargs_names_every_unknown_and_missing_argument():
    with pytest.raises(TypeError, match=r"^unknown argument\(s\) beta, moment; accepted: optimizer, lr, "):
        StepConfig.from_kwargs(optimizer="sgd", lr=0.1, moment=0.9, beta=0.9)
    with pytest.raises(TypeError, match=whole("missing argument(s) optimizer, lr")):
        StepConfig.from_kwargs(decay="l2", coeff=0.1)
    with pytest.raises(TypeError, match=whole("missing argument(s) lr")):
        StepConfig.from_kwargs(optimizer="sgd")


def test_keras_epsilon_over_three_steps():
    b1, b2, eps, lr = 0.5, 0.75, 0.25, 0.125
    opt = ReferenceOptimizer(optimizer="adam", lr=lr, betas=(b1, b2), eps=eps, eps_style="keras")
    w, m, v = np.array([1.0]), 0.0, 0.0
    p = {"w": w}
    for t, g in enumerate((0.5, -1.0, 2.0), start=1):
        p = opt.step(p, {"w": np.array([g])})
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(p["w"], w, rtol=1e-14)


def test_reference_messages_name_the_argument():
    with pytest.raises(
        ValueError, match=whole("w must hold at least one weight (an empty step proves nothing)")
    ):
        reference_step([], [], optimizer="sgd", lr=0.1)
    with pytest.raises(
        TypeError, match=whole("pass either a StepConfig or its fields as keyword arguments, not both")
    ):
        ReferenceOptimizer(StepConfig(optimizer="sgd", lr=0.1), lr=0.2)
    with pytest.raises(
        TypeError, match=whole("pass either a StepConfig or its fields as keyword arguments, not both")
    ):
        ReferenceOptimizer({"optimizer": "sgd", "lr": 0.1})
    opt = ReferenceOptimizer(optimizer="sgd", lr=0.1)
    for params, grads in (({"w": W}, [G]), ([W], {"w": G})):
        with pytest.raises(
            TypeError, match=whole("params and grads must both be dicts keyed by parameter name")
        ):
            opt.step(params, grads)
    with pytest.raises(ValueError, match=whole("params['w'] must hold only finite numbers (no NaN or inf)")):
        opt.step({"w": [np.nan]}, {"w": [1.0]})
    with pytest.raises(ValueError, match=whole("grads['w'] must hold only finite numbers (no NaN or inf)")):
        opt.step({"w": [1.0]}, {"w": [np.inf]})
    with pytest.raises(
        ValueError,
        match=whole(
            "grads['w'] must have the same shape as params['w']: params['w'] has shape (1,), grads['w'] has shape (2,)"
        ),
    ):
        opt.step({"w": [1.0]}, {"w": [1.0, 2.0]})
    with pytest.raises(ValueError, match=whole("grads must hold at least one step")):
        replay_error([W], [], optimizer="sgd", lr=0.1)
