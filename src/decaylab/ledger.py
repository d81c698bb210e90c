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

from . import _checks
from .claims import _ALLOWED_BY_OUTCOME, METADATA_KEY, POSTS, SOURCES, VERDICTS, ClaimRecord
from .i18n import concluded_zh, zh

__all__ = [
    "IGNORE_REASON",
    "IGNORE_TAG",
    "SEED_CLAIMS",
    "TOLERANCE_REASON",
    "IgnoredCell",
    "SeedClaim",
    "TolerancedCell",
    "book_notebooks",
    "check_ledger",
    "collect_records",
    "evidence_summary",
    "ignored_cells",
    "toleranced_cells",
    "untranslated_claims",
]


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
        "two-different-things",
    ),
    SeedClaim(
        "001",
        "Had weight decay been the same thing as learning-rate decay, it would only have made learning "
        "slower, not worse.",
        "lr-decay-at-a-good-rate",
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
        "keras-l2-is-twice-weight-decay",
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
)


def book_notebooks(book_dir: str | Path) -> list[Path]:
    """Every notebook under ``book_dir``, in file order (checkpoints left out).

    The one list of the book's notebooks: the ledger, the Sphinx extension, the tests and
    the tools all use it.
    """
    book_dir = Path(book_dir)
    if not book_dir.is_dir():
        raise ValueError(f"book_dir must be an existing folder holding the notebooks; got {str(book_dir)!r}")
    return sorted(p for p in book_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def collect_records(book_dir: str | Path) -> list[ClaimRecord]:
    """Every claim record stored in the notebooks under ``book_dir``, in file order.

    Each is read back with :meth:`ClaimRecord.from_metadata`, with ``notebook`` set to the
    notebook's path relative to ``book_dir``, without the ``.ipynb`` suffix. A stored record
    that cannot be read raises ``ValueError`` naming the notebook.
    """
    book_dir = Path(book_dir)
    records = []
    for path in book_notebooks(book_dir):
        name = path.relative_to(book_dir).with_suffix("").as_posix()
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get(METADATA_KEY)
                if meta and "claim" in meta:
                    try:
                        records.append(ClaimRecord.from_metadata(meta, notebook=name))
                    except (KeyError, TypeError) as exc:
                        raise ValueError(f"{name}: a stored claim record cannot be read ({exc})") from exc
    return records


def evidence_summary(record: ClaimRecord, limit: int = 2, *, zh: bool = False) -> str:
    """The measured evidence in a few words: the decision (if any) and the first checks
    (in Chinese with ``zh``, where the record has its translations)."""
    limit = _checks.integer("limit", limit, low=0)
    parts = []
    d = record.decision
    if zh:
        if d:
            parts.append(f"按判定规则{concluded_zh(d.outcome, d.case)}（{d.shown_zh()}）")
        parts += [
            (e.label_zh or e.label) + (f"（{e.shown_zh or e.shown}）" if e.shown else "")
            for e in record.evidence[:limit]
        ]
        more = len(record.evidence) - limit
        return "；".join(parts + ([f"另有 {more} 项检查"] if more > 0 else []))
    if d:
        parts.append(f"{d.concluded()} by its rule ({d.shown()})")
    parts += [e.label + (f" ({e.shown})" if e.shown else "") for e in record.evidence[:limit]]
    more = len(record.evidence) - limit
    if more > 0:
        parts.append(f"{'and ' if parts else ''}{more} more check{'s' if more > 1 else ''}")
    return "; ".join(parts)


#: The tag that makes the output comparison (tools/meaning.py) skip a cell's printed text (its
#: claim records are still compared), and the metadata key of the reason why. The name is
#: nbval's, kept so that notebooks tagged for nbval mean the same here.
IGNORE_TAG = "nbval-ignore-output"
IGNORE_REASON = "nbval-ignore-output-reason"


@dataclass(frozen=True)
class IgnoredCell:
    """A code cell whose printed output is not compared (``reason`` is empty if none is given)."""

    notebook: str
    code_cell: int  # 1-based, counting code cells only
    first_line: str
    reason: str


def _code_cells(book_dir: Path):
    """(notebook name, 1-based code-cell number, first line of code, cell metadata) of every code
    cell of the notebooks under ``book_dir``, in file order."""
    for path in book_notebooks(book_dir):
        name = path.relative_to(book_dir).with_suffix("").as_posix()
        n_code = 0
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            n_code += 1
            source = "".join(cell.get("source", "")).strip().splitlines()
            first = next((line for line in source if line.strip() and not line.startswith("#")), "")
            yield name, n_code, first, cell.get("metadata", {})


def ignored_cells(book_dir: str | Path) -> list[IgnoredCell]:
    """Every cell tagged :data:`IGNORE_TAG` in the notebooks under ``book_dir``, in file order."""
    return [
        IgnoredCell(name, n, first, str(meta.get(IGNORE_REASON, "")).strip())
        for name, n, first, meta in _code_cells(Path(book_dir))
        if IGNORE_TAG in meta.get("tags", [])
    ]


#: Why a cell's numbers need a tolerance, where nobody wrote a more specific reason
#: (tools/tolerances.py writes it; the reproducibility page states it once).
TOLERANCE_REASON = "summaries of training runs, which round differently on other CPUs"


@dataclass(frozen=True)
class TolerancedCell:
    """A code cell whose training summaries are compared within a tolerance (tools/meaning.py)."""

    notebook: str
    code_cell: int  # 1-based, counting code cells only
    first_line: str
    units: float
    spread: float
    lines: dict
    why: str


def toleranced_cells(book_dir: str | Path) -> list[TolerancedCell]:
    """Every cell that declares ``metadata["decaylab"]["tolerance"]`` in the notebooks under
    ``book_dir``, in file order."""
    cells = []
    for name, n, first, meta in _code_cells(Path(book_dir)):
        spec = meta.get(METADATA_KEY, {}).get("tolerance")
        if spec:
            lines, why = dict(spec.get("lines", {})), str(spec.get("why", "")).strip()
            cells.append(
                TolerancedCell(name, n, first, float(spec["units"]), float(spec.get("spread", 0)), lines, why)
            )
    return cells


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
        if rec.verdict not in VERDICTS:
            problems.append(f"{where} has an unknown verdict {rec.verdict!r}")
        elif rec.decision and rec.verdict not in _ALLOWED_BY_OUTCOME.get(rec.decision.outcome, ()):
            problems.append(f"{where} says {rec.verdict!r} but its rule gave {rec.decision.outcome!r}")
        if rec.source not in SOURCES:
            problems.append(f"{where} has an unknown source {rec.source!r}")
        if (rec.verdict == "holds with a caveat") != bool(rec.caveat):
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
                "SEED_CLAIMS points to it: add the post's claim to decaylab.ledger.SEED_CLAIMS"
            )
    missing_posts = sorted(set(POSTS) - {s.post for s in SEED_CLAIMS})
    if missing_posts:
        problems.append(f"posts with no seed claim in the ledger: {missing_posts}")
    return problems


def untranslated_claims(records: list[ClaimRecord]) -> list[str]:
    """What the Chinese edition would show in English, as a list of messages (empty: nothing).

    Every record must hold its Chinese texts (:meth:`ClaimRecord.untranslated`: the
    notebook ran with the translations in ``locales/``), and every paraphrase of a post's
    claim and every source's name must be in the claims catalogues (:func:`decaylab.i18n.zh`).
    The Sphinx extension runs it in both editions' builds, so that a chapter whose claims
    changed cannot be published half translated.
    """
    problems = []
    for rec in records:
        missing = rec.untranslated()
        if missing:
            problems.append(
                f"record {rec.id!r} ({rec.notebook}) has no Chinese for: "
                + "; ".join(missing)
                + " (translate them in locales/zh_CN/LC_MESSAGES/claims/, then re-run the notebook)"
            )
    for text in [seed.claim for seed in SEED_CLAIMS] + list(SOURCES.values()):
        if zh(text) is None:
            problems.append(f"no Chinese in locales/zh_CN/LC_MESSAGES/claims/ledger.po for {text!r}")
    return problems
