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

from .critical import CLASSIFICATIONS, CriticalPoint, classify_critical_point, \
    find_critical_point
from .checks import DENSE_RTOL, MAX_DENSE_FALLBACK, MAX_LANCZOS_ITER, MAX_PROBES
from .lanczos import LanczosNotConverged, MaskedHessianOperator, lanczos_extremes
from .matrices import masked_hessian, projected_hessian, sylvester_inertia
from .slq import NegativeCountEstimate, estimate_negative_count
from .spectrum import SpectrumSummary, is_local_min, restricted_spectrum, summarize_eigenvalues

__all__ = [
    "CLASSIFICATIONS",
    "CriticalPoint",
    "classify_critical_point",
    "find_critical_point",
    "DENSE_RTOL",
    "MAX_DENSE_FALLBACK",
    "MAX_LANCZOS_ITER",
    "MAX_PROBES",
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
