"""The output comparer (decaylab_book.meaning): what it lets through and what it catches."""

import copy

import nbformat
import pytest

from decaylab_book.meaning import (
    Tolerance,
    compare_cell,
    compare_notebooks,
    compare_record,
    compare_text,
    split,
    unit,
)

TOL = Tolerance(units=5)


def test_split_keeps_signs_but_not_hyphens():
    between, numbers = split("mean -0.001, CI [-0.007, +0.005] for a 1-100-100-1 net")
    assert numbers == ["-0.001", "-0.007", "+0.005", "1", "100", "100", "1"]
    assert between[0] == "mean" and "net" in between[-1]


@pytest.mark.parametrize(
    ("stored", "fresh", "tolerance", "same"),
    [
        ("SGDW best 45.6%", "SGDW best 45.6%", None, True),
        ("SGDW best 45.6%", "SGDW best 45.0%", None, False),  # exact by default
        ("SGDW best 45.6%", "SGDW best 45.2%", TOL, True),
        ("SGDW best 45.6%", "SGDW best 45.0%", TOL, False),  # beyond the tolerance
        ("SGDW best 45.6%", "AdamW best 45.6%", TOL, False),  # words are exact
        ("holds", "does not hold", TOL, False),
        ("over 20 seeds", "over 21 seeds", TOL, False),  # counts are exact
        ("mean  9.9", "mean 10.1", TOL, True),  # padding moves when a number gains a digit
        ("a 1 b", "a 1 b 2", TOL, False),
        ("[-0.2, +0.1]", "[+0.1, +0.3]", TOL, True),  # a sign is part of the number
    ],
)
def test_compare_text(stored, fresh, tolerance, same):
    assert (compare_text(stored, fresh, tolerance) is None) is same


def test_integers_only_within_a_tolerance_that_says_so():
    assert compare_text("10 epochs", "11 epochs", Tolerance(units=2, integers=True)) is None
    assert compare_text("10 epochs", "13 epochs", Tolerance(units=2, integers=True)) is not None


@pytest.mark.parametrize(
    ("token", "size"),
    [("45.6", 0.1), ("0.0004", 1e-4), ("2.5e-02", 1e-3), ("1e-3", 1e-3), ("20", 1), ("+0.13", 0.01)],
)
def test_unit_of_the_last_printed_digit(token, size):
    assert unit(token) == pytest.approx(size)


def test_units_of_the_last_digit_fit_numbers_of_every_scale():
    tol = Tolerance(units=3)
    assert compare_text("loss 2.2e-02, acc 0.957", "loss 2.5e-02, acc 0.954", tol) is None
    assert compare_text("loss 2.2e-02, acc 0.957", "loss 2.6e-02, acc 0.957", tol) is not None
    assert compare_text("loss 2.2e-02, acc 0.957", "loss 2.2e-02, acc 0.953", tol) is not None
    # a number printed with fewer digits counts in its own, larger units
    assert compare_text("mean 45.6", "mean 45.35", tol) is None


def cell(outputs, tolerance=None, tags=()):
    meta = {"tags": list(tags)}
    if tolerance is not None:
        meta["decaylab"] = {"tolerance": tolerance}
    return nbformat.v4.new_code_cell("x", outputs=outputs, metadata=meta, execution_count=1)


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def record(verdict="holds", estimate=0.4, low=0.3, high=0.5, shown="0.41 < 0.5", n=20):
    return {
        "claim": {
            "id": "c",
            "source": "book",
            "statement": "s",
            "verdict": verdict,
            "evidence": [{"label": "a check", "passed": True, "shown": shown}],
            "caveat": None,
            "note": None,
            "decision": {"quantity": "q", "rule": "r", "n": n, "estimate": estimate, "low": low,
                         "high": high, "margin": 0.1, "confidence": 0.95, "digits": 2, "outcome": verdict},
        }
    }  # fmt: skip


def box(rec):
    text = f"[{rec['claim']['verdict'].upper()}] mean {rec['claim']['decision']['estimate']:+.2f}"
    return nbformat.v4.new_output("display_data", data={"text/plain": text}, metadata={"decaylab": rec})


WHY = {"units": 5, "why": "means of 20 seeds"}


def test_claim_records_compared_by_field():
    stored = cell([box(record())], WHY)  # the decision prints 2 digits: 5 units are 0.05
    assert compare_cell(stored, cell([box(record(estimate=0.42, low=0.31, high=0.52))])) == []
    assert compare_cell(stored, cell([box(record(estimate=0.46))])), "beyond the tolerance"
    assert compare_cell(cell([box(record())]), cell([box(record(estimate=0.40000001))])), "exact without one"
    # the verdict is never compared within a tolerance
    problems = compare_record(
        record()["claim"], record(verdict="does not hold")["claim"], Tolerance(units=99)
    )
    assert any("verdict" in p for p in problems) and any("outcome" in p for p in problems)
    assert compare_record(record()["claim"], record(n=40)["claim"], Tolerance(units=99))
    assert compare_record(record()["claim"], record(shown="0.47 < 0.5")["claim"], Tolerance(units=10)) == []
    assert compare_record(record()["claim"], record(shown="0.41 > 0.5")["claim"], Tolerance(units=10))


def test_a_scheduled_decision_may_stop_at_another_count_of_seeds_with_the_same_outcome():
    def scheduled(**kw):
        rec = record(**kw)
        rec["claim"]["decision"]["schedule"] = [20, 40, 80]
        return rec["claim"]

    assert compare_record(scheduled(), scheduled(n=40, estimate=0.9, low=0.8, high=1.0), None) == []
    assert compare_record(scheduled(), scheduled(n=40, verdict="not settled at this scale"), None)
    assert compare_record(scheduled(), scheduled(n=30), None), "30 is not a count of the schedule"
    assert compare_record(scheduled(), scheduled(estimate=0.9), None), "the same count: numbers compared"


def test_an_ignored_cell_still_compares_its_claims():
    stored = cell([box(record())], tags=["nbval-ignore-output"])
    assert compare_cell(stored, cell([box(record())])) == []
    assert compare_cell(stored, cell([box(record(verdict="does not hold"))]))


def test_figures_are_not_compared_byte_for_byte_but_must_be_there():
    png = nbformat.v4.new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure>"})
    other = copy.deepcopy(png)
    other["data"]["image/png"] = "BBBB"
    assert compare_cell(cell([png]), cell([other])) == []
    text_only = nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"})
    assert compare_cell(cell([png]), cell([text_only]))


def test_an_error_is_reported_with_its_message():
    error = nbformat.v4.new_output("error", ename="ClaimCheckFailed", evalue="claim 'c' ...", traceback=[])
    assert compare_cell(cell([stream("a")]), cell([error])) == ["raised ClaimCheckFailed: claim 'c' ..."]


@pytest.mark.parametrize(
    "spec",
    [{"units": 1}, {"units": -1, "why": "w"}, {"units": 0, "why": "w"}, {"units": float("nan"), "why": "w"},
     {"units": True, "why": "w"}, {"units": 1, "why": "w", "typo": 1}, [0.1], {"why": "w"}],
)  # fmt: skip
def test_a_malformed_tolerance_is_refused(spec):
    with pytest.raises(ValueError, match="tolerance"):
        compare_cell(cell([stream("1.0")], spec), cell([stream("1.0")]))


def test_notebooks_compared_cell_by_cell():
    stored = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("m"), cell([stream("0.1")])])
    fresh = copy.deepcopy(stored)
    assert compare_notebooks(stored, fresh) == []
    fresh.cells[1].outputs[0]["text"] = "0.2"
    assert compare_notebooks(stored, fresh) == [
        "cell 1: stream:stdout: number 0.1 is now 0.2 (this cell declares no tolerance: numbers are exact)"
    ]
    fresh.cells[1].source = "y"
    assert compare_notebooks(stored, fresh) == [
        "the code cells differ: the fresh run is not of this notebook"
    ]


def test_a_line_of_its_own_gets_its_own_tolerance():
    spec = {"units": 2, "why": "w", "lines": {"SGD 0.5, constant": {"units": 50, "spread": 25}}}
    stored = cell([stream("SGD 0.5, constant 0.957\nSGD 0.1, constant 0.971\n")], spec)
    ok = cell([stream("SGD 0.5, constant 0.936\nSGD 0.1, constant 0.970\n")])
    assert compare_cell(stored, ok) == []
    too_far = cell([stream("SGD 0.5, constant 0.957\nSGD 0.1, constant 0.966\n")])
    assert compare_cell(stored, too_far), "the stable row keeps its narrow tolerance"
    with pytest.raises(ValueError, match="'lines' must map"):
        compare_cell(
            cell([stream("1.0")], {"units": 2, "why": "w", "lines": {"x": 5}}), cell([stream("1.0")])
        )


def test_addresses_and_timestamps_are_masked():
    assert compare_text("<obj at 0x7f3a9c1b2d40>", "<obj at 0x7f3a9c1b9999>", None) is None
    assert compare_text("at 2026-12-06 10:00:01,123", "at 2026-12-07 11:00:02,456", None) is None
    assert compare_text("<obj at 0x7f3a9c1b2d40> 1", "<obj at 0x7f3a9c1b9999> 2", None) is not None


def test_glued_values_are_compared_too():
    glued = "application/papermill.record/text/plain"

    def glue(value):
        return nbformat.v4.new_output(
            "display_data", data={glued: value}, metadata={"scrapbook": {"name": "k", "mime_prefix": "x"}}
        )

    assert compare_cell(cell([glue("'0.064'")]), cell([glue("'0.064'")])) == []
    assert compare_cell(cell([glue("'0.064'")]), cell([glue("'0.065'")]))
    assert compare_cell(cell([glue("'0.064'")], WHY), cell([glue("'0.065'")])) == []


def test_a_print_split_into_two_stream_messages_is_the_same_print():
    assert compare_cell(cell([stream("a 1\nb 2\n")]), cell([stream("a 1\n"), stream("b 2\n")])) == []
    assert compare_cell(cell([stream("a 1\nb 2\n")]), cell([stream("a 1\n"), stream("b 3\n")]))
    err = nbformat.v4.new_output("stream", name="stderr", text="b 2\n")
    assert compare_cell(cell([stream("a 1\nb 2\n")]), cell([stream("a 1\n"), err]))
