"""Support recovery by thresholding ``N(0, sigma^2 I_d)``: ``P(S_hat = S)``, the laws of
``|S_hat|``, TP and FP, the optimal threshold, top-k selection."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .._validation import check_bool, check_real_array
from ._binomial import _log_binom_coef, binom_logpmf_unchecked
from ._common import _at_most, _broadcast, _finish, _int_arg, _out, _ratio, _scaled, _times
from ._tails import _count_log_1mq, _survival_pair


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
    return _binomial_law(j, n, _survival_pair(_ratio(t, sigma)), log)


def _binomial_law(j, n, pair, log):
    """Binomial(n, s) pmf at ``j`` (checked, broadcast) from ``pair = (log s, log(1 - s))``
    of the survival kernel."""
    log_q, log_1mq = pair
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

