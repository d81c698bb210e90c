"""The Chinese edition's catalogues: what counts as translated, and how glued numbers survive translation.

The build (``python -m decaylab_book.nbtools build``) runs ``python -m decaylab_book.translations check`` first; these unit
tests show what it refuses: a message missing from its ``.po`` file, an empty translation,
and a fuzzy one (sphinx-intl marks a message fuzzy when its English changed).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from decaylab_book import translations
from decaylab_book.sphinx.edition import _glue_from, _language_switch


def write(path: Path, messages: dict[str, tuple[str, bool]]) -> None:
    """A catalogue at ``path``: {msgid: (msgstr, fuzzy)}."""
    catalog = Catalog(locale="zh_CN")
    for msgid, (msgstr, fuzzy) in messages.items():
        catalog.add(msgid, msgstr, flags=("fuzzy",) if fuzzy else ())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog)


def test_missing_empty_and_fuzzy_messages_are_untranslated(tmp_path):
    pots, pos = tmp_path / "gettext", tmp_path / "po"
    write(pots / "book" / "a.pot", {m: ("", False) for m in ("done", "empty", "fuzzy", "missing")})
    write(pos / "book" / "a.po", {"done": ("完成", False), "empty": ("", False), "fuzzy": ("旧", True)})
    write(pots / "claims" / "b.pot", {"x": ("", False)})
    write(pos / "claims" / "b.po", {"x": ("叉", False)})
    assert translations.untranslated(pots, pos) == {"book/a.po": ["empty", "fuzzy", "missing"]}


def test_a_missing_catalogue_leaves_every_message_untranslated(tmp_path):
    write(tmp_path / "gettext" / "c.pot", {"one": ("", False), "two": ("", False)})
    assert translations.untranslated(tmp_path / "gettext", tmp_path / "po") == {"c.po": ["one", "two"]}


def test_glue_roles_of_a_translation_name_their_notebook():
    text = "误差降低 {glue:text}`gain` 个百分点，另见 {glue:text}`book/x.ipynb::k` 与 {glue}`raw`。"
    assert _glue_from(text, "/book/ch.ipynb") == (
        "误差降低 {glue:text}`/book/ch.ipynb::gain:s` 个百分点，另见 {glue:text}`book/x.ipynb::k` "
        "与 {glue}`/book/ch.ipynb::raw`。"
    )
    assert _glue_from("{glue:text}`x:.2f`", "/book/ch.ipynb") == "{glue:text}`/book/ch.ipynb::x:.2f`"


def test_language_switch_points_to_the_same_page_in_the_other_edition():
    assert 'href="../zh/book/x.html"' in _language_switch("book/x", zh=False)
    assert 'href="../../book/x.html"' in _language_switch("book/x", zh=True)
    assert 'href="zh/index.html"' in _language_switch("index", zh=False)
    assert 'href="../index.html"' in _language_switch("index", zh=True)


def test_a_translation_keeps_roles_code_math_links_and_numbers():
    msgid = "Decay lowers it by {glue:text}`gain` points on 20 seeds with `weight_decay` and $\\eta\\lambda$; see [the ledger](claims_ledger.md)."
    good = "在 20 个种子上，衰减（`weight_decay`，$\\eta\\lambda$）把它降低 {glue:text}`gain` 个百分点；见[总表](claims_ledger.md)。"
    assert translations.markup_problems(msgid, good) == []
    bad = "衰减把它降低 {glue}`gain` 个百分点，`权重衰减` 与 $\\eta$；见[总表](ledger.md)。"
    assert translations.markup_problems(msgid, bad) == [
        "role '{glue:text}`gain`' is missing or changed",
        "math '$\\\\eta\\\\lambda$' is missing or changed",
        "code '`weight_decay`' is missing or changed",
        "link target 'claims_ledger.md' is missing or changed",
        "number 20 is missing",
    ]


def test_a_glued_word_may_be_replaced_by_its_chinese_twin():
    assert translations.markup_problems("answer: {glue:text}`a`", "答案：{glue:text}`a-zh`") == []
    assert translations.markup_problems("answer: {glue:text}`a`", "答案：{glue:text}`b-zh`") != []
