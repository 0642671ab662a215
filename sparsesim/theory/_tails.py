"""Elementary log-probabilities: normal tails and the one survival kernel.

``_survival_pair`` gives ``(log s, log(1 - s))`` for every survival probability of
the thresholding model (``q``, the planted ``p_on``, the group ``chi2_g`` tail);
the log-space tails it dispatches to (incomplete gamma, folded normal) live here
with it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .._validation import check_bool, check_real_array
from ._common import _SQRT1_2, _TINY_PROB, _TINY_Q, _broadcast, _finish, _ratio


def _log_q_pair(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log q, log(1 - q))`` for ``q = erfc(a/sqrt2)``, ``a >= 0`` (may be inf)."""
    a = np.asarray(a, dtype=np.float64)
    x = a * _SQRT1_2
    with np.errstate(divide="ignore", under="ignore", over="ignore", invalid="ignore"):
        q = special.erfc(x)
        big_q = q > 0.5
        log_q = np.where(big_q, np.log1p(-special.erf(x)),
                         np.log(special.erfcx(x)) - 0.5 * a * a)
        log_1mq = np.where(big_q, np.log(special.erf(x)),
                           np.where(q < _TINY_Q, -np.exp(log_q), np.log1p(-q)))
    return log_q, log_1mq


def _survival_pair(a: np.ndarray, *, m: np.ndarray | None = None, g: np.ndarray | None = None,
                   diff: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(log s, log(1 - s))``: the one survival kernel of the support-recovery laws.

    ``s`` is the probability that one unit survives the normalised threshold
    ``a = t / sigma`` (float64 arrays, already checked):

    * a single pure-noise weight (``m`` and ``g`` not given): ``s = q =
      erfc(a / sqrt 2)``;
    * a planted weight of magnitude ``m = mu / sigma``: ``s = p_on = P(|m + z| >
      a)`` (``diff = (mu - t) / sigma`` where ``m`` or ``a`` overflow);
    * a group of ``g`` pure-noise weights, ``a`` on the group norm: ``s =
      chi2_g.sf(a^2)``.

    Every closed form of the thresholding model (:func:`tail_prob`,
    :func:`support_recovery_prob`, the Binomial laws of ``|S_hat|``, TP and FP,
    :func:`false_alarm_prob`, the planted and group analogues, the planted
    top-k integral) reads ``s`` here and nowhere else, so an error in ``q``
    reaches every table that uses it (the planted-error tests patch this
    function).
    """
    if m is not None and g is not None:
        raise ValueError("a planted group survival probability is not modelled (give m or g)")
    if g is not None:
        with np.errstate(over="ignore", under="ignore"):
            log_cdf, log_sf = _log_gamma_pq(0.5 * np.asarray(g, np.float64), 0.5 * a * a)
        return log_sf, log_cdf
    if m is not None:
        log_s = _log_planted_tail(m, a, diff)
        return log_s, _log1mexp(log_s)
    return _log_q_pair(a)


def _count_log_1mq(count: np.ndarray, log_q: np.ndarray,
                   log_1mq: np.ndarray) -> np.ndarray:
    """``count * log(1 - q)``.

    For ``q < 1e-20``, ``log(1 - q) == -q`` in float64: the product is
    ``-count * q`` with ``q = exp(log q)`` while that is a normal number, and
    ``-exp(log count + log q)`` below (there the result is smaller than
    ``1e-280`` in magnitude).
    """
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        tiny = log_q < math.log(_TINY_Q)
        q = np.exp(log_q)
        via_q = -(count * q)
        via_log = -np.exp(np.log(np.where(count > 0, count, 1.0)) + log_q)
        small = np.where(log_q > math.log(_TINY_PROB), via_q, via_log)
        return np.where(count == 0, 0.0, np.where(tiny, small, count * log_1mq))


def _log1mexp(log_p: np.ndarray) -> np.ndarray:
    """``log(1 - exp(log_p))`` for ``log_p <= 0``, accurate on both sides."""
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        return np.where(log_p > -math.log(2.0), np.log(-np.expm1(log_p)),
                        np.log1p(-np.exp(log_p)))


def _log_gamma_p_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log P(a, x)`` by the power series, for ``x`` below about ``a``."""
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        term = np.ones_like(x)
        total = np.ones_like(x)
        for i in range(1, 20001):
            term = term * x / (a + i)
            total = total + term
            if np.all(term <= 1e-17 * total):
                break
        return a * np.log(x) - x - special.gammaln(a + 1.0) + np.log(total)


def _log_gamma_q_cf(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log Q(a, x)`` by the Legendre continued fraction (modified Lentz), ``x > a + 1``."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    dd = 1.0 / b
    h = dd.copy()
    with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
        for i in range(1, 5001):
            an = -i * (i - a)
            b = b + 2.0
            dd = an * dd + b
            dd = np.where(np.abs(dd) < tiny, tiny, dd)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            dd = 1.0 / dd
            delta = dd * c
            h = h * delta
            if np.all(np.abs(delta - 1.0) < 1e-16):
                break
        return -x + a * np.log(x) - special.gammaln(a) + np.log(h)


def _log_gamma_pq(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log P(a, x), log Q(a, x))`` of the regularised incomplete gamma, ``a > 0, x >= 0``."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    with np.errstate(divide="ignore", under="ignore", invalid="ignore"):
        p = special.gammainc(a, x)
        q = special.gammaincc(a, x)
        log_p = np.where(p >= 0.5, np.log1p(-q), np.log(p))
        log_q = np.where(q >= 0.5, np.log1p(-p), np.log(q))
    need_p = (p < _TINY_PROB) & (x > 0)
    if need_p.any():
        log_p = log_p.copy()
        log_p[need_p] = _log_gamma_p_series(a[need_p], x[need_p])
    need_q = (q < _TINY_PROB) & (x < np.inf)   # x = inf (tau/sigma > 1.9e154): Q = 0
    if need_q.any():
        log_q = log_q.copy()
        log_q[need_q] = _log_gamma_q_cf(a[need_q], x[need_q])
    log_p = np.where(x == 0, -np.inf, np.where(x == np.inf, 0.0, log_p))
    log_q = np.where(x == 0, 0.0, np.where(x == np.inf, -np.inf, log_q))
    return log_p, log_q


def _log_planted_tail(m: np.ndarray, a: np.ndarray,
                      diff: np.ndarray | None = None) -> np.ndarray:
    """``log P(|m + z| > a)`` for ``z ~ N(0, 1)``, ``m >= 0``, ``a >= 0``.

    ``m`` or ``a`` may be ``inf`` (a ratio ``mu/sigma`` or ``t/sigma`` beyond the
    float range); there ``P = Phi(m - a)`` up to a term below ``Phi_bar(m + a)``
    and ``diff`` (``(mu - t)/sigma``, formed without the overflowing ratios)
    gives the answer.  Without ``diff``, ``m - a`` is used (``0`` or ``-inf``
    limits; NaN when both are ``inf``).
    """
    m, a = np.broadcast_arrays(np.asarray(m, np.float64), np.asarray(a, np.float64))
    infinite = np.isinf(m) | np.isinf(a)
    if infinite.any():
        with np.errstate(invalid="ignore"):
            d = m - a if diff is None else np.broadcast_to(diff, m.shape)
            finite = np.where(infinite, 0.0, m), np.where(infinite, 0.0, a)
        return np.where(infinite, special.log_ndtr(d), _log_planted_tail(*finite))
    with np.errstate(divide="ignore", under="ignore", invalid="ignore", over="ignore"):
        lo = (a - m) * _SQRT1_2
        hi = (a + m) * _SQRT1_2
        # eps = 1 - p_on = P(|m + z| <= a), never as a difference of close numbers:
        # a >= m: a sum of two erf's of non-negative arguments;
        # m > a > 1: Phi_bar(m-a) - Phi_bar(m+a), whose ratio is below exp(-1.6);
        # m > a, a <= 1: Phi_bar(m-a) * (1 - exp(-int_{m-a}^{m+a} hazard)).
        eps_sum = 0.5 * (special.erf(lo) + special.erf(hi))
        eps_diff = 0.5 * (special.erfc(-lo) - special.erfc(hi))
        eps_hazard = np.exp(special.log_ndtr(a - m)) * -np.expm1(-_hazard_integral(m, a))
        eps = np.where(a >= m, eps_sum, np.where(a > 1.0, eps_diff, eps_hazard))
        tail = np.logaddexp(special.log_ndtr(m - a), special.log_ndtr(-(a + m)))
        return np.where(eps <= 0.5, np.log1p(-eps), tail)


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


def _hazard_integral(mid: np.ndarray, half: np.ndarray) -> np.ndarray:
    """``int phi(x) / Phi_bar(x) dx`` over ``[mid - half, mid + half]``, i.e.
    ``log Phi_bar(mid - half) - log Phi_bar(mid + half)``, by 24-point
    Gauss-Legendre (the normal hazard is analytic and nearly linear, so for
    ``half <= 1`` this is exact to rounding).  The interval is given by its
    centre and half-width so that its width is exact even when
    ``half << mid``."""
    x = mid[..., None] + half[..., None] * _GL_NODES
    hazard = math.sqrt(2.0 / math.pi) / special.erfcx(x * _SQRT1_2)
    return half * np.sum(_GL_WEIGHTS * hazard, axis=-1)


def tail_prob(t: Any, sigma: Any = 1.0, *, log: bool = False) -> Any:
    """Probability ``q = P(|w_i| > t) = erfc(t / (sigma sqrt 2))`` for ``w_i ~ N(0, sigma^2)``.

    Parameters
    ----------
    t : float or array_like
        Threshold(s), ``t >= 0``, finite.
    sigma : float or array_like, optional
        Standard deviation(s), ``sigma > 0``.
    log : bool, optional
        Return ``log q`` (accurate where ``q`` underflows).

    Returns
    -------
    float or ndarray
        ``q`` or ``log q``, broadcast over ``t`` and ``sigma``.

    Raises
    ------
    TypeError, ValueError
        For non-real, non-finite or out-of-range arguments.

    Examples
    --------
    >>> round(float(tail_prob(1.959963984540054)), 12)
    0.05
    >>> float(tail_prob(40.0, log=True))
    -803.9152948331938
    """
    log = check_bool("log", log)
    t = check_real_array("t", t, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    t, sigma = _broadcast(t=t, sigma=sigma)
    log_q, _ = _survival_pair(_ratio(t, sigma))
    return _finish(log_q, log)


def _log_tail_prob(t: Any, sigma: Any = 1.0) -> Any:
    """Deprecated ``log_tail_prob(t, sigma)``: ``tail_prob(t, sigma, log=True)``."""
    return tail_prob(t, sigma, log=True)


def _selection_prob(a: Any, *, log: bool = False) -> Any:
    """Deprecated ``selection_prob(a, log=...)``: ``tail_prob(a, log=...)`` (``sigma = 1``)."""
    log = check_bool("log", log)
    a = check_real_array("a", a, low=0.0)
    log_q, _ = _survival_pair(a)
    return _finish(log_q, log)

