"""What nbval does not check: every cell executed, nothing on stderr, no errors, sound claim records.

nbval silently skips a code cell with no stored execution_count, so an unexecuted
notebook would pass it. These tests read the stored notebooks and fail on that, on any
stored error or stderr output, on SVG figures (random ids), and on claim records that
are malformed, duplicated, or show a failed check.
"""

import re

import nbformat
import pytest
from bookfiles import ROOT, notebooks

from decaylab.claims import METADATA_KEY, SOURCES, VERDICTS

NOTEBOOKS = notebooks()
IDS = [p.name for p in NOTEBOOKS]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_valid_and_uses_the_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_cell_was_executed_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in code_cells(nb)]
    unexecuted = [i for i, n in enumerate(counts) if n is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} were never executed; run `make refresh`"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n: the notebook was not run top to bottom "
        "in a fresh kernel; run `make refresh`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_error_no_stderr_no_svg(path):
    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: error output {out.ename}")
            if out.output_type == "stream" and out.name == "stderr":
                problems.append(f"cell {i}: stderr output {out.text[:80]!r}")
            if "image/svg+xml" in out.get("data", {}):
                problems.append(f"cell {i}: SVG figure (use PNG: SVG embeds random ids)")
            text = out.get("text", "") + out.get("data", {}).get("text/plain", "")
            if re.search(r"\b(tensor|Tensor)\(", text):
                problems.append(f"cell {i}: raw tensor repr printed; print rounded NumPy values instead")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def claim_records():
    records = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get(METADATA_KEY)
                if meta:
                    records.append((path.name, meta["claim"]))
    return records


def test_claim_records_are_complete_unique_and_passed():
    records = claim_records()
    assert records, "no claim records found in the notebooks' outputs"
    seen = {}
    for name, rec in records:
        assert rec["id"] not in seen, f"claim id {rec['id']!r} used in {name} and {seen[rec['id']]}"
        seen[rec["id"]] = name
        assert rec["source"] in SOURCES, f"{rec['id']}: unknown source {rec['source']!r}"
        assert rec["verdict"] in VERDICTS, f"{rec['id']}: unknown verdict {rec['verdict']!r}"
        assert rec["statement"].strip(), f"{rec['id']}: empty statement"
        assert rec["evidence"], f"{rec['id']}: a claim with no check"
        failed = [e["label"] for e in rec["evidence"] if not e["passed"]]
        assert not failed, f"{rec['id']}: stored record shows failed checks {failed}"
        assert (rec["verdict"] == "holds with a caveat") == bool(rec["caveat"]), (
            f"{rec['id']}: caveat mismatch"
        )


def test_every_notebook_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    missing = [p for p in NOTEBOOKS if f"file: {p.relative_to(ROOT).with_suffix('').as_posix()}" not in toc]
    assert not missing, f"notebooks not in _toc.yml: {missing}"
