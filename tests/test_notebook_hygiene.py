"""What the output comparison does not check: every cell executed, nothing on stderr, no errors, and the book's rules.

The comparison needs stored outputs that a fresh top-to-bottom run wrote. These tests read
the stored notebooks and fail on a cell never executed or executed out of order, on any
stored error or stderr output, on SVG figures (random ids), on a measured number typed
into the prose, on an output left uncompared without a stated reason, on printed lines too
wide for the text column, and on evidence text typed by hand. The claim records
themselves are checked once, by ``decaylab_book.ledger.check_ledger`` (tests/test_ledger.py).
"""

import ast
import re

import nbformat
import pytest

from decaylab.claims import METADATA_KEY
from decaylab_book import budgets
from decaylab_book.files import IGNORE_REASON, IGNORE_TAG, ROOT, collect_records, ignored_cells, notebooks

NOTEBOOKS = notebooks()
IDS = [p.name for p in NOTEBOOKS]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def outputs(path):
    """Every stored output of the notebook at ``path``, with the index of its cell."""
    nb = nbformat.read(path, as_version=4)
    return [(i, out) for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])]


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
    problems = []
    for i, out in outputs(path):
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


def test_every_notebook_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    missing = [p for p in NOTEBOOKS if f"file: {p.relative_to(ROOT).with_suffix('').as_posix()}" not in toc]
    assert not missing, f"notebooks not in _toc.yml: {missing}"


# --- Numbers in the prose come from executed cells ----------------------------------------------
#
# The rule: a markdown cell may show a decimal number (0.36), a percentage (36%) or a number in
# scientific notation (1e-4) only inside inline code, math or a {glue} role, or if the same
# literal appears in a code cell of the same notebook (a setup constant: lr = 0.01). Anything
# else is a measured result typed by hand; glue it from the cell that measures it. Version
# strings (2.13.0) and whole numbers (seeds, sizes, post numbers) are not matched.
_HIDDEN = re.compile(
    r"\{glue(?::\w+)?\}`[^`]*`|```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)|<[^>]+>",
    re.DOTALL,
)
#: A confidence level is a convention of the decision rules, not a measurement.
_CONFIDENCE = re.compile(r"\b95\s?% (?:confidence |t-)?(?:interval|CI)")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?[eE][-+]?\d+|\d+\.\d+(?:\s?%)?|\d+\s?%)(?![\w.]*\d)(?!\.\d)")


def typed_numbers(markdown: str, code: str) -> list[str]:
    """The numbers a markdown cell quotes that are neither hidden (code, math, glue) nor setup constants.

    A setup constant is the same literal as a whole token of the code (``0.3`` matches
    ``lr = 0.3`` but not ``0.35``)."""
    plain = _CONFIDENCE.sub(" ", _HIDDEN.sub(" ", markdown))
    found = []
    for m in _NUMBER.finditer(plain):
        literal = m.group(1)
        bare = re.sub(r"\s?%$", "", literal)
        if not re.search(rf"(?<![\w.]){re.escape(bare)}(?![\w.]*\d)", code):
            found.append(literal)
    return found


def test_typed_numbers_rule_itself():
    code = "lr = 0.01\nwd = 1e-4\nratio = 0.35"
    assert typed_numbers("lr 0.01 and 1e-4 are set", code) == []
    assert typed_numbers("the loss fell to 0.36, 12% less, 3e-5", code) == ["0.36", "12%", "3e-5"]
    assert typed_numbers("{glue:text}`k` and `0.5` and $0.99^{100}$ and torch 2.13.0, seed 7", code) == []
    assert typed_numbers("a ratio of 0.3", code) == ["0.3"]  # 0.35 in the code is another number
    assert typed_numbers("its 95% interval and the 95% CI, but 95% of the runs", code) == ["95%"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_measured_number_typed_into_the_prose(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    problems = [
        f"markdown cell {i}: {found}"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and (found := typed_numbers(c.source, code))
    ]
    for i, c in enumerate(nb.cells):  # figure captions and alt text are prose too
        meta = c.metadata.get("mystnb", {})
        for what, text in (
            ("caption", meta.get("figure", {}).get("caption", "")),
            ("alt text", meta.get("image", {}).get("alt", "")),
        ):
            if found := typed_numbers(text, code):
                problems.append(f"cell {i} figure {what}: {found}")
    assert not problems, (
        f"{path.name}: numbers typed into the prose (glue them from the cell that measures them, "
        "see CONTRIBUTING in the README): " + "; ".join(problems)
    )


# --- What is not compared has a stated reason ----------------------------------------------


def test_every_ignored_output_has_a_reason():
    missing = [f"{c.notebook} code cell {c.code_cell}" for c in ignored_cells() if not c.reason]
    assert not missing, f"cells tagged {IGNORE_TAG} without {IGNORE_REASON!r}: {missing}"


# --- Printed results fit the text column ------------------------------------------------------

MAX_OUTPUT_CHARS = budgets.OUTPUT_LINE_CHARS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_printed_lines_fit_the_text_column(path):
    long = []
    for i, out in outputs(path):
        data = out.get("data", {})
        if out.output_type == "stream":
            text = out.text
        elif "text/plain" in data and not ({"text/html", "text/markdown", "image/png"} & set(data)):
            text = data["text/plain"]  # what the page shows when there is no richer form
        else:
            continue
        long += [f"cell {i}: {len(line)} chars" for line in text.splitlines() if len(line) > MAX_OUTPUT_CHARS]
    assert not long, f"{path.name}: printed lines wider than {MAX_OUTPUT_CHARS} characters: " + "; ".join(
        long
    )


# --- Evidence text is formatted from measured values -------------------------------------------


def literal_shown_calls(source: str) -> list[str]:
    """Calls of measured(...) whose ``shown`` text is a plain string literal (typed, not measured)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "measured"
        ):
            shown = (
                node.args[2]
                if len(node.args) > 2
                else next((k.value for k in node.keywords if k.arg == "shown"), None)
            )
            if isinstance(shown, ast.Constant) and isinstance(shown.value, str) and shown.value:
                found.append(shown.value)
    return found


def test_literal_shown_rule_itself():
    assert literal_shown_calls('measured("x", a < b, "0.002")') == ["0.002"]
    assert literal_shown_calls('measured("x", a < b, shown="typed")') == ["typed"]
    assert literal_shown_calls('measured("x", a < b, f"{a:.3f}")') == []
    assert literal_shown_calls('measured("x", a < b)') == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_evidence_text_is_not_typed(path):
    nb = nbformat.read(path, as_version=4)
    typed = [
        f"cell {i}: {s!r}"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for s in literal_shown_calls(c.source)
    ]
    assert not typed, (
        f"{path.name}: measured(..., shown=<typed text>); use compare()/within() or an f-string: {typed}"
    )


# --- Every chapter shows that its checks bite ----------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapters_with_claims_declare_a_perturbation(path):
    nb = nbformat.read(path, as_version=4)
    has_claims = any("claim(" in c.source for c in nb.cells if c.cell_type == "code")
    perturbations = nb.metadata.get(METADATA_KEY, {}).get("perturbations", [])
    if has_claims:
        assert perturbations, (
            f"{path.name}: no perturbation in metadata.decaylab.perturbations (see tests/test_checks_bite.py)"
        )
    for p in perturbations:
        assert set(p) >= {"code", "fails", "why"}, (
            f"{path.name}: a perturbation needs code, fails and why; got {sorted(p)}"
        )


def test_every_rule_decided_claim_has_a_perturbation():
    """A claim decided by a rule on many seeds is a measurement: a perturbation of what it
    measures must make it fail (tests/test_checks_bite.py runs each one)."""
    perturbed = {
        p.get("fails")
        for path in NOTEBOOKS
        for p in nbformat.read(path, as_version=4).metadata.get(METADATA_KEY, {}).get("perturbations", [])
    }
    missing = [
        f"{r.notebook}: {r.id}" for r in collect_records() if r.decision is not None and r.id not in perturbed
    ]
    assert missing == [], f"rule-decided claims with no perturbation in their notebook's metadata: {missing}"


# -- margins declared before the runs ------------------------------------------------------------

#: Calls that start seeded training runs (the batched engine, the seed schedule).
SEEDED = re.compile(
    r"\b(fit_classifiers|StackedMLP\.from_modules|StackedMLP|Seeds|more_seeds|minibatch_orders)\("
)


def margin_problems(nb) -> list[str]:
    """Why a notebook's decision margins are not declared before its seeded runs (empty: they are).

    Every ``margin=`` of a decision must be a named constant (no number typed at the decision),
    assigned in a cell that comes before the first cell that runs seeded training: a top-level
    call of the batched engine or the seed schedule, or of a function of the notebook that
    (directly or through another) calls them."""
    code = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    bodies = {}
    for _, s in code:
        for m in re.finditer(r"^def (\w+)\(.*?(?=^\S|\Z)", s, re.M | re.S):
            bodies[m.group(1)] = m.group(0)
    trainers: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, body in bodies.items():
            if name not in trainers and (
                SEEDED.search(body) or any(re.search(rf"\b{t}\(", body) for t in trainers)
            ):
                trainers.add(name)
                grew = True
    calls = re.compile(SEEDED.pattern + (rf"|\b({'|'.join(sorted(trainers))})\(" if trainers else ""))
    first = None
    for i, s in code:
        blocks = [
            b for b in re.split(r"\n(?=[^\s)\]}])", s) if not b.startswith(("def ", "class ", "@", "#"))
        ]
        if any(calls.search(b) for b in blocks):
            first = i
            break
    problems = []
    for i, s in code:
        for m in re.finditer(r"margin=([^,)\n]+)", s):
            expr = m.group(1).strip()
            if re.fullmatch(r"[\d.eE+-]+", expr):
                problems.append(
                    f"cell {i}: margin={expr} is a number typed at the decision, not a declared constant"
                )
            for name in re.findall(r"\b[A-Z][A-Z0-9_]*\b", expr):
                where = next(
                    (
                        j
                        for j, t in code
                        if re.search(rf"^(?:[A-Z_][A-Z0-9_]*\s*,\s*)*{name}\b[^=\n]*=(?!=)", t, re.M)
                    ),
                    None,
                )
                if where is None:
                    problems.append(f"cell {i}: margin {name} is not assigned in any cell")
                elif first is not None and where > first:
                    problems.append(
                        f"cell {i}: margin {name} is declared in cell {where}, after the first seeded run (cell {first})"
                    )
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_margins_are_declared_before_the_seeded_runs(path):
    assert margin_problems(nbformat.read(path, as_version=4)) == []


def test_the_margin_check_catches_a_late_or_typed_margin():
    cell = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(
        cells=[
            cell("def run(n):\n    return fit_classifiers(stack, opt, x, y)"),
            cell("acc = run(20)"),
            cell("LATE_MARGIN = 0.01"),
            cell("d = mean_effect(acc, margin=LATE_MARGIN)\ne = mean_effect(acc, margin=0.5)"),
        ]
    )
    found = margin_problems(nb)
    assert any("LATE_MARGIN is declared in cell 2, after the first seeded run (cell 1)" in p for p in found)
    assert any("margin=0.5 is a number typed" in p for p in found)
    nb.cells.insert(0, nb.cells.pop(2))  # declared first: fine, apart from the typed number
    assert [p for p in margin_problems(nb) if "LATE_MARGIN" in p] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapters_end_with_their_generated_verdicts(path):
    """The last cell of a chapter with claims is the generated list of its verdicts (the
    ``claim-summary`` directive), so the chapter cannot end on a verdict its records do not hold."""
    nb = nbformat.read(path, as_version=4)
    if not any("claim(" in c.source for c in code_cells(nb)):
        pytest.skip("no claims")
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "```{claim-summary}" in last.source, (
        f"{path.name}: the last cell is not the generated list of verdicts (```{{claim-summary}}```)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_takeaway_cites_its_claims(path):
    """Each bullet under "What to take away" states a result, so it cites the claim behind it
    with {claim}`id` (the build renders the record's verdict there and fails on an unknown id)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "## What to take away" not in cell.source:
            continue
        section = cell.source.split("## What to take away", 1)[1]
        bullets = re.split(r"\n(?=\* )", "\n" + section.strip())[1:]
        uncited = [b.strip()[:70] for b in bullets if "{claim}`" not in b]
        assert not uncited, f"{path.name}: takeaways that cite no claim: {uncited}"
