"""The checks bite: a perturbed measurement makes the chapter stop at the claim it feeds.

A check that passes whatever the frameworks do is not evidence. Each chapter declares, in
its notebook metadata, at least one perturbation of the behaviour it measures::

    "decaylab": {"perturbations": [
        {"code": "<python that changes what is measured>",
         "fails": "<the id of the claim that must then fail>",
         "why": "<one line>"}
    ]}

The test inserts ``code`` as a new cell right after the notebook's first code cell (the
set-up), runs the notebook in a fresh kernel (on the machine's kernels with one thread: under
``make test`` in the background process of tests/background.py), and requires it to stop with
``ClaimCheckFailed`` at the named claim, and at no earlier one. The perturbation changes the
framework's behaviour or the data (a patched optimizer step, a scaled result), never the
claim helper.
"""

from __future__ import annotations

import background
import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from decaylab.claims import METADATA_KEY
from decaylab_book.files import notebooks
from decaylab_book.nbtools import _run

pytestmark = pytest.mark.notebooks  # a tier of `make test`, not of `make check`


def perturbations():
    cases = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        for k, p in enumerate(nb.metadata.get(METADATA_KEY, {}).get("perturbations", [])):
            cases.append(pytest.param(path, p, id=f"{path.stem}-{k}-{p.get('fails')}"))
    return cases


def run_perturbed(path, perturbation) -> CellExecutionError | None:
    """Run the notebook with the perturbation inserted after its first code cell; return the error."""
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(perturbation["code"]))
    try:
        _run(nb, path, background.PERTURBATION_PATH, timeout=600, allow_errors=False)
    except CellExecutionError as exc:
        return exc
    return None


@pytest.mark.parametrize(("path", "perturbation"), perturbations())
def test_a_perturbed_measurement_fails_its_claim(path, perturbation, request):
    result = background.result("perturb", request.node.callspec.id)  # run beside (tests/background.py)
    if result is None:
        error = run_perturbed(path, perturbation)
    else:
        error = CellExecutionError("", result["ename"], result["evalue"]) if result["ename"] else None
    assert error is not None, (
        f"{path.name}: with the perturbation ({perturbation['why']}) every claim still passed: "
        f"claim {perturbation['fails']!r} does not depend on what it measures"
    )
    assert error.ename == "ClaimCheckFailed", (
        f"{path.name}: the perturbation ({perturbation['why']}) broke the notebook with "
        f"{error.ename}: {error.evalue[:300]}, not with a failed claim"
    )
    assert error.evalue.startswith(f"claim {perturbation['fails']!r}"), (
        f"{path.name}: the perturbation ({perturbation['why']}) failed another claim first: {error.evalue[:300]}"
    )


def test_the_runner_sees_a_perturbation_that_bites(tmp_path):
    """The harness itself: a tiny notebook whose claim depends on a number the perturbation changes."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from decaylab.claims import claim, compare\nvalue = 1.0"),
        nbformat.v4.new_code_cell(
            'claim("small", source="book", statement="s", verdict="holds", '
            'evidence=[compare("value", value, "<", 2.0)])'
        ),
    ]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    assert run_perturbed(path, {"code": "value = 0.5"}) is None  # a harmless change: nothing fails
    error = run_perturbed(path, {"code": "value = 3.0"})
    assert (
        error is not None and error.ename == "ClaimCheckFailed" and error.evalue.startswith("claim 'small'")
    )
