"""The book's two editions: English, and Chinese from gettext catalogues.

The book is written in English. Its Chinese edition comes from Sphinx's gettext catalogues
under ``locales/zh_CN/LC_MESSAGES/`` (one ``.po`` file per page, made and updated by
``make translations``): the pages' prose is translated by Sphinx. What the notebooks' code
writes (the claims' statements, caveats, notes, evidence labels and the quantities their
decision rules measure) is stored in English in each notebook's claim records and
translated here, **when the book is built**, from the catalogues ``claims/<chapter>.po`` and
``claims/ledger.po`` (the ledger's paraphrases of the posts' claims, the sources' names and
the reasons of specially compared cells). Changing a translation therefore never re-executes
a notebook.

An :class:`Edition` gives every word a page or a verdict box needs in its language: fixed
words (the verdicts, headings, the decision rule's sentence, what :func:`decaylab.claims.close`
writes) are written here next to the English; the claims' texts come from the catalogue.
A message that is missing, empty or fuzzy there counts as untranslated
(:meth:`Edition.missing` names it, and the build stops).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from decaylab import verdicts
from decaylab.stats import percent

from .files import ROOT

__all__ = [
    "CHINESE",
    "CLAIMS_DOMAIN",
    "EDITIONS",
    "ENGLISH",
    "LANGUAGE",
    "Edition",
    "catalogue_dir",
    "read_catalogue",
    "texts",
]

#: The Chinese edition's language code, as Sphinx and gettext spell it: the one spelling. Its
#: HTML ``lang`` (``zh-CN``) and its folder in the site (``zh/``) are derived below.
LANGUAGE = "zh_CN"
HTML_LANG = LANGUAGE.replace("_", "-")
SITE_FOLDER = LANGUAGE.split("_")[0]

#: The folder of the catalogues of the claims' texts (``locales/zh_CN/LC_MESSAGES/claims/``),
#: one per chapter and ``ledger.po``.
CLAIMS_DOMAIN = "claims"

#: The label of the English pages' link to the Chinese edition.
SWITCH_TO_ZH = "中文"

#: The verdicts in Chinese, by :mod:`decaylab.verdicts` slug (a test checks that every verdict
#: has one, and that the glossary of both editions lists them).
VERDICTS_ZH = {
    verdicts.HOLDS.slug: "成立",
    verdicts.CAVEAT.slug: "有条件成立",
    verdicts.FAILS.slug: "不成立",
    verdicts.UNSETTLED.slug: "在此规模下无定论",
}

#: The cases of "does not hold" (:attr:`decaylab.stats.Decision.case`) in Chinese.
CASES_ZH = {
    "the opposite effect": "效应方向相反",
    "an effect smaller than the margin": "效应小于最小有意义差异",
    "no effect that counts": "没有达到最小有意义差异的效应",
}

#: The verdict boxes', ledger's and checklist's fixed words in Chinese (the English is the key).
WORDS_ZH = {
    "Rule (declared before the run):": "判定规则（运行前声明）：",
    "Result:": "结果：",
    "Caveat:": "限定条件：",
    "Note:": "说明：",
    "this book": "本书",
    "post": "博文",
    "Post": "博文",
    "Claim (paraphrased)": "论断（转述）",
    "Verdict": "结论",
    "Source": "来源",
    "Claim": "论断",
    "The book's own claim": "本书的论断",
    "Chapter": "章节",
    "all": "全部",
    "Checked as:": "按此检查：",
    "Checked in": "检查于",
    "Evidence": "证据",
    "see the check": "查看检查",
    "seeds": "个种子",
    "Claim id:": "论断编号：",
    "(the seed schedule, explained)": "（种子计划的说明）",
}


@dataclass(frozen=True)
class Term:
    """One concept, one Chinese term: ``preferred`` is what the Chinese edition writes for
    ``concept``; ``refused`` are the words it does not use for it (as the glossary shows them)
    and ``patterns`` the same as regular expressions, checked by ``python -m
    decaylab_book.translations check`` on every translation (outside code, math and roles)
    whose English matches ``english`` (any, if ``None``). The glossary shows the table (its
    ``chinese-terms`` directive), with ``why`` in each edition."""

    concept: str
    preferred: str
    refused: str
    patterns: tuple[str, ...]
    why: str
    why_zh: str
    english: str | None = None


#: The Chinese edition's terms (the glossary's table; the translation lint enforces them).
TERMS = (
    Term(
        "epoch",
        "轮（epoch）",
        "epoch",
        (r"(?<![（(])\bepochs?\b(?![）)])",),
        "d2l-zh's word; epoch only in brackets",
        "与 d2l-zh 一致；epoch 只出现在括号里",
    ),
    Term(
        "batch size",
        "批量大小",
        "批大小、小批量大小、批次大小",
        ("小批量大小", "批大小", "批次大小"),
        "d2l-zh's word",
        "与 d2l-zh 一致",
    ),
    Term(
        "cell (notebook)",
        "单元格",
        "单元",
        ("单元(?!格|测试)",),
        "单元 alone is a network's unit",
        "单元单独使用指网络的单元",
        english=r"\bcells?\b",
    ),
    Term(
        "post (a source)",
        "博文",
        "帖子、该帖",
        ("帖",),
        "they are blog articles (post 002 is a Q&A, 问答)",
        "它们是博客文章（博文 002 是问答）",
    ),
    Term(
        "notebook (Jupyter)",
        "notebook",
        "笔记本",
        ("笔记本(?!电脑)",),
        "笔记本 is a laptop (笔记本电脑)",
        "笔记本指笔记本电脑",
    ),
    Term(
        "times (3 × 4)",
        "×",
        "x",
        (r"(?<=\d) ?x ?(?=\d)",),
        "the multiplication sign, not the letter",
        "用乘号，不用字母 x",
    ),
    Term(
        "emphasis",
        "粗体",
        "斜体",
        (r"(?<![*A-Za-z0-9_])\*(?!\*)[^*\n]*[\u4e00-\u9fff][^*\n]*(?<!\*)\*(?!\*)",),
        "Chinese type has no italic",
        "中文字体没有斜体",
    ),
)


def term_problems(english: str, chinese: str, strip=lambda text: text) -> list[str]:
    """The refused words of :data:`TERMS` in a translation (``strip`` removes what is not prose)."""
    text = strip(chinese)
    problems = []
    for term in TERMS:
        if term.english is not None and not re.search(term.english, english, re.I):
            continue
        for pattern in term.patterns:
            found = re.search(pattern, text)
            if found:
                problems.append(f"{found.group(0)!r} for {term.concept}: write {term.preferred}")
    return problems


def catalogue_dir() -> Path:
    """``locales/zh_CN/LC_MESSAGES`` of the project (or of ``$DECAYLAB_LOCALES/zh_CN/...``)."""
    root = os.environ.get("DECAYLAB_LOCALES")
    base = Path(root) if root else ROOT / "locales"
    return base / LANGUAGE / "LC_MESSAGES"


def read_catalogue(path: Path) -> dict[str, str]:
    """The translated messages of a ``.po`` file: ``{msgid: msgstr}`` without the empty and
    the fuzzy ones (an absent file has none)."""
    if not path.exists():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f)
    return {
        m.id: m.string
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and m.string.strip() and not m.fuzzy
    }


@functools.lru_cache(maxsize=4)
def _claims_catalogue(folder: Path) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((folder / CLAIMS_DOMAIN).glob("*.po")):
        for msgid, msgstr in read_catalogue(path).items():
            merged.setdefault(msgid, msgstr)
    return merged


_DECISION_SHOWN = re.compile(
    r"^mean (?P<estimate>\S+), (?P<confidence>\d+(?:\.\d+)?)% CI \[(?P<low>\S+), (?P<high>\S+)\] over "
    r"(?P<n>\d+) seeds; margin (?P<margin>\S+?)(?: → (?P<outcome>.+))?$"
)
_CLOSE_AGREE = re.compile(r"^agree within (?P<tol>.+)$")
_CLOSE_NONFINITE = re.compile(r"^differ: (?P<count>\d+) non-finite value\(s\)$")
_CLOSE_DIFFER = re.compile(
    r"^differ: (?P<count>\d+) of (?P<size>\d+) exceed (?P<tol>.+) \(max \|difference\| = (?P<largest>\S+)\)$"
)
_WORDS = re.compile(r"[A-Za-z]{3,}")


def _templated(shown: str) -> bool:
    return any(p.match(shown) for p in (_DECISION_SHOWN, _CLOSE_AGREE, _CLOSE_NONFINITE, _CLOSE_DIFFER))


def needs_catalogue(shown: str) -> bool:
    """Whether a check's shown text has words (not only numbers and symbols) that the
    catalogue translates: not a decision's result line nor what :func:`decaylab.claims.close`
    writes, which have templates here."""
    return bool(_WORDS.search(shown)) and not _templated(shown)


def texts(record) -> list[str]:
    """Every English text of a claim record that the Chinese edition translates."""
    out = [record.statement, *(t for t in (record.caveat, record.note) if t is not None)]
    out += [e.label for e in record.evidence]
    out += [e.shown for e in record.evidence if e.shown and needs_catalogue(e.shown)]
    if record.decision is not None:
        out.append(record.decision.quantity)
    return out


class Edition:
    """The words of one edition. ``ENGLISH`` returns the English as it is; ``CHINESE`` translates
    (fixed words from this module, the claims' texts from the catalogue, numbers kept)."""

    def __init__(self, language: str):
        if language not in ("en", LANGUAGE):
            raise ValueError(f"language must be 'en' or {LANGUAGE!r}; got {language!r}")
        self.language = language
        self.zh = language == LANGUAGE
        self.html_lang = HTML_LANG if self.zh else "en"
        self.semicolon = "；" if self.zh else "; "
        #: between an evidence label and its value (a full-width colon in Chinese)
        self.colon = "：" if self.zh else ": "

    def __repr__(self) -> str:
        return f"Edition({self.language!r})"

    # -- the claims' texts (catalogue) ------------------------------------------------------
    def translation(self, english: str) -> str | None:
        """The catalogue's translation of a claim text (``None``: none yet); English: itself."""
        if not isinstance(english, str):
            raise TypeError(f"english must be a string (a claim's text); got {type(english).__name__}")
        if not self.zh:
            return english
        return _claims_catalogue(catalogue_dir()).get(english)

    def text(self, english: str | None) -> str | None:
        """A claim text in this edition (the English where the catalogue has none: the build
        refuses that, see :meth:`missing`)."""
        if english is None:
            return None
        return self.translation(english) or english

    def shown(self, shown: str) -> str:
        """A check's shown text: a template's words translated, numbers and symbols as they are."""
        if not self.zh:
            return shown
        m = _DECISION_SHOWN.match(shown)
        if m:
            text = self._decision_shown(
                m["estimate"], m["low"], m["high"], float(m["confidence"]) / 100, int(m["n"]), m["margin"]
            )
            if m["outcome"]:
                outcome, _, case = m["outcome"].partition(" (")
                text += f" → {self._concluded(outcome, case[:-1] if case else None)}"
            return text
        if m := _CLOSE_AGREE.match(shown):
            return f"在 {m['tol']} 内一致"
        if m := _CLOSE_NONFINITE.match(shown):
            return f"不一致：{m['count']} 个非有限值"
        if m := _CLOSE_DIFFER.match(shown):
            return f"不一致：{m['count']} / {m['size']} 个元素超出 {m['tol']}，最大差 {m['largest']}"
        if not needs_catalogue(shown):
            return shown
        return self.text(shown)

    def missing(self, record) -> list[str]:
        """The texts of a record that this edition cannot translate yet (empty: none)."""
        if not self.zh:
            return []
        return [t for t in texts(record) if self.translation(t) is None]

    # -- fixed words ------------------------------------------------------------------------
    def word(self, english: str) -> str:
        """A fixed word of the boxes and pages."""
        return WORDS_ZH.get(english, english) if self.zh else english

    def verdict(self, word: str) -> str:
        """A verdict's word (``holds``; 成立)."""
        v = verdicts.BY_WORD[word]
        return VERDICTS_ZH[v.slug] if self.zh else v.word

    def verdict_label(self, word: str) -> str:
        """A verdict as a box's heading (``HOLDS, WITH A CAVEAT``; 有条件成立)."""
        v = verdicts.BY_WORD[word]
        return VERDICTS_ZH[v.slug] if self.zh else v.label

    def source(self, name: str) -> str:
        return self.text(name)

    def _concluded(self, outcome: str, case: str | None) -> str:
        if not self.zh:
            return outcome + (f" ({case})" if case else "")
        return self.verdict(outcome) + (f"（{CASES_ZH[case]}）" if case else "")

    def concluded(self, decision) -> str:
        """A decision's outcome, with the case of "does not hold"."""
        return self._concluded(decision.outcome, decision.case)

    def _decision_shown(self, estimate, low, high, confidence, n, margin) -> str:
        return f"均值 {estimate}，{percent(confidence)} 置信区间 [{low}, {high}]，{n} 个种子；最小有意义差异 {margin}"

    def decision_shown(self, decision) -> str:
        """The decision's estimate and interval (the same rounded numbers in both editions)."""
        if not self.zh:
            return decision.shown()
        d, k = decision, decision.digits
        return self._decision_shown(
            f"{d.estimate:+.{k}f}",
            f"{d.low:+.{k}f}",
            f"{d.high:+.{k}f}",
            d.confidence,
            d.n,
            f"{d.margin:.{k}f}",
        )

    def rule(self, decision) -> str:
        """The decision rule (:mod:`decaylab.stats`) in this edition's words."""
        if not self.zh:
            return decision.rule
        d = decision
        final = d.schedule_confidence[-1] if d.schedule_confidence else d.confidence
        text = (
            f"对各种子的（{self.text(d.quantity)}）取均值，求其 {percent(final)} t 置信区间：区间整体不低于最小有意义差异 "
            f"{d.margin:g} 则成立；区间整体低于该差异则不成立；否则无定论"
        )
        if d.schedule:
            more = "、再增至 ".join(str(n) for n in d.schedule[1:])
            levels = "、".join(percent(c) for c in d.schedule_confidence)
            text += f"；先用 {d.schedule[0]} 个种子，无定论时增至 {more} 个，各次的置信水平依次为 {levels}（O'Brien-Fleming 边界）"
        return text

    def by_rule(self, concluded: str, shown: str) -> str:
        """ "<outcome> by its rule (<result>)", for the checklist's one-line summaries."""
        return f"按判定规则{concluded}（{shown}）" if self.zh else f"{concluded} by its rule ({shown})"

    def paren(self, text: str) -> str:
        return f"（{text}）" if self.zh else f" ({text})"

    def more_checks(self, n: int, after_others: bool = True) -> str:
        if self.zh:
            return f"另有 {n} 项检查"
        return f"{'and ' if after_others else ''}{n} more check{'s' if n > 1 else ''}"

    def checks_passed(self, n: int, rule: bool, caveat: bool = False) -> str:
        """What a folded verdict box holds: "the caveat, 5 checks passed and the rule (show)"."""
        if self.zh:
            head = "限定条件；" if caveat else ""
            return head + f"{n} 项检查通过" + ("，以及判定规则" if rule else "") + "（展开查看）"
        head = "the caveat; " if caveat else ""
        return (
            head + f"{n} check{'s' if n != 1 else ''} passed" + (", and the rule" if rule else "") + " (show)"
        )

    def count(self, n: int, what: str) -> str:
        """ "Evidence: 3 checks"."""
        if self.zh:
            return f"{what}：{n} 项检查"
        return f"{what}: {n} check{'s' if n != 1 else ''}"


ENGLISH = Edition("en")
CHINESE = Edition(LANGUAGE)
#: The editions by Sphinx language, and the folder of each in the built site.
EDITIONS = {"en": ENGLISH, LANGUAGE: CHINESE}
SITE_FOLDERS = {"en": "", LANGUAGE: SITE_FOLDER}


def reload() -> None:
    """Read the catalogues again (after ``make translations`` changed them)."""
    _claims_catalogue.cache_clear()


def untranslated(records, seed_texts) -> list[str]:
    """What the Chinese edition would show in English, as messages (empty: nothing): every
    record's texts, the ledger's paraphrases of the posts and the sources' names must be in
    the claims catalogues."""
    problems = []
    for rec in records:
        missing = CHINESE.missing(rec)
        if missing:
            problems.append(
                f"record {rec.id!r} ({rec.notebook}) has no Chinese for: "
                + "; ".join(repr(t) for t in missing)
                + f" (translate them in locales/{LANGUAGE}/LC_MESSAGES/{CLAIMS_DOMAIN}/{rec.notebook}.po)"
            )
    for text in seed_texts:
        if CHINESE.translation(text) is None:
            problems.append(
                f"no Chinese in locales/{LANGUAGE}/LC_MESSAGES/{CLAIMS_DOMAIN}/ledger.po for {text!r}"
            )
    return problems
