"""Binomial building blocks: log binomial coefficients and the saddle-point log-pmf."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .._validation import check_log_prob_array, check_real_array
from ._common import _LOG_2PI, _TINY_PROB, _at_most, _broadcast, _int_arg, _out, _times
from ._tails import _log1mexp

_STIRLING = (1.0 / 12.0, 1.0 / 360.0, 1.0 / 1260.0, 1.0 / 1680.0, 1.0 / 1188.0)


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """``log(n!) - log(sqrt(2 pi n) (n/e)^n)`` for ``n >= 1`` (values < 1 give 0)."""
    n = np.asarray(n, dtype=np.float64)
    safe = np.where(n >= 1, n, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = (special.gammaln(safe + 1.0) - (safe + 0.5) * np.log(safe)
                  + safe - 0.5 * _LOG_2PI)
        nn = safe * safe
        s0, s1, s2, s3, s4 = _STIRLING
        series = (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / safe
    return np.where(n < 1, 0.0, np.where(safe <= 15.0, direct, series))


def _bd0(x: np.ndarray, m: np.ndarray, log_m: np.ndarray) -> np.ndarray:
    """Deviance ``x log(x/m) + m - x >= 0`` for ``x > 0``, stable near ``x = m``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        far = x * (np.log(x) - log_m) + m - x
        near = np.abs(x - m) < 0.1 * (x + m)
        v = np.where(near, (x - m) / (x + m), 0.0)
        s = (x - m) * v
        ej = 2.0 * x * v
        v2 = v * v
        total = s
        for j in range(1, 16):          # |v| < 0.1: terms shrink by 100 each step
            ej = ej * v2
            total = total + ej / (2 * j + 1)
    return np.where(near, total, far)


def _pascal(rows: int) -> np.ndarray:
    table = np.zeros((rows + 1, rows + 1), dtype=np.float64)
    for n in range(rows + 1):
        for k in range(n + 1):
            table[n, k] = math.comb(n, k)      # exact: all below 2**53
    return table


_PASCAL_ROWS = 56                            # C(56, 28) < 2**53
_LOG_PASCAL = np.log(np.maximum(_pascal(_PASCAL_ROWS), 1.0))


def _log_binom_coef(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``log C(n, k)`` for ``0 <= k <= n`` (float arrays holding integers);
    correctly rounded from an exact table for ``n <= 56``."""
    n, k = np.broadcast_arrays(np.asarray(n, dtype=np.float64),
                               np.asarray(k, dtype=np.float64))
    small = n <= _PASCAL_ROWS
    exact = _LOG_PASCAL[np.where(small, n, 0).astype(np.intp),
                        np.where(small, k, 0).astype(np.intp)]
    k = np.minimum(k, n - k)                  # C(n, k) = C(n, n-k)
    inner = (k > 0) & (k < n)
    nn = np.where(inner, n, 2.0)
    kk = np.where(inner, k, 1.0)
    rest = nn - kk
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (_stirlerr(nn) - _stirlerr(kk) - _stirlerr(rest)
                 + 0.5 * (np.log(nn) - _LOG_2PI - np.log(kk) - np.log(rest))
                 + kk * np.log(nn / kk) - rest * np.log1p(-kk / nn))
    return np.where(small, exact, np.where(inner, value, 0.0))


def binom_logpmf_unchecked(j: np.ndarray, n: np.ndarray, log_p: np.ndarray,
                  log_1mp: np.ndarray, p: np.ndarray | None = None,
                  p1: np.ndarray | None = None) -> np.ndarray:
    """Binomial log-pmf from ``log p`` and ``log(1-p)``; ``-inf`` outside ``[0, n]``.

    The unchecked kernel of :func:`binom_logpmf`, for callers that have
    validated their arguments (float64 arrays that broadcast together).

    Saddle-point form: ``log pmf = stirlerr(n) - stirlerr(j) - stirlerr(n-j)
    - bd0(j, n p) - bd0(n-j, n (1-p)) + log(n / (2 pi j (n-j))) / 2``.
    ``p`` and ``p1 = 1 - p``, when given (relative-accurate values), set the
    means ``n p`` and ``n (1-p)`` to within one rounding.
    """
    if p is None:
        with np.errstate(under="ignore"):
            p = np.exp(log_p)
            p1 = -np.expm1(log_p)
    j, n, log_p, log_1mp, p, p1 = np.broadcast_arrays(
        np.asarray(j, np.float64), np.asarray(n, np.float64),
        np.asarray(log_p, np.float64), np.asarray(log_1mp, np.float64),
        np.asarray(p, np.float64), np.asarray(p1, np.float64))
    inner = (j > 0) & (j < n)
    jj = np.where(inner, j, 1.0)
    nn = np.where(inner, n, 2.0)
    rest = nn - jj
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_n = np.log(nn)
        log_m1 = log_n + log_p
        log_m2 = log_n + log_1mp
        m1 = np.where(p > _TINY_PROB, nn * p, np.exp(log_m1))
        m2 = np.where(p1 > _TINY_PROB, nn * p1, np.exp(log_m2))
        value = (_stirlerr(nn) - _stirlerr(jj) - _stirlerr(rest)
                 - _bd0(jj, m1, log_m1) - _bd0(rest, m2, log_m2)
                 + 0.5 * (log_n - _LOG_2PI - np.log(jj) - np.log(rest)))
        edge0 = _times(n, log_1mp)         # j == 0: (1-p)^n
        edgen = _times(n, log_p)           # j == n: p^n
    out = np.where(inner, value, np.where(j == 0, edge0, edgen))
    return np.where((j < 0) | (j > n), -np.inf, out)


def log_binomial_coefficient(n: Any, k: Any) -> Any:
    """``log C(n, k)`` with full relative accuracy up to ``n = 2**53``.

    Parameters
    ----------
    n, k : int or array_like of int
        ``0 <= k <= n``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(log_binomial_coefficient(1000, 10)), 6)
    53.927997
    >>> float(log_binomial_coefficient(5, 0))
    0.0
    """
    n = _int_arg("n", n)
    k = _int_arg("k", k)
    n, k = _broadcast(n=n, k=k)
    _at_most("k", k, "n", n)
    return _out(_log_binom_coef(n, k))


def binom_logpmf(j: Any, n: Any, p: Any = None, *, log_p: Any = None,
                 log_1mp: Any = None) -> Any:
    """Binomial(n, p) log-pmf at ``j``, accurate for large ``n`` and tiny ``p``.

    Give either ``p`` or ``log_p`` (then ``log_1mp`` is optional; pass it when
    ``p`` is close to 1 and ``1 - p`` is known more accurately than ``p``).

    Parameters
    ----------
    j : int or array_like of int
        Count(s), ``j >= 0``; the pmf is 0 (log ``-inf``) for ``j > n``.
    n : int or array_like of int
        Number of trials, ``n >= 0``.
    p : float or array_like, optional
        Success probability in ``[0, 1]``.
    log_p, log_1mp : float or array_like, optional
        ``log p`` (``<= 0``, may be ``-inf``) and ``log(1 - p)``.

    Returns
    -------
    float or ndarray
        ``log P(X = j)``.

    Raises
    ------
    TypeError, ValueError
        Bad or inconsistent arguments.

    Notes
    -----
    ``scipy.stats.binom.logpmf`` subtracts ``gammaln`` values of size
    ``n log n`` and has an absolute error near ``1e-6`` at ``n = 1e9``; the
    saddle-point form used here does not.

    Examples
    --------
    >>> round(float(binom_logpmf(3, 10, 0.5)), 12)
    -2.143980062817
    >>> round(float(binom_logpmf(2, 10**9, log_p=-800.0)), 9)
    -1559.246615508
    """
    j = _int_arg("j", j)
    n = _int_arg("n", n)
    if (p is None) == (log_p is None):
        raise TypeError("give exactly one of p and log_p")
    if p is not None:
        if log_1mp is not None:
            raise TypeError("log_1mp goes with log_p, not with p")
        p = check_real_array("p", p, low=0.0, high=1.0)
        j, n, p = _broadcast(j=j, n=n, p=p)
        with np.errstate(divide="ignore"):
            lp, l1mp = np.log(p), np.log1p(-p)
        return _out(binom_logpmf_unchecked(j, n, lp, l1mp, p, 1.0 - p))
    lp = check_log_prob_array("log_p", log_p)
    if log_1mp is None:
        j, n, lp = _broadcast(j=j, n=n, log_p=lp)
        l1mp = _log1mexp(lp)
        with np.errstate(under="ignore"):
            p1 = -np.expm1(lp)
    else:
        l1mp = check_log_prob_array("log_1mp", log_1mp)
        j, n, lp, l1mp = _broadcast(j=j, n=n, log_p=lp, log_1mp=l1mp)
        with np.errstate(invalid="ignore"):
            total = np.logaddexp(lp, l1mp)
        bad = ~(np.abs(total) <= 1e-9)
        if bad.any():
            raise ValueError("exp(log_p) + exp(log_1mp) must equal 1 within 1e-9; "
                             f"got {float(np.exp(total[bad].flat[0]))!r}")
        with np.errstate(under="ignore"):
            p1 = np.exp(l1mp)
    with np.errstate(under="ignore"):
        p = np.exp(lp)
    return _out(binom_logpmf_unchecked(j, n, lp, l1mp, p, p1))

