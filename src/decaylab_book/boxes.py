"""A claim record as a verdict box, in the words of an edition.

The notebooks store the English box (:meth:`decaylab.claims.ClaimRecord.to_html`) and the
record; :func:`render` with the English edition gives exactly the stored box, which a test
checks, so the two cannot drift apart. On the site, each chapter's boxes are rendered again
from their records when the book is built, in each edition's words, folded
(:func:`render_folded`): the verdict, the statement and the result stay in view, the checks,
the rule and the note open on demand, as in the claims ledger.
"""

from __future__ import annotations

import html

from decaylab.claims import SOURCES, ClaimRecord

from .editions import ENGLISH, Edition

__all__ = ["render", "render_folded"]

esc = html.escape


#: Where the glossary explains the seed schedule and its interval levels (the boxes and the
#: ledger are pages of ``book/``, like the glossary).
SCHEDULE_HREF = "glossary.html#term-seed-schedule"


def _schedule_link(decision, ed) -> str:
    """A link to the glossary's seed schedule after a rule that follows one ("" otherwise)."""
    if len(getattr(decision, "schedule", ()) or ()) < 2:
        return ""
    return f' <a class="decaylab-glossary-link" href="{SCHEDULE_HREF}">{esc(ed.word("(the seed schedule, explained)"))}</a>'


def _parts(record: ClaimRecord, ed: Edition) -> dict[str, str]:
    """The pieces of a box in ``ed``'s words, each an HTML fragment ("" if the record has none):
    the checks' list, the rule, the result, the caveat and the note."""
    checks = "".join(
        f"<li>✓ {esc(ed.text(e.label))}"
        + (f"{ed.colon}<code>{esc(ed.shown(e.shown))}</code>" if e.shown else "")
        + "</li>"
        for e in record.evidence
    )
    parts = {"checks": f'<ul class="decaylab-claim-evidence">{checks}</ul>', "rule": "", "result": ""}
    if record.decision:
        d = record.decision
        parts["rule"] = (
            f'<p class="decaylab-claim-rule"><b>{esc(ed.word("Rule (declared before the run):"))}</b> '
            f"{esc(ed.rule(d))}{_schedule_link(d, ed)}</p>"
        )
        parts["result"] = (
            f'<p class="decaylab-claim-result"><b>{esc(ed.word("Result:"))}</b> '
            f"<code>{esc(ed.decision_shown(d))}</code> → {esc(ed.concluded(d))}</p>"
        )
    for key, word, text in (("caveat", "Caveat:", record.caveat), ("note", "Note:", record.note)):
        parts[key] = (
            f'<p class="decaylab-claim-{key}"><b>{esc(ed.word(word))}</b> {esc(ed.text(text))}</p>'
            if text
            else ""
        )
    return parts


def _head(record: ClaimRecord, ed: Edition, meta: str, anchor: bool, classes: str = "") -> str:
    ident = f'id="claim-{record.id}" ' if anchor else ""
    return (
        f'<div {ident}class="decaylab-claim{classes} decaylab-verdict-{record.slug}">'
        f'<p class="decaylab-claim-head"><b class="decaylab-claim-verdict">{esc(ed.verdict_label(record.verdict))}</b> '
        f'<span class="decaylab-claim-meta">· {esc(meta)}</span></p>'
        f'<p class="decaylab-claim-statement">{esc(ed.text(record.statement))}</p>'
    )


def render(record: ClaimRecord, edition: Edition = ENGLISH, *, anchor: bool = True) -> str:
    """The verdict box of ``record`` in ``edition``'s words (with ``id="claim-<id>"`` unless
    ``anchor`` is false: a second copy of a box must not repeat its anchor)."""
    ed = edition
    p = _parts(record, ed)
    meta = f"{record.id} · {ed.source(SOURCES[record.source])}"
    return (
        _head(record, ed, meta, anchor)
        + p["checks"]
        + p["rule"]
        + p["result"]
        + p["caveat"]
        + p["note"]
        + "</div>"
    )


def render_folded(record: ClaimRecord, edition: Edition = ENGLISH, *, anchor: bool = True) -> str:
    """The verdict box as a chapter page shows it: verdict, source, statement and the rule's
    result in view; the caveat, the checks, the rule, the note and the claim's id in a
    disclosure (``<details>``) that a reader opens, whose summary says what it holds.
    ``anchor`` as for :func:`render`."""
    ed = edition
    p = _parts(record, ed)
    claim_id = f'<p class="decaylab-claim-id">{esc(ed.word("Claim id:"))} <code>{esc(record.id)}</code></p>'
    summary = ed.checks_passed(len(record.evidence), bool(record.decision), bool(record.caveat))
    return (
        _head(record, ed, ed.source(SOURCES[record.source]), anchor, " decaylab-claim-folded")
        + p["result"]
        + f'<details class="decaylab-claim-more"><summary>{esc(summary)}</summary>'
        + p["caveat"]
        + p["rule"]
        + p["checks"]
        + p["note"]
        + claim_id
        + "</details></div>"
    )
