"""Monte Carlo of support recovery: validation, determinism, exact counting, laws.

The counting code is checked exactly against a brute-force set computation on
the same samples (the Philox stream can be regenerated); the sampling is
checked statistically against the closed forms, computed here directly with
scipy.stats.  Every statistical assertion uses a fixed seed and a two-sided
test at alpha = 1e-4 (false-alarm rate 1e-4 per assertion).
"""

from __future__ import annotations

import math
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from sparsesim.stats import chisquare_gof
import sparsesim.sim.support_recovery as sr
from sparsesim.backend import cupy_available
from sparsesim.kernels.philox import philox_key, philox_normals, philox_signs
from sparsesim.sim.support_recovery import (
    DEFAULTS,
    HISTOGRAM_MAX_UNITS,
    PARAMS,
    group_support_recovery,
    group_support_recovery_grid,
    hist_from_str,
    hist_to_str,
    rule_threshold,
    run_cell,
    support_recovery,
    support_recovery_grid,
    valid_cell,
)

ALPHA = 1e-4


def chisq_pvalue(observed, probs, min_expected=5.0):
    """Chi-square goodness of fit (sparsesim.stats, pooled to expected >= 5); 1.0 if untestable."""
    probs = np.asarray(probs, dtype=float)
    _, _, pv = chisquare_gof(np.asarray(observed), probs / probs.sum(), min_expected=min_expected)
    return 1.0 if np.isnan(pv) else float(pv)


def q_of(t, sigma=1.0):
    return float(special.erfc(t / (sigma * math.sqrt(2.0))))


# --------------------------------------------------------------------------- validation

BAD_ARGS = [
    (dict(d=0), ValueError, "d"),
    (dict(d=2.0), TypeError, "d"),
    (dict(d=True), TypeError, "d"),
    (dict(k=-1), ValueError, "k"),
    (dict(k=9), ValueError, "k"),
    (dict(k=1.5), TypeError, "k"),
    (dict(t=-0.1), ValueError, "t"),
    (dict(t=float("nan")), ValueError, "t"),
    (dict(t=float("inf")), ValueError, "t"),
    (dict(t="1"), TypeError, "t"),
    (dict(sigma=0.0), ValueError, "sigma"),
    (dict(sigma=-1.0), ValueError, "sigma"),
    (dict(sigma=float("inf")), ValueError, "sigma"),
    (dict(mu=-1.0), ValueError, "mu"),
    (dict(trials=0), ValueError, "trials"),
    (dict(trials=10.0), TypeError, "trials"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(backend="gpu"), ValueError, "backend"),
    (dict(method="fast"), ValueError, "method"),
    (dict(chunk_elems=0), ValueError, "chunk_elems"),
]


@pytest.mark.parametrize("bad,exc,name", BAD_ARGS)
def test_invalid_arguments_are_rejected_before_any_work(monkeypatch, bad, exc, name):
    # A validation error must come first and name the argument; if sampling
    # started, the patched engine would raise AssertionError instead.
    def no_work(*args, **kwargs):
        raise AssertionError("sampling started before validation")

    monkeypatch.setattr(sr.engine, "_simulate", no_work)
    args = dict(d=8, k=2, t=1.0, trials=10 ** 12, seed=0, backend="numpy")
    args.update(bad)
    with pytest.raises(exc, match=name):
        support_recovery(args.pop("d"), args.pop("k"), args.pop("t"), **args)


@pytest.mark.parametrize("bad,exc,name", [
    (dict(n_groups=0), ValueError, "n_groups"),
    (dict(group_size=0), ValueError, "group_size"),
    (dict(q=5), ValueError, "q"),
    (dict(tau=-1.0), ValueError, "tau"),
    (dict(trials=-3), ValueError, "trials"),
])
def test_group_arguments_are_validated(monkeypatch, bad, exc, name):
    monkeypatch.setattr(sr.engine, "_simulate", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    args = dict(n_groups=4, group_size=3, q=1, tau=2.0, trials=10, seed=0, backend="numpy")
    args.update(bad)
    with pytest.raises(exc, match=name):
        group_support_recovery(args.pop("n_groups"), args.pop("group_size"), args.pop("q"),
                               args.pop("tau"), **args)


def test_threshold_grid_is_validated():
    with pytest.raises(ValueError, match="t_values"):
        support_recovery_grid(4, 1, [], trials=5, seed=0, backend="numpy")
    with pytest.raises(ValueError, match=r"t_values\[1\]"):
        support_recovery_grid(4, 1, [1.0, -2.0], trials=5, seed=0, backend="numpy")
    with pytest.raises(TypeError, match="t_values"):
        support_recovery_grid(4, 1, 1.0, trials=5, seed=0, backend="numpy")


def test_fused_method_needs_the_gpu_backend():
    with pytest.raises(ValueError, match="fused"):
        support_recovery(4, 1, 1.0, trials=5, seed=0, backend="numpy", method="fused")


@pytest.mark.skipif(cupy_available(), reason="checks the message on machines without a GPU")
def test_cupy_backend_without_device_raises_runtime_error():
    with pytest.raises(RuntimeError, match="CuPy"):
        support_recovery(4, 1, 1.0, trials=5, seed=0, backend="cupy")


# --------------------------------------------------------------------------- determinism

@pytest.mark.parametrize("method", ["array", "philox"])
def test_counts_are_fixed_by_the_seed_and_independent_of_chunking(method):
    kw = dict(trials=9_000, backend="numpy", method=method)
    base = support_recovery(48, 3, 1.7, seed=21, **kw)
    assert base == support_recovery(48, 3, 1.7, seed=21, **kw)
    # chunk sizes: a few rows (not a multiple of d) / all trials / more; for
    # the array method also the minimum (one stream block per chunk)
    for chunk in (4801, 48 * 9_000, 10 ** 7) + ((1,) if method == "array" else ()):
        assert support_recovery(48, 3, 1.7, seed=21, chunk_elems=chunk, **kw) == base
    assert support_recovery(48, 3, 1.7, seed=22, **kw) != base  # the seed matters


def test_array_method_spans_several_stream_blocks_identically():
    # d = 1 -> 2**18 trials per stream block; 600,000 trials use 3 blocks, and
    # chunking them one block or all blocks at a time must not matter.
    kw = dict(trials=600_000, seed=3, backend="numpy", method="array")
    a = support_recovery(1, 1, 0.5, chunk_elems=1, **kw)
    b = support_recovery(1, 1, 0.5, chunk_elems=10 ** 7, **kw)
    assert a == b and a.trials == 600_000


def test_seed_sequence_seed_is_not_mutated_and_reproduces():
    ss = np.random.SeedSequence(7)
    r1 = support_recovery(10, 2, 1.0, trials=3000, seed=ss, backend="numpy")
    assert ss.n_children_spawned == 0
    r2 = support_recovery(10, 2, 1.0, trials=3000, seed=np.random.SeedSequence(7),
                          backend="numpy")
    assert r1 == r2


@pytest.mark.parametrize("method", ["array", "philox"])
def test_grid_entries_equal_single_threshold_runs(method):
    ts = [2.0, 0.0, 1.1, 1.1]
    grid = support_recovery_grid(20, 2, ts, trials=4000, seed=5, backend="numpy", method=method)
    assert [r.t for r in grid] == ts
    for r, t in zip(grid, ts):
        assert r == support_recovery(20, 2, t, trials=4000, seed=5, backend="numpy",
                                     method=method)
    assert grid[2] == grid[3] and grid[1].fp_sum == 18 * 4000  # t = 0 keeps every |w| > 0


def test_results_are_frozen():
    r = support_recovery(6, 1, 1.0, trials=100, seed=0, backend="numpy")
    with pytest.raises(AttributeError):
        r.hits = 0  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.tp_hist[0] = 5


def test_numpy_memory_stays_bounded():
    # 200,000 trials at d = 64 would need 102 MB at once; the chunked engine
    # must stay far below (default chunk 2**18 weights = 2 MiB).
    tracemalloc.start()
    try:
        support_recovery(64, 2, 2.0, trials=200_000, seed=0, backend="numpy")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2 ** 20


# --------------------------------------------------------------------------- exact counting

def brute_force(mag, k, thresholds):
    """Per-trial set arithmetic on magnitudes (trials, n_units): the definition."""
    n = mag.shape[1]
    support = set(range(k))
    out = []
    topk = 0
    for row in mag:
        if k in (0, n) or min(row[:k]) > max(row[k:]):
            topk += 1
    for t in thresholds:
        hits = fp_sum = fp_sq = 0
        tp_hist = np.zeros(k + 1, np.int64)
        size_hist = np.zeros(n + 1, np.int64)
        fp_hist = np.zeros(n - k + 1, np.int64)
        for row in mag:
            sel = {i for i in range(n) if row[i] > t}
            tp, fp = len(sel & support), len(sel - support)
            hits += sel == support
            fp_sum += fp
            fp_sq += fp * fp
            tp_hist[tp] += 1
            size_hist[len(sel)] += 1
            fp_hist[fp] += 1
        out.append(dict(hits=hits, fp_sum=fp_sum, fp_sumsq=fp_sq, tp_hist=tp_hist.tolist(),
                        size_hist=size_hist.tolist(), fp_hist=fp_hist.tolist()))
    return topk, out


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 12), data=st.data(), seed=st.integers(0, 2 ** 32 - 1),
       trials=st.integers(1, 60), sigma=st.sampled_from([1.0, 0.5, 3.0]),
       mu=st.sampled_from([0.0, 1.5]))
def test_counts_equal_brute_force_on_the_same_samples(d, data, seed, trials, sigma, mu):
    # method="philox" regenerates exactly the samples below; every counter must
    # equal the set-based definition.  Falsified by any off-by-one in the
    # support slicing, a >= instead of >, or a histogram mix-up.
    k = data.draw(st.integers(0, d))
    ts = data.draw(st.lists(st.floats(0.0, 3.0), min_size=1, max_size=4))
    got = support_recovery_grid(d, k, ts, sigma=sigma, mu=mu, trials=trials, seed=seed,
                                backend="numpy", method="philox")
    key = philox_key(seed)
    w = sigma * philox_normals(trials, d, key=key)
    if mu and k:
        w[:, :k] = w[:, :k] + mu * philox_signs(trials, k, key=key)
    topk, ref = brute_force(np.abs(w), k, ts)
    for r, e in zip(got, ref):
        assert r.topk_hits == topk
        assert r.counts() == dict(trials=trials, topk_hits=topk, **e)


@settings(max_examples=15, deadline=None)
@given(n_groups=st.integers(1, 6), g=st.integers(1, 4), data=st.data(),
       seed=st.integers(0, 2 ** 32 - 1), trials=st.integers(1, 40))
def test_group_counts_equal_brute_force(n_groups, g, data, seed, trials):
    q = data.draw(st.integers(0, n_groups))
    taus = data.draw(st.lists(st.floats(0.0, 4.0), min_size=1, max_size=3))
    got = group_support_recovery_grid(n_groups, g, q, taus, trials=trials, seed=seed,
                                      backend="numpy", method="philox")
    w = philox_normals(trials, n_groups * g, key=philox_key(seed))
    norms = np.sqrt((w.reshape(trials, n_groups, g) ** 2).sum(axis=-1))
    topq, ref = brute_force(norms, q, taus)
    for r, e in zip(got, ref):
        # A norm within rounding of tau could flip between summation orders;
        # the property is stated away from such ties.
        if np.min(np.abs(norms - r.tau)) < 1e-12:
            continue
        assert r.topq_hits == topq
        assert (r.hits, r.fp_sum, r.fp_sumsq) == (e["hits"], e["fp_sum"], e["fp_sumsq"])
        assert r.tp_hist.tolist() == e["tp_hist"]
        assert r.count_hist.tolist() == e["size_hist"]
        assert r.fp_hist.tolist() == e["fp_hist"]


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 40), data=st.data(), seed=st.integers(0, 10 ** 6),
       method=st.sampled_from(["array", "philox"]))
def test_internal_consistency_of_counters(d, data, seed, method):
    k = data.draw(st.integers(0, d))
    ts = sorted(data.draw(st.lists(st.floats(0.0, 4.0), min_size=1, max_size=3)))
    rs = support_recovery_grid(d, k, ts, trials=500, seed=seed, backend="numpy", method=method)
    for r in rs:
        assert r.size_hist.shape == (d + 1,) and r.tp_hist.shape == (k + 1,)
        assert r.fp_hist.shape == (d - k + 1,)
        assert r.size_hist.sum() == r.tp_hist.sum() == r.fp_hist.sum() == r.trials == 500
        fp_vals = np.arange(d - k + 1)
        assert r.fp_sum == int(fp_vals @ r.fp_hist)
        assert r.fp_sumsq == int((fp_vals ** 2) @ r.fp_hist)
        assert int(np.arange(d + 1) @ r.size_hist) == r.tp_sum + r.fp_sum
        # an exact hit has k true and 0 false positives
        assert r.hits <= min(r.tp_hist[k], r.fp_hist[0], r.size_hist[k])
        assert 0 <= r.topk_hits <= r.trials
        if k in (0, d):
            assert r.topk_hits == r.trials
    for lo, hi in zip(rs, rs[1:]):  # same samples: a larger t never selects more
        assert hi.fp_sum <= lo.fp_sum and hi.tp_sum <= lo.tp_sum


def test_edge_cases_k_zero_and_k_equal_d():
    # k = 0: a hit is an empty selection, (1-q)^d; k = d: every |w| > t, q^d.
    r0 = support_recovery(5, 0, 1.0, trials=20_000, seed=1, backend="numpy")
    assert r0.hits == r0.size_hist[0] and r0.topk_hits == r0.trials
    rd = support_recovery(5, 5, 1.0, trials=20_000, seed=1, backend="numpy")
    assert rd.hits == rd.size_hist[5] and rd.fp_sum == 0
    q = q_of(1.0)
    assert stats.binomtest(r0.hits, r0.trials, (1 - q) ** 5).pvalue > ALPHA
    assert stats.binomtest(rd.hits, rd.trials, q ** 5).pvalue > ALPHA


def test_histograms_are_dropped_above_the_cap():
    d = HISTOGRAM_MAX_UNITS + 1
    r = support_recovery(d, 1, 4.0, trials=2, seed=0, backend="numpy")
    assert r.size_hist is None and r.fp_hist is None
    assert r.tp_hist.shape == (2,) and r.tp_hist.sum() == 2


# --------------------------------------------------------------------------- laws

@pytest.mark.parametrize("method", ["array", "philox"])
@pytest.mark.parametrize("d,k,t,sigma,trials", [
    (16, 1, 1.8627, 1.0, 200_000),   # the optimal threshold for (16, 1)
    (12, 3, 2.4, 2.0, 100_000),      # sigma scales the threshold
    (64, 2, 2.5, 1.0, 40_000),
])
def test_laws_of_the_exact_variant(method, d, k, t, sigma, trials):
    # hits ~ Bin(n, q^k (1-q)^(d-k)); |S_hat| ~ Bin(d, q); TP ~ Bin(k, q);
    # FP ~ Bin(d-k, q); top-k hits ~ Bin(n, 1/C(d,k)); and, given |S_hat| = k,
    # S_hat is uniform: hits ~ Bin(size_hist[k], 1/C(d,k)).  Six tests at 1e-4.
    r = support_recovery(d, k, t, sigma=sigma, trials=trials, seed=2026, backend="numpy",
                         method=method)
    q = q_of(t, sigma)
    assert stats.binomtest(r.hits, trials, q ** k * (1 - q) ** (d - k)).pvalue > ALPHA
    assert chisq_pvalue(r.size_hist, stats.binom(d, q).pmf(np.arange(d + 1))) > ALPHA
    assert chisq_pvalue(r.tp_hist, stats.binom(k, q).pmf(np.arange(k + 1))) > ALPHA
    assert chisq_pvalue(r.fp_hist, stats.binom(d - k, q).pmf(np.arange(d - k + 1))) > ALPHA
    inv_binom = 1.0 / math.comb(d, k)
    assert stats.binomtest(r.topk_hits, trials, inv_binom).pvalue > ALPHA
    assert stats.binomtest(r.hits, int(r.size_hist[k]), inv_binom).pvalue > ALPHA


@pytest.mark.parametrize("method", ["array", "philox"])
def test_universal_threshold_false_alarm_matches_published_value(method):
    # Donoho-Johnstone: at t = sqrt(2 log d), P(any |w_i| > t) = 0.214 for d = 100
    # (REFERENCES.md).  The closed form reproduces the published digits, and the
    # simulated no-false-alarm count follows Bin(n, (1-q)^d) (test at 1e-4).
    d = 100
    t = math.sqrt(2 * math.log(d))
    q = q_of(t)
    assert round(1 - (1 - q) ** d, 3) == 0.214
    r = support_recovery(d, 0, t, trials=40_000, seed=7, backend="numpy", method=method)
    assert stats.binomtest(r.hits, r.trials, (1 - q) ** d).pvalue > ALPHA


@pytest.mark.parametrize("method", ["array", "philox"])
def test_laws_of_the_planted_variant(method):
    # With |x_i| = mu on S: TP ~ Bin(k, p1), p1 = P(|mu + sigma z| > t); FP ~ Bin(d-k, q);
    # hits ~ Bin(n, p1^k (1-q)^(d-k)).  Three tests at 1e-4.
    d, k, t, mu, sigma, n = 32, 4, 2.6, 3.0, 1.1, 100_000
    r = support_recovery(d, k, t, sigma=sigma, mu=mu, trials=n, seed=99, backend="numpy",
                         method=method)
    p1 = float(stats.norm.sf((t - mu) / sigma) + stats.norm.cdf((-t - mu) / sigma))
    q = q_of(t, sigma)
    assert chisq_pvalue(r.tp_hist, stats.binom(k, p1).pmf(np.arange(k + 1))) > ALPHA
    assert chisq_pvalue(r.fp_hist, stats.binom(d - k, q).pmf(np.arange(d - k + 1))) > ALPHA
    assert stats.binomtest(r.hits, n, p1 ** k * (1 - q) ** (d - k)).pvalue > ALPHA


def test_planted_signs_are_random_but_do_not_change_the_law():
    # The signs are drawn (array method: after the normals of a block), so the
    # noise is shared with mu = 0 and only the support's weights move.
    a = support_recovery(8, 2, 1.0, mu=5.0, trials=20_000, seed=4, backend="numpy")
    b = support_recovery(8, 2, 1.0, mu=0.0, trials=20_000, seed=4, backend="numpy")
    assert a.fp_hist.tolist() == b.fp_hist.tolist()  # identical noise off the support
    assert a.tp_hist[2] > b.tp_hist[2]


@pytest.mark.parametrize("method", ["array", "philox"])
def test_laws_of_the_group_variant(method):
    # ||w_G||^2 / sigma^2 ~ chi2_g: the number of surviving groups ~ Bin(G, s),
    # s = chi2_g.sf(tau^2/sigma^2); hits ~ Bin(n, s^q (1-s)^(G-q)); the q largest
    # norms are the first q groups with probability 1/C(G, q).  Three tests at 1e-4.
    G, g, q, sigma, n = 10, 4, 2, 1.5, 60_000
    tau = sigma * math.sqrt(stats.chi2.isf(q / G, g))  # the optimal group threshold
    r = group_support_recovery(G, g, q, tau, sigma=sigma, trials=n, seed=31, backend="numpy",
                               method=method)
    s = float(stats.chi2.sf((tau / sigma) ** 2, g))
    assert chisq_pvalue(r.count_hist, stats.binom(G, s).pmf(np.arange(G + 1))) > ALPHA
    assert stats.binomtest(r.hits, n, s ** q * (1 - s) ** (G - q)).pvalue > ALPHA
    assert stats.binomtest(r.topq_hits, n, 1 / math.comb(G, q)).pvalue > ALPHA


def test_group_size_one_is_the_exact_variant():
    # Groups of one weight have norm |w|: identical counts on identical samples.
    a = group_support_recovery(9, 1, 2, 1.3, trials=5000, seed=8, backend="numpy")
    b = support_recovery(9, 2, 1.3, trials=5000, seed=8, backend="numpy")
    assert (a.hits, a.topq_hits, a.fp_sum, a.fp_sumsq) == (b.hits, b.topk_hits, b.fp_sum,
                                                           b.fp_sumsq)
    assert a.count_hist.tolist() == b.size_hist.tolist()


# --------------------------------------------------------------------------- sweep contract

def test_rule_thresholds_match_scipy():
    assert rule_threshold("exact", "optimal", 1000, 10) == pytest.approx(
        stats.norm.isf(10 / 2000), rel=1e-12)
    assert rule_threshold("exact", "universal", 10 ** 4, 3, sigma=2.0) == pytest.approx(
        2.0 * math.sqrt(2 * math.log(10 ** 4)), rel=1e-12)
    assert rule_threshold("group", "optimal", 50, 5, g=8) == pytest.approx(
        math.sqrt(stats.chi2.isf(0.1, 8)), rel=1e-12)
    assert rule_threshold("planted", "sigma", 5, 1, sigma=0.3) == 0.3
    # at the optimal threshold the selection probability is k/d
    assert q_of(rule_threshold("exact", "optimal", 64, 4)) == pytest.approx(4 / 64, rel=1e-12)
    with pytest.raises(ValueError):
        rule_threshold("group", "universal", 10, 1, g=3)
    with pytest.raises(ValueError):
        rule_threshold("exact", "optimal", 10, 0)


def test_valid_cell_filters_the_cartesian_grid():
    base = dict(DEFAULTS, d=16, k=2, trials=10)
    assert valid_cell(base)
    assert not valid_cell(dict(base, k=17))
    assert not valid_cell(dict(base, g=4))                         # exact with groups
    assert valid_cell(dict(base, kind="group", g=4))
    assert not valid_cell(dict(base, kind="group"))                # group with g = 1
    assert not valid_cell(dict(base, kind="group", g=4, t_rule="universal"))
    assert not valid_cell(dict(base, mu_over_sigma=3.0))           # exact with a signal
    assert not valid_cell(dict(base, kind="planted", mu_over_sigma=3.0))  # optimal: noise only
    assert valid_cell(dict(base, kind="planted", mu_over_sigma=3.0, t_rule="universal"))
    assert not valid_cell(dict(base, k=0))                         # optimal needs k >= 1
    with pytest.raises(ValueError, match="kind"):
        valid_cell(dict(base, kind="exakt"))
    with pytest.raises(ValueError, match="t_rule"):
        valid_cell(dict(base, t_rule="best"))


def test_hist_strings_round_trip():
    h = np.array([0, 5, 0, 0, 7, 1])
    assert hist_from_str(hist_to_str(h), 6).tolist() == h.tolist()
    assert hist_to_str(None) == "" and hist_from_str("", 3).tolist() == [0, 0, 0]


@pytest.mark.parametrize("kind,extra", [
    ("exact", {}),
    ("planted", {"mu_over_sigma": 3.0, "t_rule": "universal"}),
    ("group", {"g": 3}),
])
def test_run_cell_rows_are_flat_and_consistent(kind, extra):
    params = dict(DEFAULTS, kind=kind, d=12, k=2, trials=5000, max_samples=24_000, **extra)
    assert set(params) == set(PARAMS) and valid_cell(params)
    ctx = SimpleNamespace(seed=np.random.SeedSequence([2026, 1]), sweep_seed=2026,
                          backend="numpy", progress=lambda s: None)
    row = run_cell(params, ctx)
    assert all(isinstance(v, (int, float, str, bool)) for v in row.values())
    assert not set(row) & {"backend", "device", "trials", "method"}  # runner-owned / params
    g = params["g"]
    assert row["n_trials"] == min(5000, 24_000 // (12 * g))
    size = hist_from_str(row["size_hist"], 13)
    tp = hist_from_str(row["tp_hist"], 3)
    fp = hist_from_str(row["fp_hist"], 11)
    assert size.sum() == tp.sum() == fp.sum() == row["n_trials"]
    assert row["tp_sum"] == int(np.arange(3) @ tp) and row["fp_sum"] == int(np.arange(11) @ fp)
    assert row["hits"] <= row["n_trials"] and row["method_used"] == "array"
    again = run_cell(params, SimpleNamespace(**vars(ctx)))
    assert again == row  # the cell seed fixes the row


def test_sweep_toml_loads_and_quick_cells_are_valid():
    from sparsesim.sweep.config import load_config

    full = load_config("support_recovery")
    quick = load_config("support_recovery", quick=True)
    kinds = {c["kind"] for c in full.cells}
    assert kinds == {"exact", "planted", "group"}
    assert all(valid_cell(c) for c in full.cells)
    assert len(quick.cells) < len(full.cells)
    # every quick cell is cheap: the weight budget caps the work
    assert all(min(c["trials"], c["max_samples"] // (c["d"] * c["g"])) * c["d"] * c["g"]
               <= 2 ** 20 for c in quick.cells)


# --------------------------------------------------------------------------- argument checks

@pytest.mark.parametrize("hist, err", [
    ("3", TypeError), (np.array(3), ValueError), (np.array([[1, 2]]), ValueError),
    (np.array([1, -2]), ValueError), (np.array([1.5]), ValueError),
    (np.array([1j]), TypeError), ([1, [2]], TypeError),
])
def test_hist_to_str_rejects_what_is_not_a_histogram(hist, err):
    with pytest.raises(err, match="hist"):
        hist_to_str(hist)


@pytest.mark.parametrize("text, length, name", [
    ("1:12,3:3", 0, "length"), ("9:1", 5, "length"), ("0", 5, "text"), ("x:1", 5, "text"),
    ("1:-2", 5, "text"), ("1:1,1:2", 5, "text"), ("1:2,", 5, "text"), (None, 5, "text"),
    ("", 2 ** 62, "length"),
])
def test_hist_from_str_rejects_malformed_text(text, length, name):
    with pytest.raises((TypeError, ValueError), match=name):
        hist_from_str(text, length)


def test_hist_round_trip_accepts_lists_and_float_counts():
    assert hist_to_str([0, 2, 0]) == "1:2" and hist_to_str(np.array([0.0, 3.0])) == "1:3"
    assert hist_from_str("0:1,4:2", 5).tolist() == [1, 0, 0, 0, 2]


@pytest.mark.parametrize("args, kwargs, name", [
    (("exact", "optimal", None, 1), {}, "^d must be an integer"),
    (("exact", "optimal", 16, 17), {}, "k"),
    (("group", "optimal", 16, 1), {"g": 0}, "g"),
    (("exact", "sigma", 16, 1), {"sigma": -1.0}, "sigma"),
    (("exact", "optimal", 16, 1), {"sigma": 1.7e308}, "sigma"),
])
def test_rule_threshold_validates_its_arguments(args, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        rule_threshold(*args, **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    ({"trials": sr.MAX_TRIALS + 1}, "trials"),
    ({"d": sr.MAX_TRIAL_WEIGHTS + 1}, "^d must be in"),
    ({"sigma": 4e307}, "sigma"),
    ({"sigma": 1e-300}, "sigma"),
    ({"mu": 1e200}, "mu"),
])
def test_support_recovery_limits_are_named(kwargs, name):
    # trials = 1e18 at d = 8 used to run for days; sigma ~ 1e307 overflowed.
    base = dict(d=8, k=1, t=1.5, trials=200, seed=0, backend="numpy")
    with pytest.raises(ValueError, match=name):
        support_recovery(**{**base, **kwargs})
    with pytest.raises(ValueError, match="group_size"):
        group_support_recovery(4, 2 ** 30, 1, 2.0, trials=10, seed=0, backend="numpy")


def test_histogram_codec_lives_below_the_simulation_with_the_simulators_cap():
    from sparsesim import _codec
    assert sr.hist_to_str is _codec.hist_to_str and sr.hist_from_str is _codec.hist_from_str
    # one bin per count 0 .. d of a trial of at most MAX_TRIAL_WEIGHTS weights
    assert _codec.MAX_LENGTH == sr.MAX_TRIAL_WEIGHTS + 1
    assert _codec.hist_from_str("", _codec.MAX_LENGTH - 2 ** 31).size == 1
    with pytest.raises(ValueError, match="length"):
        _codec.hist_from_str("", _codec.MAX_LENGTH + 1)


def test_default_sweep_tests_exact_set_rows_up_to_d_10000():
    # The default (GPU) sweep runs enough trials that the exact-set rows P(Ŝ = S) are
    # tested directly where they have power: expected hits >= MIN_EXPECTED from the
    # closed form.  Falsified by a TOML whose weight budget leaves the large-d rows
    # descriptive (2^23 weights per cell: 35 of 160 rows, none with d >= 1024).
    from sparsesim.sim.support_recovery import expected_hits
    from sparsesim.sim.support_recovery.tables import MIN_EXPECTED
    from sparsesim.sweep.config import load_config

    exact = [c for c in load_config("support_recovery").cells if c["kind"] == "exact"]
    tested = [c for c in exact if expected_hits(c) >= MIN_EXPECTED]
    assert len(exact) == 160 and len(tested) >= 70
    big = sorted({(c["d"], c["k"]) for c in tested if c["d"] >= 1024})
    assert len([c for c in tested if c["d"] >= 1024]) >= 8
    assert big == [(1024, 1), (10000, 1)]
    # the same cells at the old budget: far fewer rows with power
    old = [dict(c, trials=10 ** 6, max_samples=2 ** 23) for c in exact]
    assert sum(expected_hits(c) >= MIN_EXPECTED for c in old) == 35


def test_expected_hits_matches_a_run_cell():
    # expected_hits is the theory times the trials run_cell runs: a quick cell's hits
    # sit within 5 standard deviations of it (false alarm < 1e-6 at this fixed seed).
    from sparsesim.sim.support_recovery import cell_trials, expected_hits
    params = dict(DEFAULTS, kind="exact", d=16, k=2, trials=20000, max_samples=2 ** 18,
                  t_rule="optimal", t_scale=1.0)
    ctx = SimpleNamespace(seed=np.random.SeedSequence([2026, 5]), sweep_seed=2026,
                          backend="numpy", progress=lambda s: None)
    row = run_cell(params, ctx)
    assert row["n_trials"] == cell_trials(params) == 16384
    e = expected_hits(params)
    assert abs(row["hits"] - e) <= 5 * math.sqrt(e)
