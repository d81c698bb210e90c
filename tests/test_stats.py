"""Decision rules: the interval is Student's t, and each outcome is reached for the right reason."""

import math
import re

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
    percent,
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


# --- added for mutation testing (issue 19): whole messages, boundaries, exact values ---------------


def whole(message):
    return "^" + re.escape(message) + "$"


DECISION = {
    "quantity": "gain",
    "rule": "a rule",
    "n": 2,
    "estimate": 0.5,
    "low": 0.25,
    "high": 0.75,
    "margin": 0.125,
    "confidence": 0.5,
    "digits": 0,
    "outcome": "holds",
}


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"outcome": "maybe"},
            ValueError,
            "outcome must be one of 'holds', 'does not hold', 'not settled at this scale'; got 'maybe'",
        ),
        ({"quantity": ""}, ValueError, "quantity must be a non-empty string; got an empty string"),
        ({"rule": " "}, ValueError, "rule must be a non-empty string; got an empty string"),
        ({"n": 1}, ValueError, "n must be >= 2; got 1"),
        ({"n": 2.0}, TypeError, "n must be a whole number; got float 2.0"),
        ({"digits": -1}, ValueError, "digits must be >= 0; got -1"),
        ({"digits": 13}, ValueError, "digits must be <= 12; got 13"),
        ({"confidence": 0.4}, ValueError, "confidence must be >= 0.5; got 0.4"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1.0; got 1.0"),
        ({"margin": 0.0, "low": -0.5}, ValueError, "margin must be > 0.0; got 0.0"),
        ({"margin": -0.5}, ValueError, "margin must be > 0.0; got -0.5"),
        ({"low": math.nan}, ValueError, "low must be finite; got nan"),
        ({"estimate": math.inf}, ValueError, "estimate must be finite; got inf"),
        ({"high": "1"}, TypeError, "high must be a real number; got str '1'"),
        ({"low": 0.6}, ValueError, "low <= estimate <= high is required; got 0.6, 0.5, 0.75"),
        ({"high": 0.4}, ValueError, "low <= estimate <= high is required; got 0.25, 0.5, 0.4"),
        (
            {"outcome": "does not hold"},
            ValueError,
            "outcome must be what the interval and margin give ('holds'); got 'does not hold'",
        ),
        (
            {"margin": 0.5},
            ValueError,
            "outcome must be what the interval and margin give ('not settled at this scale'); got 'holds'",
        ),
    ],
)
def test_a_hand_built_decision_is_checked(changes, error, message):
    with pytest.raises(error, match=whole(message)):
        Decision(**(DECISION | changes))


def test_a_decision_at_the_edges_of_its_ranges():
    d = Decision(
        **(
            DECISION
            | {"digits": 12, "confidence": 0.999, "schedule": [20.0, 40], "schedule_confidence": [1, 0.5]}
        )
    )
    assert d.schedule == (20, 40) and all(type(n) is int for n in d.schedule)
    assert d.schedule_confidence == (1.0, 0.5) and all(type(c) is float for c in d.schedule_confidence)
    assert Decision(**(DECISION | {"low": 0.125})).outcome == "holds"  # low == margin holds
    assert Decision(**(DECISION | {"low": 0.5, "high": 0.5})).estimate == 0.5


def test_percent_shows_as_many_decimals_as_it_takes_up_to_six():
    assert percent(0.95) == "95%" and percent(0.5) == "50%"
    assert percent(0.9996) == "99.96%"
    assert percent(0.99) == "99%" and percent(0.999) == "99.9%"
    assert percent(0.99996) == "99.996%"
    assert percent(0.9999999) == "99.99999%"
    assert percent(0.99999999999) == "100.000000%"  # six decimals at most


def test_look_confidences_are_the_obrien_fleming_levels():
    q = sps.t.ppf(0.5 + 0.95 / 2, 79)
    expected = [round(float(2 * sps.t.cdf(q * math.sqrt(80 / n), n - 1) - 1), 12) for n in (20, 40)]
    assert look_confidences((20, 40, 80), 0.95) == (*expected, 0.95)
    q = sps.t.ppf(0.5 + 0.9 / 2, 9)
    assert look_confidences([3, 10], 0.9) == (
        round(float(2 * sps.t.cdf(q * math.sqrt(10 / 3), 2) - 1), 12),
        0.9,
    )
    assert look_confidences((30,), 0.9) == (0.9,)


def test_rule_text_with_a_schedule_in_full():
    from decaylab.stats import rule_text

    assert rule_text("q", 0.95, 0.25, (20, 40, 80), (0.999, 0.99, 0.9)) == (
        "90% t-interval of the mean over seeds of (q); holds if it lies wholly at or above the margin 0.25; "
        "does not hold if it lies wholly below the margin; otherwise not settled; 20 seeds, then 40, then 80 "
        "while not settled, the intervals at 99.9%, 99%, 90% (O'Brien-Fleming boundaries)"
    )
    assert rule_text("q", 0.95, 0.25).startswith("95% t-interval")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"quantity": ""},
            ValueError,
            "quantity must be a non-empty string saying what one effect measures; got an empty string",
        ),
        ({"margin": 0.0}, ValueError, "margin must be > 0.0; got 0.0"),
        ({"margin": -1.0}, ValueError, "margin must be > 0.0; got -1.0"),
        ({"confidence": 0.4}, ValueError, "confidence must be >= 0.5; got 0.4"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1.0; got 1.0"),
        ({"confidence": 1.5}, ValueError, "confidence must be < 1.0; got 1.5"),
        ({"digits": -1}, ValueError, "digits must be >= 0; got -1"),
        ({"digits": 13}, ValueError, "digits must be <= 12; got 13"),
        ({"min_seeds": 1}, ValueError, "min_seeds must be >= 2; got 1"),
        (
            {"effects": [0.1] * 5},
            ValueError,
            "effects must hold at least 20 seeds (min_seeds) for a decision; got 5",
        ),
        (
            {"effects": [[0.1] * 20]},
            ValueError,
            "effects must be one number per seed (a 1-D array); got shape (1, 20)",
        ),
    ],
)
def test_mean_effect_messages_in_full(kwargs, error, message):
    args = {"effects": [0.1, 0.2] * 10, "quantity": "q", "margin": 0.1, **kwargs}
    with pytest.raises(error, match=whole(message)):
        mean_effect(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"effects_for": 3},
            TypeError,
            "effects_for must be a function of n returning the first n seeds' effects",
        ),
        (
            {"settled": True},
            TypeError,
            "settled must be None or a function of a Decision returning True or False",
        ),
        ({"schedule": (1, 20)}, ValueError, "schedule[0] must be >= 2; got 1"),
        (
            {"schedule": (20, 20)},
            ValueError,
            "schedule must be one or more increasing seed counts, like (20, 40, 80); got (20, 20)",
        ),
        (
            {"schedule": "20"},
            TypeError,
            "schedule must be a tuple of seed counts, like (20, 40, 80); got '20'",
        ),
        ({"confidence": 0.4}, ValueError, "confidence must be >= 0.5; got 0.4"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1.0; got 1.0"),
        ({"confidence": 2.0}, ValueError, "confidence must be < 1.0; got 2.0"),
        ({"confidence": "0.9"}, TypeError, "confidence must be a real number; got str '0.9'"),
    ],
)
def test_sequential_messages_in_full(kwargs, error, message):
    args = {"effects_for": lambda n: [0.1, 0.2] * (n // 2), "quantity": "q", "margin": 0.1, **kwargs}
    with pytest.raises(error, match=whole(message)):
        sequential(**args)


def test_sequential_passes_its_options_on_and_states_its_rule():
    effects = np.tile([0.1, 0.3, -0.1, 0.5], 20)
    d = sequential(
        lambda n: effects[:n], quantity="gain", margin=0.05, schedule=[2, 4], digits=1, confidence=0.5
    )
    assert d.digits == 1 and d.schedule == (2, 4) and d.n in (2, 4)
    levels = look_confidences((2, 4), 0.5)
    assert d.rule == (
        f"50% t-interval of the mean over seeds of (gain); holds if it lies wholly at or above the margin 0.05; "
        f"does not hold if it lies wholly below the margin; otherwise not settled; 2 seeds, then 4 while not "
        f"settled, the intervals at {', '.join(percent(c) for c in levels)} (O'Brien-Fleming boundaries)"
    )
    # a rule of its own decides when to stop, even before the interval settles it
    asked = []

    def effects_for(n):
        asked.append(n)
        return effects[:n]

    d = sequential(effects_for, quantity="q", margin=0.2, settled=lambda d: True)
    assert asked == [20] and d.n == 20 and d.outcome == "not settled at this scale"


def test_seeds_run_nothing_for_counts_already_run_and_refuse_mismatched_parts():
    calls = []

    def run(seeds):
        calls.append(seeds)
        return (np.array(seeds, dtype=float), [np.array(seeds) * 2])

    runs = Seeds(run, start=(np.array([5.0]), [np.array([7])]))
    assert runs.n == 1 and runs(1)[0].tolist() == [5.0] and calls == []
    out = runs(3)
    assert out[0].tolist() == [5.0, 1.0, 2.0] and out[1][0].tolist() == [7, 2, 4]
    assert runs(3)[1][0].tolist() == [7, 2, 4] and calls == [[1, 2]]
    with pytest.raises(ValueError, match="zip"):
        Seeds(lambda seeds: (np.array(seeds), np.array(seeds)), start=(np.array([1.0]),))(2)
    with pytest.raises(TypeError, match=whole("run must be a function of a list of seeds")):
        Seeds("run")
    with pytest.raises(
        ValueError, match=whole("start must hold the same number of seeds in every array; got [1, 2]")
    ):
        Seeds(run, start=[np.zeros(1), (np.zeros(2),)])


def simulate(effect, spread, margin, schedule, confidence, trials, seed):
    """error_rates' simulation written out: the rule at each look, on one draw of per-seed effects."""
    x = np.random.default_rng(seed).normal(effect, spread, size=(trials, schedule[-1]))
    outcome, used = np.full(trials, "not settled at this scale", dtype=object), np.full(trials, schedule[-1])
    for n, level in zip(schedule, look_confidences(schedule, confidence), strict=True):
        rows = [k for k in range(trials) if outcome[k] == "not settled at this scale"]
        for k in rows:
            part = x[k, :n]
            half = sps.t.ppf(0.5 + level / 2, n - 1) * part.std(ddof=1) / math.sqrt(n)
            if part.mean() - half >= margin:
                outcome[k], used[k] = "holds", n
            elif part.mean() + half < margin:
                outcome[k], used[k] = "does not hold", n
    return {o: float(np.mean(outcome == o)) for o in OUTCOMES} | {"seeds": float(used.mean())}


def test_error_rates_equal_the_rule_applied_trial_by_trial():
    got = error_rates(0.15, 0.3, 0.1, schedule=(5, 10, 20), confidence=0.9, trials=300, seed=4)
    expected = simulate(0.15, 0.3, 0.1, (5, 10, 20), 0.9, 300, 4)
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0 < got["holds"] < 1 and 0 < got["does not hold"] < 1 and 5 < got["seeds"] < 20
    # the defaults: 4000 trials, seed 0, the book's schedule and confidence
    assert error_rates(0.15, 0.3, 0.1) == error_rates(
        0.15, 0.3, 0.1, schedule=SCHEDULE, confidence=0.95, trials=4000, seed=0
    )
    assert error_rates(0.15, 0.3, 0.1, trials=300) != error_rates(0.15, 0.3, 0.1, trials=300, seed=1)


def test_error_rates_at_the_margin_exactly():
    # a spread too small to move 0.5: every look's interval is the point 0.5 = margin, which holds
    rates = error_rates(0.5, 1e-300, 0.5, schedule=(2, 4), trials=3)
    assert rates == {"holds": 1.0, "does not hold": 0.0, "not settled at this scale": 0.0, "seeds": 2.0}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"effect": "a"}, TypeError, "effect must be a real number; got str 'a'"),
        ({"effect": math.nan}, ValueError, "effect must be finite; got nan"),
        ({"spread": 0.0}, ValueError, "spread must be > 0.0; got 0.0"),
        ({"margin": 0.0}, ValueError, "margin must be > 0.0; got 0.0"),
        ({"margin": -0.5}, ValueError, "margin must be > 0.0; got -0.5"),
        ({"confidence": 0.4}, ValueError, "confidence must be >= 0.5; got 0.4"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1.0; got 1.0"),
        ({"confidence": 1.5}, ValueError, "confidence must be < 1.0; got 1.5"),
        ({"trials": 0}, ValueError, "trials must be >= 1; got 0"),
        ({"trials": -1}, ValueError, "trials must be >= 1; got -1"),
        ({"trials": 2.0}, TypeError, "trials must be a whole number; got float 2.0"),
        ({"seed": -1}, ValueError, "seed must be >= 0; got -1"),
        ({"seed": "0"}, TypeError, "seed must be a whole number; got str '0'"),
    ],
)
def test_error_rates_messages_in_full(kwargs, error, message):
    args = {"effect": 0.1, "spread": 0.3, "margin": 0.1, "trials": 10} | kwargs
    with pytest.raises(error, match=whole(message)):
        error_rates(**args)
    if "trials" in kwargs or "seed" in kwargs:
        assert error_rates(0.1, 0.3, 0.1, trials=1, seed=0)["seeds"] in (20.0, 40.0, 80.0)
