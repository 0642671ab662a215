"""Spectrum summaries of (restricted) Hessians."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_array, check_real
from ..backend import namespace_of, to_numpy
from .checks import DENSE_RTOL, batch_is_empty, check_mask_for, check_square_symmetric
from .matrices import masked_hessian, projected_hessian

__all__ = ["SpectrumSummary", "condition_numbers", "summarize_eigenvalues", "restricted_spectrum",
           "is_local_min"]


@dataclass(frozen=True)
class SpectrumSummary:
    """Extreme eigenvalues, inertia and conditioning of a restricted Hessian.

    Scalars for one matrix; NumPy arrays of the batch shape for a stack.  See
    the module notes for the exact meaning of ``n_negative`` and
    ``condition_number``.

    Attributes
    ----------
    lambda_max, lambda_min : float or ndarray
        Largest and smallest (algebraic) eigenvalue found.
    n_negative : int or ndarray
        Eigenvalues below ``-zero_tol`` (exact count or lower bound).
    n_negative_exact : bool or ndarray
        Whether ``n_negative`` is the exact count.
    condition_number : float or ndarray
        ``λ_max/λ_min`` (positive definite), ``inf`` (singular PSD), ``nan`` (indefinite).
    zero_tol : float or ndarray
        The threshold under which an eigenvalue counts as zero.
    dim : int
        Active dimension ``k`` of the restricted matrix.
    eigenvalues : array
        The eigenvalues computed, ascending (all of them for a dense solve; the
        ``k`` smallest then the ``k`` largest for Lanczos), on the input's device.
    method : str
        ``"eigh"``, ``"lanczos"`` or ``"dense"``.
    converged : bool
        False only for a Lanczos run stopped by ``maxiter`` with
        ``allow_unconverged=True`` (then the values are the converged Ritz
        values ARPACK returned, or NaN when there were none).
    n_matvec : int
        Operator products used (0 for explicit dense solves).
    """

    lambda_max: Any
    lambda_min: Any
    n_negative: Any
    n_negative_exact: Any
    condition_number: Any
    zero_tol: Any
    dim: int
    eigenvalues: Any
    method: str
    converged: bool = True
    n_matvec: int = 0

    @property
    def is_local_min(self) -> Any:
        """``λ_min >= -zero_tol`` (second-order necessary condition on the active subspace)."""
        return np.asarray(self.lambda_min) >= -np.asarray(self.zero_tol)


def condition_numbers(lam_max: np.ndarray, lam_min: np.ndarray, zero_tol: np.ndarray) -> np.ndarray:
    lam_max, lam_min, zero_tol = np.broadcast_arrays(
        np.asarray(lam_max, float), np.asarray(lam_min, float), np.asarray(zero_tol, float))
    kappa = np.full(lam_max.shape, np.nan)
    pd = lam_min > zero_tol
    with np.errstate(over="ignore"):  # a ratio beyond the float range is inf
        kappa[pd] = lam_max[pd] / lam_min[pd]
    kappa[np.abs(lam_min) <= zero_tol] = np.inf
    return kappa


def _scalarize(x: np.ndarray, batch: tuple) -> Any:
    if batch:
        return x
    return x.item() if hasattr(x, "item") else x


def summarize_eigenvalues(eigenvalues: Any, *, rtol: float = DENSE_RTOL) -> SpectrumSummary:
    """Summarise a complete set of eigenvalues (last axis), batched.

    Parameters
    ----------
    eigenvalues : array, shape (..., k)
        All eigenvalues of each matrix (any order), ``k >= 1``; an empty batch
        (a batch axis of length 0) gives empty arrays.
    rtol : float
        Relative zero tolerance (see the module notes).

    Examples
    --------
    >>> s = summarize_eigenvalues(np.array([[1.0, 4.0], [-1.0, 2.0], [0.0, 3.0]]))
    >>> s.condition_number, s.n_negative
    (array([ 4., nan, inf]), array([0, 1, 0]))
    """
    check_array("eigenvalues", eigenvalues, finite=True, min_ndim=1, kinds="f")
    batch = tuple(eigenvalues.shape[:-1])
    empty = batch_is_empty(batch)
    if eigenvalues.shape[-1] < 1 and not empty:
        raise ValueError("eigenvalues must hold at least one eigenvalue per matrix (last "
                         f"axis); got shape {tuple(eigenvalues.shape)}")
    rtol = check_real("rtol", rtol, low=0.0, high=1.0)
    xp = namespace_of(eigenvalues)
    ev = xp.sort(eigenvalues, axis=-1)
    if empty:
        lam_min = lam_max = np.zeros(batch)
    else:
        lam_min = to_numpy(ev[..., 0]).astype(float)
        lam_max = to_numpy(ev[..., -1]).astype(float)
    zero_tol = rtol * np.maximum(np.abs(lam_min), np.abs(lam_max))
    n_neg = to_numpy(xp.sum(ev < -xp.asarray(zero_tol)[..., None], axis=-1)).astype(np.int64)
    kappa = condition_numbers(lam_max, lam_min, zero_tol)
    return SpectrumSummary(
        lambda_max=_scalarize(lam_max, batch), lambda_min=_scalarize(lam_min, batch),
        n_negative=_scalarize(n_neg, batch),
        n_negative_exact=True if not batch else np.ones(batch, dtype=bool),
        condition_number=_scalarize(kappa, batch), zero_tol=_scalarize(zero_tol, batch),
        dim=int(ev.shape[-1]), eigenvalues=ev, method="eigh")


def restricted_spectrum(H: Any, mask: Any, *, rtol: float = DENSE_RTOL) -> SpectrumSummary:
    """All eigenvalues of the restricted Hessian ``H[S, S]`` and their summary.

    Dense ``eigvalsh`` on the stack of restricted matrices (batched over the
    broadcast leading axes; no loop).  ``n_negative`` is exact.

    Parameters
    ----------
    H : array, shape (..., d, d)
    mask : array, shape (..., d)
        See :func:`masked_hessian`.
    rtol : float
        Relative zero tolerance: eigenvalues within
        ``rtol * max(|λ_max|, |λ_min|)`` of zero count as zero.

    Returns
    -------
    SpectrumSummary

    Examples
    --------
    >>> H = np.array([[1.0, 2.0], [2.0, 1.0]])          # eigenvalues -1 and 3
    >>> restricted_spectrum(H, np.array([True, True])).n_negative
    1
    >>> restricted_spectrum(H, np.array([True, False])).condition_number
    1.0
    """
    sub = masked_hessian(H, mask)
    xp = namespace_of(sub)
    return summarize_eigenvalues(xp.linalg.eigvalsh(sub), rtol=rtol)


def is_local_min(H: Any, mask: Any, tol: float = 1e-8) -> Any:
    """Whether the restricted Hessian is positive semi-definite.

    True when ``λ_min(H[S, S]) >= -tol * max(|λ_max|, |λ_min|)``: the
    second-order necessary condition for a local minimum of the pruned problem
    at a critical point (a saddle of the full problem whose negative curvature
    the mask removes passes this test).  Batched; returns a bool array of the
    broadcast batch shape (a NumPy bool scalar for one matrix).

    An empty batch (a batch axis of length 0) gives an empty bool array.

    Raises
    ------
    ValueError
        As :func:`masked_hessian`, or a negative ``tol``.

    Examples
    --------
    >>> H = np.diag([1.0, -1.0])
    >>> is_local_min(H, np.array([[True, False], [True, True]]))
    array([ True, False])
    """
    tol = check_real("tol", tol, low=0.0, high=1.0)
    H = check_square_symmetric("H", H)
    mask = check_mask_for(mask, H)
    xp = namespace_of(H, mask)
    batch = np.broadcast_shapes(tuple(mask.shape[:-1]), tuple(H.shape[:-2]))
    if batch_is_empty(batch):  # an empty batch: an empty answer
        return np.zeros(batch, dtype=bool)
    counts = xp.sum(mask, axis=-1)
    if int(xp.min(counts)) < 1:
        raise ValueError("mask must keep at least one coordinate; got an all-False mask")
    if int(xp.min(counts)) == int(xp.max(counts)):
        return restricted_spectrum(H, mask, rtol=tol).is_local_min
    # Kept counts differ across the batch: the spectrum of P_m H P_m is that of
    # H[S, S] plus d - k zeros, so it is PSD exactly when H[S, S] is, and its
    # extreme nonzero eigenvalues set the same tolerance scale.
    ev = xp.linalg.eigvalsh(projected_hessian(H, mask))
    scale = xp.maximum(xp.abs(ev[..., 0]), xp.abs(ev[..., -1]))
    out = to_numpy(ev[..., 0] >= -tol * scale)
    return out if out.ndim else np.bool_(out)
