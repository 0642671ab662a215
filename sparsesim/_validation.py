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
    "interval_text",
    "first_bad",
    "as_float",
    "as_numeric",
    "check_int",
    "check_real",
    "check_int_array",
    "check_real_array",
    "check_log_prob_array",
    "check_bool",
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


def _bound_text(x: float | None, default: str) -> str:
    if x is None:
        return default
    if isinstance(x, numbers.Integral):
        return str(int(x))
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else f"{x:g}"


def interval_text(low: float | None, high: float | None, *, low_open: bool = False,
                  high_open: bool = False, infinite_open: bool = True) -> str:
    """The interval ``[low, high]`` as written in error messages.

    ``None`` is an infinite end, drawn open unless ``infinite_open=False``;
    integral bounds print without a decimal point.

    Examples
    --------
    >>> interval_text(0.0, 1.0, low_open=True)
    '(0, 1]'
    >>> interval_text(None, 5, infinite_open=False)
    '[-inf, 5]'
    >>> interval_text(1e-300, None)
    '[1e-300, inf)'
    """
    left = "(" if low_open or (low is None and infinite_open) else "["
    right = ")" if high_open or (high is None and infinite_open) else "]"
    return f"{left}{_bound_text(low, '-inf')}, {_bound_text(high, 'inf')}{right}"


def first_bad(arr: Any, bad: Any) -> str:
    """The first element of ``arr`` where ``bad`` holds, for an error message.

    A 0-d array shows its value; a larger one its value and index.

    Examples
    --------
    >>> first_bad(np.array([1, -2, -3]), np.array([False, True, True]))
    '-2 (at index (1,))'
    >>> first_bad(np.array(-0.5), np.array(True))
    '-0.5'
    """
    value = np.asarray(arr)[np.asarray(bad)].flat[0]
    value = value.item() if hasattr(value, "item") else value
    if np.ndim(arr) == 0:
        return repr(value)
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{value!r} (at index {idx})"


def as_float(name: str, value: Any) -> float:
    """A real scalar as a Python float (NaN and infinities pass; see :func:`check_real`).

    Booleans and non-real values raise ``TypeError``; an integer beyond the
    float range raises ``ValueError``.

    Examples
    --------
    >>> as_float("alpha", 1)
    1.0
    >>> as_float("alpha", 2**1100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: alpha must be finite; got an integer beyond the float range (...)
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {short_repr(value)} "
                        f"of type {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:  # an integer beyond the float range, e.g. 2**1100
        raise ValueError(f"{name} must be finite; got an integer beyond the float "
                         f"range ({short_repr(value)})") from None


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
        raise ValueError(f"{name} must be in "
                         f"{interval_text(low, high, infinite_open=False)}; got {value}")
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
    value = as_float(name, value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    bad = ((low is not None and (value < low or (low_open and value == low)))
           or (high is not None and (value > high or (high_open and value == high))))
    if bad:
        raise ValueError(f"{name} must be in "
                         f"{interval_text(low, high, low_open=low_open, high_open=high_open)}; "
                         f"got {value}")
    return value


# ---------------------------------------------------------------------------
# array_like arguments checked element by element (host data: NumPy)
# ---------------------------------------------------------------------------

def as_numeric(name: str, value: Any, kinds: str = "iuf", *,
               what: str | None = None) -> np.ndarray:
    """``numpy.asarray(value)``, refusing booleans and dtypes outside ``kinds``.

    ``what`` (e.g. ``"a real number or an array of reals"``) words the
    ``TypeError``; without it the message lists the allowed dtype kinds.

    Examples
    --------
    >>> as_numeric("p_values", [0.5, 1]).dtype.kind
    'f'
    >>> as_numeric("p_values", ["a"])
    Traceback (most recent call last):
    ...
    TypeError: p_values must have a dtype of kind ['f', 'i', 'u']; got ['a'] of dtype <U1
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what or 'numeric'}; got {short_repr(value)} "
                        f"of type {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be {what or 'array_like'}; "
                        f"got {type(value).__name__}") from exc
    if arr.dtype.kind not in kinds:
        wanted = what or f"have a dtype of kind {sorted(kinds)}"
        raise TypeError(f"{name} must {'be ' if what else ''}{wanted}; "
                        f"got {short_repr(value)} of dtype {arr.dtype}")
    return arr


_INTEGERS = "an integer or an array of integers"
_REALS = "a real number or an array of reals"


def _range_check(name: str, arr: np.ndarray, low, high, low_open: bool = False,
                 high_open: bool = False) -> np.ndarray:
    bad = np.zeros(arr.shape, dtype=bool)
    if low is not None:
        bad |= (arr < low) | ((arr == low) if low_open else False)
    if high is not None:
        bad |= (arr > high) | ((arr == high) if high_open else False)
    if bad.any():
        text = interval_text(low, high, low_open=low_open, high_open=high_open)
        raise ValueError(f"{name} must be in {text}; got {first_bad(arr, bad)}")
    return arr


def check_int_array(name: str, value: Any, *, low: int | None = 0,
                    high: int | None = None) -> np.ndarray:
    """``value`` (an int or array_like of ints) as int64, every element in ``[low, high]``.

    A 0-d array comes back for a scalar.  Floats are refused even when
    integral (a count given as a float is usually a bug), and so are values
    outside the int64 range.

    Examples
    --------
    >>> check_int_array("k", [0, 3]).tolist()
    [0, 3]
    >>> check_int_array("k", [1, -2, 3])
    Traceback (most recent call last):
    ...
    ValueError: k must be in [0, inf); got -2 (at index (1,))
    >>> check_int_array("k", 2.0)
    Traceback (most recent call last):
    ...
    TypeError: k must be an integer or an array of integers; got 2.0 of dtype float64
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if not -(2 ** 63) <= int(value) < 2 ** 63:
            raise ValueError(f"{name} must be in {interval_text(low, high)}; got {int(value)}")
        arr = np.asarray(int(value), dtype=np.int64)
    else:
        arr = as_numeric(name, value, "iu", what=_INTEGERS)
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2 ** 63:
            raise ValueError(f"{name} must be in {interval_text(low, high)}; "
                             f"got {int(arr.max())}")
        arr = arr.astype(np.int64)
    return _range_check(name, arr, low, high)


def check_real_array(name: str, value: Any, *, low: float | None = None,
                     high: float | None = None, low_open: bool = False,
                     high_open: bool = False) -> np.ndarray:
    """``value`` as a finite float64 array (0-d for a scalar), every element checked.

    Examples
    --------
    >>> check_real_array("sigma", [1, 2.5], low=0.0, low_open=True).tolist()
    [1.0, 2.5]
    >>> check_real_array("sigma", [1.0, 0.0], low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be in (0, inf); got 0.0 (at index (1,))
    >>> check_real_array("t", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: t must be finite; got nan
    """
    arr = as_numeric(name, value, "iuf", what=_REALS).astype(np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        raise ValueError(f"{name} must be finite; got {first_bad(arr, ~finite)}")
    return _range_check(name, arr, low, high, low_open, high_open)


def check_log_prob_array(name: str, value: Any, *, what: str | None = _REALS) -> np.ndarray:
    """A log-probability as float64: every element in ``[-inf, 0]``, NaN refused.

    Examples
    --------
    >>> check_log_prob_array("log_p", [-1.0, -np.inf]).tolist()
    [-1.0, -inf]
    >>> check_log_prob_array("log_p", [-1.0, 0.5])
    Traceback (most recent call last):
    ...
    ValueError: log_p must be in [-inf, 0]; got 0.5 (at index (1,))
    """
    arr = as_numeric(name, value, "iuf", what=what).astype(np.float64)
    bad = np.isnan(arr) | (arr > 0)
    if bad.any():
        raise ValueError(f"{name} must be in [-inf, 0]; got {first_bad(arr, bad)}")
    return arr


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a Python bool; anything but a bool is a ``TypeError``.

    Examples
    --------
    >>> check_bool("log", True)
    True
    >>> check_bool("log", 1)
    Traceback (most recent call last):
    ...
    TypeError: log must be a bool; got 1 of type int
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {short_repr(value)} "
                        f"of type {type(value).__name__}")
    return bool(value)


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
