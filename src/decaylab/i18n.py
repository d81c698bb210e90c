"""The Chinese edition's words for what the code writes: claims, verdicts, decision rules.

The book is written in English; its Chinese edition comes from Sphinx's gettext catalogues
under ``locales/zh_CN/LC_MESSAGES/`` (one ``.po`` file per page, made and updated by
``make translations``). The pages' prose is translated by Sphinx at build time. What the
notebooks' code writes, the claims' statements, caveats, notes, evidence labels and the
quantities their decision rules measure, is translated here, from the catalogues
``claims/<chapter>.po`` (:data:`CLAIMS_DOMAIN`; ``claims/ledger.po`` holds the ledger's
paraphrases of the posts' claims and the sources' names), when :func:`decaylab.claims.claim`
runs: the claim
record then holds both languages, and the verdict box shows the reader's (CSS picks the
language of the page). A message that is missing, empty or marked fuzzy in the catalogue
counts as untranslated (:func:`zh` returns ``None``); the ledger check then fails the
build, naming the claim.

The fixed words (the verdicts, the box's headings, the decision rule's sentence, the text
:func:`decaylab.claims.close` writes) are translated in this module, next to the English.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

__all__ = [
    "CLAIMS_DOMAIN",
    "LANGUAGE",
    "VERDICTS_ZH",
    "catalogue_dir",
    "read_catalogue",
    "zh",
]

#: The Chinese edition's Sphinx language.
LANGUAGE = "zh_CN"
#: The folder of the catalogues of the claims' texts (``locales/zh_CN/LC_MESSAGES/claims/``),
#: one per chapter and ``ledger.po``.
CLAIMS_DOMAIN = "claims"

#: The label of the English pages' link to the Chinese edition.
SWITCH_TO_ZH = "中文"

#: The verdicts in Chinese (the English ones are :data:`decaylab.claims.VERDICTS`).
VERDICTS_ZH = {
    "holds": "成立",
    "holds with a caveat": "有条件成立",
    "does not hold": "不成立",
    "not settled at this scale": "在此规模下无定论",
}

#: The verdict box's and the ledger's fixed words.
WORDS_ZH = {
    "Rule (declared before the run):": "判定规则（运行前声明）：",
    "Result:": "结果：",
    "Caveat:": "限定条件：",
    "Note:": "说明：",
    "this book": "本书",
}


def catalogue_dir() -> Path:
    """``locales/zh_CN/LC_MESSAGES`` of the project (or of ``$DECAYLAB_LOCALES/zh_CN/...``)."""
    root = os.environ.get("DECAYLAB_LOCALES")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "locales"
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


@functools.lru_cache(maxsize=1)
def _claims_catalogue() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((catalogue_dir() / CLAIMS_DOMAIN).glob("*.po")):
        for msgid, msgstr in read_catalogue(path).items():
            merged.setdefault(msgid, msgstr)
    return merged


def zh(text: str | None) -> str | None:
    """The Chinese translation of one of the claims' texts, or ``None`` if it has none yet."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"text must be None or a string (a claim's English text); got {type(text).__name__}")
    return _claims_catalogue().get(text)


def reload() -> None:
    """Read the catalogue again (after ``make translations`` changed it in a running kernel)."""
    _claims_catalogue.cache_clear()


_DECISION_SHOWN = re.compile(
    r"^mean (?P<estimate>\S+), (?P<confidence>\d+(?:\.\d+)?)% CI \[(?P<low>\S+), (?P<high>\S+)\] over "
    r"(?P<n>\d+) seeds; margin (?P<margin>\S+?)(?: → (?P<outcome>.+))?$"
)
_CLOSE_SHOWN = re.compile(
    r"^(agree within .+|differ: \d+ non-finite value\(s\)|differ: \d+ of \d+ exceed .+)$"
)
_WORDS = re.compile(r"[A-Za-z]{3,}")


def needs_zh(shown: str) -> bool:
    """Whether a check's shown text has words (not only numbers and symbols) that the
    catalogue translates: not a decision's result line nor what :func:`decaylab.claims.close`
    writes, which have templates here."""
    return bool(_WORDS.search(shown)) and not (_DECISION_SHOWN.match(shown) or _CLOSE_SHOWN.match(shown))


def shown_zh(shown: str) -> str | None:
    """A check's shown text in Chinese: a decision's result line by its template, words
    through the catalogue, numbers and symbols as they are (``None``: no translation yet)."""
    m = _DECISION_SHOWN.match(shown)
    if m:
        text = decision_shown_zh(
            m["estimate"], m["low"], m["high"], float(m["confidence"]) / 100, int(m["n"]), m["margin"]
        )
        if m["outcome"]:
            outcome, _, case = m["outcome"].partition(" (")
            case = case[:-1] if case.endswith(")") else None
            if outcome not in VERDICTS_ZH or (case is not None and case not in CASES_ZH):
                return None
            text += f" → {concluded_zh(outcome, case)}"
        return text
    if not needs_zh(shown):
        return shown
    return zh(shown)


def decision_rule_zh(
    quantity_zh: str, confidence: float, margin: float, schedule=(), schedule_confidence=()
) -> str:
    """The decision rule of :mod:`decaylab.stats` in Chinese (its English is ``Decision.rule``)."""
    from .stats import percent

    final = schedule_confidence[-1] if schedule_confidence else confidence
    text = (
        f"对各种子的（{quantity_zh}）取均值，求其 {percent(final)} t 置信区间：区间整体不低于最小有意义差异 "
        f"{margin:g} 则成立；区间整体低于该差异则不成立；否则无定论"
    )
    if schedule:
        more = "、再增至 ".join(str(n) for n in schedule[1:])
        levels = "、".join(percent(c) for c in schedule_confidence)
        text += f"；先用 {schedule[0]} 个种子，无定论时增至 {more} 个，各次的置信水平依次为 {levels}（O'Brien-Fleming 边界）"
    return text


#: The cases of "does not hold" (:attr:`decaylab.stats.Decision.case`) in Chinese.
CASES_ZH = {
    "the opposite effect": "效应方向相反",
    "an effect smaller than the margin": "效应小于最小有意义差异",
    "no effect that counts": "没有达到最小有意义差异的效应",
}


def concluded_zh(outcome: str, case: str | None = None) -> str:
    """A decision's outcome in Chinese, with the case of "does not hold" (``Decision.concluded``)."""
    return VERDICTS_ZH[outcome] + (f"（{CASES_ZH[case]}）" if case else "")


def decision_shown_zh(estimate: str, low: str, high: str, confidence: float, n: int, margin: str) -> str:
    """The decision's result line in Chinese, from the already formatted numbers."""
    from .stats import percent

    return f"均值 {estimate}，{percent(confidence)} 置信区间 [{low}, {high}]，{n} 个种子；最小有意义差异 {margin}"


def close_shown_zh(kind: str, **values) -> str:
    """What :func:`decaylab.claims.close` writes, in Chinese (``kind`` names the sentence)."""
    if kind == "agree":
        return f"在 {values['tol']} 内一致"
    if kind == "non-finite":
        return f"不一致：{values['count']} 个非有限值"
    if kind == "differ":
        return f"不一致：{values['count']} / {values['size']} 个元素超出 {values['tol']}，最大差 {values['largest']}"
    raise ValueError(f"kind must be 'agree', 'non-finite' or 'differ'; got {kind!r}")
