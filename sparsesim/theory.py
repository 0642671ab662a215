"""Closed forms for thresholding Gaussian weights (SciPy, float64, log-space).

Setting
-------
``w ~ N(0, sigma^2 I_d)``, a fixed support ``S`` of size ``k``, a threshold
``t >= 0`` and the selected set ``S_hat = {i : |w_i| > t}``.  With
``a = t / sigma`` every coordinate survives independently with probability

    q = 2 * Phi_bar(a) = erfc(a / sqrt(2)),

so ``P(S_hat = S) = q^k (1 - q)^(d - k)``, ``|S_hat| ~ Binomial(d, q)``,
``|S_hat & S| ~ Binomial(k, q)`` and ``|S_hat - S| ~ Binomial(d - k, q)``.

One kernel, ``_survival_pair``, gives ``(log s, log(1 - s))`` for every
survival probability of the model -- ``q``, the planted ``p_on`` and the
group ``chi2_g`` tail -- and every closed form below reads it there, so an
error in ``q`` reaches every law and table that uses ``q`` (the planted-error
tests patch this one function).

Numerics
--------
Every probability that can underflow is computed as a logarithm and only
exponentiated at the end (``log=False``).  ``log q`` and ``log(1 - q)`` each
have two branches, chosen so that neither ever subtracts two nearly equal
numbers:

* ``q > 1/2`` (small ``a``): ``log q = log1p(-erf(a/sqrt2))`` and
  ``log(1 - q) = log(erf(a/sqrt2))``;
* otherwise: ``log q = log(erfcx(a/sqrt2)) - a^2/2`` (no underflow up to
  ``a ~ 1e150``) and ``log(1 - q) = log1p(-q)``, or ``-q`` computed from
  ``log q`` once ``q < 1e-20`` (where ``log1p(-q) == -q`` to double
  precision).

Binomial log-pmfs use the saddle-point form (Loader 2000), which keeps full
relative accuracy for ``n`` up to ``2**53`` and for success probabilities
given only through their logarithms; ``scipy.stats.binom.logpmf`` subtracts
``gammaln`` values and loses about six digits at ``n = 1e9``.  The chi-square
(group) tails use a log-space series / continued fraction where
``scipy.special.gammainc``/``gammaincc`` underflow.

Extreme but valid scales give the limiting values, without floating-point
warnings: a ratio such as ``t/sigma``, ``mu/sigma`` or ``tau/sigma`` beyond
the float range is ``inf`` (a tail probability 0, log ``-inf``), and a
threshold beyond it is ``inf`` (where only a finite threshold makes sense,
:func:`universal_threshold`, the argument is rejected instead).

Arguments
---------
Every function is vectorised by NumPy broadcasting over its array
arguments; all-scalar calls return NumPy scalars.  Counts (``d``, ``k``,
``j``, ``g``, ``G``, ``q``, ``n``, ``s``) must be Python or NumPy integers or
integer arrays (a float such as ``10.0`` is refused with ``TypeError``);
every element of every argument is checked and a bad one raises
``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import integrate, optimize, special

from ._validation import (
    check_bool,
    check_int,
    check_int_array,
    check_log_prob_array,
    check_real,
    check_real_array,
)

__all__ = [
    "best_k_relative_error_exact",
    "prob_random_mask_avoids",
    "prob_magnitude_mask_avoids",
    "tail_prob",
    "log_tail_prob",
    "selection_prob",
    "support_recovery_prob",
    "log_binomial_coefficient",
    "binom_logpmf",
    "selected_count_pmf",
    "true_positive_pmf",
    "false_positive_pmf",
    "optimal_threshold",
    "max_support_recovery_prob",
    "topk_selection_prob",
    "energy_kept",
    "universal_threshold",
    "false_alarm_prob",
    "gaussian_best_k_relative_error",
    "group_best_q_relative_error",
    "compressible_best_k_bound",
    "power_law_best_k_error",
    "power_law_best_k_rate",
    "group_tail_prob",
    "group_support_recovery_prob",
    "group_optimal_threshold",
    "group_topq_selection_prob",
    "planted_tail_prob",
    "planted_recovery_prob",
    "planted_optimal_threshold",
    "planted_topk_recovery_prob",
    "l1_statistical_dimension",
    "l1_phase_transition",
    "l1_intrinsic_sd",
    "l1_recovery_prob",
    "l1_transition_band",
]

#: Largest count accepted: every integer up to 2**53 is exact in float64.
MAX_COUNT = 2 ** 53

_SQRT1_2 = math.sqrt(0.5)
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_SQRT_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)
_TINY_Q = 1e-20          # below this, log1p(-q) == -q in float64
_TINY_PROB = 1e-280      # below this a probability is recomputed in log space


# ---------------------------------------------------------------------------
# argument checks (vectorised; every element is checked)
# ---------------------------------------------------------------------------

def _int_arg(name: str, value: Any, *, low: int = 0) -> np.ndarray:
    """A count (or array of counts) in ``[low, MAX_COUNT]`` as int64."""
    return check_int_array(name, value, low=low, high=MAX_COUNT)




def _broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in arrays.items())
        raise ValueError(f"arguments do not broadcast together: {shapes}") from None


def _at_most(name: str, x: np.ndarray, ref_name: str, ref: np.ndarray) -> None:
    """Raise unless ``x <= ref`` elementwise (both already broadcast)."""
    bad = x > ref
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if x.ndim else ()
        raise ValueError(f"{name} must be in [0, {ref_name}]; got {name}={int(x[i])} "
                         f"with {ref_name}={int(ref[i])}")


def _ratio(num: Any, den: Any) -> np.ndarray:
    """``num / den`` for finite ``num`` and ``den > 0``: a quotient beyond the float
    range is ``+-inf`` and one below it ``0`` (limits every caller handles),
    without floating-point warnings."""
    with np.errstate(over="ignore", under="ignore"):
        return np.true_divide(num, den)


def _scaled(scale: Any, x: Any) -> np.ndarray:
    """``scale * x`` (a threshold in units of ``scale``); ``inf`` where it exceeds
    the float range."""
    with np.errstate(over="ignore", under="ignore"):
        return np.multiply(scale, x)


def _out(x: np.ndarray) -> Any:
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def _finish(log_value: np.ndarray, log: bool) -> Any:
    if log:
        return _out(log_value + 0.0)      # + 0.0 turns -0.0 into 0.0
    with np.errstate(under="ignore"):
        return _out(np.exp(log_value))


def _times(count: np.ndarray, log_value: np.ndarray) -> np.ndarray:
    """``count * log_value`` with ``0 * (-inf) = 0`` (a zero exponent); a product
    below the float range is ``-inf`` (a probability that is 0 in float64)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(count == 0, 0.0, count * log_value)


# ---------------------------------------------------------------------------
# elementary log-probabilities
# ---------------------------------------------------------------------------

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


def log_tail_prob(t: Any, sigma: Any = 1.0) -> Any:
    """``log q = log P(|w_i| > t)``; shorthand for ``tail_prob(t, sigma, log=True)``.

    Parameters
    ----------
    t : float or array_like
        Threshold, ``t >= 0``.
    sigma : float or array_like, optional
        Standard deviation, ``sigma > 0``.

    Returns
    -------
    float or ndarray
        ``log q``.

    Examples
    --------
    >>> float(log_tail_prob(0.0))
    0.0
    """
    return tail_prob(t, sigma, log=True)


def selection_prob(a: Any, *, log: bool = False) -> Any:
    """``q = 2 Phi_bar(a)``: survival probability at the normalised threshold ``a = t/sigma``.

    Parameters
    ----------
    a : float or array_like
        Normalised threshold(s), ``a >= 0``.
    log : bool, optional
        Return ``log q``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> float(selection_prob(0.0))
    1.0
    """
    log = check_bool("log", log)
    a = check_real_array("a", a, low=0.0)
    log_q, _ = _survival_pair(a)
    return _finish(log_q, log)


# ---------------------------------------------------------------------------
# binomial building blocks
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# support recovery by thresholding
# ---------------------------------------------------------------------------

def _dkt(d, k, t, sigma):
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    t = check_real_array("t", t, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    d, k, t, sigma = _broadcast(d=d, k=k, t=t, sigma=sigma)
    _at_most("k", k, "d", d)
    return d.astype(np.float64), k.astype(np.float64), t, sigma


def support_recovery_prob(d: Any, k: Any, t: Any, sigma: Any = 1.0, *,
                          log: bool = False) -> Any:
    """Exact ``P(S_hat = S) = q^k (1 - q)^(d - k)`` for thresholding ``N(0, sigma^2 I_d)`` at ``t``.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``1 <= d <= 2**53``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
    t : float or array_like
        Threshold, ``t >= 0``.
    sigma : float or array_like, optional
        Weight standard deviation, ``sigma > 0``.
    log : bool, optional
        Return ``log P`` (finite wherever ``P > 0`` mathematically, even when
        ``P`` underflows; relative error below ``1e-13`` in the tests against
        50-digit arithmetic).

    Returns
    -------
    float or ndarray

    Notes
    -----
    ``t = 0`` gives ``q = 1``: ``P = 1`` when ``k = d`` and ``0`` (log
    ``-inf``) otherwise.  ``k = 0`` gives ``(1-q)^d``.

    Examples
    --------
    >>> round(float(support_recovery_prob(1000, 10, optimal_threshold(1000, 10), log=True)), 4)
    -56.0015
    >>> float(support_recovery_prob(3, 3, 0.0))
    1.0
    >>> float(support_recovery_prob(10**9, 10, 40.0, log=True))
    -8039.152948331938
    """
    log = check_bool("log", log)
    d, k, t, sigma = _dkt(d, k, t, sigma)
    log_q, log_1mq = _survival_pair(_ratio(t, sigma))
    value = _times(k, log_q) + _count_log_1mq(d - k, log_q, log_1mq)
    return _finish(value, log)


def _law(j, n, t, sigma, log):
    log_q, log_1mq = _survival_pair(_ratio(t, sigma))
    with np.errstate(under="ignore"):
        value = binom_logpmf_unchecked(j, n, log_q, log_1mq, np.exp(log_q), np.exp(log_1mq))
    return _finish(value, log)


def selected_count_pmf(j: Any, d: Any, t: Any, sigma: Any = 1.0, *,
                       log: bool = False) -> Any:
    """pmf of ``|S_hat| ~ Binomial(d, q)``.

    Parameters
    ----------
    j : int or array_like of int
        Count(s), ``j >= 0`` (the pmf is 0 for ``j > d``).
    d : int or array_like of int
        Dimension, ``d >= 1``.
    t, sigma : float or array_like
        Threshold ``t >= 0`` and standard deviation ``sigma > 0``.
    log : bool, optional
        Return the log-pmf.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(selected_count_pmf(0, 4, 0.0)), 12)
    0.0
    >>> float(selected_count_pmf(4, 4, 0.0))
    1.0
    """
    log = check_bool("log", log)
    j = _int_arg("j", j)
    d = _int_arg("d", d, low=1)
    t = check_real_array("t", t, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    j, d, t, sigma = _broadcast(j=j, d=d, t=t, sigma=sigma)
    return _law(j, d, t, sigma, log)


def true_positive_pmf(j: Any, d: Any, k: Any, t: Any, sigma: Any = 1.0, *,
                      log: bool = False) -> Any:
    """pmf of ``|S_hat & S| ~ Binomial(k, q)`` (``d`` is checked, ``k <= d``).

    Parameters
    ----------
    j : int or array_like of int
        Count, ``j >= 0`` (pmf 0 above ``k``).
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
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
    >>> round(float(true_positive_pmf(1, 10, 2, 0.6744897501960817)), 12)
    0.5
    """
    log = check_bool("log", log)
    j = _int_arg("j", j)
    d, k, t, sigma = _dkt(d, k, t, sigma)
    j, k, t, sigma = _broadcast(j=j, k=k, t=t, sigma=sigma)
    return _law(j, k, t, sigma, log)


def false_positive_pmf(j: Any, d: Any, k: Any, t: Any, sigma: Any = 1.0, *,
                       log: bool = False) -> Any:
    """pmf of ``|S_hat - S| ~ Binomial(d - k, q)``.

    Parameters
    ----------
    j : int or array_like of int
        Count, ``j >= 0`` (pmf 0 above ``d - k``).
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
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
    >>> float(false_positive_pmf(0, 5, 5, 1.0))
    1.0
    """
    log = check_bool("log", log)
    j = _int_arg("j", j)
    d, k, t, sigma = _dkt(d, k, t, sigma)
    j, n, t, sigma = _broadcast(j=j, n=d - k, t=t, sigma=sigma)
    return _law(j, n, t, sigma, log)


def optimal_threshold(d: Any, k: Any, sigma: Any = 1.0) -> Any:
    """Threshold maximising ``P(S_hat = S)``: ``t* = sigma Phi^{-1}(1 - k/(2d))``.

    Proof sketch: ``log P = k log q + (d-k) log(1-q)`` is strictly concave
    in ``q`` on ``(0, 1)`` (second derivative ``-k/q^2 - (d-k)/(1-q)^2``),
    with derivative ``k/q - (d-k)/(1-q)`` vanishing at ``q = k/d``.  Since
    ``q = 2 Phi_bar(t/sigma)`` decreases strictly and continuously from 1 to
    0 as ``t`` goes from 0 to infinity, the maximiser in ``t`` is the unique
    solution of ``2 Phi_bar(t/sigma) = k/d``, i.e. ``t*/sigma =
    Phi^{-1}(1 - k/(2d)) = -ndtri(k/(2d))`` (computed from the lower tail, so
    tiny ``k/(2d)`` keeps full accuracy).  ``k = 0`` gives ``t* = inf``
    (``P -> 1``) and ``k = d`` gives ``t* = 0``.

    Parameters
    ----------
    d, k : int or array_like of int
        ``1 <= d``, ``0 <= k <= d``.
    sigma : float or array_like, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(optimal_threshold(1000, 10)), 6)
    2.575829
    """
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    d, k, sigma = _broadcast(d=d, k=k, sigma=sigma)
    _at_most("k", k, "d", d)
    with np.errstate(divide="ignore"):
        return _out(_scaled(sigma, -special.ndtri(k / (2.0 * d))))


def max_support_recovery_prob(d: Any, k: Any, *, log: bool = False) -> Any:
    """``max_t P(S_hat = S) = (k/d)^k (1 - k/d)^(d-k)`` (``0^0 = 1``).

    Never exceeds ``1/C(d, k)``: ``P(S_hat = S) = Binom(d, q).pmf(k) / C(d, k)``
    and a pmf is at most 1.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
    log : bool, optional
        Return the logarithm.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(max_support_recovery_prob(1000, 10, log=True)), 4)
    -56.0015
    """
    log = check_bool("log", log)
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    d, k = _broadcast(d=d, k=k)
    _at_most("k", k, "d", d)
    d = d.astype(np.float64)
    k = k.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = special.xlogy(k, k / d) + special.xlog1py(d - k, -k / d)
    return _finish(value, log)


def topk_selection_prob(d: Any, k: Any, *, log: bool = False) -> Any:
    """``1 / C(d, k)``: probability that top-k magnitude pruning of an
    exchangeable (e.g. i.i.d. Gaussian) vector selects a given ``k``-set.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``d >= 1``.
    k : int or array_like of int
        Support size, ``0 <= k <= d``.
    log : bool, optional
        Return the logarithm.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(topk_selection_prob(1000, 10, log=True)), 3)
    -53.928
    >>> round(float(topk_selection_prob(4, 2)), 15)
    0.166666666666667
    """
    log = check_bool("log", log)
    d = _int_arg("d", d, low=1)
    k = _int_arg("k", k)
    d, k = _broadcast(d=d, k=k)
    _at_most("k", k, "d", d)
    return _finish(-_log_binom_coef(d, k), log)


# ---------------------------------------------------------------------------
# energy, universal threshold, false alarms
# ---------------------------------------------------------------------------

def energy_kept(a: Any) -> Any:
    """Expected fraction of energy kept by thresholding ``N(0, 1)`` at ``a``.

    ``E[w^2 1{|w| > a}] = 2 Phi_bar(a) + 2 a phi(a)``, evaluated as
    ``P(chi2_3 > a^2) = gammaincc(3/2, a^2/2)`` (the same function: the
    chi2_3 density is ``x^2 phi(x)`` after ``y = x^2``), which keeps full
    relative accuracy on both ends.

    Parameters
    ----------
    a : float or array_like
        Normalised threshold ``t/sigma >= 0``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> float(energy_kept(0.0))
    1.0
    >>> round(float(energy_kept(1.0)), 10)
    0.8012519569
    """
    a = check_real_array("a", a, low=0.0)
    with np.errstate(over="ignore", under="ignore"):   # a > 1.9e154: a^2 = inf, kept 0
        return _out(special.gammaincc(1.5, 0.5 * a * a))


def universal_threshold(d: Any, sigma: Any = 1.0) -> Any:
    """Donoho-Johnstone universal threshold ``sigma sqrt(2 log d)``.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``d >= 1``.
    sigma : float or array_like, optional
        Standard deviation, ``sigma > 0``.

    Returns
    -------
    float or ndarray

    Raises
    ------
    TypeError, ValueError
        Bad arguments, or a threshold beyond the float range (``sigma``
        above ``1.8e308 / sqrt(2 log d)``).

    Examples
    --------
    >>> round(float(universal_threshold(1000)), 6)
    3.716922
    """
    d = _int_arg("d", d, low=1)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    d, sigma = _broadcast(d=d, sigma=sigma)
    factor = np.sqrt(2.0 * np.log(d.astype(np.float64)))
    out = _scaled(sigma, factor)
    bad = np.isinf(out)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if out.ndim else ()
        limit = np.finfo(np.float64).max / factor[i]
        raise ValueError(f"sigma must be in (0, {limit:.6g}] for d={int(d[i])} (the threshold "
                         f"sigma sqrt(2 log d) must be a finite float); got {float(sigma[i])!r}")
    return _out(out)


def false_alarm_prob(d: Any, t: Any, sigma: Any = 1.0) -> Any:
    """``P(max_i |w_i| > t) = 1 - (1 - q)^d`` for pure noise, as ``-expm1(d log(1-q))``.

    Parameters
    ----------
    d : int or array_like of int
        Number of pure-noise coordinates, ``d >= 1``.
    t : float or array_like
        Threshold, ``t >= 0``.
    sigma : float or array_like, optional
        Standard deviation, ``sigma > 0``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(false_alarm_prob(1000, universal_threshold(1000))), 3)
    0.183
    """
    d = _int_arg("d", d, low=1)
    t = check_real_array("t", t, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    d, t, sigma = _broadcast(d=d, t=t, sigma=sigma)
    log_q, log_1mq = _survival_pair(_ratio(t, sigma))
    with np.errstate(under="ignore"):
        return _out(-np.expm1(_count_log_1mq(d.astype(np.float64), log_q, log_1mq)))


# ---------------------------------------------------------------------------
# best k-term approximation
# ---------------------------------------------------------------------------

def gaussian_best_k_relative_error(density: Any) -> Any:
    """Large-``d`` limit of ``||w - best_k_term(w, k)||^2 / ||w||^2`` for Gaussian ``w``.

    Keeping the fraction ``density = k/d`` of largest magnitudes is, as
    ``d -> inf``, thresholding at ``a = Phi^{-1}(1 - density/2)``, so the
    relative squared error is ``1 - energy_kept(a) = P(chi2_3 <= a^2)``.

    Parameters
    ----------
    density : float or array_like
        Kept fraction in ``[0, 1]``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> float(gaussian_best_k_relative_error(1.0)), float(gaussian_best_k_relative_error(0.0))
    (0.0, 1.0)
    >>> round(float(gaussian_best_k_relative_error(0.1)), 6)
    0.560714
    """
    density = check_real_array("density", density, low=0.0, high=1.0)
    with np.errstate(divide="ignore", under="ignore"):
        a = -special.ndtri(0.5 * density)
        return _out(special.gammainc(1.5, 0.5 * a * a))


def group_best_q_relative_error(density: Any, g: Any) -> Any:
    """Large-``G`` limit of the relative error of :func:`sparsesim.group_best_q`.

    With Gaussian weights in groups of ``g``, ``||w_G||^2 ~ chi2_g``; keeping
    the fraction ``density`` of groups with the largest norms is, as
    ``G -> inf``, thresholding ``chi2_g`` at ``x* = chi2_g.isf(density)``.
    Because ``x f_g(x) = g f_{g+2}(x)`` for chi-square densities, the energy
    kept is ``chi2_{g+2}.sf(x*)``, so the relative squared error is
    ``chi2_{g+2}.cdf(chi2_g.isf(density))``.  For ``g = 1`` this is
    :func:`gaussian_best_k_relative_error`.

    Parameters
    ----------
    density : float or array_like
        Kept fraction of groups in ``[0, 1]``.
    g : int or array_like of int
        Group size, ``g >= 1``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> bool(abs(group_best_q_relative_error(0.1, 1) - gaussian_best_k_relative_error(0.1)) < 1e-12)
    True
    >>> round(float(group_best_q_relative_error(0.1, 10)), 6)
    0.808176
    """
    density = check_real_array("density", density, low=0.0, high=1.0)
    g = _int_arg("g", g, low=1).astype(np.float64)
    with np.errstate(divide="ignore", under="ignore"):
        x = 2.0 * special.gammainccinv(0.5 * g, density)  # chi2_g.isf(density)
        return _out(special.gammainc(0.5 * g + 1.0, 0.5 * x))


def compressible_best_k_bound(x_l1: Any, s: Any) -> Any:
    """Sharp bound ``sigma_s(x)_2 <= ||x||_1 / (2 sqrt(s))`` on the best ``s``-term error.

    Parameters
    ----------
    x_l1 : float or array_like
        ``||x||_1 >= 0``.
    s : int or array_like of int
        Number of kept terms, ``s >= 1``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> float(compressible_best_k_bound(4.0, 4))
    1.0
    """
    x_l1 = check_real_array("x_l1", x_l1, low=0.0)
    s = _int_arg("s", s, low=1)
    x_l1, s = _broadcast(x_l1=x_l1, s=s)
    return _out(x_l1 / (2.0 * np.sqrt(s.astype(np.float64))))


_DIRECT_TERMS = 20000


def _power_tail_sum(lo: int, hi: int, r: float) -> float:
    """``sum_{i=lo}^{hi} i^(-r)``: direct (pairwise) for the first terms,
    Euler-Maclaurin (error far below double precision once ``i > 2e4``) for
    the rest."""
    if hi < lo:
        return 0.0
    mid = min(hi, lo + _DIRECT_TERMS - 1)
    idx = np.arange(mid, lo - 1, -1, dtype=np.float64)    # small terms first
    with np.errstate(under="ignore"):
        total = float(np.sum(idx ** (-r)))
    if hi == mid:
        return total
    a, b = float(mid + 1), float(hi)
    if r * math.log(a) > 800.0:
        # the rest is below a^-r (1 + a/(r-1)) < 1e-340: 0 in float64 (and the
        # Euler-Maclaurin terms would form inf * 0)
        return total
    log_ratio = math.log(b / a)
    if abs(1.0 - r) * log_ratio < 1e-300:
        integral = log_ratio * a ** (1.0 - r)
    else:
        integral = a ** (1.0 - r) * math.expm1((1.0 - r) * log_ratio) / (1.0 - r)

    def deriv(x: float, order: int) -> float:   # d^order/dx^order x^-r
        c = 1.0
        for i in range(order):
            c *= -(r + i)
        return c * x ** (-r - order)

    em = integral + 0.5 * (a ** (-r) + b ** (-r))
    em += (deriv(b, 1) - deriv(a, 1)) / 12.0
    em -= (deriv(b, 3) - deriv(a, 3)) / 720.0
    em += (deriv(b, 5) - deriv(a, 5)) / 30240.0
    return total + em


def power_law_best_k_error(n: Any, s: Any, p: Any) -> Any:
    """Exact ``sigma_s(x)_2`` for ``x`` with sorted magnitudes ``|x|_(i) = i^(-1/p)``, ``i = 1..n``.

    ``sigma_s(x)_2 = sqrt(sum_{i=s+1}^{n} i^(-2/p))`` (the best ``s``-term
    approximation keeps the ``s`` largest).  Summed directly for the first
    20000 terms and by Euler-Maclaurin beyond (relative error near 1e-15).

    Parameters
    ----------
    n : int or array_like of int
        Length, ``n >= 1``.
    s : int or array_like of int
        Kept terms, ``0 <= s <= n``.
    p : float or array_like
        Compressibility exponent, ``p > 0``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(power_law_best_k_error(3, 1, 1.0)), 12)
    0.600925212577
    """
    n = _int_arg("n", n, low=1)
    s = _int_arg("s", s)
    p = check_real_array("p", p, low=0.0, low_open=True)
    n, s, p = _broadcast(n=n, s=s, p=p)
    _at_most("s", s, "n", n)
    out = np.empty(n.shape, dtype=np.float64)
    for idx in np.ndindex(n.shape):
        out[idx] = math.sqrt(_power_tail_sum(int(s[idx]) + 1, int(n[idx]), 2.0 / float(p[idx])))
    return _out(out)


def power_law_best_k_rate(s: Any, p: Any) -> Any:
    """Asymptotic rate ``s^(1/2 - 1/p)`` of :func:`power_law_best_k_error`.

    For ``0 < p < 2`` and ``n -> inf``, ``sigma_s(x)_2 ~ sqrt(p/(2-p)) *
    s^(1/2 - 1/p)`` as ``s -> inf``.

    Parameters
    ----------
    s : int or array_like of int
        Kept terms, ``s >= 1``.
    p : float or array_like
        Exponent, ``p > 0``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> float(power_law_best_k_rate(4, 1.0))
    0.5
    """
    s = _int_arg("s", s, low=1)
    p = check_real_array("p", p, low=0.0, low_open=True)
    s, p = _broadcast(s=s, p=p)
    # p below ~1e-308: 1/p = inf and s^-inf is the limit 0 (1 for s = 1)
    with np.errstate(over="ignore", under="ignore"):
        return _out(s.astype(np.float64) ** (0.5 - 1.0 / p))


# ---------------------------------------------------------------------------
# group (chi-square) analogue
# ---------------------------------------------------------------------------

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


def _group_logs(g: np.ndarray, tau: np.ndarray, sigma: np.ndarray):
    log_sf, log_cdf = _survival_pair(_ratio(tau, sigma), g=g)
    return log_cdf, log_sf


def group_tail_prob(g: Any, tau: Any, sigma: Any = 1.0, *, log: bool = False) -> Any:
    """``P(||w_G||_2 > tau) = chi2_g.sf(tau^2 / sigma^2)`` for a group of ``g`` i.i.d. ``N(0, sigma^2)``.

    Parameters
    ----------
    g : int or array_like of int
        Group size, ``g >= 1``.
    tau : float or array_like
        Threshold on the group norm, ``tau >= 0``.
    sigma : float or array_like, optional
    log : bool, optional
        Return the log (accurate where the tail underflows).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(group_tail_prob(1, 1.959963984540054)), 12)
    0.05
    >>> round(float(group_tail_prob(4, 60.0, log=True)), 6)
    -1792.503903
    """
    log = check_bool("log", log)
    g = _int_arg("g", g, low=1)
    tau = check_real_array("tau", tau, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    g, tau, sigma = _broadcast(g=g, tau=tau, sigma=sigma)
    _, log_sf = _group_logs(g, tau, sigma)
    return _finish(log_sf, log)


def group_support_recovery_prob(G: Any, g: Any, q: Any, tau: Any, sigma: Any = 1.0, *,
                                log: bool = False) -> Any:
    """``P(exactly a fixed set of q groups survives) = sf^q cdf^(G-q)`` with ``chi2_g`` at ``tau^2/sigma^2``.

    Parameters
    ----------
    G : int or array_like of int
        Number of groups, ``G >= 1``.
    g : int or array_like of int
        Group size, ``g >= 1``.
    q : int or array_like of int
        Number of surviving groups, ``0 <= q <= G``.
    tau, sigma : float or array_like
    log : bool, optional

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> t = optimal_threshold(100, 10)
    >>> bool(abs(group_support_recovery_prob(100, 1, 10, t, log=True)
    ...          - support_recovery_prob(100, 10, t, log=True)) < 1e-12)
    True
    """
    log = check_bool("log", log)
    G = _int_arg("G", G, low=1)
    g = _int_arg("g", g, low=1)
    q = _int_arg("q", q)
    tau = check_real_array("tau", tau, low=0.0)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    G, g, q, tau, sigma = _broadcast(G=G, g=g, q=q, tau=tau, sigma=sigma)
    _at_most("q", q, "G", G)
    log_cdf, log_sf = _group_logs(g, tau, sigma)
    G = G.astype(np.float64)
    q = q.astype(np.float64)
    return _finish(_times(q, log_sf) + _times(G - q, log_cdf), log)


def group_optimal_threshold(G: Any, g: Any, q: Any, sigma: Any = 1.0) -> Any:
    """Threshold maximising :func:`group_support_recovery_prob`: ``sigma sqrt(chi2_g.isf(q/G))``.

    Same argument as :func:`optimal_threshold`: ``q log s + (G-q) log(1-s)``
    is concave in the group survival probability ``s``, maximal at ``s =
    q/G``, and ``s`` decreases strictly in ``tau``.

    Parameters
    ----------
    G : int or array_like of int
        Number of groups, ``G >= 1``.
    g : int or array_like of int
        Group size, ``g >= 1``.
    q : int or array_like of int
        Number of groups to keep, ``0 <= q <= G``.
    sigma : float or array_like, optional
        Standard deviation, ``sigma > 0``.

    Returns
    -------
    float or ndarray
        ``inf`` for ``q = 0``, 0 for ``q = G``.

    Examples
    --------
    >>> round(float(group_optimal_threshold(1000, 1, 10)), 6)
    2.575829
    """
    G = _int_arg("G", G, low=1)
    g = _int_arg("g", g, low=1)
    q = _int_arg("q", q)
    sigma = check_real_array("sigma", sigma, low=0.0, low_open=True)
    G, g, q, sigma = _broadcast(G=G, g=g, q=q, sigma=sigma)
    _at_most("q", q, "G", G)
    with np.errstate(over="ignore"):
        x = special.gammainccinv(0.5 * g, q / G.astype(np.float64))
    return _out(_scaled(sigma, np.sqrt(2.0 * x)))


def group_topq_selection_prob(G: Any, q: Any, *, log: bool = False) -> Any:
    """``1 / C(G, q)``: keeping the ``q`` largest group norms of exchangeable groups
    selects a given set of ``q`` groups with this probability.

    Parameters
    ----------
    G : int or array_like of int
        Number of groups, ``G >= 1``.
    q : int or array_like of int
        ``0 <= q <= G``.
    log : bool, optional
        Return the logarithm.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(group_topq_selection_prob(4, 2)), 15)
    0.166666666666667
    """
    log = check_bool("log", log)
    G = _int_arg("G", G, low=1)
    q = _int_arg("q", q)
    G, q = _broadcast(G=G, q=q)
    _at_most("q", q, "G", G)
    return _finish(-_log_binom_coef(G, q), log)


# ---------------------------------------------------------------------------
# planted signal: w_i = x_i + sigma z_i, |x_i| = mu on S
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# l1 recovery from Gaussian measurements: the Donoho-Tanner weak threshold
# through the statistical dimension of the l1 descent cone
# ---------------------------------------------------------------------------
#
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


# ---------------------------------------------------------------------------
# finite-size best k-term error; masks that avoid a saddle's negative curvature
# ---------------------------------------------------------------------------

#: Largest dimension of the saddle closed forms (the simulation holds d x d matrices).
SADDLE_MAX_D = 1 << 12
#: Range of the planted-weight scale ``off_scale`` (and the simulation's ``neg_strength``).
SADDLE_MIN_SCALE, SADDLE_MAX_SCALE = 1e-100, 1e100


def best_k_relative_error_exact(units: int, kept: int, group_size: int = 1) -> float:
    """Exact E‖w − P(w)‖²/‖w‖² for Gaussian ``w`` at finite size.

    ``w ~ N(0, I_n)`` with ``n = units · group_size``; ``P`` keeps the
    ``kept`` units (coordinates, or contiguous groups of ``group_size``) of
    largest energy.  The ratio depends on ``w / ‖w‖`` only, which is
    independent of ``‖w‖²``, so its mean is E[energy dropped] / n.  A unit's
    energy ``E ~ χ²_g`` is dropped when at least ``kept`` of the other
    ``units − 1`` exceed it; with ``u = P(χ²_g > E)``::

        E[ratio] = (units / n) ∫₀¹ Q_g(u) · I_u(kept, units − kept) du

    (``Q_g`` = the χ²_g upper quantile, ``I`` the regularized incomplete beta
    function = P(Binomial(units − 1, u) ≥ kept)), by adaptive quadrature.  As
    ``units → ∞`` at ``kept / units = ρ`` it tends to the large-n limits of
    :func:`gaussian_best_k_relative_error` and :func:`group_best_q_relative_error`.

    Examples
    --------
    >>> round(best_k_relative_error_exact(100, 10), 5)        # limit theory: 0.56071
    0.56776
    >>> best_k_relative_error_exact(10, 0, 3), best_k_relative_error_exact(10, 10, 3)
    (1.0, 0.0)
    """
    from scipy import integrate, special, stats  # noqa: PLC0415

    units = check_int("units", units, low=1)
    kept = check_int("kept", kept, low=0, high=units)
    g = check_int("group_size", group_size, low=1)
    if kept == 0:
        return 1.0
    if kept == units:
        return 0.0

    def f(u: float) -> float:
        return float(stats.chi2.isf(u, g) * special.betainc(kept, units - kept, u))

    c = kept / units
    edges = sorted({0.0, c / 4, c, min(1.0, 4 * c), 1.0})
    total = sum(integrate.quad(f, a, b, limit=500, epsabs=0.0, epsrel=1e-12)[0]
                for a, b in zip(edges[:-1], edges[1:]) if b > a)
    return float(total / g)


def prob_random_mask_avoids(d: int, n_neg: int, m: int) -> float:
    """``C(d - n_neg, m) / C(d, m)``: a uniform ``m``-subset of ``d`` misses a fixed ``n_neg``-set.

    Exact rational arithmetic, rounded once to float.

    Examples
    --------
    >>> prob_random_mask_avoids(4, 1, 2)
    0.5
    >>> prob_random_mask_avoids(4, 3, 2)
    0.0
    """
    d = check_int("d", d, low=1, high=SADDLE_MAX_D)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    m = check_int("m", m, low=0, high=d)
    return float(Fraction(math.comb(d - n_neg, m), math.comb(d, m)))


def prob_magnitude_mask_avoids(d: int, n_neg: int, m: int, off_scale: float) -> float:
    """P(the ``m`` largest ``|w_i|`` all lie off ``N``) for the planted weights.

    ``w_i ~ N(0, 1)`` on ``N`` (``|N| = n_neg``), ``N(0, off_scale²)`` on the
    other ``d - n_neg`` coordinates, all independent.  Computed as
    ``E[erf(off_scale · Φ⁻¹((1 + U)/2) / √2)^n_neg]`` with
    ``U ~ Beta(d - n_neg - m + 1, m)`` by adaptive quadrature
    (``scipy.integrate.quad``); absolute error below ``1e-10``.
    ``off_scale`` in ``[SADDLE_MIN_SCALE, SADDLE_MAX_SCALE]``, ``1 <= d <= SADDLE_MAX_D``.

    Examples
    --------
    >>> round(prob_magnitude_mask_avoids(4, 1, 2, 1.0), 10)   # = C(3,2)/C(4,2)
    0.5
    >>> prob_magnitude_mask_avoids(6, 2, 2, 3.0) > 0.5
    True
    """
    from scipy import integrate, special, stats  # noqa: PLC0415

    d = check_int("d", d, low=1, high=SADDLE_MAX_D)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    m = check_int("m", m, low=0, high=d)
    s = check_real("off_scale", off_scale, low=SADDLE_MIN_SCALE, high=SADDLE_MAX_SCALE)
    n_off = d - n_neg
    if n_neg == 0 or m == 0:
        return 1.0
    if m > n_off:
        return 0.0
    a, b = n_off - m + 1, m
    dist = stats.beta(a, b)

    def integrand(u: float) -> float:
        t = s * special.ndtri(0.5 * (1.0 + u))
        return math.exp(n_neg * math.log(max(special.erf(t / math.sqrt(2.0)), 1e-300))
                        + dist.logpdf(u)) if 0.0 < u < 1.0 else 0.0

    lo, hi = dist.ppf(1e-14), dist.ppf(1.0 - 1e-14)
    points = [float(dist.ppf(q)) for q in (0.001, 0.1, 0.5, 0.9, 0.999)]
    val, _ = integrate.quad(integrand, lo, hi, points=points, limit=400,
                            epsabs=1e-12, epsrel=1e-10)
    return float(min(max(val, 0.0), 1.0))
