"""Execute every notebook under book/ in a fresh kernel and print a table of times, slowest first.

A measurement, not a test: it never fails because a notebook is slow. The budgets
(seconds per notebook on 2 CPU cores, and the one chapter allowed more) are
decaylab_book.budgets'.
Stored outputs are not touched.

    make bench          # or: .venv/bin/python benchmarks/notebook_times.py
"""

from __future__ import annotations

import os
import platform
import sys

from decaylab_book import budgets
from decaylab_book.files import ROOT, notebooks
from decaylab_book.nbtools import execute

BUDGET_S = float(budgets.NOTEBOOK_SECONDS)
#: The one chapter with a larger budget, and why (printed under the table).
EXCEPTIONS = {
    f"book/{budgets.SLOW_NOTEBOOK}.ipynb": (float(budgets.SLOW_NOTEBOOK_SECONDS), budgets.SLOW_NOTEBOOK_WHY)
}


def main() -> None:
    rows = []
    for path in notebooks():
        print(f"running {path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        try:
            _, seconds = execute(path)
            rows.append((path.relative_to(ROOT).as_posix(), seconds, "ok"))
        except Exception as exc:  # report, do not fail
            rows.append((path.relative_to(ROOT).as_posix(), float("nan"), f"error: {type(exc).__name__}"))
    rows.sort(key=lambda r: -r[1] if r[1] == r[1] else float("inf"))
    width = max([len(r[0]) for r in rows] + [8])
    print(f"notebook execution times on {os.cpu_count()} CPU cores, Python {platform.python_version()}")
    print(f"{'notebook':{width}s}  {'seconds':>8s}  {'budget':>7s}  status")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 7}  ------")
    for name, seconds, status in rows:
        budget = EXCEPTIONS.get(name, (BUDGET_S, ""))[0]
        within = "within" if seconds <= budget else "OVER"
        mark = " *" if name in EXCEPTIONS else ""
        print(f"{name:{width}s}  {seconds:8.1f}  {within:>7s}  {status}{mark}")
    total = sum(r[1] for r in rows if r[1] == r[1])
    print(f"{'total':{width}s}  {total:8.1f}")
    print(f"budget: {BUDGET_S:.0f} s per notebook, except (*):")
    for name, (budget, why) in EXCEPTIONS.items():
        print(f"  {name}: {budget:.0f} s ({why})")


if __name__ == "__main__":
    main()
