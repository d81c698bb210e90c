"""Print the mutation score of the last `mutmut run`, module by module (from `mutmut results`).

python -m decaylab_book.mutation_score     # after `mutmut run`; `make mutants` does both

A mutant is judged when its module's unit tests ran against it: killed (a test failed),
timed out (counted as detected: the tests did not finish within mutmut's limit), survived
(every test passed), or reached by no test. The score is (killed + timed out) / judged;
"not run" counts the mutants that were never judged (an interrupted run). The table is the
one of README.md's "Mutation score" section.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

#: mutmut's statuses, grouped into the table's columns (any other status is "other").
COLUMNS = {
    "killed": "killed",
    "timeout": "timeout",
    "survived": "survived",
    "no tests": "no_tests",
    "not checked": "not_run",
    "check was interrupted by user": "not_run",
}


def results() -> list[tuple[str, str]]:
    """``(mutant name, status)`` for every mutant of the last run."""
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], check=True, capture_output=True, text=True
    ).stdout
    rows = []
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            rows.append((name, status))
    return rows


def module_of(name: str) -> str:
    """``decaylab.stacked.x_fit_classifiers__mutmut_3`` -> ``stacked.py``."""
    dotted = name.split(".x", 1)[0]
    return dotted.rsplit(".", 1)[-1] + ".py"


def table(rows: list[tuple[str, str]]) -> list[dict]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for name, status in rows:
        counts[module_of(name)][COLUMNS.get(status, "other")] += 1
    out = []
    for module in [*sorted(counts), "all"]:
        c = counts[module] if module != "all" else sum(counts.values(), Counter())
        judged = c["killed"] + c["timeout"] + c["survived"] + c["no_tests"] + c["other"]
        detected = c["killed"] + c["timeout"]
        row = {k: c[k] for k in ("killed", "timeout", "survived", "no_tests", "other", "not_run")}
        out.append(row | {"module": module, "judged": judged, "score": detected / judged if judged else None})
    return out


def main() -> None:
    lines = [
        "| Module | Killed | Timed out | Survived | Judged | Score | Not run |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table(results()):
        survived = f"{r['survived']:,}"
        extra = [f"+{r[k]:,} {label}" for k, label in (("no_tests", "no test"), ("other", "other")) if r[k]]
        if extra:
            survived += f" ({', '.join(extra)})"
        score = "n/a" if r["score"] is None else f"{100 * r['score']:.1f}%"
        module = "**all**" if r["module"] == "all" else f"`{r['module']}`"
        lines.append(
            f"| {module} | {r['killed']:,} | {r['timeout']:,} | {survived} | {r['judged']:,} | {score} | "
            f"{r['not_run']:,} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
