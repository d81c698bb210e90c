"""How a chapter states a claim: check it, show a verdict box, store a record.

Every claim in the book, whether it comes from one of the four source posts, from an
anchor (d2l, the AdamW paper, the frameworks' documentation) or from the book itself,
goes through :func:`claim`::

    claim(
        "paddle-l2decay-is-half-coeff-penalty",
        source="000",
        statement="L2Decay(coeff) gives the same update as adding 0.5*coeff*sum(w**2) to the loss.",
        verdict="holds",
        evidence=[close("L2Decay delta vs manual-penalty delta", d_api, d_manual, atol=1e-7)],
    )

The evidence items are the executed checks, made with :func:`close` (two arrays agree),
:func:`compare` (a measured number against another or a threshold), :func:`within` (a
number in a range) or :func:`measured` (any other measured condition). Each formats the
values it checked itself, so the box shows what was measured, never typed text. If any
check fails, :func:`claim` raises :class:`ClaimCheckFailed` (an ``AssertionError``) naming
the claim and the failed checks, so the notebook, and therefore CI, stops at that claim.

A claim about training outcomes also takes a ``decision`` made by a rule of
:mod:`decaylab.stats` on many seeds; the rule's outcome must agree with the stated verdict
(a rule that says "holds" allows "holds" or "holds with a caveat").

If everything passes, a verdict box is displayed. Its stored output carries the record as
metadata under the key ``"decaylab"`` (:data:`METADATA_KEY`), so that the claims ledger can
be built from the notebooks themselves (the book's build, ``decaylab_book.files.collect_records``, reads the
records back with :meth:`ClaimRecord.from_metadata`).

A verdict is what the *evidence* supports: "does not hold" is stated with checks that
measure the opposite (or a decision rule that bounds the effect below its margin), never
by the absence of a check; what the experiment cannot tell is "not settled at this scale".
"""

from __future__ import annotations

import html
import math
import operator
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import _checks, verdicts
from .stats import Decision

__all__ = [
    "METADATA_KEY",
    "SOURCES",
    "VERDICTS",
    "VERDICT_SLUGS",
    "ClaimCheckFailed",
    "ClaimRecord",
    "Evidence",
    "claim",
    "close",
    "compare",
    "evaluate_claim",
    "measured",
    "within",
]

#: The verdicts a claim can get (:mod:`decaylab.verdicts`), and the short name of each in CSS classes.
VERDICTS = verdicts.WORDS
VERDICT_SLUGS = {v.word: v.slug for v in verdicts.ALL}
_ALLOWED_BY_OUTCOME = verdicts.ALLOWED_BY_OUTCOME

#: The four source posts, by the number their file name starts with (000-003); the book's
#: references and landing page give each post's title, author and address.
POSTS = {
    "000": "post 000 (PaddlePaddle L2Decay and ParamAttr)",
    "001": "post 001 (weight decay and learning-rate decay)",
    "002": "post 002 (L1/L2 penalties on one layer in PyTorch)",
    "003": "post 003 (PyTorch L2 regularization and overfitting)",
}
#: The best-known references on the subject, whose claims the book checks too.
ANCHORS = {
    "d2l": "d2l.ai, Dive into Deep Learning (weight decay)",
    "adamw-paper": "Loshchilov & Hutter, Decoupled Weight Decay Regularization",
    "torch-docs": "PyTorch documentation",
    "paddle-docs": "PaddlePaddle documentation",
}
#: Where a claim comes from: a post, an anchor, or the book itself.
SOURCES = {**POSTS, **ANCHORS, "book": "this book"}

METADATA_KEY = "decaylab"

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ClaimCheckFailed(AssertionError):
    """A check behind a claim failed: the book's statement no longer matches the measurement."""


@dataclass(frozen=True)
class Evidence:
    """One executed check: what was checked, whether it passed, and the measurement shown."""

    label: str
    passed: bool
    shown: str = ""

    def __post_init__(self):
        _label(self.label)
        if not isinstance(self.passed, bool | np.bool_):
            raise TypeError(f"passed must be True or False; got {type(self.passed).__name__} {self.passed!r}")
        object.__setattr__(self, "passed", bool(self.passed))
        if not isinstance(self.shown, str):
            raise TypeError(
                f"shown must be a string (the measurement, rounded); got {type(self.shown).__name__}"
            )


@dataclass(frozen=True)
class ClaimRecord:
    """A checked claim, as stored in the notebook output's metadata and read back for the ledger.

    ``notebook`` is filled in only when the record is read back from a notebook (the
    notebook's path under ``book/`` without ``.ipynb``).
    """

    id: str
    source: str
    statement: str
    verdict: str
    evidence: tuple[Evidence, ...]
    caveat: str | None = None
    note: str | None = None
    decision: Decision | None = None
    notebook: str | None = None

    def to_metadata(self) -> dict:
        """The record as plain JSON-able data (what is stored under ``METADATA_KEY``)."""
        data = asdict(self)
        data.pop("notebook")
        data["evidence"] = [asdict(e) for e in self.evidence]
        data["decision"] = self.decision.to_metadata() if self.decision else None
        return {"claim": data}

    @classmethod
    def from_metadata(cls, meta: dict, *, notebook: str | None = None) -> ClaimRecord:
        """The record stored by :meth:`to_metadata` (the value under ``METADATA_KEY``)."""
        data = dict(meta["claim"])
        decision = data.pop("decision", None)
        return cls(
            **{**data, "evidence": tuple(Evidence(**e) for e in data["evidence"])},
            decision=Decision.from_metadata(decision) if decision else None,
            notebook=notebook,
        )

    def with_notebook(self, notebook: str) -> ClaimRecord:
        return replace(self, notebook=notebook)

    @property
    def slug(self) -> str:
        """The verdict's short name in CSS classes."""
        return VERDICT_SLUGS[self.verdict]

    def to_text(self) -> str:
        lines = [f"[{self.verdict.upper()}] {self.id} ({SOURCES[self.source]})", f"  {self.statement}"]
        lines += [f"  ✓ {e.label}" + (f": {e.shown}" if e.shown else "") for e in self.evidence]
        if self.decision:
            lines.append(f"  Rule: {self.decision.rule}")
            lines.append(f"  Result: {self.decision.shown()} → {self.decision.concluded()}")
        if self.caveat:
            lines.append(f"  Caveat: {self.caveat}")
        if self.note:
            lines.append(f"  Note: {self.note}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """The verdict box (English). Colours come from the book's CSS classes, in light and
        dark mode; the Chinese edition renders its own box from the record at build time."""
        esc = html.escape
        items = "".join(
            f"<li>✓ {esc(e.label)}" + (f": <code>{esc(e.shown)}</code>" if e.shown else "") + "</li>"
            for e in self.evidence
        )
        extra = ""
        if self.decision:
            d = self.decision
            extra += (
                f'<p class="decaylab-claim-rule"><b>Rule (declared before the run):</b> {esc(d.rule)}</p>'
                f'<p class="decaylab-claim-result"><b>Result:</b> <code>{esc(d.shown())}</code> '
                f"→ {esc(d.concluded())}</p>"
            )
        if self.caveat:
            extra += f'<p class="decaylab-claim-caveat"><b>Caveat:</b> {esc(self.caveat)}</p>'
        if self.note:
            extra += f'<p class="decaylab-claim-note"><b>Note:</b> {esc(self.note)}</p>'
        return (
            f'<div id="claim-{self.id}" class="decaylab-claim decaylab-verdict-{self.slug}">'
            f'<p class="decaylab-claim-head"><b class="decaylab-claim-verdict">{esc(verdicts.BY_WORD[self.verdict].label)}</b> '
            f'<span class="decaylab-claim-meta">· {esc(self.id)} · {esc(SOURCES[self.source])}</span></p>'
            f'<p class="decaylab-claim-statement">{esc(self.statement)}</p>'
            f'<ul class="decaylab-claim-evidence">{items}</ul>'
            f"{extra}</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return (
            {"text/plain": self.to_text(), "text/html": self.to_html()},
            {METADATA_KEY: self.to_metadata()},
        )


def _label(label) -> str:
    return _checks.text("label", label, what="a non-empty string saying what was checked")


def measured(label: str, condition, shown: str = "") -> Evidence:
    """A check that a measured condition is true, e.g. ``measured("zeros", n == 0, f"{n} zeros")``.

    Prefer :func:`compare` or :func:`within`, which format the numbers themselves. ``shown``
    is the measurement as the reader should see it, formatted from the measured values
    (an f-string, rounded so that the stored output is reproducible), never typed.
    """
    label = _label(label)
    if not isinstance(shown, str):
        raise TypeError(f"shown must be a string (the measurement, rounded); got {type(shown).__name__}")
    if isinstance(condition, np.ndarray):
        if condition.size != 1:
            raise TypeError(
                "condition must be a single truth value; reduce arrays with .all() or .any() first"
            )
        condition = condition.item()
    condition = _checks.flag("condition", condition)
    return Evidence(label=label, passed=condition, shown=shown)


def close(label: str, actual, desired, *, atol, rtol=0.0) -> Evidence:
    """A check that two arrays agree elementwise: ``|actual - desired| <= atol + rtol*|desired|``.

    Every element must agree; a NaN or an infinity in either array is a disagreement, and
    an empty comparison is refused (it would agree vacuously). The shown text states the
    tolerance, not the (machine-dependent) size of the difference, so that the stored
    output is the same on every CPU.
    """
    label = _label(label)
    atol = _checks.real("atol", atol, low=0.0)
    rtol = _checks.real("rtol", rtol, low=0.0)
    for name, value in (("actual", actual), ("desired", desired)):
        if value is None:
            raise TypeError(f"{name} must be an array of real numbers; got None")
    try:
        a = np.asarray(actual, dtype=np.float64)
        d = np.asarray(desired, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("actual and desired must be arrays of real numbers") from exc
    if a.shape != d.shape:
        raise ValueError(f"actual and desired must have the same shape; got {a.shape} and {d.shape}")
    if a.size == 0:
        raise ValueError(
            "actual and desired must hold at least one number (an empty comparison proves nothing)"
        )
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - d)
        agree = diff <= atol + rtol * np.abs(d)
    ok = bool(np.all(agree & np.isfinite(a) & np.isfinite(d)))
    tol = f"atol={atol:g}" + (f", rtol={rtol:g}" if rtol else "")
    if ok:
        shown = f"agree within {tol}"
    elif not (np.all(np.isfinite(a)) and np.all(np.isfinite(d))):
        count = int(np.sum(~(np.isfinite(a) & np.isfinite(d))))
        shown = f"differ: {count} non-finite value(s)"
    else:
        count, largest = int(np.sum(~agree)), f"{float(np.max(diff)):.3g}"
        shown = f"differ: {count} of {a.size} exceed {tol} (max |difference| = {largest})"
    return Evidence(label=label, passed=ok, shown=shown)


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _number(name: str, value) -> float:
    """A measured number (NaN and infinities allowed: the check then fails)."""
    return _checks.real(name, value, finite=False)


def _fmt(value: float, digits: int, decimals: int | None = None) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{decimals}f}" if decimals is not None else f"{value:.{digits}g}"


def _decimals(decimals) -> int | None:
    return None if decimals is None else _checks.integer("decimals", decimals, low=0, high=12)


def compare(label: str, left, op: str, right, *, digits: int = 4, decimals: int | None = None) -> Evidence:
    """A check that ``left op right`` for two measured numbers (or a number and a threshold).

    ``op`` is one of ``"<"``, ``"<="``, ``">"``, ``">="``. The shown text is formatted
    from the two values with ``digits`` significant digits, e.g. ``0.1234 < 0.2``, or with
    ``decimals`` digits after the point if given (for a value that may sit near 0, where
    significant digits would print its noise: ``-0.000 < 0.010``, not ``-5.8e-05 < 0.01``).
    A NaN or infinite value fails the check.

    >>> compare("loss with decay lower", 0.12344, "<", 0.2).shown
    '0.1234 < 0.2'
    """
    label = _label(label)
    op = _checks.one_of("op", op, _OPS)
    digits = _checks.integer("digits", digits, low=1, high=17)
    decimals = _decimals(decimals)
    a, b = _number("left", left), _number("right", right)
    ok = math.isfinite(a) and math.isfinite(b) and _OPS[op](a, b)
    return Evidence(
        label=label, passed=bool(ok), shown=f"{_fmt(a, digits, decimals)} {op} {_fmt(b, digits, decimals)}"
    )


def within(label: str, value, low, high, *, digits: int = 4, decimals: int | None = None) -> Evidence:
    """A check that ``low <= value <= high``; shown as ``low ≤ value ≤ high`` with ``digits``
    significant digits (or ``decimals`` digits after the point, as in :func:`compare`)."""
    label = _label(label)
    digits = _checks.integer("digits", digits, low=1, high=17)
    decimals = _decimals(decimals)
    v, lo, hi = _number("value", value), _number("low", low), _number("high", high)
    if not lo <= hi:
        raise ValueError(f"low must be <= high; got low={lo!r}, high={hi!r}")
    ok = math.isfinite(v) and lo <= v <= hi
    shown = " ≤ ".join(_fmt(x, digits, decimals) for x in (lo, v, hi))
    return Evidence(label=label, passed=bool(ok), shown=shown)


def evaluate_claim(
    claim_id: str,
    *,
    source: str,
    statement: str,
    verdict: str,
    evidence: Sequence[Evidence] = (),
    caveat: str | None = None,
    note: str | None = None,
    decision: Decision | None = None,
) -> ClaimRecord:
    """Validate a claim and run its checks; return the record or raise :class:`ClaimCheckFailed`.

    Same arguments as :func:`claim`, which also displays the verdict box.
    """
    _checks.text("claim_id", claim_id, what="lower-case words joined by hyphens")
    if not _ID.match(claim_id):
        raise ValueError(
            f"claim_id must be lower-case words joined by hyphens, like 'paddle-l1decay-sign'; got {claim_id!r}"
        )
    _checks.one_of("source", source, SOURCES)
    _checks.one_of("verdict", verdict, VERDICTS)
    statement = _checks.text("statement", statement, what="a non-empty string: the claim in one sentence")
    if verdict == verdicts.CAVEAT.word:
        if caveat is None:
            raise ValueError(
                "caveat must be a non-empty string when verdict is 'holds with a caveat'; got None"
            )
        caveat = _checks.text(
            "caveat", caveat, what="a non-empty string when verdict is 'holds with a caveat'"
        )
    elif caveat is not None:
        raise ValueError(
            f"caveat must be None unless verdict is 'holds with a caveat'; verdict is {verdict!r}"
        )
    if note is not None:
        note = _checks.text("note", note, what="None or a non-empty string")
    if decision is not None and not isinstance(decision, Decision):
        raise TypeError(
            f"decision must be None or made by decaylab.stats (e.g. paired_difference); got {type(decision).__name__}"
        )
    if isinstance(evidence, Evidence) or not isinstance(evidence, Sequence):
        raise TypeError(
            "evidence must be a list of checks made with close(), compare(), within() or measured()"
        )
    if not evidence and decision is None:
        raise ValueError("evidence must hold at least one check (or a decision must be given)")
    for item in evidence:
        if not isinstance(item, Evidence):
            raise TypeError(
                "every evidence item must come from close(), compare(), within() or measured(); "
                f"got {type(item).__name__}"
            )
    failed = [f"  ✗ {e.label}" + (f": {e.shown}" if e.shown else "") for e in evidence if not e.passed]
    if decision is not None and verdict not in _ALLOWED_BY_OUTCOME[decision.outcome]:
        failed.append(f"  ✗ decision rule: {decision.shown()} gives {decision.outcome!r}, not {verdict!r}")
    if failed:
        n_checks = len(evidence) + (decision is not None)
        raise ClaimCheckFailed(
            f"claim {claim_id!r} ({SOURCES[source]}) is stated as {verdict!r}, "
            f"but {len(failed)} of its {n_checks} checks failed:\n" + "\n".join(failed) + "\n"
            f"Statement: {statement}"
        )
    return ClaimRecord(
        id=claim_id,
        source=source,
        statement=statement,
        verdict=verdict,
        evidence=tuple(evidence),
        caveat=caveat,
        note=note,
        decision=decision,
    )


def claim(claim_id: str, **fields) -> None:
    """Check a claim and display its verdict box (with the claim record as output metadata).

    Takes the arguments of :func:`evaluate_claim`:

    ``claim_id``: short unique id (lower-case words joined by hyphens).
    ``source``: a key of :data:`SOURCES`: ``"000"`` ... ``"003"`` for a source post, an
    anchor (``"d2l"``, ``"adamw-paper"``, ``"torch-docs"``, ``"paddle-docs"``), or ``"book"``.
    ``statement``: the claim, in one sentence.
    ``verdict``: one of :data:`VERDICTS`.
    ``evidence``: the checks, made with :func:`close`, :func:`compare`, :func:`within`, :func:`measured`.
    ``caveat``: required with ``"holds with a caveat"``, refused otherwise.
    ``note``: shown in the box under the checks.
    ``decision``: for claims about training outcomes, a :class:`decaylab.stats.Decision`
    over many seeds; its outcome must allow the stated verdict.

    Raises :class:`ClaimCheckFailed` if a check failed or the decision disagrees.
    """
    record = evaluate_claim(claim_id, **fields)
    try:
        from IPython.display import display
    except ImportError:  # plain Python: print the text form
        print(record.to_text())
    else:
        display(record)
