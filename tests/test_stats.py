"""Tests of ``sparsesim.stats`` against the definitions each procedure implements.

Intervals are checked against the equations that define their endpoints,
tests against brute-force sums of binomial probabilities, Holm against the
closed-testing definition, and the pooled goodness-of-fit statistics against
``scipy.stats`` on the pooled table.  Statistical checks use fixed seeds and
state their false-alarm rate.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats as sstats

from sparsesim import stats as S

mp.mp.dps = 50


# ---------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 7, 50, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.999])
def test_clopper_pearson_solves_the_tail_equations(n, confidence):
    # lo solves P(X >= x; lo) = alpha/2, hi solves P(X <= x; hi) = alpha/2.
    alpha = 1 - confidence
    x = np.unique(np.linspace(0, n, 9).astype(int))
    lo, hi = S.clopper_pearson(x, n, confidence=confidence)
    for xi, l, h in zip(x, lo, hi):
        assert 0.0 <= l <= xi / n <= h <= 1.0
        if xi > 0:
            assert sstats.binom.sf(xi - 1, n, l) == pytest.approx(alpha / 2, rel=1e-9)
        else:
            assert l == 0.0
        if xi < n:
            assert sstats.binom.cdf(xi, n, h) == pytest.approx(alpha / 2, rel=1e-9)
        else:
            assert h == 1.0
    # closed forms at the edges: hi(0) = 1 - (alpha/2)^(1/n), lo(n) = (alpha/2)^(1/n)
    assert S.clopper_pearson(0, n, confidence=confidence)[1] == pytest.approx(
        1 - (alpha / 2) ** (1 / n), rel=1e-12)
    assert S.clopper_pearson(n, n, confidence=confidence)[0] == pytest.approx(
        (alpha / 2) ** (1 / n), rel=1e-12)


def test_clopper_pearson_exact_coverage_is_conservative():
    # Exact coverage (sum of pmf over x whose interval contains p) is >= the
    # nominal level for every p: a deterministic property of Clopper-Pearson.
    n, confidence = 30, 0.9
    x = np.arange(n + 1)
    lo, hi = S.clopper_pearson(x, n, confidence=confidence)
    for p in np.linspace(0.001, 0.999, 199):
        covered = (lo <= p) & (p <= hi)
        assert sstats.binom.pmf(x[covered], n, p).sum() >= confidence - 1e-12


@pytest.mark.parametrize("n", [1, 5, 40, 10_000])
def test_wilson_solves_the_score_equation(n):
    # Endpoints are the roots of (phat - p)^2 = z^2 p (1 - p) / n.
    confidence = 0.99
    z = special.ndtri(1 - (1 - confidence) / 2)
    x = np.unique(np.linspace(0, n, 7).astype(int))
    lo, hi = S.wilson_interval(x, n, confidence=confidence)
    for xi, l, h in zip(x, lo, hi):
        phat = xi / n
        assert 0.0 <= l <= phat <= h <= 1.0
        for p in (l, h):
            assert (phat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9, abs=1e-15)
    # symmetry: interval(n - x) = 1 - interval(x) reversed
    lo2, hi2 = S.wilson_interval(n - x, n, confidence=confidence)
    assert np.allclose(lo2, 1 - hi, atol=1e-14) and np.allclose(hi2, 1 - lo, atol=1e-14)
    assert S.wilson_interval(0, n)[0] == 0.0 and S.wilson_interval(n, n)[1] == 1.0


@pytest.mark.parametrize("n", [10**9, 10**12, 10**15, 2**53])
def test_clopper_pearson_large_trials_solve_the_tail_equations(n):
    # SciPy's inverse incomplete beta alone is far off here (tail 0.013 instead of
    # 0.005 at n = 1e15, NaN beyond); the polished endpoints solve the tail equations
    # to 1e-7 relative (measured: <= 5e-9), and for n >= 1e12 sit at the normal
    # approximation p -/+ z sqrt(p(1-p)/n) within 1e-5 of the half-width (whose own
    # error, continuity and skewness, is ~ 1e-6 at n = 1e12).  Falsified by NaN,
    # lo > x/n, or a tail probability off the target.
    confidence = 0.99
    target = (1 - confidence) / 2
    z = special.ndtri(1 - target)
    x = np.array([1, n // 10, n // 2, n - 1])
    lo, hi = S.clopper_pearson(x, n, confidence=confidence)
    phat = x / n
    assert np.all((0 < lo) & (lo <= phat) & (phat <= hi) & (hi <= 1))
    for xi, l, h in zip(x[:3], lo[:3], hi[:3]):
        xi = int(xi)
        assert special.betainc(xi, n - xi + 1, l) == pytest.approx(target, rel=1e-7)
        assert special.betaincc(xi + 1, n - xi, h) == pytest.approx(target, rel=1e-7)
    if n >= 10**12:
        half = z * np.sqrt(phat * (1 - phat) / n)
        for i in (1, 2):
            assert (phat[i] - lo[i]) / half[i] == pytest.approx(1.0, abs=1e-5)
            assert (hi[i] - phat[i]) / half[i] == pytest.approx(1.0, abs=1e-5)


def test_intervals_scalar_and_array_shapes():
    lo, hi = S.clopper_pearson(3, 10)
    assert isinstance(lo, np.float64) and np.ndim(hi) == 0
    lo, hi = S.wilson_interval(np.array([[1, 2], [3, 4]]), 10)
    assert lo.shape == hi.shape == (2, 2)


# ---------------------------------------------------------------------------
# exact binomial tests
# ---------------------------------------------------------------------------

def brute_two_sided(x: int, n: int, p: float) -> float:
    pmf = sstats.binom.pmf(np.arange(n + 1), n, p)
    return float(min(1.0, pmf[pmf <= pmf[x] * (1 + 1e-7)].sum()))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 60), st.data(), st.floats(0.01, 0.99))
def test_binom_test_matches_brute_force_definition(n, data, p):
    # p-value = total probability of outcomes no more likely than the observed one.
    x = data.draw(st.integers(0, n))
    assert S.binom_test_two_sided(x, n, p) == pytest.approx(brute_two_sided(x, n, p),
                                                            rel=1e-9, abs=1e-14)


def test_binom_test_edge_probabilities_and_vectorisation():
    assert S.binom_test_two_sided(0, 10, 0.0) == 1.0
    assert S.binom_test_two_sided(1, 10, 0.0) == 0.0
    assert S.binom_test_two_sided(10, 10, 1.0) == 1.0
    assert S.binom_test_two_sided(9, 10, 1.0) == 0.0
    got = S.binom_test_two_sided(np.array([0, 5, 10]), 10, np.array([[0.5], [0.0]]))
    assert got.shape == (2, 3)
    assert got[1].tolist() == [1.0, 0.0, 0.0]
    assert got[0, 1] == pytest.approx(1.0)


def test_binom_test_size_is_at_most_alpha_exactly():
    # Under H0 the exact test never rejects more often than alpha (computed
    # exactly by summing the null pmf over the rejection region).
    for n, p in [(20, 0.3), (100, 0.05), (57, 0.5)]:
        x = np.arange(n + 1)
        pv = S.binom_test_two_sided(x, n, p)
        for alpha in (0.01, 0.05, 0.2):
            assert sstats.binom.pmf(x[pv <= alpha], n, p).sum() <= alpha + 1e-12


def test_binom_test_null_rejection_rate_seeded():
    # 4000 seeded null draws of Binomial(80, 0.2); the test is conservative, so
    # the rejection rate at alpha = 0.05 is <= 0.05 in expectation.  The bound
    # 0.05 + 4 sd (sd = 0.0034) has false-alarm rate < 1e-4.
    rng = np.random.default_rng(11)
    pv = S.binom_test_two_sided(rng.binomial(80, 0.2, size=4000), 80, 0.2)
    assert np.mean(pv <= 0.05) <= 0.05 + 4 * math.sqrt(0.05 * 0.95 / 4000)


def test_binom_test_log_agrees_with_ordinary_test():
    # Both branches: (n+1) p < 1/2 (series) and the ordinary exact test.
    for n, p in [(1000, 1e-5), (1000, 3e-4), (10, 0.01), (200, 0.3), (1000, 4.99e-4)]:
        for x in [0, 1, 2, 5]:
            got = S.binom_test_log(x, n, math.log(p))
            assert got == pytest.approx(S.binom_test_two_sided(x, n, p), rel=1e-9)


def test_binom_test_log_tiny_probabilities_match_mpmath():
    # p = exp(-800) is not a float: P(X >= x) by 50-digit summation.
    n, log_p = 10**9, -800.0
    p = mp.exp(log_p)
    assert S.binom_test_log(0, n, log_p) == 1.0
    for x in [1, 2, 3]:
        ref = mp.log(mp.fsum(mp.binomial(n, j) * p ** j * (1 - p) ** (n - j)
                             for j in range(x, x + 6)))
        got = S.binom_test_log(x, n, log_p, log=True)
        assert float(abs(got - ref) / abs(ref)) <= 1e-13
        assert S.binom_test_log(x, n, log_p) == 0.0           # underflows without log=True
    assert S.binom_test_log(1, 10, -math.inf) == 0.0
    assert S.binom_test_log(0, 10, -math.inf) == 1.0
    assert S.binom_test_log(np.array([0, 1]), 100, -50.0).shape == (2,)


@pytest.mark.parametrize("x, n, p", [(1, 1000, 1e-250), (1, 10**18, 1e-220),
                                     (2, 10**6, 1e-201), (1, 1000, 1.000000001e-200),
                                     (1, 1000, 0.999999999e-200)])
def test_binom_test_two_sided_tiny_p_matches_mpmath(x, n, p):
    # Below p = 1e-200 (where SciPy's binomtest overflows near 1e-300) the pmf
    # decreases strictly and the p-value is P(X >= x), by 50-digit summation here.
    # The last two cases straddle the switch to SciPy's test: falsified by a jump.
    P = mp.mpf(p)
    ref = mp.fsum(mp.binomial(n, j) * P ** j * (1 - P) ** (n - j) for j in range(x, x + 6))
    assert S.binom_test_two_sided(x, n, p) == pytest.approx(float(ref), rel=1e-12)
    assert S.binom_test_two_sided(0, n, p) == 1.0


def test_small_float_dtypes_count_like_integers():
    # float16 / float32 counts holding integers give the int64 results exactly
    # (the integer check used to overflow casting 2**53 to float16).
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for dtype in (np.float16, np.float32):
            obs = np.array([10, 20, 30], dtype=dtype)
            assert S.chisquare_gof(obs, [1 / 6, 1 / 3, 1 / 2]) == S.chisquare_gof(
                [10, 20, 30], [1 / 6, 1 / 3, 1 / 2])
            assert S.g_test_gof(obs, [0.2, 0.3, 0.5]) == S.g_test_gof([10, 20, 30],
                                                                      [0.2, 0.3, 0.5])
            assert S.clopper_pearson(dtype(3), dtype(10)) == S.clopper_pearson(3, 10)
            assert S.binom_test_log(dtype(1), dtype(1000), -800.0) == S.binom_test_log(
                1, 1000, -800.0)


# ---------------------------------------------------------------------------
# goodness of fit
# ---------------------------------------------------------------------------

def test_pool_cells_rules():
    labels = S.pool_cells(np.array([0.5, 1.0, 4.0, 9.0, 20.0, 6.0, 2.0, 0.1]))
    assert labels.tolist() == [0, 0, 0, 1, 2, 3, 3, 3]
    assert S.pool_cells([1.0, 1.0]).tolist() == [0, 0]                 # all below: one group
    assert S.pool_cells([0.0, 10.0, 0.0], min_expected=0.0).tolist() == [0, 0, 0]
    assert S.pool_cells([5.0, 5.0]).tolist() == [0, 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 30.0), min_size=1, max_size=30), st.floats(0.5, 10.0))
def test_pooling_keeps_totals_and_thresholds(exp_counts, min_expected):
    # Pooled groups are contiguous, keep the total expected count, and each
    # has expected >= min_expected unless there is only one group.
    e = np.asarray(exp_counts)
    labels = S.pool_cells(e, min_expected=min_expected)
    assert labels[0] == 0 and np.all(np.diff(labels) >= 0) and np.all(np.diff(labels) <= 1)
    pooled = np.bincount(labels, weights=e)
    assert math.isclose(pooled.sum(), e.sum(), rel_tol=1e-12, abs_tol=1e-12)
    if pooled.size > 1:
        assert np.all(pooled >= min_expected)


def test_chisquare_and_g_match_scipy_on_the_pooled_table():
    probs = sstats.binom.pmf(np.arange(21), 20, 0.3)
    probs = probs / probs.sum()
    rng = np.random.default_rng(3)
    obs = np.bincount(rng.binomial(20, 0.3, size=500), minlength=21)
    n = obs.sum()
    labels = S.pool_cells(n * probs, min_expected=5.0)
    o = np.bincount(labels, weights=obs)
    e = np.bincount(labels, weights=n * probs)
    assert e.sum() == pytest.approx(n, rel=1e-12)
    stat, dof, pv = S.chisquare_gof(obs, probs)
    ref = sstats.chisquare(o, e)
    assert dof == o.size - 1
    assert stat == pytest.approx(ref.statistic, rel=1e-12) and pv == pytest.approx(ref.pvalue, rel=1e-9)
    g, dof_g, pv_g = S.g_test_gof(obs, probs)
    ref_g = sstats.power_divergence(o, e, lambda_="log-likelihood")
    assert dof_g == dof
    assert g == pytest.approx(ref_g.statistic, rel=1e-12) and pv_g == pytest.approx(ref_g.pvalue, rel=1e-9)
    # ddof lowers the degrees of freedom
    assert S.chisquare_gof(obs, probs, ddof=1)[1] == dof - 1


def test_gof_degenerate_and_mismatch():
    # One pooled group: nothing to test (p-value NaN, dof 0).
    stat, dof, pv = S.chisquare_gof([1, 2], [0.5, 0.5])
    assert stat == 0.0 and dof == 0 and math.isnan(pv)
    # Observations in a zero-probability cell that cannot be pooled away.
    stat, dof, pv = S.chisquare_gof([0, 50, 3], [0.5, 0.5, 0.0], min_expected=0.0)
    assert stat == math.inf and pv == 0.0
    # A clear mismatch is detected.
    assert S.chisquare_gof([100, 0], [0.5, 0.5])[2] < 1e-10
    assert S.g_test_gof([100, 0], [0.5, 0.5])[2] < 1e-10


def test_gof_p_values_under_null_seeded():
    # 300 seeded multinomial samples from the null: chi-square and G p-values
    # are approximately uniform.  The fraction below 0.1 lies in [0.03, 0.19]
    # with probability > 1 - 1e-4 for exactly uniform p-values (binomial(300, 0.1)).
    rng = np.random.default_rng(99)
    probs = np.array([0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05])
    pv_c, pv_g = [], []
    for counts in rng.multinomial(400, probs, size=300):
        pv_c.append(S.chisquare_gof(counts, probs)[2])
        pv_g.append(S.g_test_gof(counts, probs)[2])
    for pv in (np.array(pv_c), np.array(pv_g)):
        assert 0.03 <= np.mean(pv < 0.1) <= 0.19
        assert 0.35 <= np.mean(pv < 0.5) <= 0.65


# ---------------------------------------------------------------------------
# multiple testing
# ---------------------------------------------------------------------------

def holm_by_closed_testing(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm = closed testing with Bonferroni local tests: reject H_i iff every
    intersection I containing i has min_{j in I} p_j <= alpha / |I|."""
    tested = [i for i in range(p.size) if not np.isnan(p[i])]
    reject = np.zeros(p.size, dtype=bool)
    for i in tested:
        others = [j for j in tested if j != i]
        reject[i] = all(
            min(p[j] for j in (i,) + subset) <= alpha / (len(subset) + 1)
            for r in range(len(others) + 1) for subset in itertools.combinations(others, r))
    return reject


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan")),
                          st.sampled_from([0.001, 0.01, 0.0125, 0.025, 0.05])),
                min_size=0, max_size=7),
       st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_matches_closed_testing(p_values, alpha):
    p = np.asarray(p_values, dtype=float)
    got = S.holm(p, alpha)
    assert got.dtype == bool and got.shape == p.shape
    assert np.array_equal(got, holm_by_closed_testing(p, alpha))
    bonf = S.bonferroni(p, alpha)
    assert not np.any(bonf & ~got)                 # Holm rejects everything Bonferroni does
    assert not np.any(got & np.isnan(p))           # NaN = not tested


def test_holm_and_bonferroni_count_only_tested():
    p = np.array([[0.02, np.nan], [np.nan, 0.03]])
    assert S.holm(p, 0.05).tolist() == [[True, False], [False, True]]
    assert S.bonferroni(p, 0.05).tolist() == [[True, False], [False, False]]
    assert S.bonferroni(np.array([0.04, np.nan, np.nan]), 0.05).tolist() == [True, False, False]
    assert S.holm(np.array([]), 0.05).shape == (0,)


# ---------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------

BAD_CALLS = [
    (S.clopper_pearson, (5, 0), {}, ValueError, "trials must be >= 1"),
    (S.clopper_pearson, (11, 10), {}, ValueError, "successes must be in [0, trials]"),
    (S.clopper_pearson, (-1, 10), {}, ValueError, "successes must be >= 0"),
    (S.clopper_pearson, (2.5, 10), {}, TypeError, "successes must hold integers"),
    (S.clopper_pearson, (2, 10), {"confidence": 1.0}, ValueError, "confidence must be in (0, 1)"),
    (S.clopper_pearson, (2, 10), {"confidence": True}, TypeError, "confidence must be a real"),
    (S.wilson_interval, (np.array([1, 12]), 10), {}, ValueError, "successes must be in [0, trials]"),
    (S.wilson_interval, (1, 10), {"confidence": 0.0}, ValueError, "confidence must be in (0, 1)"),
    (S.binom_test_two_sided, (1, 10, 1.5), {}, ValueError, "p must be in [0, 1]"),
    (S.binom_test_two_sided, (1, 10, math.nan), {}, ValueError, "p must be in [0, 1]"),
    (S.binom_test_two_sided, (1, 0, 0.5), {}, ValueError, "trials must be >= 1"),
    (S.binom_test_two_sided, ("1", 10, 0.5), {}, TypeError, "successes must have a dtype"),
    (S.binom_test_log, (1, 10, 0.1), {}, ValueError, "log_p must be in [-inf, 0]"),
    (S.binom_test_log, (1, 10, math.nan), {}, ValueError, "log_p must be in [-inf, 0]"),
    (S.binom_test_log, (1, 10, -1.0), {"log": "yes"}, TypeError, "log must be a bool"),
    (S.chisquare_gof, ([1, 2], [0.5, 0.6]), {}, ValueError, "expected_probs must sum to 1"),
    (S.chisquare_gof, ([1, 2], [1.5, -0.5]), {}, ValueError, "expected_probs must be in [0, 1]"),
    (S.chisquare_gof, ([1, 2, 3], [0.5, 0.5]), {}, ValueError, "expected_probs must have the shape"),
    (S.chisquare_gof, ([1, -2], [0.5, 0.5]), {}, ValueError, "observed_counts must be >= 0"),
    (S.chisquare_gof, ([0, 0], [0.5, 0.5]), {}, ValueError, "at least one observation"),
    (S.chisquare_gof, ([[1, 2]], [[0.5, 0.5]]), {}, ValueError, "observed_counts must be a non-empty 1-D"),
    (S.chisquare_gof, ([1, 2], [0.5, 0.5]), {"min_expected": -1.0}, ValueError, "min_expected must be finite"),
    (S.chisquare_gof, ([1, 2], [0.5, 0.5]), {"ddof": -1}, ValueError, "ddof must be >= 0"),
    (S.g_test_gof, ([1.5, 2], [0.5, 0.5]), {}, TypeError, "observed_counts must hold integers"),
    (S.g_test_gof, ([1, 2], [0.5, 0.5]), {"ddof": 0.5}, TypeError, "ddof must be an integer"),
    (S.pool_cells, ([1.0, -1.0],), {}, ValueError, "expected_counts must be finite and >= 0"),
    (S.pool_cells, ([],), {}, ValueError, "expected_counts must be a non-empty 1-D"),
    (S.holm, ([0.1, 1.2], 0.05), {}, ValueError, "p_values must be in [0, 1] or NaN"),
    (S.holm, ([0.1], 1.5), {}, ValueError, "alpha must be in (0, 1)"),
    (S.bonferroni, ([0.1, -0.1], 0.05), {}, ValueError, "p_values must be in [0, 1] or NaN"),
    (S.bonferroni, (["a"], 0.05), {}, TypeError, "p_values must have a dtype"),
    # counts beyond exact float64 integers where the computation needs them exact
    (S.clopper_pearson, (1, 2**53 + 1), {}, ValueError, "trials must be in [1, 2**53]"),
    (S.clopper_pearson, (10**17, np.array([10, 10**18])), {}, ValueError,
     "successes must be in [0, trials]"),
    (S.clopper_pearson, (10**17, 10**18), {}, ValueError, "trials must be in [1, 2**53]"),
    (S.binom_test_log, (1, 10**18, -800.0), {}, ValueError, "trials must be in [1, 2**53]"),
    # Python ints beyond the float range
    (S.clopper_pearson, (3, 10), {"confidence": 2**1100}, ValueError, "confidence must be finite"),
    (S.wilson_interval, (3, 10), {"confidence": -2**1100}, ValueError,
     "confidence must be finite"),
    (S.holm, ([0.1], 2**1100), {}, ValueError, "alpha must be finite"),
    (S.bonferroni, ([0.1], 2**1100), {}, ValueError, "alpha must be finite"),
    (S.pool_cells, ([1.0, 6.0],), {"min_expected": 2**1100}, ValueError,
     "min_expected must be finite"),
    (S.g_test_gof, ([1, 2], [0.5, 0.5]), {"min_expected": 2**1100}, ValueError,
     "min_expected must be finite"),
    # small float dtypes are checked in float64 (no overflow in the check itself)
    (S.chisquare_gof, (np.array([1.5, 2.0], np.float16), [0.5, 0.5]), {}, TypeError,
     "observed_counts must hold integers"),
    # paired comparisons over seeds
    (S.paired_t_test, ([1.0, 2.0], [1.0]), {}, ValueError, "x and y must pair up"),
    (S.paired_t_test, ([1.0, np.nan], [1.0, 2.0]), {}, ValueError, "x and y must be finite"),
    (S.sign_flip_test, ([1.0], [0.0]), {}, ValueError, "at least 2 pairs"),
    (S.sign_flip_test, (np.ones(21), np.zeros(21)), {}, ValueError, "n = 21 pairs is too many"),
    (S.paired_test, ([1.0, 2.0], [0.0, 0.0]), {"alternative": "both"}, ValueError,
     "alternative must be one of"),
    (S.paired_min_detectable, (-1.0, 5, 0.01), {}, ValueError, "sd must be"),
    (S.paired_min_detectable, (1.0, 5, 0.01), {"power": 1.0}, ValueError, "power must be"),
    (S.prediction_interval, ([1.0, 2.0],), {"level": 1.0}, ValueError, "level must be"),
    (S.equivalence_test, ([1.0],), {"reference": 0.0, "margin": 1.0}, ValueError,
     "needs at least 2 runs"),
    (S.equivalence_test, ([1.0, np.nan], 0.0, 1.0), {}, ValueError, "values must be finite"),
    (S.equivalence_test, ([1.0, 2.0], np.inf, 1.0), {}, ValueError, "reference must be finite"),
    (S.equivalence_test, ([1.0, 2.0], 0.0, 0.0), {}, ValueError, "margin must be a finite"),
    (S.equivalence_test, ([1.0, 2.0], 0.0, True), {}, TypeError, "margin"),
    (S.spearman, ([1.0, 2.0, 3.0], [1.0, 2.0]), {}, ValueError, "x and y must be 1-D"),
    (S.spearman, (["a", "b", "c"], [1.0, 2.0, 3.0]), {}, TypeError, "x"),
]
# power planning (tests/test_plan.py has the rest)
BAD_CALLS += [
    (S.sign_flip_floor, (0.01,), {"m": 0}, ValueError, "m must be"),
    (S.paired_claim_power, (1.0, 1.0, 1, 0.01), {}, ValueError, "n must be"),
    (S.seeds_for_paired_claim, (0.0, 1.0, 0.01), {}, ValueError, "effect must be"),
    (S.equivalence_power, (1.0, 1.0, 10, 0.05), {"true_diff": 2.0}, ValueError,
     "true_diff must lie inside the margin"),
    (S.seeds_for_equivalence, (1.0, 0.0, 0.05), {}, ValueError, "sd must be"),
    (S.equivalence_min_margin, (1.0, 16, 0.05), {"power": 1.0}, ValueError, "power must be"),
    (S.equivalence_test, ([70.0, 71.0], 70.0, 0.0), {}, ValueError, "margin must be"),
]


@pytest.mark.parametrize("func,args,kwargs,exc,text", BAD_CALLS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(BAD_CALLS)])
def test_bad_inputs_raise_naming_the_argument(func, args, kwargs, exc, text):
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    assert text in str(info.value)


def test_every_public_function_has_a_bad_input_case():
    covered = {c[0].__name__ for c in BAD_CALLS}
    constants = {"EXACT_BELOW", "SPEARMAN_EXACT_MAX_N"}
    assert set(S.__all__) - constants <= covered, set(S.__all__) - covered


# --------------------------------------------------------------------------- paired tests

def test_sign_flip_matches_brute_force_and_floor():
    from itertools import product

    from sparsesim.stats import sign_flip_test
    rng = np.random.default_rng(11)
    x, y = rng.normal(1.0, 1.0, 6), rng.normal(0.0, 1.0, 6)
    d = x - y
    means = [np.mean(np.array(s) * d) for s in product((1, -1), repeat=6)]
    assert sign_flip_test(x, y) == pytest.approx(np.mean([m >= d.mean() - 1e-12 for m in means]))
    assert sign_flip_test(x, y, "less") == pytest.approx(
        np.mean([m <= d.mean() + 1e-12 for m in means]))
    # All differences positive: the smallest p-value there is, 2**-n.
    assert sign_flip_test(np.arange(5) + 1.0, np.zeros(5)) == 2.0 ** -5
    # Equal conditions never reject in either direction.
    assert sign_flip_test(x, x) == 1.0 and sign_flip_test(x, x, "less") == 1.0


def test_paired_t_test_matches_scipy_and_picks_the_test():
    from sparsesim.stats import paired_t_test, paired_test
    rng = np.random.default_rng(12)
    x, y = rng.normal(0.3, 1.0, 12), rng.normal(0.0, 1.0, 12)
    for alt in ("greater", "less"):
        ref = sstats.ttest_rel(x, y, alternative=alt).pvalue
        assert paired_t_test(x, y, alt) == pytest.approx(ref, rel=1e-10)
    assert paired_test(x, y)[1] == "paired t-test"
    assert paired_test(x[:7], y[:7])[1] == "exact sign-flip test"


def test_paired_tests_false_alarm_rate():
    # 2,000 null replicates (fixed seed): the one-sided tests at 0.05 reject at
    # most ~5 % (binomial sd 0.5 %; bound 0.065 leaves 3 sd). The sign-flip
    # test with 6 pairs is discrete (p in multiples of 1/64): still <= 0.05.
    from sparsesim.stats import paired_t_test, sign_flip_test
    rng = np.random.default_rng(13)
    t_rej = s_rej = 0
    for _ in range(2000):
        x, y = rng.normal(size=10), rng.normal(size=10)
        t_rej += paired_t_test(x, y) <= 0.05
        s_rej += sign_flip_test(x[:6], y[:6]) <= 0.05
    assert t_rej / 2000 < 0.065 and s_rej / 2000 < 0.065


def test_min_detectable_effect_has_the_stated_power():
    from sparsesim.stats import paired_min_detectable
    delta = paired_min_detectable(2.0, 12, 0.01)
    rng = np.random.default_rng(14)
    d = rng.normal(delta, 2.0, (20000, 12))
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(12))
    power = np.mean(t > sstats.t.isf(0.01, 11))
    assert abs(power - 0.8) < 0.015            # 20,000 draws: sd 0.003
    # Fewer seeds than 2**-n <= alpha allows: nothing detectable.
    assert paired_min_detectable(1.0, 6, 0.01) == np.inf
    assert paired_min_detectable(1.0, 7, 0.01) < np.inf
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        paired_min_detectable(1.0, 1, 0.01)


def test_prediction_interval_coverage_and_errors():
    from sparsesim.stats import prediction_interval
    rng = np.random.default_rng(15)
    hits = 0
    for _ in range(4000):
        v = rng.normal(size=4)
        lo, hi = prediction_interval(v, 0.95)
        hits += lo <= rng.normal() <= hi
    assert abs(hits / 4000 - 0.95) < 0.012     # sd 0.0034
    with pytest.raises(ValueError, match="at least 2 runs"):
        prediction_interval([1.0])
    with pytest.raises(ValueError, match="at least 2 pairs"):
        from sparsesim.stats import paired_test
        paired_test([1.0], [2.0])
    with pytest.raises(ValueError, match="alternative must be one of"):
        from sparsesim.stats import sign_flip_test
        sign_flip_test([1.0, 2.0], [0.0, 0.0], "two-sided")
