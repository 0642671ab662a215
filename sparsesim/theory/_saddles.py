"""Masks that avoid a saddle's negative curvature: random and magnitude masks."""

from __future__ import annotations

import math
from fractions import Fraction

from .._validation import check_int, check_real

#: Largest dimension of the saddle closed forms (the simulation holds d x d matrices).
SADDLE_MAX_D = 1 << 12
#: Range of the planted-weight scale ``off_scale`` (and the simulation's ``neg_strength``).
SADDLE_MIN_SCALE, SADDLE_MAX_SCALE = 1e-100, 1e100



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
