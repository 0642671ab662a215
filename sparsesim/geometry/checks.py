"""Limits and argument checks shared by the geometry modules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_array
from ..backend import namespace_of

__all__ = ["DENSE_RTOL", "MAX_LANCZOS_ITER", "MAX_DENSE_FALLBACK", "MAX_PROBES",
           "check_square_symmetric", "check_mask_for", "kept_count", "batch_is_empty",
           "active_indices"]


# Default relative zero tolerance for eigenvalues computed by a dense solver.
DENSE_RTOL = 1e-10
#: Largest ``maxiter`` passed to the Lanczos solver (ARPACK counts in 32-bit integers).
MAX_LANCZOS_ITER = 2**31 - 1
#: Largest active dimension solved densely when the Lanczos solver breaks down.
MAX_DENSE_FALLBACK = 4096
#: Largest number of probes of :func:`estimate_negative_count` (each runs ``n_steps``
#: operator products; more probes than this are taken as a mistake).
MAX_PROBES = 1 << 16



def check_square_symmetric(name: str, H: Any, *, sym_rtol: float = 1e-10) -> Any:
    """``H`` of shape (..., d, d), real, finite and symmetric to ``sym_rtol``.

    Integer matrices are promoted to float64 and float16 ones to float32 (the
    dense and sparse eigensolvers and the random start vectors need float32 or
    float64); the promoted array is returned.
    """
    check_array(name, H, finite=True, min_ndim=2, kinds="iuf")
    if H.shape[-1] != H.shape[-2]:
        raise ValueError(f"{name} must be square in its last two axes; got shape {tuple(H.shape)}")
    if H.shape[-1] < 1:
        raise ValueError(f"{name} must be at least 1 x 1; got shape {tuple(H.shape)}")
    xp = namespace_of(H)
    if H.dtype.kind != "f":
        H = H.astype(xp.float64)
    elif H.dtype.itemsize < 4:  # float16
        H = H.astype(xp.float32)
    scale = float(xp.max(xp.abs(H))) if H.size else 0.0
    with np.errstate(over="ignore"):  # |H - Hᵀ| beyond the float range: inf, asymmetric
        asym = float(xp.max(xp.abs(H - xp.swapaxes(H, -1, -2)))) if H.size else 0.0
    if asym > sym_rtol * scale:
        raise ValueError(f"{name} must be symmetric; max |{name} - {name}ᵀ| = {asym:.3g} "
                         f"exceeds {sym_rtol:g} * max |{name}| = {sym_rtol * scale:.3g}")
    return H


def check_mask_for(mask: Any, H: Any) -> Any:
    """A boolean mask of shape (..., d) matching ``H`` (..., d, d)."""
    check_array("mask", mask, finite=True, min_ndim=1, kinds="biuf")
    d = H.shape[-1]
    if mask.shape[-1] != d:
        raise ValueError(f"mask must have {d} entries in its last axis (H is "
                         f"{tuple(H.shape)}); got shape {tuple(mask.shape)}")
    try:
        np.broadcast_shapes(tuple(mask.shape[:-1]), tuple(H.shape[:-2]))
    except ValueError:
        raise ValueError(f"mask batch shape {tuple(mask.shape[:-1])} does not broadcast with "
                         f"H batch shape {tuple(H.shape[:-2])}") from None
    xp = namespace_of(mask)
    if mask.dtype.kind != "b":
        if not bool(xp.all((mask == 0) | (mask == 1))):
            raise ValueError("mask must be boolean or contain only 0 and 1")
        mask = mask != 0
    return mask


def kept_count(mask: Any) -> int:
    """The common number ``k >= 1`` of kept coordinates of a non-empty stack of masks."""
    xp = namespace_of(mask)
    counts = xp.sum(mask, axis=-1)
    lo, hi = int(xp.min(counts)), int(xp.max(counts))
    if lo != hi:
        raise ValueError("mask must keep the same number of coordinates in every batch "
                         f"entry (the restricted matrices are stacked); got counts from {lo} to {hi}")
    if hi < 1:
        raise ValueError("mask must keep at least one coordinate; got an all-False mask")
    return hi


def batch_is_empty(batch: tuple) -> bool:
    return math.prod(batch) == 0


def active_indices(mask: Any) -> Any:
    """Indices of the kept coordinates, ascending, shape (..., k); one ``k`` per batch."""
    xp = namespace_of(mask)
    hi = kept_count(mask)
    d = mask.shape[-1]
    ar = xp.arange(d)
    key = xp.where(mask, ar, ar + d)  # kept coordinates sort first, in index order
    return xp.sort(key, axis=-1)[..., :hi]
