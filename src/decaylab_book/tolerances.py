"""Measure how far the notebooks' outputs move across numerical paths, and size the tolerances.

    python -m decaylab_book.tolerances run NAME [NOTEBOOK ...]   # execute on path NAME into _build/paths/NAME
    python -m decaylab_book.tolerances measure NAME [NAME ...]   # per cell: spread in units of the last digit
    python -m decaylab_book.tolerances write NAME [NAME ...]     # store each cell's tolerance from that spread

A long float32 training run rounds differently on another CPU, thread count or kernel set, and
its summaries move (:mod:`decaylab_book.meaning` explains how the tests compare them). ``run`` executes
every notebook on one of the numerical paths of :mod:`decaylab_book.nbtools` (PATHS) and keeps the
executed copies; ``measure`` compares them with the stored outputs and prints, per code cell,
the largest difference of a printed number in units of its last digit, and every difference
that no tolerance may cover (a word, a verdict, a count); ``write`` stores in each cell whose
numbers moved ``{"units": max(2, ceil(2 x spread)), "spread": spread, "why": ...}``, and
removes the tolerance of a cell whose numbers did not move. Tolerances are so sized from
measurements, never guessed; the tests then fail on a number beyond its cell's tolerance.
"""

from __future__ import annotations

import math
import sys

import nbformat

from .files import ROOT, TOLERANCE_REASON, notebooks
from .meaning import KEY, TOLERANCE, number_spread
from .nbtools import PATHS, execute_into

OUT = ROOT / "_build" / "paths"
FACTOR, FLOOR = 2.0, 2


def run(name: str, names: list[str]) -> None:
    execute_into(name, OUT / name, [p for p in notebooks() if not names or p.stem in names])


def spreads(names: list[str]) -> dict[tuple[str, int], tuple[dict[str, float], bool, list[str], list[str]]]:
    """(notebook, cell index) -> (largest spread per ``lines`` text, an integer moved, paths on which
    numbers moved, problems no tolerance may cover)."""
    out = {}
    for path in notebooks():
        stored = nbformat.read(path, as_version=4)
        for name in names:
            fresh_path = OUT / name / path.name
            if not fresh_path.exists():
                continue
            fresh = nbformat.read(fresh_path, as_version=4)
            for i, (s, f) in enumerate(zip(stored.cells, fresh.cells, strict=True)):
                if s.cell_type != "code":
                    continue
                largest, integer, problems = number_spread(s, f)
                spread, was_int, moved, was = out.get((path.name, i), ({}, False, [], []))
                for key, value in largest.items():
                    spread[key] = max(spread.get(key, 0.0), value)
                moved = moved + ([name] if largest else [])
                out[path.name, i] = (
                    spread,
                    was_int or integer,
                    moved,
                    was + [f"{name}: {p}" for p in problems],
                )
    return out


def measure(names: list[str]) -> int:
    bad = 0
    for (nb_name, i), (spread, integer, moved, problems) in sorted(spreads(names).items()):
        if spread or problems:
            parts = ", ".join(f"{k or 'rest'}: {v:.3g}" for k, v in sorted(spread.items()))
            print(f"{nb_name} cell {i}: spread in units {parts}" + (" (an integer moved)" if integer else "")
                  + (f" on {', '.join(sorted(set(moved)))}" if moved else ""))  # fmt: skip
        for p in problems:
            bad += 1
            print(f"    NOT A TOLERANCE MATTER: {p}")
    return 1 if bad else 0


def _why(old: dict | None) -> str:
    """The reason a person wrote for a cell's tolerance, or the default one
    (:data:`decaylab_book.files.TOLERANCE_REASON`)."""
    written = str((old or {}).get("why", "")).strip()
    return written if written and not written.startswith(TOLERANCE_REASON) else TOLERANCE_REASON


def _units(spread: float) -> int:
    """The tolerance for a measured spread (both in units of the last digit), from the spread as stored."""
    return max(FLOOR, math.ceil(FACTOR * round(spread, 2)))


def write(names: list[str]) -> None:
    found = spreads(names)
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        changed = False
        for i, cell in enumerate(nb.cells):
            if (path.name, i) not in found:
                continue
            spread, integer, moved, _ = found[path.name, i]
            meta = cell.metadata.setdefault(KEY, {})
            old = meta.get(TOLERANCE)
            lines = dict((old or {}).get("lines", {}))  # declared by hand; sized here
            if not spread:
                new = None
            else:
                rest = spread.get("", 0.0)
                new = {
                    "units": _units(rest) if rest else FLOOR,
                    "spread": round(rest, 2),
                    "why": _why(old),
                    "paths": sorted(set(moved)),
                }
                if lines:
                    new["lines"] = {
                        k: {"units": _units(spread.get(k, 0.0)), "spread": round(spread.get(k, 0.0), 2)}
                        for k in lines
                    }
                if integer:
                    new["integers"] = True
            if new != old:
                changed = True
                if new is None:
                    meta.pop(TOLERANCE, None)
                else:
                    meta[TOLERANCE] = new
            if not meta:
                cell.metadata.pop(KEY)
        if changed:
            nbformat.write(nb, path)
            print(f"tolerances updated in {path.name}")


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "run" and argv[1] in PATHS:
        run(argv[1], argv[2:])
        return 0
    if len(argv) >= 2 and argv[0] in ("measure", "write") and all(n in PATHS for n in argv[1:]):
        if argv[0] == "measure":
            return measure(argv[1:])
        write(argv[1:])
        return 0
    print(
        __doc__.strip().splitlines()[0],
        f"\nusage: see the module docstring; paths: {sorted(PATHS)}",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
