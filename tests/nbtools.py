"""Execute the book's notebooks: shared by `make refresh` and the benchmark script.

    python tests/nbtools.py refresh book/*.ipynb   # re-execute in place, store outputs

Notebooks run with their own folder as working directory, in a fresh kernel of the
current Python environment, top to bottom, so that execution counts are 1, 2, 3, ...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
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


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "refresh":
        sys.exit("usage: python tests/nbtools.py refresh NOTEBOOK.ipynb [...]")
    refresh([Path(p) for p in sys.argv[2:]])
