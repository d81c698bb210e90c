"""Decision rules: the interval is Student's t, and each outcome is reached for the right reason."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from decaylab.stats import MIN_SEEDS, OUTCOMES, Decision, mean_effect, paired_difference


def test_interval_matches_scipy():
    x = np.random.default_rng(0).normal(0.3, 0.2, size=25)
    d = mean_effect(x, quantity="q", margin=0.1)
    low, high = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert (d.low, d.high) == pytest.approx((low, high), rel=1e-12)
    assert d.estimate == pytest.approx(x.mean()) and d.n == 25 and d.confidence == 0.95


def test_confidence_widens_the_interval():
    x = np.random.default_rng(1).normal(0.3, 0.2, size=25)
    d95 = mean_effect(x, quantity="q", margin=0.1)
    d99 = mean_effect(x, quantity="q", margin=0.1, confidence=0.99)
    assert d99.low < d95.low < d95.high < d99.high


@pytest.mark.parametrize(
    ("center", "margin", "outcome"),
    [
        (0.5, 0.1, "holds"),  # clearly positive, beyond the margin
        (-0.5, 0.1, "does not hold"),  # the opposite effect
        (0.02, 0.5, "does not hold"),  # real but smaller than the margin: bounded below it
        (0.0, 0.05, "not settled at this scale"),  # straddles 0 and reaches the margin
    ],
)
def test_outcomes(center, margin, outcome):
    x = center + 0.01 * np.tile([-1.0, 1.0], 10)
    if outcome.startswith("not settled"):
        x = center + 0.2 * np.tile([-1.0, 1.0], 10)
    assert mean_effect(x, quantity="q", margin=margin).outcome == outcome


def test_boundaries_of_the_rule():
    # interval wholly below the margin -> does not hold, even when above 0
    x = 0.05 + 0.001 * np.tile([-1.0, 1.0], 10)
    assert mean_effect(x, quantity="q", margin=0.06).outcome == "does not hold"
    # reaching the margin and above 0 -> holds
    assert mean_effect(x, quantity="q", margin=0.05).outcome == "holds"


def test_shown_and_rule_text():
    d = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="error without - with", margin=0.1, digits=2)
    assert d.shown() == "mean +0.45, 95% CI [+0.40, +0.50] over 20 seeds; margin 0.10"
    assert "error without - with" in d.rule and "margin 0.1" in d.rule
    assert Decision.from_metadata(d.to_metadata()) == d
    assert set(OUTCOMES) == {"holds", "does not hold", "not settled at this scale"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"effects": [0.1] * 5}, ValueError, f"at least {MIN_SEEDS} seeds"),
        ({"effects": [0.1] * 19 + [math.nan]}, ValueError, "effects must hold only finite numbers"),
        ({"effects": [[0.1] * 20]}, ValueError, "1-D array"),
        ({"effects": ["a"] * 20}, TypeError, "effects must be an array of real numbers"),
        ({"margin": 0}, ValueError, "margin must be > 0"),
        ({"margin": math.inf}, ValueError, "margin must be finite"),
        ({"quantity": ""}, ValueError, "quantity must be a non-empty string"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1"),
        ({"digits": 1.5}, TypeError, "digits must be a whole number"),
        ({"min_seeds": 1}, ValueError, "min_seeds must be >= 2"),
    ],
)
def test_bad_input_is_named(kwargs, error, message):
    args = {"effects": [0.1, 0.2] * 10, "quantity": "q", "margin": 0.1, **kwargs}
    with pytest.raises(error, match=message):
        mean_effect(**args)


def test_fewer_seeds_only_when_asked():
    assert mean_effect([0.5, 0.6, 0.7], quantity="q", margin=0.1, min_seeds=3).n == 3


def test_paired_difference_checks_shapes_and_values():
    with pytest.raises(ValueError, match="b must have the same shape as a"):
        paired_difference([1.0] * 20, [1.0] * 21, quantity="q", margin=0.1)
    with pytest.raises(ValueError, match="a must hold only finite numbers"):
        paired_difference([math.inf] * 20, [1.0] * 20, quantity="q", margin=0.1)
    d = paired_difference(np.arange(20.0) + 1.0, np.arange(20.0), quantity="q", margin=0.5)
    assert d.outcome == "holds" and d.estimate == 1.0


# --- added for mutation testing (issue 10, section 6) ---------------------------------------------


def test_paired_difference_passes_every_option_on():
    a, b = [1.0, 2.0, 3.5], [0.5, 1.0, 2.0]
    d = paired_difference(a, b, quantity="q", margin=0.1, digits=1, confidence=0.9, min_seeds=3)
    assert (d.n, d.digits, d.confidence) == (3, 1, 0.9)
    assert d == mean_effect(
        np.subtract(a, b), quantity="q", margin=0.1, digits=1, confidence=0.9, min_seeds=3
    )
    assert paired_difference([1.0] * 20, [0.0] * 20, quantity="q", margin=0.1).digits == 3  # the default


def test_paired_difference_names_b():
    with pytest.raises(ValueError, match=r"^b must hold only finite numbers"):
        paired_difference([1.0] * 20, [math.nan] * 20, quantity="q", margin=0.1)
    with pytest.raises(TypeError, match=r"^b must be an array of real numbers"):
        paired_difference([1.0] * 20, ["x"] * 20, quantity="q", margin=0.1)


def test_rule_text_states_the_whole_rule():
    d = mean_effect([0.3, 0.5] * 10, quantity="gain", margin=0.1, confidence=0.9)
    assert d.rule == (
        "90% t-interval of the mean over seeds of (gain); holds if it lies above 0 and the mean "
        "reaches the margin 0.1; does not hold if it lies wholly below the margin; otherwise not settled"
    )


def test_interval_touching_the_margin_is_not_wholly_below_it():
    # zero spread: the interval is the point 0.25 = margin, which reaches the margin
    assert mean_effect([0.25] * 20, quantity="q", margin=0.25).outcome == "holds"


def test_option_ranges():
    ok = {"effects": [0.1, 0.2] * 10, "quantity": "q", "margin": 0.1}
    assert mean_effect(**ok, confidence=0.5).confidence == 0.5
    assert mean_effect(**ok, digits=0).digits == 0 and mean_effect(**ok, digits=12).digits == 12
    assert mean_effect([0.1, 0.2], quantity="q", margin=0.1, min_seeds=2).n == 2
    for kwargs, message in [
        ({"confidence": 0.4}, r"^confidence must be >= 0.5"),
        ({"digits": -1}, r"^digits must be >= 0"),
        ({"digits": 13}, r"^digits must be <= 12"),
        ({"quantity": "  "}, r"^quantity must be a non-empty string"),
    ]:
        with pytest.raises(ValueError, match=message):
            mean_effect(**{**ok, **kwargs})
    with pytest.raises(TypeError, match=r"^quantity must be a non-empty string"):
        mean_effect(**{**ok, "quantity": None})


def test_an_effect_whose_mean_falls_short_of_the_margin_is_not_settled():
    # the interval lies above 0 and reaches the margin, but the mean does not: not "holds"
    effects = [0.05, 0.35] * 10  # mean 0.2, interval about [0.13, 0.27]
    d = mean_effect(effects, quantity="q", margin=0.25)
    assert d.low > 0 and d.high > 0.25 and d.estimate < 0.25
    assert d.outcome == "not settled at this scale"
    assert mean_effect(effects, quantity="q", margin=0.19).outcome == "holds"  # the mean reaches 0.19


def test_decision_keeps_the_quantity_and_the_default_digits():
    d = mean_effect([0.1, 0.2] * 10, quantity="gain", margin=0.1)
    assert d.quantity == "gain" and d.digits == 3


def test_interval_starting_exactly_at_zero_is_not_above_zero(monkeypatch):
    # "holds" needs the interval to lie above 0; choose the t quantile so that low == 0 exactly
    import decaylab.stats as stats

    x = np.array([0.0, 2.0] * 10)  # mean 1
    q = math.sqrt(20) / float(x.std(ddof=1))  # makes the half-width exactly 1.0
    monkeypatch.setattr(stats, "_t_quantile", lambda p, df: q)
    d = mean_effect(x, quantity="q", margin=0.5)
    assert (d.low, d.high) == (0.0, 2.0)
    assert d.outcome == "not settled at this scale"
