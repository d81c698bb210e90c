"""The Chinese edition's message catalogues: extract, update, check.

    python -m decaylab_book.translations update   # `make translations`: after changing a chapter
    python -m decaylab_book.translations check    # what the build runs first: every message translated?
    python -m decaylab_book.translations lint [FILE.po ...]   # translations that lost markup or numbers

``update`` extracts every message of the book into ``_build/gettext`` (Sphinx's gettext
builder: one ``.pot`` per page, the pages' prose and the notebooks' markdown cells and figure
captions; and ``claims/<chapter>.pot``: the texts the claims' code writes, read from the
claim records stored in each notebook, and ``claims/ledger.pot``: the ledger's paraphrases
of the posts' claims, the sources' names and the reasons of cells whose output is not compared, and of the tolerances),
then merges them into ``locales/zh_CN/LC_MESSAGES/`` with ``sphinx-intl update`` (a
new message arrives empty, a changed one marked fuzzy with its old translation as a start),
regenerates the Chinese font subsets (:mod:`decaylab_book.fonts`) and lists what is left to
translate. After translating, ``make book``: the Chinese verdict boxes are rendered from the
English records and the catalogues at build time, so no notebook is executed again.

``check`` fails (exit code 1) if any message of a fresh extraction is missing, empty or
fuzzy in its ``.po`` file, or if a translation lost what must stay as the English has it
(MyST roles such as {glue:text}`key`, inline code, math, link targets, numbers: see
:func:`markup_problems`), and names them: the build runs it before anything else.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from decaylab.claims import SOURCES

from . import editions
from .files import ROOT, collect_records, figure_alts, ignored_cells, toleranced_cells
from .ledger import SEED_CLAIMS

POT_DIR = ROOT / "_build" / "gettext"
LOCALES = ROOT / "locales"
PO_DIR = LOCALES / editions.LANGUAGE / "LC_MESSAGES"


def claim_texts() -> dict[str, list[str]]:
    """Every English text the claims' code writes, by catalogue: one per chapter (its claim
    records' texts, and the alt texts of its figures, which live in cell metadata where
    Sphinx's gettext builder does not look) and ``ledger`` (the posts' claims as the ledger paraphrases them, the
    sources' names, the reasons of the cells whose output is not compared and of the tolerances)."""
    texts: dict[str, list[str]] = {}
    for record in collect_records():
        texts.setdefault(record.notebook, []).extend(editions.texts(record))
    for notebook, alts in figure_alts().items():
        texts.setdefault(notebook, []).extend(alts)
    ledger = [seed.claim for seed in SEED_CLAIMS] + list(SOURCES.values())
    ledger += [cell.reason for cell in ignored_cells()]
    ledger += [cell.why for cell in toleranced_cells()]
    texts["ledger"] = ledger
    return {name: list(dict.fromkeys(t)) for name, t in texts.items()}  # unique, in order


def write_claims_pots(folder: Path = POT_DIR) -> list[Path]:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    target = folder / editions.CLAIMS_DOMAIN
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.pot"):
        stale.unlink()
    paths = []
    for name, texts in claim_texts().items():
        catalog = Catalog(project="Weight Decay, Verified", charset="utf-8")
        for text in texts:
            catalog.add(text)
        path = target / f"{name}.pot"
        with path.open("wb") as f:
            write_po(f, catalog, width=0)
        paths.append(path)
    return paths


def extract(*, quiet: bool = True) -> int:
    """Run Sphinx's gettext builder into ``_build/gettext`` and write ``claims.pot``."""
    from .nbtools import sphinx_command

    proc = subprocess.run(sphinx_command("gettext"), capture_output=quiet, text=True, check=False)
    if proc.returncode != 0:
        if quiet:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return proc.returncode
    write_claims_pots()
    return 0


def pot_files(pot_dir: Path = POT_DIR) -> list[Path]:
    return sorted(pot_dir.rglob("*.pot"))


def untranslated(pot_dir: Path = POT_DIR, po_dir: Path = PO_DIR) -> dict[str, list[str]]:
    """For each catalogue (by the path of its ``.po`` file under ``po_dir``), the messages of
    the last extraction (``.pot`` files under ``pot_dir``) that are missing, empty or fuzzy."""
    from babel.messages.pofile import read_po

    problems: dict[str, list[str]] = {}
    for pot in pot_files(pot_dir):
        with pot.open("rb") as f:
            wanted = [m.id for m in read_po(f) if m.id]
        po = po_dir / pot.relative_to(pot_dir).with_suffix(".po")
        done = editions.read_catalogue(po)
        missing = [msgid for msgid in wanted if msgid not in done]
        if missing:
            problems[po.relative_to(po_dir).as_posix()] = missing
    return problems


# What a translation must keep exactly as the English has it: MyST roles ({glue:text}`key`,
# {doc}`page`, {cite}`key`), inline code, math, link targets and the numbers.
_KEEP = [
    ("role", re.compile(r"\{[a-z:]+\}`[^`]*`")),
    ("math", re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)),
    ("code", re.compile(r"(?<![`}])`[^`]+`")),
    ("link target", re.compile(r"\]\(([^)]+)\)")),
]
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


_ZH_TWIN = re.compile(r"(\{glue(?::[a-z]+)?\}`[^`]*?)-zh`")


def markup_problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation lost or changed of what must stay as it is (empty: nothing).

    A glued value that is a word (a verdict, an answer) has a Chinese twin glued under the
    same key with ``-zh`` appended: ``{glue:text}`key-zh``` keeps ``{glue:text}`key```."""
    problems = []
    rest_id, rest_str = msgid, _ZH_TWIN.sub(r"\1`", msgstr)
    for what, pattern in _KEEP:
        wanted, got = sorted(pattern.findall(rest_id)), sorted(pattern.findall(rest_str))
        for item in wanted:
            if item in got:
                got.remove(item)
            else:
                problems.append(f"{what} {item[:60]!r} is missing or changed")
        rest_id, rest_str = pattern.sub(" ", rest_id), pattern.sub(" ", rest_str)
    numbers = [n.replace(",", "") for n in _NUMBER.findall(rest_id)]
    found = [n.replace(",", "") for n in _NUMBER.findall(rest_str)]
    for n in numbers:
        if n in found:
            found.remove(n)
        else:
            problems.append(f"number {n} is missing")
    return problems


def _prose(text: str) -> str:
    """A translation without its roles, math, code and link targets (what the term lint reads)."""
    for _, pattern in _KEEP:
        text = pattern.sub(" ", text)
    return text


def lint(paths: list[Path]) -> dict[str, list[str]]:
    """For each ``.po`` file, its translations that lost markup or numbers of their English,
    or use a term :data:`decaylab_book.editions.TERMS` refuses."""
    from babel.messages.pofile import read_po

    out: dict[str, list[str]] = {}
    for path in paths:
        with path.open("rb") as f:
            for m in read_po(f):
                if m.id and isinstance(m.string, str) and m.string and not m.fuzzy:
                    for p in markup_problems(m.id, m.string) + editions.term_problems(m.id, m.string, _prose):
                        out.setdefault(path.relative_to(ROOT).as_posix(), []).append(f"{p}: {m.id[:70]!r}")
    return out


def report(problems: dict[str, list[str]], *, limit: int = 3) -> str:
    lines = []
    for path, missing in problems.items():
        lines.append(f"{path}: {len(missing)} untranslated or fuzzy message(s), e.g.")
        lines += [f"    {m[:110]!r}" for m in missing[:limit]]
    return "\n".join(lines)


def check() -> int:
    """Extract, then fail if anything is untranslated, a translation lost a role, code, math,
    a link or a number, or a character the editions can show is missing from their font (the
    build's first step)."""
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
            "(remove the fuzzy flag when done), and build again."
        )
        return 1
    broken = lint(sorted(PO_DIR.rglob("*.po")))
    if broken:
        print(
            "Translations that lost what must stay as the English has it (roles, code, math, link "
            f"targets, numbers) or use a refused term (the glossary's table of Chinese terms):\n{report(broken)}"
        )
        return 1
    from .fonts import FONT, FONT_ZH, font_chars, used_cjk_chars, zh_edition_chars

    for chars, font in ((used_cjk_chars(), FONT), (zh_edition_chars(), FONT_ZH)):
        missing = chars - font_chars(font)
        if missing:
            print(
                f"{''.join(sorted(missing))} can be shown but is not in {font.name}: run "
                "`make translations` (it regenerates the font subsets) and commit the fonts"
            )
            return 1
    return 0


def update() -> int:
    code = extract(quiet=False)
    if code:
        return code
    sphinx_intl = Path(sys.executable).with_name("sphinx-intl")
    subprocess.run(
        [
            str(sphinx_intl),
            "update",
            "-p",
            str(POT_DIR),
            "-l",
            editions.LANGUAGE,
            "-d",
            str(LOCALES),
            "-w",
            "0",
        ],
        check=True,
    )
    from .fonts import main as make_fonts

    make_fonts()
    problems = untranslated()
    print(report(problems, limit=2) if problems else "every message is translated")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["lint"]:  # python -m decaylab_book.translations lint FILE.po ...
        found = lint([Path(p).resolve() for p in sys.argv[2:]] or sorted(PO_DIR.rglob("*.po")))
        print(report(found, limit=1000) if found else "no problems")
        sys.exit(1 if found else 0)
    commands = {"update": update, "check": check}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: python -m decaylab_book.translations update | check | lint [FILE.po ...]")
    sys.exit(commands[sys.argv[1]]())
