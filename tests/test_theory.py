"""Tests of the closed forms in ``sparsesim.theory``.

Three independent references are used: exact enumeration of all selection
patterns for tiny ``d`` (rational arithmetic), 50-digit ``mpmath`` at extreme
arguments, and numerical optimisation / quadrature.  A few seeded Monte Carlo
checks use exact binomial tests; their false-alarm rate is stated where they
appear.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats as sstats

import sparsesim as ss
from sparsesim import stats as sst
from sparsesim import theory as T

mp.mp.dps = 50
SQRT2 = math.sqrt(2.0)


def mp_log_q_pair(a: float):
    """50-digit (log q, log(1-q)) for q = erfc(a/sqrt2) at the float ``a``."""
    a = mp.mpf(a)
    x = a / mp.sqrt(2)
    q = mp.erfc(x)
    if q > 0.5:
        return mp.log1p(-mp.erf(x)), mp.log(mp.erf(x))
    return mp.log(q), mp.log1p(-q)


def rel_err(value, ref) -> float:
    ref = mp.mpf(ref)
    return float(abs(mp.mpf(float(value)) - ref) / abs(ref))


# ---------------------------------------------------------------------------
# exact enumeration for tiny d
# ---------------------------------------------------------------------------

def enumerate_patterns(d: int, q: Fraction):
    """All 2^d selection patterns with their exact probability prod Bernoulli(q)."""
    for bits in itertools.product((0, 1), repeat=d):
        prob = Fraction(1)
        for b in bits:
            prob *= q if b else 1 - q
        yield bits, prob


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("t", [0.0, 0.3, 1.0, 2.5])
def test_laws_match_exact_enumeration(d, t):
    # Falsified if any closed form (P(S_hat=S), the three binomial laws, the
    # identity P(S_hat=S) = Binom(d,q).pmf(k)/C(d,k), or uniformity of S_hat
    # given |S_hat|) disagrees with summing all 2^d pattern probabilities.
    q_float = float(T.tail_prob(t))
    assert q_float == pytest.approx(special.erfc(t / SQRT2), rel=1e-15)
    q = Fraction(q_float)
    patterns = list(enumerate_patterns(d, q))
    assert sum(p for _, p in patterns) == 1
    for k in range(d + 1):
        support = tuple(1 if i < k else 0 for i in range(d))
        exact = dict(patterns)[support]
        got = T.support_recovery_prob(d, k, t)
        assert got == pytest.approx(float(exact), rel=1e-13, abs=0.0)
        count_k = sum(p for bits, p in patterns if sum(bits) == k)
        assert T.selected_count_pmf(k, d, t) == pytest.approx(float(count_k), rel=1e-13, abs=1e-300)
        if count_k > 0:
            same_size = [p for bits, p in patterns if sum(bits) == k]
            assert all(p == same_size[0] for p in same_size)        # uniform given |S_hat| = k
            assert exact == count_k / math.comb(d, k)               # exact rational identity
        for j in range(d + 1):
            tp = sum(p for bits, p in patterns if sum(bits[:k]) == j)
            fp = sum(p for bits, p in patterns if sum(bits[k:]) == j)
            assert T.true_positive_pmf(j, d, k, t) == pytest.approx(float(tp), rel=1e-13, abs=1e-300)
            assert T.false_positive_pmf(j, d, k, t) == pytest.approx(float(fp), rel=1e-13, abs=1e-300)


def test_identity_support_prob_is_binomial_pmf_over_binomial_coefficient_large_d():
    # Falsified if log P(S_hat=S) != log Binom(d,q).pmf(k) - log C(d,k) in log space,
    # including where P underflows (d = 1e9, a = 40).
    for d, k, t in [(10**9, 10, 40.0), (10**9, 5 * 10**8, 0.6744897501960817),
                    (1000, 10, 2.5758293035489), (10**6, 0, 3.0), (10**6, 10**6, 1e-3)]:
        lhs = T.support_recovery_prob(d, k, t, log=True)
        rhs = T.selected_count_pmf(k, d, t, log=True) - T.log_binomial_coefficient(d, k)
        assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------------------
# mpmath at extreme arguments
# ---------------------------------------------------------------------------

A_GRID = [1e-300, 1e-8, 1e-3, 0.3, 0.6744, 0.675, 1.0, 2.5, 5.0, 8.3, 10.0, 20.0,
          37.0, 40.0]
D_GRID = [1, 2, 10, 1000, 10**6, 10**9]


@pytest.mark.parametrize("d", D_GRID)
def test_support_recovery_log_matches_mpmath(d):
    # Falsified if the relative error of log P exceeds 1e-12 anywhere on the
    # grid (results below 1e-280 in magnitude are subnormal-limited and only
    # need to be tiny).
    worst = 0.0
    for k in sorted({0, 1, d // 2, d - 1, d}):
        for a in A_GRID:
            for sigma in (1.0, 0.25):        # powers of two: t / sigma == a exactly
                log_q, log_1mq = mp_log_q_pair(a)
                ref = k * log_q + (d - k) * log_1mq
                got = T.support_recovery_prob(d, k, a * sigma, sigma, log=True)
                assert math.isfinite(got)
                if abs(ref) < 1e-280:
                    assert abs(got) < 1e-270
                    continue
                worst = max(worst, rel_err(got, ref))
    assert worst <= 1e-12, worst


def test_support_recovery_extreme_values():
    # d = 1e9, a = 40: P underflows but log P is finite and accurate.
    got = T.support_recovery_prob(10**9, 10, 40.0, log=True)
    log_q, log_1mq = mp_log_q_pair(40.0)
    assert rel_err(got, 10 * log_q + (10**9 - 10) * log_1mq) <= 1e-13
    assert T.support_recovery_prob(10**9, 10, 40.0) == 0.0
    # a = 1e-8 with k = d: log P = d log(1 - erf(a/sqrt2)), tiny and accurate.
    got = T.support_recovery_prob(10**9, 10**9, 1e-8, log=True)
    assert rel_err(got, 10**9 * mp_log_q_pair(1e-8)[0]) <= 1e-13


def test_tail_prob_log_matches_mpmath():
    for a in A_GRID + [100.0, 1000.0]:
        ref = mp_log_q_pair(a)[0]
        assert rel_err(T.tail_prob(a, log=True), ref) <= 1e-14
        assert rel_err(T.tail_prob(2 * a, 2.0, log=True), ref) <= 1e-14
    assert T.tail_prob(0.0) == 1.0 and T.tail_prob(0.0, log=True) == 0.0


def test_edge_cases_t_zero_k_zero_k_d():
    # t = 0: q = 1, every coordinate survives.
    assert T.support_recovery_prob(5, 5, 0.0) == 1.0
    assert T.support_recovery_prob(5, 4, 0.0) == 0.0
    assert T.support_recovery_prob(5, 4, 0.0, log=True) == -math.inf
    assert T.support_recovery_prob(5, 0, 0.0, log=True) == -math.inf
    # k = 0: (1-q)^d; k = d: q^d.
    q = special.erfc(1.0 / SQRT2)
    assert T.support_recovery_prob(7, 0, 1.0) == pytest.approx((1 - q) ** 7, rel=1e-14)
    assert T.support_recovery_prob(7, 7, 1.0) == pytest.approx(q ** 7, rel=1e-14)
    # selected-count law at t = 0 is a point mass at d.
    assert T.selected_count_pmf(4, 4, 0.0) == 1.0
    assert T.selected_count_pmf(3, 4, 0.0) == 0.0
    assert T.selected_count_pmf(5, 4, 1.0) == 0.0                  # outside the support
    assert T.false_positive_pmf(0, 5, 5, 1.0) == 1.0


def test_log_binomial_coefficient_matches_mpmath():
    worst = 0.0
    for n in [0, 1, 2, 5, 15, 16, 17, 56, 57, 100, 1000, 12345, 10**6, 10**9, 2**53]:
        for k in sorted({0, 1, 2, n // 3, n // 2, n - 2, n - 1, n}):
            if not 0 <= k <= n:
                continue
            ref = mp.log(mp.binomial(n, k))
            got = T.log_binomial_coefficient(n, k)
            worst = max(worst, float(abs(got - ref) / max(1, abs(ref))))
    assert worst <= 1e-14, worst


def test_binom_logpmf_matches_mpmath_and_beats_scipy():
    # Reference: 50-digit log C(n,j) + j log p + (n-j) log(1-p) at the float p.
    worst = 0.0
    for n in [1, 10, 1000, 10**6, 10**9]:
        for p in [1e-300, 1e-12, 1e-3, 0.3, 0.5, 0.7, 1 - 1e-9]:
            P = mp.mpf(p)
            for j in sorted({0, 1, 2, int(n * p), int(n * p) + 1, n // 2, n - 1, n}):
                if not 0 <= j <= n:
                    continue
                ref = mp.log(mp.binomial(n, j)) + j * mp.log(P) + (n - j) * mp.log1p(-P)
                got = T.binom_logpmf(j, n, p)
                worst = max(worst, float(abs(got - ref) / max(abs(ref), 1e-300)))
    # Near the mode at n = 1e9 the log-pmf is about -11 while n log n ~ 2e10:
    # the rounding of n*p alone is worth ~1e-13 here.
    assert worst <= 5e-13, worst
    # scipy.stats.binom.logpmf subtracts gammaln values; ours keeps 12 digits there.
    n, j, p = 10**9, 10**9 // 3, 1 / 3
    ref = mp.log(mp.binomial(n, j)) + j * mp.log(mp.mpf(p)) + (n - j) * mp.log1p(-mp.mpf(p))
    assert rel_err(T.binom_logpmf(j, n, p), ref) <= 1e-12
    # log_p form: tiny p that is not representable as a float.
    ref = mp.log(mp.binomial(10**9, 2)) - 2000 + (10**9 - 2) * mp.log1p(-mp.exp(-1000))
    assert rel_err(T.binom_logpmf(2, 10**9, log_p=-1000.0), ref) <= 1e-14
    # both log forms agree with the p form
    assert T.binom_logpmf(3, 10, log_p=math.log(0.25), log_1mp=math.log(0.75)) == \
        pytest.approx(T.binom_logpmf(3, 10, 0.25), rel=1e-14)
    assert T.binom_logpmf(0, 0, 0.3) == 0.0
    assert T.binom_logpmf(1, 5, 0.0) == -math.inf
    assert T.binom_logpmf(5, 5, 1.0) == 0.0


def test_selected_count_pmf_sums_to_one_and_matches_mpmath():
    d, t = 200, 1.3
    total = math.fsum(np.exp(T.selected_count_pmf(np.arange(d + 1), d, t, log=True)))
    assert total == pytest.approx(1.0, abs=1e-13)
    log_q, log_1mq = mp_log_q_pair(40.0)
    for j in [1, 3]:          # (j = 0 gives log P ~ -7e-341: below the float range)
        ref = mp.log(mp.binomial(10**9, j)) + j * log_q + (10**9 - j) * log_1mq
        assert rel_err(T.selected_count_pmf(j, 10**9, 40.0, log=True), ref) <= 1e-13


# ---------------------------------------------------------------------------
# optimal threshold and the 1/C(d,k) ceiling
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("d,k", [(10, 1), (10, 5), (1000, 10), (10**6, 3), (10**9, 10)])
def test_optimal_threshold_is_the_numerical_maximiser(d, k):
    # Falsified if a bounded 1-D search finds a threshold with a clearly
    # higher log P than t*, or if P(t*) != (k/d)^k (1-k/d)^(d-k).
    t_star = T.optimal_threshold(d, k)
    res = optimize.minimize_scalar(lambda t: -T.support_recovery_prob(d, k, t, log=True),
                                   bounds=(1e-6, 50.0), method="bounded",
                                   options={"xatol": 1e-12})
    assert res.x == pytest.approx(t_star, rel=1e-5)
    best = T.support_recovery_prob(d, k, t_star, log=True)
    assert best >= -res.fun - 1e-12 * abs(res.fun)
    assert best == pytest.approx(T.max_support_recovery_prob(d, k, log=True), rel=1e-12)
    for dt in (1e-3, -1e-3):
        assert T.support_recovery_prob(d, k, t_star + dt, log=True) < best


def test_optimal_threshold_edges_and_sigma():
    assert T.optimal_threshold(5, 0) == math.inf
    assert T.optimal_threshold(5, 5) == 0.0
    assert T.optimal_threshold(1000, 10, 3.0) == pytest.approx(3.0 * T.optimal_threshold(1000, 10))
    # tiny k/(2d): accurate through ndtri of the lower tail
    assert T.optimal_threshold(2**53, 1) == pytest.approx(
        float(-mp.sqrt(2) * mp.erfinv(mp.mpf(1) / 2**53 - 1)), rel=1e-14)


def test_references_d1000_k10():
    # REFERENCES.md: log p* = -56.0015, -log C(1000, 10) = -53.928.
    assert round(T.max_support_recovery_prob(1000, 10, log=True), 4) == -56.0015
    assert round(T.topk_selection_prob(1000, 10, log=True), 3) == -53.928
    t_star = T.optimal_threshold(1000, 10)
    assert round(T.support_recovery_prob(1000, 10, t_star, log=True), 4) == -56.0015


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**9), st.data())
def test_max_support_prob_never_exceeds_one_over_binomial(d, data):
    # P(S_hat=S) = Binom(d,q).pmf(k) / C(d,k) <= 1/C(d,k); equality only at k in {0, d}.
    k = data.draw(st.integers(0, d))
    best = T.max_support_recovery_prob(d, k, log=True)
    ceiling = T.topk_selection_prob(d, k, log=True)
    assert best <= ceiling + 1e-12 * max(1.0, abs(ceiling))
    if 0 < k < d:
        # the gap is log Binom(d, k/d).pmf(k) < 0; the difference of two logs of size
        # |ceiling| (up to ~5e8 at d = 1e9) carries their rounding, a few ulps of |ceiling|
        gap_tol = 1e-9 + 8 * np.finfo(float).eps * abs(ceiling)
        assert best - ceiling == pytest.approx(
            T.binom_logpmf(k, d, k / d), rel=1e-8, abs=gap_tol)
        assert best < ceiling


def test_max_support_prob_grid_below_ceiling():
    d = np.arange(1, 200)[:, None]
    k = np.arange(0, 200)[None, :]
    ok = k <= d
    dd, kk = np.broadcast_arrays(d, k)
    best = T.max_support_recovery_prob(dd[ok], kk[ok], log=True)
    ceiling = T.topk_selection_prob(dd[ok], kk[ok], log=True)
    assert np.all(best <= ceiling + 1e-12 * np.maximum(1, np.abs(ceiling)))


def test_topk_selection_prob_is_exact_for_small_d():
    for d in range(1, 12):
        for k in range(d + 1):
            assert T.topk_selection_prob(d, k) == pytest.approx(1 / math.comb(d, k), rel=1e-15)
            assert T.group_topq_selection_prob(d, k) == T.topk_selection_prob(d, k)


# ---------------------------------------------------------------------------
# energy, universal threshold, false alarms, best k-term
# ---------------------------------------------------------------------------

def test_energy_kept_matches_formula_and_integral():
    a = np.array([0.0, 1e-4, 0.1, 1.0, 2.0, 3.5, 8.0])
    formula = 2 * sstats.norm.sf(a) + 2 * a * sstats.norm.pdf(a)
    assert np.allclose(T.energy_kept(a), formula, rtol=1e-13, atol=0)
    for ai in (0.5, 2.0):
        integral, _ = integrate.quad(lambda x: 2 * x * x * sstats.norm.pdf(x), ai, np.inf,
                                     epsabs=0, epsrel=1e-13)
        assert T.energy_kept(ai) == pytest.approx(integral, rel=1e-12)


@pytest.mark.parametrize("d,published", [(10**2, 0.214), (10**3, 0.183), (10**4, 0.162),
                                         (10**6, 0.137), (10**9, 0.114)])
def test_false_alarm_at_universal_threshold_matches_references(d, published):
    # REFERENCES.md table; falsified if the 3-decimal value differs.
    p = T.false_alarm_prob(d, T.universal_threshold(d))
    assert round(float(p), 3) == published
    a = mp.sqrt(2 * mp.log(d))
    ref = -mp.expm1(d * mp.log1p(-mp.erfc(a / mp.sqrt(2))))
    assert rel_err(p, ref) <= 1e-12


def test_false_alarm_prob_tiny_and_edges():
    # 1 - (1-q)^d ~ d q for tiny q: no cancellation
    log_q, _ = mp_log_q_pair(30.0)
    assert rel_err(T.false_alarm_prob(1000, 30.0), 1000 * mp.exp(log_q)) <= 1e-12
    assert T.false_alarm_prob(10, 0.0) == 1.0
    assert T.universal_threshold(1) == 0.0
    assert T.universal_threshold(100, 2.0) == pytest.approx(2 * math.sqrt(2 * math.log(100)))


def test_gaussian_best_k_relative_error_formula_and_simulation():
    dens = np.array([0.0, 0.01, 0.1, 0.5, 0.9, 1.0])
    a = -special.ndtri(dens / 2)
    with np.errstate(invalid="ignore"):
        expected = np.where(dens == 0, 1.0, 1 - (2 * sstats.norm.sf(a) + 2 * a * sstats.norm.pdf(a)))
    assert np.allclose(T.gaussian_best_k_relative_error(dens), expected, rtol=1e-12, atol=1e-15)
    # Large-d check against the exact projection: the ratio concentrates at
    # rate ~1/sqrt(d) (sd < 2e-3 at d = 2e5); tolerance 0.01 is > 5 sd.
    rng = np.random.default_rng(20260)
    w = rng.standard_normal(200_000)
    for density in (0.05, 0.3):
        k = int(density * w.size)
        pruned, _ = ss.best_k_term(w, k)
        ratio = np.sum((w - pruned) ** 2) / np.sum(w ** 2)
        assert ratio == pytest.approx(T.gaussian_best_k_relative_error(density), abs=0.01)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=40), st.data())
def test_compressible_bound_holds(xs, data):
    # sigma_s(x)_2 <= ||x||_1 / (2 sqrt s) for every x and s >= 1.
    x = np.asarray(xs)
    s = data.draw(st.integers(1, x.size))
    tail = np.sort(np.abs(x))[: x.size - s]
    sigma_s = math.sqrt(math.fsum(tail ** 2))
    assert sigma_s <= T.compressible_best_k_bound(float(np.abs(x).sum()), s) * (1 + 1e-12) + 1e-300


def test_compressible_bound_is_sharp():
    # Equality for 2s equal entries: sigma_s = sqrt(s), ||x||_1 = 2s.
    for s in (1, 3, 10):
        assert T.compressible_best_k_bound(2.0 * s, s) == pytest.approx(math.sqrt(s), rel=1e-15)


@pytest.mark.parametrize("n,s,p", [(3, 1, 1.0), (100, 5, 0.5), (50_000, 10, 1.0),
                                   (3_000_000, 100, 1.0), (2_000_000, 7, 2.0),
                                   (1_000_000, 999_990, 3.0), (40_000, 0, 4.0)])
def test_power_law_best_k_error_matches_direct_sum(n, s, p):
    # n > 2e4 + s exercises the Euler-Maclaurin tail; falsified if it drifts.
    i = np.arange(n, s, -1, dtype=np.float64)
    direct = math.sqrt(math.fsum(i ** (-2.0 / p)))
    assert T.power_law_best_k_error(n, s, p) == pytest.approx(direct, rel=1e-13)
    assert T.power_law_best_k_error(n, n, p) == 0.0


def test_power_law_rate():
    # n -> inf, s -> inf: sigma_s / s^(1/2-1/p) -> sqrt(p/(2-p)) for p < 2.
    for p in (0.5, 1.0, 1.5):
        s = 10**5
        ratio = T.power_law_best_k_error(2**53, s, p) / T.power_law_best_k_rate(s, p)
        assert ratio == pytest.approx(math.sqrt(p / (2 - p)), rel=2e-3)
    # exact zeta identity for the infinite tail (p = 1): sum_{i>s} i^-2 = zeta(2, s+1)
    s = 10
    tail = T.power_law_best_k_error(2**53, s, 1.0) ** 2
    assert tail == pytest.approx(special.zeta(2.0, s + 1) - special.zeta(2.0, 2.0**53 + 1), rel=1e-12)


# ---------------------------------------------------------------------------
# group (chi-square) analogue
# ---------------------------------------------------------------------------

def mp_log_gamma_pair(a, x):
    a, x = mp.mpf(a), mp.mpf(x)
    cdf = mp.gammainc(a, 0, x, regularized=True)
    sf = mp.gammainc(a, x, mp.inf, regularized=True)
    return (mp.log(cdf) if cdf < 0.5 else mp.log1p(-sf),
            mp.log(sf) if sf < 0.5 else mp.log1p(-cdf))


@pytest.mark.parametrize("g", [1, 2, 3, 10, 101, 1000])
def test_group_tails_match_mpmath(g):
    worst = 0.0
    for tau in [1e-8, 1e-3, 0.5, 1.0, 3.0, 10.0, 30.0, 60.0, 300.0,
                0.5 * math.sqrt(g), math.sqrt(g), 1.5 * math.sqrt(g)]:
        ref_cdf, ref_sf = mp_log_gamma_pair(g / 2, mp.mpf(tau) ** 2 / 2)
        got_sf = T.group_tail_prob(g, tau, log=True)
        got_cdf = T.group_support_recovery_prob(1, g, 0, tau, log=True)
        for got, ref in ((got_sf, ref_sf), (got_cdf, ref_cdf)):
            assert math.isfinite(got)
            if abs(ref) > 1e-280:
                worst = max(worst, rel_err(got, ref))
    assert worst <= 1e-12, worst


def test_group_g1_reduces_to_scalar_formulas():
    # chi2_1 tail at tau^2 equals 2 Phi_bar(tau).
    for tau in [0.0, 1e-8, 0.3, 1.0, 2.5, 8.0, 30.0]:
        assert T.group_tail_prob(1, tau) == pytest.approx(T.tail_prob(tau), rel=1e-13, abs=0)
        assert T.group_tail_prob(1, tau, log=True) == pytest.approx(
            T.tail_prob(tau, log=True), rel=1e-13, abs=1e-300)
        for G, q in [(10, 0), (10, 3), (1000, 10), (10**6, 10**6)]:
            assert T.group_support_recovery_prob(G, 1, q, tau, log=True) == pytest.approx(
                T.support_recovery_prob(G, q, tau, log=True), rel=1e-12, abs=1e-300)
    for G, q in [(10, 3), (1000, 10), (10**9, 1)]:
        assert T.group_optimal_threshold(G, 1, q) == pytest.approx(T.optimal_threshold(G, q),
                                                                  rel=1e-12)


def test_group_g2_closed_form_and_optimum():
    # chi2_2 sf(x) = exp(-x/2) exactly.
    for tau in [0.1, 1.0, 5.0, 40.0]:
        assert T.group_tail_prob(2, tau, log=True) == pytest.approx(-tau * tau / 2, rel=1e-13)
    G, g, q = 500, 4, 7
    tau_star = T.group_optimal_threshold(G, g, q)
    assert T.group_tail_prob(g, tau_star) == pytest.approx(q / G, rel=1e-12)
    best = T.group_support_recovery_prob(G, g, q, tau_star, log=True)
    for dt in (1e-3, -1e-3):
        assert T.group_support_recovery_prob(G, g, q, tau_star + dt, log=True) < best
    assert T.group_optimal_threshold(G, g, 0) == math.inf
    assert T.group_optimal_threshold(G, g, G) == 0.0
    assert T.group_support_recovery_prob(G, g, G, 0.0) == 1.0


# ---------------------------------------------------------------------------
# planted signal
# ---------------------------------------------------------------------------

def test_planted_tail_matches_mpmath():
    worst = 0.0
    for m in [0.0, 1e-6, 0.5, 1.0, 1.5, 3.0, 10.0, 40.0]:
        for a in [0.0, 1e-8, 1e-3, 0.5, 0.999, 1.0, 1.001, 2.0, 5.0, 10.0, 20.0, 50.0]:
            M, A = mp.mpf(m), mp.mpf(a)
            eps = mp.ncdf(A - M) - mp.ncdf(-A - M)          # P(|m + z| <= a)
            ref = mp.log1p(-eps) if eps < 0.5 else mp.log(mp.ncdf(M - A) + mp.ncdf(-(A + M)))
            got = T.planted_tail_prob(m, a, log=True)
            if abs(ref) < 1e-280:
                assert abs(got) < 1e-270
                continue
            worst = max(worst, rel_err(got, ref))
    assert worst <= 1e-12, worst


def test_planted_mu_zero_reduces_to_support_recovery():
    for d, k, t in [(10, 3, 1.0), (1000, 10, 2.5758), (10**9, 10, 40.0), (5, 0, 0.2)]:
        assert T.planted_recovery_prob(d, k, 0.0, t, log=True) == pytest.approx(
            T.support_recovery_prob(d, k, t, log=True), rel=1e-13)
    assert T.planted_optimal_threshold(1000, 10, 0.0) == pytest.approx(
        T.optimal_threshold(1000, 10), rel=1e-6)


def test_planted_monotone_in_mu_and_transition():
    # Falsified if a larger signal ever lowers the recovery probability at fixed t.
    mus = np.linspace(0.0, 12.0, 121)
    probs = T.planted_recovery_prob(1000, 10, mus, 3.0, log=True)
    assert np.all(np.diff(probs) >= 0)
    # Transition around the universal threshold sqrt(2 log d) ~ 3.72 (d = 1000):
    d, k = 1000, 10
    u = T.universal_threshold(d)
    best = [T.planted_recovery_prob(d, k, mu, T.planted_optimal_threshold(d, k, mu))
            for mu in (0.5 * u, 2.0 * u, 3.0 * u)]
    # measured: 1.5e-10, 0.978, 0.999997 (threshold) -- below, around and above
    assert best[0] < 1e-6 and 0.95 < best[1] < best[2] and best[2] > 0.99999
    # the numerical optimum is a maximum
    mu = 1.5 * u
    t_star = T.planted_optimal_threshold(d, k, mu)
    top = T.planted_recovery_prob(d, k, mu, t_star, log=True)
    for t in np.linspace(0.0, 15.0, 301):
        assert T.planted_recovery_prob(d, k, mu, t, log=True) <= top + 1e-12


def test_planted_tail_monte_carlo():
    # Seeded simulation of |mu + z| > t; two-sided exact binomial test at
    # alpha = 1e-4 per case (false-alarm rate 1e-4 per case, 3 cases).
    rng = np.random.default_rng(4242)
    n = 400_000
    for mu, t in [(0.0, 1.0), (1.0, 1.5), (3.0, 0.5)]:
        hits = int(np.count_nonzero(np.abs(mu + rng.standard_normal(n)) > t))
        assert sst.binom_test_two_sided(hits, n, T.planted_tail_prob(mu, t)) > 1e-4


def _topk_by_min_on_support(d, k, m):
    """Independent formula: integrate over the smallest on-support magnitude."""
    def f(u):
        f_on = sstats.norm.pdf(u - m) + sstats.norm.pdf(u + m)
        s_on = sstats.norm.sf(u - m) + sstats.norm.sf(u + m)
        return k * s_on ** (k - 1) * f_on * special.erf(u / SQRT2) ** (d - k)
    return integrate.quad(f, 0, m + 40, limit=500, epsabs=0, epsrel=1e-12,
                          points=[m, math.sqrt(2 * math.log(d))])[0]


@pytest.mark.parametrize("d,k", [(2, 1), (6, 2), (50, 5), (1000, 10)])
def test_planted_topk_recovery(d, k):
    # mu = 0: exactly 1 / C(d, k) by exchangeability.
    assert T.planted_topk_recovery_prob(d, k, 0.0) == pytest.approx(1 / math.comb(d, k), rel=1e-10)
    previous = 0.0
    for m in (0.5, 2.0, 5.0):
        got = T.planted_topk_recovery_prob(d, k, m)
        assert got == pytest.approx(_topk_by_min_on_support(d, k, m), rel=1e-8)
        assert got > previous                          # monotone in the signal
        previous = got
    # selecting the support by top-k is easier than by any fixed threshold
    for m in (1.0, 4.0):
        t_star = T.planted_optimal_threshold(d, k, m)
        assert T.planted_topk_recovery_prob(d, k, m) >= T.planted_recovery_prob(d, k, m, t_star)


def test_planted_topk_monte_carlo():
    # d = 5, k = 2, mu = 1: seeded simulation; exact two-sided binomial test
    # at alpha = 1e-4 (false-alarm rate 1e-4).
    rng = np.random.default_rng(777)
    n, d, k, mu = 200_000, 5, 2, 1.0
    w = rng.standard_normal((n, d))
    w[:, :k] += mu
    _, mask = ss.best_k_term(w, k, axis=1)
    hits = int(np.count_nonzero(mask[:, :k].all(axis=1)))
    assert sst.binom_test_two_sided(hits, n, T.planted_topk_recovery_prob(d, k, mu)) > 1e-4


def test_planted_topk_edges_and_log():
    assert T.planted_topk_recovery_prob(5, 0, 1.0) == 1.0
    assert T.planted_topk_recovery_prob(5, 5, 1.0) == 1.0
    # mu = 0 at extreme shapes: a peak far narrower than the quadrature grid
    # (k, d-k ~ 5e8) or sitting on the boundary u = 0 (d - k = 1).
    for d, k in [(10**9, 10), (10**9, 1), (10**9, 10**9 - 1), (10**9, 5 * 10**8),
                 (10**6, 999_000), (100, 99), (2, 1)]:
        got = T.planted_topk_recovery_prob(d, k, 0.0, log=True)
        assert got == pytest.approx(-T.log_binomial_coefficient(d, k), rel=1e-10)
    assert T.planted_topk_recovery_prob(10, 3, 100.0, log=True) <= 0.0


# ---------------------------------------------------------------------------
# vectorisation and return types
# ---------------------------------------------------------------------------

def test_broadcasting_equals_elementwise_calls():
    d = np.array([10, 100, 10**9])
    k = np.array([[0], [1], [5]])
    t = 2.0
    got = T.support_recovery_prob(d, k, t, log=True)
    assert got.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert got[i, j] == T.support_recovery_prob(int(d[j]), int(k[i, 0]), t, log=True)
    out = T.support_recovery_prob(10, 3, 1.0)
    assert isinstance(out, np.float64) and np.ndim(out) == 0
    assert isinstance(T.optimal_threshold(np.int32(10), np.uint8(3)), np.float64)
    arr = T.planted_optimal_threshold(np.array([100, 1000]), 3, np.array([[0.0], [5.0]]))
    assert arr.shape == (2, 2)
    assert arr[0, 1] == pytest.approx(T.optimal_threshold(1000, 3), rel=1e-6)
    assert T.power_law_best_k_error(np.array([10, 20]), 1, 1.0).shape == (2,)


# ---------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------

BAD_CALLS = [
    # (function, args, kwargs, exception, text that must appear in the message)
    (T.l1_phase_transition, (1.5,), {}, ValueError, "delta must be in [0, 1]"),
    (T.l1_phase_transition, (float("nan"),), {}, ValueError, "delta must be finite"),
    (T.l1_statistical_dimension, (1.5,), {}, ValueError, "rho_d must be in [0, 1]"),
    (T.l1_intrinsic_sd, (100, 101), {}, ValueError, "k must be in [0, d]"),
    (T.l1_recovery_prob, (100, 101, 10), {}, ValueError, "m must be in [0, d]"),
    (T.l1_recovery_prob, (2.0, 1, 1), {}, TypeError, "d must be an integer"),
    (T.l1_transition_band, (100, 0), {}, ValueError, "m must be in [2"),
    (T.group_best_q_relative_error, (1.5, 2), {}, ValueError, "density must be in [0"),
    (T.group_best_q_relative_error, (0.5, 0), {}, ValueError, "g must be in [1"),
    (T.support_recovery_prob, (0, 0, 1.0), {}, ValueError, "d must be in [1"),
    (T.support_recovery_prob, (10, 11, 1.0), {}, ValueError, "k must be in [0, d]"),
    (T.support_recovery_prob, (10, np.array([1, 11]), 1.0), {}, ValueError, "k must be in [0, d]"),
    (T.support_recovery_prob, (10, -1, 1.0), {}, ValueError, "k must be in [0"),
    (T.support_recovery_prob, (10, 2, -0.5), {}, ValueError, "t must be in [0"),
    (T.support_recovery_prob, (10, 2, np.array([1.0, -1.0])), {}, ValueError, "t must be in [0"),
    (T.support_recovery_prob, (10, 2, 1.0, 0.0), {}, ValueError, "sigma must be in (0"),
    (T.support_recovery_prob, (10, 2, math.nan), {}, ValueError, "t must be finite"),
    (T.support_recovery_prob, (10, 2, math.inf), {}, ValueError, "t must be finite"),
    (T.support_recovery_prob, (10.0, 2, 1.0), {}, TypeError, "d must be an integer"),
    (T.support_recovery_prob, (np.array([10.0]), 2, 1.0), {}, TypeError, "d must be an integer"),
    (T.support_recovery_prob, (10, 2.5, 1.0), {}, TypeError, "k must be an integer"),
    (T.support_recovery_prob, (True, 1, 1.0), {}, TypeError, "d must be an integer"),
    (T.support_recovery_prob, (10, 2, "1"), {}, TypeError, "t must be a real"),
    (T.support_recovery_prob, (10, 2, 1.0), {"log": 1}, TypeError, "log must be a bool"),
    (T.support_recovery_prob, (2**60, 2, 1.0), {}, ValueError, "d must be in [1"),
    (T.support_recovery_prob, (np.array([1, 2]), 1, np.array([1.0, 2.0, 3.0])), {}, ValueError,
     "do not broadcast"),
    (T.tail_prob, (-1.0,), {}, ValueError, "t must be in [0"),
    (T.tail_prob, (1.0, -2.0), {"log": True}, ValueError, "sigma must be in (0"),
    (T.log_binomial_coefficient, (3, 4), {}, ValueError, "k must be in [0, n]"),
    (T.binom_logpmf, (-1, 5, 0.5), {}, ValueError, "j must be in [0"),
    (T.binom_logpmf, (1, 5, 1.5), {}, ValueError, "p must be in [0, 1]"),
    (T.binom_logpmf, (1, 5), {}, TypeError, "exactly one of p and log_p"),
    (T.binom_logpmf, (1, 5, 0.5), {"log_p": -1.0}, TypeError, "exactly one of p and log_p"),
    (T.binom_logpmf, (1, 5), {"log_p": 0.5}, ValueError, "log_p must be in [-inf, 0]"),
    (T.binom_logpmf, (1, 5), {"log_p": -1.0, "log_1mp": -1.0}, ValueError, "must equal 1"),
    (T.selected_count_pmf, (-1, 5, 1.0), {}, ValueError, "j must be in [0"),
    (T.selected_count_pmf, (1, 0, 1.0), {}, ValueError, "d must be in [1"),
    (T.true_positive_pmf, (1, 5, 6, 1.0), {}, ValueError, "k must be in [0, d]"),
    (T.false_positive_pmf, (1.5, 5, 2, 1.0), {}, TypeError, "j must be an integer"),
    (T.optimal_threshold, (5, 6), {}, ValueError, "k must be in [0, d]"),
    (T.optimal_threshold, (5, 2, -1.0), {}, ValueError, "sigma must be in (0"),
    (T.max_support_recovery_prob, (0, 0), {}, ValueError, "d must be in [1"),
    (T.topk_selection_prob, (5, 6), {}, ValueError, "k must be in [0, d]"),
    (T.energy_kept, (-1.0,), {}, ValueError, "a must be in [0"),
    (T.energy_kept, (math.inf,), {}, ValueError, "a must be finite"),
    (T.universal_threshold, (0,), {}, ValueError, "d must be in [1"),
    (T.false_alarm_prob, (10, -1.0), {}, ValueError, "t must be in [0"),
    (T.gaussian_best_k_relative_error, (1.5,), {}, ValueError, "density must be in [0, 1]"),
    (T.gaussian_best_k_relative_error, (np.array([0.5, -0.1]),), {}, ValueError, "density must be in"),
    (T.compressible_best_k_bound, (-1.0, 2), {}, ValueError, "x_l1 must be in [0"),
    (T.compressible_best_k_bound, (1.0, 0), {}, ValueError, "s must be in [1"),
    (T.power_law_best_k_error, (10, 11, 1.0), {}, ValueError, "s must be in [0, n]"),
    (T.power_law_best_k_error, (10, 1, 0.0), {}, ValueError, "p must be in (0"),
    (T.power_law_best_k_rate, (0, 1.0), {}, ValueError, "s must be in [1"),
    (T.group_tail_prob, (0, 1.0), {}, ValueError, "g must be in [1"),
    (T.group_tail_prob, (2, -1.0), {}, ValueError, "tau must be in [0"),
    (T.group_support_recovery_prob, (5, 2, 6, 1.0), {}, ValueError, "q must be in [0, G]"),
    (T.group_support_recovery_prob, (0, 2, 0, 1.0), {}, ValueError, "G must be in [1"),
    (T.group_optimal_threshold, (5, 2, 6), {}, ValueError, "q must be in [0, G]"),
    (T.group_topq_selection_prob, (5, -1), {}, ValueError, "q must be in [0"),
    (T.planted_tail_prob, (-1.0, 1.0), {}, ValueError, "mu must be in [0"),
    (T.planted_recovery_prob, (10, 2, 1.0, -1.0), {}, ValueError, "t must be in [0"),
    (T.planted_recovery_prob, (10, 12, 1.0, 1.0), {}, ValueError, "k must be in [0, d]"),
    (T.planted_optimal_threshold, (10, 2, math.nan), {}, ValueError, "mu must be finite"),
    (T.planted_topk_recovery_prob, (10, 2, 1.0, 0.0), {}, ValueError, "sigma must be in (0"),
    # shapes that do not broadcast: a ValueError naming the arguments and their shapes
    (T.tail_prob, (np.ones(2), np.ones(3)), {}, ValueError, "t (2,), sigma (3,)"),
    (T.binom_logpmf, (np.ones(2, int), np.full(3, 5), 0.5), {}, ValueError, "j (2,), n (3,)"),
    (T.binom_logpmf, (np.ones(2, int), 5), {"log_p": np.full(3, -1.0)}, ValueError,
     "j (2,), n (), log_p (3,)"),
    (T.binom_logpmf, (1, 5), {"log_p": np.full(2, -1.0), "log_1mp": np.full(3, -0.5)},
     ValueError, "log_p (2,), log_1mp (3,)"),
    # a threshold beyond the float range where only a finite one makes sense
    (T.universal_threshold, (100, 1.7976931348623157e308), {}, ValueError,
     "sigma must be in (0, 5.9"),
    (T.best_k_relative_error_exact, (10, 11), {}, ValueError, "kept"),
    (T.best_k_relative_error_exact, (0, 0), {}, ValueError, "units"),
    (T.prob_random_mask_avoids, (T.SADDLE_MAX_D + 1, 1, 2), {}, ValueError, "d must be in"),
    (T.prob_random_mask_avoids, (8, 9, 2), {}, ValueError, "n_neg"),
    (T.prob_magnitude_mask_avoids, (8, 2, 4, 0.0), {}, ValueError, "off_scale"),
    (T.prob_magnitude_mask_avoids, (8, 2, 9, 1.0), {}, ValueError, "m"),
    (T.l1_face_dims, (np.zeros((2, 3)), 4), {}, ValueError, "k must be at most d"),
    (T.l1_face_dims, (np.zeros(3), 1), {}, ValueError, "g must be a 2-d array"),
    (T.l1_kinematic_prob, (10, 11, 2), {}, ValueError, "m must be at most d"),
    (T.l1_kinematic_prob, (10, 5, 6), {}, ValueError, "k must be at most m"),
    (T.l1_kinematic_prob, (10, 5, 2.0), {}, TypeError, "k must be an integer"),
    (T.l1_phase_transition_quadrature, (0.001,), {}, ValueError, "delta must be in [0.01"),
]


@pytest.mark.parametrize("func,args,kwargs,exc,text", BAD_CALLS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(BAD_CALLS)])
def test_bad_inputs_raise_naming_the_argument(func, args, kwargs, exc, text):
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    assert text in str(info.value)


def test_every_public_function_has_a_bad_input_case():
    covered = {c[0].__name__ for c in BAD_CALLS}
    assert set(T.__all__) <= covered, set(T.__all__) - covered


@pytest.mark.parametrize("g", [1, 2, 4, 10])
@pytest.mark.parametrize("density", [0.01, 0.1, 0.5, 0.9])
def test_group_best_q_relative_error_is_the_chi2_energy_integral(g, density):
    """Relative error = 1 - E[X; X > x*]/g with X ~ chi2_g and P(X > x*) = density.

    Falsified if the identity x f_g(x) = g f_{g+2}(x) were misapplied (wrong
    degrees of freedom) or the quantile taken on the wrong side.
    """
    x_star = sstats.chi2(g).isf(density)
    kept, _ = integrate.quad(lambda x: x * sstats.chi2(g).pdf(x), x_star, np.inf,
                             epsabs=1e-13, epsrel=1e-12)
    expected = 1.0 - kept / g
    got = float(T.group_best_q_relative_error(density, g))
    assert abs(got - expected) <= 1e-9
    if g == 1:
        assert abs(got - float(T.gaussian_best_k_relative_error(density))) <= 1e-12


# ---------------------------------------------------------------------------
# extreme but valid scales: the limiting values, without floating-point warnings
# ---------------------------------------------------------------------------

TINY, HUGE = 5e-324, 1.7976931348623157e308

# (function, args, kwargs, exact limit).  Each ratio t/sigma, mu/sigma, tau/sigma or
# 1/p here lies beyond the float range (or below it); falsified by a NaN, a wrong
# limit, or any RuntimeWarning (turned into an error below).
LIMITS = [
    (T.tail_prob, (1.0, TINY), {}, 0.0),
    (T.tail_prob, (1.0, TINY), {"log": True}, -math.inf),
    (T.tail_prob, (TINY, 1e308), {}, 1.0),                 # t/sigma underflows to 0
    (T.tail_prob, (1e200,), {"log": True}, -math.inf),
    (T.support_recovery_prob, (100, 5, 1.0, TINY), {}, 0.0),
    (T.support_recovery_prob, (100, 0, 1.0, TINY), {}, 1.0),
    (T.selected_count_pmf, (0, 10, 1.0, TINY), {}, 1.0),
    (T.false_positive_pmf, (1, 10, 2, 1.0, TINY), {"log": True}, -math.inf),
    (T.false_alarm_prob, (100, 3.0, 2.2e-309), {}, 0.0),
    (T.energy_kept, (1e200,), {}, 0.0),
    (T.energy_kept, (HUGE,), {}, 0.0),
    (T.optimal_threshold, (100, 5, HUGE), {}, math.inf),  # t* above the float range
    (T.power_law_best_k_rate, (10, TINY), {}, 0.0),       # s^-inf
    (T.power_law_best_k_rate, (1, TINY), {}, 1.0),        # 1^-inf
    (T.power_law_best_k_error, (10**6, 10, 1e-300), {}, 0.0),
    (T.power_law_best_k_error, (10**6, 0, 1e-300), {}, 1.0),  # only the term 1^-r is left
    (T.group_tail_prob, (4, 2.0, 1e-200), {}, 0.0),
    (T.group_tail_prob, (4, 1e200, 1.0), {"log": True}, -math.inf),
    (T.group_tail_prob, (4, 2.0, TINY), {"log": True}, -math.inf),
    (T.group_support_recovery_prob, (20, 4, 2, 3.0, 1e-300), {}, 0.0),
    (T.group_support_recovery_prob, (20, 4, 0, 3.0, 1e-300), {}, 1.0),
    (T.group_optimal_threshold, (20, 4, 2, HUGE), {}, math.inf),
    (T.planted_tail_prob, (2.0, 1.0, TINY), {}, 1.0),      # mu > t: always survives
    (T.planted_tail_prob, (1.0, 2.0, TINY), {}, 0.0),      # mu < t: never survives
    (T.planted_tail_prob, (1.0, 1.0, TINY), {}, 0.5),      # mu = t: P(z > 0)
    (T.planted_tail_prob, (HUGE, 1.0, 1e-300), {"log": True}, 0.0),
    (T.planted_tail_prob, (0.0, HUGE, 1e-300), {"log": True}, -math.inf),
    (T.planted_recovery_prob, (100, 5, 3.0, 2.0, TINY), {}, 1.0),
    (T.planted_recovery_prob, (100, 5, 2.0, 3.0, TINY), {}, 0.0),
    (T.planted_optimal_threshold, (100, 5, 3.0, 1e308), {}, math.inf),
    (T.planted_optimal_threshold, (100, 5, 3.0, TINY), {}, 1.5),   # t* -> mu/2
    (T.planted_optimal_threshold, (100, 5, HUGE, 1.0), {}, HUGE / 2),
    (T.planted_topk_recovery_prob, (100, 5, 3.0, 1e-50), {}, 1.0),
    (T.planted_topk_recovery_prob, (100, 5, 1e100, 1.0), {"log": True}, 0.0),
    (T.planted_topk_recovery_prob, (100, 5, HUGE, TINY), {}, 1.0),
]


@pytest.mark.parametrize("func,args,kwargs,expected", LIMITS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(LIMITS)])
def test_extreme_scales_give_the_limit_quietly(func, args, kwargs, expected):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = float(func(*args, **kwargs))
    assert got == expected


def test_group_log_tail_for_huge_tau_matches_mpmath():
    # log chi2_4.sf(z^2) up to z^2/2 near the float maximum, then -inf once z^2/2
    # overflows (the log tail is below -1.7e308 there).  Falsified by NaN (the old
    # continued fraction at x = inf) or a relative error above 1e-12.
    for z in (1e5, 1e50, 1e150, 1.3e154, 1.8e154):
        x = mp.mpf(z) ** 2 / 2
        ref = mp.log(mp.gammainc(2, x, mp.inf, regularized=True))
        got = float(T.group_tail_prob(4, z, log=True))
        assert abs(got - float(ref)) <= 1e-12 * abs(float(ref))
    assert T.group_tail_prob(4, 1.9e154, log=True) == -math.inf
    assert T.group_tail_prob(np.array([4, 1]), 1e155, log=True).tolist() == [-math.inf] * 2


@pytest.mark.parametrize("d,k", [(100, 5), (1000, 10), (10, 9), (10**9, 10)])
def test_planted_optimal_threshold_strong_signal_closed_form(d, k):
    # Above mu/sigma = 30 the maximiser is the stationary point m/2 + log(2(d-k)/k)/m.
    # Falsified if some threshold on a fine grid beats it (log P is ~ -1e-100 here,
    # still resolved in float64), or if it jumps away from the numerical search at the
    # switch point.
    L = math.log(2 * (d - k) / k)
    m = 35.0
    t_star = float(T.planted_optimal_threshold(d, k, m))
    assert t_star == m / 2 + L / m
    top = float(T.planted_recovery_prob(d, k, m, t_star, log=True))
    grid = np.linspace(m / 2 - 2.0, m / 2 + 2.0, 2001)
    values = T.planted_recovery_prob(d, k, m, grid, log=True)
    assert np.all(values <= top * (1 - 1e-9))   # top < 0: a slightly less negative bound
    below = float(T.planted_optimal_threshold(d, k, np.nextafter(30.0, 0.0)))
    above = float(T.planted_optimal_threshold(d, k, np.nextafter(30.0, 99.0)))
    assert abs(below - above) <= 1e-6
    # in units: t* = mu/2 + sigma L/m, for any sigma
    assert T.planted_optimal_threshold(d, k, 350.0, 10.0) == pytest.approx(
        10.0 * (35.0 / 2 + L / 35.0), rel=1e-15)


def test_planted_topk_strong_signal_is_exactly_one():
    # 1 - P <= 4 k (d-k) Phi_bar(m/2) < 1e-17 from m ~ 18.7 (d=100, k=5): log P = 0
    # there, continuous with the quadrature just below (falsified by a jump).
    assert T.planted_topk_recovery_prob(100, 5, 18.6, log=True) == pytest.approx(0.0, abs=1e-16)
    assert T.planted_topk_recovery_prob(100, 5, 18.7, log=True) == 0.0
    assert T.planted_topk_recovery_prob(100, 5, 1e16) == 1.0
