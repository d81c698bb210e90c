"""How a chapter states a claim: check it, show a verdict box, store a record.

Every claim in the book, whether it comes from one of the four source posts or is the
book's own, goes through :func:`claim`::

    claim(
        "paddle-l2decay-is-half-coeff-penalty",
        source="000",
        statement="L2Decay(coeff) gives the same update as adding 0.5*coeff*sum(w**2) to the loss.",
        verdict="holds",
        evidence=[close("L2Decay delta vs manual-penalty delta", d_api, d_manual, atol=1e-7)],
    )

The evidence items are the executed checks. If any of them fails, :func:`claim`
raises :class:`ClaimCheckFailed` (an ``AssertionError``) naming the claim and the
failed checks, so the notebook, and therefore CI, stops at that claim. If they all
pass, a verdict box is displayed. Its stored output carries the claim's fields as
metadata under the key ``"decaylab"`` (see :data:`METADATA_KEY`), so that the
claims ledger can be built from the notebooks themselves.

A verdict is what the *evidence* supports, and every verdict needs positive
evidence: "does not hold" is stated with checks that measure the claim failing
(e.g. "the momentum trajectory differs from the 0.99-per-step picture by more
than 10%"), never by the absence of a check.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "METADATA_KEY",
    "SOURCES",
    "VERDICTS",
    "ClaimCheckFailed",
    "ClaimRecord",
    "Evidence",
    "claim",
    "close",
    "evaluate_claim",
    "measured",
]

VERDICTS = ("holds", "holds with a caveat", "does not hold")

#: Where a claim comes from: one of the four source posts (by the number their file
#: name starts with, in ``shared/seeds/``) or the book itself.
SOURCES = {
    "000": "post 000 (PaddlePaddle L2Decay and ParamAttr)",
    "001": "post 001 (weight decay and learning-rate decay)",
    "002": "post 002 (L1/L2 penalties on one layer in PyTorch)",
    "003": "post 003 (PyTorch L2 regularization and overfitting)",
    "book": "this book",
}

METADATA_KEY = "decaylab"

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_STYLE = {
    "holds": ("#1a7f37", "#eef9f0", "HOLDS"),
    "holds with a caveat": ("#9a6700", "#fff8e5", "HOLDS, WITH A CAVEAT"),
    "does not hold": ("#cf222e", "#fff0f0", "DOES NOT HOLD"),
}


class ClaimCheckFailed(AssertionError):
    """A check behind a claim failed: the book's statement no longer matches the measurement."""


@dataclass(frozen=True)
class Evidence:
    """One executed check: what was checked, whether it passed, and the measurement shown."""

    label: str
    passed: bool
    shown: str = ""


@dataclass(frozen=True)
class ClaimRecord:
    """A checked claim, as stored in the notebook output's metadata."""

    id: str
    source: str
    statement: str
    verdict: str
    evidence: tuple[Evidence, ...]
    caveat: str | None = None
    extra: dict = field(default_factory=dict)

    def to_metadata(self) -> dict:
        """The record as plain JSON-able data (what is stored under ``METADATA_KEY``)."""
        data = asdict(self)
        data["evidence"] = [asdict(e) for e in self.evidence]
        return {"claim": data}

    def to_text(self) -> str:
        lines = [f"[{self.verdict.upper()}] {self.id} ({SOURCES[self.source]})", f"  {self.statement}"]
        lines += [f"  ✓ {e.label}" + (f": {e.shown}" if e.shown else "") for e in self.evidence]
        if self.caveat:
            lines.append(f"  Caveat: {self.caveat}")
        if self.extra.get("note"):
            lines.append(f"  Note: {self.extra['note']}")
        return "\n".join(lines)

    def to_html(self) -> str:
        border, background, label = _STYLE[self.verdict]
        esc = html.escape
        items = "".join(
            f"<li>✓ {esc(e.label)}" + (f": <code>{esc(e.shown)}</code>" if e.shown else "") + "</li>"
            for e in self.evidence
        )
        caveat = f'<p style="margin:0.4em 0 0 0"><b>Caveat:</b> {esc(self.caveat)}</p>' if self.caveat else ""
        if self.extra.get("note"):
            caveat += f'<p style="margin:0.4em 0 0 0"><b>Note:</b> {esc(str(self.extra["note"]))}</p>'
        return (
            f'<div id="claim-{self.id}" class="decaylab-claim decaylab-{self.verdict.replace(" ", "-")}" '
            f'style="border-left:6px solid {border};background:{background};'
            f'padding:0.6em 0.9em;margin:0.6em 0;color:#1f2328">'
            f'<p style="margin:0"><b style="color:{border}">{label}</b> '
            f'<span style="color:#57606a">· {esc(self.id)} · {esc(SOURCES[self.source])}</span></p>'
            f'<p style="margin:0.3em 0">{esc(self.statement)}</p>'
            f'<ul style="margin:0.2em 0 0 0;padding-left:1.2em;list-style:none">{items}</ul>'
            f"{caveat}</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return (
            {"text/plain": self.to_text(), "text/html": self.to_html()},
            {METADATA_KEY: self.to_metadata()},
        )


def measured(label: str, condition, shown: str = "") -> Evidence:
    """A check that a measured condition is true, e.g. ``measured("loss lower", a < b, f"{a:.4f} < {b:.4f}")``.

    ``shown`` is the measurement as the reader should see it; print it rounded so that
    the stored output is reproducible.
    """
    if not isinstance(label, str) or not label.strip():
        raise ValueError("label must be a non-empty string saying what was checked")
    if not isinstance(shown, str):
        raise TypeError(f"shown must be a string (the measurement, rounded); got {type(shown).__name__}")
    if isinstance(condition, np.ndarray):
        if condition.size != 1:
            raise TypeError(
                "condition must be a single truth value; reduce arrays with .all() or .any() first"
            )
        condition = condition.item()
    if not isinstance(condition, bool | np.bool_):
        raise TypeError(f"condition must be True or False; got {type(condition).__name__} {condition!r}")
    return Evidence(label=label, passed=bool(condition), shown=shown)


def close(label: str, actual, desired, *, atol: float, rtol: float = 0.0) -> Evidence:
    """A check that two arrays agree elementwise: ``|actual - desired| <= atol + rtol*|desired|``.

    The shown text states the tolerance, not the (machine-dependent) size of the
    difference, so that the stored output is the same on every CPU.
    """
    if not isinstance(label, str) or not label.strip():
        raise ValueError("label must be a non-empty string saying what was compared")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not tol >= 0:
            raise ValueError(f"{name} must be a number >= 0; got {tol!r}")
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    if a.shape != d.shape:
        raise ValueError(f"actual and desired must have the same shape; got {a.shape} and {d.shape}")
    ok = bool(np.all(np.abs(a - d) <= atol + rtol * np.abs(d)))
    tol = f"atol={atol:g}" + (f", rtol={rtol:g}" if rtol else "")
    worst = float(np.max(np.abs(a - d))) if a.size else 0.0
    shown = f"agree within {tol}" if ok else f"differ: max |difference| = {worst:.3g} exceeds {tol}"
    return Evidence(label=label, passed=ok, shown=shown)


def evaluate_claim(
    claim_id: str,
    *,
    source: str,
    statement: str,
    verdict: str,
    evidence: Sequence[Evidence],
    caveat: str | None = None,
    **extra,
) -> ClaimRecord:
    """Validate a claim and run its checks; return the record or raise :class:`ClaimCheckFailed`.

    Same arguments as :func:`claim`, which also displays the verdict box.
    """
    if not isinstance(claim_id, str) or not _ID.match(claim_id):
        raise ValueError(
            f"claim_id must be lower-case words joined by hyphens, like 'paddle-l1decay-sign'; got {claim_id!r}"
        )
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))}; got {source!r}")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(map(repr, VERDICTS))}; got {verdict!r}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("statement must be a non-empty string: the claim in one sentence")
    if verdict == "holds with a caveat":
        if not isinstance(caveat, str) or not caveat.strip():
            raise ValueError(
                "caveat must be given (a non-empty string) when verdict is 'holds with a caveat'"
            )
    elif caveat is not None:
        raise ValueError(
            f"caveat must be None unless verdict is 'holds with a caveat'; verdict is {verdict!r}"
        )
    if isinstance(evidence, Evidence) or not isinstance(evidence, Sequence) or not evidence:
        raise ValueError("evidence must be a non-empty list of checks made with close() or measured()")
    for item in evidence:
        if not isinstance(item, Evidence):
            raise TypeError(
                f"every evidence item must come from close() or measured(); got {type(item).__name__}"
            )
    failed = [e for e in evidence if not e.passed]
    if failed:
        details = "\n".join(f"  ✗ {e.label}" + (f": {e.shown}" if e.shown else "") for e in failed)
        raise ClaimCheckFailed(
            f"claim {claim_id!r} ({SOURCES[source]}) is stated as {verdict!r}, "
            f"but {len(failed)} of its {len(evidence)} checks failed:\n{details}\n"
            f"Statement: {statement}"
        )
    return ClaimRecord(
        id=claim_id,
        source=source,
        statement=statement,
        verdict=verdict,
        evidence=tuple(evidence),
        caveat=caveat,
        extra=dict(extra),
    )


def claim(
    claim_id: str,
    *,
    source: str,
    statement: str,
    verdict: str,
    evidence: Sequence[Evidence],
    caveat: str | None = None,
    **extra,
) -> None:
    """Check a claim and display its verdict box (with the claim record as output metadata).

    ``claim_id``: short unique id (lower-case words joined by hyphens).
    ``source``: ``"000"`` ... ``"003"`` for a source post, ``"book"`` for the book's own.
    ``statement``: the claim, in one sentence.
    ``verdict``: ``"holds"``, ``"holds with a caveat"`` or ``"does not hold"``.
    ``evidence``: the checks, made with :func:`close` and :func:`measured`.
    ``caveat``: required with ``"holds with a caveat"``, refused otherwise.
    Extra keyword arguments (JSON-able) are stored in the record; ``note="..."`` is also
    shown in the box, under the checks.

    Raises :class:`ClaimCheckFailed` if a check failed.
    """
    record = evaluate_claim(
        claim_id,
        source=source,
        statement=statement,
        verdict=verdict,
        evidence=evidence,
        caveat=caveat,
        **extra,
    )
    try:
        from IPython.display import display
    except ImportError:  # plain Python: print the text form
        print(record.to_text())
    else:
        display(record)
