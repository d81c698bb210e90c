"""The claims ledger: every claim of the four source posts, and the check that settles it.

:data:`SEED_CLAIMS` lists the claims the four posts make (paraphrased, in the book's
words), each with the id of the claim record that checks it. The records themselves live
in the notebooks' stored outputs: :func:`decaylab.claims.claim` writes each one, with its
verdict and evidence, as output metadata. :func:`collect_records` reads them back, and
the ledger page (the ``claims-ledger`` directive in ``book/_ext``) is built from both at
build time, so a verdict on the ledger is always the verdict the chapter printed.
:func:`check_ledger` lists what would make the ledger wrong; a test runs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .claims import METADATA_KEY, SOURCES, VERDICTS

__all__ = ["SEED_CLAIMS", "SeedClaim", "check_ledger", "collect_records", "evidence_summary"]


@dataclass(frozen=True)
class SeedClaim:
    """One claim made by a source post, and the id of the claim record that checks it."""

    post: str
    claim: str
    checked_by: str


SEED_CLAIMS: tuple[SeedClaim, ...] = (
    # post 000: PaddlePaddle, L2Decay and ParamAttr
    SeedClaim(
        "000",
        "Weight decay is L2 regularization: L2Decay(coeff) equals adding 0.5·coeff·Σw² to the loss.",
        "paddle-l2decay-equals-half-coeff-penalty",
    ),
    SeedClaim(
        "000",
        "Weight decay is not multiplying the weights by a number like 0.99999 at every step.",
        "multiply-picture-rejected",
    ),
    SeedClaim(
        "000",
        "Multiplying by 0.99999 at every step would decay the weights far too fast.",
        "multiply-picture-too-fast",
    ),
    SeedClaim(
        "000",
        "PyTorch works about the same way as Paddle (the same L2 convention).",
        "paddle-l2decay-half-coeff-convention",
    ),
    SeedClaim(
        "000",
        "A regularizer set with ParamAttr overrides the optimizer's weight_decay for that parameter.",
        "paddle-paramattr-overrides-optimizer",
    ),
    # post 001: weight decay and learning-rate decay
    SeedClaim(
        "001",
        "Weight decay is L2 regularization: the update becomes w − η·g − η·γ·w.",
        "torch-weight-decay-is-half-lambda-penalty",
    ),
    SeedClaim(
        "001",
        "With (near) zero gradients the weights decay exponentially: 0.99 per step, about 0.36 after 100 steps.",
        "decay-alone-exponential",
    ),
    SeedClaim(
        "001",
        "With weight decay some weights eventually become exactly zero, so the model has fewer parameters.",
        "weight-decay-makes-weights-zero",
    ),
    SeedClaim(
        "001",
        "The coefficient lies between 0 and 1; 0.01 or 0.001 is a safe default.",
        "decay-default-001-or-0001",
    ),
    SeedClaim("001", "Adding weight decay can make the model's accuracy drop.", "decay-can-lower-accuracy"),
    SeedClaim(
        "001",
        "With Adam, an L2 term in the loss no longer acts as weight decay; AdamW fixes it.",
        "adam-l2-is-not-decay",
    ),
    SeedClaim(
        "001",
        "PyTorch's Adam weight_decay is L2 regularization; AdamW is the decoupled method of the paper.",
        "torch-adam-weight-decay-is-l2",
    ),
    SeedClaim(
        "001",
        "Learning-rate decay lets the loss go down further instead of oscillating (ExponentialLR, ReduceLROnPlateau).",
        "lr-decay-lowers-loss",
    ),
    SeedClaim(
        "001", "Adam adapts its steps, but learning-rate decay still helps it.", "adam-benefits-from-lr-decay"
    ),
    SeedClaim("001", "With Adam, the learning rate bounds each parameter's step.", "adam-lr-bounds-step"),
    SeedClaim(
        "001",
        "Weight decay and learning-rate decay are two completely different things.",
        "two-different-things",
    ),
    # post 002: L1/L2 penalties on one layer in PyTorch
    SeedClaim(
        "002",
        "L2 is usually done with the optimizer's weight_decay (per layer possible), but weight_decay cannot do L1.",
        "weight-decay-cannot-express-l1",
    ),
    SeedClaim(
        "002",
        "TensorFlow's penalties are reduce_sum(abs(x)) for L1 and reduce_sum(square(x)) for L2.",
        "keras-l2-is-twice-torch",
    ),
    SeedClaim(
        "002",
        "Adding l1_weight·Σ|p| + l2_weight·Σp² over one layer's parameters to the loss regularizes that layer only.",
        "penalty-on-one-layer",
    ),
    # post 003: L2 regularization and overfitting in PyTorch
    SeedClaim(
        "003",
        "With C = C0 + λ/(2n)·Σw², each step rescales the weights by (1 − ηλ/n).",
        "l2-lambda-over-2n-factor",
    ),
    SeedClaim("003", "L2 regularization leaves the bias's learning rule unchanged.", "bias-not-decayed"),
    SeedClaim("003", "The coefficient λ takes values in (0, 1).", "lambda-between-0-and-1"),
    SeedClaim(
        "003",
        "Without weight decay the 1-100-100-100-1 net overfits the 10 points; with weight_decay=1e-2 it does better.",
        "overfitting-reproduced",
    ),
)


def collect_records(book_dir: str | Path) -> list[dict]:
    """Every claim record stored in the notebooks under ``book_dir``, in file order.

    Each record is the dict stored by :func:`decaylab.claims.claim` plus ``"notebook"``:
    the notebook's path relative to ``book_dir``, without the ``.ipynb`` suffix.
    """
    book_dir = Path(book_dir)
    if not book_dir.is_dir():
        raise ValueError(f"book_dir must be an existing folder holding the notebooks; got {str(book_dir)!r}")
    records = []
    for path in sorted(book_dir.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get(METADATA_KEY)
                if meta and "claim" in meta:
                    records.append(
                        {**meta["claim"], "notebook": path.relative_to(book_dir).with_suffix("").as_posix()}
                    )
    return records


def evidence_summary(record: dict, limit: int = 2) -> str:
    """The measured evidence in a few words: the first checks, with their shown values."""
    parts = [e["label"] + (f" ({e['shown']})" if e.get("shown") else "") for e in record["evidence"][:limit]]
    more = len(record["evidence"]) - limit
    return "; ".join(parts) + (f"; and {more} more check{'s' if more > 1 else ''}" if more > 0 else "")


def check_ledger(records: list[dict]) -> list[str]:
    """What would make the ledger wrong: a seed claim with no record, a record with no check, ..."""
    problems = []
    by_id: dict[str, dict] = {}
    for rec in records:
        if rec["id"] in by_id:
            problems.append(
                f"claim id {rec['id']!r} is recorded twice ({by_id[rec['id']]['notebook']}, {rec['notebook']})"
            )
        by_id[rec["id"]] = rec
        if not rec.get("evidence"):
            problems.append(f"record {rec['id']!r} has no check")
        elif not all(e.get("passed") for e in rec["evidence"]):
            problems.append(f"record {rec['id']!r} stores a failed check")
        if rec.get("verdict") not in VERDICTS:
            problems.append(f"record {rec['id']!r} has an unknown verdict {rec.get('verdict')!r}")
        if rec.get("source") not in SOURCES:
            problems.append(f"record {rec['id']!r} has an unknown source {rec.get('source')!r}")
    for seed in SEED_CLAIMS:
        rec = by_id.get(seed.checked_by)
        if rec is None:
            problems.append(
                f"seed claim of post {seed.post} ({seed.claim!r}) has no record {seed.checked_by!r}"
            )
    posts = {s.post for s in SEED_CLAIMS}
    missing_posts = sorted(set(SOURCES) - {"book"} - posts)
    if missing_posts:
        problems.append(f"posts with no seed claim in the ledger: {missing_posts}")
    return problems
