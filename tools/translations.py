"""The Chinese edition's message catalogues: extract, update, check.

    python tools/translations.py update   # `make translations`: after changing a chapter
    python tools/translations.py check    # what the build runs first: every message translated?

``update`` extracts every message of the book into ``_build/gettext`` (Sphinx's gettext
builder: one ``.pot`` per page, the pages' prose and the notebooks' markdown cells and figure
captions; and ``claims.pot``: the texts the claims' code writes, read from the claim records
stored in the notebooks, the ledger's paraphrases of the posts' claims and the sources'
names), then merges them into ``locales/zh_CN/LC_MESSAGES/`` with ``sphinx-intl update`` (a
new message arrives empty, a changed one marked fuzzy with its old translation as a start),
regenerates the Chinese font subsets (``tools/cjk_font.py``) and lists what is left to
translate. After translating, run ``make refresh`` for the chapters whose claims changed
(their verdict boxes store both languages), then ``make book``.

``check`` fails (exit code 1) if any message of a fresh extraction is missing, empty or
fuzzy in its ``.po`` file, and names them: the build runs it before anything else.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bookfiles import BOOK, ROOT

from decaylab import i18n
from decaylab.claims import SOURCES
from decaylab.ledger import SEED_CLAIMS, collect_records

POT_DIR = ROOT / "_build" / "gettext"
LOCALES = ROOT / "locales"
PO_DIR = LOCALES / i18n.LANGUAGE / "LC_MESSAGES"


def claim_texts() -> list[str]:
    """Every English text of the claims that the Chinese edition shows, in book order."""
    texts: list[str] = []
    for record in collect_records(BOOK):
        texts += record.texts()
    texts += [seed.claim for seed in SEED_CLAIMS]
    texts += list(SOURCES.values())
    return list(dict.fromkeys(texts))  # unique, first occurrence first


def write_claims_pot(folder: Path = POT_DIR) -> Path:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project="Weight Decay, Verified", charset="utf-8")
    for text in claim_texts():
        catalog.add(text)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{i18n.CLAIMS_DOMAIN}.pot"
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False)
    return path


def extract(*, quiet: bool = True) -> int:
    """Run Sphinx's gettext builder into ``_build/gettext`` and write ``claims.pot``."""
    from nbtools import sphinx_command

    proc = subprocess.run(sphinx_command("gettext"), capture_output=quiet, text=True, check=False)
    if proc.returncode != 0:
        if quiet:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return proc.returncode
    write_claims_pot()
    return 0


def pot_files() -> list[Path]:
    return sorted(POT_DIR.rglob("*.pot"))


def po_for(pot: Path) -> Path:
    return PO_DIR / pot.relative_to(POT_DIR).with_suffix(".po")


def untranslated() -> dict[str, list[str]]:
    """For each catalogue, the messages of the last extraction that are missing, empty or
    fuzzy in its ``.po`` file."""
    from babel.messages.pofile import read_po

    problems: dict[str, list[str]] = {}
    for pot in pot_files():
        with pot.open("rb") as f:
            wanted = [m.id for m in read_po(f) if m.id]
        done = i18n.read_catalogue(po_for(pot))
        missing = [msgid for msgid in wanted if msgid not in done]
        if missing:
            problems[po_for(pot).relative_to(ROOT).as_posix()] = missing
    return problems


def report(problems: dict[str, list[str]], *, limit: int = 3) -> str:
    lines = []
    for path, missing in problems.items():
        lines.append(f"{path}: {len(missing)} untranslated or fuzzy message(s), e.g.")
        lines += [f"    {m[:110]!r}" for m in missing[:limit]]
    return "\n".join(lines)


def check() -> int:
    """Extract, then fail if anything is untranslated (the build's first step)."""
    code = extract()
    if code:
        return code
    if not pot_files():
        print("no messages were extracted into _build/gettext")
        return 1
    problems = untranslated()
    if problems:
        total = sum(len(v) for v in problems.values())
        print(
            f"The Chinese edition is incomplete: {total} message(s) untranslated or fuzzy.\n"
            f"{report(problems)}\n"
            "Run `make translations`, translate the empty and fuzzy entries of these .po files "
            "(remove the fuzzy flag when done), then `make refresh` for chapters whose claims "
            "changed, and build again."
        )
        return 1
    return 0


def update() -> int:
    code = extract(quiet=False)
    if code:
        return code
    sphinx_intl = Path(sys.executable).with_name("sphinx-intl")
    subprocess.run(
        [str(sphinx_intl), "update", "-p", str(POT_DIR), "-l", i18n.LANGUAGE, "-d", str(LOCALES), "-w", "0"],
        check=True,
    )
    from cjk_font import main as make_fonts

    make_fonts()
    problems = untranslated()
    print(report(problems, limit=2) if problems else "every message is translated")
    return 0


if __name__ == "__main__":
    commands = {"update": update, "check": check}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: python tools/translations.py update | check")
    sys.exit(commands[sys.argv[1]]())
