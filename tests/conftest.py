"""Shared fixtures: the strict book build, done once per test session."""

import subprocess
import sys
from pathlib import Path

import pytest
from bookfiles import ROOT


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the whole book (every page, ``--all``: an incremental build would keep stale static
    files) with warnings as errors into ``_build/html``; return that folder.

    The book renders the outputs stored in the notebooks (execute_notebooks: off), the
    same outputs nbval compares, so building it is quick.
    """
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--all", "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"strict book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return ROOT / "_build" / "html"
