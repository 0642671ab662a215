"""Planted signal: ``w_i = x_i + sigma z_i`` with ``|x_i| = mu`` on the support ``S``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, optimize, special

from .._validation import check_bool, check_real_array
from ._common import (_LOG_SQRT_2_OVER_PI, _at_most, _broadcast, _finish, _int_arg, _out,
                      _ratio, _scaled, _times)
from ._tails import _count_log_1mq, _survival_pair
from ._thresholding import _dkt


def planted_tail_prob(mu: Any, t: Any, sigma: Any = 1.0, *, log: bool = False) -> Any:
    """``p_on = P(|mu + sigma z| > t) = Phi_bar((t-mu)/sigma) + Phi_bar((t+mu)/sigma)``.

    The tail of the folded normal with mean ``mu``: the survival probability
    of an on-support coordinate in the planted model.

    Parameters
    ----------
    mu : float or array_like
        Signal magnitude, ``mu >= 0``.
    t : float or array_like
        Threshold, ``t >= 0``.
    sigma : float or array_like, optional
        Standard deviation, ``sigma > 0``.
    log : bool, optional
        Return the logarithm.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(planted_tail_prob(0.0, 1.0)), 12) == round(float(tail_prob(1.0)), 12)
    True
    >>> round(float(planted_tail_prob(3.0, 1.0)), 12)
    0.977281539294
    """
    log = check_bool("log", log)
    mu = check_real_array("mu", mu, low=0.0)
    t = check_real_array("t", t, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    mu, t, sigma = _broadcast(mu=mu, t=t, sigma=sigma)
    return _finish(_survival_pair(_ratio(t, sigma), m=_ratio(mu, sigma),
                                  diff=_ratio(mu - t, sigma))[0], log)


def _planted_log_prob(d, k, m, a, diff=None):
    log_q, log_1mq = _survival_pair(a)
    log_on, _ = _survival_pair(a, m=m, diff=diff)
    return _times(k, log_on) + _count_log_1mq(d - k, log_q, log_1mq)


def planted_recovery_prob(d: Any, k: Any, mu: Any, t: Any, sigma: Any = 1.0, *,
                          log: bool = False) -> Any:
    """``P(S_hat = S) = p_on^k (1 - q)^(d-k)`` for ``w = x + sigma z``, ``|x_i| = mu`` on ``S``.

    Parameters
    ----------
    d, k : int or array_like of int
        ``d >= 1``, ``0 <= k <= d``.
    mu : float or array_like
        Signal magnitude on the support, ``mu >= 0`` (``mu = 0`` gives
        :func:`support_recovery_prob`).
    t, sigma : float or array_like
    log : bool, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(planted_recovery_prob(1000, 10, 8.0, 4.0)), 6)
    0.938917
    """
    log = check_bool("log", log)
    mu = check_real_array("mu", mu, low=0.0)
    d, k, t, sigma = _dkt(d, k, t, sigma)
    d, k, mu, t, sigma = _broadcast(d=d, k=k, mu=mu, t=t, sigma=sigma)
    return _finish(_planted_log_prob(d, k, _ratio(mu, sigma), _ratio(t, sigma),
                                     _ratio(mu - t, sigma)), log)


#: Above this ``mu/sigma`` the planted optimal threshold has the closed form
#: ``m/2 + log(2(d-k)/k)/m`` to double precision.
_STRONG_SIGNAL = 30.0


def _planted_argmax(d: float, k: float, m: float) -> float:
    """Normalised threshold maximising the planted recovery probability
    (``m <= _STRONG_SIGNAL``; :func:`planted_optimal_threshold` handles the rest)."""
    if k == 0:
        return math.inf
    if k == d:
        return 0.0

    def f(a):
        return -float(_planted_log_prob(np.float64(d), np.float64(k), np.float64(m),
                                        np.float64(a)))

    upper = m + math.sqrt(2.0 * math.log(d)) + 10.0
    grid = np.linspace(0.0, upper, 801)
    values = -_planted_log_prob(np.float64(d), np.float64(k), np.float64(m), grid)
    i = int(np.argmin(values))
    lo = grid[max(i - 1, 0)]
    hi = grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-12, "maxiter": 500})
    best = float(res.x)
    return best if f(best) <= values[i] else float(grid[i])


def planted_optimal_threshold(d: Any, k: Any, mu: Any, sigma: Any = 1.0) -> Any:
    """Threshold maximising :func:`planted_recovery_prob` (numerical, 1-D).

    A grid over ``[0, mu/sigma + sqrt(2 log d) + 10]`` (in units of sigma)
    locates the maximum of ``log P``; bounded Brent refines it.  ``k = 0``
    gives ``inf`` and ``k = d`` gives 0.  For ``mu = 0`` this is
    :func:`optimal_threshold`.  Once ``mu/sigma`` is well above
    ``sqrt(2 log d)`` the best threshold sits between the noise maximum and
    the signal and the recovery probability tends to 1; for ``m = mu/sigma >
    30`` the maximiser is the stationary point ``t/sigma = m/2 + log(2(d-k)/k)/m``
    (exact to double precision there, where ``log P`` is too close to 0 for
    a numerical search), i.e. ``t = mu/2 + sigma log(2(d-k)/k) / m``.  A
    threshold beyond the float range is ``inf``.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
    mu : float or array_like
        Signal magnitude, ``mu >= 0``.
    sigma : float or array_like, optional
        Noise standard deviation, ``sigma > 0``.

    Returns
    -------
    float or ndarray
        The maximising threshold (``inf`` for ``k = 0``).

    Examples
    --------
    >>> round(float(planted_optimal_threshold(1000, 10, 0.0)), 6)
    2.575829
    """
    mu = check_real_array("mu", mu, low=0.0)
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    d, k, mu, sigma = _broadcast(d=d, k=k, mu=mu, sigma=sigma)
    _at_most("k", k, "d", d)
    out = np.empty(d.shape, dtype=np.float64)
    for idx in np.ndindex(d.shape):
        di, ki, s = float(d[idx]), float(k[idx]), float(sigma[idx])
        m = float(_ratio(mu[idx], s))
        if m > _STRONG_SIGNAL and 0 < ki < di:
            # stationary point of k log p_on + (d-k) log(1-q): k phi(a-m) = 2(d-k) phi(a)
            # (every other term is below exp(-m^2/8) relative), i.e. a = m/2 + L/m;
            # t = sigma a = mu/2 + sigma L/m never overflows
            with np.errstate(under="ignore"):
                out[idx] = float(mu[idx]) / 2.0 + s * (math.log(2.0 * (di - ki) / ki) / m)
        else:
            out[idx] = _scaled(s, _planted_argmax(di, ki, m))
    return _out(out)


def _planted_topk_log(d: float, k: float, m: float) -> float:
    """``log P(top-k of |w| is S)`` by quadrature over the largest off-support magnitude."""
    if k == 0 or k == d:
        return 0.0
    # 1 - P <= k (d-k) P(|z'| >= |m + z|) <= 4 k (d-k) Phi_bar(m/2): below 1e-17,
    # log P = 0 to double precision (and the quadrature would overflow for huge m)
    if math.log(4.0 * k * (d - k)) + float(special.log_ndtr(-0.5 * m)) < math.log(1e-17):
        return 0.0
    n_off = d - k

    def log_integrand(u):
        u = np.asarray(u, dtype=np.float64)
        log_f_cdf = _survival_pair(u)[1]              # log P(|z| <= u)
        with np.errstate(invalid="ignore"):
            value = (k * _survival_pair(u, m=np.float64(m))[0] + math.log(n_off)
                     + _times(np.float64(n_off - 1), log_f_cdf)
                     + _LOG_SQRT_2_OVER_PI - 0.5 * u * u)
        return value

    upper = max(m, math.sqrt(2.0 * math.log(d))) + 40.0
    grid = np.linspace(0.0, upper, 4001)
    values = log_integrand(grid)
    i = int(np.argmax(values))
    if not np.isfinite(values[i]):
        return -math.inf
    # The peak can be far narrower than the grid (width ~ 1/sqrt(d) when k
    # and d - k are both large): refine it, then measure where the log
    # integrand has dropped by 1 on each side.
    lo_b, hi_b = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    res = optimize.minimize_scalar(lambda u: -float(log_integrand(u)), bounds=(lo_b, hi_b),
                                   method="bounded",
                                   options={"xatol": 1e-15 * max(1.0, upper), "maxiter": 500})
    u_star = float(res.x) if -res.fun >= values[i] else float(grid[i])
    peak = max(float(-res.fun), float(values[i]))

    def half_width(sign: float) -> float:
        w = upper
        while w > 1e-14 * max(1.0, u_star):
            u = u_star + sign * w
            if 0.0 <= u <= upper and float(log_integrand(u)) > peak - 1.0:
                return w
            w *= 0.5
        return w

    points = set()
    for sign in (-1.0, 1.0):
        w = half_width(sign)
        for c in (1.0, 4.0, 16.0, 64.0, 256.0):   # a wide feature at the edge of a long
            points.add(u_star + sign * c * w)      # interval is invisible to quad otherwise
    points.add(u_star)
    points = sorted(u for u in points if 0.0 < u < upper)

    def scaled(u):
        with np.errstate(under="ignore"):
            return float(np.exp(log_integrand(u) - peak))

    # The log integrand is a sum of terms as large as k |log p_on| and
    # (d-k) |log F|; its rounding noise bounds the attainable relative accuracy.
    with np.errstate(divide="ignore"):
        size = (k * abs(float(_survival_pair(np.float64(u_star), m=np.float64(m))[0]))
                + (n_off - 1) * abs(float(_survival_pair(np.float64(u_star))[1]))
                + 0.5 * u_star * u_star)
    tol = max(1e-12, 64.0 * np.finfo(float).eps * size)
    out = integrate.quad(scaled, 0.0, upper, points=points, limit=1000,
                         epsabs=0.0, epsrel=tol, full_output=1)
    # quadrature error can push P past 1 by an ulp: log P is capped at 0
    return min(peak + math.log(out[0]), 0.0)


def planted_topk_recovery_prob(d: Any, k: Any, mu: Any, sigma: Any = 1.0, *,
                               log: bool = False) -> Any:
    """``P(top-k magnitude pruning selects exactly S)`` in the planted model.

    Exact as a 1-D integral over ``u`` = the largest off-support magnitude:

        P = int_0^inf p_on(u)^k * (d-k) F(u)^(d-k-1) f(u) du,

    with ``F(u) = erf(u/sqrt2)``, ``f = F'`` (half-normal) and ``p_on`` of
    :func:`planted_tail_prob` (all in units of ``sigma``), evaluated by
    adaptive quadrature (``scipy.integrate.quad``, relative tolerance
    ``1e-12``) of the integrand scaled by its maximum, so ``log=True`` stays
    finite where ``P`` underflows.  ``mu = 0`` gives ``1 / C(d, k)``.
    The relative accuracy is about ``1e-12`` unless ``k`` and ``d - k`` are
    both huge (then it is limited by rounding in the log integrand, about
    ``1e-16 * |log P|``).  Once the bound ``1 - P <= 4 k (d-k) Phi_bar(mu /
    (2 sigma))`` is below ``1e-17``, ``P = 1`` (``log P = 0``) is returned.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
    mu : float or array_like
        Signal magnitude, ``mu >= 0``.
    sigma : float or array_like, optional
        Noise standard deviation, ``sigma > 0``.
    log : bool, optional
        Return the logarithm.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(planted_topk_recovery_prob(6, 2, 0.0)), 12)
    0.066666666667
    """
    log = check_bool("log", log)
    mu = check_real_array("mu", mu, low=0.0)
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    d, k, mu, sigma = _broadcast(d=d, k=k, mu=mu, sigma=sigma)
    _at_most("k", k, "d", d)
    out = np.empty(d.shape, dtype=np.float64)
    for idx in np.ndindex(d.shape):
        out[idx] = _planted_topk_log(float(d[idx]), float(k[idx]),
                                     float(_ratio(mu[idx], sigma[idx])))
    return _finish(out, log)

