"""Best k-term approximation errors: Gaussian and group limits, finite-size exact
values, compressible (power-law) vectors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .._validation import check_int_array, check_real_array
from ._common import _at_most, _broadcast, _each, _int_arg, _out


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



def best_k_relative_error_exact(units: Any, kept: Any, group_size: Any = 1) -> Any:
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

    Parameters
    ----------
    units : int or array_like of int
        Number of units, ``units >= 1``.
    kept : int or array_like of int
        Kept units, ``0 <= kept <= units``.
    group_size : int or array_like of int, optional
        Coordinates per unit, ``>= 1``.

    Returns
    -------
    float or ndarray
        A Python float for scalar arguments; one quadrature per element.

    Examples
    --------
    >>> round(best_k_relative_error_exact(100, 10), 5)        # limit theory: 0.56071
    0.56776
    >>> best_k_relative_error_exact(10, 0, 3), best_k_relative_error_exact(10, 10, 3)
    (1.0, 0.0)
    >>> best_k_relative_error_exact(10, [0, 10]).tolist()
    [1.0, 0.0]
    """
    units = check_int_array("units", units, low=1)
    kept = check_int_array("kept", kept, low=0)
    g = check_int_array("group_size", group_size, low=1)
    units, kept, g = _broadcast(units=units, kept=kept, group_size=g)
    _at_most("kept", kept, "units", units)
    return _each(_best_k_exact, units, kept, g)


def _best_k_exact(units: int, kept: int, g: int) -> float:
    """:func:`best_k_relative_error_exact` at one checked element."""
    from scipy import integrate, special, stats  # noqa: PLC0415

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
