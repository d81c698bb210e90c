"""The Chinese edition's catalogues: what counts as translated, and how glued numbers survive translation.

The build (``python -m decaylab_book.nbtools build``) runs ``python -m decaylab_book.translations check`` first; these unit
tests show what it refuses: a message missing from its ``.po`` file, an empty translation,
and a fuzzy one (sphinx-intl marks a message fuzzy when its English changed).
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from decaylab_book import translations
from decaylab_book.files import ROOT
from decaylab_book.sphinx.edition import _glue_from, _language_switch
from decaylab_book.translations import PO_DIR


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


# -- quotations in the Chinese edition are the sources' own words ------------------------------

SEEDS = ROOT.parent / "shared" / "seeds"
#: d2l-zh's words the Chinese edition quotes, as read in d2l-ai/d2l-zh,
#: chapter_multilayer-perceptrons/weight-decay.md (the sentence after the concise
#: implementation, and the comment above its optimizers); no copy of d2l-zh ships here.
D2L_ZH_WORDS = ("[**这些图看起来和我们从零开始实现权重衰减时的图相同**]", "# 偏置参数没有衰减。")


#: The seeds' text has half-width punctuation where the posts show full-width.
_HALF_WIDTH = str.maketrans("，。：；（）！？", ",.:;()!?")


def _squeezed(text: str) -> str:
    return re.sub(r"[\s$*\[\]]", "", text.translate(_HALF_WIDTH))


def test_every_chinese_quotation_is_its_source_s_own_words():
    """A quotation in 「」 in the Chinese edition is verbatim from a post (../shared/seeds) or
    from d2l-zh; paraphrases stand outside quotation marks. Spaces, math dollars and
    emphasis do not count, nor full- or half-width punctuation."""
    import glob

    from babel.messages.pofile import read_po

    sources = "".join(
        _squeezed(Path(p).read_text(encoding="utf-8")) for p in sorted(glob.glob(str(SEEDS / "*.txt")))
    )
    sources += "".join(_squeezed(t) for t in D2L_ZH_WORDS)
    assert len(sources) > 1000, "the four posts are not beside the project (../shared/seeds)"
    quotes = []
    for po in sorted(PO_DIR.rglob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f):
                if m.id and isinstance(m.string, str):
                    quotes += [(po.name, q) for q in re.findall(r"「([^」]+)」", m.string)]
    assert len(quotes) >= 10
    not_found = [f"{name}: 「{q}」" for name, q in quotes if _squeezed(q) not in sources]
    assert not not_found, "quoted, but not the source's words: " + "; ".join(not_found)


def test_the_term_lint_refuses_the_words_the_glossary_refuses():
    from decaylab_book.editions import TERMS, term_problems

    assert term_problems("10 epochs", "训练 10 个 epoch")
    assert term_problems("10 epochs", "训练 10 轮（epoch）") == []
    assert term_problems("batch size 64", "批大小为 64")
    assert term_problems("the cell above", "上面的单元")
    assert term_problems("hidden units", "隐藏单元") == []  # a network's unit is 单元
    assert term_problems("the post", "这个帖子")
    assert term_problems("a notebook", "一个笔记本") and not term_problems("a laptop", "笔记本电脑")
    assert term_problems("3 × 4", "3 x 4")
    assert term_problems("*not*", "偏置*不*受影响") and not term_problems("*not*", "偏置**不**受影响")
    assert translations.lint([]) == {}
    assert {t.concept for t in TERMS} >= {"epoch", "batch size", "post (a source)", "emphasis"}
