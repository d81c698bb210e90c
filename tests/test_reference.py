"""The NumPy reference step: values computed by hand for small cases, and argument checks."""

import numpy as np
import pytest

from decaylab.reference import ReferenceOptimizer, reference_step, replay_error

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


def test_momentum_pytorch_and_paddle_styles_agree_without_dampening():
    rng = np.random.default_rng(0)
    a = ReferenceOptimizer(optimizer="momentum", lr=0.05, momentum=0.8, decay="l2", coeff=0.1)
    b = ReferenceOptimizer(
        optimizer="momentum", lr=0.05, momentum=0.8, decay="l2", coeff=0.1, momentum_style="paddle"
    )
    pa = pb = {"w": rng.normal(size=5)}
    for _ in range(6):
        g = {"w": rng.normal(size=5)}
        pa, pb = a.step(pa, g), b.step(pb, g)
    np.testing.assert_allclose(pa["w"], pb["w"], rtol=1e-13)


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
        ({"optimizer": "adam", "lr": 0.1, "betas": (0.9,)}, TypeError, r"betas must be a pair"),
        ({"optimizer": "adam", "lr": 0.1, "eps": 0}, ValueError, r"eps must be > 0"),
        (
            {"optimizer": "momentum", "lr": 0.1, "dampening": 0.1, "momentum_style": "paddle"},
            ValueError,
            r"dampening must be 0 with momentum_style='paddle'",
        ),
        (
            {"optimizer": "sgd", "lr": 0.1, "decay": {"l2": 0.1}, "coeff": 0.1},
            ValueError,
            r"coeff must be left out",
        ),
        ({"optimizer": "sgd", "lr": 0.1, "decay": {"l4": 0.1}}, ValueError, r"a key of decay must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        reference_step(W, G, **kwargs)


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
