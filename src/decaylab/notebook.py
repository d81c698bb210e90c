"""Quiet, reproducible notebook setup, and capturing the log messages a chapter shows.

Importing PaddlePaddle has side effects that would leak into a chapter's stored
outputs:

* it attaches a ``StreamHandler`` to the **root** logger and sets the root level to
  INFO, so messages from every other library (matplotlib's font manager, for one)
  start appearing on stderr;
* it emits a ``UserWarning`` about ccache on stderr;
* its C++ core may log through glog to stderr.

:func:`setup_notebook` imports Paddle with those switched off and puts the root
logger back as Python configures it by default. Where a chapter wants to *show* a
message Paddle logs, it uses :func:`capture_logs` and prints what was captured.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

from . import _checks

__all__ = ["KERAS_BACKEND", "capture_logs", "import_keras", "setup_notebook"]

#: The book runs Keras 3 on its PyTorch backend (no TensorFlow): the one place this is set.
KERAS_BACKEND = "torch"


def setup_notebook(*, paddle: bool = True, torch: bool = True) -> None:
    """Prepare a chapter's kernel: quiet imports, default root logger, house plot style.

    Call it once, in the first code cell, before importing PaddlePaddle or PyTorch.
    ``paddle`` and ``torch`` say which frameworks to import here (importing them
    later is then free and silent). Idempotent.
    """
    paddle = _checks.flag("paddle", paddle)
    torch = _checks.flag("torch", torch)
    # PyTorch picks the CPU kernels of the reader's machine: the book's verdicts do not depend
    # on them, and its tests compare training summaries within declared tolerances.
    # glog (Paddle's C++ logging): only errors. Must be set before the import.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("GLOG_v", "0")
    warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)

    root = logging.getLogger()
    handlers_before = list(root.handlers)
    level_before = root.level
    if paddle:
        import paddle as _paddle  # noqa: F401  (imported for its side effects, undone below)
    if torch:
        import torch as _torch  # noqa: F401
    # Undo what the imports did to the root logger.
    for handler in list(root.handlers):
        if handler not in handlers_before:
            root.removeHandler(handler)
    root.setLevel(level_before if level_before != logging.NOTSET else logging.WARNING)

    from .plotting import use_house_style

    use_house_style()


@contextlib.contextmanager
def capture_logs(logger: str = "", level: int = logging.INFO) -> Iterator[list[str]]:
    """Collect the messages logged to ``logger`` (root by default) inside the block.

    Yields a list that fills with the formatted messages (``"LEVEL: message"``), so a
    chapter can print them on purpose instead of leaking them to stderr. The logger's
    level and handlers are restored afterwards, and the messages are not propagated
    to other handlers while captured.
    """
    if not isinstance(logger, str):
        raise TypeError(f"logger must be a logger name (a string, '' for the root logger); got {logger!r}")
    level = _checks.integer("level", level, low=0)
    messages: list[str] = []

    class _ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(f"{record.levelname}: {record.getMessage()}")

    target = logging.getLogger(logger)
    saved_level, saved_handlers, saved_propagate = target.level, list(target.handlers), target.propagate
    handler = _ListHandler(level)
    target.handlers = [handler]
    target.setLevel(level)
    target.propagate = False
    try:
        yield messages
    finally:
        target.handlers = saved_handlers
        target.setLevel(saved_level)
        target.propagate = saved_propagate


def import_keras():
    """Keras 3 on the book's backend (:data:`KERAS_BACKEND`): sets ``KERAS_BACKEND`` if unset
    and imports ``keras``; refuses another backend, asked for or already imported."""
    backend = os.environ.setdefault("KERAS_BACKEND", KERAS_BACKEND)
    if backend != KERAS_BACKEND:
        raise RuntimeError(
            f"the book runs Keras 3 on its {KERAS_BACKEND!r} backend; KERAS_BACKEND is {backend!r}"
        )
    import keras

    if keras.backend.backend() != KERAS_BACKEND:
        raise RuntimeError(
            f"Keras was already imported with the {keras.backend.backend()!r} backend; "
            f"set KERAS_BACKEND={KERAS_BACKEND} first"
        )
    return keras
