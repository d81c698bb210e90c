"""The claims ledger: every claim of the four source posts, and the check that settles it.

:data:`SEED_CLAIMS` lists the claims the four posts make (paraphrased, in the book's
words), each with the id of the claim record that checks it. The records themselves live
in the notebooks' stored outputs: :func:`decaylab.claims.claim` writes each one, with its
verdict and evidence, as output metadata. :func:`decaylab_book.files.collect_records` reads them back, and
the ledger page (the ``claims-ledger`` directive of :mod:`decaylab_book.sphinx.pages`) is built from both at
build time, so a verdict on the ledger is always the verdict the chapter printed.
:func:`check_ledger` lists what would make the ledger wrong; a test runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from decaylab import _checks
from decaylab.claims import POSTS, SOURCES, ClaimRecord
from decaylab.verdicts import ALLOWED_BY_OUTCOME, BY_WORD, CAVEAT

__all__ = ["SEED_CLAIMS", "SeedClaim", "check_ledger", "evidence_summary"]


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
    SeedClaim(
        "000",
        "Regularization adds an L1 or L2 norm of the weights to the loss; for L1, L1Decay is that norm.",
        "paddle-l1decay-adds-coeff-sign",
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
    SeedClaim("001", "The coefficient lies between 0 and 1.", "decay-range-0-to-1"),
    SeedClaim("001", "If unsure, 0.01 or 0.001 is a safe default.", "decay-default-001-or-0001"),
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
        "001", "Adam adapts its steps (its effective learning rate) by itself.", "adam-adapts-its-steps"
    ),
    SeedClaim("001", "Even so, learning-rate decay still helps Adam.", "adam-benefits-from-lr-decay"),
    SeedClaim("001", "With Adam, the learning rate bounds each parameter's step.", "adam-lr-bounds-step"),
    SeedClaim(
        "001",
        "ExponentialLR multiplies the learning rate by a fixed factor; ReduceLROnPlateau lowers it when the metric stops improving.",
        "schedules-torch-paddle-agree",
    ),
    SeedClaim(
        "001", "Cyclical learning rates reduce the number of training epochs needed.", "clr-fewer-epochs"
    ),
    SeedClaim("001", "Cyclical learning rates avoid re-tuning the learning rate.", "clr-avoids-retuning"),
    SeedClaim(
        "001",
        "Weight decay and learning-rate decay are two completely different things.",
        "two-different-things",
    ),
    SeedClaim(
        "001",
        "Weight decay is there to prevent overfitting, learning-rate decay to fit the data better.",
        "decay-purposes",
    ),
    SeedClaim(
        "001",
        "Had weight decay been the same thing as learning-rate decay, it would only have made learning "
        "slower, not worse.",
        "lr-decay-only-slower",
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
    SeedClaim(
        "002",
        "An L1 penalty needs either a term in the loss or an extended (custom) optimizer.",
        "l1-needs-loss-or-custom-optimizer",
    ),
    SeedClaim(
        "002",
        "A penalty l2_weight·Σp² in the loss is an alternative to the optimizer's weight_decay.",
        "keras-l2-is-twice-weight-decay",
    ),
    SeedClaim(
        "002",
        "PyTorch layers take no regularizer argument as TensorFlow's do; per-layer L2 goes through the "
        "optimizer (parameter groups) or the loss.",
        "torch-layers-take-no-regularizer",
    ),
    SeedClaim(
        "002",
        "Regularization limits the model's complexity and helps avoid overfitting.",
        "mnist1d-decay-lowers-test-error",
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
        "L2 regularization is also called weight decay because the factor (1 − ηλ/n) rescales the weights.",
        "rescaling-explains-the-name",
    ),
    SeedClaim(
        "003", "Regularization makes the network prefer smaller weights.", "decay-prefers-smaller-weights"
    ),
    SeedClaim(
        "003",
        "Without weight decay the 1-100-100-100-1 net overfits the 10 points; with weight_decay=1e-2 it does better.",
        "overfitting-reproduced",
    ),
    SeedClaim(
        "003",
        "Without weight decay the model fits the test points badly: its robustness is poor.",
        "no-decay-less-robust",
    ),
)


def evidence_summary(record: ClaimRecord, limit: int = 2, *, edition=None) -> str:
    """The measured evidence in a few words: the decision (if any) and the first ``limit``
    checks, in the words of ``edition`` (:mod:`decaylab_book.editions`; English by default)."""
    from .editions import ENGLISH

    limit = _checks.integer("limit", limit, low=0)
    ed = edition or ENGLISH
    parts = []
    d = record.decision
    if d:
        parts.append(ed.by_rule(ed.concluded(d), ed.decision_shown(d)))
    parts += [
        ed.text(e.label) + (ed.paren(ed.shown(e.shown)) if e.shown else "") for e in record.evidence[:limit]
    ]
    more = len(record.evidence) - limit
    if more > 0:
        parts.append(ed.more_checks(more, after_others=bool(parts)))
    return ed.semicolon.join(parts)


def check_ledger(records: list[ClaimRecord]) -> list[str]:
    """Everything that would make the ledger wrong, as a list of messages (empty: all is well).

    The one place the records' consistency is checked (the Sphinx extension and the tests
    call it): ids are unique; every record has a check and stores only passed checks; its
    verdict, source and caveat fit together, and a decision rule's outcome allows its
    verdict; every seed claim has a record from its post (or the book); every record from a
    post is the check of some seed claim; every post has seed claims.
    """
    problems = []
    by_id: dict[str, ClaimRecord] = {}
    for rec in records:
        where = f"record {rec.id!r} ({rec.notebook})"
        if rec.id in by_id:
            problems.append(
                f"claim id {rec.id!r} is recorded twice ({by_id[rec.id].notebook}, {rec.notebook})"
            )
        by_id[rec.id] = rec
        if not rec.evidence and rec.decision is None:
            problems.append(f"{where} has no check")
        if not all(e.passed for e in rec.evidence):
            problems.append(f"{where} stores a failed check")
        if rec.verdict not in BY_WORD:
            problems.append(f"{where} has an unknown verdict {rec.verdict!r}")
        elif rec.decision and rec.verdict not in ALLOWED_BY_OUTCOME.get(rec.decision.outcome, ()):
            problems.append(f"{where} says {rec.verdict!r} but its rule gave {rec.decision.outcome!r}")
        if rec.source not in SOURCES:
            problems.append(f"{where} has an unknown source {rec.source!r}")
        if (rec.verdict == CAVEAT.word) != bool(rec.caveat):
            problems.append(f"{where}: a caveat goes with 'holds with a caveat' and only with it")
        if not rec.statement.strip():
            problems.append(f"{where} has an empty statement")
    checked = set()
    for seed in SEED_CLAIMS:
        rec = by_id.get(seed.checked_by)
        checked.add(seed.checked_by)
        if rec is None:
            problems.append(
                f"seed claim of post {seed.post} ({seed.claim!r}) has no record {seed.checked_by!r}"
            )
        elif rec.source not in (seed.post, "book"):
            problems.append(
                f"seed claim of post {seed.post} is checked by {seed.checked_by!r}, a claim of {rec.source!r}"
            )
    for rec in records:
        if rec.source in POSTS and rec.id not in checked:
            problems.append(
                f"record {rec.id!r} ({rec.notebook}) comes from post {rec.source} but no entry of "
                "SEED_CLAIMS points to it: add the post's claim to decaylab_book.ledger.SEED_CLAIMS"
            )
    missing_posts = sorted(set(POSTS) - {s.post for s in SEED_CLAIMS})
    if missing_posts:
        problems.append(f"posts with no seed claim in the ledger: {missing_posts}")
    return problems
