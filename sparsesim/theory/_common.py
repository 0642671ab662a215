"""Argument checks and output helpers shared by the closed forms of :mod:`sparsesim.theory`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_int_array

#: Largest count accepted: every integer up to 2**53 is exact in float64.
MAX_COUNT = 2 ** 53

_SQRT1_2 = math.sqrt(0.5)
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_SQRT_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)
_TINY_Q = 1e-20          # below this, log1p(-q) == -q in float64
_TINY_PROB = 1e-280      # below this a probability is recomputed in log space


# ---------------------------------------------------------------------------
# argument checks (vectorised; every element is checked)
# ---------------------------------------------------------------------------

def _int_arg(name: str, value: Any, *, low: int = 0) -> np.ndarray:
    """A count (or array of counts) in ``[low, MAX_COUNT]`` as int64."""
    return check_int_array(name, value, low=low, high=MAX_COUNT)




def _broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in arrays.items())
        raise ValueError(f"arguments do not broadcast together: {shapes}") from None


def _at_most(name: str, x: np.ndarray, ref_name: str, ref: np.ndarray) -> None:
    """Raise unless ``x <= ref`` elementwise (both already broadcast)."""
    bad = x > ref
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if x.ndim else ()
        raise ValueError(f"{name} must be in [0, {ref_name}]; got {name}={int(x[i])} "
                         f"with {ref_name}={int(ref[i])}")


def _ratio(num: Any, den: Any) -> np.ndarray:
    """``num / den`` for finite ``num`` and ``den > 0``: a quotient beyond the float
    range is ``+-inf`` and one below it ``0`` (limits every caller handles),
    without floating-point warnings."""
    with np.errstate(over="ignore", under="ignore"):
        return np.true_divide(num, den)


def _scaled(scale: Any, x: Any) -> np.ndarray:
    """``scale * x`` (a threshold in units of ``scale``); ``inf`` where it exceeds
    the float range."""
    with np.errstate(over="ignore", under="ignore"):
        return np.multiply(scale, x)


def _out(x: np.ndarray) -> Any:
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _finish(log_value: np.ndarray, log: bool) -> Any:
    if log:
        return _out(log_value + 0.0)      # + 0.0 turns -0.0 into 0.0
    with np.errstate(under="ignore"):
        return _out(np.exp(log_value))


def _each(core: Any, *arrays: np.ndarray) -> Any:
    """``core`` (Python scalars in, a float out) at every element of the broadcast
    ``arrays``: a Python float for an all-scalar call, else a float64 array.

    For the closed forms that need a quadrature or exact rational arithmetic per
    element; ``core`` gets Python ints and floats (``.item()``), as a scalar
    call would.
    """
    out = np.empty(arrays[0].shape, dtype=np.float64)
    for idx in np.ndindex(out.shape):
        out[idx] = core(*(a[idx].item() for a in arrays))
    return float(out[()]) if out.ndim == 0 else out


def _times(count: np.ndarray, log_value: np.ndarray) -> np.ndarray:
    """``count * log_value`` with ``0 * (-inf) = 0`` (a zero exponent); a product
    below the float range is ``-inf`` (a probability that is 0 in float64)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(count == 0, 0.0, count * log_value)

