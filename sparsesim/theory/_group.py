"""The group (chi-square) analogue: ``G`` groups of ``g`` weights thresholded on their norms."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .._validation import check_bool, check_real_array
from ._binomial import _log_binom_coef
from ._common import _at_most, _broadcast, _finish, _int_arg, _out, _ratio, _scaled, _times
from ._tails import _survival_pair


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

