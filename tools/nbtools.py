"""Execute and build the book: shared by the Makefile, the tests and the benchmarks.

    python tools/nbtools.py refresh [NOTEBOOK.ipynb ...]   # re-execute in place (default: all)
    python tools/nbtools.py build                          # the strict book build

Notebooks run with their own folder as working directory, in a fresh kernel of the
current Python environment, top to bottom, so that execution counts are 1, 2, 3, ...
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
from bookfiles import ROOT, notebooks
from nbclient import NotebookClient

KERNEL = "python3"


def execute(path: Path, *, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook in a fresh kernel; return the executed notebook and the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        allow_errors=False,
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def refresh(paths: list[Path]) -> None:
    for path in paths:
        print(f"executing {path} ...", flush=True)
        nb, seconds = execute(path)
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
        print(f"  stored outputs of {path} ({seconds:.1f} s)", flush=True)


def build_command() -> list[str]:
    """The strict book build: every page (``--all``: an incremental build keeps stale static
    files), warnings as errors, nitpicky references. The Makefile and the tests both run this."""
    jb = Path(sys.executable).with_name("jupyter-book")
    return [str(jb), "build", str(ROOT), "--all", "--warningiserror", "--nitpick", "--keep-going"]


def build(*, capture: bool = False) -> subprocess.CompletedProcess:
    """Run :func:`build_command`; with ``capture`` the output is returned instead of printed."""
    return subprocess.run(build_command(), capture_output=capture, text=True, timeout=900, check=False)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "refresh":
        refresh([Path(p) for p in sys.argv[2:]] or notebooks())
    elif sys.argv[1:] == ["build"]:
        sys.exit(build().returncode)
    else:
        sys.exit("usage: python tools/nbtools.py refresh [NOTEBOOK.ipynb ...] | build")
