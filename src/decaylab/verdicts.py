"""The four verdicts a claim can get: the one list of their words and short names.

Every other module takes its verdicts from here: :mod:`decaylab.claims` (what a chapter may
state), :mod:`decaylab.stats` (the outcomes of a decision rule), and the book's build
(``decaylab_book``: the ledger's filters, the CSS classes, the Chinese edition's words, which
its tests check to cover every verdict here, as the glossary must).

>>> [v.word for v in ALL]
['holds', 'holds with a caveat', 'does not hold', 'not settled at this scale']
>>> BY_WORD["holds with a caveat"].label
'HOLDS, WITH A CAVEAT'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL",
    "ALLOWED_BY_OUTCOME",
    "BY_WORD",
    "CAVEAT",
    "FAILS",
    "HOLDS",
    "UNSETTLED",
    "WORDS",
    "Verdict",
]


@dataclass(frozen=True)
class Verdict:
    """A verdict: the ``word`` a chapter states (``claim(verdict=...)``) and its ``slug``, the
    short name in CSS classes (``decaylab-verdict-<slug>`` on a box, ``ledger-<slug>`` in the
    ledger)."""

    word: str
    slug: str

    @property
    def label(self) -> str:
        """The heading of a verdict box."""
        return self.word.upper().replace(" WITH A CAVEAT", ", WITH A CAVEAT")


HOLDS = Verdict("holds", "holds")
CAVEAT = Verdict("holds with a caveat", "caveat")
FAILS = Verdict("does not hold", "fails")
UNSETTLED = Verdict("not settled at this scale", "unsettled")

ALL = (HOLDS, CAVEAT, FAILS, UNSETTLED)
WORDS = tuple(v.word for v in ALL)
BY_WORD = {v.word: v for v in ALL}

#: The verdicts a decision rule's outcome (:mod:`decaylab.stats`: holds, does not hold, not
#: settled) allows a chapter to state: a rule that says "holds" allows a caveat too.
ALLOWED_BY_OUTCOME = {
    HOLDS.word: (HOLDS.word, CAVEAT.word),
    FAILS.word: (FAILS.word,),
    UNSETTLED.word: (UNSETTLED.word,),
}
