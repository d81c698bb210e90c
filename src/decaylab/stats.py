"""Decision rules for claims about training outcomes, declared before the numbers.

A claim about generalization, accuracy or speed of convergence is a statement about a
distribution over random seeds, not about one run. The chapters decide such a claim on
many independent seeds (the batched engine in :mod:`decaylab.stacked` makes 20-100
cheap) with :func:`paired_difference` or :func:`mean_effect`:

* the chapter orients the difference so that the *claimed* effect is positive (e.g.
  ``test error without decay - test error with decay`` for "decay lowers the test error");
* it states the ``margin``: the smallest effect that would matter in practice;
* the rule takes the 95% confidence interval of the mean effect (Student's t over seeds)
  and decides:

  - **holds** if the interval lies above 0 and the estimate reaches the margin (the effect
    is there, in the claimed direction, and as large as what counts);
  - **does not hold** if the whole interval lies below the margin: the effect is either in
    the opposite direction or smaller than what counts (an equivalence-style bound);
  - **not settled at this scale** otherwise: the interval straddles 0 (the experiment cannot
    tell whether there is an effect), or it lies above 0 but the estimate falls short of
    the margin while the interval still reaches it (there is an effect, perhaps too small
    to matter).

The :class:`Decision` it returns carries the rule in words, the number of seeds, the
estimate and the interval; :func:`decaylab.claims.claim` shows them in the verdict box and
refuses a stated verdict that the rule does not give.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from . import _checks

__all__ = ["OUTCOMES", "Decision", "mean_effect", "paired_difference"]

#: What a decision rule can conclude (a subset of :data:`decaylab.claims.VERDICTS`).
HOLDS, FAILS, UNSETTLED = "holds", "does not hold", "not settled at this scale"
OUTCOMES = (HOLDS, FAILS, UNSETTLED)

#: At least this many seeds for a decision about training outcomes.
MIN_SEEDS = 20


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
    #: ``quantity`` in Chinese (filled in by :func:`decaylab.claims.claim` from the catalogue).
    quantity_zh: str | None = None

    def shown(self) -> str:
        """The estimate and interval, rounded to ``digits`` decimals (what the box prints)."""
        d = self.digits
        return (
            f"mean {self.estimate:+.{d}f}, {self.confidence:.0%} CI "
            f"[{self.low:+.{d}f}, {self.high:+.{d}f}] over {self.n} seeds; margin {self.margin:.{d}f}"
        )

    def shown_zh(self) -> str:
        """:meth:`shown` in Chinese (the same rounded numbers)."""
        from .i18n import decision_shown_zh

        d = self.digits
        return decision_shown_zh(
            f"{self.estimate:+.{d}f}", f"{self.low:+.{d}f}", f"{self.high:+.{d}f}",
            self.confidence, self.n, f"{self.margin:.{d}f}",
        )  # fmt: skip

    def rule_zh(self) -> str | None:
        """The rule in Chinese, or ``None`` while ``quantity_zh`` is missing."""
        from .i18n import decision_rule_zh

        if self.quantity_zh is None:
            return None
        return decision_rule_zh(self.quantity_zh, self.confidence, self.margin)

    def to_metadata(self) -> dict:
        return asdict(self)

    @classmethod
    def from_metadata(cls, data: dict) -> Decision:
        return cls(**data)


def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, df))


def mean_effect(
    effects, *, quantity: str, margin, digits: int = 3, confidence=0.95, min_seeds: int = MIN_SEEDS
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
    if high < margin:
        outcome = FAILS
    elif low > 0 and est >= margin:
        outcome = HOLDS
    else:
        outcome = UNSETTLED
    rule = (
        f"{confidence:.0%} t-interval of the mean over seeds of ({quantity}); holds if it lies above 0 "
        f"and the mean reaches the margin {margin:g}; does not hold if it lies wholly below the margin; "
        "otherwise not settled"
    )
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
    a, b, *, quantity: str, margin, digits: int = 3, confidence=0.95, min_seeds: int = MIN_SEEDS
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
