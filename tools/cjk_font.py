"""The small Chinese font the site serves itself: only the characters the book uses.

The glossary and a few pages show Chinese terms. So that they render on a machine with no
Chinese fonts (and with no network), the site ships a subset of Noto Sans CJK SC holding
exactly the CJK characters that appear in the book's sources. A test checks that every such
character is in the font; after adding new Chinese text, regenerate it:

    apt-get install fonts-noto-cjk        # the full font, Debian's package
    .venv/bin/python tools/cjk_font.py    # writes book/_static/fonts/decaylab-cjk.woff
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONT = ROOT / "book" / "_static" / "fonts" / "decaylab-cjk.woff"
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def sources() -> list[Path]:
    """Every file whose text the site shows: the pages, notebooks (their outputs too) and
    bibliography, and the book's configuration and table of contents (the title and the
    navigation's captions; the navigation also shows each page's title)."""
    book = ROOT / "book"
    paths = [p for pattern in ("*.md", "*.ipynb", "*.bib") for p in sorted(book.rglob(pattern))]
    return [p for p in paths if ".ipynb_checkpoints" not in p.parts] + [
        ROOT / "_config.yml",
        ROOT / "_toc.yml",
    ]


def used_cjk_chars() -> set[str]:
    """Every CJK character the site shows (see :func:`sources`)."""
    chars: set[str] = set()
    for path in sources():
        if path.exists():
            chars |= set(CJK.findall(path.read_text(encoding="utf-8")))
    return chars


def font_chars(path: Path = FONT) -> set[str]:
    from fontTools.ttLib import TTFont

    return {chr(c) for c in TTFont(path).getBestCmap()}


def main() -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    if not SOURCE.exists():
        sys.exit(f"{SOURCE} not found: install Debian's fonts-noto-cjk first")
    collection = TTCollection(SOURCE)
    font = next(f for f in collection.fonts if "SC" in f["name"].getDebugName(1))  # Noto Sans CJK SC
    chars = sorted(used_cjk_chars())
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = []
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(chars))
    subsetter.subset(font)
    FONT.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff"
    font.save(FONT)
    print(f"wrote {FONT.relative_to(ROOT)}: {len(chars)} characters, {FONT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
