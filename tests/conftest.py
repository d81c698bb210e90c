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


# -- the single-threaded work, executed in the background (tests/background.py) ---------------


def pytest_collection_modifyitems(session, config, items):
    """Build and browser first, unit tests next, then the notebook runs: perturbations and the
    second path (computed in the background meanwhile), and the machine's own path last."""
    import background

    items.sort(key=background.order)  # a stable sort: the order within each group is kept


def pytest_collection_finish(session):
    import background

    background.start(session.items, ROOT)


def pytest_sessionfinish(session, exitstatus):
    import background

    background.stop()
