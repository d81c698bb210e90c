"""Decision rules: the interval is Student's t, and each outcome is reached for the right reason."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from decaylab.stats import (
    MIN_SEEDS,
    OUTCOMES,
    SCHEDULE,
    Decision,
    Seeds,
    error_rates,
    look_confidences,
    mean_effect,
    paired_difference,
    sequential,
)


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
        (0.0, 0.05, "not settled at this scale"),  # the interval holds the margin
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
    d = mean_effect(x, quantity="q", margin=0.06)
    assert d.outcome == "does not hold" and d.case == "an effect smaller than the margin"
    # the interval holds the margin -> not settled (the mean reaching it is not enough)
    assert mean_effect(x, quantity="q", margin=0.05).outcome == "not settled at this scale"
    # the whole interval at or above the margin -> holds
    assert mean_effect(x, quantity="q", margin=0.048).outcome == "holds"


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
        "90% t-interval of the mean over seeds of (gain); holds if it lies wholly at or above the margin "
        "0.1; does not hold if it lies wholly below the margin; otherwise not settled"
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


def test_the_rule_is_symmetric_about_the_margin():
    # the mean reaching the margin is not enough: the whole interval must
    effects = [0.05, 0.35] * 10  # mean 0.2, interval about [0.13, 0.27]
    d = mean_effect(effects, quantity="q", margin=0.19)
    assert d.low < 0.19 <= d.estimate and d.outcome == "not settled at this scale"
    assert mean_effect(effects, quantity="q", margin=0.1).outcome == "holds"
    assert mean_effect(effects, quantity="q", margin=0.3).outcome == "does not hold"


@pytest.mark.parametrize(
    ("center", "case"),
    [
        (-0.5, "the opposite effect"),
        (0.02, "an effect smaller than the margin"),
        (0.0, "no effect that counts"),
    ],
)
def test_does_not_hold_says_which_case(center, case):
    x = center + 0.01 * np.tile([-1.0, 1.0], 10)
    d = mean_effect(x, quantity="q", margin=0.1)
    assert d.outcome == "does not hold" and d.case == case
    assert d.concluded() == f"does not hold ({case})"
    assert mean_effect(x + 1, quantity="q", margin=0.1).case is None


def test_decision_keeps_the_quantity_and_the_default_digits():
    d = mean_effect([0.1, 0.2] * 10, quantity="gain", margin=0.1)
    assert d.quantity == "gain" and d.digits == 3


def test_interval_starting_exactly_at_the_margin_holds(monkeypatch):
    # "holds" needs the interval at or above the margin; choose the t quantile so that low == margin
    import decaylab.stats as stats

    x = np.array([0.0, 2.0] * 10)  # mean 1
    q = math.sqrt(20) / float(x.std(ddof=1))  # makes the half-width exactly 1.0
    monkeypatch.setattr(stats, "_t_quantile", lambda p, df: q)
    d = mean_effect(x + 0.5, quantity="q", margin=0.5)
    assert (d.low, d.high) == (0.5, 2.5)
    assert d.outcome == "holds"
    # an interval ending exactly at the margin is not wholly below it
    assert mean_effect(x - 1.5, quantity="q", margin=0.5).outcome == "not settled at this scale"


# --- the seed schedule ----------------------------------------------------------------------------


def test_sequential_adds_seeds_only_while_not_settled():
    asked = []

    def effects(n):
        asked.append(n)
        return np.tile([0.1, 0.3, -0.1, 0.5], 20)[:n]  # mean 0.2, sd 0.26

    d = sequential(effects, quantity="q", margin=0.2)
    assert asked == [20, 40, 80] and d.n == 80 and d.outcome == "not settled at this scale"
    assert d.schedule == SCHEDULE == (20, 40, 80)
    assert d.rule.endswith(
        "; 20 seeds, then 40, then 80 while not settled, the intervals at 99.9%, 99.2%, 95% "
        "(O'Brien-Fleming boundaries)"
    )
    assert d.confidence == 0.95 and d.schedule_confidence[-1] == 0.95
    asked.clear()
    assert sequential(lambda n: effects(n) + 0.5, quantity="q", margin=0.02).n == 20 and asked == [20]
    # settled at the second look: the 99.2% interval at 40 seeds lies above 0.05, the 99.9% one at 20 not
    asked.clear()
    d = sequential(effects, quantity="q", margin=0.05)
    assert d.n == 40 and asked == [20, 40] and d.outcome == "holds"
    assert d.confidence == pytest.approx(0.9924, abs=1e-4)
    assert d.shown().startswith("mean +0.200, 99.2% CI")


def test_sequential_decision_round_trips_and_matches_mean_effect():
    x = np.random.default_rng(3).normal(0.5, 0.3, 80)
    d = sequential(lambda n: x[:n], quantity="q", margin=0.1, schedule=(20, 40))
    assert Decision.from_metadata(d.to_metadata()) == d
    plain = mean_effect(x[:20], quantity="q", margin=0.1, confidence=look_confidences((20, 40), 0.95)[0])
    assert (d.estimate, d.low, d.high, d.outcome) == (plain.estimate, plain.low, plain.high, plain.outcome)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"effects_for": 3}, TypeError, "effects_for must be a function"),
        ({"schedule": 20}, TypeError, "schedule must be a tuple"),
        ({"schedule": ()}, ValueError, "schedule must be one or more increasing"),
        ({"schedule": (40, 20)}, ValueError, "schedule must be one or more increasing"),
        ({"schedule": (20, 20.5)}, TypeError, r"schedule\[1\] must be a whole number"),
        ({"effects_for": lambda n: [0.1] * (n - 1)}, ValueError, r"effects_for\(20\) must return 20 effects"),
        ({"effects_for": lambda n: ["x"] * n}, TypeError, r"effects_for\(n\) must be an array"),
    ],
)
def test_sequential_bad_input(kwargs, error, message):
    args = {"effects_for": lambda n: [0.1, 0.2] * (n // 2), "quantity": "q", "margin": 0.1, **kwargs}
    with pytest.raises(error, match=message):
        sequential(**args)


def test_seeds_runs_each_seed_once_and_keeps_the_order():
    calls = []

    def run(seeds):
        calls.append(seeds)
        return {"a": {"x": np.array(seeds, dtype=float)[:, None] * [1, 10]}, "b": (np.array(seeds),)}

    runs = Seeds(run)
    assert runs(2)["a"]["x"].tolist() == [[0, 0], [1, 10]]
    out = runs(4)
    assert out["a"]["x"][:, 0].tolist() == [0, 1, 2, 3] and out["b"][0].tolist() == [0, 1, 2, 3]
    assert runs(3)["b"][0].tolist() == [0, 1, 2]
    assert calls == [[0, 1], [2, 3]] and runs.n == 4
    with pytest.raises(ValueError, match="n must be >= 1"):
        runs(0)
    with pytest.raises(TypeError, match="run must be a function"):
        Seeds(None)


def test_error_rates_of_the_schedule():
    # a true effect far above the margin holds at the first look; none never holds
    far = error_rates(1.0, 0.3, 0.1, trials=500)
    assert far["holds"] == 1.0 and far["seeds"] == 20.0
    none = error_rates(0.0, 0.3, 0.1, trials=500)
    assert none["holds"] == 0.0 and none["does not hold"] > 0.75
    # at the margin the rule rarely concludes either way (about 2.5% one-sided over the three looks)
    at = error_rates(0.1, 0.3, 0.1, trials=4000)
    assert at["holds"] < 0.04 and at["does not hold"] < 0.04 and at["seeds"] > 70
    assert sum(at[o] for o in OUTCOMES) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="spread must be > 0"):
        error_rates(0.0, 0.0, 0.1)


def test_sequential_with_a_rule_of_its_own_stops_when_that_rule_settles():
    effects = np.tile([0.1, 0.3, -0.1, 0.5], 20)
    asked = []

    def effects_for(n):
        asked.append(n)
        return effects[:n]

    d = sequential(effects_for, quantity="q", margin=0.02, settled=lambda d: d.n >= 40)
    assert asked == [20, 40] and d.outcome == "holds"
    with pytest.raises(TypeError, match="settled must be None or a function"):
        sequential(effects_for, quantity="q", margin=0.02, settled=True)


def test_seeds_start_must_hold_one_count_of_seeds():
    with pytest.raises(ValueError, match="same number of seeds"):
        Seeds(lambda s: s, start={"a": np.zeros(2), "b": np.zeros(3)})
    runs = Seeds(lambda seeds: {"a": np.array(seeds)}, start={"a": np.array([7, 8])})
    assert runs(3)["a"].tolist() == [7, 8, 2] and runs(1)["a"].tolist() == [7]
