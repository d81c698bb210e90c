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


def render(record: ClaimRecord, edition: Edition = ENGLISH, *, anchor: bool = True) -> str:
    """The verdict box of ``record`` in ``edition``'s words (with ``id="claim-<id>"`` unless
    ``anchor`` is false: a second copy of a box must not repeat its anchor)."""
    ed = edition
    items = "".join(
        f"<li>✓ {esc(ed.text(e.label))}"
        + (f"{ed.colon}<code>{esc(ed.shown(e.shown))}</code>" if e.shown else "")
        + "</li>"
        for e in record.evidence
    )
    extra = ""
    if record.decision:
        d = record.decision
        extra += (
            f'<p class="decaylab-claim-rule"><b>{esc(ed.word("Rule (declared before the run):"))}</b> {esc(ed.rule(d))}</p>'
            f'<p class="decaylab-claim-result"><b>{esc(ed.word("Result:"))}</b> <code>{esc(ed.decision_shown(d))}</code> '
            f"→ {esc(ed.concluded(d))}</p>"
        )
    if record.caveat:
        extra += f'<p class="decaylab-claim-caveat"><b>{esc(ed.word("Caveat:"))}</b> {esc(ed.text(record.caveat))}</p>'
    if record.note:
        extra += (
            f'<p class="decaylab-claim-note"><b>{esc(ed.word("Note:"))}</b> {esc(ed.text(record.note))}</p>'
        )
    ident = f'id="claim-{record.id}" ' if anchor else ""
    return (
        f'<div {ident}class="decaylab-claim decaylab-verdict-{record.slug}">'
        f'<p class="decaylab-claim-head"><b class="decaylab-claim-verdict">{esc(ed.verdict_label(record.verdict))}</b> '
        f'<span class="decaylab-claim-meta">· {esc(record.id)} · {esc(ed.source(SOURCES[record.source]))}</span></p>'
        f'<p class="decaylab-claim-statement">{esc(ed.text(record.statement))}</p>'
        f'<ul class="decaylab-claim-evidence">{items}</ul>'
        f"{extra}</div>"
    )


def render_folded(record: ClaimRecord, edition: Edition = ENGLISH, *, anchor: bool = True) -> str:
    """The verdict box as a chapter page shows it: verdict, source, statement, the rule's
    result (or how many checks passed) and any caveat in view; the checks, the rule, the note
    and the claim's id in a disclosure (``<details>``) that a reader opens. A caveat is shown
    first inside it: the verdict's words ("holds with a caveat") say there is one.
    ``anchor`` as for :func:`render`."""
    ed = edition
    checks = "".join(
        f"<li>✓ {esc(ed.text(e.label))}"
        + (f"{ed.colon}<code>{esc(ed.shown(e.shown))}</code>" if e.shown else "")
        + "</li>"
        for e in record.evidence
    )
    shown, folded = "", ""
    if record.caveat:
        folded += f'<p class="decaylab-claim-caveat"><b>{esc(ed.word("Caveat:"))}</b> {esc(ed.text(record.caveat))}</p>'
    if record.decision:
        d = record.decision
        shown += (
            f'<p class="decaylab-claim-result"><b>{esc(ed.word("Result:"))}</b> <code>{esc(ed.decision_shown(d))}</code> '
            f"→ {esc(ed.concluded(d))}</p>"
        )
        folded += f'<p class="decaylab-claim-rule"><b>{esc(ed.word("Rule (declared before the run):"))}</b> {esc(ed.rule(d))}</p>'
    folded += f'<ul class="decaylab-claim-evidence">{checks}</ul>'
    if record.note:
        folded += (
            f'<p class="decaylab-claim-note"><b>{esc(ed.word("Note:"))}</b> {esc(ed.text(record.note))}</p>'
        )
    folded += f'<p class="decaylab-claim-id">{esc(ed.word("Claim id:"))} <code>{esc(record.id)}</code></p>'
    summary = ed.checks_passed(len(record.evidence), bool(record.decision), bool(record.caveat))
    ident = f'id="claim-{record.id}" ' if anchor else ""
    return (
        f'<div {ident}class="decaylab-claim decaylab-claim-folded decaylab-verdict-{record.slug}">'
        f'<p class="decaylab-claim-head"><b class="decaylab-claim-verdict">{esc(ed.verdict_label(record.verdict))}</b> '
        f'<span class="decaylab-claim-meta">· {esc(ed.source(SOURCES[record.source]))}</span></p>'
        f'<p class="decaylab-claim-statement">{esc(ed.text(record.statement))}</p>'
        f"{shown}"
        f'<details class="decaylab-claim-more"><summary>{esc(summary)}</summary>{folded}</details></div>'
    )
