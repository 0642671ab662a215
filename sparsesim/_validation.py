"""Argument checks shared by every public function.

One small set of helpers, reused everywhere (in the spirit of scikit-learn's
``check_array``): each raises ``TypeError`` for a value of the wrong kind and
``ValueError`` for a value out of range, and every message names the argument,
shows the offending value and states what is allowed.  Nothing is ever clipped.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any, Iterable

import numpy as np

__all__ = [
    "short_repr",
    "check_int",
    "check_real",
    "check_choice",
    "check_array",
    "check_same_shape",
]


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to 80 characters for error messages.

    Examples
    --------
    >>> short_repr("x" * 100)[-5:]
    'xx...'
    """
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(name: str, value: Any, *, low: int | None = None,
              high: int | None = None) -> int:
    """Return ``value`` as a Python int, checking ``low <= value <= high``.

    Booleans and non-integral numbers (``2.5``, ``nan``) are rejected with
    ``TypeError``; integral floats such as ``3.0`` are rejected too, because a
    count given as a float is usually a bug.

    Examples
    --------
    >>> check_int("k", 3, low=0, high=10)
    3
    >>> check_int("k", 11, low=0, high=10)
    Traceback (most recent call last):
    ...
    ValueError: k must be in [0, 10]; got 11
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {short_repr(value)} "
                        f"of type {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else str(high)
        raise ValueError(f"{name} must be in [{lo}, {hi}]; got {value}")
    return value


def check_real(name: str, value: Any, *, low: float | None = None,
               high: float | None = None, low_open: bool = False,
               high_open: bool = False) -> float:
    """Return ``value`` as a finite Python float inside the given interval.

    ``low_open``/``high_open`` make the corresponding bound strict.

    Examples
    --------
    >>> check_real("density", 0.5, low=0.0, high=1.0)
    0.5
    >>> check_real("sigma", 0.0, low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be in (0, inf); got 0.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {short_repr(value)} "
                        f"of type {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the float range, e.g. 2**1100
        raise ValueError(f"{name} must be finite; got an integer beyond the float "
                         f"range ({short_repr(value)})") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    bad = ((low is not None and (value < low or (low_open and value == low)))
           or (high is not None and (value > high or (high_open and value == high))))
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {'(' if low_open or low is None else '['}"
                         f"{lo}, {hi}{')' if high_open or high is None else ']'}; "
                         f"got {value}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``choices``.

    Examples
    --------
    >>> check_choice("backend", "numpy", ("auto", "numpy", "cupy"))
    'numpy'
    """
    choices = tuple(choices)
    if not isinstance(value, str) and any(isinstance(c, str) for c in choices):
        raise TypeError(f"{name} must be one of {choices}; got {short_repr(value)} "
                        f"of type {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {short_repr(value)}")
    return value


def check_array(name: str, x: Any, *, finite: bool = True, min_size: int = 0,
                ndim: int | None = None, min_ndim: int | None = None,
                kinds: str = "biuf") -> Any:
    """Check an array argument (NumPy or CuPy) and return it unchanged.

    Parameters
    ----------
    name : str
        The argument's name, used in messages.
    x : array
        NumPy or CuPy array.  Python lists are refused (``TypeError``) so that
        the caller's backend is never guessed.
    finite : bool
        Reject NaN and infinities (``ValueError``).
    min_size : int
        Smallest allowed number of elements.
    ndim, min_ndim : int or None
        Exact or minimal number of dimensions.
    kinds : str
        Allowed ``dtype.kind`` letters (default: bool, int, uint, float).

    Examples
    --------
    >>> check_array("w", np.array([1.0, np.nan]))
    Traceback (most recent call last):
    ...
    ValueError: w must not contain NaN or infinity
    """
    if not (hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "ndim")):
        raise TypeError(f"{name} must be a NumPy or CuPy array; got {type(x).__name__}")
    if x.dtype.kind not in kinds:
        raise TypeError(f"{name} must have a dtype of kind {sorted(kinds)}; "
                        f"got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions; "
                         f"got shape {tuple(x.shape)}")
    if x.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} elements; "
                         f"got shape {tuple(x.shape)}")
    if finite and x.dtype.kind in "fc" and x.size and not bool(_isfinite_all(x)):
        raise ValueError(f"{name} must not contain NaN or infinity")
    return x


def _isfinite_all(x: Any) -> Any:
    # The array's own module, chosen by sparsesim.backend.is_cupy's rule (the type's
    # top-level module) without importing the backend layer, which sits above this one.
    top = type(x).__module__.split(".")[0]
    # a CuPy array means its module is imported already: take it from sys.modules
    # (only sparsesim.backend imports CuPy)
    xp = sys.modules[top] if top == "cupy" and top in sys.modules else np
    return xp.isfinite(x).all()


def check_same_shape(name: str, x: Any, ref_name: str, ref: Any) -> None:
    """Raise ``ValueError`` unless ``x.shape == ref.shape``."""
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(f"{name} must have the shape of {ref_name} "
                         f"{tuple(ref.shape)}; got {tuple(x.shape)}")
