"""Masked Hessians: the curvature of the loss restricted to a pruning mask.

A mask ``m`` (boolean, ``d`` coordinates, ``k`` of them kept) defines the
projector ``P_m = diag(m)``.  The pruned network only moves inside the active
subspace, so its curvature is ``P_m H P_m`` *restricted to the active
coordinates*: the ``k x k`` principal submatrix ``H[S, S]`` with
``S = {i : m_i}``.  Two facts from linear algebra organise this module:

* a direction ``v`` supported on pruned coordinates has zero curvature,
  ``vᵀ (P_m H P_m) v = (P_m v)ᵀ H (P_m v) = 0``;
* Cauchy interlacing: the eigenvalues ``μ_1 <= ... <= μ_k`` of a principal
  submatrix satisfy ``λ_i(H) <= μ_i <= λ_{i+d-k}(H)``, so a mask can only
  remove negative curvature, never create it
  (``n_neg(H) - (d - k) <= n_neg(H[S, S]) <= n_neg(H)``).

Explicit matrices
-----------------
:func:`masked_hessian` (the submatrix), :func:`projected_hessian` (the
``d x d`` matrix ``P_m H P_m``), :func:`restricted_spectrum` (all eigenvalues
by ``eigvalsh``, batched over leading axes), :func:`is_local_min` and
:func:`sylvester_inertia` (eigenvalue signs from an ``LDLᵀ`` factorisation,
``scipy.linalg.ldl``, without computing eigenvalues).

Networks
--------
The Hessian of a real network is never materialised:
:func:`sparsesim.nn.hessian.mlp_masked_hessian_operator` wraps the exact Hessian-vector product of :mod:`sparsesim.nn.mlp` as a
:class:`MaskedHessianOperator` acting on the flattened active coordinates of
one model of a batch, and :func:`lanczos_extremes` computes its extreme
eigenvalues by Lanczos (``scipy.sparse.linalg.eigsh`` on NumPy,
``cupyx.scipy.sparse.linalg.eigsh`` on CuPy).

Devices
-------
Everything runs on the device of its inputs (NumPy or CuPy).  Lanczos needs
the sparse eigensolver of the matching library: ``scipy.sparse.linalg`` for
NumPy, ``cupyx.scipy.sparse.linalg`` for CuPy.  The latter is imported in one
place only, ``_sparse_linalg_for``, and only when the operator's arrays are
already CuPy arrays (the single exception to "only :mod:`sparsesim.backend`
touches CuPy").

What is reported (:class:`SpectrumSummary`)
-------------------------------------------
``zero_tol = rtol * max(|λ_max|, |λ_min|)`` separates "zero" from signed
eigenvalues; every relative tolerance (``rtol``, ``tol``) is in ``[0, 1]``.

* ``n_negative``: eigenvalues ``< -zero_tol``.  From ``eigvalsh`` (explicit
  matrices) it is the exact count.  From Lanczos it is the count among the
  ``k`` smallest algebraic eigenvalues computed; that is the exact count when
  it is smaller than ``k`` (then a non-negative eigenvalue was found among the
  ``k`` smallest, so every negative one was found) and a lower bound otherwise;
  ``n_negative_exact`` says which.
* :func:`estimate_negative_count` gives a stochastic estimate of the total
  number of negative eigenvalues of an operator (stochastic Lanczos
  quadrature), for when the extremal count saturates at ``k``.
* ``condition_number``: ``κ = λ_max / λ_min`` when ``λ_min > zero_tol``
  (positive definite restriction); ``inf`` when ``|λ_min| <= zero_tol``
  (positive semi-definite but numerically singular); ``nan`` when
  ``λ_min < -zero_tol`` (indefinite: read ``n_negative`` and ``λ_min``).

Examples
--------
>>> import numpy as np
>>> H = np.diag([2.0, -1.0, 0.5])
>>> mask = np.array([True, False, True])
>>> masked_hessian(H, mask)
array([[2. , 0. ],
       [0. , 0.5]])
>>> s = restricted_spectrum(H, mask)
>>> s.lambda_min, s.lambda_max, s.n_negative, s.condition_number
(0.5, 2.0, 0, 4.0)
>>> bool(is_local_min(H, mask)), bool(is_local_min(H, np.ones(3, bool)))
(True, False)
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._validation import check_array, check_int, check_real
from .backend import make_rng, namespace_of, to_numpy

__all__ = [
    "SpectrumSummary",
    "masked_hessian",
    "projected_hessian",
    "restricted_spectrum",
    "is_local_min",
    "sylvester_inertia",
    "summarize_eigenvalues",
    "MaskedHessianOperator",
    "lanczos_extremes",
    "LanczosNotConverged",
    "NegativeCountEstimate",
    "estimate_negative_count",
]

# Default relative zero tolerance for eigenvalues computed by a dense solver.
DENSE_RTOL = 1e-10
#: Largest ``maxiter`` passed to the Lanczos solver (ARPACK counts in 32-bit integers).
MAX_LANCZOS_ITER = 2**31 - 1
#: Largest active dimension solved densely when the Lanczos solver breaks down.
MAX_DENSE_FALLBACK = 4096
#: Largest number of probes of :func:`estimate_negative_count` (each runs ``n_steps``
#: operator products; more probes than this are taken as a mistake).
MAX_PROBES = 1 << 16


# --------------------------------------------------------------------------- validation

def _check_square_symmetric(name: str, H: Any, *, sym_rtol: float = 1e-10) -> Any:
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


def _check_mask_for(mask: Any, H: Any) -> Any:
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


def _kept_count(mask: Any) -> int:
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


def _batch_is_empty(batch: tuple) -> bool:
    return math.prod(batch) == 0


def _active_indices(mask: Any) -> Any:
    """Indices of the kept coordinates, ascending, shape (..., k); one ``k`` per batch."""
    xp = namespace_of(mask)
    hi = _kept_count(mask)
    d = mask.shape[-1]
    ar = xp.arange(d)
    key = xp.where(mask, ar, ar + d)  # kept coordinates sort first, in index order
    return xp.sort(key, axis=-1)[..., :hi]


# --------------------------------------------------------------------------- explicit matrices

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
    H = _check_square_symmetric("H", H)
    mask = _check_mask_for(mask, H)
    xp = namespace_of(H, mask)
    batch = np.broadcast_shapes(tuple(mask.shape[:-1]), tuple(H.shape[:-2]))
    d = H.shape[-1]
    if _batch_is_empty(batch):
        k = _kept_count(mask) if mask.size else 0
        return xp.zeros(batch + (k, k), dtype=H.dtype)
    idx = _active_indices(xp.broadcast_to(mask, batch + (d,)))
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
    H = _check_square_symmetric("H", H)
    mask = _check_mask_for(mask, H)
    m = mask.astype(H.dtype)
    return H * m[..., :, None] * m[..., None, :]


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


def _condition(lam_max: np.ndarray, lam_min: np.ndarray, zero_tol: np.ndarray) -> np.ndarray:
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
    empty = _batch_is_empty(batch)
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
    kappa = _condition(lam_max, lam_min, zero_tol)
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
    H = _check_square_symmetric("H", H)
    mask = _check_mask_for(mask, H)
    xp = namespace_of(H, mask)
    batch = np.broadcast_shapes(tuple(mask.shape[:-1]), tuple(H.shape[:-2]))
    if _batch_is_empty(batch):  # an empty batch: an empty answer
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

    A = _check_square_symmetric("A", A)
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


# --------------------------------------------------------------------------- operators

def _sparse_linalg_for(xp) -> Any:
    """``scipy.sparse.linalg`` for NumPy arrays, ``cupyx.scipy.sparse.linalg`` for CuPy.

    This is the one place outside :mod:`sparsesim.backend` that imports a
    CuPy-family module: ``cupyx`` ships with CuPy, and it is imported here
    only when the operator's arrays already are CuPy arrays (so CuPy is
    present and a device works); nothing CuPy is touched for NumPy input.
    """
    if xp is np:
        import scipy.sparse.linalg as spla  # noqa: PLC0415
        return spla
    if getattr(xp, "__name__", "") != "cupy":
        raise TypeError(f"arrays must be NumPy or CuPy arrays; got module {xp!r}")
    return importlib.import_module("cupyx.scipy.sparse.linalg")


class MaskedHessianOperator:
    """``P_m H P_m`` restricted to the active coordinates, as a mat-vec.

    Acts on vectors of length ``dim`` (the number of active coordinates) on
    the device of its arrays.  Build it with :meth:`from_matrix` (explicit
    ``H``) or :func:`sparsesim.nn.hessian.mlp_masked_hessian_operator` (exact Hessian-vector
    products of a network).

    Parameters
    ----------
    matvec : callable
        ``v (dim,) -> (H[S, S] v) (dim,)``.
    dim : int
        Active dimension.
    dtype : dtype
        Floating dtype of the vectors.
    xp : module
        ``numpy`` or ``cupy``.

    Attributes
    ----------
    n_matvec : int
        Products computed so far (each costs one Hessian-vector product).

    Examples
    --------
    >>> H = np.diag([1.0, 2.0, 3.0])
    >>> op = MaskedHessianOperator.from_matrix(H, np.array([True, False, True]))
    >>> op.shape, op.matvec(np.array([1.0, 1.0]))
    ((2, 2), array([1., 3.]))
    >>> op.to_dense()
    array([[1., 0.],
           [0., 3.]])
    """

    def __init__(self, matvec: Callable[[Any], Any], dim: int, dtype: Any, xp: Any):
        self._matvec = matvec
        self.dim = check_int("dim", dim, low=1)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"dtype must be float32 or float64 (the eigensolvers' types); "
                            f"got {self.dtype}")
        self.xp = xp
        self.n_matvec = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.dim, self.dim)

    @classmethod
    def from_matrix(cls, H: Any, mask: Any) -> "MaskedHessianOperator":
        """Operator of an explicit symmetric ``H`` (d, d) and mask (d,).

        Each product scatters ``v`` into the kept coordinates of a length-``d``
        vector, multiplies by ``H`` and gathers the kept coordinates back
        (``P_m H P_m v`` without forming the submatrix).
        """
        H = _check_square_symmetric("H", H)
        if H.ndim != 2:
            raise ValueError(f"H must be one matrix (2 dimensions); got shape {tuple(H.shape)}")
        mask = _check_mask_for(mask, H)
        if mask.ndim != 1:
            raise ValueError(f"mask must have shape ({H.shape[0]},); got {tuple(mask.shape)}")
        xp = namespace_of(H, mask)
        idx = _active_indices(mask)
        d = H.shape[0]
        dtype = H.dtype if H.dtype.kind == "f" else np.float64
        Hf = H.astype(dtype)

        def matvec(v):
            full = xp.zeros(d, dtype=dtype)
            full[idx] = v
            return (Hf @ full)[idx]

        return cls(matvec, int(idx.shape[0]), dtype, xp)

    def matvec(self, v: Any) -> Any:
        """``H[S, S] @ v`` for ``v`` of shape (dim,) (or (dim, 1))."""
        shape = v.shape
        if v.size != self.dim:
            raise ValueError(f"v must have {self.dim} entries (the active dimension); "
                             f"got shape {tuple(shape)}")
        self.n_matvec += 1
        return self._matvec(v.reshape(self.dim).astype(self.dtype, copy=False)).reshape(shape)

    def matmat(self, V: Any) -> Any:
        """``H[S, S] @ V`` column by column (V of shape (dim, n))."""
        cols = [self.matvec(V[:, j]) for j in range(V.shape[1])]
        return self.xp.stack(cols, axis=1) if cols else self.xp.zeros((self.dim, 0), self.dtype)

    def to_dense(self) -> Any:
        """Materialise ``H[S, S]`` by ``dim`` products with unit vectors (small ``dim`` only)."""
        return self.matmat(self.xp.eye(self.dim, dtype=self.dtype))

    def as_linear_operator(self) -> Any:
        """A ``LinearOperator`` of SciPy (NumPy arrays) or ``cupyx`` (CuPy arrays)."""
        spla = _sparse_linalg_for(self.xp)
        return spla.LinearOperator(self.shape, matvec=self.matvec, dtype=self.dtype)


def _not_converged(exc: Exception, which: str, maxiter: Any, tol: float, k: int,
                   ncv: Any) -> Exception:
    """SciPy's ``ArpackNoConvergence`` re-raised as :class:`LanczosNotConverged`."""
    msg = (f"Lanczos (which={which!r}, k={k}) did not converge within maxiter="
           f"{'default' if maxiter is None else maxiter} (ncv={ncv}, tol={tol:g}): raise "
           f"maxiter, ncv or tol, or pass allow_unconverged=True ({exc})")
    cls = _lanczos_error_class(type(exc))
    return cls(msg, getattr(exc, "eigenvalues", np.zeros(0)),
               getattr(exc, "eigenvectors", np.zeros((0, 0))))


_LANCZOS_ERROR_CLASSES: dict[type, type] = {}


def _lanczos_error_class(base: type) -> type:
    """A subclass of both the solver's no-convergence error and ``ValueError``."""
    if base not in _LANCZOS_ERROR_CLASSES:
        _LANCZOS_ERROR_CLASSES[base] = type("LanczosNotConverged", (base, LanczosNotConverged), {
            "__doc__": LanczosNotConverged.__doc__, "__module__": __name__})
    return _LANCZOS_ERROR_CLASSES[base]


class LanczosNotConverged(ValueError):
    """Lanczos stopped at ``maxiter`` without converging (``allow_unconverged=False``).

    Raised by :func:`lanczos_extremes` as a subclass of both ``ValueError`` (the
    arguments ``maxiter``/``ncv``/``tol`` do not allow convergence) and SciPy's
    ``scipy.sparse.linalg.ArpackNoConvergence`` (whose ``eigenvalues`` it
    carries); catch either.
    """


class _SolverBreakdown(Exception):
    """Internal: the sparse eigensolver failed for a reason other than maxiter."""


def _dense_extremes(op: MaskedHessianOperator, rtol: float) -> SpectrumSummary:
    """All eigenvalues of a small operator, materialised by ``dim`` products."""
    n0 = op.n_matvec
    dense = op.to_dense()
    dense = 0.5 * dense + 0.5 * dense.T  # symmetrise without overflow
    ev = op.xp.linalg.eigvalsh(dense)
    s = summarize_eigenvalues(ev, rtol=rtol)
    return SpectrumSummary(s.lambda_max, s.lambda_min, s.n_negative, True,
                           s.condition_number, s.zero_tol, op.dim, ev, "dense", True,
                           op.n_matvec - n0)


def _check_lanczos_target(op: Any) -> MaskedHessianOperator:
    if isinstance(op, MaskedHessianOperator):
        return op
    if hasattr(op, "shape") and hasattr(op, "dtype") and getattr(op, "ndim", 0) == 2:
        H = _check_square_symmetric("op", op)
        xp = namespace_of(H)
        return MaskedHessianOperator.from_matrix(H, xp.ones(H.shape[0], dtype=bool))
    raise TypeError("op must be a MaskedHessianOperator or a square symmetric array; "
                    f"got {type(op).__name__}")


def _cupyx_eigsh_kwargs(k: int, m: int, ncv: int | None, maxiter: int | None) -> dict:
    """ARPACK's ``ncv``/``maxiter`` meaning in cupyx's terms.

    ARPACK (SciPy) counts ``maxiter`` in restarts (default ``10 m``); cupyx's
    thick-restart Lanczos counts Lanczos steps: ``ncv`` for the first cycle,
    then ``ncv - k`` per restart (default ``10 m`` steps in all).  ``maxiter``
    restarts are therefore ``ncv + maxiter * (ncv - k)`` cupyx steps, with
    cupyx's own default ``ncv = min(max(2k, k + 32), m - 1)``.

    Examples
    --------
    >>> _cupyx_eigsh_kwargs(4, 500, 36, 300)     # 300 restarts of 32 new vectors
    {'ncv': 36, 'maxiter': 9636}
    >>> _cupyx_eigsh_kwargs(1, 100, None, None)
    {'ncv': 33, 'maxiter': 32033}
    """
    ncv = min(max(2 * k, k + 32), m - 1) if ncv is None else min(max(ncv, k + 2), m - 1)
    restarts = 10 * m if maxiter is None else maxiter
    return {"ncv": ncv, "maxiter": ncv + restarts * (ncv - k)}


def _cupyx_eigsh_checked(spla: Any, op: Any, lin: Any, k: int, which: str, solver_tol: float,
                         scale: float, v0: Any, kwargs: dict) -> Any:
    """cupyx ``eigsh`` whose convergence is decided from the true residuals.

    cupyx never reports non-convergence: after ``maxiter`` steps it returns
    its current Ritz pairs.  Here the eigenvectors are requested and each
    pair is accepted when ``‖A v − λ v‖ ≤ tol`` (plus ``1e3 · eps · scale``
    of rounding, ``scale`` = the operator's estimated magnitude); otherwise
    SciPy's ``ArpackNoConvergence`` is raised carrying the accepted values,
    so that both backends report non-convergence the same way.
    """
    xp = op.xp
    vals, vecs = spla.eigsh(lin, k=k, which=which, tol=solver_tol, v0=v0,
                            return_eigenvectors=True, **kwargs)
    if not bool(xp.isfinite(vals).all()):
        return vals      # a breakdown: the caller's finiteness check reports it
    res = xp.linalg.norm(op.matmat(vecs) - vecs * vals[None, :], axis=0)
    ok = res <= solver_tol + 1e3 * float(np.finfo(op.dtype).eps) * scale
    if bool(ok.all()):
        return vals
    from scipy.sparse.linalg import ArpackNoConvergence  # noqa: PLC0415
    good = to_numpy(vals[ok]).astype(np.float64)
    raise ArpackNoConvergence(
        f"cupyx eigsh: {int(k - good.size)} of {k} Ritz pairs have residual "
        f"‖Av − λv‖ > {solver_tol:g} after {kwargs['maxiter']} Lanczos steps", good,
        to_numpy(vecs[:, ok]))


def lanczos_extremes(op: Any, k: int = 1, tol: float = 1e-6, *, maxiter: int | None = None,
                     ncv: int | None = None, seed: int = 0, rtol: float | None = None,
                     allow_unconverged: bool = False) -> SpectrumSummary:
    """The ``k`` largest and ``k`` smallest eigenvalues of a restricted Hessian, by Lanczos.

    NumPy: ``scipy.sparse.linalg.eigsh`` (ARPACK implicitly restarted Lanczos;
    ``tol`` is its relative accuracy on each eigenvalue).  CuPy:
    ``cupyx.scipy.sparse.linalg.eigsh`` (thick-restart Lanczos), whose ``tol``
    is an absolute bound on the residual norm; it is given
    ``tol * ‖A v‖/‖v‖`` for a random ``v`` (a root-mean-square eigenvalue, at
    most the spectral radius), so that the residual, and with it the
    eigenvalue error, is below ``tol`` relative to the spectrum's scale.
    Two runs: ``which="LA"`` then ``which="SA"``, from the same seeded start
    vector.  When the active dimension is too small for the iterative solver
    (``dim < k + 3``), the operator is materialised (``dim`` products) and
    solved densely (``method="dense"``, all eigenvalues, exact counts); so
    is an operator of dimension up to ``MAX_DENSE_FALLBACK`` on which the
    solver breaks down (ARPACK raises, cupyx returns NaN; e.g. the zero
    operator, whose Krylov space is trivial).

    Parameters
    ----------
    op : MaskedHessianOperator or array (m, m)
        The restricted Hessian (an explicit symmetric array is wrapped).
    k : int
        Eigenvalues wanted at each end, ``1 <= k <= dim``.
    tol : float
        Relative accuracy, in (0, 1).
    maxiter, ncv : int, optional
        Passed to ``eigsh``: ``1 <= maxiter <= MAX_LANCZOS_ITER`` (``2**31 - 1``,
        ARPACK's 32-bit counter), ``k + 2 <= ncv < dim``.
    seed : int
        Seed of the start vector (results are deterministic given the seed).
    rtol : float, optional
        Relative zero tolerance for the summary; default ``max(10 * tol, 1e-10)``.
    allow_unconverged : bool
        When the solver stops at ``maxiter`` (SciPy raises
        ``ArpackNoConvergence``): ``False`` raises it as
        :class:`LanczosNotConverged`, a ``ValueError`` that is also an
        ``ArpackNoConvergence``, naming ``maxiter``; ``True`` returns the
        eigenvalues that did converge (NaN where none did) with
        ``converged=False``.  On CuPy ``maxiter`` keeps ARPACK's meaning
        (restarts; scaled to cupyx's Lanczos-step count) and convergence is
        decided from the residuals ``‖A v − λ v‖ ≤ tol·scale`` of the
        returned Ritz pairs, since cupyx itself never reports it.

    Returns
    -------
    SpectrumSummary
        ``eigenvalues`` holds the ``k`` smallest then the ``k`` largest
        (ascending).  ``n_negative`` counts negatives among the ``k`` smallest
        (exact when fewer than ``k``; ``n_negative_exact`` says so).

    Raises
    ------
    ValueError
        If ``k`` exceeds the active dimension, ``tol`` is outside (0, 1) or
        ``maxiter``/``ncv`` are out of range.
    LanczosNotConverged
        (a ``ValueError``) when SciPy's solver stops at ``maxiter`` and
        ``allow_unconverged=False``.

    Examples
    --------
    >>> H = np.diag(np.arange(-2.0, 18.0))            # eigenvalues -2, -1, ..., 17
    >>> s = lanczos_extremes(H, k=3, tol=1e-10)
    >>> round(s.lambda_min, 8), round(s.lambda_max, 8), s.n_negative, s.n_negative_exact
    (-2.0, 17.0, 2, True)
    """
    op = _check_lanczos_target(op)
    m = op.dim
    k = check_int("k", k, low=1)
    if k > m:
        raise ValueError(f"k must be in [1, {m}] (the active dimension of the operator); got {k}")
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    rtol = (max(10.0 * tol, 1e-10) if rtol is None
            else check_real("rtol", rtol, low=0.0, high=1.0))
    xp = op.xp
    if m < k + 3:
        return _dense_extremes(op, rtol)
    spla = _sparse_linalg_for(xp)
    lin = op.as_linear_operator()
    backend = "numpy" if xp is np else "cupy"
    v0 = make_rng(seed, backend).normal(m, dtype=op.dtype)
    kwargs: dict[str, Any] = {}
    if ncv is not None:
        kwargs["ncv"] = check_int("ncv", ncv, low=k + 2, high=m - 1)
    if maxiter is not None:
        kwargs["maxiter"] = check_int("maxiter", maxiter, low=1, high=MAX_LANCZOS_ITER)
    if xp is np:
        solver_tol = tol
        scale = 0.0
    else:  # cupyx: absolute residual bound
        av = op.matvec(v0)
        scale = float(xp.linalg.norm(av) / xp.linalg.norm(v0))
        solver_tol = tol * scale
        solver_tol = solver_tol if solver_tol > 0 else float(np.finfo(op.dtype).eps)
        kwargs = _cupyx_eigsh_kwargs(k, m, kwargs.get("ncv"), kwargs.get("maxiter"))
    converged = True

    def solve(which):
        nonlocal converged
        try:
            if xp is np:
                vals = spla.eigsh(lin, k=k, which=which, tol=solver_tol, v0=v0,
                                  return_eigenvectors=False, **kwargs)
            else:
                # cupyx's eigsh uses v0 as its work vector and overwrites it, so
                # each run gets its own copy (both start from the seeded vector).
                vals = _cupyx_eigsh_checked(spla, op, lin, k, which, solver_tol, scale,
                                            v0.copy(), kwargs)
        except Exception as exc:  # ArpackNoConvergence carries the converged values
            if type(exc).__name__ == "ArpackError":  # e.g. a start vector in the null space
                raise _SolverBreakdown(exc) from exc
            if type(exc).__name__ != "ArpackNoConvergence":
                raise
            if not allow_unconverged:
                raise _not_converged(exc, which, maxiter, tol, k,
                                     kwargs.get("ncv")) from exc
            converged = False
            vals = np.asarray(getattr(exc, "eigenvalues", np.zeros(0)), dtype=np.float64).real
            vals = xp.asarray(vals.astype(op.dtype))
        if xp is not np and not bool(xp.isfinite(vals).all()):
            # cupyx's eigsh reports no breakdown: it divides by a zero Lanczos
            # norm (e.g. the zero operator) and returns NaN Ritz values.
            raise _SolverBreakdown(FloatingPointError(
                "cupyx eigsh returned non-finite Ritz values (Lanczos breakdown)"))
        return xp.sort(xp.asarray(vals))

    n0 = op.n_matvec
    try:
        top, bottom = solve("LA"), solve("SA")
    except _SolverBreakdown as exc:
        # ARPACK breaks down when the Krylov space of the start vector is trivial
        # (the zero operator): small operators are solved densely instead.
        if m > MAX_DENSE_FALLBACK:
            raise ValueError(f"op: the Lanczos solver broke down ({exc.args[0]}) and the "
                             f"active dimension {m} is too large for a dense solve "
                             f"(> {MAX_DENSE_FALLBACK}); is op zero?") from exc.args[0]
        return _dense_extremes(op, rtol)
    both = xp.concatenate([bottom, top])
    if both.size == 0:
        nan = float("nan")
        return SpectrumSummary(nan, nan, 0, False, nan, nan, m, both, "lanczos", False,
                               op.n_matvec - n0)
    lam_max, lam_min = float(xp.max(both)), float(xp.min(both))
    zero_tol = rtol * max(abs(lam_max), abs(lam_min))
    n_neg = int(xp.sum(bottom < -zero_tol))
    exact = bool(n_neg < int(bottom.size) and converged)
    kappa = float(_condition(np.array(lam_max), np.array(lam_min), np.array(zero_tol)))
    return SpectrumSummary(lam_max, lam_min, n_neg, exact, kappa, zero_tol, m,
                           both, "lanczos", converged, op.n_matvec - n0)


@dataclass(frozen=True)
class NegativeCountEstimate:
    """Stochastic Lanczos quadrature estimate of the number of negative eigenvalues.

    Attributes
    ----------
    estimate : float
        ``dim · mean_p Σ_j τ_{pj}² 1[θ_{pj} < −zero_tol]`` (see
        :func:`estimate_negative_count`).
    stderr : float
        Standard error of the mean over probes (times ``dim``).
    n_probes, n_steps : int
    zero_tol : float
        Threshold on the Ritz values.
    """

    estimate: float
    stderr: float
    n_probes: int
    n_steps: int
    zero_tol: float


def _lanczos_tridiagonal(op: MaskedHessianOperator, v: Any, n_steps: int):
    """``n_steps`` Lanczos steps from ``v`` with full reorthogonalisation: (alpha, beta)."""
    xp = op.xp
    V = xp.zeros((n_steps, op.dim), dtype=op.dtype)
    alpha = np.zeros(n_steps)
    beta = np.zeros(max(n_steps - 1, 0))
    q = v / xp.linalg.norm(v)
    steps = n_steps
    for j in range(n_steps):
        V[j] = q
        w = op.matvec(q)
        alpha[j] = float(q @ w)
        w = w - V[: j + 1].T @ (V[: j + 1] @ w)      # full reorthogonalisation, twice
        w = w - V[: j + 1].T @ (V[: j + 1] @ w)
        if j == n_steps - 1:
            break
        b = float(xp.linalg.norm(w))
        if b <= 1e-12 * max(1.0, abs(alpha[j])):      # invariant subspace found
            steps = j + 1
            break
        beta[j] = b
        q = w / b
    return alpha[:steps], beta[: steps - 1]


def estimate_negative_count(op: Any, *, n_probes: int = 8, n_steps: int | None = None,
                            seed: int = 0, rtol: float = 1e-2) -> NegativeCountEstimate:
    """Estimate the number of negative eigenvalues by stochastic Lanczos quadrature.

    For each of ``n_probes`` Rademacher probes ``z`` (normalised), ``n_steps``
    Lanczos steps give a tridiagonal ``T = U diag(θ) Uᵀ``; the spectral measure
    of the operator seen from ``z`` is approximated by nodes ``θ_j`` with
    weights ``τ_j² = U_{0j}²`` (Golub–Meurant), so the fraction of eigenvalues
    below ``−zero_tol`` is estimated by ``Σ_j τ_j² 1[θ_j < −zero_tol]``,
    averaged over probes and multiplied by the dimension.  ``zero_tol =
    rtol · max |θ|`` over all probes.  An estimate, not a count: the
    quadrature smears eigenvalues close to zero over nodes of either sign, so
    a tiny ``rtol`` makes it unreliable when many eigenvalues sit near zero
    (as in ReLU networks: on a small masked network with 631 negative
    eigenvalues of 1514, 922 of them within 1% of the spectral scale, 80
    steps estimated 860 below ``−1e-6·scale`` but 217 below ``−1e-2·scale``
    against the exact 235).  Hence the default ``rtol = 1e-2``: the estimate
    is of the eigenvalues below ``−0.01·max|θ|``.  ``stderr`` measures only
    the probe-to-probe spread, not the quadrature bias.

    Parameters
    ----------
    op : MaskedHessianOperator or square symmetric array
    n_probes : int
        Random probes, ``1 <= n_probes <= MAX_PROBES`` (65,536).
    n_steps : int, optional
        Lanczos steps per probe, ``1 .. dim`` (default ``min(80, dim)``).
    seed : int
    rtol : float
        Relative threshold on the Ritz values (see above).

    Returns
    -------
    NegativeCountEstimate

    Examples
    --------
    >>> H = np.diag(np.r_[-np.ones(3), np.ones(7)])   # 3 negative eigenvalues
    >>> e = estimate_negative_count(H, n_probes=4)
    >>> round(e.estimate, 8), round(e.stderr, 8)      # ±1 probes weigh each coordinate 1/10
    (3.0, 0.0)
    """
    op = _check_lanczos_target(op)
    n_probes = check_int("n_probes", n_probes, low=1, high=MAX_PROBES)
    n_steps = min(80, op.dim) if n_steps is None else check_int("n_steps", n_steps, low=1,
                                                                 high=op.dim)
    rtol = check_real("rtol", rtol, low=0.0, high=1.0)
    xp = op.xp
    backend = "numpy" if xp is np else "cupy"
    rngs = make_rng(seed, backend).spawn(n_probes)
    nodes, weights = [], []
    for r in rngs:
        z = xp.where(r.uniform(op.dim) < 0.5, -1.0, 1.0).astype(op.dtype)
        a, b = _lanczos_tridiagonal(op, z, n_steps)
        T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
        theta, U = np.linalg.eigh(T)
        nodes.append(theta)
        weights.append(U[0] ** 2)
    zero_tol = rtol * max(float(np.max(np.abs(t))) for t in nodes)
    per_probe = np.array([float(np.sum(w[t < -zero_tol])) for t, w in zip(nodes, weights)])
    est = op.dim * float(per_probe.mean())
    se = op.dim * (float(per_probe.std(ddof=1)) / math.sqrt(n_probes) if n_probes > 1 else math.nan)
    return NegativeCountEstimate(est, se, n_probes, n_steps, zero_tol)
