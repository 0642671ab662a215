"""Text codecs for the journal: histograms as sparse ``"value:count"`` strings.

A journal row holds flat scalars only, so a simulation that counts a
histogram per cell (the support-recovery family) writes it with
:func:`hist_to_str` and its report reads it back with :func:`hist_from_str`.
The codec sits below every simulation and the sweep, so that a simulation and
its report import it from the same low layer.

Examples
--------
>>> hist_to_str([0, 12, 0, 3])
'1:12,3:3'
>>> hist_from_str("1:12,3:3", 4).tolist()
[0, 12, 0, 3]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_int
from .backend import host_array

__all__ = ["MAX_LENGTH", "hist_to_str", "hist_from_str"]

#: Most bins of a decoded histogram: one per count ``0 .. 2**31`` of a trial
#: of at most ``2**31`` weights (the support-recovery simulators' cap).
MAX_LENGTH = (1 << 31) + 1


def hist_to_str(hist: Any) -> str:
    """Sparse text form of a histogram: ``"value:count,..."`` for non-zero counts.

    Examples
    --------
    >>> hist_to_str(np.array([0, 12, 0, 3]))
    '1:12,3:3'
    >>> hist_from_str('1:12,3:3', 5).tolist()
    [0, 12, 0, 3, 0]
    """
    if hist is None:
        return ""
    h = _check_hist(hist)
    return ",".join(f"{i}:{int(h[i])}" for i in np.flatnonzero(h))


def _check_hist(hist: Any) -> np.ndarray:
    """``hist`` as a 1-D host array of non-negative integral counts."""
    h = host_array("hist", hist, "None or a 1-D array of counts")
    if h.dtype.kind not in "biuf":
        raise TypeError(f"hist must hold integer counts; got dtype {h.dtype}")
    if h.ndim != 1:
        raise ValueError(f"hist must be 1-D (one count per value); got shape {h.shape}")
    if h.dtype.kind == "f" and not (np.isfinite(h).all() and (h == np.floor(h)).all()):
        raise ValueError("hist must hold whole, finite counts")
    if h.size and (h < 0).any():
        raise ValueError("hist must hold counts >= 0")
    return h


def hist_from_str(text: str, length: int) -> np.ndarray:
    """Inverse of :func:`hist_to_str` (``length`` bins, int64).

    ``text`` is ``""`` (all zeros) or comma-separated ``value:count`` items with
    distinct values in ``[0, length)`` and counts ``>= 0``;
    ``0 <= length <= MAX_LENGTH``.

    Raises
    ------
    TypeError, ValueError
        ``text`` not a string or malformed, or a value outside the ``length``
        bins (the message names the argument).
    """
    length = check_int("length", length, low=0, high=MAX_LENGTH)
    if not isinstance(text, str):
        raise TypeError(f"text must be a string of value:count items; got {type(text).__name__}")
    out = np.zeros(length, np.int64)
    if not text:
        return out
    seen = set()
    for item in text.split(","):
        parts = item.split(":")
        try:
            i, c = (int(x) for x in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            i = c = None
        if i is None:
            raise ValueError(f"text must hold comma-separated value:count items of integers; "
                             f"got the item {item!r}")
        if not 0 <= i < length:
            raise ValueError(f"text holds the value {i}, outside the bins [0, length) of "
                             f"length={length}")
        if c < 0 or c >= 2 ** 63:
            raise ValueError(f"text holds the count {c} for value {i}; counts must be in "
                             "[0, 2**63)")
        if i in seen:
            raise ValueError(f"text holds the value {i} twice")
        seen.add(i)
        out[i] = c
    return out
