"""The Chinese edition: words from the catalogues at build time, never stored in a notebook.

``decaylab`` (what a chapter imports) writes English records and boxes; ``decaylab_book``
renders each edition's box from a record (:mod:`decaylab_book.boxes`, with the words of
:mod:`decaylab_book.editions`).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from decaylab import verdicts
from decaylab.claims import close, compare, evaluate_claim, measured
from decaylab.stats import mean_effect
from decaylab_book import boxes, editions
from decaylab_book.editions import CHINESE, ENGLISH
from decaylab_book.files import ROOT

ARGS = {"source": "000", "statement": "L2Decay equals the hand-written penalty.", "verdict": "holds"}


def write_catalogue(folder, messages):
    """A claims catalogue in ``folder``/zh_CN/LC_MESSAGES/claims with the given {msgid: msgstr}
    (None: fuzzy)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    cat = Catalog(locale="zh_CN")
    for msgid, msgstr in messages.items():
        cat.add(msgid, msgstr or "x", flags=("fuzzy",) if msgstr is None else ())
    target = folder / "zh_CN" / "LC_MESSAGES" / "claims"
    target.mkdir(parents=True)
    with (target / "a_chapter.po").open("wb") as f:
        write_po(f, cat)


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    def use(messages):
        write_catalogue(tmp_path, messages)
        monkeypatch.setenv("DECAYLAB_LOCALES", str(tmp_path))
        editions.reload()

    yield use
    editions.reload()


def _full_record():
    decision = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="gain", margin=0.1, digits=2)
    return evaluate_claim(
        "a-claim",
        source="001",
        statement="Decay helps.",
        verdict="holds with a caveat",
        evidence=[measured("plain", True), compare("lower", 1, "<", 2)],
        caveat="only with SGD",
        note="a note",
        decision=decision,
    )


def test_the_english_edition_renders_exactly_the_box_a_notebook_stores():
    for record in (_full_record(), evaluate_claim("c", evidence=[measured("x", True)], **ARGS)):
        assert boxes.render(record, ENGLISH) == record.to_html()


def test_a_record_holds_english_only():
    record = _full_record()
    stored = repr(record.to_metadata()) + record.to_html() + record.to_text()
    assert not re.search(r"[\u4e00-\u9fff]", stored)
    assert "_zh" not in repr(record.to_metadata())


def test_the_chinese_box_translates_every_part_from_the_catalogue(catalogue):
    catalogue(
        {
            "Decay helps.": "衰减有帮助。",
            "plain": "朴素",
            "lower": "更低",
            "gain": "增益",
            "only with SGD": "仅限 SGD",
            "a note": "一条说明",
            "post 001 (weight decay and learning-rate decay)": "博文 001",
        }
    )
    record = _full_record()
    assert CHINESE.missing(record) == []
    box = boxes.render(record, CHINESE)
    for zh in (
        "有条件成立",
        "衰减有帮助。",
        "朴素",
        "更低",
        "判定规则（运行前声明）：",
        "对各种子的（增益）取均值",
        "结果：",
        "20 个种子",
        "→ 成立",
        "限定条件：",
        "仅限 SGD",
        "说明：",
        "一条说明",
        "博文 001",
    ):
        assert zh in box, zh
    for english in ("HOLDS", "Rule (declared", "Result:", "Caveat:", "Note:", "Decay helps.", "seeds"):
        assert english not in box, english
    assert box.startswith('<div id="claim-a-claim" class="decaylab-claim decaylab-verdict-caveat">')
    assert 'id="claim-' not in boxes.render(record, CHINESE, anchor=False)


def test_fuzzy_and_missing_messages_are_untranslated(catalogue):
    catalogue({"L2Decay equals the hand-written penalty.": None, "deltas": "更新量"})  # fuzzy
    record = evaluate_claim(
        "l2-equals-penalty",
        evidence=[close("deltas", [1.0], [1.0], atol=1e-8), compare("ratio", 1.0, "<", 2.0)],
        note="A note.",
        **ARGS,
    )
    assert CHINESE.missing(record) == ["L2Decay equals the hand-written penalty.", "A note.", "ratio"]
    assert ENGLISH.missing(record) == []
    problems = editions.untranslated([record], ["a post's claim"])
    assert len(problems) == 2 and "'ratio'" in problems[0] and "a post's claim" in problems[1]


def test_templated_shown_texts_are_translated_with_their_numbers():
    assert CHINESE.shown("agree within atol=1e-08") == "在 atol=1e-08 内一致"
    assert CHINESE.shown("differ: 2 non-finite value(s)") == "不一致：2 个非有限值"
    assert (
        CHINESE.shown("differ: 3 of 10 exceed atol=0.1 (max |difference| = 0.5)")
        == "不一致：3 / 10 个元素超出 atol=0.1，最大差 0.5"
    )
    assert CHINESE.shown("0.1234 < 0.2") == "0.1234 < 0.2"  # numbers and symbols only
    line = (
        "mean +0.45, 95% CI [+0.40, +0.50] over 20 seeds; margin 0.10 → does not hold (the opposite effect)"
    )
    assert CHINESE.shown(line) == (
        "均值 +0.45，95% 置信区间 [+0.40, +0.50]，20 个种子；最小有意义差异 0.10 → 不成立（效应方向相反）"
    )
    assert ENGLISH.shown(line) == line


def test_every_verdict_has_its_chinese_word_and_the_glossary_defines_each_in_both_editions():
    assert set(editions.VERDICTS_ZH) == {v.slug for v in verdicts.ALL}
    glossary = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    glossary_zh = (ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "book" / "glossary.po").read_text(
        encoding="utf-8"
    )
    for v in verdicts.ALL:
        assert v.word in glossary, f"the glossary does not define the verdict {v.word!r}"
        assert editions.VERDICTS_ZH[v.slug] in glossary_zh, (
            f"the Chinese glossary lacks {editions.VERDICTS_ZH[v.slug]!r}"
        )


def test_an_edition_refuses_an_unknown_language_and_a_non_string():
    with pytest.raises(ValueError, match="language must be 'en' or 'zh_CN'"):
        editions.Edition("zh-CN")
    with pytest.raises(TypeError, match="english must be a string"):
        CHINESE.translation(123)
    with pytest.raises(TypeError, match="english must be a string"):
        ENGLISH.translation(None)


def test_the_edition_language_is_spelled_once():
    assert (editions.LANGUAGE, editions.HTML_LANG, editions.SITE_FOLDER) == ("zh_CN", "zh-CN", "zh")
    spelled = re.compile(r"[\"'](zh_CN|zh-CN)[\"']")
    for path in sorted((ROOT / "src").rglob("*.py")):
        if path.name == "editions.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not spelled.search(line), (
                f"{path.relative_to(ROOT)} spells the language itself: {line.strip()}"
            )


def test_decaylab_imports_nothing_of_the_book_and_nothing_chinese():
    for path in sorted((ROOT / "src" / "decaylab").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "decaylab_book" not in text.replace("``decaylab_book", ""), f"{path.name} names decaylab_book"
        assert not re.search(r"[\u4e00-\u9fff]", text), f"{path.name} holds Chinese text"


def test_decaylab_works_from_a_regular_install(tmp_path):
    """``pip install .`` (not editable) into a folder, then a claim from there, far from the
    project: decaylab needs none of the book's files."""
    import shutil

    source, target = tmp_path / "source", tmp_path / "site"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # from a copy, so that setuptools' build/ and egg-info stay out of the checkout
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import decaylab, decaylab.claims as c, decaylab.stats, decaylab.reference;"
        "assert 'site' in decaylab.__file__, decaylab.__file__;"
        "r = c.evaluate_claim('x', source='book', statement='s', verdict='holds', evidence=[c.measured('m', True)]);"
        "print(r.to_html()[:30])"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith('<div id="claim-x"')


def test_the_chinese_bibliography_has_no_english_joiners():
    """The Chinese edition's style joins authors with 、 and introduces proceedings with 载于;
    the English style keeps "and" and "In"."""
    from pybtex.database import parse_file, parse_string
    from pybtex.plugin import find_plugin

    from decaylab_book.sphinx import references

    references.register_bib_style()
    bib = parse_file(ROOT / "book" / "references.bib")
    zh_bib = parse_string(
        references.zh_bib((ROOT / "book" / "references.bib").read_text(encoding="utf-8")), "bibtex"
    )
    keys = ("kingma2015adam", "post002", "d2l_zh_weight_decay")

    def rendered(style):
        source = zh_bib if style == references.ZH_STYLE else bib
        formatted = find_plugin("pybtex.style.formatting", style)().format_entries(
            [source.entries[k] for k in keys]
        )
        return {e.key: e.text.render_as("text") for e in formatted}

    english, chinese = rendered("decaylab"), rendered(references.ZH_STYLE)
    adam = "kingma2015adam"
    assert " and " in english[adam] and " In " in english[adam]
    for text in chinese.values():
        assert " and " not in text and not re.search(r"\bIn\b", text), text
    assert "Kingma、Jimmy Ba" in chinese[adam] and "载于" in chinese[adam]
