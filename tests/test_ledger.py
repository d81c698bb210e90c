"""The claims ledger: every seed claim has a record, every record has a check."""

import pytest
from bookfiles import BOOK

from decaylab.claims import SOURCES
from decaylab.ledger import SEED_CLAIMS, check_ledger, collect_records, evidence_summary


@pytest.fixture(scope="module")
def records():
    return collect_records(BOOK)


def test_ledger_has_no_problems(records):
    assert check_ledger(records) == []


def test_every_post_has_seed_claims():
    assert {s.post for s in SEED_CLAIMS} == set(SOURCES) - {"book"}


def test_seed_claims_point_to_distinct_claims_of_their_post(records):
    by_id = {r["id"]: r for r in records}
    for seed in SEED_CLAIMS:
        rec = by_id[seed.checked_by]
        assert rec["source"] in (seed.post, "book"), f"{seed.checked_by} is checked for post {rec['source']}"


def test_check_ledger_reports_what_is_wrong(records):
    broken = [dict(r) for r in records if r["id"] != SEED_CLAIMS[0].checked_by]
    broken.append({**broken[0]})  # a duplicate
    broken.append({**broken[1], "id": "no-check", "evidence": []})
    problems = "\n".join(check_ledger(broken))
    assert f"has no record {SEED_CLAIMS[0].checked_by!r}" in problems
    assert "is recorded twice" in problems
    assert "record 'no-check' has no check" in problems


def test_evidence_summary_is_short(records):
    rec = next(r for r in records if len(r["evidence"]) > 3)
    text = evidence_summary(rec)
    assert text.endswith(f"and {len(rec['evidence']) - 2} more checks")


def test_collect_records_checks_its_argument(tmp_path):
    with pytest.raises(ValueError, match="book_dir must be an existing folder"):
        collect_records(tmp_path / "nope")
