"""Time the two test tiers, `make check` and `make test`, and print them against their budgets.

A measurement, not a test: it never fails a build. The budgets (decaylab_book.budgets) are
for 2 CPU cores with the environment installed. `make test` takes minutes: this script is
the last of `make bench`.

    make bench          # or: .venv/bin/python benchmarks/test_tiers.py
"""

from __future__ import annotations

import os
import subprocess
import time

from decaylab_book import budgets
from decaylab_book.files import ROOT


def timed(target: str) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(["make", "-s", target], cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    print(f"test tiers on {os.cpu_count()} CPU cores")
    print(f"{'tier':<12} {'seconds':>8} {'budget':>8}  result")
    for target, budget in (("check", budgets.CHECK_SECONDS), ("test", 60 * budgets.TEST_MINUTES)):
        seconds, code = timed(target)
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        over = "  OVER BUDGET" if seconds > budget else ""
        print(f"make {target:<7} {seconds:8.0f} {budget:8d}  {verdict}{over}", flush=True)


if __name__ == "__main__":
    main()
