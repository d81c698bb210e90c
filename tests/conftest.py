"""Shared fixtures: the strict book build, done once per test session."""

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from decaylab_book.files import ROOT, notebooks
from decaylab_book.nbtools import build

#: The build runs with a copy of the catalogues in which this chapter's first claim statement
#: has a translation edited (an invisible word joiner appended): tests/test_book_build.py checks
#: that the Chinese page shows the edit and that no notebook changed (translations are applied
#: at build time, never stored by a run).
EDITED_CHAPTER = "torch_weight_decay"
EDIT = "\u2060"


def _edited_catalogues(folder: Path) -> tuple[str, str]:
    """Copy ``locales/`` into ``folder``, edit one claim translation there; return (msgid, new msgstr)."""
    shutil.copytree(ROOT / "locales", folder / "locales")
    po = folder / "locales" / "zh_CN" / "LC_MESSAGES" / "claims" / f"{EDITED_CHAPTER}.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    message = next(m for m in catalog if m.id and m.string)
    message.string += EDIT
    with po.open("wb") as f:
        write_po(f, catalog, width=0)
    return message.id, message.string


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """Build the whole book with the strict command of :mod:`decaylab_book.nbtools` into ``_build/html``.

    The book renders the outputs stored in the notebooks (execute_notebooks: off), the
    same outputs tests/test_outputs.py compares, so building it is quick.
    """
    folder = tmp_path_factory.mktemp("catalogues")
    edited = _edited_catalogues(folder)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in notebooks()}
    old = os.environ.get("DECAYLAB_LOCALES")
    os.environ["DECAYLAB_LOCALES"] = str(folder / "locales")
    try:
        proc = build(capture=True)
    finally:
        if old is None:
            os.environ.pop("DECAYLAB_LOCALES")
        else:
            os.environ["DECAYLAB_LOCALES"] = old
    assert proc.returncode == 0, f"strict book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in notebooks()}
    site = ROOT / "_build" / "html"
    site.joinpath(".edited-translation").write_text("\n".join(edited), encoding="utf-8")
    assert before == after, "building the book changed a notebook"
    return site


# -- the single-threaded work, executed in the background ------------------------------------------
#
# Two kinds of notebook runs need one thread each: the second numerical path of
# tests/test_outputs.py (decaylab_book.nbtools.SECOND_PATH) and the perturbations of
# tests/test_checks_bite.py (on "machine-1thread": a claim that fails does not depend on
# rounding). As soon as the tests are collected they start in a background process
# (decaylab_book.nbtools.run_jobs), perturbations first, and run beside the single-threaded
# foreground: the strict build and the browser test (moved to the front), then the unit tests.
# Each test of those runs waits for its result. The machine's own path (two threads) runs
# last, alone: its tests wait until the background process has finished.

_BACKGROUND: dict = {}
PERTURBATION_PATH = "machine-1thread"


def _order(item) -> int:
    name = getattr(item, "originalname", "")
    spec = getattr(item, "callspec", None)
    if item.get_closest_marker("build") or item.get_closest_marker("browser"):
        return 0
    if not item.get_closest_marker("notebooks"):
        return 1
    if name == "test_a_perturbed_measurement_fails_its_claim":
        return 2
    if name == "test_fresh_outputs_mean_what_is_stored" and spec:
        from decaylab_book.nbtools import SECOND_PATH

        return 3 if spec.params.get("numerical_path") == SECOND_PATH else 4
    return 5


def pytest_collection_modifyitems(session, config, items):
    """Build and browser first, unit tests next, then the notebook runs: perturbations and the
    second path (computed in the background meanwhile), and the machine's own path last."""
    items.sort(key=_order)  # a stable sort: the order within each group is kept


def _job_name(item) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in item.callspec.id)


def pytest_collection_finish(session):
    import json
    import subprocess
    import sys
    import tempfile

    from decaylab_book.nbtools import SECOND_PATH

    perturb, second = [], []
    for item in session.items:
        spec = getattr(item, "callspec", None)
        name = getattr(item, "originalname", "")
        if spec and name == "test_a_perturbed_measurement_fails_its_claim":
            p = spec.params["perturbation"]
            perturb.append({"name": "perturb-" + _job_name(item), "notebook": str(spec.params["path"]),
                            "path": PERTURBATION_PATH, "insert": p["code"]})  # fmt: skip
        elif spec and name == "test_fresh_outputs_mean_what_is_stored":
            if spec.params.get("numerical_path") == SECOND_PATH:
                second.append({"name": "second-" + _job_name(item), "notebook": str(spec.params["path"]),
                               "path": SECOND_PATH})  # fmt: skip
    jobs = perturb + second
    if not jobs:
        return
    folder = Path(tempfile.mkdtemp(prefix="decaylab-background-"))
    (folder / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    log = (folder / "log.txt").open("w")
    command = [sys.executable, "-m", "decaylab_book.nbtools", "jobs", str(folder), str(folder / "jobs.json")]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    _BACKGROUND.update(folder=folder, proc=proc, log=log)


def background_result(item_id: str, kind: str):
    """The background run of the test ``item_id`` (``kind``: "perturb" or "second"): the error of
    a perturbed run as ``{"ename", "evalue"}``, or the executed notebook of the second path.
    Waits for it; ``None`` if no background process runs (the test then runs it itself)."""
    import json
    import time

    import nbformat

    if not _BACKGROUND:
        return None
    name = f"{kind}-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in item_id)
    done = _BACKGROUND["folder"] / (f"{name}.json" if kind == "perturb" else f"{name}.ipynb")
    while not done.exists():
        if _BACKGROUND["proc"].poll() is not None and not done.exists():
            log = (_BACKGROUND["folder"] / "log.txt").read_text(encoding="utf-8")
            raise RuntimeError(f"the background notebook runs stopped before {name}:\n{log[-3000:]}")
        time.sleep(0.5)
    if kind == "perturb":
        return json.loads(done.read_text(encoding="utf-8"))
    return nbformat.read(done, as_version=4)


def wait_for_background() -> None:
    """Block until the background process has finished (before a run that needs both cores)."""
    if _BACKGROUND:
        _BACKGROUND["proc"].wait()


def pytest_sessionfinish(session, exitstatus):
    if _BACKGROUND:
        proc = _BACKGROUND["proc"]
        if proc.poll() is None:
            proc.kill()
        _BACKGROUND["log"].close()
        shutil.rmtree(_BACKGROUND["folder"], ignore_errors=True)
