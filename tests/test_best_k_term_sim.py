"""Best k-term simulation: relative errors of the real projections.

Exact identities are checked on the same samples (sorted tails, subset
enumeration, monotonicity); the compressible bound sigma_s <= ||x||_1/(2 sqrt s)
is checked on every trial.  The one statistical check (Gaussian mean against
the large-n energy formula) states its test and false-alarm rate.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import sparsesim.sim.best_k_term as bk
from sparsesim.sim.best_k_term import (
    DEFAULTS,
    PARAMS,
    best_k_term_error,
    compressible_magnitudes,
    relative_errors,
    run_cell,
    valid_cell,
)
from sparsesim.sparsity import keep_count

ALPHA = 1e-4


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs,exc,name", [
    (dict(kind="uniform"), ValueError, "kind"),
    (dict(n=0), ValueError, "n"),
    (dict(n=10.0), TypeError, "n"),
    (dict(density=1.5), ValueError, "density"),
    (dict(density=float("nan")), ValueError, "density"),
    (dict(trials=0), ValueError, "trials"),
    (dict(p=1.0), ValueError, "p"),                              # p for a gaussian kind
    (dict(kind="compressible"), ValueError, "p"),                 # p missing
    (dict(kind="compressible", p=0.0), ValueError, "p"),
    (dict(kind="compressible", p=1.0, density=0.001), ValueError, "density"),  # keeps 0
    (dict(kind="group"), ValueError, "group_size"),               # group_size missing
    (dict(kind="group", group_size=7), ValueError, "n"),          # 100 % 7 != 0
    (dict(group_size=4), ValueError, "group_size"),               # for a gaussian kind
    (dict(backend="tpu"), ValueError, "backend"),
    (dict(seed=-2), ValueError, "seed"),
    (dict(chunk_elems=0), ValueError, "chunk_elems"),
])
def test_invalid_arguments_name_the_argument(monkeypatch, kwargs, exc, name):
    # Raised before sampling: the patched projection would fail otherwise.
    monkeypatch.setattr(bk.engine, "relative_errors", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("sampling started")))
    args = dict(kind="gaussian", n=100, density=0.1, trials=10, seed=0, backend="numpy")
    args.update(kwargs)
    with pytest.raises(exc, match=name):
        best_k_term_error(args.pop("kind"), args.pop("n"), args.pop("density"), **args)


# --------------------------------------------------------------------------- exact identities

@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 12)),
                  elements=st.floats(-100, 100).filter(lambda x: abs(x) > 1e-100)),
       st.data())
def test_relative_error_is_the_sorted_tail(w, data):
    # ||w - P_k w||^2 = sum of the n - k smallest squares (ties do not matter
    # for the value); falsified if the projection kept a wrong entry.
    k = data.draw(st.integers(0, w.shape[1]))
    rel, err = relative_errors(w, k)
    tail = np.sort(w * w, axis=1)[:, : w.shape[1] - k].sum(axis=1)
    np.testing.assert_allclose(err ** 2, tail, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(rel, tail / (w * w).sum(axis=1), rtol=1e-12, atol=1e-300)


def test_relative_error_rejects_rows_without_energy():
    # 0/0 must not turn into a silent NaN.
    with pytest.raises(ValueError, match="non-zero squared norm"):
        relative_errors(np.array([[1.0, 2.0], [0.0, 0.0]]), 1)
    with pytest.raises(ValueError, match="non-zero squared norm"):
        relative_errors(np.array([[1e-200, 0.0]]), 1)  # the square underflows


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.data())
def test_group_relative_error_is_the_best_subset(n_groups, size, data):
    # Brute force over all subsets of q groups: the projection's error is the
    # minimum (the exact projection for non-overlapping groups).
    n = n_groups * size
    w = data.draw(hnp.arrays(np.float64, (2, n), elements=st.floats(-10, 10).filter(
        lambda x: abs(x) > 1e-3)))
    q = data.draw(st.integers(0, n_groups))
    rel, err = relative_errors(w, q, group_size=size)
    sq = (w * w).reshape(2, n_groups, size).sum(axis=-1)
    for row in range(2):
        best = min(sq[row].sum() - sum(sq[row][list(c)])
                   for c in itertools.combinations(range(n_groups), q))
        assert err[row] ** 2 == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("n,density", [(50, 0.02), (200, 0.1), (1000, 0.5)])
def test_compressible_error_is_deterministic_and_within_the_bound(p, n, density):
    # Magnitudes are fixed, so every trial's sigma_s equals the sorted-tail value
    # (up to summation rounding), and sigma_s <= ||x||_1 / (2 sqrt s) always.
    r = best_k_term_error("compressible", n, density, p=p, trials=64, seed=1, backend="numpy")
    s = keep_count(density, n)
    mags = np.arange(1, n + 1) ** (-1.0 / p)
    assert r.kept == s
    assert r.sigma_s_sorted == pytest.approx(math.sqrt((mags[s:] ** 2).sum()), rel=1e-12)
    assert r.sigma_s_mean == pytest.approx(r.sigma_s_sorted, rel=1e-12)
    assert r.sigma_s_max == pytest.approx(r.sigma_s_sorted, rel=1e-12)
    assert r.bound == pytest.approx(mags.sum() / (2 * math.sqrt(s)), rel=1e-12)
    assert r.ratio_max <= 1.0
    assert r.ratio_mean == pytest.approx(r.sigma_s_sorted / r.bound, rel=1e-12)
    assert r.sd <= 1e-12  # the relative error does not vary across trials either


def test_compressible_vectors_are_shuffled_with_random_signs(monkeypatch):
    # Capture the batch handed to the projection: each row is a signed
    # permutation of the magnitudes, rows differ, and signs are balanced
    # (binomial test at 1e-4).
    seen = []
    real = bk.relative_errors

    def spy(w, kept, group_size=None):
        seen.append(np.array(w))
        return real(w, kept, group_size=group_size)

    monkeypatch.setattr(bk.engine, "relative_errors", spy)
    best_k_term_error("compressible", 30, 0.2, p=1.0, trials=400, seed=2, backend="numpy")
    w = np.concatenate(seen)
    mags = compressible_magnitudes(30, 1.0)
    assert np.allclose(np.sort(np.abs(w), axis=1), np.sort(mags)[None, :], rtol=0, atol=0)
    assert len({tuple(np.argsort(-np.abs(r))) for r in w}) > 390
    neg = int((w < 0).sum())
    assert stats.binomtest(neg, w.size, 0.5).pvalue > ALPHA


def test_density_extremes_and_monotonicity():
    # Same seed -> same vectors: the error can only fall as more is kept.
    kw = dict(trials=300, seed=3, backend="numpy")
    means = [best_k_term_error("gaussian", 80, rho, **kw).mean
             for rho in (0.0, 0.1, 0.3, 0.7, 1.0)]
    assert means[0] == 1.0 and means[-1] == 0.0
    assert all(a > b for a, b in zip(means, means[1:]))


def test_group_size_one_equals_the_gaussian_kind():
    # Singleton groups: group_best_q and best_k_term keep the same entries.
    a = best_k_term_error("group", 60, 0.25, group_size=1, trials=500, seed=4, backend="numpy")
    b = best_k_term_error("gaussian", 60, 0.25, trials=500, seed=4, backend="numpy")
    assert (a.mean, a.sd, a.min, a.max) == (b.mean, b.sd, b.min, b.max)


def test_seed_fixes_the_result_independently_of_chunking():
    kw = dict(trials=3000, seed=5, backend="numpy")
    base = best_k_term_error("gaussian", 100, 0.1, **kw)
    assert best_k_term_error("gaussian", 100, 0.1, chunk_elems=1, **kw) == base
    assert best_k_term_error("gaussian", 100, 0.1, chunk_elems=10 ** 8, **kw) == base
    assert best_k_term_error("gaussian", 100, 0.1, trials=3000, seed=6,
                             backend="numpy").mean != base.mean


def test_streaming_moments_match_numpy():
    m = bk.engine._Moments()
    x = np.random.default_rng(0).normal(size=1001)
    for part in np.array_split(x, 7):
        m.add(part)
    assert m.n == 1001
    assert m.mean == pytest.approx(x.mean(), rel=1e-12)
    assert m.sd == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert (m.min, m.max) == (x.min(), x.max())


def test_gaussian_mean_relative_error_matches_energy_formula():
    # For n -> inf the kept energy fraction is 2 Phi_bar(a) + 2 a phi(a) with
    # a = Phi_bar^-1(rho / 2) (REFERENCES.md).  The finite-n bias (ratio of sums,
    # k-th order statistic) is O(1/n): measured 0.71/n at n = 100 and 400 (2e5
    # trials each), so an allowance of 10/n covers it with room to spare; the
    # statistical part is a two-sided z-test at 1e-4 on the trial mean.
    n, rho, trials = 20_000, 0.1, 400
    r = best_k_term_error("gaussian", n, rho, trials=trials, seed=2026, backend="numpy")
    a = stats.norm.isf(rho / 2)
    expected = 1 - (2 * stats.norm.sf(a) + 2 * a * stats.norm.pdf(a))
    z = abs(r.mean - expected) / r.stderr
    bias_allowance = 10.0 / n / r.stderr
    assert z < stats.norm.isf(ALPHA / 2) + bias_allowance


# --------------------------------------------------------------------------- sweep contract

def test_valid_cell_filters_not_applicable_parameters():
    base = dict(kind="gaussian", n=100, density=0.1, trials=10)
    assert valid_cell(base)
    assert not valid_cell(dict(base, p=1.0))
    assert not valid_cell(dict(base, group_size=10))
    assert valid_cell(dict(base, kind="compressible", p=0.5))
    assert not valid_cell(dict(base, kind="compressible"))
    assert not valid_cell(dict(base, kind="compressible", p=0.5, density=0.001))
    assert valid_cell(dict(base, kind="group", group_size=10))
    assert not valid_cell(dict(base, kind="group", group_size=7))
    with pytest.raises(ValueError, match="kind"):
        valid_cell(dict(base, kind="laplace"))


@pytest.mark.parametrize("kind,extra", [("gaussian", {}), ("compressible", {"p": 0.5}),
                                        ("group", {"group_size": 5})])
def test_run_cell_returns_a_flat_row(kind, extra):
    params = dict(DEFAULTS, kind=kind, n=100, density=0.1, trials=400, max_samples=20_000,
                  **extra)
    assert set(params) == set(PARAMS) and valid_cell(params)
    ctx = SimpleNamespace(seed=np.random.SeedSequence([1, 2]), sweep_seed=1, backend="numpy",
                          progress=lambda s: None)
    row = run_cell(params, ctx)
    assert all(isinstance(v, (int, float)) for v in row.values())
    assert not set(row) & set(params)
    assert row["n_trials"] == 200
    assert 0.0 < row["rel_err_mean"] < 1.0
    if kind == "compressible":
        assert row["ratio_max"] <= 1.0
    else:
        assert math.isnan(row["ratio_max"])
    again = run_cell(params, SimpleNamespace(**vars(ctx)))  # the cell seed fixes the row
    assert again.keys() == row.keys()
    assert all(again[c] == row[c] or (math.isnan(again[c]) and math.isnan(row[c])) for c in row)


def test_sweep_toml_loads():
    from sparsesim.sweep.config import load_config

    full = load_config("best_k_term")
    quick = load_config("best_k_term", quick=True)
    assert {c["kind"] for c in full.cells} == {"gaussian", "compressible", "group"}
    assert all(valid_cell(c) for c in full.cells + quick.cells)
    assert len(quick.cells) < len(full.cells)


# --------------------------------------------------------------------------- argument checks

@pytest.mark.parametrize("args, kwargs, name", [
    ((np.float64(3.0), 1), {}, "w"),
    ((np.array([[3.0, np.nan]]), 1), {}, "w"),
    ((np.array([[True, False]]), 1), {}, "w"),
    ((np.array([[3.0, -4.0, 0.0]]), 4), {}, "kept"),
    ((np.array([[3.0, -4.0, 0.0]]), 1), {"group_size": 2}, "group_size"),
    ((np.array([[3.0, -4.0, 0.0]]), 1), {"group_size": 0}, "group_size"),
    ((np.array([[3.0, -4.0]]), 2), {"group_size": 1.5}, "group_size"),
    ((np.array([[1e200, 1.0]]), 1), {}, "w"),  # the squared norm overflows
])
def test_relative_errors_names_the_bad_argument(args, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        relative_errors(*args, **kwargs)


def test_relative_errors_promotes_integer_and_float16_rows():
    w = np.array([[3, -4, 0]])
    for a, dtype in ((w.astype(np.int8), np.float64), (w.astype(np.float16), np.float32)):
        rel, err = relative_errors(a, 1)
        assert rel.dtype == dtype and rel.tolist() == [pytest.approx(0.36)]
        assert err.tolist() == [3.0]


def test_sizes_beyond_the_documented_bounds_are_refused():
    with pytest.raises(ValueError, match="trials"):
        best_k_term_error("gaussian", 10, 0.5, trials=bk.MAX_TRIALS + 1, seed=0,
                          backend="numpy")
    with pytest.raises(ValueError, match="^n must be in"):
        best_k_term_error("gaussian", bk.MAX_N + 1, 0.5, trials=1, seed=0, backend="numpy")
    with pytest.raises(ValueError, match="^n must be in"):
        compressible_magnitudes(10 ** 18, 1.0)


def test_expected_relative_error_matches_brute_force_and_the_limit():
    """The finite-n mean against 200,000 direct draws (fixed seed; the z bound of 4.5 is
    crossed by chance with probability < 1e-5), and its large-n limit."""
    from sparsesim import theory
    from sparsesim.sim.best_k_term import expected_relative_error
    rng = np.random.default_rng(5)
    for units, kept, g in ((8, 2, 1), (6, 1, 3)):
        w = rng.normal(size=(200_000, units, g))
        e = (w ** 2).sum(axis=2)
        dropped = np.sort(e, axis=1)[:, : units - kept].sum(axis=1)
        ratio = dropped / e.sum(axis=1)
        z = (ratio.mean() - expected_relative_error(units, kept, g)) / (
            ratio.std(ddof=1) / np.sqrt(ratio.size))
        assert abs(z) < 4.5, (units, kept, g, z)
    big = expected_relative_error(20000, 2000)
    assert abs(big - float(theory.gaussian_best_k_relative_error(0.1))) < 2e-4
    with pytest.raises(ValueError, match="kept"):
        expected_relative_error(10, 11)
