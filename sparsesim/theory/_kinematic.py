"""The exact finite-d success law of basis pursuit, by sampling intrinsic volumes.

Basis pursuit recovers a ``k``-sparse ``x`` from ``y = A x`` (``A`` of size
``m x d`` with i.i.d. Gaussian entries) exactly when the null space of ``A``
meets the descent cone ``D`` of the objective at ``x`` only at 0.  The null
space is a uniformly random subspace of codimension ``m``, so by the Crofton
formula (Amelunxen, Lotz, McCoy and Tropp 2014, Fact 2.3)

    P(success) = 1 - 2 (v_{m+1} + v_{m+3} + ...),

with ``v_j`` the conic intrinsic volumes of ``D``.  For a polyhedral cone,
``v_j = P(Pi_D(g) lies in the relative interior of a j-dimensional face)``
for a standard Gaussian ``g``, and that face is the complement of the face of
the polar cone that holds ``Pi_{D°}(g)`` (Moreau's decomposition).  The polar
of the l1 descent cone at ``x`` (support ``S``, signs ``s``) is the cone over
the subdifferential, ``{t (s, u) : t >= 0, ||u||_inf <= 1}``; projecting ``g``
on it is a one-dimensional problem in ``t``,

    t* = argmin_{t >= 0} ||g_S - t s||^2 + sum_{i not in S} (|g_i| - t)_+^2,

solved exactly by sorting ``|g_i|`` off the support: on the piece where
``j`` of them exceed ``t``, ``t = (<s, g_S> + S_j) / (k + j)`` with ``S_j``
the sum of the ``j`` largest.  The polar face has dimension
``1 + #{i not in S : |g_i| < t*}`` (``#{...}`` alone when ``t* = 0``), so the
face of ``D`` has dimension

    J = d - [t* > 0] - #{i not in S : |g_i| < t*},

and ``J`` is distributed as the intrinsic volumes: a sample of ``J`` is a
sample of the exact law, with no LP solved.  For nonnegative ``x`` recovered
with ``x >= 0`` the off-support terms are one-sided, ``(g_i - t)_+^2``, and
the count is ``#{g_i < t*}``.  Every ``(d, m, k)`` is computed without the
asymptotic weak threshold, so the finite-``d`` law is a check of the
simulator that does not go through :func:`l1_phase_transition`.

:func:`l1_phase_transition_quadrature` is the slow twin of
:func:`l1_phase_transition` (adaptive quadrature and a scalar minimiser
instead of the traced closed-form curve): the limit the finite-``d`` law
tends to, computed on its own code path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, optimize, stats

from .._validation import check_bool, check_int, check_int_array, check_real_array
from ._common import _out

__all__ = ["l1_face_dims", "l1_kinematic_prob", "l1_phase_transition_quadrature"]

_BATCH_ELEMENTS = 2_000_000     # rows x d per batch: bounded memory at any d


def l1_face_dims(g: Any, k: Any, *, signed: bool = True) -> np.ndarray:
    """Dimension of the face of the l1 descent cone that holds ``Pi_D(g)``.

    The support is the **last** ``k`` coordinates with signs ``+1`` (the law
    depends on neither the support nor the signs: the Gaussian is invariant
    under coordinate permutations and sign flips).  For each row of ``g`` and
    each ``k`` the result is ``J`` of the module docstring; its law over a
    standard Gaussian ``g`` is the intrinsic-volume distribution
    ``P(J = j) = v_j(D)``.  The off-support magnitudes are sorted once per row
    and each ``k`` reads its prefix of the sorted order, so many ``k`` share
    one sort (common random numbers across ``k``).

    Parameters
    ----------
    g : array_like, shape (n, d)
        Rows of standard Gaussian samples, float64.
    k : int or array_like of int
        Support sizes, ``1 <= k <= d``.
    signed : bool, optional
        ``True``: signed ``x`` (the cross-polytope).  ``False``: nonnegative
        ``x`` recovered with the constraint ``x >= 0``.

    Returns
    -------
    ndarray of int64, shape (len(k), n)  (``(n,)`` for a scalar ``k``)

    Examples
    --------
    A full support is a half-space: ``J`` is ``d - 1`` or ``d`` with
    probability 1/2 each.

    >>> import numpy as np
    >>> g = np.random.default_rng(0).standard_normal((4000, 5))
    >>> J = l1_face_dims(g, 5)
    >>> sorted(set(J.tolist())), bool(abs((J == 5).mean() - 0.5) < 0.03)
    ([4, 5], True)
    """
    signed = check_bool("signed", signed)
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] < 1:
        raise ValueError(f"g must be a 2-d array (rows, d) with d >= 1, got shape {g.shape}")
    n, d = g.shape
    scalar = np.ndim(k) == 0
    ks = np.atleast_1d(check_int_array("k", k, low=1)).ravel()
    if (ks > d).any():
        raise ValueError(f"k must be at most d = {d}, got {int(ks.max())}")
    off = np.abs(g) if signed else g
    order = np.argsort(-off, axis=1, kind="stable")          # descending, one sort per row
    y = np.take_along_axis(off, order, axis=1)
    tail = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]            # tail[:, i] = sum g[:, i:]
    out = np.empty((ks.size, n), dtype=np.int64)
    for row, kk in enumerate(ks):
        kk = int(kk)
        nn = d - kk
        a = tail[:, nn]                                       # <s, g_S>, signs +1
        if nn == 0:
            out[row] = np.where(a > 0, d - 1, d)
            continue
        # Off-support coordinates in the shared sorted order (the support is the last kk
        # indices).  With j - 1 of them above a candidate y_j, the root of the piece is
        # t_{j-1} = (a + S_{j-1}) / (kk + j - 1), and y_j > t_{j-1} exactly when y_j > t*
        # (the derivative of the objective is increasing and equals the piece's at y_j),
        # so the number of off-support coordinates above t* is a count, with no search.
        keep = order < nn
        yk = np.where(keep, y, 0.0)
        above = np.cumsum(keep, axis=1) - keep                # kept coordinates before p
        s_before = np.cumsum(yk, axis=1) - yk
        t_prev = (a[:, None] + s_before) / (kk + above)
        hit = keep & (y > t_prev)
        j_star = hit.sum(axis=1)
        t_star = (a + np.where(hit, y, 0.0).sum(axis=1)) / (kk + j_star)
        below_zero = (keep & (y < 0.0)).sum(axis=1)           # 0 when signed
        out[row] = np.where(t_star > 0.0, d - 1 - (nn - j_star), d - below_zero)
    return out[0] if scalar else out


def l1_kinematic_prob(d: int, m: int, k: Any, *, n_samples: int = 20000, seed: Any = 0,
                      signed: bool = True, groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Exact finite-``d`` success probability of basis pursuit, by Monte Carlo.

    ``P(success) = 1 - 2 sum_{i >= 0} v_{m+1+2i}(D_k)`` (Crofton), estimated
    from ``n_samples`` draws of the face dimension ``J``
    (:func:`l1_face_dims`).  Since the intrinsic volumes of either parity sum
    to 1/2, ``P = 2 sum_{i >= 0} v_{m-1-2i}`` as well; the estimate mixes the
    two indicator means, ``1 - 2 [J >= m+1, J - m - 1 even]`` (exactly 1 where
    no draw exceeds ``m``) and ``2 [J <= m-1, J - m - 1 even]`` (exactly 0
    where none falls below ``m``), with the variance-minimising weight, so far
    from the transition the estimate is exact and near it the standard error
    is at most ``1/sqrt(n_samples)``.
    Every ``k`` reads the same Gaussian draws, so the curve in ``k`` is smooth
    and differences between ``k`` are estimated with little noise.  Unlike
    :func:`l1_recovery_prob` (a normal approximation through the asymptotic
    statistical dimension) this is the exact law up to Monte Carlo error.

    Parameters
    ----------
    d, m : int
        Dimension and number of measurements, ``1 <= m <= d``.
    k : int or array_like of int
        Sparsities, ``1 <= k <= m``.
    n_samples : int, optional
        Gaussian draws (each a length-``d`` vector).
    seed : int or sequence of int, optional
        Seed of :func:`numpy.random.default_rng`; the result is a function of
        ``(d, m, k, n_samples, seed, signed, groups)``.
    signed : bool, optional
    groups : int, optional
        Also return the estimate over ``groups`` disjoint batches of the
        draws (for batch-means errors of anything computed from the curve).

    Returns
    -------
    (p, se) : ndarrays of shape ``k``'s
        The estimate and its Monte Carlo standard error.  With ``groups > 1``,
        a third array of shape ``(groups,) + k``'s: the estimate per batch.

    Examples
    --------
    >>> p, se = l1_kinematic_prob(400, 200, [60, 77, 95], n_samples=4000)
    >>> bool(p[0] > 0.99 and 0.2 < p[1] < 0.8 and p[2] < 0.01), bool(se.max() < 0.02)
    (True, True)
    """
    d = check_int("d", d, low=1)
    m = check_int("m", m, low=1)
    if m > d:
        raise ValueError(f"m must be at most d = {d}, got {m}")
    ks = check_int_array("k", k, low=1)
    if (np.asarray(ks) > m).any():
        raise ValueError(f"k must be at most m = {m}, got {int(np.max(ks))}")
    n_samples = check_int("n_samples", n_samples, low=2)
    groups = check_int("groups", groups, low=1)
    if groups > n_samples // 2:
        raise ValueError(f"groups must be at most n_samples // 2 = {n_samples // 2}, got {groups}")
    shape = np.shape(ks)
    flat = np.atleast_1d(ks).ravel()
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_ELEMENTS // d)
    high = np.zeros((flat.size, n_samples), dtype=bool)
    low = np.zeros((flat.size, n_samples), dtype=bool)
    for start in range(0, n_samples, batch):
        rows = min(batch, n_samples - start)
        J = l1_face_dims(rng.standard_normal((rows, d)), flat, signed=signed)
        same = (J - m - 1) % 2 == 0
        high[:, start:start + rows] = (J >= m + 1) & same
        low[:, start:start + rows] = (J <= m - 1) & same
    # Two unbiased estimators of one number (the intrinsic volumes of each parity sum to
    # 1/2, Gauss-Bonnet): 1 - 2 [J >= m+1, parity of m+1], exact where J never exceeds m,
    # and 2 [J <= m-1, parity of m+1], exact where J never falls below m.  They are
    # combined with the weight that minimises the variance of the mix (estimated from the
    # draws; its O(1/n) effect is far below the standard error).
    a = 1.0 - 2.0 * high
    b = 2.0 * low
    va, vb = a.var(axis=1), b.var(axis=1)
    cov = ((a - a.mean(axis=1, keepdims=True)) * (b - b.mean(axis=1, keepdims=True))).mean(axis=1)
    den = va + vb - 2.0 * cov
    weight = np.where(den > 0, (vb - cov) / np.where(den > 0, den, 1.0), 0.5)
    stat = weight[:, None] * a + (1.0 - weight[:, None]) * b
    p = stat.mean(axis=1)
    se = stat.std(axis=1, ddof=1) / math.sqrt(n_samples)
    out = (p.reshape(shape), se.reshape(shape))
    if groups > 1:
        parts = np.array_split(stat, groups, axis=1)
        per = np.stack([q.mean(axis=1) for q in parts]).reshape((groups,) + shape)
        return out + (per,)
    return out


def _j_quad(n: int, tau: float) -> float:
    """``J_n(tau) = int_tau^inf (u - tau)^n phi(u) du`` by adaptive quadrature."""
    return integrate.quad(lambda u: (u - tau) ** n * stats.norm.pdf(u), tau, np.inf,
                          epsabs=1e-15, epsrel=1e-13)[0]


def _delta_of_tau(tau: float, c: float) -> tuple[float, float]:
    """``(delta, rho_d)`` at the minimiser ``tau`` (stationarity:
    ``rho_d tau = c (1 - rho_d) J1(tau)``)."""
    j1 = c * _j_quad(1, tau)
    rho_d = j1 / (tau + j1)
    return rho_d * (1.0 + tau * tau) + (1.0 - rho_d) * c * _j_quad(2, tau), rho_d


def l1_phase_transition_quadrature(delta: Any, *, signed: bool = True) -> Any:
    """Slow float64 twin of :func:`l1_phase_transition`, by quadrature.

    ``psi(rho_d) = min_tau rho_d (1 + tau^2) + (1 - rho_d) c J2(tau)``; at
    the minimiser ``rho_d tau = c (1 - rho_d) J1(tau)``.  Here ``J1`` and
    ``J2`` are adaptive quadratures (not the closed forms in the Mills ratio),
    ``delta(tau) = delta`` is solved by Brent's method in ``tau`` and
    ``rho_W = rho_d / delta``: the same definition as
    :func:`l1_phase_transition`, none of its code.  Used as the limit of the
    exact finite-``d`` law (:func:`l1_kinematic_prob`) where the two must not
    share a code path; a few tens of milliseconds per element.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratios in ``[0.01, 0.99]``.
    signed : bool, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(l1_phase_transition_quadrature(0.5)), 4)
    0.3857
    """
    c = 2.0 if check_bool("signed", signed) else 1.0
    delta = check_real_array("delta", delta, low=0.01, high=0.99)
    out = np.empty(delta.shape)
    for i, dl in np.ndenumerate(delta):
        tau = optimize.brentq(lambda t, dl=dl: _delta_of_tau(t, c)[0] - dl, 0.0, 12.0,
                              xtol=1e-14, rtol=1e-13)
        out[i] = _delta_of_tau(tau, c)[1] / dl
    return _out(out)
