"""Execute and build the book: shared by the Makefile, the tests and the benchmarks.

    python -m decaylab_book.nbtools refresh [NOTEBOOK.ipynb ...]   # re-execute in place (default: all)
    python -m decaylab_book.nbtools build                          # the strict build of both editions
    python -m decaylab_book.nbtools execute PATH FOLDER [NOTEBOOK.ipynb ...]   # run on a numerical path

Notebooks run with their own folder as working directory, in a fresh kernel of the
current Python environment, top to bottom, so that execution counts are 1, 2, 3, ...
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .editions import LANGUAGE, SITE_FOLDERS
from .files import ROOT, notebooks

KERNEL = "python3"

#: Numerical paths: the environment a notebook's kernel runs in. "machine" is the kernels and
#: thread count the machine picks (how `make refresh` writes the stored outputs, and how a
#: reader runs a chapter); the others round long float32 runs differently, as another CPU
#: would. `make test` runs every notebook on "machine" and on SECOND_PATH and compares both
#: with the stored outputs by meaning (decaylab_book.meaning); decaylab_book.tolerances measures the
#: spread across all of them to size the declared tolerances.
PATHS = {
    "machine": {},
    "default-1thread": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    # the machine's kernels on one thread: where make test runs the perturbations (their outcome,
    # a claim that fails, does not depend on rounding), beside the other single-threaded work
    "machine-1thread": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
}
#: PyTorch's non-vectorized kernels with one thread: the second path of `make test`.
SECOND_PATH = "default-1thread"


def kernel_env(path_name: str) -> dict[str, str]:
    """The environment of a kernel on the numerical path ``path_name`` (one of :data:`PATHS`)."""
    if path_name not in PATHS:
        raise ValueError(f"path_name must be one of {sorted(PATHS)}; got {path_name!r}")
    return {k: v for k, v in os.environ.items() if k not in {"ATEN_CPU_CAPABILITY", "MKL_CBWR"}} | PATHS[
        path_name
    ]


def execute(
    path: Path, *, timeout: int = 600, numerical_path: str = "machine", allow_errors: bool = False
) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook in a fresh kernel on a numerical path (:data:`PATHS`); return the executed
    notebook and the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    _run(nb, path, numerical_path, timeout=timeout, allow_errors=allow_errors)
    return nb, time.perf_counter() - start


def _run(nb, path: Path, numerical_path: str, *, timeout: int, allow_errors: bool) -> None:
    """Execute ``nb`` (read from ``path``, run in its folder) in place in a fresh kernel."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        allow_errors=allow_errors,
    )
    client.execute(env=kernel_env(numerical_path))


def run_jobs(jobs: list[dict], folder: Path) -> None:
    """Run notebook jobs one after another and leave each result in ``folder``, whole (written
    aside, then renamed): ``tests/conftest.py`` runs the single-threaded work of ``make test``
    this way, in background processes beside the build and the browser test.

    A job is ``{"name", "notebook", "path"}`` (a numerical path of :data:`PATHS`), and may
    have ``"insert"``: code run as a new cell after the notebook's first code cell (a
    perturbation, see tests/test_checks_bite.py). A job without ``insert`` runs to the end
    with errors kept in the outputs and leaves ``<name>.ipynb``; one with ``insert`` stops at
    the first error and leaves ``<name>.json``: ``{"ename", "evalue"}`` of that error, or
    nulls if every cell ran."""
    import json

    from nbclient.exceptions import CellExecutionError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        path = Path(job["notebook"])
        start = time.perf_counter()
        if "insert" in job:
            nb = nbformat.read(path, as_version=4)
            first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
            nb.cells.insert(first + 1, nbformat.v4.new_code_cell(job["insert"]))
            try:
                _run(nb, path, job["path"], timeout=1800, allow_errors=False)
                result = {"ename": None, "evalue": None}
            except CellExecutionError as exc:
                result = {"ename": exc.ename, "evalue": exc.evalue}
            partial, done = folder / f".{job['name']}.partial", folder / f"{job['name']}.json"
            partial.write_text(json.dumps(result), encoding="utf-8")
        else:
            nb, _ = execute(path, numerical_path=job["path"], allow_errors=True, timeout=1800)
            partial, done = folder / f".{job['name']}.partial", folder / f"{job['name']}.ipynb"
            nbformat.write(nb, partial)
        partial.rename(done)
        print(f"{job['name']}: {time.perf_counter() - start:.1f} s", flush=True)


def execute_into(numerical_path: str, folder: Path, paths: list[Path]) -> None:
    """Execute each notebook on ``numerical_path`` (errors kept in the outputs) and write it into
    ``folder`` under its own name, each file appearing whole (written aside, then renamed), so a
    reader polling the folder never sees half a notebook. ``make test`` runs this in the
    background for the second numerical path (tests/conftest.py)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb, seconds = execute(path, numerical_path=numerical_path, allow_errors=True, timeout=1800)
        partial = folder / f".{path.name}.partial"
        nbformat.write(nb, partial)
        partial.rename(folder / path.name)
        print(f"{path.name}: {seconds:.1f} s on {numerical_path}", flush=True)


def refresh(paths: list[Path]) -> None:
    for path in paths:
        print(f"executing {path} ...", flush=True)
        nb, seconds = execute(path)
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
        print(f"  stored outputs of {path} ({seconds:.1f} s)", flush=True)


#: The two editions: Sphinx language and output folder. The Chinese edition is built from the
#: same sources and stored outputs, its prose translated by the catalogues in ``locales/``.
EDITIONS = {language: ROOT / "_build" / "html" / folder for language, folder in SITE_FOLDERS.items()}
GETTEXT_DIR = ROOT / "_build" / "gettext"


def sphinx_command(builder: str, language: str = "en") -> list[str]:
    """The command that runs one Sphinx build of the book (``html`` of one edition, or
    ``gettext``) in a fresh Python process: see :func:`run_sphinx`."""
    return [sys.executable, "-m", "decaylab_book.nbtools", "sphinx", builder, language]


def run_sphinx(builder: str, language: str) -> int:
    """The strict build: every page (a fresh environment: an incremental build keeps stale
    static files), warnings as errors, nitpicky references, Jupyter Book's configuration
    (``_config.yml``, ``_toc.yml``) with the edition's language."""
    from jupyter_book.sphinx import build_sphinx

    if builder == "gettext":
        outdir, doctrees = GETTEXT_DIR, ROOT / "_build" / ".doctrees-gettext"
    else:
        outdir, doctrees = EDITIONS[language], ROOT / "_build" / f".doctrees-{language}"
    overrides = {
        "external_toc_path": (ROOT / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        "nitpicky": True,
        "language": language,
    }
    result = build_sphinx(
        ROOT, outdir, noconfig=True, path_config=str(ROOT / "_config.yml"), confoverrides=overrides,
        doctreedir=doctrees, builder=builder, freshenv=True, warningiserror=True, keep_going=True,
    )  # fmt: skip
    return result if isinstance(result, int) else 1


def build(*, capture: bool = False) -> subprocess.CompletedProcess:
    """Build both editions, as `make book` does: first check that every message has its Chinese
    translation (``python -m decaylab_book.translations check``), then the English edition into
    ``_build/html`` and the Chinese one into ``_build/html/zh``. Stops at the first failure;
    with ``capture`` the output is returned instead of printed."""
    steps = [
        [sys.executable, "-m", "decaylab_book.translations", "check"],
        sphinx_command("html", "en"),
        sphinx_command("html", LANGUAGE),
    ]
    out, err = [], []
    for command in steps:
        proc = subprocess.run(command, capture_output=capture, text=True, timeout=900, check=False)
        out.append(proc.stdout or "")
        err.append(proc.stderr or "")
        if proc.returncode != 0:
            break
    return subprocess.CompletedProcess(steps, proc.returncode, "".join(out), "".join(err))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "refresh":
        refresh([Path(p) for p in sys.argv[2:]] or notebooks())
    elif len(sys.argv) == 4 and sys.argv[1] == "jobs":
        import json

        run_jobs(json.loads(Path(sys.argv[3]).read_text(encoding="utf-8")), Path(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "execute" and sys.argv[2] in PATHS:
        execute_into(sys.argv[2], Path(sys.argv[3]), [Path(p) for p in sys.argv[4:]] or notebooks())
    elif sys.argv[1:] == ["build"]:
        sys.exit(build().returncode)
    elif len(sys.argv) == 4 and sys.argv[1] == "sphinx" and sys.argv[3] in EDITIONS:
        sys.exit(run_sphinx(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(
            "usage: python -m decaylab_book.nbtools refresh [NOTEBOOK.ipynb ...] | build | "
            f"execute {'|'.join(PATHS)} FOLDER [NOTEBOOK.ipynb ...] | sphinx html|gettext en|{LANGUAGE}"
        )
