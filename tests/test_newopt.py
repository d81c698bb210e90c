"""The NumPy references of Lion, Muon and schedule-free AdamW: values computed by hand for small
cases (learning rates other than 1, so that a misplaced lr shows), the implementations they
describe, and argument checks."""

import math

import numpy as np
import pytest
import torch

from decaylab import newopt

A, B, C = newopt.MUON_NS_COEFFICIENTS


def quintic(s, steps=5):
    """Muon's Newton-Schulz polynomial on one singular value, by hand."""
    for _ in range(steps):
        s = A * s + B * s**3 + C * s**5
    return s


# -- Lion ----------------------------------------------------------------------------------------


def test_lion_step_by_hand():
    # decay: [1, -2] * (1 - 0.1*0.5) = [0.95, -1.9]; direction sign(0.9*[0, 0.3] + 0.1*[0.5, 0]) = [+1, +1]
    w, m = newopt.lion_step([1.0, -2.0], [0.5, 0.0], [0.0, 0.3], lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(w, [0.85, -2.0], atol=1e-15)
    np.testing.assert_allclose(m, [0.99 * 0.0 + 0.01 * 0.5, 0.99 * 0.3], atol=1e-15)


def test_lion_keeps_moving_a_weight_whose_gradient_is_zero():
    w, m = np.array([0.0]), np.array([-1e-3])
    for _ in range(50):
        w, m = newopt.lion_step(w, [0.0], m, lr=0.02)
    np.testing.assert_allclose(w, [50 * 0.02], atol=1e-12)  # a full step each time
    np.testing.assert_allclose(m, [-1e-3 * 0.99**50], rtol=1e-12)


def test_lion_zero_momentum_and_zero_gradient_only_decays():
    w, m = newopt.lion_step([2.0, -4.0], [0.0, 0.0], [0.0, 0.0], lr=0.05, weight_decay=0.4)
    np.testing.assert_allclose(w, [2.0 * 0.98, -4.0 * 0.98], atol=1e-15)
    assert np.all(m == 0)


def test_lion_settles_on_the_edge_of_its_box():
    # a constant gradient sign: w -> -1/wd, never beyond
    w, m = np.array([0.0]), np.array([0.0])
    path = []
    for _ in range(400):
        w, m = newopt.lion_step(w, [1.0], m, lr=0.05, weight_decay=0.5)
        path.append(w[0])
    assert min(path) >= -1 / 0.5 - 1e-12
    np.testing.assert_allclose(path[-1], -2.0 + 2.0 * (1 - 0.025) ** 400, rtol=1e-9)


def test_lion_step_in_float32_matches_lion_pytorch_bit_for_bit():
    from lion_pytorch import Lion

    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(4, 5)).astype(np.float32)
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = Lion([p], lr=0.003, weight_decay=0.7)
    w, m = w0.copy(), np.zeros_like(w0)
    for _ in range(15):
        g = rng.normal(size=(4, 5)).astype(np.float32)
        p.grad = torch.tensor(g)
        opt.step()
        w, m = newopt.lion_step(w, g, m, lr=0.003, weight_decay=0.7)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(p.detach().numpy(), w)


def test_lion_bound_by_hand():
    assert newopt.lion_bound(0.5, lr=0.1, weight_decay=2.0, steps=7) == 0.5
    # from 3 with box 0.5: 0.5 + 0.8^2 * 2.5
    assert newopt.lion_bound(3.0, lr=0.1, weight_decay=2.0, steps=2) == pytest.approx(0.5 + 0.64 * 2.5)
    np.testing.assert_allclose(
        newopt.lion_bound(3.0, lr=0.1, weight_decay=2.0, steps=np.array([0, 1])), [3.0, 0.5 + 0.8 * 2.5]
    )


# -- Muon ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "fn", "ratio"),
    [
        ((64, 16), None, 2.0),
        ((64, 16), "original", 2.0),
        ((16, 64), None, 1.0),
        ((16, 64), "match_rms_adamw", 0.2 * 8),
        ((100, 25), "match_rms_adamw", 0.2 * 10),
    ],
)
def test_muon_lr_ratio_by_hand(shape, fn, ratio):
    assert newopt.muon_lr_ratio(shape, fn) == pytest.approx(ratio, rel=1e-15)


def test_muon_lr_ratio_is_torchs():
    from torch.optim._muon import _adjust_lr

    for shape in [(10, 64), (64, 10), (33, 7), (5, 5)]:
        for fn in newopt.ADJUST_LR_FNS:
            assert newopt.muon_lr_ratio(shape, fn) * 0.02 == pytest.approx(
                _adjust_lr(0.02, fn, torch.Size(shape)), rel=1e-12
            )


def test_newton_schulz_maps_each_singular_value_through_the_quintic():
    # diag(3, 4) has Frobenius norm 5: singular values 0.6 and 0.8, kept in place
    out = newopt.newton_schulz(np.diag([3.0, 4.0]))
    np.testing.assert_allclose(out, np.diag([quintic(0.6), quintic(0.8)]), atol=1e-12)
    # rotations on both sides are kept, and a tall matrix is handled through its transpose
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    g = q @ np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]]) @ np.array([[0.0, 1.0], [1.0, 0.0]])
    s = np.linalg.svd(newopt.newton_schulz(g), compute_uv=False)
    np.testing.assert_allclose(s, [quintic(0.8), quintic(0.6)], atol=1e-12)
    np.testing.assert_array_equal(newopt.newton_schulz(np.zeros((2, 3))), np.zeros((2, 3)))


def test_newton_schulz_max_gain_by_hand_for_one_step():
    # p'(s) = A + 3B s^2 + 5C s^4 = 0 at s^2 = (-3B - sqrt(9B^2 - 20AC)) / (10C), the first maximum
    s2 = (-3 * B - math.sqrt(9 * B**2 - 20 * A * C)) / (10 * C)
    expected = max(quintic(math.sqrt(s2), steps=1), quintic(1.0, steps=1))
    assert newopt.newton_schulz_max_gain(steps=1) == pytest.approx(expected, rel=1e-9)
    assert newopt.newton_schulz_max_gain(steps=0) == 1.0
    five = newopt.newton_schulz_max_gain()
    assert 1.2 < five < 1.21 and five >= max(quintic(s) for s in np.linspace(0, 1, 1001))


def test_muon_step_zero_gradient_decays_by_the_base_lr_whatever_the_shape():
    for shape in [(2, 8), (8, 2)]:
        for fn in newopt.ADJUST_LR_FNS:
            w, buf = newopt.muon_step(
                np.full(shape, 3.0),
                np.zeros(shape),
                np.zeros(shape),
                lr=0.2,
                weight_decay=0.25,
                adjust_lr_fn=fn,
            )
            np.testing.assert_allclose(w, np.full(shape, 3.0 * 0.95), atol=1e-15)
            assert np.all(buf == 0)


def test_muon_step_rank_one_by_hand():
    # g = 3 e1 e1^T on a 4x2 matrix (tall: ratio sqrt(2)); buf = 0.05 g, Nesterov direction
    # g + 0.95 (buf - g) is a multiple of e1 e1^T, normalized to singular value 1.
    g = np.zeros((4, 2))
    g[0, 0] = 3.0
    w0 = np.ones((4, 2))
    w, buf = newopt.muon_step(w0, g, np.zeros((4, 2)), lr=0.1, weight_decay=0.5)
    expected = 0.95 * w0
    expected[0, 0] -= 0.1 * math.sqrt(2.0) * quintic(1.0)
    np.testing.assert_allclose(w, expected, atol=1e-12)
    np.testing.assert_allclose(buf, 0.05 * g, atol=1e-15)
    # without Nesterov the direction is buf itself: same normalized matrix, same step
    w2, _ = newopt.muon_step(w0, g, np.zeros((4, 2)), lr=0.1, weight_decay=0.5, nesterov=False)
    np.testing.assert_allclose(w2, expected, atol=1e-12)


def test_muon_step_follows_torch_within_bfloat16_rounding():
    rng = np.random.default_rng(1)
    for shape, fn in [((6, 20), None), ((20, 6), None), ((20, 6), "match_rms_adamw")]:
        w = rng.normal(size=shape)
        p = torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))
        opt = torch.optim.Muon([p], lr=0.03, weight_decay=0.4, adjust_lr_fn=fn)
        buf = np.zeros(shape)
        for _ in range(4):
            g = rng.normal(size=shape)
            p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step()
            w, buf = newopt.muon_step(w, g, buf, lr=0.03, weight_decay=0.4, adjust_lr_fn=fn)
        step = 0.03 * newopt.muon_lr_ratio(shape, fn)
        # Newton-Schulz in bfloat16: a few percent of one step's size, summed over four steps
        np.testing.assert_allclose(p.detach().numpy(), w, atol=4 * 0.03 * step)


def test_muon_spectral_bound_by_hand():
    # rho = 2 (tall 64x16), gain 1: limit 2/0.5 = 4; after 2 steps q = 0.9^2
    assert newopt.muon_spectral_bound(lr=0.2, weight_decay=0.5, shape=(64, 16), gain=1.0) == 4.0
    q = 0.9**2
    assert newopt.muon_spectral_bound(
        lr=0.2, weight_decay=0.5, shape=(64, 16), steps=2, initial=10.0, gain=1.0
    ) == pytest.approx(q * 10 + 4 * (1 - q))
    assert newopt.muon_spectral_bound(lr=0.2, weight_decay=0.5, shape=(16, 64)) == pytest.approx(
        newopt.newton_schulz_max_gain() / 0.5
    )


def test_muon_spectral_bound_holds_for_the_reference_steps():
    rng = np.random.default_rng(2)
    w, buf = rng.normal(size=(5, 12)) * 0.1, np.zeros((5, 12))
    g = rng.normal(size=(5, 12))  # a constant gradient: the updates align, the norm climbs
    initial = np.linalg.norm(w, 2)
    for t in range(1, 200):
        w, buf = newopt.muon_step(w, g, buf, lr=0.05, weight_decay=1.0)
        bound = newopt.muon_spectral_bound(lr=0.05, weight_decay=1.0, shape=(5, 12), steps=t, initial=initial)
        assert np.linalg.norm(w, 2) <= bound + 1e-12
    assert np.linalg.norm(w, 2) > 0.5 * newopt.muon_spectral_bound(lr=0.05, weight_decay=1.0, shape=(5, 12))


# -- schedule-free AdamW -------------------------------------------------------------------------


def test_schedulefree_zero_gradient_by_hand():
    # step 1: c = 1, z = 1 - 0.1*0.5*1 = 0.95 = x = y
    y, s = newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose([y[0], s["z"][0]], [0.95, 0.95], atol=1e-15)
    # step 2: c = 1/2, z = 0.95 - 0.1*0.5*0.95 = 0.9025, x = (0.95 + 0.9025)/2 = 0.92625,
    # y = 0.1*0.9025 + 0.9*0.92625 = 0.923875
    y, s = newopt.schedulefree_adamw_step(y, [0.0], s, lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose([y[0], s["z"][0]], [0.923875, 0.9025], atol=1e-15)
    np.testing.assert_allclose(newopt.schedulefree_eval_weights(y, s), [0.92625], atol=1e-15)
    # step 3 at z instead of y: z = 0.9025 - 0.05*0.9025 = 0.857375, not 0.9025 - 0.05*0.923875
    _, s_z = newopt.schedulefree_adamw_step(y, [0.0], s, lr=0.1, weight_decay=0.5, decay_at="z")
    _, s_y = newopt.schedulefree_adamw_step(y, [0.0], s, lr=0.1, weight_decay=0.5, decay_at="y")
    np.testing.assert_allclose(s_z["z"], [0.857375], atol=1e-15)
    np.testing.assert_allclose(s_y["z"], [0.9025 - 0.05 * 0.923875], atol=1e-15)


def test_schedulefree_l2_penalty_moves_by_about_lr():
    # as an L2 penalty, 0.5*y goes through Adam's normalization: |u| = 1, the step is lr
    y, s = newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, weight_decay=0.5, decay_at="l2")
    np.testing.assert_allclose(y, [0.9], atol=1e-7)
    np.testing.assert_allclose(s["exp_avg_sq"], [0.001 * 0.25], atol=1e-15)


def test_schedulefree_gradient_step_by_hand_with_warmup():
    # warmup 4: lr_t = 0.2 * 1/4 = 0.05; v_hat = g^2, so g/d = sign(g) (up to eps)
    y, s = newopt.schedulefree_adamw_step([1.0, -1.0], [2.0, -0.5], lr=0.2, warmup_steps=4, weight_decay=0.0)
    np.testing.assert_allclose(y, [0.95, -0.95], atol=1e-8)
    assert s["lr_max"] == pytest.approx(0.05) and s["weight_sum"] == pytest.approx(0.05**2)


@pytest.mark.parametrize("decay", [0.0, 0.3])
def test_schedulefree_matches_the_package(decay):
    import schedulefree

    rng = np.random.default_rng(4)
    y0 = rng.normal(size=7)
    grads = [rng.normal(size=7) for _ in range(25)]
    for cls, decay_at in [
        (schedulefree.AdamWScheduleFree, "y"),
        (lambda p, **kw: schedulefree.AdamWScheduleFreeReference(p, decay_at_z=True, **kw), "z"),
    ]:
        p = torch.nn.Parameter(torch.tensor(y0))
        opt = cls([p], lr=0.05, weight_decay=decay, warmup_steps=5)
        opt.train()
        y, s = y0.copy(), None
        for g in grads:
            p.grad = torch.tensor(g)
            opt.step()
            y, s = newopt.schedulefree_adamw_step(
                y, g, s, lr=0.05, weight_decay=decay, warmup_steps=5, decay_at=decay_at
            )
        np.testing.assert_allclose(p.detach().numpy(), y, atol=1e-12)
        opt.eval()
        np.testing.assert_allclose(p.detach().numpy(), newopt.schedulefree_eval_weights(y, s), atol=1e-12)


def test_schedulefree_decay_before_the_step_by_hand():
    # step 1: y = 1*(1 - 0.05) = 0.95, but c = 1 makes x = z = 1 (z is not decayed): y = 1
    y, s = newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, weight_decay=0.5, decay_at="y-before")
    np.testing.assert_allclose([y[0], s["z"][0]], [1.0, 1.0], atol=1e-15)
    # step 2: y -> 0.95, x = (0.95 - 0.1*1)/0.9 = 0.85/0.9, c = 1/2: x = (0.85/0.9 + 1)/2,
    # y = 0.1*1 + 0.9*x = 0.1 + 0.45*(0.85/0.9 + 1) = 0.975
    y, s = newopt.schedulefree_adamw_step(y, [0.0], s, lr=0.1, weight_decay=0.5, decay_at="y-before")
    np.testing.assert_allclose([y[0], s["z"][0]], [0.975, 1.0], atol=1e-15)


def test_schedulefree_x_from_new_z_by_hand():
    # step 2 with a gradient: v_hat = g^2 and the step of z is lr*sign(g) (eps aside)
    y, s = newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1)  # nothing moves: y = z = 1
    y_old, s_old = newopt.schedulefree_adamw_step(y, [2.0], s, lr=0.1, betas=(0.9, 0.0), eps=0.0)
    y_new, _ = newopt.schedulefree_adamw_step(
        y, [2.0], s, lr=0.1, betas=(0.9, 0.0), eps=0.0, x_from_new_z=True
    )
    # z = 0.9 both; x from the old z: 1, then (1 + 0.9)/2 = 0.95; y = 0.09 + 0.855 = 0.945
    np.testing.assert_allclose([y_old[0], s_old["z"][0]], [0.945, 0.9], atol=1e-15)
    # x from the new z: (1 - 0.1*0.9)/0.9 = 0.91/0.9, then (0.91/0.9 + 0.9)/2; y = 0.09 + 0.45*(...)
    np.testing.assert_allclose(y_new, [0.09 + 0.45 * (0.91 / 0.9 + 0.9)], atol=1e-15)


def _keras():
    from decaylab.notebook import import_keras

    return import_keras()


@pytest.mark.parametrize("decay", [0.0, 0.3])
def test_schedulefree_x_from_new_z_is_keras_on_torch(decay):
    keras = _keras()
    rng = np.random.default_rng(5)
    y0 = rng.normal(size=(3, 4)).astype(np.float32)
    v = keras.Variable(y0)
    opt = keras.optimizers.ScheduleFreeAdamW(0.05, weight_decay=decay or None)
    y, s, y_pkg, s_pkg = y0.astype(np.float64), None, y0.astype(np.float64), None
    kw = {"lr": 0.05, "weight_decay": decay, "decay_at": "y-before"}
    for _ in range(8):
        g = rng.normal(size=(3, 4)).astype(np.float32)
        opt.apply([torch.tensor(g)], [v])
        y, s = newopt.schedulefree_adamw_step(y, g, s, x_from_new_z=True, **kw)
        y_pkg, s_pkg = newopt.schedulefree_adamw_step(y_pkg, g, s_pkg, **kw)
    np.testing.assert_allclose(v.value.detach().numpy(), y, atol=2e-6)
    assert np.abs(v.value.detach().numpy() - y_pkg).max() > 1e-3  # the package's rule does not


def test_lion_step_matches_keras_lion():
    keras = _keras()
    rng = np.random.default_rng(6)
    w0 = rng.normal(size=(4, 5)).astype(np.float32)
    v = keras.Variable(w0)
    opt = keras.optimizers.Lion(0.003, weight_decay=0.7)
    w, m = w0.copy(), np.zeros_like(w0)
    for _ in range(15):
        g = rng.normal(size=(4, 5)).astype(np.float32)
        opt.apply([torch.tensor(g)], [v])
        w, m = newopt.lion_step(w, g, m, lr=0.003, weight_decay=0.7)
    # Keras multiplies by 1 - wd*lr as torch does; the sign update is the same
    np.testing.assert_allclose(v.value.detach().numpy(), w, atol=1e-6)


def test_muon_step_matches_keras_muon_in_float32():
    # Keras's Muon: momentum m <- 0.95 m + g (not (1 - 0.95) g: the same direction after
    # normalization), Newton-Schulz in float32, update scale 0.2*sqrt(max(A, B)) = match_rms_adamw
    keras = _keras()
    rng = np.random.default_rng(7)
    w = rng.normal(size=(6, 20))
    v = keras.Variable(w.astype(np.float32))
    opt = keras.optimizers.Muon(0.03, weight_decay=0.4)
    buf = np.zeros_like(w)
    for _ in range(4):
        g = rng.normal(size=w.shape)
        opt.apply([torch.tensor(g, dtype=torch.float32)], [v])
        w, buf = newopt.muon_step(w, g, buf, lr=0.03, weight_decay=0.4, adjust_lr_fn="match_rms_adamw")
    np.testing.assert_allclose(v.value.detach().numpy(), w, atol=1e-5)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: newopt.lion_step([1.0], [0.0], [0.0], lr=0.0), ValueError, r"^lr must be > 0"),
        (
            lambda: newopt.lion_step([1.0], [0.0, 1.0], [0.0], lr=0.1),
            ValueError,
            "grad must have the same shape as w",
        ),
        (
            lambda: newopt.lion_step([1.0], [0.0], [0.0], lr=0.1, betas=0.9),
            TypeError,
            r"^betas must be a pair",
        ),
        (
            lambda: newopt.lion_step(None, [0.0], [0.0], lr=0.1),
            TypeError,
            r"^w must be an array of real numbers",
        ),
        (
            lambda: newopt.lion_step(1.0, [0.0], [0.0], lr=0.1),
            ValueError,
            r"^w must be an array with at least one",
        ),
        (
            lambda: newopt.lion_bound(1.0, lr=0.1, weight_decay=0.0, steps=1),
            ValueError,
            "weight_decay must be > 0",
        ),
        (
            lambda: newopt.lion_bound(1.0, lr=0.1, weight_decay=1.0, steps=1.5),
            ValueError,
            "steps must be whole",
        ),
        (lambda: newopt.muon_lr_ratio((3, 4), "adamw"), ValueError, r"^adjust_lr_fn must be one of"),
        (lambda: newopt.muon_lr_ratio(12, None), TypeError, r"^shape must be the shape of a matrix"),
        (lambda: newopt.muon_lr_ratio((3, 0)), ValueError, r"^shape\[1\] must be >= 1"),
        (lambda: newopt.newton_schulz(np.ones(3)), ValueError, r"^g must be a matrix"),
        (lambda: newopt.newton_schulz(np.ones((2, 2)), steps=100), ValueError, r"^steps must be <= 99"),
        (
            lambda: newopt.newton_schulz(np.ones((2, 2)), coefficients=(1, 2)),
            TypeError,
            r"^coefficients must be",
        ),
        (
            lambda: newopt.muon_step(np.ones(4), np.ones(4), np.ones(4), lr=0.1),
            ValueError,
            r"^w must be a matrix \(a 2-D array\)",
        ),
        (
            lambda: newopt.muon_step(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), lr=0.1, nesterov=1),
            TypeError,
            r"^nesterov must be True or False",
        ),
        (
            lambda: newopt.muon_spectral_bound(lr=0.1, weight_decay=1.0, shape=(2, 2), gain=0),
            ValueError,
            "gain must be > 0",
        ),
        (
            lambda: newopt.muon_spectral_bound(lr=2.0, weight_decay=1.0, shape=(2, 2)),
            ValueError,
            "lr \\* weight_decay must be <= 1",
        ),
        (
            lambda: newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, decay_at="x"),
            ValueError,
            r"^decay_at must be one of 'y', 'z', 'l2'",
        ),
        (
            lambda: newopt.schedulefree_adamw_step([1.0], [0.0], {"z": 1}, lr=0.1),
            ValueError,
            r"^state must hold",
        ),
        (
            lambda: newopt.schedulefree_adamw_step([1.0], [0.0], "s", lr=0.1),
            TypeError,
            r"^state must be None",
        ),
        (
            lambda: newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, betas=(0.0, 0.9)),
            ValueError,
            r"^betas\[0\] must be > 0",
        ),
        (
            lambda: newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, warmup_steps=1.5),
            TypeError,
            "warmup_steps must be a whole number",
        ),
        (
            lambda: newopt.schedulefree_adamw_step([1.0], [0.0], lr=0.1, x_from_new_z=1),
            TypeError,
            r"^x_from_new_z must be True or False",
        ),
        (
            lambda: newopt.schedulefree_eval_weights([1.0], {"z": [1.0]}, beta1=1.0),
            ValueError,
            "beta1 must be < 1",
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()
