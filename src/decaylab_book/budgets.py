"""The book's budgets: the one place they are written.

The pages quote them through MyST substitutions (``{{ notebook_seconds }}``: the Sphinx
extension sets ``myst_substitutions`` from :data:`SUBSTITUTIONS`), the benchmarks print them
next to what they measure, the hygiene tests enforce the ones a test can, and a test checks
that the README says the same numbers.
"""

from __future__ import annotations

#: Seconds per notebook on 2 CPU cores (``make bench`` measures; no test times a notebook).
NOTEBOOK_SECONDS = 30
#: The one chapter allowed more, its budget, and why (``make bench`` and the chapter say so).
SLOW_NOTEBOOK = "adamw_figure"
SLOW_NOTEBOOK_SECONDS = 90
SLOW_NOTEBOOK_WHY = (
    "20 seeds x 4 panels x 16 cells, the smallest run that decides, twice: "
    "the plain MLP and the same MLP with LayerNorm (2,560 networks)"
)
#: What one page may weigh, gzipped, with everything it loads (``benchmarks/page_weight.py``).
PAGE_KB = 800
#: The longest line a code cell may print (the 688 px text column at desktop width).
OUTPUT_LINE_CHARS = 76
#: The longest line of visible code (the same column; ``book/ruff.toml`` formats to it).
CODE_LINE_CHARS = 76
#: A chapter's layout (``benchmarks/chapter_layout.py`` measures, in Chromium): the share of
#: its height that visible code takes, at most; how many desktop screens (800 px) down its
#: first figure or verdict box may start; how much of a phone's screen (844 px) a folded
#: verdict box may take.
CODE_SHARE = 0.25
FIRST_ANSWER_SCREENS = 2
FOLDED_BOX_PHONE_SCREENS = 0.4
#: The two test tiers on 2 CPU cores: ``make check`` in seconds, ``make test`` in minutes
#: (measured 2026-12-06 on a fresh clone: 23 min 3 s for 1,547 tests, 17 notebooks run twice
#: and 64 perturbed runs, at least one per rule-decided claim; it was 19 min 20 s with 15
#: notebooks and 54 perturbed runs, and 22 was the budget then).
CHECK_SECONDS = 90
TEST_MINUTES = 26

#: What the pages may quote, by substitution name.
SUBSTITUTIONS = {
    "notebook_seconds": str(NOTEBOOK_SECONDS),
    "slow_notebook_seconds": str(SLOW_NOTEBOOK_SECONDS),
    "page_kb": str(PAGE_KB),
    "output_line_chars": str(OUTPUT_LINE_CHARS),
}
