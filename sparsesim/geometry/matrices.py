"""Explicit matrices: the masked and projected Hessian, the local-minimum test, inertia."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_real
from ..backend import namespace_of, to_numpy
from .checks import DENSE_RTOL, active_indices, batch_is_empty, check_mask_for, \
    check_square_symmetric, kept_count

__all__ = ["masked_hessian", "projected_hessian", "sylvester_inertia"]



def masked_hessian(H: Any, mask: Any) -> Any:
    """The restriction of ``P_m H P_m`` to the kept coordinates: ``H[S, S]``.

    Parameters
    ----------
    H : array, shape (..., d, d)
        Real symmetric matrix or stack of matrices (NumPy or CuPy).
    mask : array, shape (..., d)
        Boolean (or 0/1) mask; its batch axes broadcast against ``H``'s.  Every
        mask in a batch must keep the same number ``k >= 1`` of coordinates.

    Returns
    -------
    array, shape (broadcast batch, k, k)
        Kept rows and columns of ``H`` in ascending index order.  An empty
        batch (a batch axis of length 0) gives an empty stack, with ``k`` taken
        from ``mask`` when it holds any mask (else ``k = 0``).

    Raises
    ------
    ValueError
        If ``H`` is not square or not symmetric, the mask's last axis is not
        ``d``, its batch shape does not broadcast, or the kept counts differ.

    Examples
    --------
    >>> H = np.arange(9.0).reshape(3, 3); H = H + H.T
    >>> masked_hessian(H, np.array([1, 0, 1]))
    array([[ 0.,  8.],
           [ 8., 16.]])
    >>> masked_hessian(np.ones((2, 3)), np.ones(3, bool))
    Traceback (most recent call last):
    ...
    ValueError: H must be square in its last two axes; got shape (2, 3)
    """
    H = check_square_symmetric("H", H)
    mask = check_mask_for(mask, H)
    xp = namespace_of(H, mask)
    batch = np.broadcast_shapes(tuple(mask.shape[:-1]), tuple(H.shape[:-2]))
    d = H.shape[-1]
    if batch_is_empty(batch):
        k = kept_count(mask) if mask.size else 0
        return xp.zeros(batch + (k, k), dtype=H.dtype)
    idx = active_indices(xp.broadcast_to(mask, batch + (d,)))
    Hb = xp.broadcast_to(H, batch + (d, d))
    rows = xp.take_along_axis(Hb, idx[..., :, None], axis=-2)      # (..., k, d)
    return xp.take_along_axis(rows, idx[..., None, :], axis=-1)     # (..., k, k)


def projected_hessian(H: Any, mask: Any) -> Any:
    """The ``d x d`` matrix ``P_m H P_m`` (pruned rows and columns set to zero).

    Examples
    --------
    >>> projected_hessian(np.ones((2, 2)), np.array([True, False]))
    array([[1., 0.],
           [0., 0.]])
    """
    H = check_square_symmetric("H", H)
    mask = check_mask_for(mask, H)
    m = mask.astype(H.dtype)
    return H * m[..., :, None] * m[..., None, :]


def sylvester_inertia(A: Any, *, rtol: float = DENSE_RTOL) -> tuple[int, int, int]:
    """``(n_positive, n_negative, n_zero)`` of a symmetric matrix by ``LDLᵀ``.

    Sylvester's law of inertia: ``A = L D Lᵀ`` (``scipy.linalg.ldl``,
    Bunch-Kaufman pivoting, ``D`` block diagonal with 1 x 1 and 2 x 2 blocks)
    is a congruence, so ``A`` and ``D`` have the same numbers of positive,
    negative and zero eigenvalues, and those of ``D`` are read off its blocks
    in closed form.  Costs one factorisation (``d³/3`` flops) instead of an
    eigen-decomposition.  An eigenvalue of ``D`` within
    ``rtol * max |eig(D)|`` of zero counts as zero; ``D``'s eigenvalues are not
    ``A``'s, so for a numerically singular ``A`` the zero/sign split can differ
    from :func:`restricted_spectrum`'s (exact for non-singular, reasonably
    conditioned ``A``).  Computed on the host (CuPy input is copied).

    Parameters
    ----------
    A : array, shape (d, d)
        One real symmetric matrix (e.g. ``masked_hessian(H, mask)``).
    rtol : float
        Relative zero tolerance on the eigenvalues of ``D``.

    Examples
    --------
    >>> sylvester_inertia(np.array([[0.0, 1.0], [1.0, 0.0]]))   # eigenvalues ±1
    (1, 1, 0)
    >>> sylvester_inertia(np.diag([3.0, 0.0, -2.0, -1.0]))
    (1, 2, 1)
    """
    import scipy.linalg  # noqa: PLC0415 - SciPy is heavy; only needed here

    A = check_square_symmetric("A", A)
    if A.ndim != 2:
        raise ValueError(f"A must be one matrix (2 dimensions); got shape {tuple(A.shape)}")
    rtol = check_real("rtol", rtol, low=0.0, high=1.0)
    a = to_numpy(A).astype(np.float64)
    _, D, _ = scipy.linalg.ldl(a, lower=True, hermitian=True)
    n = D.shape[0]
    diag = np.diag(D).copy()
    off = np.diag(D, -1) if n > 1 else np.zeros(0)
    eig = diag.copy()
    starts = np.flatnonzero(off != 0.0)  # a 2 x 2 block occupies rows (i, i+1)
    if starts.size:
        a11, a22, b = diag[starts], diag[starts + 1], off[starts]
        mean, half = 0.5 * (a11 + a22), np.hypot(0.5 * (a11 - a22), b)
        eig[starts], eig[starts + 1] = mean - half, mean + half
    scale = float(np.max(np.abs(eig))) if n else 0.0
    zero = rtol * scale
    return int(np.sum(eig > zero)), int(np.sum(eig < -zero)), int(np.sum(np.abs(eig) <= zero))
