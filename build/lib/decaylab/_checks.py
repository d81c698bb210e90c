"""Argument checks shared by decaylab's public functions.

One helper per kind of argument, and one error type per kind of mistake:
``TypeError`` when the value has the wrong type (a string where a number is expected, a
float where a whole number is), ``ValueError`` when it has the right type but a value that
is not accepted (out of range, not finite, not one of the choices). Every message names the
argument and says what is accepted, so a reader who mistypes a notebook cell is told what
to change. NumPy scalars (``np.float32(1e-6)``, ``np.int64(100)``, ``np.bool_(True)``)
are accepted wherever the Python type is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np


def one_of(name: str, value, accepted: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``accepted`` strings, else raise."""
    accepted = tuple(accepted)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_quoted(accepted)}; got {value!r}")
    if value not in accepted:
        raise ValueError(f"{name} must be one of {_quoted(accepted)}; got {value!r}")
    return value


def real(name: str, value, *, low=None, high=None, low_open=False, high_open=False, finite=True) -> float:
    """Return ``value`` as a float after checking it is a finite real in the range.

    With ``finite=False`` NaN and infinities are let through (a measured value that a check
    then fails on); a one-element NumPy array counts as its element."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.floating | np.integer):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not finite:
        return value
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}; got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}; got {value!r}")
    return value


def integer(name: str, value, *, low=None, high=None) -> int:
    """Return ``value`` as an int after checking it is a whole number (not a bool) in ``[low, high]``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral | np.integer):
        raise TypeError(f"{name} must be a whole number; got {type(value).__name__} {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}; got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value!r}")
    return value


def flag(name: str, value) -> bool:
    """Return ``value`` as a bool after checking it is ``True`` or ``False`` (or a NumPy bool)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


def text(name: str, value, *, what: str = "a non-empty string") -> str:
    """Return ``value`` if it is a string with something in it, else raise (``what`` says what it is for)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {what}; got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must be {what}; got an empty string")
    return value


def betas(value) -> tuple[float, float]:
    """Adam's ``betas``: a pair of numbers in [0, 1)."""
    if not isinstance(value, Sequence | np.ndarray) or isinstance(value, str) or len(value) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2) of numbers in [0, 1); got {value!r}")
    return (
        real("betas[0]", value[0], low=0.0, high=1.0, high_open=True),
        real("betas[1]", value[1], low=0.0, high=1.0, high_open=True),
    )


def array(name: str, value) -> np.ndarray:
    """Return ``value`` as a float64 NumPy array, refusing non-numeric or non-finite input
    (and ``None``, which NumPy would quietly turn into NaN)."""
    if value is None:
        raise TypeError(f"{name} must be an array of real numbers; got None")
    if not (isinstance(value, np.ndarray) and value.dtype != object) and any(
        v is None for v in np.asarray(value, dtype=object).ravel()
    ):
        raise TypeError(f"{name} must be an array of real numbers; got None among its elements")
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


def unused(name: str, by: str, why: str) -> ValueError:
    """The error for a hyperparameter that ``by`` would silently ignore (raise it).

    >>> raise unused("eps", "kind='sgd'", "only by 'adam'")
    Traceback (most recent call last):
    ...
    ValueError: eps is not used by kind='sgd' (only by 'adam'); leave it out
    """
    return ValueError(f"{name} is not used by {by} ({why}); leave it out")


def _quoted(items: tuple[str, ...]) -> str:
    return ", ".join(repr(i) for i in items)
