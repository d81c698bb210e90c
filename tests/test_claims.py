"""The claim helper: checks run, failures stop the chapter, records carry the fields."""

import numpy as np
import pytest

from decaylab.claims import METADATA_KEY, ClaimCheckFailed, close, evaluate_claim, measured

ARGS = {"source": "000", "statement": "L2Decay equals the hand-written penalty.", "verdict": "holds"}


def test_passing_claim_returns_a_record_with_its_fields():
    record = evaluate_claim(
        "l2-equals-penalty", evidence=[close("deltas", [1.0, 2.0], [1.0, 2.0 + 1e-9], atol=1e-8)], **ARGS
    )
    meta = record.to_metadata()["claim"]
    assert meta["id"] == "l2-equals-penalty"
    assert meta["source"] == "000"
    assert meta["verdict"] == "holds"
    assert meta["evidence"] == [{"label": "deltas", "passed": True, "shown": "agree within atol=1e-08"}]


def test_a_failed_check_raises_with_the_claim_and_the_failed_check():
    evidence = [
        close("first", [1.0], [1.0], atol=1e-8),
        close("second", [1.0], [1.1], atol=1e-8),
    ]
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
    record = evaluate_claim("a-claim", evidence=[measured("loss lower", True, "0.1 < 0.2")], **ARGS)
    data, metadata = record._repr_mimebundle_()
    assert (
        "HOLDS" in data["text/html"]
        and "loss lower" in data["text/html"]
        and "0.1 &lt; 0.2" in data["text/html"]
    )
    assert data["text/plain"].startswith("[HOLDS] a-claim (post 000")
    assert metadata[METADATA_KEY]["claim"]["id"] == "a-claim"


def test_html_is_escaped():
    record = evaluate_claim(
        "a-claim", evidence=[measured("<b>x</b>", True)], **{**ARGS, "statement": "a < b"}
    )
    html = record.to_html()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a &lt; b" in html


def test_caveat_rules():
    ev = [measured("ok", True)]
    with pytest.raises(ValueError, match="caveat must be given"):
        evaluate_claim("c", evidence=ev, **{**ARGS, "verdict": "holds with a caveat"})
    with pytest.raises(ValueError, match="caveat must be None unless"):
        evaluate_claim("c", evidence=ev, caveat="but", **ARGS)
    record = evaluate_claim(
        "c", evidence=ev, caveat="only for SGD", **{**ARGS, "verdict": "holds with a caveat"}
    )
    assert "Caveat: only for SGD" in record.to_text()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"claim_id": "Bad Id"}, "claim_id must be lower-case words joined by hyphens"),
        ({"source": "004"}, "source must be one of '000', '001', '002', '003', 'book'"),
        ({"verdict": "mostly"}, "verdict must be one of 'holds', 'holds with a caveat', 'does not hold'"),
        ({"statement": " "}, "statement must be a non-empty string"),
        ({"evidence": []}, "evidence must be a non-empty list"),
    ],
)
def test_bad_arguments_are_named(changes, message):
    kwargs = {"claim_id": "ok", **ARGS, "evidence": [measured("ok", True)], **changes}
    claim_id = kwargs.pop("claim_id")
    with pytest.raises(ValueError, match=message):
        evaluate_claim(claim_id, **kwargs)


def test_measured_refuses_non_booleans_and_close_refuses_shape_mismatch():
    with pytest.raises(TypeError, match="condition must be True or False"):
        measured("x", 0.5)
    with pytest.raises(TypeError, match=r"reduce arrays with \.all"):
        measured("x", np.array([True, False]))
    assert measured("x", np.bool_(True)).passed
    with pytest.raises(ValueError, match="actual and desired must have the same shape"):
        close("x", [1.0, 2.0], [1.0], atol=0)
    with pytest.raises(ValueError, match="atol must be a number >= 0"):
        close("x", [1.0], [1.0], atol=-1)


def test_close_uses_rtol():
    assert close("x", [101.0], [100.0], atol=0, rtol=0.02).passed
    assert not close("x", [103.0], [100.0], atol=0, rtol=0.02).passed


def test_note_is_shown_and_stored():
    record = evaluate_claim("a-claim", evidence=[measured("ok", True)], note="only at this scale", **ARGS)
    assert "Note: only at this scale" in record.to_text()
    assert "<b>Note:</b> only at this scale" in record.to_html()
    assert record.to_metadata()["claim"]["extra"] == {"note": "only at this scale"}
