"""Masks that avoid a saddle's negative curvature: random and magnitude masks."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .._validation import check_int_array, check_real_array
from ._common import _at_most, _broadcast, _each

#: Largest dimension of the saddle closed forms (the simulation holds d x d matrices).
SADDLE_MAX_D = 1 << 12
#: Range of the planted-weight scale ``off_scale`` (and the simulation's ``neg_strength``).
SADDLE_MIN_SCALE, SADDLE_MAX_SCALE = 1e-100, 1e100


def _check_masks(d: Any, n_neg: Any, m: Any) -> list[np.ndarray]:
    d = check_int_array("d", d, low=1, high=SADDLE_MAX_D)
    n_neg = check_int_array("n_neg", n_neg, low=0)
    m = check_int_array("m", m, low=0)
    d, n_neg, m = _broadcast(d=d, n_neg=n_neg, m=m)
    _at_most("n_neg", n_neg, "d", d)
    _at_most("m", m, "d", d)
    return [d, n_neg, m]


def prob_random_mask_avoids(d: Any, n_neg: Any, m: Any) -> Any:
    """``C(d - n_neg, m) / C(d, m)``: a uniform ``m``-subset of ``d`` misses a fixed ``n_neg``-set.

    Exact rational arithmetic, rounded once to float.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``1 <= d <= SADDLE_MAX_D``.
    n_neg : int or array_like of int
        Size of the fixed set, ``0 <= n_neg <= d``.
    m : int or array_like of int
        Size of the mask, ``0 <= m <= d``.

    Returns
    -------
    float or ndarray
        A Python float for scalar arguments; one exact fraction per element.

    Examples
    --------
    >>> prob_random_mask_avoids(4, 1, 2)
    0.5
    >>> prob_random_mask_avoids(4, 3, 2)
    0.0
    >>> prob_random_mask_avoids(4, [0, 1, 3], 2).tolist()
    [1.0, 0.5, 0.0]
    """
    return _each(_random_avoids, *_check_masks(d, n_neg, m))


def _random_avoids(d: int, n_neg: int, m: int) -> float:
    return float(Fraction(math.comb(d - n_neg, m), math.comb(d, m)))


def prob_magnitude_mask_avoids(d: Any, n_neg: Any, m: Any, off_scale: Any) -> Any:
    """P(the ``m`` largest ``|w_i|`` all lie off ``N``) for the planted weights.

    ``w_i ~ N(0, 1)`` on ``N`` (``|N| = n_neg``), ``N(0, off_scale²)`` on the
    other ``d - n_neg`` coordinates, all independent.  Computed as
    ``E[erf(off_scale · Φ⁻¹((1 + U)/2) / √2)^n_neg]`` with
    ``U ~ Beta(d - n_neg - m + 1, m)`` by adaptive quadrature
    (``scipy.integrate.quad``); absolute error below ``1e-10``.

    Parameters
    ----------
    d : int or array_like of int
        Dimension, ``1 <= d <= SADDLE_MAX_D``.
    n_neg : int or array_like of int
        Size of ``N``, ``0 <= n_neg <= d``.
    m : int or array_like of int
        Size of the mask, ``0 <= m <= d``.
    off_scale : float or array_like
        Scale of the weights off ``N``, in ``[SADDLE_MIN_SCALE, SADDLE_MAX_SCALE]``.

    Returns
    -------
    float or ndarray
        Each element by its own quadrature (a Python float when every argument
        is a scalar).

    Examples
    --------
    >>> round(prob_magnitude_mask_avoids(4, 1, 2, 1.0), 10)   # = C(3,2)/C(4,2)
    0.5
    >>> prob_magnitude_mask_avoids(6, 2, 2, 3.0) > 0.5
    True
    """
    d, n_neg, m = _check_masks(d, n_neg, m)
    s = check_real_array("off_scale", off_scale, low=SADDLE_MIN_SCALE, high=SADDLE_MAX_SCALE)
    return _each(_magnitude_avoids, *_broadcast(d=d, n_neg=n_neg, m=m, off_scale=s))


def _magnitude_avoids(d: int, n_neg: int, m: int, s: float) -> float:
    """:func:`prob_magnitude_mask_avoids` at one checked element."""
    from scipy import integrate, special, stats  # noqa: PLC0415

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
