"""Every notebook, executed again on two numerical paths, means what its stored outputs say.

Each notebook runs top to bottom in a fresh kernel twice: on the machine's own kernels and
thread count (as a reader runs it, and as `make refresh` wrote the stored outputs) and on
PyTorch's non-vectorized kernels with one thread (``SECOND_PATH`` in decaylab_book.nbtools), which
rounds long float32 runs differently, as another CPU would. Both runs are compared with the
stored outputs by meaning (decaylab_book.meaning): verdicts, claim statements, words and counts
exactly; summaries of training runs within the tolerance their cell declares, sized from the
spread measured across numerical paths (decaylab_book.tolerances). A verdict or a claim's check
that changes on either path fails here, and so does an error in any cell.

The tests at the end prove that each declared tolerance can fail: a number moved just beyond
it is reported.
"""

import copy

import background
import nbformat
import pytest

from decaylab_book.files import notebooks
from decaylab_book.meaning import (
    _NUMBER,
    KEY,
    TOLERANCE,
    Tolerance,
    _texts,
    compare_cell,
    compare_notebooks,
    split,
    unit,
)
from decaylab_book.nbtools import SECOND_PATH, execute
from decaylab_book.tolerances import FACTOR, FLOOR

NOTEBOOKS = notebooks()
PATHS = ["machine", SECOND_PATH]


@pytest.mark.notebooks
@pytest.mark.parametrize("numerical_path", PATHS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_fresh_outputs_mean_what_is_stored(path, numerical_path, request):
    stored = nbformat.read(path, as_version=4)
    fresh = None
    if numerical_path == SECOND_PATH:  # run in the background process (tests/conftest.py)
        fresh = background.result("second", request.node.callspec.id)
    else:
        background.wait()  # this path uses both cores
    if fresh is None:
        fresh, _ = execute(path, numerical_path=numerical_path, allow_errors=True, timeout=1800)
    problems = compare_notebooks(stored, fresh)
    assert not problems, (
        f"{path.name} on the numerical path {numerical_path!r} differs from its stored outputs:\n  "
        + "\n  ".join(problems[:20])
        + "\nA verdict, a check, a word or a count changed, or a number moved beyond its cell's declared "
        "tolerance. If the change is meant, run `make refresh`; if only rounding moved it, measure the "
        "spread with python -m decaylab_book.tolerances."
    )


def toleranced_cells():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and TOLERANCE in cell.metadata.get(KEY, {}):
                yield pytest.param(path, i, id=f"{path.stem}-{i}")


TOLERANCED = list(toleranced_cells())


def test_some_cells_declare_tolerances():
    assert TOLERANCED, "no cell declares a tolerance: every training summary would be compared exactly"


def _moved(text: str, units: float) -> str | None:
    """``text`` with its first float moved by ``units`` units of its last digit (None: no float)."""
    for match in _NUMBER.finditer(text):
        token = match.group()
        if "." not in token:  # a float printed with decimals ("1e-2" is a setting's name here)
            continue
        value = float(token.replace("−", "-")) + units * unit(token)
        mantissa = token.lower().partition("e")[0]
        decimals = len(mantissa.partition(".")[2])
        new = f"{value:.{decimals}e}" if "e" in token.lower() else f"{value:.{decimals}f}"
        return text[: match.start()] + new + text[match.end() :]
    return None


@pytest.mark.parametrize(("path", "index"), TOLERANCED)
def test_each_tolerance_is_sized_from_its_spread_and_can_fail(path, index):
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[index]
    spec = cell.metadata[KEY][TOLERANCE]
    tolerance = Tolerance.of_cell(cell)
    # sized from the measured spread, never by hand
    assert spec["units"] == max(FLOOR, -(-FACTOR * spec["spread"] // 1)) or spec["spread"] == 0, spec
    for key, line in spec.get("lines", {}).items():
        assert line["units"] == max(FLOOR, -(-FACTOR * line["spread"] // 1)), (key, line)
    # a number moved beyond the tolerance fails the comparison
    bitten = 0
    for k, out in enumerate(cell.get("outputs", [])):
        fresh = copy.deepcopy(cell)
        record = out.get("metadata", {}).get(KEY, {}).get("claim")
        if record is not None and record.get("decision"):
            d = fresh.outputs[k].metadata[KEY]["claim"]["decision"]
            step = 10.0 ** -int(d["digits"])
            d["estimate"] += (tolerance.for_line("decision").units + 1) * step
            assert compare_cell(cell, fresh), f"cell {index}: a decision moved beyond the tolerance passed"
            bitten += 1
            continue
        if record is not None:
            for e, g in zip(
                record["evidence"], fresh.outputs[k].metadata[KEY]["claim"]["evidence"], strict=True
            ):
                moved = _moved(e.get("shown", ""), tolerance.for_line(e["label"]).units + 1)
                if moved is not None:
                    g["shown"] = moved
                    assert compare_cell(cell, fresh), (
                        f"cell {index}: a check moved beyond the tolerance passed"
                    )
                    bitten += 1
                    break
            continue
        if record is not None:
            continue
        for mime, text in _texts(out).items():
            first_line = next(
                (line for line in text.split("\n") if any("." in n for n in split(line)[1])), text
            )
            moved = _moved(text, tolerance.for_line(first_line).units + 1)
            if moved is None:
                continue
            if out.get("output_type") == "stream":
                fresh.outputs[k]["text"] = moved
            else:
                fresh.outputs[k]["data"][mime] = moved
            assert compare_cell(cell, fresh), (
                f"cell {index}: a number moved beyond the tolerance passed ({mime})"
            )
            bitten += 1
            break
    assert bitten, f"{path.name} cell {index} declares a tolerance but prints no number it could apply to"
