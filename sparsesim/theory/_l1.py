"""l1 recovery from Gaussian measurements: the Donoho-Tanner weak threshold through
the statistical dimension of the l1 descent cone."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .._validation import check_bool, check_real_array
from ._common import _LOG_2PI, _SQRT1_2, _at_most, _broadcast, _int_arg, _out

# With rho_d = k/d, the statistical dimension of the descent cone of ||.||_1 at
# a k-sparse x is d * psi(rho_d) up to O(sqrt(d/k)) (Amelunxen, Lotz, McCoy and
# Tropp 2014, Prop. 4.5):
#
#     psi(rho_d) = inf_{tau >= 0} rho_d (1 + tau^2) + (1 - rho_d) c J2(tau),
#
# where J_n(tau) = int_tau^inf (u - tau)^n phi(u) du, c = 2 for signed x
# (off the support dist(g_i, tau [-1, 1])^2 = (|g_i| - tau)_+^2) and c = 1 for
# nonnegative x recovered with the constraint x >= 0 (off the support the
# subdifferential of ||.||_1 + indicator(x >= 0) is (-inf, 1], so the distance
# is (g_i - tau)_+^2, one-sided).  The minimiser solves
# rho_d tau = c (1 - rho_d) J1(tau), so rho_d(tau) = c J1 / (tau + c J1), and
# the curve is traced by tau in [0, inf): delta(tau) = psi(rho_d(tau)),
# rho_W = rho_d / delta.  Every J_n is phi(tau) times a polynomial in tau and the
# Mills ratio M(tau) = Phi_bar(tau)/phi(tau) = sqrt(pi/2) erfcx(tau/sqrt2), so
# the curve is computed as log(delta) = log phi(tau) + log(delta/phi) without
# underflow down to the smallest positive float.

_TAU_MAX = 40.0             # log delta(40) < log(5e-324): brackets every positive float
_BISECT_STEPS = 80          # 40 / 2**80: tau to the last bit


def _l1_c(signed: Any) -> float:
    return 2.0 if check_bool("signed", signed) else 1.0


def _mills(tau: np.ndarray) -> np.ndarray:
    return math.sqrt(0.5 * math.pi) * special.erfcx(tau * _SQRT1_2)


def _j_over_phi(tau: np.ndarray) -> tuple[np.ndarray, ...]:
    """``J_n(tau) / phi(tau)`` for n = 1, 2, 3, 4."""
    m = _mills(tau)
    t2 = tau * tau
    j1 = 1.0 - tau * m
    j2 = (1.0 + t2) * m - tau
    j3 = (t2 + 2.0) - tau * (t2 + 3.0) * m
    j4 = (t2 * t2 + 6.0 * t2 + 3.0) * m - tau * (t2 + 5.0)
    return j1, j2, j3, j4


def _log_phi(tau: np.ndarray) -> np.ndarray:
    return -0.5 * tau * tau - 0.5 * _LOG_2PI


def _l1_curve(tau: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log delta, rho_W, rho_d) of the point of the curve with minimiser ``tau``."""
    j1, j2, _, _ = _j_over_phi(tau)
    phi = np.exp(_log_phi(tau))
    rho_over_phi = c * j1 / (tau + c * phi * j1)
    rho_d = phi * rho_over_phi
    delta_over_phi = rho_over_phi * (1.0 + tau * tau) + (1.0 - rho_d) * c * j2
    return _log_phi(tau) + np.log(delta_over_phi), rho_over_phi / delta_over_phi, rho_d


def _bisect_tau(target: np.ndarray, fun) -> np.ndarray:
    """``tau`` in [0, _TAU_MAX] with ``fun(tau) = target`` for a decreasing ``fun``."""
    lo = np.zeros(target.shape)
    hi = np.full(target.shape, _TAU_MAX)
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        above = fun(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _tau_of_rho_d(rho_d: np.ndarray, c: float) -> np.ndarray:
    """The minimiser ``tau`` of the statistical-dimension functional at ``rho_d`` in (0, 1)."""
    with np.errstate(divide="ignore", under="ignore"):
        return _bisect_tau(np.log(rho_d), lambda t: np.log(_l1_curve(t, c)[2]))


def l1_statistical_dimension(rho_d: Any, *, signed: bool = True) -> Any:
    """``psi(rho_d)``: the normalised statistical dimension of the l1 descent cone.

    ``psi(rho_d) = inf_{tau >= 0} { rho_d (1 + tau^2) + (1 - rho_d) c J2(tau) }``
    with ``J2(tau) = (1 + tau^2) Phi_bar(tau) - tau phi(tau)``, ``c = 2`` for
    signed signals and ``c = 1`` for nonnegative ones (``signed=False``, basis
    pursuit with the constraint ``x >= 0``).  The descent cone of ``||.||_1`` at
    a ``k``-sparse vector in R^d has statistical dimension within
    ``[d psi(k/d) - 2 sqrt(d/k), d psi(k/d)]`` (Amelunxen, Lotz, McCoy and
    Tropp 2014, Prop. 4.5, signed case).

    Parameters
    ----------
    rho_d : float or array_like
        Sparsity fraction ``k/d`` in ``[0, 1]`` (``psi(0) = 0``, ``psi(1) = 1``).
    signed : bool, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(l1_statistical_dimension(0.1)), 6)
    0.328794
    >>> float(l1_statistical_dimension(0.0)), float(l1_statistical_dimension(1.0))
    (0.0, 1.0)
    """
    c = _l1_c(signed)
    rho_d = check_real_array("rho_d", rho_d, low=0.0, high=1.0)
    out = np.where(rho_d >= 1.0, 1.0, 0.0)
    inner = (rho_d > 0.0) & (rho_d < 1.0)
    if inner.any():
        r = rho_d[inner]
        tau = _tau_of_rho_d(r, c)
        with np.errstate(under="ignore"):
            log_delta, rho_w, _ = _l1_curve(tau, c)
        out[inner] = r / rho_w
    return _out(out)


def l1_phase_transition(delta: Any, *, signed: bool = True) -> Any:
    """Weak phase transition ``rho_W(delta)`` of l1 minimisation (basis pursuit).

    For ``A`` with i.i.d. Gaussian entries, ``m = delta d`` rows and a
    ``k``-sparse ``x`` with ``k = rho m``, basis pursuit recovers ``x`` with
    probability tending to 1 when ``rho < rho_W(delta)`` and to 0 when
    ``rho > rho_W(delta)`` as ``d -> inf`` (Donoho and Tanner's weak threshold).
    It is computed from the statistical dimension (Amelunxen, Lotz, McCoy and
    Tropp 2014): ``delta = psi(rho_d)`` (:func:`l1_statistical_dimension`) and
    ``rho_W = rho_d / delta``, by tracing the curve in the minimiser ``tau``
    (``rho_d = c J1 / (tau + c J1)``, ``J1 = phi(tau) - tau Phi_bar(tau)``) and
    bisecting ``log delta(tau)``, so ``delta`` may be as small as the smallest
    positive float.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio ``m/d`` in ``[0, 1]``; the limits are
        ``rho_W(0) = 0`` (``rho_W ~ 1/(2 log(1/delta))`` as ``delta -> 0``)
        and ``rho_W(1) = 1``.
    signed : bool, optional
        ``True``: signed signals (the cross-polytope).  ``False``: nonnegative
        signals recovered with ``x >= 0`` (the simplex / orthant case; only
        the off-support term changes, from ``2 J2`` to ``J2``).

    Returns
    -------
    float or ndarray

    Raises
    ------
    TypeError, ValueError
        ``delta`` non-numeric, non-finite or outside ``[0, 1]``; ``signed`` not a bool.

    Examples
    --------
    >>> round(float(l1_phase_transition(0.5)), 4)
    0.3857
    >>> round(float(l1_phase_transition(0.5, signed=False)), 4)
    0.5582
    >>> float(l1_phase_transition(0.0)), float(l1_phase_transition(1.0))
    (0.0, 1.0)
    """
    c = _l1_c(signed)
    delta = check_real_array("delta", delta, low=0.0, high=1.0)
    out = np.where(delta >= 1.0, 1.0, 0.0)
    inner = (delta > 0.0) & (delta < 1.0)
    if inner.any():
        with np.errstate(under="ignore"):
            tau = _bisect_tau(np.log(delta[inner]), lambda t: _l1_curve(t, c)[0])
            out[inner] = _l1_curve(tau, c)[1]
    return _out(out)


def l1_intrinsic_sd(d: Any, k: Any, *, signed: bool = True) -> Any:
    """Normal-approximation spread ``sigma`` of the kinematic transition in ``m``.

    The probability that basis pursuit fails with ``m`` Gaussian measurements
    is a half-tail sum of the intrinsic volumes of the descent cone ``C``
    (Amelunxen, Lotz, McCoy and Tropp 2014); read as the distribution of a
    random variable ``V`` with mean ``delta(C)``, its variance is
    ``Var V = Var ||Pi_C(g)||^2 - 2 delta(C)`` (McCoy and Tropp 2014).  Here
    ``||Pi_C(g)||^2 = min_tau sum_i dist(g_i, tau df_i)^2`` and, to first
    order in ``1/sqrt(d)``, its variance is that of the sum at the minimiser
    ``tau*`` of the statistical-dimension functional:
    ``k (2 + 4 tau*^2) + (d - k) Var (|g| - tau*)_+^2`` (signed; one-sided
    ``(g - tau*)_+^2`` for ``signed=False``).  So
    ``sigma^2 = k (2 + 4 tau^2) + (d - k) v(tau) - 2 d psi(k/d)``, an
    approximation (first order, no finite-d correction), floored at 0.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Sparsity, ``0 <= k <= d`` (``sigma = 0`` at ``k = 0`` and ``k = d``).
    signed : bool, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> s = float(l1_intrinsic_sd(400, 40))
    >>> 3.0 < s < 15.0
    True
    """
    c = _l1_c(signed)
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    d, k = _broadcast(d=d, k=k)
    _at_most("k", k, "d", d)
    out = np.zeros(d.shape, dtype=np.float64)
    inner = (k > 0) & (k < d)
    if inner.any():
        dd = d[inner].astype(np.float64)
        kk = k[inner].astype(np.float64)
        rho_d = kk / dd
        tau = _tau_of_rho_d(rho_d, c)
        with np.errstate(under="ignore"):
            _, j2, _, j4 = _j_over_phi(tau)
            phi = np.exp(_log_phi(tau))
            _, rho_w, _ = _l1_curve(tau, c)
        j2, j4 = phi * j2, phi * j4
        v_off = c * j4 - (c * j2) ** 2
        var = kk * (2.0 + 4.0 * tau * tau) + (dd - kk) * v_off - 2.0 * dd * (rho_d / rho_w)
        out[inner] = np.sqrt(np.maximum(var, 0.0))
    return _out(out)


def l1_recovery_prob(d: Any, m: Any, k: Any, *, signed: bool = True) -> Any:
    """Finite-``d`` prediction of the success probability of basis pursuit.

    A normal approximation to the kinematic formula:
    ``P(success) ~= Phi((m - d psi(k/d)) / sigma)`` with ``sigma`` from
    :func:`l1_intrinsic_sd` (the width term) and ``d psi(k/d)`` the asymptotic
    statistical dimension (:func:`l1_statistical_dimension`; the exact one is
    at most ``2 sqrt(d/k)`` smaller).  Used as the theory column of the
    Monte Carlo table near the curve; away from it the prediction is 0 or 1
    to many digits, as is the truth.

    Parameters
    ----------
    d, m, k : int or array_like of int
        ``1 <= m <= d``, ``0 <= k <= m`` (``k = 0``: probability 1).
    signed : bool, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> p = float(l1_recovery_prob(400, 200, 77))
    >>> 0.3 < p < 0.7
    True
    >>> float(l1_recovery_prob(400, 200, 10)) > 0.999
    True
    """
    c = _l1_c(signed)
    d = _int_arg("d", d, low=1)
    m = _int_arg("m", m, low=1)
    k = _int_arg("k", k)
    d, m, k = _broadcast(d=d, m=m, k=k)
    _at_most("m", m, "d", d)
    _at_most("k", k, "m", m)
    psi = np.asarray(l1_statistical_dimension(k / d, signed=bool(c == 2.0)), dtype=np.float64)
    sd = np.asarray(l1_intrinsic_sd(d, k, signed=bool(c == 2.0)), dtype=np.float64)
    gap = m - d * psi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, gap / np.where(sd > 0, sd, 1.0), np.where(gap >= 0, np.inf, -np.inf))
    out = special.ndtr(z)
    return _out(np.where(k == 0, 1.0, out))


def l1_transition_band(d: Any, m: Any, *, signed: bool = True) -> tuple[Any, Any]:
    """Range of the finite-``d`` 50 % point ``rho = k/m`` of basis pursuit.

    The failure probability is about ``P(V > m)`` for ``V`` centred at the
    statistical dimension ``delta(C_k)`` of the descent cone at a
    ``k``-sparse point, and ``d psi(k/d) - 2 sqrt(d/k) <= delta(C_k) <=
    d psi(k/d)`` (Amelunxen, Lotz, McCoy and Tropp 2014, Prop. 4.5).  With an
    allowance of one measurement either way for the discreteness of the
    half-tail sum and the median of ``V``, the 50 % point ``k`` satisfies
    ``m - 1 <= d psi(k/d) <= m + 1 + 2 sqrt(d/k)``.  Returned as ``rho`` at
    the two ends, computed from :func:`l1_phase_transition` only:
    ``rho_lo = rho_W(d1) d1 / (m/d)`` with ``d1 = (m - 1)/d``, and ``rho_hi``
    the fixed point of ``k = d d2 rho_W(d2)``, ``d2 = (m + 1 + 2 sqrt(d/k))/d``
    (capped at 1).

    Parameters
    ----------
    d, m : int or array_like of int
        ``2 <= m <= d``.
    signed : bool, optional

    Returns
    -------
    (rho_lo, rho_hi) : floats or ndarrays

    Examples
    --------
    >>> lo, hi = l1_transition_band(400, 200)
    >>> bool(lo < l1_phase_transition(0.5) < hi)
    True
    """
    _l1_c(signed)
    d = _int_arg("d", d, low=1)
    m = _int_arg("m", m, low=2)
    d, m = _broadcast(d=d, m=m)
    _at_most("m", m, "d", d)
    dd, mm = d.astype(np.float64), m.astype(np.float64)
    d1 = (mm - 1.0) / dd
    lo = np.asarray(l1_phase_transition(d1, signed=signed)) * d1 * dd / mm
    k = np.asarray(l1_phase_transition(mm / dd, signed=signed)) * mm
    for _ in range(50):
        d2 = np.minimum(1.0, (mm + 1.0 + 2.0 * np.sqrt(dd / np.maximum(k, 1.0))) / dd)
        k_new = np.asarray(l1_phase_transition(d2, signed=signed)) * d2 * dd
        if np.all(np.abs(k_new - k) < 1e-9):
            k = k_new
            break
        k = k_new
    hi = np.minimum(k / mm, 1.0)
    return _out(lo), _out(hi)

