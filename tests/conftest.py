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


# -- the second numerical path, executed in the background -------------------------------------
#
# tests/test_outputs.py compares every notebook on two numerical paths. The second path
# (decaylab_book.nbtools.SECOND_PATH) runs on one thread, so its executions start in a
# background process as soon as the tests are collected and run beside the single-threaded
# work (the strict build and the browser test, moved to the front of the run); each of its
# tests then waits for its notebook. The machine's own path (two threads) and the perturbation
# tests run in the foreground, alone, after the browser test.

_SECOND_PATH: dict = {}


def pytest_collection_modifyitems(session, config, items):
    """The build and the browser test first (they use one core; the background lane the other)."""
    front = [i for i in items if i.get_closest_marker("build") or i.get_closest_marker("browser")]
    rest = [i for i in items if i not in front]
    items[:] = front + rest


def pytest_collection_finish(session):
    import subprocess
    import sys
    import tempfile

    from decaylab_book.nbtools import SECOND_PATH

    wanted = []
    for item in session.items:
        spec = getattr(item, "callspec", None)
        if getattr(item, "originalname", "") == "test_fresh_outputs_mean_what_is_stored" and spec:
            if spec.params.get("numerical_path") == SECOND_PATH:
                wanted.append(spec.params["path"])
    if not wanted:
        return
    folder = Path(tempfile.mkdtemp(prefix="decaylab-second-path-"))
    log = (folder / "log.txt").open("w")
    command = [
        sys.executable,
        "-m",
        "decaylab_book.nbtools",
        "execute",
        SECOND_PATH,
        str(folder),
        *map(str, wanted),
    ]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    _SECOND_PATH.update(folder=folder, proc=proc, log=log)


def second_path_run(path: Path):
    """The notebook ``path`` as the background lane executed it on the second path (waits for
    it), or ``None`` if no background lane runs (the test then executes it itself)."""
    import time

    import nbformat

    if not _SECOND_PATH:
        return None
    done = _SECOND_PATH["folder"] / path.name
    while not done.exists():
        if _SECOND_PATH["proc"].poll() is not None and not done.exists():
            log = (_SECOND_PATH["folder"] / "log.txt").read_text(encoding="utf-8")
            raise RuntimeError(
                f"the background run of the second numerical path stopped before {path.name}:\n{log[-3000:]}"
            )
        time.sleep(0.5)
    return nbformat.read(done, as_version=4)


def pytest_sessionfinish(session, exitstatus):
    if _SECOND_PATH:
        proc = _SECOND_PATH["proc"]
        if proc.poll() is None:
            proc.kill()
        _SECOND_PATH["log"].close()
        shutil.rmtree(_SECOND_PATH["folder"], ignore_errors=True)
