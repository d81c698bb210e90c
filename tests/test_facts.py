"""One owner per fact: the chapter list, the budgets, the project's folder, the verdicts.

Each fact is written in one place (``_toc.yml``, :mod:`decaylab_book.budgets`,
:data:`decaylab_book.files.ROOT`, :mod:`decaylab.verdicts`); where a page or the README has
to say it again in prose, a test here checks that it says the same.
"""

from __future__ import annotations

import ast
import re

from decaylab import verdicts
from decaylab_book import budgets
from decaylab_book.files import ROOT, toc_files

CHAPTERS = toc_files()[1:]  # every page after the landing page, in reading order


def _linked_pages(text: str, prefix: str = "") -> list[str]:
    return [m for m in re.findall(r"\]\(" + re.escape(prefix) + r"([a-z0-9_]+)\.(?:ipynb|md)\)", text)]


def test_the_readme_lists_every_chapter_in_the_table_of_contents_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## What the book covers") : readme.index("The pinned versions")]
    assert ["book/" + p for p in _linked_pages(table, "book/")] == CHAPTERS


def test_the_landing_page_s_chapter_map_lists_every_chapter_in_order():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    table = intro[intro.index("## Chapter map") :]
    table = table[: table.index("\n## ")]
    assert ["book/" + p for p in _linked_pages(table)] == CHAPTERS


def test_the_readme_quotes_the_budgets_as_budgets_py_sets_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for phrase in (
        f"{budgets.SLOW_NOTEBOOK_SECONDS} s budget, every other {budgets.NOTEBOOK_SECONDS} s",
        f"budget: {budgets.PAGE_KB} KB",
        f"{budgets.OUTPUT_LINE_CHARS} characters",
        f"`make check` (at most {budgets.CHECK_SECONDS} s",
        f"`make test` (at most {budgets.TEST_MINUTES} min",
    ):
        assert phrase in readme, f"the README does not say {phrase!r}"


def test_pages_quote_budgets_by_substitution_never_typed():
    typed = re.compile(r"\b(?:under|up to|at most) (\d+) (?:s|seconds)\b")
    for path in sorted((ROOT / "book").glob("*.md")):
        for number in typed.findall(path.read_text(encoding="utf-8")):
            assert int(number) not in (budgets.NOTEBOOK_SECONDS, budgets.SLOW_NOTEBOOK_SECONDS), (
                f"{path.name} types the budget {number} s; write {{{{ notebook_seconds }}}} instead"
            )


def _code_files():
    for folder in ("src", "tests", "benchmarks"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_project_folder_is_defined_once_and_nothing_edits_sys_path():
    for path in _code_files():
        text = path.read_text(encoding="utf-8")
        if path.name != "test_facts.py":
            assert "sys.path.insert" not in text and "sys.path.append" not in text, path.name
        if path != ROOT / "src" / "decaylab_book" / "files.py":
            assert not re.search(r"^ROOT\s*=", text, re.M), f"{path.relative_to(ROOT)} defines ROOT again"


def test_verdict_words_are_spelled_only_in_decaylab_verdicts():
    """Code (not docstrings) takes the verdicts from decaylab.verdicts, never a literal."""
    words = {v.word for v in verdicts.ALL} - {"holds"}  # "holds" is also an ordinary word
    for path in sorted((ROOT / "src").rglob("*.py")):
        if path.name == "verdicts.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in words and id(node) not in docstrings:
                raise AssertionError(
                    f"{path.relative_to(ROOT)}:{node.lineno} spells the verdict {node.value!r}"
                )


def test_output_lines_are_held_to_the_budget():
    import test_notebook_hygiene

    assert test_notebook_hygiene.MAX_OUTPUT_CHARS == budgets.OUTPUT_LINE_CHARS


def test_every_action_of_the_checklist_cites_its_evidence():
    """The checklist's items are actions, each citing the measured claim behind it with
    {claim}`id` (the build renders its verdict there and fails on an unknown id)."""
    text = (ROOT / "book" / "checklist.md").read_text(encoding="utf-8")
    actions = re.split(r"\n(?=\d+\. )", text.split("## ", 1)[0])[1:]
    assert len(actions) >= 8
    assert all("{claim}`" in a for a in actions), [a[:60] for a in actions if "{claim}`" not in a]
    assert all(a.split("**")[1].split()[0][0].isupper() for a in actions)  # an imperative head
