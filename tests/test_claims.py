"""The claim helper: checks run, failures stop the chapter, records carry the fields.

The evidence helpers are what every "agree within" and "lower than" in the book rests on,
so they are tested against the ways a comparison can go wrong: partial mismatches, NaN,
infinities, empty inputs.
"""

import math

import numpy as np
import pytest

from decaylab.claims import (
    METADATA_KEY,
    SOURCES,
    VERDICT_SLUGS,
    VERDICTS,
    ClaimCheckFailed,
    ClaimRecord,
    Evidence,
    close,
    compare,
    evaluate_claim,
    measured,
    within,
)
from decaylab.stats import mean_effect, paired_difference

ARGS = {"source": "000", "statement": "L2Decay equals the hand-written penalty.", "verdict": "holds"}


def test_passing_claim_returns_a_record_with_its_fields():
    record = evaluate_claim(
        "l2-equals-penalty", evidence=[close("deltas", [1.0, 2.0], [1.0, 2.0 + 1e-9], atol=1e-8)], **ARGS
    )
    meta = record.to_metadata()["claim"]
    assert meta["id"] == "l2-equals-penalty"
    assert meta["source"] == "000"
    assert meta["verdict"] == "holds"
    assert meta["evidence"] == [
        {
            "label": "deltas",
            "passed": True,
            "shown": "agree within atol=1e-08",
        }
    ]
    assert meta["note"] is None and meta["decision"] is None and "notebook" not in meta


def test_record_round_trips_through_metadata():
    decision = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="gain", margin=0.1)
    record = evaluate_claim(
        "a-claim", evidence=[compare("x", 1.0, "<", 2.0)], note="n", decision=decision, **ARGS
    )
    back = ClaimRecord.from_metadata(record.to_metadata(), notebook="chapter")
    assert back.notebook == "chapter"
    assert back.with_notebook(None) == record
    assert back.decision == decision


def test_a_failed_check_raises_with_the_claim_and_the_failed_check():
    evidence = [close("first", [1.0], [1.0], atol=1e-8), close("second", [1.0], [1.1], atol=1e-8)]
    with pytest.raises(
        ClaimCheckFailed, match=r"'l2-equals-penalty'.*1 of its 2 checks failed:\n  ✗ second: differ"
    ):
        evaluate_claim("l2-equals-penalty", evidence=evidence, **ARGS)


def test_claim_check_failed_is_an_assertion_error():
    assert issubclass(ClaimCheckFailed, AssertionError)


def test_does_not_hold_needs_positive_evidence_too():
    with pytest.raises(ClaimCheckFailed):
        evaluate_claim(
            "picture-wrong",
            source="000",
            statement="x",
            verdict="does not hold",
            evidence=[measured("the measurement contradicts the claim", False)],
        )


def test_mimebundle_has_html_text_and_metadata():
    record = evaluate_claim("a-claim", evidence=[compare("loss lower", 0.1, "<", 0.2)], **ARGS)
    data, metadata = record._repr_mimebundle_()
    assert "HOLDS" in data["text/html"] and "loss lower" in data["text/html"]
    assert "0.1 &lt; 0.2" in data["text/html"]
    assert data["text/plain"].startswith("[HOLDS] a-claim (post 000")
    assert metadata[METADATA_KEY]["claim"]["id"] == "a-claim"


def test_box_is_styled_by_classes_not_inline_colours():
    for verdict in VERDICTS:
        extra = {"caveat": "c"} if verdict == "holds with a caveat" else {}
        rec = evaluate_claim(
            "a-claim", evidence=[measured("ok", True)], **{**ARGS, "verdict": verdict}, **extra
        )
        html = rec.to_html()
        assert f"decaylab-verdict-{VERDICT_SLUGS[verdict]}" in html
        assert "style=" not in html and "#" not in html.replace('id="claim-', "")


def test_html_is_escaped():
    record = evaluate_claim(
        "a-claim", evidence=[measured("<b>x</b>", True)], **{**ARGS, "statement": "a < b"}
    )
    html = record.to_html()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a &lt; b" in html


def test_caveat_rules():
    ev = [measured("ok", True)]
    with pytest.raises(ValueError, match="caveat must be a non-empty string when verdict is"):
        evaluate_claim("c", evidence=ev, **{**ARGS, "verdict": "holds with a caveat"})
    with pytest.raises(ValueError, match="caveat must be None unless"):
        evaluate_claim("c", evidence=ev, caveat="but", **ARGS)
    record = evaluate_claim(
        "c", evidence=ev, caveat="only for SGD", **{**ARGS, "verdict": "holds with a caveat"}
    )
    assert "Caveat: only for SGD" in record.to_text()


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"claim_id": "Bad Id"}, ValueError, "claim_id must be lower-case words joined by hyphens"),
        ({"source": "004"}, ValueError, "source must be one of '000', '001', '002', '003', 'd2l'"),
        ({"source": 3}, TypeError, "source must be a string"),
        ({"verdict": "mostly"}, ValueError, "verdict must be one of 'holds', 'holds with a caveat'"),
        ({"statement": " "}, ValueError, "statement must be a non-empty string"),
        ({"statement": None}, TypeError, "statement must be a non-empty string"),
        ({"evidence": []}, ValueError, "evidence must hold at least one check"),
        ({"evidence": measured("ok", True)}, TypeError, "evidence must be a list of checks"),
        ({"evidence": ["ok"]}, TypeError, "every evidence item must come from close"),
        ({"note": ""}, ValueError, "note must be None or a non-empty string"),
        ({"decision": 0.5}, TypeError, "decision must be None or made by decaylab.stats"),
    ],
)
def test_bad_arguments_are_named(changes, error, message):
    kwargs = {"claim_id": "ok", **ARGS, "evidence": [measured("ok", True)], **changes}
    claim_id = kwargs.pop("claim_id")
    with pytest.raises(error, match=message):
        evaluate_claim(claim_id, **kwargs)


def test_every_source_is_accepted():
    for source in SOURCES:
        assert (
            evaluate_claim("ok", evidence=[measured("ok", True)], **{**ARGS, "source": source}).source
            == source
        )


# --- close(): every element must agree, and only finite numbers agree -----------------------


def test_close_fails_when_only_some_elements_agree():
    ev = close("x", [1.0, 2.0, 3.0], [1.0, 2.0, 3.5], atol=1e-3)
    assert not ev.passed
    assert ev.shown.startswith("differ: 1 of 3 exceed atol=0.001")


@pytest.mark.parametrize(
    ("actual", "desired"),
    [
        ([np.nan], [1.0]),
        ([1.0], [np.nan]),
        ([np.nan], [np.nan]),
        ([np.inf], [np.inf]),
        ([1.0, np.inf], [1.0, 1.0]),
        ([-np.inf], [1.0]),
    ],
)
def test_close_fails_on_non_finite_values(actual, desired):
    ev = close("x", actual, desired, atol=1e9, rtol=1.0)
    assert not ev.passed
    assert "non-finite" in ev.shown


def test_close_refuses_an_empty_comparison():
    with pytest.raises(ValueError, match="at least one number"):
        close("x", [], [], atol=1.0)


def test_close_tolerance_edges_and_rtol():
    assert close("x", [1.0 + 1e-3], [1.0], atol=1e-3 + 1e-12).passed
    assert not close("x", [1.0 + 2e-3], [1.0], atol=1e-3).passed
    assert close("x", [101.0], [100.0], atol=0, rtol=0.02).passed
    assert not close("x", [103.0], [100.0], atol=0, rtol=0.02).passed
    assert close("x", [-101.0], [-100.0], atol=0, rtol=0.02).passed  # |desired| in the rtol term
    assert close("x", 2.0, 2.0, atol=0).passed  # scalars, and atol=0 with equal values


def test_close_arguments():
    with pytest.raises(ValueError, match="actual and desired must have the same shape"):
        close("x", [1.0, 2.0], [1.0], atol=0)
    with pytest.raises(ValueError, match="atol must be >= 0"):
        close("x", [1.0], [1.0], atol=-1)
    with pytest.raises(ValueError, match="rtol must be finite"):
        close("x", [1.0], [1.0], atol=0, rtol=math.inf)
    with pytest.raises(TypeError, match="atol must be a real number"):
        close("x", [1.0], [1.0], atol="0")
    with pytest.raises(TypeError, match="actual and desired must be arrays of real numbers"):
        close("x", ["a"], [1.0], atol=0)
    with pytest.raises(ValueError, match="label must be a non-empty string"):
        close(" ", [1.0], [1.0], atol=0)
    assert close("x", [1.0], [1.0], atol=np.float32(1e-6)).passed  # NumPy scalars accepted


# --- compare() and within(): shown text formatted from the values ------------------------------


@pytest.mark.parametrize(
    ("left", "op", "right", "passed"),
    [
        (1.0, "<", 2.0, True),
        (2.0, "<", 2.0, False),
        (2.0, "<=", 2.0, True),
        (3.0, "<=", 2.0, False),
        (3.0, ">", 2.0, True),
        (2.0, ">", 2.0, False),
        (2.0, ">=", 2.0, True),
        (1.0, ">=", 2.0, False),
    ],
)
def test_compare_operators(left, op, right, passed):
    assert compare("x", left, op, right).passed is passed


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_compare_fails_on_non_finite_values(bad):
    assert not compare("x", bad, "<", 1.0).passed
    assert not compare("x", 1.0, ">", bad).passed
    assert not compare("x", bad, ">=", bad).passed


def test_compare_shows_the_values_it_compared():
    assert compare("x", 0.123456, "<", 0.2, digits=3).shown == "0.123 < 0.2"
    assert compare("x", np.float32(2.5), ">=", np.int64(2)).shown == "2.5 >= 2"
    assert compare("x", np.array(0.5), "<", 1).shown == "0.5 < 1"
    assert compare("x", math.nan, "<", 1).shown == "nan < 1"


def test_compare_arguments():
    with pytest.raises(ValueError, match="op must be one of '<', '<=', '>', '>='"):
        compare("x", 1, "==", 1)
    with pytest.raises(TypeError, match="left must be a real number"):
        compare("x", "1", "<", 2)
    with pytest.raises(TypeError, match="right must be a real number"):
        compare("x", 1, "<", True)
    with pytest.raises(TypeError, match="left must be a real number"):
        compare("x", np.array([1.0, 2.0]), "<", 3)
    with pytest.raises(TypeError, match="digits must be a whole number"):
        compare("x", 1, "<", 2, digits=2.5)


def test_within():
    assert within("x", 0.5, 0.0, 1.0).passed
    assert within("x", 1.0, 0.0, 1.0).passed and within("x", 0.0, 0.0, 1.0).passed
    assert not within("x", 1.5, 0.0, 1.0).passed and not within("x", -0.1, 0.0, 1.0).passed
    assert not within("x", math.nan, 0.0, 1.0).passed
    assert within("x", 0.25, 0, 1, digits=2).shown == "0 ≤ 0.25 ≤ 1"
    with pytest.raises(ValueError, match="low must be <= high"):
        within("x", 0.5, 1.0, 0.0)


def test_measured_refuses_non_booleans():
    with pytest.raises(TypeError, match="condition must be True or False"):
        measured("x", 0.5)
    with pytest.raises(TypeError, match=r"reduce arrays with \.all"):
        measured("x", np.array([True, False]))
    with pytest.raises(TypeError, match="shown must be a string"):
        measured("x", True, 0.5)
    assert measured("x", np.bool_(True)).passed
    assert not measured("x", np.array([False])).passed


# --- decisions ---------------------------------------------------------------------------------


def test_decision_must_allow_the_stated_verdict():
    holds = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="gain", margin=0.1)
    assert holds.outcome == "holds"
    evaluate_claim("a", decision=holds, **ARGS)  # evidence may be left out when a decision is given
    evaluate_claim("a", decision=holds, caveat="c", **{**ARGS, "verdict": "holds with a caveat"})
    with pytest.raises(ClaimCheckFailed, match=r"decision rule: .* gives 'holds', not 'does not hold'"):
        evaluate_claim("a", decision=holds, **{**ARGS, "verdict": "does not hold"})
    unsettled = mean_effect([-1.0, 1.0] * 10, quantity="gain", margin=0.1)
    assert unsettled.outcome == "not settled at this scale"
    with pytest.raises(ClaimCheckFailed):
        evaluate_claim("a", decision=unsettled, **ARGS)
    record = evaluate_claim("a", decision=unsettled, **{**ARGS, "verdict": "not settled at this scale"})
    text = record.to_text()
    assert "Rule: 95% t-interval" in text and "over 20 seeds" in text
    assert "decaylab-claim-rule" in record.to_html()


def test_decision_with_a_failed_check_still_fails():
    holds = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="gain", margin=0.1)
    with pytest.raises(ClaimCheckFailed, match="1 of its 2 checks failed"):
        evaluate_claim("a", decision=holds, evidence=[measured("x", False)], **ARGS)


def test_paired_difference_is_the_rule_on_differences():
    a = np.linspace(1.0, 2.0, 20)
    d = paired_difference(a, a - 0.5, quantity="q", margin=0.1)
    assert d.outcome == "holds" and d.estimate == pytest.approx(0.5) and d.low == pytest.approx(0.5)


def test_within_arguments():
    with pytest.raises(ValueError, match="label must be a non-empty string"):
        within("", 0.5, 0, 1)
    assert within("the label", 0.5, 0, 1).label == "the label"
    for bad in (0, 18):
        with pytest.raises(ValueError, match="digits must be"):
            within("x", 0.5, 0, 1, digits=bad)
    with pytest.raises(TypeError, match="digits must be a whole number"):
        within("x", 0.5, 0, 1, digits=2.0)
    with pytest.raises(TypeError, match="value must be a real number"):
        within("x", "0.5", 0, 1)
    with pytest.raises(TypeError, match="low must be a real number"):
        within("x", 0.5, None, 1)
    with pytest.raises(TypeError, match="high must be a real number"):
        within("x", 0.5, 0, "1")
    assert within("x", 1 / 3, 0, 1, digits=17).shown == f"0 ≤ {1 / 3:.17g} ≤ 1"


def test_compare_digits_range_and_label():
    for bad in (0, 18):
        with pytest.raises(ValueError, match="digits must be"):
            compare("x", 1, "<", 2, digits=bad)
    assert compare("the label", 1, "<", 2).label == "the label"
    assert compare("x", 1 / 3, "<", 1, digits=17).shown == f"{1 / 3:.17g} < 1"


def test_claim_displays_a_passing_claim_and_stops_at_a_failing_one(capsys):
    from decaylab.claims import claim

    assert claim("a-claim", evidence=[compare("lower", 1, "<", 2)], **ARGS) is None
    assert "a-claim" in capsys.readouterr().out
    with pytest.raises(ClaimCheckFailed, match="'a-claim'"):
        claim("a-claim", evidence=[compare("lower", 3, "<", 2)], **ARGS)


# --- added for mutation testing (issue 10, section 6): each test pins down a behaviour that a
# surviving mutant of decaylab.claims changed without any other test noticing ---------------------


def test_close_shows_the_number_of_non_finite_pairs():
    ev = close("x", [math.nan, 1.0, 2.0], [math.nan, math.inf, 2.0], atol=1.0)
    assert ev.shown == "differ: 2 non-finite value(s)"


def test_close_shows_how_many_elements_differ_and_by_how_much():
    ev = close("x", [1.0, 2.0, 3.0], [1.0, 2.25, 3.5], atol=0.1, rtol=0.01)
    assert ev.shown == "differ: 2 of 3 exceed atol=0.1, rtol=0.01 (max |difference| = 0.5)"


def test_close_shows_rtol_when_it_is_used():
    assert close("x", [101.0], [100.0], atol=0, rtol=0.02).shown == "agree within atol=0, rtol=0.02"
    assert close("x", [1.0], [1.0], atol=0.5).shown == "agree within atol=0.5"


def test_close_refuses_a_negative_rtol():
    with pytest.raises(ValueError, match=r"^rtol must be >= 0.0; got -0.1$"):
        close("x", [1.0], [1.0], atol=0, rtol=-0.1)


def test_close_converts_both_arrays_to_numbers_and_names_them():
    with pytest.raises(TypeError, match=r"^actual and desired must be arrays of real numbers$"):
        close("x", [1.0], ["a"], atol=0)
    with pytest.raises(TypeError, match=r"^actual and desired must be arrays of real numbers$"):
        close("x", ["a"], [1.0], atol=0)
    with pytest.raises(ValueError, match=r"^actual and desired must hold at least one number \("):
        close("x", np.zeros((0, 2)), np.zeros((0, 2)), atol=1.0)


def test_close_emits_no_numpy_warning_on_non_finite_values():
    # a RuntimeWarning would print to stderr in a notebook's stored output
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not close("x", [math.inf, math.nan], [math.inf, 1.0], atol=1.0).passed


def test_compare_and_within_default_and_smallest_digits():
    assert compare("x", 1 / 3, "<", 1).shown == "0.3333 < 1"
    assert within("x", 1 / 3, 0, 1).shown == "0 ≤ 0.3333 ≤ 1"
    assert compare("x", 0.25, "<", 1, digits=1).shown == "0.2 < 1"
    assert within("x", 0.25, 0, 1, digits=1).shown == "0 ≤ 0.2 ≤ 1"


def test_within_accepts_a_degenerate_range():
    assert within("x", 0.5, 0.5, 0.5).passed
    assert not within("x", 0.6, 0.5, 0.5).passed


def test_number_errors_name_the_type_received():
    with pytest.raises(TypeError, match=r"^left must be a real number; got str '1'$"):
        compare("x", "1", "<", 2)


def test_measured_shown_and_messages():
    assert measured("x", True).shown == ""
    assert measured("x", True, f"{3} zeros").shown == "3 zeros"
    with pytest.raises(TypeError, match=r"^shown must be a string \(the measurement, rounded\); got float$"):
        measured("x", True, 0.5)
    with pytest.raises(
        TypeError,
        match=r"^condition must be a single truth value; reduce arrays with \.all\(\) or \.any\(\) first$",
    ):
        measured("x", np.array([True, False]))
    with pytest.raises(ValueError, match=r"^label must be a non-empty string saying what was checked"):
        measured(" ", True)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"statement": ""},
            ValueError,
            r"^statement must be a non-empty string: the claim in one sentence; got an empty string$",
        ),
        (
            {"verdict": "holds with a caveat"},
            ValueError,
            r"^caveat must be a non-empty string when verdict is 'holds with a caveat'; got None$",
        ),
        (
            {"verdict": "holds with a caveat", "caveat": " "},
            ValueError,
            r"^caveat must be a non-empty string when verdict is 'holds with a caveat'; got an empty string$",
        ),
        (
            {"verdict": "holds with a caveat", "caveat": 3},
            TypeError,
            r"^caveat must be a non-empty string when verdict is 'holds with a caveat'; got int 3$",
        ),
        (
            {"decision": 0.5},
            TypeError,
            r"^decision must be None or made by decaylab.stats \(e.g. paired_difference\); got float$",
        ),
        (
            {"evidence": measured("ok", True)},
            TypeError,
            r"^evidence must be a list of checks made with close\(\), compare\(\), within\(\) or measured\(\)$",
        ),
        (
            {"evidence": (e for e in [measured("ok", True)])},
            TypeError,
            r"^evidence must be a list of checks",
        ),
        (
            {"evidence": {measured("ok", True)}},
            TypeError,
            r"^evidence must be a list of checks",
        ),
        (
            {"evidence": []},
            ValueError,
            r"^evidence must hold at least one check \(or a decision must be given\)$",
        ),
        (
            {"evidence": ["ok"]},
            TypeError,
            r"^every evidence item must come from close\(\), compare\(\), within\(\) or measured\(\); got str$",
        ),
    ],
)
def test_argument_errors_are_worded_exactly(changes, error, message):
    kwargs = {**ARGS, "evidence": [measured("ok", True)], **changes}
    with pytest.raises(error, match=message):
        evaluate_claim("ok", **kwargs)


def test_record_without_decision_round_trips_and_takes_a_notebook():
    record = evaluate_claim("a-claim", evidence=[measured("ok", True)], **ARGS)
    meta = record.to_metadata()
    assert ClaimRecord.from_metadata(meta) == record
    del meta["claim"]["decision"]  # a record stored before decisions existed
    assert ClaimRecord.from_metadata(meta) == record
    assert record.with_notebook("chapter").notebook == "chapter"


def _full_record():
    decision = mean_effect([0.3, 0.5, 0.4, 0.6] * 5, quantity="gain", margin=0.1, digits=2)
    return evaluate_claim(
        "a-claim",
        source="001",
        statement="Decay helps.",
        verdict="holds with a caveat",
        evidence=[measured("plain", True), compare("lower", 1, "<", 2)],
        caveat="only with SGD",
        note="a note",
        decision=decision,
    )


def test_text_form_lists_every_field():
    text = _full_record().to_text()
    assert text.split("\n") == [
        "[HOLDS WITH A CAVEAT] a-claim (post 001 (weight decay and learning-rate decay))",
        "  Decay helps.",
        "  ✓ plain",
        "  ✓ lower: 1 < 2",
        f"  Rule: {_full_record().decision.rule}",
        "  Result: mean +0.45, 95% CI [+0.40, +0.50] over 20 seeds; margin 0.10 → holds",
        "  Caveat: only with SGD",
        "  Note: a note",
    ]


def test_html_box_holds_every_field_in_order():
    html = _full_record().to_html()
    assert (
        '<ul class="decaylab-claim-evidence"><li>✓ plain</li><li>✓ lower: <code>1 &lt; 2</code></li></ul>'
        in html
    )
    parts = ["decaylab-claim-rule", "decaylab-claim-result", "decaylab-claim-caveat", "decaylab-claim-note"]
    positions = [html.index(p) for p in parts]
    assert positions == sorted(positions)
    assert "<b>Note:</b> a note</p></div>" in html
    assert '<b>Caveat:</b> only with SGD</p><p class="decaylab-claim-note">' in html
    assert "HOLDS, WITH A CAVEAT" in html


def test_claim_prints_the_text_form_without_ipython(capsys, monkeypatch):
    import sys

    from decaylab.claims import claim

    monkeypatch.setitem(sys.modules, "IPython.display", None)  # `from IPython.display import` fails
    claim("a-claim", evidence=[compare("lower", 1, "<", 2)], **ARGS)
    assert (
        capsys.readouterr().out
        == evaluate_claim("a-claim", evidence=[compare("lower", 1, "<", 2)], **ARGS).to_text() + "\n"
    )


def test_failure_message_lists_each_failed_check_on_its_own_line():
    evidence = [measured("plain", False), compare("lower", 3, "<", 2), measured("fine", True)]
    with pytest.raises(ClaimCheckFailed) as info:
        evaluate_claim("a-claim", evidence=evidence, **ARGS)
    assert str(info.value) == (
        "claim 'a-claim' (post 000 (PaddlePaddle L2Decay and ParamAttr)) is stated as 'holds', "
        "but 2 of its 3 checks failed:\n"
        "  ✗ plain\n"
        "  ✗ lower: 3 < 2\n"
        "Statement: L2Decay equals the hand-written penalty."
    )


def test_html_box_adds_nothing_after_the_checks_when_there_is_nothing_to_add():
    html = evaluate_claim("a-claim", evidence=[measured("plain", True)], **ARGS).to_html()
    assert html.endswith('<ul class="decaylab-claim-evidence"><li>✓ plain</li></ul></div>')
    assert '</ul><p class="decaylab-claim-rule">' in _full_record().to_html()


def test_compare_and_within_with_decimals_print_a_near_zero_value_without_its_noise():
    assert compare("drop", -5.8e-05, "<", 0.01, decimals=3).shown == "-0.000 < 0.010"
    assert compare("drop", 2.9e-05, "<", 0.01, decimals=3).shown == "0.000 < 0.010"
    assert not compare("drop", 0.0101, "<", 0.01, decimals=3).passed  # decided on the value, not the print
    assert within("x", 0.5, 0, 1, decimals=1).shown == "0.0 ≤ 0.5 ≤ 1.0"
    for bad, error in ((-1, ValueError), (13, ValueError), (1.5, TypeError)):
        with pytest.raises(error, match="decimals must"):
            compare("x", 1, "<", 2, decimals=bad)
        with pytest.raises(error, match="decimals must"):
            within("x", 1, 0, 2, decimals=bad)


# -- added for mutation testing (issue 19): whole messages -------------------------------------------


def test_evidence_and_checks_name_their_arguments_in_full():
    with pytest.raises(TypeError, match=r"^passed must be True or False; got int 1$"):
        Evidence(label="a check", passed=1)
    with pytest.raises(TypeError, match=r"^shown must be a string \(the measurement, rounded\); got float$"):
        Evidence(label="a check", passed=True, shown=0.5)
    assert Evidence(label="a check", passed=np.bool_(True)).passed is True
    for args, name in (((None, [1.0]), "actual"), (([1.0], None), "desired")):
        with pytest.raises(TypeError, match=rf"^{name} must be an array of real numbers; got None$"):
            close("a check", *args, atol=0.1)
    assert compare("a check", 0.25, "<", 1.0, decimals=0).shown == "0 < 1"
    with pytest.raises(
        ValueError, match=r"^claim_id must be lower-case words joined by hyphens; got an empty string$"
    ):
        evaluate_claim("", evidence=[compare("x", 0.1, "<", 0.2)], **ARGS)
    with pytest.raises(TypeError, match=r"^claim_id must be lower-case words joined by hyphens; got int 3$"):
        evaluate_claim(3, evidence=[compare("x", 0.1, "<", 0.2)], **ARGS)
