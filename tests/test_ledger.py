"""The claims ledger: every seed claim has a record, every post record has a seed claim,
and :func:`check_ledger` (the one place the records' consistency is checked) finds each
kind of problem."""

from dataclasses import replace

import pytest

from decaylab.claims import POSTS, ClaimRecord, Evidence
from decaylab.stats import mean_effect
from decaylab_book.editions import CHINESE, untranslated
from decaylab_book.files import collect_records, ignored_cells, notebooks, toleranced_cells
from decaylab_book.ledger import SEED_CLAIMS, check_ledger, evidence_summary
from decaylab_book.sphinx.common import ledger_texts


@pytest.fixture(scope="module")
def records():
    return collect_records()


def test_the_book_ledger_has_no_problems(records):
    assert check_ledger(records) == []


def test_every_post_has_seed_claims():
    assert {s.post for s in SEED_CLAIMS} == set(POSTS)


def test_records_are_read_back_as_claim_records(records):
    assert records and all(isinstance(r, ClaimRecord) and r.notebook for r in records)


def _synthetic() -> list[ClaimRecord]:
    """One passing record per seed claim (what a complete book stores)."""
    ids = dict.fromkeys(s.checked_by for s in SEED_CLAIMS)
    posts = {s.checked_by: s.post for s in SEED_CLAIMS}
    ok = (Evidence("measured", True, "1 < 2"),)
    return [ClaimRecord(i, posts[i], "statement", "holds", ok, notebook="nb") for i in ids]


def test_the_book_s_claims_are_all_translated(records):
    assert untranslated(records, ledger_texts()) == []


def test_an_untranslated_record_is_reported():
    rec = ClaimRecord(
        "a",
        "book",
        "statement nobody translated",
        "holds",
        (Evidence("measured nowhere", True, "1 < 2"),),
        notebook="nb",
    )
    problems = "\n".join(untranslated([rec], []))
    assert "record 'a' (nb) has no Chinese for: 'statement nobody translated'; 'measured nowhere'" in problems
    assert CHINESE.missing(rec) == ["statement nobody translated", "measured nowhere"]


def test_a_complete_synthetic_ledger_is_clean():
    assert check_ledger(_synthetic()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rs: rs[1:], f"has no record {SEED_CLAIMS[0].checked_by!r}"),
        (lambda rs: [*rs, rs[0]], "is recorded twice"),
        (lambda rs: [replace(rs[0], evidence=()), *rs[1:]], "has no check"),
        (lambda rs: [replace(rs[0], evidence=(Evidence("x", False),)), *rs[1:]], "stores a failed check"),
        (lambda rs: [replace(rs[0], verdict="mostly"), *rs[1:]], "unknown verdict 'mostly'"),
        (lambda rs: [replace(rs[0], source="blog"), *rs[1:]], "unknown source 'blog'"),
        (lambda rs: [replace(rs[0], caveat="c"), *rs[1:]], "a caveat goes with 'holds with a caveat'"),
        (lambda rs: [replace(rs[0], verdict="holds with a caveat"), *rs[1:]], "a caveat goes with"),
        (lambda rs: [replace(rs[0], statement=" "), *rs[1:]], "has an empty statement"),
        (
            lambda rs: [
                *rs,
                ClaimRecord("orphan", "001", "s", "holds", (Evidence("x", True),), notebook="nb"),
            ],
            "record 'orphan' (nb) comes from post 001 but no entry of SEED_CLAIMS points to it",
        ),
        (
            lambda rs: [replace(rs[0], source="002" if rs[0].source != "002" else "003"), *rs[1:]],
            "a claim of",
        ),
        (
            lambda rs: (
                [
                    replace(
                        rs[0],
                        verdict="does not hold",
                        decision=mean_effect([0.3, 0.5] * 10, quantity="q", margin=0.1),
                    ),
                    *rs[1:],
                ]
            ),
            "says 'does not hold' but its rule gave 'holds'",
        ),
    ],
)
def test_check_ledger_reports_each_problem(change, message):
    problems = "\n".join(check_ledger(change(_synthetic())))
    assert message in problems


def test_book_records_may_check_seed_claims():
    records = _synthetic()
    records[0] = replace(records[0], source="book")
    assert check_ledger(records) == []


def test_evidence_summary_is_short():
    ev = tuple(Evidence(f"check {i}", True, f"{i} < 9") for i in range(5))
    rec = ClaimRecord("a", "book", "s", "holds", ev)
    assert evidence_summary(rec) == "check 0 (0 < 9); check 1 (1 < 9); and 3 more checks"
    decided = replace(rec, evidence=(), decision=mean_effect([0.3, 0.5] * 10, quantity="q", margin=0.1))
    assert evidence_summary(decided).startswith("holds by its rule (mean +0.400")


def _mini_book(root, nb):
    """A book in ``root``: a table of contents and one chapter (``book/chapter.ipynb``)."""
    import nbformat

    (root / "book").mkdir()
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/chapter\n")
    nbformat.write(nb, root / "book" / "chapter.ipynb")
    nbformat.write(nb, root / "book" / "not_in_the_toc.ipynb")


def test_the_notebook_list_comes_from_the_table_of_contents(tmp_path):
    import nbformat

    with pytest.raises(ValueError, match="root must be the book's folder, holding _toc"):
        notebooks(tmp_path / "nope")
    with pytest.raises(ValueError, match="root must be the book's folder, holding _toc"):
        collect_records(tmp_path / "nope")
    _mini_book(tmp_path, nbformat.v4.new_notebook())
    assert notebooks(tmp_path) == [tmp_path / "book" / "chapter.ipynb"]


def test_an_unreadable_record_names_its_notebook(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/plain": "x"}, metadata={"decaylab": {"claim": {"id": "x"}}}
        )
    ]
    nb.cells = [cell]
    _mini_book(tmp_path, nb)
    with pytest.raises(ValueError, match="chapter: a stored claim record cannot be read"):
        collect_records(tmp_path)


def test_toleranced_and_ignored_cells_are_read_with_their_code_cell_numbers(tmp_path):
    import nbformat

    spec = {"units": 4, "spread": 2, "why": "rounding", "lines": {"row": {"units": 8, "spread": 4}}}
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# T"),
            nbformat.v4.new_code_cell("# setup\nx = 1"),
            nbformat.v4.new_code_cell("print(x)", metadata={"decaylab": {"tolerance": spec}}),
            nbformat.v4.new_code_cell("y", metadata={"tags": ["nbval-ignore-output"]}),
        ]
    )
    _mini_book(tmp_path, nb)
    (cell,) = toleranced_cells(tmp_path)
    assert (cell.notebook, cell.code_cell, cell.first_line, cell.units, cell.spread) == (
        "chapter",
        2,
        "print(x)",
        4,
        2,
    )
    assert cell.lines == spec["lines"] and cell.why == "rounding"
    (ignored,) = ignored_cells(tmp_path)
    assert (ignored.code_cell, ignored.first_line, ignored.reason) == (3, "y", "")
