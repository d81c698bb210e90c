"""The Chinese fonts the site serves itself: subsets of Noto Sans CJK SC, only the characters shown.

So that Chinese text renders on a machine with no Chinese font (and with no network), the
site ships two subsets of Noto Sans CJK SC (SIL Open Font License, see
``book/_static/fonts/NOTO-CJK-COPYRIGHT``), as WOFF2:

* ``decaylab-cjk.woff2``, for the English edition: the few CJK characters it shows (the
  glossary's terms, the posts' titles, the language switch);
* ``decaylab-cjk-zh.woff2``, for the Chinese edition: every CJK character its pages can show
  (the translations in ``locales/``, the words the book's code writes in Chinese, and the
  Chinese messages of Sphinx and of the theme).

A browser downloads such a font only for a page whose text needs it, and only where the
system has no Chinese font of its own. A test checks that every character the built pages
show is in their edition's font. ``make translations`` regenerates both (this script), from
Debian's full font:

    apt-get install fonts-noto-cjk        # or set CJK_FONT_SOURCE to a NotoSansCJK-Regular.ttc
    .venv/bin/python -m decaylab_book.fonts
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .files import BOOK, ROOT, notebooks

FONTS = ROOT / "book" / "_static" / "fonts"
FONT = FONTS / "decaylab-cjk.woff2"
FONT_ZH = FONTS / "decaylab-cjk-zh.woff2"
SOURCE = Path(os.environ.get("CJK_FONT_SOURCE", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"))
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# The Chinese fields of the bibliography (``howpublished_zh``), shown by the Chinese edition only.
_ZH_FIELDS = re.compile(r"^\s*\w+_zh\s*=.*$", re.M)


def sources() -> list[Path]:
    """Every file whose text the English edition shows: the pages, notebooks (their outputs
    too) and bibliography, and the book's table of contents (the navigation's captions)."""
    pages = [p for pattern in ("*.md", "*.bib") for p in sorted(BOOK.rglob(pattern))]
    return pages + notebooks() + [ROOT / "_toc.yml"]


def _shown_text(path: Path) -> str:
    """The text of a page as the English edition can show it: a notebook's cells and the
    outputs a page displays, not its metadata nor its glued values; a bibliography without its
    Chinese fields."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".bib":
        return _ZH_FIELDS.sub("", text)
    if path.suffix != ".ipynb":
        return text
    import json

    parts = []
    for cell in json.loads(text).get("cells", []):
        parts.append("".join(cell.get("source", "")))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/html", "text/markdown"):
                parts.append("".join(out.get("data", {}).get(mime, "")))
    return "\n".join(parts)


def used_cjk_chars() -> set[str]:
    """Every CJK character the English edition shows (see :func:`sources`), the label of its
    link to the Chinese edition, and the glossary's table of Chinese terms (:data:`TERMS`)."""
    from .editions import SWITCH_TO_ZH, TERMS

    chars = set(CJK.findall(SWITCH_TO_ZH))
    for term in TERMS:
        chars |= set(CJK.findall(term.preferred + term.refused + term.why))
    for path in sources():
        if path.exists():
            chars |= set(CJK.findall(_shown_text(path)))
    return chars


def zh_edition_chars() -> set[str]:
    """Every CJK character the Chinese edition can show."""
    import importlib.util

    from babel.messages.pofile import read_po

    chars = used_cjk_chars()
    texts = [(ROOT / "_config.yml").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.rglob("*.py"))]
    # the site scripts' Chinese words
    texts += [
        (ROOT / "book" / "_static" / name).read_text(encoding="utf-8")
        for name in ("decaylab.js", "decay-explorer.js")
    ]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "book").rglob("*.bib"))]
    catalogues = sorted((ROOT / "locales").rglob("*.po"))
    from .editions import LANGUAGE, SITE_FOLDER

    for package, pattern in (  # the upstream catalogues of the edition's language
        ("sphinx", f"locale/{LANGUAGE}/LC_MESSAGES/*.po"),
        ("sphinx_book_theme", f"theme/sphinx_book_theme/static/locales/{LANGUAGE}/LC_MESSAGES/*.po"),
        ("pydata_sphinx_theme", f"locale/{SITE_FOLDER}/LC_MESSAGES/*.po"),  # it names the language "zh"
    ):
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            catalogues += sorted(Path(spec.origin).parent.glob(pattern))
    for path in catalogues:
        with path.open("rb") as f:
            for message in read_po(f):
                strings = message.string if isinstance(message.string, tuple | list) else [message.string]
                texts += [s for s in strings if s]
    for text in texts:
        chars |= set(CJK.findall(text))
    return chars


def font_chars(path: Path = FONT) -> set[str]:
    from fontTools.ttLib import TTFont

    return {chr(c) for c in TTFont(path).getBestCmap()}


def write_subset(chars: set[str], target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    collection = TTCollection(SOURCE)
    font = next(f for f in collection.fonts if "SC" in f["name"].getDebugName(1))  # Noto Sans CJK SC
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff2"
    font.save(target)
    print(f"wrote {target.relative_to(ROOT)}: {len(chars)} characters, {target.stat().st_size} bytes")


def main() -> None:
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} not found: install Debian's fonts-noto-cjk first (or set CJK_FONT_SOURCE)")
    write_subset(used_cjk_chars(), FONT)
    write_subset(zh_edition_chars(), FONT_ZH)


if __name__ == "__main__":
    main()
