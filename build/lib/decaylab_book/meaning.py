"""Compare a notebook's fresh outputs with its stored ones by what they mean.

Long float32 training runs never repeat bit for bit across CPUs (Intel, AMD, Apple
silicon), thread counts or PyTorch's kernel choices: a mean test error printed as 45.6% on
one machine is 45.0% on another. nbval compares outputs as text (its sanitizers replace
patterns; they cannot say "within 0.8 points"), so the book compares them here:

* **Text** (streams, ``text/plain``, ``text/html``, and the values glued into the prose,
  ``application/papermill.record/text/plain``) is split into numbers and the text
  between them. The text between must be identical (horizontal whitespace aside, which
  moves when a number gains a digit); that covers every verdict word, claim statement,
  label and table heading.
* **Numbers** must be identical, except in a cell that declares a tolerance in its metadata::

      "decaylab": {"tolerance": {"units": 8, "spread": 3,
                                 "why": "means of 20 seeds of long float32 runs",
                                 "lines": {"SGD 0.5, constant": {"units": 90, "spread": 45}}}}

  There a number with a decimal point or exponent (a measured float, not a count) may differ
  by ``units`` units of its last printed digit (45.6 and 45.1 differ by 5 units; 2.2e-02 and
  2.5e-02 by 3): each number is printed at the precision its author chose for it, so one
  count of units fits a table that mixes scales. ``spread`` is the largest difference, in
  the same units, measured across numerical paths when the tolerance was set
  (:mod:`decaylab_book.tolerances`); the tolerance is sized from it: ``max(2, ceil(2 x spread))``.
  ``lines`` gives a row of a printed table (a line that contains the text; for a claim, a
  check whose label contains it, or "note", "caveat", "decision") its own tolerance: a
  chaotic setting's row gets a wide one, the stable rows keep theirs. Integers (counts,
  seeds, epochs) stay exact unless ``"integers": true``.
* **Claim records** (the metadata every verdict box stores) must agree field by field:
  id, source, statement, verdict, each check's label and outcome, the words of the caveat,
  the note and each check's shown measurement (their numbers within the tolerance), and the
  decision rule's words, schedule and outcome exactly; the decision's estimate and interval
  within the cell's tolerance, in units of the last digit the box prints. So a verdict is
  never compared within a tolerance. A decision that follows a seed schedule
  (:func:`decaylab.stats.sequential`) may stop at another count of seeds on another
  machine; its outcome must still be the same (its numbers, from other seeds, are not
  compared). The box's text is not compared again: it is made from the record.
* **Streams** are compared as the text they print: consecutive stream outputs are joined first
  (a busy machine's kernel sends one print in two messages).
* **Volatile text** is masked on both sides: memory addresses (``0x…``) and timestamps.
* **Figures** (PNG) are not compared byte for byte (their pixels follow the numbers);
  a figure must still be there.
* A cell tagged ``nbval-ignore-output`` (with its reason in ``nbval-ignore-output-reason``)
  has its text outputs skipped, never its claim records.

:func:`compare_notebooks` returns the list of disagreements (empty: the outputs mean the same).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

#: Where a cell declares its tolerance: ``cell.metadata[KEY][TOLERANCE]``.
KEY = "decaylab"
TOLERANCE = "tolerance"
IGNORE_TAG = "nbval-ignore-output"
#: Outputs never compared as text: figures (their numbers are compared where printed) and
#: the metadata that is compared structurally below.
SKIPPED_MIME = ("image/png", "image/jpeg", "image/svg+xml")
_WIDGET = "application/vnd.jupyter.widget-view+json"  # model ids are random

# A number: an optional sign (only where it cannot be a hyphen inside a word), digits with
# an optional fraction and exponent. "1-100-100-1" is four numbers and three hyphens.
_NUMBER = re.compile(
    r"(?<![\w.])[-+−]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
)
_SPACE = re.compile(r"[ \t\u00a0]+")
#: Text that changes from run to run and carries no result: masked on both sides before comparing.
MASKS = (
    (re.compile(r"0x[0-9a-fA-F]{6,16}"), "0xADDRESS"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(,\d+)?"), "TIMESTAMP"),
)


@dataclass(frozen=True)
class Tolerance:
    """How far a stored float may be from a fresh one: ``units`` units of its last printed digit.

    ``lines``: (text, units) pairs for the lines of a printed table (or the checks of a claim,
    by label) that contain the text: a row whose setting is chaotic gets its own, wider
    tolerance, so that the stable rows keep a narrow one."""

    units: float
    integers: bool = False
    lines: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of_cell(cls, cell) -> Tolerance | None:
        """The tolerance a cell declares in its metadata, or ``None`` (exact)."""
        spec = cell.get("metadata", {}).get(KEY, {}).get(TOLERANCE)
        if spec is None:
            return None
        if not isinstance(spec, dict):
            raise ValueError(f"a cell's {KEY}.{TOLERANCE} must be a mapping with 'units'; got {spec!r}")
        unknown = set(spec) - {"units", "integers", "spread", "why", "lines", "paths"}
        if unknown:
            raise ValueError(f"unknown keys in a cell's {KEY}.{TOLERANCE}: {sorted(unknown)}")
        lines = spec.get("lines", {})
        if not isinstance(lines, dict) or not all(
            isinstance(k, str) and k and isinstance(v, dict) and set(v) <= {"units", "spread"}
            for k, v in lines.items()
        ):
            raise ValueError(
                f"a cell's tolerance 'lines' must map texts to {{'units': ..., 'spread': ...}}; got {lines!r}"
            )
        for value in [spec.get("units"), *(v.get("units") for v in lines.values())]:
            if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value < math.inf):
                raise ValueError(f"a cell's tolerance needs 'units', finite numbers > 0; got {spec!r}")
        if not str(spec.get("why", "")).strip():
            raise ValueError(f"a cell's tolerance must say why it is needed ('why'); got {spec!r}")
        return cls(
            units=float(spec["units"]),
            integers=bool(spec.get("integers", False)),
            lines=tuple((k, float(v["units"])) for k, v in lines.items()),
        )

    def key(self, line: str) -> str:
        """The ``lines`` text that ``line`` contains ("" for none: the cell's own units)."""
        return next((k for k, _ in self.lines if k in line), "")

    def for_line(self, line: str) -> Tolerance:
        """The tolerance of one line (or check label) of the cell."""
        units = dict(self.lines).get(self.key(line), self.units)
        return Tolerance(units=units, integers=self.integers)

    def allows(self, stored: float, fresh: float, unit: float) -> bool:
        return abs(stored - fresh) <= self.units * unit * (1 + 1e-9)


def unit(token: str) -> float:
    """One unit of the last digit of a printed number: 0.1 for "45.6", 1e-3 for "2.5e-02", 1 for "20"."""
    mantissa, _, exponent = token.replace("−", "-").lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def split(text: str) -> tuple[list[str], list[str]]:
    """``text`` as (the text between numbers, whitespace removed; the numbers as written)."""
    numbers = _NUMBER.findall(text)
    between = [_SPACE.sub("", part) for part in _NUMBER.split(text)]
    return between, numbers


def _value(token: str) -> float:
    return float(token.replace("−", "-"))


def _is_float(token: str) -> bool:
    return "." in token or "e" in token or "E" in token


def compare_text(stored: str, fresh: str, tolerance: Tolerance | None) -> str | None:
    """``None`` if the two texts mean the same, else a one-line description of the first difference."""
    if stored == fresh:
        return None
    for pattern, mask in MASKS:
        stored, fresh = pattern.sub(mask, stored), pattern.sub(mask, fresh)
    if stored == fresh:
        return None
    if tolerance is not None and tolerance.lines:
        s_lines, f_lines = stored.split("\n"), fresh.split("\n")
        if len(s_lines) == len(f_lines):
            for a, b in zip(s_lines, f_lines, strict=True):
                why = compare_text(a, b, tolerance.for_line(a))
                if why:
                    return why
            return None
    s_between, s_numbers = split(stored)
    f_between, f_numbers = split(fresh)
    if len(s_numbers) != len(f_numbers) or s_between != f_between:
        for k, (a, b) in enumerate(zip(s_between, f_between, strict=False)):
            if a != b:
                return f"text differs after {k} numbers: stored {a[:60]!r}, now {b[:60]!r}"
        return f"stored {len(s_numbers)} numbers, now {len(f_numbers)}"
    for a, b in zip(s_numbers, f_numbers, strict=True):
        if a == b:
            continue
        va, vb = _value(a), _value(b)
        if va == vb and _is_float(a) == _is_float(b):
            continue  # the same value written differently (+0.000 and -0.000, 1.0 and 1.00)
        if tolerance is None:
            return f"number {a} is now {b} (this cell declares no tolerance: numbers are exact)"
        if not (_is_float(a) and _is_float(b)) and not tolerance.integers:
            return f"count {a} is now {b} (integers are exact unless the tolerance says integers: true)"
        if not tolerance.allows(va, vb, unit(a)):  # in units of the stored number's last digit
            return f"number {a} is now {b}, beyond the cell's tolerance ({tolerance.units:g} units of the last digit)"
    return None


def _texts(output) -> dict[str, str]:
    """Every text an output shows or stores, by mime type: streams, ``text/plain``, HTML,
    and the values glued for the prose (``application/papermill.record/text/plain``)."""
    if output.get("output_type") == "stream":
        return {f"stream:{output.get('name')}": _join(output.get("text", ""))}
    data = output.get("data", {})
    return {
        m: _join(v) if isinstance(v, str | list) else json.dumps(v, sort_keys=True)
        for m, v in data.items()
        if not m.endswith(SKIPPED_MIME) and not m.endswith(_WIDGET)
    }


def _join(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def compare_record(stored: dict, fresh: dict, tolerance: Tolerance | None) -> list[str]:
    """Differences between two stored claim records (``output.metadata["decaylab"]["claim"]``)."""
    problems = []
    for field in ("id", "source", "statement", "verdict"):
        if stored.get(field) != fresh.get(field):
            problems.append(
                f"claim {stored.get('id')!r}: {field} {stored.get(field)!r} is now {fresh.get(field)!r}"
            )
    for field in ("caveat", "note"):  # words exact, measured numbers within the tolerance
        a, b = stored.get(field), fresh.get(field)
        tol = tolerance and tolerance.for_line(field)
        why = "one is missing" if (a is None) != (b is None) else compare_text(a or "", b or "", tol)
        if why:
            problems.append(f"claim {stored.get('id')!r}, {field}: {why}")
    s_ev, f_ev = stored.get("evidence", []), fresh.get("evidence", [])
    if [(e["label"], e["passed"]) for e in s_ev] != [(e["label"], e["passed"]) for e in f_ev]:
        problems.append(f"claim {stored.get('id')!r}: its checks changed")
    else:
        for e, g in zip(s_ev, f_ev, strict=True):
            why = compare_text(
                e.get("shown", ""), g.get("shown", ""), tolerance and tolerance.for_line(e["label"])
            )
            if why:
                problems.append(f"claim {stored.get('id')!r}, check {e['label']!r}: {why}")
    sd, fd = stored.get("decision"), fresh.get("decision")
    if (sd is None) != (fd is None):
        problems.append(f"claim {stored.get('id')!r}: a decision rule appeared or disappeared")
    elif sd is not None:
        scheduled = bool(sd.get("schedule")) and sd.get("schedule") == fd.get("schedule")
        other_look = scheduled and sd.get("n") != fd.get("n") and fd.get("n") in sd["schedule"]
        numbers = ("estimate", "low", "high")
        per_look = ("n", "confidence", *numbers) if other_look else ()
        for field in sorted(set(sd) | set(fd)):
            a, b = sd.get(field), fd.get(field)
            if field in per_look:
                continue  # the same rule stopped at another count of seeds: other seeds' numbers
            if field in numbers:
                step = 10.0 ** -int(sd.get("digits", 0))
                tol = tolerance and tolerance.for_line("decision")
                if a != b and (tol is None or not tol.allows(float(a), float(b), step)):
                    problems.append(
                        f"claim {stored.get('id')!r}: decision {field} {a!r} is now {b!r}"
                        + (
                            " (no tolerance declared)"
                            if tolerance is None
                            else " (beyond the cell's tolerance)"
                        )
                    )
            elif a != b:
                problems.append(f"claim {stored.get('id')!r}: decision {field} {a!r} is now {b!r}")
    return problems


def coalesced(outputs) -> list[dict]:
    """The outputs with consecutive stream outputs of the same name joined: how a kernel splits
    printed text into messages depends on timing (a busy machine sends two), not on the run."""
    out: list[dict] = []
    for o in outputs:
        if (
            o.get("output_type") == "stream"
            and out
            and out[-1].get("output_type") == "stream"
            and (out[-1].get("name") == o.get("name"))
        ):
            out[-1] = {**out[-1], "text": _join(out[-1].get("text", "")) + _join(o.get("text", ""))}
        else:
            out.append(o)
    return out


def compare_cell(stored_cell, fresh_cell) -> list[str]:
    """Differences between the outputs of one code cell, stored and fresh."""
    tolerance = Tolerance.of_cell(stored_cell)
    ignore_text = IGNORE_TAG in stored_cell.get("metadata", {}).get("tags", [])
    s_out, f_out = coalesced(stored_cell.get("outputs", [])), coalesced(fresh_cell.get("outputs", []))
    kinds = [(o.get("output_type"), o.get("name")) for o in s_out]
    fresh_kinds = [(o.get("output_type"), o.get("name")) for o in f_out]
    if kinds != fresh_kinds:
        errors = [o for o in f_out if o.get("output_type") == "error"]
        if errors:
            return [f"raised {errors[0].get('ename')}: {errors[0].get('evalue', '')[:400]}"]
        return [f"outputs {kinds} are now {fresh_kinds}"]
    problems = []
    for s, f in zip(s_out, f_out, strict=True):
        if set(s.get("data", {})) != set(f.get("data", {})):
            problems.append(f"output types {sorted(s.get('data', {}))} are now {sorted(f.get('data', {}))}")
            continue
        s_rec = s.get("metadata", {}).get(KEY, {}).get("claim")
        f_rec = f.get("metadata", {}).get(KEY, {}).get("claim")
        if (s_rec is None) != (f_rec is None):
            problems.append("a claim record appeared or disappeared")
            continue
        if s_rec is not None:
            problems += compare_record(s_rec, f_rec, tolerance)
            continue  # the box's text and HTML are made from the record
        if ignore_text:
            continue
        s_texts, f_texts = _texts(s), _texts(f)
        for mime, text in s_texts.items():
            why = compare_text(text, f_texts.get(mime, ""), tolerance)
            if why:
                problems.append(f"{mime}: {why}")
    return problems


def compare_notebooks(stored, fresh) -> list[str]:
    """Every disagreement between a stored notebook and a fresh execution of it, by cell."""
    s_cells = [c for c in stored.cells if c.cell_type == "code"]
    f_cells = [c for c in fresh.cells if c.cell_type == "code"]
    if [c.source for c in s_cells] != [c.source for c in f_cells]:
        return ["the code cells differ: the fresh run is not of this notebook"]
    index = [i for i, c in enumerate(stored.cells) if c.cell_type == "code"]
    problems = []
    for i, s, f in zip(index, s_cells, f_cells, strict=True):
        problems += [f"cell {i}: {p}" for p in compare_cell(s, f)]
    return problems


def number_spread(stored_cell, fresh_cell) -> tuple[dict[str, float], bool, list[str]]:
    """How far a fresh cell's numbers are from the stored ones, to size a tolerance: the largest
    difference in units of the last printed digit, per ``lines`` text of the cell's tolerance
    ("" for the rest), whether an integer changed, and the differences no tolerance can cover
    (words, verdicts, structure)."""
    declared = Tolerance.of_cell(stored_cell) or Tolerance(units=1)
    loose = compare_cell(
        {**stored_cell, "metadata": {**stored_cell.get("metadata", {}),
                                     KEY: {TOLERANCE: {"units": 1e12, "integers": True, "why": "probe"}}}},
        fresh_cell,
    )  # fmt: skip
    largest: dict[str, float] = {}
    integer = False
    for a, b, step, where in _number_pairs(stored_cell, fresh_cell):
        if a != b and _value(a) != _value(b):
            key = declared.key(where)
            largest[key] = max(largest.get(key, 0.0), abs(_value(a) - _value(b)) / step)
            integer |= not (_is_float(a) and _is_float(b))
    return largest, integer, loose


def _number_pairs(stored_cell, fresh_cell):
    """(stored token, fresh token, unit, where) for every number the comparison looks at; ``where``
    is the line, the check's label, "note", "caveat" or "decision"."""
    for s, f in zip(
        coalesced(stored_cell.get("outputs", [])), coalesced(fresh_cell.get("outputs", [])), strict=False
    ):
        s_rec = s.get("metadata", {}).get(KEY, {}).get("claim")
        f_rec = f.get("metadata", {}).get(KEY, {}).get("claim")
        if s_rec is not None and f_rec is not None:
            texts = [(e.get("shown", ""), g.get("shown", ""), e["label"])
                     for e, g in zip(s_rec["evidence"], f_rec["evidence"], strict=False)]  # fmt: skip
            texts += [(s_rec.get(k) or "", f_rec.get(k) or "", k) for k in ("caveat", "note")]
            sd, fd = s_rec.get("decision"), f_rec.get("decision")
            if sd and fd and sd.get("n") == fd.get("n"):
                step = 10.0 ** -int(sd.get("digits", 0))
                for k in ("estimate", "low", "high"):
                    yield repr(float(sd[k])), repr(float(fd[k])), step, "decision"
        else:
            s_t, f_t = _texts(s), _texts(f)
            texts = []
            for m in s_t:
                a_lines, b_lines = s_t[m].split("\n"), f_t.get(m, "").split("\n")
                if len(a_lines) == len(b_lines):
                    texts += [(x, y, x) for x, y in zip(a_lines, b_lines, strict=True)]
        for a, b, where in texts:
            sa, sb = split(a)[1], split(b)[1]
            if len(sa) == len(sb):
                for x, y in zip(sa, sb, strict=True):
                    yield x, y, unit(x), where
