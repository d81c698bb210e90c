"""Execute and build the book: shared by the Makefile, the tests and the benchmarks.

    python tools/nbtools.py refresh [NOTEBOOK.ipynb ...]   # re-execute in place (default: all)
    python tools/nbtools.py build                          # the strict build of both editions

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
from bookfiles import ROOT, notebooks
from nbclient import NotebookClient

KERNEL = "python3"

#: Numerical paths: the environment a notebook's kernel runs in. "machine" is the kernels and
#: thread count the machine picks (how `make refresh` writes the stored outputs, and how a
#: reader runs a chapter); the others round long float32 runs differently, as another CPU
#: would. `make test` runs every notebook on "machine" and on SECOND_PATH and compares both
#: with the stored outputs by meaning (tools/meaning.py); tools/tolerances.py measures the
#: spread across all of them to size the declared tolerances.
PATHS = {
    "machine": {},
    "default-1thread": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
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
    env = kernel_env(numerical_path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        allow_errors=allow_errors,
    )
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


def refresh(paths: list[Path]) -> None:
    for path in paths:
        print(f"executing {path} ...", flush=True)
        nb, seconds = execute(path)
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
        print(f"  stored outputs of {path} ({seconds:.1f} s)", flush=True)


#: The two editions: Sphinx language and output folder. The Chinese edition is built from the
#: same sources and stored outputs, its prose translated by the catalogues in ``locales/``.
EDITIONS = {"en": ROOT / "_build" / "html", "zh_CN": ROOT / "_build" / "html" / "zh"}
GETTEXT_DIR = ROOT / "_build" / "gettext"


def sphinx_command(builder: str, language: str = "en") -> list[str]:
    """The command that runs one Sphinx build of the book (``html`` of one edition, or
    ``gettext``) in a fresh Python process: see :func:`run_sphinx`."""
    return [sys.executable, str(Path(__file__).resolve()), "sphinx", builder, language]


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
    translation (``tools/translations.py check``), then the English edition into
    ``_build/html`` and the Chinese one into ``_build/html/zh``. Stops at the first failure;
    with ``capture`` the output is returned instead of printed."""
    steps = [
        [sys.executable, str(ROOT / "tools" / "translations.py"), "check"],
        sphinx_command("html", "en"),
        sphinx_command("html", "zh_CN"),
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
    elif sys.argv[1:] == ["build"]:
        sys.exit(build().returncode)
    elif len(sys.argv) == 4 and sys.argv[1] == "sphinx" and sys.argv[3] in EDITIONS:
        sys.exit(run_sphinx(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(
            "usage: python tools/nbtools.py refresh [NOTEBOOK.ipynb ...] | build | sphinx html|gettext en|zh_CN"
        )
