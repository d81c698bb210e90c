"""Print the mutation score of the last `mutmut run` (read from `mutmut export-cicd-stats`).

python -m decaylab_book.mutation_score     # after `mutmut run`; `make mutants` does both
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STATS = Path("mutants") / "mutmut-cicd-stats.json"


def main() -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    subprocess.run([str(mutmut), "export-cicd-stats"], check=True, capture_output=True)
    stats = json.loads(STATS.read_text(encoding="utf-8"))
    killed, survived = stats.get("killed", 0), stats.get("survived", 0)
    timeout, suspicious = stats.get("timeout", 0), stats.get("suspicious", 0)
    no_tests, skipped = stats.get("no_tests", 0), stats.get("skipped", 0)
    judged = killed + survived + timeout + suspicious + no_tests
    score = (killed + timeout) / judged if judged else float("nan")
    print(f"mutants: {stats.get('total', judged + skipped)} in all, {killed} killed, {timeout} timed out, ")
    print(f"         {survived} survived, {no_tests} not reached by any test, {suspicious} suspicious")
    print(f"mutation score (killed or timed out / judged): {score:.1%}")


if __name__ == "__main__":
    main()
