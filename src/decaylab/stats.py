"""Decision rules for claims about training outcomes, declared before the numbers.

A claim about generalization, accuracy or speed of convergence is a statement about a
distribution over random seeds, not about one run. The chapters decide such a claim on
many independent seeds (the batched engine in :mod:`decaylab.stacked` makes 20-100
cheap) with :func:`sequential` (or, for a fixed number of seeds, :func:`mean_effect` and
:func:`paired_difference`):

* the chapter orients the difference so that the *claimed* effect is positive (e.g.
  ``test error without decay - test error with decay`` for "decay lowers the test error");
* it states the ``margin``: the smallest effect that would matter in practice;
* the rule takes the 95% confidence interval of the mean effect (Student's t over seeds)
  and decides, symmetrically about the margin:

  - **holds** if the whole interval lies at or above the margin (the effect is there, in the
    claimed direction, and at least as large as what counts);
  - **does not hold** if the whole interval lies below the margin, and says which case it is:
    the opposite effect (the interval lies below 0), an effect smaller than the margin (the
    interval lies between 0 and the margin), or no effect that counts (it holds 0);
  - **not settled at this scale** otherwise: the interval holds the margin.

* the seeds follow a schedule declared before the run, the same for every claim
  (:data:`SCHEDULE`): the rule is applied at 20 seeds; while it is not settled, seeds are
  added up to 40, then 80. The early looks use wider intervals (O'Brien-Fleming-shaped
  boundaries: the final look's t quantile times sqrt(80 / n), about 99.9% at 20 seeds and
  99.2% at 40 for a final 95%), so a decision at 20 seeds needs an effect far from the
  thresholds, and a result near a threshold, which the rounding of another CPU could flip,
  gets more seeds instead of a verdict. What is still not settled at 80 seeds is "not
  settled at this scale". :func:`error_rates` simulates how often the schedule reaches each
  outcome for a true effect and spread.

The :class:`Decision` it returns carries the rule in words, the number of seeds, the
estimate and the interval; :func:`decaylab.claims.claim` shows them in the verdict box and
refuses a stated verdict that the rule does not give.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import _checks, verdicts

__all__ = [
    "OUTCOMES",
    "SCHEDULE",
    "Decision",
    "Seeds",
    "error_rates",
    "mean_effect",
    "paired_difference",
    "sequential",
]

#: What a decision rule can conclude (a subset of :data:`decaylab.claims.VERDICTS`).
HOLDS, FAILS, UNSETTLED = verdicts.HOLDS.word, verdicts.FAILS.word, verdicts.UNSETTLED.word
OUTCOMES = (HOLDS, FAILS, UNSETTLED)

#: At least this many seeds for a decision about training outcomes.
MIN_SEEDS = 20
#: The confidence of a decision's interval unless a chapter declares another.
CONFIDENCE = 0.95
#: The seed schedule of every rule-decided claim, declared before any run: decide at 20 seeds;
#: while not settled, at 40, then at 80.
SCHEDULE = (20, 40, 80)

#: Which case of "does not hold" a decision is (see :attr:`Decision.case`).
OPPOSITE, SMALLER, NO_EFFECT = (
    "the opposite effect",
    "an effect smaller than the margin",
    "no effect that counts",
)


@dataclass(frozen=True)
class Decision:
    """The outcome of a decision rule: rule, seeds, estimate, interval and what it concludes."""

    quantity: str
    rule: str
    n: int
    estimate: float
    low: float
    high: float
    margin: float
    confidence: float
    digits: int
    outcome: str
    #: The seed schedule the decision followed (:func:`sequential`); empty for a fixed number.
    schedule: tuple[int, ...] = ()
    #: The confidence of the interval at each count of the schedule (the last is the rule's).
    schedule_confidence: tuple[float, ...] = ()

    def __post_init__(self):
        """Refuse a decision that the rule could not have made (a hand-built one, say): an
        unknown outcome, non-finite numbers, an interval that does not hold its estimate, or
        an outcome that its interval and margin do not give."""
        _checks.one_of("outcome", self.outcome, OUTCOMES)
        _checks.text("quantity", self.quantity)
        _checks.text("rule", self.rule)
        _checks.integer("n", self.n, low=2)
        _checks.integer("digits", self.digits, low=0, high=12)
        _checks.real("confidence", self.confidence, low=0.5, high=1.0, high_open=True)
        _checks.real("margin", self.margin, low=0.0, low_open=True)
        low, est, high = (_checks.real(k, getattr(self, k)) for k in ("low", "estimate", "high"))
        if not low <= est <= high:
            raise ValueError(f"low <= estimate <= high is required; got {low!r}, {est!r}, {high!r}")
        given = HOLDS if low >= self.margin else FAILS if high < self.margin else UNSETTLED
        if given != self.outcome:
            raise ValueError(
                f"outcome must be what the interval and margin give ({given!r}); got {self.outcome!r}"
            )
        object.__setattr__(self, "schedule", tuple(int(n) for n in self.schedule))
        object.__setattr__(self, "schedule_confidence", tuple(float(c) for c in self.schedule_confidence))

    @property
    def case(self) -> str | None:
        """For "does not hold": which case (:data:`OPPOSITE`, :data:`SMALLER`, :data:`NO_EFFECT`)."""
        if self.outcome != FAILS:
            return None
        if self.high < 0:
            return OPPOSITE
        if self.low > 0:
            return SMALLER
        return NO_EFFECT

    def concluded(self) -> str:
        """The outcome, with the case of "does not hold" (what the box prints after the arrow)."""
        return self.outcome + (f" ({self.case})" if self.case else "")

    def shown(self) -> str:
        """The estimate and interval, rounded to ``digits`` decimals (what the box prints)."""
        d = self.digits
        return (
            f"mean {self.estimate:+.{d}f}, {percent(self.confidence)} CI "
            f"[{self.low:+.{d}f}, {self.high:+.{d}f}] over {self.n} seeds; margin {self.margin:.{d}f}"
        )

    def to_metadata(self) -> dict:
        data = asdict(self)
        data["schedule"] = list(self.schedule)
        data["schedule_confidence"] = list(self.schedule_confidence)
        return data

    @classmethod
    def from_metadata(cls, data: dict) -> Decision:
        return cls(**data)


def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, df))


def percent(confidence: float) -> str:
    """A confidence level as the box prints it: ``95%``, or with as many decimals as it takes
    not to round up to 100% (``99.9%``, ``99.996%``).

    >>> percent(0.95), percent(0.9992), percent(0.99996)
    ('95%', '99.9%', '99.996%')
    """
    whole = f"{confidence:.0%}"
    if abs(float(whole[:-1]) - 100 * confidence) < 1e-9:
        return whole
    decimals = 1
    while decimals < 6 and round(100 * confidence, decimals) >= 100:
        decimals += 1
    return f"{100 * confidence:.{decimals}f}%"


def look_confidences(schedule, confidence: float) -> tuple[float, ...]:
    """The confidence of the interval at each count of ``schedule``, for a rule of ``confidence``
    at the last count: the last count's t quantile times sqrt(last / n) (O'Brien-Fleming shape).

    >>> [round(c, 4) for c in look_confidences((20, 40, 80), 0.95)]
    [0.9992, 0.9924, 0.95]
    """
    from scipy.stats import t

    looks = _schedule(schedule)
    q = _t_quantile(0.5 + confidence / 2, looks[-1] - 1)
    # rounded to 12 decimals: SciPy's last digit differs between processes on one machine, and a
    # decision stores its confidences (the comparison of outputs takes them exactly)
    return (
        *tuple(round(float(2 * t.cdf(q * math.sqrt(looks[-1] / n), n - 1) - 1), 12) for n in looks[:-1]),
        confidence,
    )


def rule_text(
    quantity: str, confidence: float, margin: float, schedule: tuple[int, ...] = (), schedule_confidence=()
) -> str:
    """The rule in words (what :attr:`Decision.rule` holds)."""
    final = schedule_confidence[-1] if schedule_confidence else confidence
    text = (
        f"{percent(final)} t-interval of the mean over seeds of ({quantity}); holds if it lies wholly at or "
        f"above the margin {margin:g}; does not hold if it lies wholly below the margin; otherwise not settled"
    )
    if schedule:
        counts = f"{schedule[0]} seeds, then " + ", then ".join(str(n) for n in schedule[1:])
        levels = ", ".join(percent(c) for c in schedule_confidence)
        text += f"; {counts} while not settled, the intervals at {levels} (O'Brien-Fleming boundaries)"
    return text


def mean_effect(
    effects, *, quantity: str, margin, digits: int = 3, confidence=CONFIDENCE, min_seeds: int = MIN_SEEDS
) -> Decision:
    """Decide a claim from per-seed effects, oriented so that the claimed effect is positive.

    ``effects``: one number per independent seed. ``quantity``: what one effect is, in
    words (e.g. "test MSE without decay - with decay"). ``margin`` (> 0): the smallest
    effect that counts in practice. ``digits``: decimals shown (choose a precision at
    which the printed interval is stable). See the module docstring for the rule.

    >>> d = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="gain", margin=0.1)
    >>> d.outcome, d.n
    ('holds', 20)
    """
    _checks.text("quantity", quantity, what="a non-empty string saying what one effect measures")
    x = _checks.array("effects", effects)
    if x.ndim != 1:
        raise ValueError(f"effects must be one number per seed (a 1-D array); got shape {x.shape}")
    min_seeds = _checks.integer("min_seeds", min_seeds, low=2)
    if x.size < min_seeds:
        raise ValueError(
            f"effects must hold at least {min_seeds} seeds (min_seeds) for a decision; got {x.size}"
        )
    margin = _checks.real("margin", margin, low=0.0, low_open=True)
    confidence = _checks.real("confidence", confidence, low=0.5, high=1.0, high_open=True)
    digits = _checks.integer("digits", digits, low=0, high=12)
    n = int(x.size)
    est = float(x.mean())
    half = _t_quantile(0.5 + confidence / 2, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    low, high = est - half, est + half
    if low >= margin:
        outcome = HOLDS
    elif high < margin:
        outcome = FAILS
    else:
        outcome = UNSETTLED
    rule = rule_text(quantity, confidence, margin)
    return Decision(
        quantity=quantity,
        rule=rule,
        n=n,
        estimate=est,
        low=low,
        high=high,
        margin=margin,
        confidence=confidence,
        digits=digits,
        outcome=outcome,
    )


def paired_difference(
    a, b, *, quantity: str, margin, digits: int = 3, confidence=CONFIDENCE, min_seeds: int = MIN_SEEDS
) -> Decision:
    """Decide a claim that ``a`` exceeds ``b``, seed by seed (paired): the rule of :func:`mean_effect`
    applied to ``a - b``.

    ``a`` and ``b`` hold one number per seed, the same seed at the same position (common
    random numbers: each seed's two runs share data and initialization).

    >>> no_decay = [0.30, 0.32, 0.29, 0.31] * 5
    >>> with_decay = [0.30, 0.31, 0.30, 0.31] * 5
    >>> paired_difference(no_decay, with_decay, quantity="error without - with decay", margin=0.05).outcome
    'does not hold'
    """
    a = _checks.array("a", a)
    b = _checks.array("b", b)
    _checks.same_shape("a", a, "b", b)
    return mean_effect(
        a - b, quantity=quantity, margin=margin, digits=digits, confidence=confidence, min_seeds=min_seeds
    )


def _schedule(schedule) -> tuple[int, ...]:
    if isinstance(schedule, str) or not isinstance(schedule, tuple | list):
        raise TypeError(f"schedule must be a tuple of seed counts, like {SCHEDULE}; got {schedule!r}")
    looks = tuple(_checks.integer(f"schedule[{i}]", n, low=2) for i, n in enumerate(schedule))
    if not looks or any(b <= a for a, b in itertools.pairwise(looks)):
        raise ValueError(
            f"schedule must be one or more increasing seed counts, like {SCHEDULE}; got {schedule!r}"
        )
    return looks


def sequential(
    effects_for: Callable[[int], object],
    *,
    quantity: str,
    margin,
    schedule=SCHEDULE,
    digits: int = 3,
    confidence=CONFIDENCE,
    settled: Callable[[Decision], bool] | None = None,
) -> Decision:
    """Decide a claim on the seeds of ``schedule``: the rule of :func:`mean_effect` at the first
    count of seeds, and at each next count while it is not settled.

    ``effects_for(n)`` returns the per-seed effects of the first ``n`` seeds (seeds 0 .. n-1,
    the same seeds at the same positions whatever ``n``; :class:`Seeds` runs only the new
    ones). The schedule is declared before the run and is the same for every claim
    (:data:`SCHEDULE`); the decision records it, and its rule says it. ``settled``: for a
    rule with more answers than the three outcomes (a chapter's "equivalent", say), whether a
    decision settles it; by default, an outcome other than "not settled at this scale".

    >>> gains = [0.3, 0.5, 0.4, 0.6] * 20
    >>> d = sequential(lambda n: gains[:n], quantity="gain", margin=0.1)
    >>> d.outcome, d.n, percent(d.confidence)
    ('holds', 20, '99.9%')
    >>> noisy = [0.1, 0.3, -0.1, 0.5] * 20  # mean 0.2: the interval holds the margin 0.2
    >>> sequential(lambda n: noisy[:n], quantity="gain", margin=0.2).n
    80
    """
    if not callable(effects_for):
        raise TypeError("effects_for must be a function of n returning the first n seeds' effects")
    if settled is not None and not callable(settled):
        raise TypeError("settled must be None or a function of a Decision returning True or False")
    looks = _schedule(schedule)
    confidence = _checks.real("confidence", confidence, low=0.5, high=1.0, high_open=True)
    levels = look_confidences(looks, confidence)
    for n, level in zip(looks, levels, strict=True):
        x = _checks.array("effects_for(n)", effects_for(n))
        if x.shape != (n,):
            raise ValueError(f"effects_for({n}) must return {n} effects, one per seed; got shape {x.shape}")
        decision = mean_effect(
            x, quantity=quantity, margin=margin, digits=digits, confidence=level, min_seeds=looks[0]
        )
        if (decision.outcome != UNSETTLED) if settled is None else bool(settled(decision)):
            break
    rule = rule_text(decision.quantity, confidence, decision.margin, looks, levels)
    return replace(decision, schedule=looks, schedule_confidence=levels, rule=rule)


def _concat(parts):
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    if isinstance(first, tuple | list):
        return type(first)(_concat(list(items)) for items in zip(*parts, strict=True))
    return np.concatenate([np.asarray(p) for p in parts], axis=0)


class Seeds:
    """The results of a seeded experiment for the first ``n`` seeds, run on demand and kept.

    ``run(seeds)`` runs the experiment for a list of seeds and returns arrays whose first
    axis is the seed (or dicts, lists, tuples of such arrays). ``Seeds(run)(n)`` returns the
    results for seeds ``0 .. n-1``, running only the seeds not run before; a decision by
    :func:`sequential` then costs more runs only when it needs more seeds. ``start``: results
    already computed for the first seeds (their count is the length of the first axis).

    >>> runs = Seeds(lambda seeds: {"x": np.array(seeds) * 2.0})
    >>> runs(2)["x"].tolist(), runs(3)["x"].tolist(), runs.n
    ([0.0, 2.0], [0.0, 2.0, 4.0], 3)
    >>> Seeds(lambda seeds: np.array(seeds) * 2.0, start=np.array([0.0, 2.0]))(3).tolist()
    [0.0, 2.0, 4.0]
    """

    def __init__(self, run: Callable[[list[int]], object], *, start=None):
        if not callable(run):
            raise TypeError("run must be a function of a list of seeds")
        self._run = run
        self._parts: list = []
        self.n = 0
        if start is not None:
            sizes = {len(leaf) for leaf in _leaves(start)}
            if len(sizes) != 1:
                raise ValueError(
                    f"start must hold the same number of seeds in every array; got {sorted(sizes)}"
                )
            self._parts, self.n = [start], sizes.pop()

    def __call__(self, n: int):
        n = _checks.integer("n", n, low=1)
        if n > self.n:
            self._parts.append(self._run(list(range(self.n, n))))
            self.n = n
            self._parts = [_concat(self._parts)]
        return _take(self._parts[0], n)


def _leaves(tree):
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _leaves(v)]
    if isinstance(tree, tuple | list):
        return [x for v in tree for x in _leaves(v)]
    return [np.asarray(tree)]


def _take(tree, n: int):
    if isinstance(tree, dict):
        return {k: _take(v, n) for k, v in tree.items()}
    if isinstance(tree, tuple | list):
        return type(tree)(_take(v, n) for v in tree)
    return tree[:n]


def error_rates(
    effect, spread, margin, *, schedule=SCHEDULE, confidence=CONFIDENCE, trials: int = 4000, seed: int = 0
):
    """How often the rule with ``schedule`` reaches each outcome, by simulation.

    Per-seed effects are drawn from a normal distribution with mean ``effect`` and standard
    deviation ``spread``, and decided as :func:`sequential` decides them; returns ``{outcome: share of trials}`` and ``"seeds"``, the mean
    number of seeds used.

    >>> rates = error_rates(0.0, 1.0, 0.5, trials=2000)
    >>> rates["holds"] < 0.01 < rates["does not hold"]
    True
    """
    effect = _checks.real("effect", effect)
    spread = _checks.real("spread", spread, low=0.0, low_open=True)
    margin = _checks.real("margin", margin, low=0.0, low_open=True)
    confidence = _checks.real("confidence", confidence, low=0.5, high=1.0, high_open=True)
    looks = _schedule(schedule)
    trials = _checks.integer("trials", trials, low=1)
    rng = np.random.default_rng(_checks.integer("seed", seed, low=0))
    x = rng.normal(effect, spread, size=(trials, looks[-1]))
    outcome = np.full(trials, UNSETTLED, dtype=object)
    used = np.full(trials, looks[-1])
    open_ = np.ones(trials, dtype=bool)
    for n, level in zip(looks, look_confidences(looks, confidence), strict=True):
        part = x[:, :n]
        est = part.mean(1)
        half = _t_quantile(0.5 + level / 2, n - 1) * part.std(1, ddof=1) / math.sqrt(n)
        holds, fails = open_ & (est - half >= margin), open_ & (est + half < margin)
        outcome[holds], outcome[fails] = HOLDS, FAILS
        used[holds | fails] = n
        open_ &= ~(holds | fails)
    rates = {o: float(np.mean(outcome == o)) for o in OUTCOMES}
    rates["seeds"] = float(used.mean())
    return rates
