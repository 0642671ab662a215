"""Energy kept by thresholding, the universal threshold and false alarms."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .._validation import check_real_array
from ._common import _broadcast, _int_arg, _out, _ratio, _scaled
from ._tails import _count_log_1mq, _survival_pair


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

