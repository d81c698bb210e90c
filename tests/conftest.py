"""Shared fixtures: the strict book build, done once per test session."""

from pathlib import Path

import pytest
from bookfiles import ROOT
from nbtools import build


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the whole book with the strict command of ``tools/nbtools.py`` into ``_build/html``.

    The book renders the outputs stored in the notebooks (execute_notebooks: off), the
    same outputs tests/test_outputs.py compares, so building it is quick.
    """
    proc = build(capture=True)
    assert proc.returncode == 0, f"strict book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return ROOT / "_build" / "html"
