"""setup_notebook keeps Paddle's import quiet; capture_logs catches what a chapter shows."""

import logging
import os
import subprocess
import sys

import pytest

from decaylab.notebook import capture_logs, setup_notebook


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_plain_paddle_import_is_noisy():
    # What setup_notebook exists to undo: if this stops failing, the helper may be obsolete.
    proc = run("import logging, paddle; print(len(logging.getLogger().handlers), logging.getLogger().level)")
    assert proc.returncode == 0, proc.stderr
    handlers, level = proc.stdout.split()
    assert int(handlers) >= 1 and int(level) == logging.INFO


def test_setup_notebook_imports_paddle_without_stderr_and_restores_the_root_logger():
    code = (
        "from decaylab.notebook import setup_notebook\n"
        "setup_notebook()\n"
        "import logging, paddle, torch\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)\n"
        "logging.getLogger('matplotlib.font_manager').info('this must not appear')\n"
    )
    proc = run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", str(logging.WARNING)]
    assert proc.stderr == ""


def test_setup_notebook_leaves_the_kernels_to_the_machine_and_the_reader():
    # No pin of PyTorch's CPU kernels: a reader's run uses what their CPU offers, as CI's does
    # (the tests compare by meaning and re-run the notebooks on a second numerical path).
    def capability(setup: bool, **extra):
        code = (
            "import torch\n"
            + (
                "from decaylab.notebook import setup_notebook\nsetup_notebook(paddle=False)\n"
                if setup
                else ""
            )
            + "torch.ones(3).sum()\nprint(torch.backends.cpu.get_cpu_capability())\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"} | extra
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert capability(True) == capability(False)
    assert capability(True, ATEN_CPU_CAPABILITY="default") == "DEFAULT"


def test_capture_logs_collects_and_restores():
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    with capture_logs() as messages:
        logging.info("kept for printing")
        logging.getLogger("some.library").debug("below the level")
    assert messages == ["INFO: kept for printing"]
    assert (list(root.handlers), root.level) == before


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="paddle must be True or False"):
        setup_notebook(paddle="yes")
    with pytest.raises(TypeError, match="torch must be True or False"):
        setup_notebook(torch=1)
    with pytest.raises(TypeError, match="level must be a whole number"):
        with capture_logs(level="INFO"):
            pass
    with pytest.raises(TypeError, match="logger must be a logger name"):
        with capture_logs(logger=3):
            pass
