"""A claim record as a verdict box, in the words of an edition.

The notebooks store the English box (:meth:`decaylab.claims.ClaimRecord.to_html`) and the
record. The Chinese edition's boxes are rendered here from the record when the book is built
(the Sphinx extension replaces each stored box); :func:`render` with the English edition
gives exactly the stored box, which a test checks, so the two cannot drift apart.
"""

from __future__ import annotations

import html

from decaylab.claims import SOURCES, ClaimRecord

from .editions import ENGLISH, Edition

__all__ = ["render"]

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
