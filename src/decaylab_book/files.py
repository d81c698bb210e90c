"""Where the book's files are, and what the build reads from them.

:data:`ROOT` is the project's folder (the one holding ``_toc.yml``); :func:`notebooks` is the
one list of the book's notebooks, in the order of ``_toc.yml``; :func:`collect_records` reads
back the claim records the chapters stored (:func:`decaylab.claims.claim`);
:func:`ignored_cells` and :func:`toleranced_cells` list the cells whose printed output is
compared specially (:mod:`decaylab_book.meaning`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from decaylab.claims import METADATA_KEY, ClaimRecord

__all__ = [
    "BOOK",
    "IGNORE_REASON",
    "IGNORE_TAG",
    "ROOT",
    "TOLERANCE_REASON",
    "IgnoredCell",
    "TolerancedCell",
    "code_cells",
    "collect_records",
    "ignored_cells",
    "notebooks",
    "toc_files",
    "toleranced_cells",
]


def _find_root() -> Path:
    """``$DECAYLAB_ROOT``; else the checkout this package lives in; else the nearest folder above
    the working directory that holds ``_toc.yml`` and ``book/`` (a copy of the sources made by
    ``make mutants`` has none of its own)."""
    if os.environ.get("DECAYLAB_ROOT"):
        return Path(os.environ["DECAYLAB_ROOT"]).resolve()
    here = Path(__file__).resolve()
    for folder in [*here.parents, Path.cwd(), *Path.cwd().parents]:
        if (folder / "_toc.yml").is_file() and (folder / "book").is_dir():
            return folder
    raise RuntimeError(
        "decaylab_book: cannot find the book's sources (a folder with _toc.yml and book/); "
        "run from the project's folder or set DECAYLAB_ROOT"
    )


ROOT = _find_root()
BOOK = ROOT / "book"


def toc_files(root: Path = ROOT) -> list[str]:
    """Every page of ``_toc.yml`` in reading order, as written there (``book/intro``, ...)."""
    import yaml

    path = Path(root) / "_toc.yml"
    if not path.is_file():
        raise ValueError(f"root must be the book's folder, holding _toc.yml; got {str(root)!r}")
    toc = yaml.safe_load(path.read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or ():
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return pages


def notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook of the book, in the order of ``_toc.yml``: the one list that the ledger,
    the Sphinx extension, the tests and the commands use."""
    root = Path(root)
    return [root / f"{page}.ipynb" for page in toc_files(root) if (root / f"{page}.ipynb").is_file()]


def _name(path: Path, root: Path) -> str:
    """A notebook's name as records and pages use it: its path under ``book/`` without suffix."""
    return path.relative_to(Path(root) / "book").with_suffix("").as_posix()


def collect_records(root: Path = ROOT) -> list[ClaimRecord]:
    """Every claim record stored in the book's notebooks, in reading order, each with
    ``notebook`` set to the chapter's name (``lr_decay``). A stored record that cannot be read
    raises ``ValueError`` naming the notebook."""
    records = []
    for path in notebooks(root):
        name = _name(path, root)
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get(METADATA_KEY)
                if meta and "claim" in meta:
                    try:
                        records.append(ClaimRecord.from_metadata(meta, notebook=name))
                    except (KeyError, TypeError, ValueError) as exc:
                        raise ValueError(f"{name}: a stored claim record cannot be read ({exc})") from exc
    return records


#: The tag that makes the output comparison (:mod:`decaylab_book.meaning`) skip a cell's
#: printed text (its claim records are still compared), and the metadata key of the reason
#: why. The name is nbval's, kept so that notebooks tagged for nbval mean the same here.
IGNORE_TAG = "nbval-ignore-output"
IGNORE_REASON = "nbval-ignore-output-reason"

#: Why a cell's numbers need a tolerance, where nobody wrote a more specific reason
#: (:mod:`decaylab_book.tolerances` writes it; the reproducibility page states it once).
TOLERANCE_REASON = "summaries of training runs, which round differently on other CPUs"


@dataclass(frozen=True)
class IgnoredCell:
    """A code cell whose printed output is not compared (``reason`` is empty if none is given)."""

    notebook: str
    code_cell: int  # 1-based, counting code cells only
    first_line: str
    reason: str


@dataclass(frozen=True)
class TolerancedCell:
    """A code cell whose training summaries are compared within a tolerance."""

    notebook: str
    code_cell: int  # 1-based, counting code cells only
    first_line: str
    units: float
    spread: float
    lines: dict
    why: str


def code_cells(root: Path = ROOT):
    """(notebook name, 1-based code-cell number, first line of code, cell metadata) of every
    code cell of the book, in reading order."""
    for path in notebooks(root):
        name = _name(path, root)
        n_code = 0
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            n_code += 1
            source = "".join(cell.get("source", "")).strip().splitlines()
            first = next((line for line in source if line.strip() and not line.startswith("#")), "")
            yield name, n_code, first, cell.get("metadata", {})


def ignored_cells(root: Path = ROOT) -> list[IgnoredCell]:
    """Every cell tagged :data:`IGNORE_TAG`, in reading order."""
    return [
        IgnoredCell(name, n, first, str(meta.get(IGNORE_REASON, "")).strip())
        for name, n, first, meta in code_cells(root)
        if IGNORE_TAG in meta.get("tags", [])
    ]


def toleranced_cells(root: Path = ROOT) -> list[TolerancedCell]:
    """Every cell that declares ``metadata["decaylab"]["tolerance"]``, in reading order."""
    cells = []
    for name, n, first, meta in code_cells(root):
        spec = meta.get(METADATA_KEY, {}).get("tolerance")
        if spec:
            lines, why = dict(spec.get("lines", {})), str(spec.get("why", "")).strip()
            cells.append(
                TolerancedCell(name, n, first, float(spec["units"]), float(spec.get("spread", 0)), lines, why)
            )
    return cells


def figure_alts(root: Path = ROOT) -> dict[str, list[str]]:
    """The alt text of every figure, by notebook name: a cell's ``metadata.mystnb.image.alt``
    (MyST-NB writes it on the figure's ``<img>``). The Chinese edition translates them from the
    chapter's claims catalogue (:func:`decaylab_book.sphinx.edition.translate_alts`)."""
    alts: dict[str, list[str]] = {}
    for name, _, _, meta in code_cells(root):
        alt = meta.get("mystnb", {}).get("image", {}).get("alt")
        if alt:
            alts.setdefault(name, []).append(str(alt))
    return alts
