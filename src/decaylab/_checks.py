"""Argument checks shared by decaylab's public functions.

Every check raises ``ValueError`` or ``TypeError`` with a message that names the
argument and says what is accepted, so a reader who mistypes a notebook cell gets
told what to change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import numpy as np


def one_of(name: str, value, accepted: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``accepted`` strings, else raise."""
    accepted = tuple(accepted)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_quoted(accepted)}; got {value!r}")
    if value not in accepted:
        raise ValueError(f"{name} must be one of {_quoted(accepted)}; got {value!r}")
    return value


def real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Return ``value`` as a float after checking it is a finite real in the range."""
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}; got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}; got {value!r}")
    return value


def array(name: str, value) -> np.ndarray:
    """Return ``value`` as a float64 NumPy array, refusing non-numeric or non-finite input."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers; got {type(value).__name__}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite numbers (no NaN or inf)")
    return arr


def same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise if two arrays differ in shape, naming both arguments."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b} must have the same shape as {name_a}: {name_a} has shape {a.shape}, "
            f"{name_b} has shape {b.shape}"
        )


def _quoted(items: tuple[str, ...]) -> str:
    return ", ".join(repr(i) for i in items)
