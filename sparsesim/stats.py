"""Binomial intervals, exact and chi-square agreement tests, multiple testing.

The theory tables compare a Monte Carlo count with a closed-form
probability; these are the tools that turn that comparison into a verdict:

* confidence intervals for a binomial proportion (Clopper-Pearson, Wilson);
* exact two-sided binomial tests, including one for success probabilities
  known only through their logarithm (:func:`binom_test_log`);
* Pearson chi-square and G goodness-of-fit tests with pooling of sparse
  cells;
* Holm and Bonferroni family-wise error control, with NaN meaning "not
  tested";
* paired comparisons of conditions that share a seed (one-sided paired
  t-test, exact sign-flip permutation test), the smallest paired effect a
  number of seeds can detect, and the prediction interval for one new run;
* Spearman's rank correlation with its exact permutation p-value for few
  points.

All functions work on host (NumPy) data: counts, probabilities and p-values
are small tables.  Array arguments may be anything ``numpy.asarray`` accepts.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from scipy import special, stats

from ._validation import (
    as_float,
    as_numeric,
    check_bool,
    check_log_prob_array,
    check_real,
    first_bad,
    short_repr,
)
from .theory import binom_logpmf_unchecked

__all__ = [
    "clopper_pearson",
    "wilson_interval",
    "binom_test_two_sided",
    "binom_test_log",
    "chisquare_gof",
    "g_test_gof",
    "pool_cells",
    "holm",
    "bonferroni",
    "paired_t_test",
    "sign_flip_test",
    "paired_test",
    "paired_min_detectable",
    "prediction_interval",
    "equivalence_test",
    "spearman",
    "SPEARMAN_EXACT_MAX_N",
    "EXACT_BELOW",
]


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------

def _counts(name: str, value: Any, *, low: int = 0) -> np.ndarray:
    """Integer counts (int dtype, or floats holding integers) as int64."""
    arr = as_numeric(name, value, "iuf")
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64)    # float16/float32 counts: compare in float64
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if bad.any():
            raise TypeError(f"{name} must hold integers; got {first_bad(arr, bad)}")
        if arr.size and np.abs(arr).max() > 2.0 ** 53:
            raise ValueError(f"{name} must be below 2**53 in magnitude")
    arr = arr.astype(np.int64)
    bad = arr < low
    if bad.any():
        raise ValueError(f"{name} must be >= {low}; got {first_bad(arr, bad)}")
    return arr


def _probs(name: str, value: Any) -> np.ndarray:
    arr = as_numeric(name, value, "iuf").astype(np.float64)
    bad = ~((arr >= 0.0) & (arr <= 1.0))
    if bad.any():
        raise ValueError(f"{name} must be in [0, 1]; got {first_bad(arr, bad)}")
    return arr


def _unit_open(name: str, value: Any) -> float:
    return check_real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


def _successes_trials(successes: Any, trials: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _counts("successes", successes)
    n = _counts("trials", trials, low=1)
    try:
        x, n = np.broadcast_arrays(x, n)
    except ValueError:
        raise ValueError(f"successes {x.shape} and trials {n.shape} do not "
                         "broadcast together") from None
    bad = x > n
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0]) if x.ndim else ()
        raise ValueError(f"successes must be in [0, trials]; got successes={int(x[i])} "
                         f"with trials={int(n[i])}")
    return x, n


def _out(x: np.ndarray) -> Any:
    return x[()] if x.ndim == 0 else x


#: Largest ``trials`` of :func:`clopper_pearson` and :func:`binom_test_log`: every
#: count up to 2**53 is exact in float64, which their computations rely on.
MAX_TRIALS = 2 ** 53


def _exact_trials(n: np.ndarray) -> None:
    bad = n > MAX_TRIALS
    if bad.any():
        raise ValueError(f"trials must be in [1, 2**53] (counts exact in float64); "
                         f"got {first_bad(n, bad)}")


# ---------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------

def _beta_log_pdf(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Log density of ``Beta(a, b)`` at ``p`` for integers ``a, b >= 1``, as
    ``log(n * pmf(a - 1; n - 1, p))`` with ``n = a + b - 1`` (saddle-point
    binomial pmf: full relative accuracy for ``n`` up to ``2**53``, where
    ``betaln`` differences lose digits)."""

    n = a + b - 1.0
    with np.errstate(divide="ignore"):
        return np.log(n) + binom_logpmf_unchecked(a - 1.0, n - 1.0, np.log(p), np.log1p(-p), p, 1.0 - p)


def _beta_tail_root(a: np.ndarray, b: np.ndarray, target: float, upper: bool,
                    lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Solve ``I_p(a, b) = target`` (``upper=False``) or ``1 - I_p(a, b) = target``
    (``upper=True``) for ``p`` in the bracket ``[lo, hi]``.

    SciPy's inverse (``betaincinv``) is the starting point; it loses accuracy
    for large ``a + b`` (a tail probability off by a factor of 2.6 at ``n =
    1e15``), so the root is polished by Newton steps on the forward function
    (``betainc``/``betaincc``, accurate there), safeguarded by bisection of the
    bracket, until ``p`` stops changing or the bracket holds no other double.
    """
    if upper:
        def h(p):
            return target - special.betaincc(a, b, p)
        start = special.betainccinv(a, b, target)
    else:
        def h(p):
            return special.betainc(a, b, p) - target
        start = special.betaincinv(a, b, target)
    lo, hi = lo.copy(), hi.copy()
    p = np.where((start > lo) & (start < hi), start, 0.5 * (lo + hi))
    for _ in range(200):
        hp = h(p)
        below = hp < 0.0
        lo = np.where(below, p, lo)
        hi = np.where(below | (hp == 0.0), hi, p)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            newton = p - hp / np.exp(_beta_log_pdf(a, b, p))
            geometric = np.sqrt(lo * hi)
        middle = np.where((lo > 0.0) & (hi > 4.0 * lo), geometric, 0.5 * (lo + hi))
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        new = np.where(hp == 0.0, p, np.where(inside, newton, middle))
        settled = (new == p) | (np.nextafter(lo, hi) >= hi)   # no double left between
        p = new
        if settled.all():
            break
    return p


def clopper_pearson(successes: Any, trials: Any, *,
                    confidence: float = 0.999) -> tuple[Any, Any]:
    """Exact (Clopper-Pearson) two-sided confidence interval for a binomial proportion.

    ``lo`` solves ``P(X >= x; lo) = alpha/2`` and ``hi`` solves
    ``P(X <= x; hi) = alpha/2`` with ``alpha = 1 - confidence``; equivalently
    ``lo = Beta(x, n-x+1).ppf(alpha/2)`` and ``hi = Beta(x+1, n-x).ppf(1-alpha/2)``.
    ``x = 0`` gives ``lo = 0`` and ``x = n`` gives ``hi = 1`` exactly.

    The endpoints are SciPy's inverse incomplete beta values polished by
    safeguarded Newton steps on the tail equations themselves, so they solve
    them to a few ulps also for ``n`` up to ``2**53``, where the inverse
    alone is far off (or NaN).

    Parameters
    ----------
    successes : int or array_like of int
        ``0 <= successes <= trials``.
    trials : int or array_like of int
        ``1 <= trials <= 2**53`` (counts exact in float64).
    confidence : float, optional
        Coverage in ``(0, 1)``.

    Returns
    -------
    (lo, hi) : floats or ndarrays

    Raises
    ------
    TypeError, ValueError

    Examples
    --------
    >>> lo, hi = clopper_pearson(0, 10, confidence=0.95)
    >>> float(lo), round(float(hi), 6)
    (0.0, 0.308497)
    """
    confidence = _unit_open("confidence", confidence)
    x, n = _successes_trials(successes, trials)
    _exact_trials(n)
    target = (1.0 - confidence) / 2.0
    xf, nf = x.astype(np.float64).ravel(), n.astype(np.float64).ravel()
    phat = xf / nf
    lo = np.zeros(xf.shape)
    hi = np.ones(xf.shape)
    need = xf > 0
    if need.any():
        a, b = xf[need], nf[need] - xf[need] + 1.0
        lo[need] = _beta_tail_root(a, b, target, False, np.zeros(a.shape), phat[need])
    need = xf < nf
    if need.any():
        a, b = xf[need] + 1.0, nf[need] - xf[need]
        hi[need] = _beta_tail_root(a, b, target, True, phat[need], np.ones(a.shape))
    return _out(lo.reshape(x.shape)), _out(hi.reshape(x.shape))


def wilson_interval(successes: Any, trials: Any, *,
                    confidence: float = 0.999) -> tuple[Any, Any]:
    """Wilson score interval: the ``p`` with ``|phat - p| <= z sqrt(p(1-p)/n)``.

    ``z = Phi^{-1}(1 - alpha/2)``.  Endpoints at ``x = 0`` (``lo = 0``) and
    ``x = n`` (``hi = 1``) are set exactly.

    Parameters
    ----------
    successes : int or array_like of int
        ``0 <= successes <= trials``.
    trials : int or array_like of int
        ``trials >= 1``.
    confidence : float, optional
        Coverage in ``(0, 1)``.

    Returns
    -------
    (lo, hi) : floats or ndarrays

    Examples
    --------
    >>> lo, hi = wilson_interval(5, 10, confidence=0.95)
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.236593, 0.763407)
    """
    confidence = _unit_open("confidence", confidence)
    x, n = _successes_trials(successes, trials)
    z = float(special.ndtri(1.0 - (1.0 - confidence) / 2.0))
    nf = n.astype(np.float64)
    phat = x / nf
    z2n = z * z / nf
    centre = (phat + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * np.sqrt(phat * (1.0 - phat) / nf + z2n / (4.0 * nf))
    lo = np.where(x == 0, 0.0, centre - half)
    hi = np.where(x == n, 1.0, centre + half)
    return _out(np.asarray(lo, np.float64)), _out(np.asarray(hi, np.float64))


# ---------------------------------------------------------------------------
# exact binomial tests
# ---------------------------------------------------------------------------

#: Below this null probability the exact test is computed in log space (SciPy's
#: ``binomtest`` overflows internally once ``p`` nears 1e-300).
_TINY_P = 1e-200


def _binom_two_sided_scalar(x: int, n: int, p: float) -> float:
    if p == 0.0:
        return 1.0 if x == 0 else 0.0
    if p == 1.0:
        return 1.0 if x == n else 0.0
    if p < _TINY_P:  # (n + 1) p < 1/2 for every n < 2**64: the pmf decreases strictly
        if x == 0:
            return 1.0
        with np.errstate(under="ignore"):
            return float(np.exp(_log_upper_tail_small_p(x, n, math.log(p))))
    return float(stats.binomtest(x, n, p).pvalue)


def binom_test_two_sided(successes: Any, trials: Any, p: Any) -> Any:
    """Exact two-sided binomial test of ``H0: P(success) = p``.

    The p-value is ``scipy.stats.binomtest(x, n, p).pvalue`` (the sum of the
    probabilities of all outcomes no more likely than the observed one).
    ``p = 0`` and ``p = 1`` are decided exactly (p-value 1 if the observation
    is the only possible one, else 0).  For ``0 < p < 1e-200`` (where SciPy
    overflows) the pmf decreases strictly, so the p-value is 1 for ``x = 0``
    and ``P(X >= x)`` otherwise, computed in log space as in
    :func:`binom_test_log`.  Vectorised over broadcast arguments.

    Parameters
    ----------
    successes : int or array_like of int
        ``0 <= successes <= trials``.
    trials : int or array_like of int
        ``trials >= 1``.
    p : float or array_like
        Null success probability in ``[0, 1]``.

    Returns
    -------
    float or ndarray
        The p-value.

    Examples
    --------
    >>> round(float(binom_test_two_sided(7, 10, 0.5)), 6)
    0.34375
    >>> float(binom_test_two_sided(1, 10, 0.0))
    0.0
    """
    x, n = _successes_trials(successes, trials)
    p = _probs("p", p)
    try:
        x, n, p = np.broadcast_arrays(x, n, p)
    except ValueError:
        raise ValueError("successes, trials and p do not broadcast together") from None
    # one exact test per distinct (x, n, p): tables of draws repeat a lot
    keys = np.stack([x.ravel().astype(np.float64), n.ravel().astype(np.float64),
                     p.ravel()], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = np.array([_binom_two_sided_scalar(int(a), int(b), float(c)) for a, b, c in unique],
                      dtype=np.float64)
    return _out(values[inverse.ravel()].reshape(x.shape))


def _log_upper_tail_small_p(x: int, n: int, log_p: float) -> float:
    """``log P(X >= x)`` for ``X ~ Binomial(n, p)``, ``(n+1) p < 1/2``, ``x >= 1``.

    ``P(X >= x) = pmf(x) * sum_m prod_{i<m} (n-x-i) p / ((x+i+1)(1-p))``; the
    ratios are below 1/2, so the series converges geometrically.
    """

    p = math.exp(log_p)
    log_1mp = math.log1p(-p)
    # the unchecked kernel: n may exceed 2**53 here (binom_test_two_sided); it is
    # then rounded to float64, a relative change below 1e-16
    log_pmf = float(binom_logpmf_unchecked(x, n, log_p, log_1mp, p, -math.expm1(log_p)))
    total, term = 1.0, 1.0
    for i in range(n - x):
        term *= (n - x - i) * math.exp(log_p - log_1mp) / (x + i + 1)
        total += term
        if term < 1e-17 * total:
            break
    return log_pmf + math.log(total)


def binom_test_log(successes: Any, trials: Any, log_p: Any, *,
                   log: bool = False) -> Any:
    """Exact two-sided binomial test for a success probability given as ``log p``.

    Meant for closed-form probabilities too small to represent (e.g. the
    probability that thresholding finds a fixed support).

    * If ``(n + 1) p < 1/2`` the Binomial mode is 0 and the pmf decreases
      strictly, so the two-sided ("minimum likelihood") p-value is exactly
      ``1`` for ``x = 0`` and ``P(X >= x)`` for ``x >= 1``; the latter is
      computed in log space (saddle-point log-pmf times a convergent series),
      so it never underflows when ``log=True``.
    * Otherwise ``p >= 1/(2(n+1))`` is an ordinary float and the test is
      :func:`binom_test_two_sided` with ``p = exp(log_p)``.

    Parameters
    ----------
    successes : int or array_like of int
        ``0 <= successes <= trials``.
    trials : int or array_like of int
        ``1 <= trials <= 2**53`` (counts exact in float64).
    log_p : float or array_like
        ``log p`` in ``[-inf, 0]``; ``-inf`` means ``p = 0``.
    log : bool, optional
        Return the log of the p-value.

    Returns
    -------
    float or ndarray
        The p-value (or its log).

    Examples
    --------
    >>> float(binom_test_log(0, 1000, -800.0))
    1.0
    >>> round(float(binom_test_log(1, 1000, -800.0, log=True)), 6)
    -793.092245
    """
    log = check_bool("log", log)
    x, n = _successes_trials(successes, trials)
    _exact_trials(n)
    lp = check_log_prob_array("log_p", log_p, what=None)
    try:
        x, n, lp = np.broadcast_arrays(x, n, lp)
    except ValueError:
        raise ValueError("successes, trials and log_p do not broadcast together") from None
    out = np.empty(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        xi, ni, li = int(x[idx]), int(n[idx]), float(lp[idx])
        if li == -math.inf:
            value = 0.0 if xi == 0 else -math.inf
        elif math.log(ni + 1.0) + li < math.log(0.5):
            value = 0.0 if xi == 0 else _log_upper_tail_small_p(xi, ni, li)
        else:
            pv = _binom_two_sided_scalar(xi, ni, math.exp(li))
            value = math.log(pv) if pv > 0.0 else -math.inf
        out[idx] = value
    if log:
        return _out(out)
    with np.errstate(under="ignore"):
        return _out(np.exp(out))


# ---------------------------------------------------------------------------
# goodness of fit
# ---------------------------------------------------------------------------

def pool_cells(expected_counts: Any, *, min_expected: float = 5.0) -> np.ndarray:
    """Group labels pooling adjacent cells until each group's expected count is ``>= min_expected``.

    Cells are taken in their given order (for a pmf: by outcome), scanning
    left to right: a group is closed as soon as its expected count reaches
    ``min_expected`` and is not zero.  A final run of cells that never
    reaches the threshold (the right tail) joins the last closed group, so
    the left tail is pooled into its right neighbour and the right tail
    into its left neighbour.  If the whole table stays below the threshold,
    everything is one group.

    Parameters
    ----------
    expected_counts : array_like of float
        1-D expected counts, ``>= 0``, in cell order.
    min_expected : float, optional
        Smallest expected count of a pooled group, ``>= 0``.

    Returns
    -------
    ndarray of int
        ``labels[i]`` is the group of cell ``i`` (``0 .. n_groups-1``).

    Examples
    --------
    >>> pool_cells([1.0, 2.0, 6.0, 7.0, 3.0, 1.0]).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    exp_counts = as_numeric("expected_counts", expected_counts, "iuf").astype(np.float64)
    if exp_counts.ndim != 1 or exp_counts.size == 0:
        raise ValueError(f"expected_counts must be a non-empty 1-D array; "
                         f"got shape {exp_counts.shape}")
    bad = ~(np.isfinite(exp_counts) & (exp_counts >= 0))
    if bad.any():
        raise ValueError(f"expected_counts must be finite and >= 0; "
                         f"got {first_bad(exp_counts, bad)}")
    min_expected = _nonneg_real("min_expected", min_expected)
    labels = np.empty(exp_counts.size, dtype=np.int64)
    group, acc, start_open = 0, 0.0, 0
    for i, e in enumerate(exp_counts):
        labels[i] = group
        acc += float(e)
        if acc >= min_expected and acc > 0.0:
            group += 1
            acc = 0.0
            start_open = i + 1
    if start_open < exp_counts.size:           # unfinished right tail
        if group > 0:
            labels[start_open:] = group - 1
    return labels


def _nonneg_real(name: str, value: Any) -> float:
    value = as_float(name, value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0; got {value}")
    return value


def _gof_inputs(observed_counts: Any, expected_probs: Any, min_expected: float,
                ddof: Any) -> tuple[np.ndarray, np.ndarray, int]:
    obs = _counts("observed_counts", observed_counts)
    if obs.ndim != 1 or obs.size == 0:
        raise ValueError(f"observed_counts must be a non-empty 1-D array; got shape {obs.shape}")
    probs = _probs("expected_probs", expected_probs)
    if probs.shape != obs.shape:
        raise ValueError(f"expected_probs must have the shape of observed_counts "
                         f"{obs.shape}; got {probs.shape}")
    total_p = float(math.fsum(probs.tolist()))
    if abs(total_p - 1.0) > 1e-9:
        raise ValueError(f"expected_probs must sum to 1 within 1e-9; got sum {total_p!r}")
    if isinstance(ddof, (bool, np.bool_)) or not isinstance(ddof, numbers.Integral):
        raise TypeError(f"ddof must be an integer; got {short_repr(ddof)}")
    if ddof < 0:
        raise ValueError(f"ddof must be >= 0; got {ddof}")
    n = int(obs.sum())
    if n < 1:
        raise ValueError("observed_counts must contain at least one observation; got total 0")
    labels = pool_cells(n * probs, min_expected=min_expected)
    groups = int(labels[-1]) + 1
    obs_g = np.bincount(labels, weights=obs.astype(np.float64), minlength=groups)
    exp_g = np.bincount(labels, weights=n * probs, minlength=groups)
    impossible = bool(np.any(obs[probs == 0.0] > 0))
    return obs_g, exp_g, groups - 1 - int(ddof), impossible


def chisquare_gof(observed_counts: Any, expected_probs: Any, *,
                  min_expected: float = 5.0, ddof: int = 0) -> tuple[float, int, float]:
    """Pearson chi-square goodness-of-fit test with pooling of sparse cells.

    Expected counts are ``n * expected_probs`` with ``n = sum(observed_counts)``;
    adjacent cells are pooled by :func:`pool_cells` (so the pooled expected
    counts still sum to ``n``), then ``X^2 = sum (O - E)^2 / E`` is referred
    to ``chi2`` with ``groups - 1 - ddof`` degrees of freedom.

    Parameters
    ----------
    observed_counts : array_like of int
        1-D non-negative counts.
    expected_probs : array_like of float
        Cell probabilities in ``[0, 1]`` summing to 1 within ``1e-9``.
    min_expected : float, optional
        Smallest pooled expected count.
    ddof : int, optional
        Number of parameters estimated from the data.

    Returns
    -------
    (statistic, dof, p_value) : (float, int, float)
        ``p_value`` is NaN ("not tested") when ``dof <= 0``.  An observation
        in a cell of probability 0 is impossible under the null: the result
        is then ``(inf, dof, 0.0)`` whatever the pooling.

    Examples
    --------
    >>> stat, dof, pv = chisquare_gof([10, 20, 30], [1/6, 1/3, 1/2])
    >>> float(stat), dof, float(pv)
    (0.0, 2, 1.0)
    """
    obs, exp_, dof, impossible = _gof_inputs(observed_counts, expected_probs,
                                             min_expected, ddof)
    if impossible:
        return math.inf, dof, 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(exp_ > 0, (obs - exp_) ** 2 / exp_, 0.0)
    stat = float(terms.sum())
    pv = float(stats.chi2.sf(stat, dof)) if dof > 0 else math.nan
    return stat, dof, pv


def g_test_gof(observed_counts: Any, expected_probs: Any, *,
               min_expected: float = 5.0, ddof: int = 0) -> tuple[float, int, float]:
    """Likelihood-ratio (G) goodness-of-fit test, pooled like :func:`chisquare_gof`.

    ``G = 2 sum O log(O / E)`` (``0 log 0 = 0``), referred to ``chi2`` with
    ``groups - 1 - ddof`` degrees of freedom.

    Parameters
    ----------
    observed_counts, expected_probs, min_expected, ddof
        As for :func:`chisquare_gof`.

    Returns
    -------
    (statistic, dof, p_value) : (float, int, float)
        As for :func:`chisquare_gof`.

    Examples
    --------
    >>> stat, dof, pv = g_test_gof([10, 20, 30], [1/6, 1/3, 1/2])
    >>> round(float(stat), 12), dof
    (0.0, 2)
    """
    obs, exp_, dof, impossible = _gof_inputs(observed_counts, expected_probs,
                                             min_expected, ddof)
    if impossible:
        return math.inf, dof, 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(obs > 0, obs * np.log(obs / exp_), 0.0)
    stat = max(float(2.0 * terms.sum()), 0.0)
    pv = float(stats.chi2.sf(stat, dof)) if dof > 0 else math.nan
    return stat, dof, pv


# ---------------------------------------------------------------------------
# multiple testing
# ---------------------------------------------------------------------------

def _pvalues(p_values: Any, alpha: Any) -> tuple[np.ndarray, float]:
    pv = as_numeric("p_values", p_values, "iuf").astype(np.float64)
    bad = ~(np.isnan(pv) | ((pv >= 0.0) & (pv <= 1.0)))
    if bad.any():
        raise ValueError(f"p_values must be in [0, 1] or NaN; got {first_bad(pv, bad)}")
    return pv, _unit_open("alpha", alpha)


def holm(p_values: Any, alpha: float) -> np.ndarray:
    """Holm's step-down procedure: family-wise error rate ``<= alpha``.

    Sort the ``m`` tested p-values ascending; reject ``p_(1), ..., p_(j)``
    while ``p_(i) <= alpha / (m - i + 1)``.  NaN entries are "not tested":
    never rejected and not counted in ``m``.

    Parameters
    ----------
    p_values : array_like of float
        Any shape; values in ``[0, 1]`` or NaN.
    alpha : float
        Family-wise level in ``(0, 1)``.

    Returns
    -------
    ndarray of bool
        Rejections, shaped like ``p_values``.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, float("nan")], 0.05).tolist()
    [True, False, False, False]
    """
    pv, alpha = _pvalues(p_values, alpha)
    flat = pv.ravel()
    tested = np.flatnonzero(~np.isnan(flat))
    reject = np.zeros(flat.shape, dtype=bool)
    m = tested.size
    if m:
        order = tested[np.argsort(flat[tested], kind="stable")]
        ok = flat[order] <= alpha / (m - np.arange(m))
        n_reject = m if ok.all() else int(np.argmin(ok))
        reject[order[:n_reject]] = True
    return reject.reshape(pv.shape)


def bonferroni(p_values: Any, alpha: float) -> np.ndarray:
    """Bonferroni: reject ``p <= alpha / m``, ``m`` = number of non-NaN p-values.

    Parameters
    ----------
    p_values : array_like of float
        Any shape; values in ``[0, 1]`` or NaN.
    alpha : float
        Family-wise level in ``(0, 1)``.

    Returns
    -------
    ndarray of bool
        Rejections, shaped like ``p_values``.

    Examples
    --------
    >>> bonferroni([0.01, 0.02, float("nan")], 0.04).tolist()
    [True, True, False]
    """
    pv, alpha = _pvalues(p_values, alpha)
    m = int(np.count_nonzero(~np.isnan(pv)))
    with np.errstate(invalid="ignore"):
        return np.asarray(pv <= alpha / max(m, 1)) & ~np.isnan(pv)


# ---------------------------------------------------------------------------
# paired comparisons over seeds
# ---------------------------------------------------------------------------

#: Below this many pairs :func:`paired_test` uses the exact sign-flip test.
EXACT_BELOW = 8

_ALTERNATIVES = ("greater", "less")


def _paired(x: Any, y: Any) -> np.ndarray:
    a = as_numeric("x", x, "iuf").astype(np.float64).ravel()
    b = as_numeric("y", y, "iuf").astype(np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"x and y must pair up (one value per seed each); got {a.size} and "
                         f"{b.size} values")
    if a.size < 2:
        raise ValueError(f"a paired test needs at least 2 pairs (seeds); got {a.size}")
    d = a - b
    if not np.isfinite(d).all():
        raise ValueError(f"x and y must be finite; got {first_bad(d, ~np.isfinite(d))}")
    return d


def _alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}; got {alternative!r}")
    return alternative


def paired_t_test(x: Any, y: Any, alternative: str = "greater") -> float:
    """One-sided paired t-test of mean(x − y) > 0 (``"greater"``) or < 0 (``"less"``).

    Pairs with identical differences (sd 0) give p = 0 when the mean lies in
    the alternative's direction, 1 otherwise (0 difference: p = 1).

    Examples
    --------
    >>> round(paired_t_test([3.0, 4.0, 5.0, 6.0], [1.0, 2.5, 2.0, 4.0]), 4)
    0.0033
    >>> paired_t_test([1.0, 2.0], [1.0, 2.0])
    1.0
    """
    d = _paired(x, y)
    alt = _alternative(alternative)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    sign = 1.0 if alt == "greater" else -1.0
    if sd == 0.0 or sd <= 1e-12 * max(abs(mean), 1e-300):
        return 0.0 if sign * mean > 0 else 1.0
    t = sign * mean / (sd / math.sqrt(d.size))
    return float(stats.t.sf(t, d.size - 1))


def sign_flip_test(x: Any, y: Any, alternative: str = "greater") -> float:
    """Exact sign-flip permutation test of the paired differences ``x − y``.

    Under the null hypothesis (each difference symmetric about 0) every one
    of the ``2**n`` sign patterns is equally likely; the p-value is the
    fraction whose mean is at least the observed one (``"greater"``) or at
    most (``"less"``).  It is never below ``2**-n``; differences that are all
    0 give p = 1 in both directions.

    Examples
    --------
    >>> sign_flip_test([3.0, 4.0, 5.0, 6.0], [1.0, 2.5, 2.0, 4.0])  # every difference > 0
    0.0625
    >>> sign_flip_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "less")
    1.0
    """
    d = _paired(x, y)
    alt = _alternative(alternative)
    n = d.size
    if n > 20:
        raise ValueError(f"sign_flip_test enumerates 2**n sign patterns; n = {n} pairs is too "
                         "many (use paired_t_test)")
    signs = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)
    means = (signs * d).mean(axis=1)
    obs = float(d.mean())
    tol = 1e-12 * float(np.abs(d).max(initial=0.0))
    hits = means >= obs - tol if alt == "greater" else means <= obs + tol
    return float(np.count_nonzero(hits)) / 2 ** n


def paired_test(x: Any, y: Any, alternative: str = "greater", *,
                exact_below: int = EXACT_BELOW) -> tuple[float, str]:
    """One-sided paired comparison: (p-value, test name).

    The exact sign-flip test for fewer than ``exact_below`` pairs, the paired
    t-test otherwise.

    Examples
    --------
    >>> paired_test([3.0, 4.0, 5.0], [1.0, 2.0, 3.0])
    (0.125, 'exact sign-flip test')
    """
    d = _paired(x, y)
    if d.size < exact_below:
        return sign_flip_test(x, y, alternative), "exact sign-flip test"
    return paired_t_test(x, y, alternative), "paired t-test"


def paired_min_detectable(sd: float, n: int, alpha: float, *, power: float = 0.8,
                          exact_below: int = EXACT_BELOW) -> float:
    """Smallest mean paired difference a one-sided test at ``alpha`` detects with ``power``.

    For the paired t-test with ``n`` pairs whose differences have standard
    deviation ``sd``: the δ at which the noncentral t distribution (noncentrality
    δ√n / sd) exceeds the critical value with probability ``power``.  The
    sign-flip test used below ``exact_below`` pairs cannot reach a p-value
    under ``2**-n``: when ``2**-n > alpha`` it can detect nothing (``inf``);
    otherwise the t-test value is used as its approximation.

    Examples
    --------
    >>> round(paired_min_detectable(1.0, 10, 0.05), 3)
    0.853
    >>> paired_min_detectable(1.0, 4, 0.01)
    inf
    """
    sd = _nonneg_real("sd", sd)
    alpha = _unit_open("alpha", alpha)
    power = _unit_open("power", power)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (pairs); got {n!r}")
    n = int(n)
    if n < exact_below and 2.0 ** -n > alpha:
        return math.inf
    if sd == 0.0:
        return 0.0
    df = n - 1
    crit = stats.t.isf(alpha, df)

    def shortfall(delta: float) -> float:
        return float(stats.nct.sf(crit, df, delta * math.sqrt(n) / sd)) - power

    hi = sd
    while shortfall(hi) < 0:
        hi *= 2.0
    from scipy.optimize import brentq  # noqa: PLC0415
    return float(brentq(shortfall, 0.0, hi, xtol=1e-10 * sd))


def _runs(values: Any, what: str) -> np.ndarray:
    """``values`` as finite float64 runs, at least 2 of them (``what`` names the use)."""
    v = as_numeric("values", values, "iuf").astype(np.float64).ravel()
    if v.size < 2:
        raise ValueError(f"{what} needs at least 2 runs; got {v.size}")
    if not np.isfinite(v).all():
        raise ValueError(f"values must be finite; got {first_bad(v, ~np.isfinite(v))}")
    return v


def prediction_interval(values: Any, level: float = 0.95) -> tuple[float, float]:
    """Interval that holds one new run with probability ``level`` (normal runs).

    ``mean ± t_{(1+level)/2, n−1} · sd · √(1 + 1/n)`` from the ``n`` runs in
    ``values`` (``n >= 2``).

    Examples
    --------
    >>> lo, hi = prediction_interval([64.0, 66.0, 65.0, 67.0])
    >>> round(lo, 2), round(hi, 2)
    (60.91, 70.09)
    """
    v = _runs(values, "a prediction interval")
    level = _unit_open("level", level)
    n = v.size
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) * math.sqrt(1 + 1 / n))
    return float(v.mean()) - half, float(v.mean()) + half


# ---------------------------------------------------------------------------
# rank correlation
# ---------------------------------------------------------------------------

#: Up to this many points :func:`spearman` enumerates every permutation (9! = 362,880).
SPEARMAN_EXACT_MAX_N = 9


def _one_sample_t_sf(v: np.ndarray, mu: float, alternative: str) -> float:
    """One-sided one-sample t-test of mean(v) > mu ("greater") or < mu ("less")."""
    mean, sd, n = float(v.mean()), float(v.std(ddof=1)), v.size
    sign = 1.0 if alternative == "greater" else -1.0
    if sd == 0.0 or sd <= 1e-12 * max(abs(mean), abs(mu), 1e-300):
        return 0.0 if sign * (mean - mu) > 0 else 1.0
    return float(stats.t.sf(sign * (mean - mu) / (sd / math.sqrt(n)), n - 1))


def equivalence_test(values: Any, reference: float, margin: float) -> tuple[float, float]:
    """Two one-sided tests (TOST) of ``|mean(values) − reference| < margin``.

    ``reference`` is a fixed number (e.g. a published value), not a sample:
    its own uncertainty is not part of the test.  Returns
    ``(p_equivalent, p_different)``:

    * ``p_equivalent`` = max of the one-sample t-tests of ``mean > reference −
      margin`` and ``mean < reference + margin`` (TOST): small when the mean
      lies inside the margin;
    * ``p_different`` = ``min(1, 2 · min(...))`` of the one-sided t-tests of
      ``mean > reference + margin`` and ``mean < reference − margin``
      (Bonferroni over the two sides): small when the mean lies outside it.

    Both cannot be small at once: a verdict reads "equivalent within ±margin"
    when the first rejects, "different" when the second does, "undecided"
    otherwise.

    Examples
    --------
    >>> p_eq, p_diff = equivalence_test([70.1, 69.8, 70.4, 70.0, 69.9, 70.2], 70.0, 2.0)
    >>> p_eq < 1e-4, p_diff
    (True, 1.0)
    >>> p_eq, p_diff = equivalence_test([75.1, 74.8, 75.4, 75.0, 74.9, 75.2], 70.0, 2.0)
    >>> p_eq > 0.99, p_diff < 1e-4
    (True, True)
    >>> equivalence_test([1.0], 0.0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: an equivalence test needs at least 2 runs; got 1
    """
    v = _runs(values, "an equivalence test")
    ref = as_float("reference", reference)
    if not math.isfinite(ref):
        raise ValueError(f"reference must be finite; got {reference!r}")
    m = as_float("margin", margin)
    if not (math.isfinite(m) and m > 0.0):
        raise ValueError(f"margin must be a finite number > 0; got {margin!r}")
    p_eq = max(_one_sample_t_sf(v, ref - m, "greater"), _one_sample_t_sf(v, ref + m, "less"))
    p_diff = min(1.0, 2.0 * min(_one_sample_t_sf(v, ref + m, "greater"),
                                _one_sample_t_sf(v, ref - m, "less")))
    return float(p_eq), float(p_diff)


def spearman(x: Any, y: Any) -> tuple[float, float, int]:
    """Spearman's ρ and its two-sided p-value; exact (all permutations) for few points.

    Pairs where either value is NaN or infinite are dropped.  With few points
    the asymptotic p-value is badly wrong (n = 4 and ρ = −1 would give p = 0,
    while the exact value is 2/24), so up to :data:`SPEARMAN_EXACT_MAX_N`
    points the p-value is the share of the ``n!`` permutations of ``y``'s
    ranks whose ``|ρ|`` is at least the observed one; above that SciPy's
    :func:`scipy.stats.spearmanr` (t approximation).  Ties get average ranks.

    Parameters
    ----------
    x, y : array_like, 1-D, same length
        Real values.

    Returns
    -------
    (rho, p_value, n) : (float, float, int)
        ``n`` the pairs used; ``rho`` and ``p_value`` NaN when ``n < 3`` or
        either variable is constant on them.

    Examples
    --------
    >>> rho, p, n = spearman([1.0, 2, 3, 4], [4.0, 3, 2, 1])
    >>> rho, round(p, 6), n                       # 2 of the 24 orders are as extreme
    (-1.0, 0.083333, 4)
    >>> spearman([1.0, float("nan"), 3], [1.0, 2, 3])[2]
    2
    """
    a = as_numeric("x", x, "iuf").astype(np.float64)
    b = as_numeric("y", y, "iuf").astype(np.float64)
    if a.ndim != 1 or b.shape != a.shape:
        raise ValueError(f"x and y must be 1-D of one length; got shapes {a.shape} and "
                         f"{b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < 3 or np.all(a[ok] == a[ok][0]) or np.all(b[ok] == b[ok][0]):
        return float("nan"), float("nan"), n
    rx, ry = stats.rankdata(a[ok]), stats.rankdata(b[ok])
    rho = float(np.corrcoef(rx, ry)[0, 1])
    if n <= SPEARMAN_EXACT_MAX_N:
        import itertools  # noqa: PLC0415 - only the exact branch needs it

        perms = np.array(list(itertools.permutations(range(n))))
        ryp = ry[perms]                                       # (n!, n)
        rc = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean())
        yc = ryp - ryp.mean(axis=1, keepdims=True)
        rho_p = (yc @ rc) / np.linalg.norm(yc, axis=1)
        pv = float(np.mean(np.abs(rho_p) >= abs(rho) - 1e-12))
    else:
        pv = float(stats.spearmanr(a[ok], b[ok]).pvalue)
    return rho, pv, n


# ---------------------------------------------------------------------------
# power planning: seeds a pre-registered claim needs before the run
# ---------------------------------------------------------------------------

from ._validation import check_int  # noqa: E402 - kept with the section that uses it

__all__ += ["sign_flip_floor", "paired_claim_power", "seeds_for_paired_claim",
            "equivalence_power", "seeds_for_equivalence", "equivalence_min_margin"]

#: Largest number of seeds the planners search (beyond it a claim is not plannable).
MAX_PLAN_SEEDS = 10_000_000


def _level(alpha: Any, m: Any) -> tuple[float, int]:
    """The per-claim level ``alpha / m`` (Holm's first step over ``m`` claims)."""
    alpha = _unit_open("alpha", alpha)
    m = check_int("m", m, low=1)
    return alpha / m, m


def _positive(name: str, value: Any) -> float:
    return check_real(name, value, low=0.0, low_open=True)


def sign_flip_floor(alpha: float, m: int = 1) -> int:
    """Smallest number of pairs ``n`` whose exact sign-flip test can reject at ``alpha / m``.

    The exact sign-flip test's p-value is never below ``2**-n`` (the observed
    sign pattern always counts itself), so with fewer pairs than this no
    outcome is significant: the smallest ``n >= 1`` with ``2**-n <= alpha / m``.

    Parameters
    ----------
    alpha : float
        Family-wise level in ``(0, 1)``.
    m : int, optional
        Number of claims sharing it (Holm's first step tests at ``alpha / m``).

    Returns
    -------
    int

    Examples
    --------
    >>> sign_flip_floor(0.01)              # 2**-7 = 0.0078 <= 0.01 < 2**-6
    7
    >>> sign_flip_floor(0.01, m=8)         # 2**-10 <= 0.00125 < 2**-9
    10
    >>> sign_flip_floor(0.0625)            # exactly 2**-4
    4
    >>> sign_flip_floor(0.01, m=0)
    Traceback (most recent call last):
    ...
    ValueError: m must be in [1, inf]; got 0
    """
    level, _ = _level(alpha, m)
    n = max(1, math.ceil(-math.log2(level)))
    while math.ldexp(1.0, -n) > level:     # powers of two are exact: no rounding here
        n += 1
    while n > 1 and math.ldexp(1.0, -(n - 1)) <= level:
        n -= 1
    return n


def _t_power(z: float, n: int, level: float) -> float:
    """Power of the one-sided one-sample t-test at ``level`` for mean/sd ``z`` (noncentral t)."""
    df = n - 1
    return float(stats.nct.sf(stats.t.isf(level, df), df, z * math.sqrt(n)))


def _sign_flip_power(z: float, n: int, level: float) -> float:
    """Power (exact, or a lower bound) of the exact sign-flip test for N(z, 1) differences.

    The test rejects when at most ``K = floor(level · 2**n)`` of the ``2**n``
    sign patterns reach the observed mean.  ``K = 0``: never.  ``K = 1``: only
    when the observed pattern is the unique largest, i.e. every difference is
    positive, probability ``Phi(z)**n`` exactly.  ``K >= 2``: that event is
    still a rejection, so ``Phi(z)**n`` is a lower bound.
    """
    if math.floor(math.ldexp(level, n)) < 1:
        return 0.0
    return float(special.ndtr(z)) ** n


def paired_claim_power(effect: float, sd: float, n: int, alpha: float, m: int = 1, *,
                       exact_below: int = EXACT_BELOW) -> float:
    """Power of the one-sided paired test a claim gets, at ``alpha / m``, for ``n`` seeds.

    The paired differences are taken as normal with mean ``effect`` (in the
    claim's direction) and standard deviation ``sd``; the test is the one
    :func:`paired_test` applies, at Holm's first-step level ``alpha / m``
    (the conservative bound for every claim of a family of ``m``):

    * ``n >= exact_below``: the one-sided paired t-test; power
      ``P(T > t_{1-alpha/m, n-1})`` with ``T`` noncentral t (``n - 1`` degrees
      of freedom, noncentrality ``effect · sqrt(n) / sd``);
    * ``n < exact_below``: the exact sign-flip test.  It cannot reject at all
      unless its floor ``2**-n <= alpha / m`` (:func:`sign_flip_floor`); when
      exactly one sign pattern fits under ``alpha / m`` (``alpha / m < 2**(1-n)``,
      e.g. always for ``alpha / m <= 0.0156`` and ``n <= 7``) it rejects
      exactly when every difference is positive, power ``Phi(effect/sd)**n``;
      when more patterns fit, ``Phi(effect/sd)**n`` is a lower bound (so the
      plan is then conservative).

    Parameters
    ----------
    effect : float
        True mean paired difference, ``> 0`` (in the claim's direction).
    sd : float
        Standard deviation of the paired differences, ``> 0``.
    n : int
        Seeds (pairs), ``>= 2``.
    alpha : float
        Family-wise level in ``(0, 1)``.
    m : int, optional
        Claims in the family (``>= 1``).
    exact_below : int, optional
        Below this many seeds the sign-flip test is used (as :func:`paired_test`).

    Returns
    -------
    float

    Examples
    --------
    >>> round(paired_claim_power(1.0, 1.0, 10, 0.05), 4)          # noncentral t
    0.8975
    >>> round(paired_claim_power(2.0, 1.0, 7, 0.01), 4)           # Phi(2)**7
    0.8512
    >>> paired_claim_power(2.0, 1.0, 6, 0.01)                     # 2**-6 > 0.01
    0.0
    """
    effect = _positive("effect", effect)
    sd = _positive("sd", sd)
    n = check_int("n", n, low=2)
    level, _ = _level(alpha, m)
    exact_below = check_int("exact_below", exact_below, low=2)
    z = effect / sd
    if n < exact_below:
        return _sign_flip_power(z, n, level)
    return _t_power(z, n, level)


def _smallest_n(power_at, target: float, start: int, what: str) -> int:
    """Smallest ``n >= start`` with ``power_at(n) >= target`` (power increasing in n)."""
    lo, hi = start, start
    while power_at(hi) < target:
        lo = hi + 1
        hi = 2 * hi
        if hi > MAX_PLAN_SEEDS:
            if power_at(MAX_PLAN_SEEDS) >= target:
                hi = MAX_PLAN_SEEDS
                break
            raise ValueError(f"{what}: more than {MAX_PLAN_SEEDS} seeds would be needed")
    while lo < hi:
        mid = (lo + hi) // 2
        if power_at(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return hi


def seeds_for_paired_claim(effect: float, sd: float, alpha: float, m: int = 1,
                           power: float = 0.8, *, exact_below: int = EXACT_BELOW) -> int:
    """Smallest number of seeds at which a paired claim detects ``effect`` with ``power``.

    The test is the one-sided paired test of :func:`paired_test` at ``alpha /
    m`` (Holm's first step: the conservative bound for each of ``m`` claims),
    with power as in :func:`paired_claim_power`: the exact sign-flip test
    below ``exact_below`` seeds — which needs its floor ``2**-n <= alpha / m``
    (:func:`sign_flip_floor`) to reject at all — and the paired t-test
    (noncentral t) from ``exact_below`` seeds on.  Seeds below ``exact_below``
    are tried one by one; from ``exact_below`` on the t-test's power grows with
    ``n``, which a doubling and bisection search uses.

    Parameters
    ----------
    effect : float
        Mean paired difference to detect, ``> 0`` (in the claim's direction).
    sd : float
        Standard deviation of the paired differences (e.g. a pilot's), ``> 0``.
    alpha : float
        Family-wise level in ``(0, 1)``.
    m : int, optional
        Claims in the family (``>= 1``).
    power : float, optional
        Target power in ``(0, 1)``.
    exact_below : int, optional
        As in :func:`paired_test`.

    Returns
    -------
    int
        Seeds, ``>= 2``.

    Raises
    ------
    TypeError, ValueError
        A malformed argument (named), or more than ``MAX_PLAN_SEEDS`` seeds needed.

    Examples
    --------
    >>> seeds_for_paired_claim(2.0, 1.0, 0.01)          # the sign-flip test, Phi(2)**7 >= 0.8
    7
    >>> seeds_for_paired_claim(1.0, 1.0, 0.01)          # the t-test from 8 seeds
    13
    >>> seeds_for_paired_claim(1.0, 2.3, 0.01, m=8)      # sd 2.3 points, 8 claims
    84
    >>> seeds_for_paired_claim(-1.0, 1.0, 0.01)
    Traceback (most recent call last):
    ...
    ValueError: effect must be in (0, inf); got -1.0
    """
    effect = _positive("effect", effect)
    sd = _positive("sd", sd)
    level, m = _level(alpha, m)
    power = _unit_open("power", power)
    exact_below = check_int("exact_below", exact_below, low=2)
    z = effect / sd
    for n in range(2, exact_below):
        if _sign_flip_power(z, n, level) >= power:
            return n
    return _smallest_n(lambda n: _t_power(z, n, level), power, exact_below,
                       f"effect/sd = {z:.3g} at alpha/m = {level:.3g}")


def equivalence_power(margin: float, sd: float, n: int, alpha: float, m: int = 1,
                      true_diff: float = 0.0) -> float:
    """Power of the two one-sided t-tests (TOST, :func:`equivalence_test`) at ``alpha / m``.

    ``n`` runs, normal with standard deviation ``sd``, whose mean lies
    ``true_diff`` from the reference; equivalence within ``±margin`` is
    declared when both one-sided t-tests reject at ``alpha / m``, i.e. when
    ``|mean − reference| < margin − c·s/sqrt(n)`` with ``c = t_{1−alpha/m, n−1}``
    and ``s`` the sample sd.  The sample mean and ``s`` are independent, so
    the power is exact as one integral over the chi-square law of
    ``u = (n−1) s²/sd²`` (Owen 1965)::

        power = ∫ [Phi(A − c·sqrt(u/(n−1))) − Phi(B + c·sqrt(u/(n−1)))]_+ dF(u)

    with ``A = sqrt(n)(margin − true_diff)/sd``, ``B = −sqrt(n)(margin +
    true_diff)/sd``; it is computed by adaptive quadrature over the
    chi-square quantile ``q = F(u)`` (a bounded integrand on ``[0, 1]``),
    up to ``F(u_max)`` where the bracket turns negative.  No simulation.

    Parameters
    ----------
    margin : float
        Equivalence margin, ``> 0``.
    sd : float
        Standard deviation of one run, ``> 0``.
    n : int
        Runs (seeds), ``>= 2``.
    alpha : float
        Family-wise level in ``(0, 1)``.
    m : int, optional
        Claims in the family (``>= 1``); the tests run at ``alpha / m``.
    true_diff : float, optional
        True ``mean − reference``, ``|true_diff| < margin``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(equivalence_power(2.0, 1.0, 10, 0.05), 4)
    1.0
    >>> round(equivalence_power(1.0, 1.0, 10, 0.05, true_diff=0.5), 4)
    0.424
    """
    margin, sd, n, level, true_diff = _equivalence_args(margin, sd, n, alpha, m, true_diff)
    return _tost_power(margin / sd, true_diff / sd, n, level)


def _equivalence_args(margin, sd, n, alpha, m, true_diff):
    margin = _positive("margin", margin)
    sd = _positive("sd", sd)
    n = check_int("n", n, low=2) if n is not None else None
    level, _ = _level(alpha, m)
    true_diff = check_real("true_diff", true_diff)
    if not abs(true_diff) < margin:
        raise ValueError(f"true_diff must lie inside the margin (|true_diff| < {margin:g}); "
                         f"got {true_diff!r}")
    return margin, sd, n, level, true_diff


def _tost_power(margin_z: float, diff_z: float, n: int, level: float) -> float:
    from scipy import integrate  # noqa: PLC0415

    df = n - 1
    c = float(stats.t.isf(level, df))
    root_n = math.sqrt(n)
    a = root_n * (margin_z - diff_z)
    b = -root_n * (margin_z + diff_z)
    u_max = df * (root_n * margin_z / c) ** 2
    q_max = float(stats.chi2.cdf(u_max, df))
    if q_max <= 0.0:
        return 0.0

    def integrand(q: float) -> float:
        r = c * math.sqrt(float(stats.chi2.ppf(q, df)) / df)
        return max(0.0, float(special.ndtr(a - r) - special.ndtr(b + r)))

    # full_output: QUADPACK's "roundoff error is detected" (the integrand is accurate to
    # about 1e-12 through chi2.ppf) is not a failure when its own error estimate is tiny;
    # only an estimate above 1e-6 is reported
    value, err, *info = integrate.quad(integrand, 0.0, q_max, epsabs=1e-11, epsrel=1e-10,
                                       limit=200, full_output=1)
    if len(info) > 1 and err > 1e-6:
        warnings.warn(f"TOST power by quadrature: error estimate {err:.1e} "
                      f"({info[1].splitlines()[0]})", RuntimeWarning, stacklevel=3)
    return min(1.0, max(0.0, value))


def equivalence_min_margin(sd: float, n: int, alpha: float, m: int = 1,
                           power: float = 0.8) -> float:
    """Smallest margin TOST shows with ``power`` for ``n`` runs whose mean equals the reference.

    The inverse in ``margin`` of :func:`equivalence_power` at ``true_diff = 0``
    (the power rises with the margin), by Brent's method.  An equivalence claim
    declared with a margin at or below this value is decidable by the run; one
    left undecided then lies near its margin.

    Parameters
    ----------
    sd : float
        Standard deviation of one run, ``> 0``.
    n : int
        Runs (seeds), ``>= 2``.
    alpha, m
        As in :func:`equivalence_power`.
    power : float, optional
        Target power in ``(0, 1)``.

    Returns
    -------
    float
        The margin, in ``sd``'s units.

    Examples
    --------
    >>> m = equivalence_min_margin(1.0, 16, 0.05)
    >>> round(m, 3), round(equivalence_power(m, 1.0, 16, 0.05), 6)
    (0.767, 0.8)
    """
    sd = _positive("sd", sd)
    n = check_int("n", n, low=2)
    power = _unit_open("power", power)
    _level(alpha, m)
    from scipy.optimize import brentq  # noqa: PLC0415

    def short(margin: float) -> float:
        return equivalence_power(margin, sd, n, alpha, m) - power

    hi = sd
    while short(hi) < 0:
        hi *= 2.0
    return float(brentq(short, 1e-9 * sd, hi, xtol=1e-6 * sd))


def seeds_for_equivalence(margin: float, sd: float, alpha: float, m: int = 1,
                          power: float = 0.8, true_diff: float = 0.0) -> int:
    """Smallest number of runs at which TOST shows equivalence within ``±margin`` with ``power``.

    The power is :func:`equivalence_power` (exact noncentral computation, no
    simulation) at ``alpha / m``.  It is 0 until ``margin`` exceeds ``c·s/sqrt(n)``
    for typical ``s`` and then rises towards 1 for ``|true_diff| < margin``;
    ``n`` is scanned one by one up to 200, then by doubling and bisection.

    Parameters
    ----------
    margin, sd, alpha, m, true_diff
        As in :func:`equivalence_power`.
    power : float, optional
        Target power in ``(0, 1)``.

    Returns
    -------
    int
        Runs (seeds), ``>= 2``.

    Examples
    --------
    >>> seeds_for_equivalence(2.0, 1.0, 0.05)
    4
    >>> seeds_for_equivalence(2.0, 2.3, 0.01, m=8)
    30
    >>> seeds_for_equivalence(1.0, 1.0, 0.05, true_diff=1.0)
    Traceback (most recent call last):
    ...
    ValueError: true_diff must lie inside the margin (|true_diff| < 1); got 1.0
    """
    margin, sd, _, level, true_diff = _equivalence_args(margin, sd, None, alpha, m, true_diff)
    power = _unit_open("power", power)
    mz, dz = margin / sd, true_diff / sd
    for n in range(2, 201):
        if _tost_power(mz, dz, n, level) >= power:
            return n
    return _smallest_n(lambda n: _tost_power(mz, dz, n, level), power, 201,
                       f"margin/sd = {mz:.3g} at alpha/m = {level:.3g}")
