"""The single-threaded notebook runs of ``make test``, executed in a background process.

Two kinds of notebook runs need one thread each: the second numerical path of
tests/test_outputs.py (decaylab_book.nbtools.SECOND_PATH) and the perturbations of
tests/test_checks_bite.py (on "machine-1thread": a claim that fails does not depend on
rounding). As soon as the tests are collected they start in :data:`WORKERS` background
processes (decaylab_book.nbtools.run_jobs, the jobs dealt out in turn, perturbations first)
and run beside the single-threaded foreground: the strict build and the browser test (moved
to the front), then the unit tests. Each test of those runs waits for its result. The
machine's own path (two threads) runs last, alone: its tests wait until every background
process has finished.

This is a module of its own, not conftest.py, so that the hooks in conftest.py and the tests
share one copy of its state (a test importing conftest would get a second copy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Where the perturbations run (one thread, the machine's kernels).
PERTURBATION_PATH = "machine-1thread"
PERTURB_TEST = "test_a_perturbed_measurement_fails_its_claim"
OUTPUTS_TEST = "test_fresh_outputs_mean_what_is_stored"

#: Background processes: two, so that once the foreground has finished its build, browser and
#: unit tests both cores work on the notebook runs (measured: the perturbations and the second
#: path take longer than the foreground's own work).
WORKERS = 2

_STATE: dict = {}


def order(item) -> int:
    """The group of a test in the run: 0 build and browser, 1 the rest that runs no notebook,
    2 perturbations, 3 the second path, 4 the machine's own path, 5 other notebook tests."""
    from decaylab_book.nbtools import SECOND_PATH

    name, spec = getattr(item, "originalname", ""), getattr(item, "callspec", None)
    if item.get_closest_marker("build") or item.get_closest_marker("browser"):
        return 0
    if not item.get_closest_marker("notebooks"):
        return 1
    if name == PERTURB_TEST:
        return 2
    if name == OUTPUTS_TEST and spec:
        return 3 if spec.params.get("numerical_path") == SECOND_PATH else 4
    return 5


def _name(kind: str, test_id: str) -> str:
    return f"{kind}-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in test_id)


def start(items, root: Path) -> None:
    """Start the background processes for the collected ``items`` (none if nothing needs them)."""
    from decaylab_book.nbtools import SECOND_PATH

    perturb, second = [], []
    for item in items:
        spec, name = getattr(item, "callspec", None), getattr(item, "originalname", "")
        if spec and name == PERTURB_TEST:
            perturb.append({"name": _name("perturb", spec.id), "notebook": str(spec.params["path"]),
                            "path": PERTURBATION_PATH, "insert": spec.params["perturbation"]["code"]})  # fmt: skip
        elif spec and name == OUTPUTS_TEST and spec.params.get("numerical_path") == SECOND_PATH:
            second.append(
                {"name": _name("second", spec.id), "notebook": str(spec.params["path"]), "path": SECOND_PATH}
            )
    jobs = perturb + second
    if not jobs:
        return
    folder = Path(tempfile.mkdtemp(prefix="decaylab-background-"))
    procs, logs = [], []
    for k in range(WORKERS):
        share = jobs[k::WORKERS]
        if not share:
            continue
        (folder / f"jobs-{k}.json").write_text(json.dumps(share), encoding="utf-8")
        log = (folder / f"log-{k}.txt").open("w")
        command = [
            sys.executable,
            "-m",
            "decaylab_book.nbtools",
            "jobs",
            str(folder),
            str(folder / f"jobs-{k}.json"),
        ]
        procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root))
        logs.append(log)
    _STATE.update(folder=folder, procs=procs, logs=logs)


def result(kind: str, test_id: str):
    """The background run of a test (``kind``: "perturb" or "second"): a perturbed run's error as
    ``{"ename", "evalue"}``, or the second path's executed notebook. Waits for it; ``None`` if
    no background process runs (the test then runs the notebook itself)."""
    import nbformat

    if not _STATE:
        return None
    name = _name(kind, test_id)
    done = _STATE["folder"] / (f"{name}.json" if kind == "perturb" else f"{name}.ipynb")
    while not done.exists():
        if all(p.poll() is not None for p in _STATE["procs"]) and not done.exists():
            logs = "".join(
                f.read_text(encoding="utf-8")[-1500:] for f in sorted(_STATE["folder"].glob("log-*.txt"))
            )
            raise RuntimeError(f"the background notebook runs stopped before {name}:\n{logs}")
        time.sleep(0.5)
    if kind == "perturb":
        return json.loads(done.read_text(encoding="utf-8"))
    return nbformat.read(done, as_version=4)


def wait() -> None:
    """Block until every background process has finished (before a run that needs both cores)."""
    if _STATE:
        for proc in _STATE["procs"]:
            proc.wait()


def stop() -> None:
    if _STATE:
        for proc in _STATE["procs"]:
            if proc.poll() is None:
                proc.kill()
        for log in _STATE["logs"]:
            log.close()
        shutil.rmtree(_STATE["folder"], ignore_errors=True)
        _STATE.clear()
