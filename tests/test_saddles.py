"""The masked-Hessian saddle simulation (sparsesim.sim.saddles).

Statistical tests use fixed seeds and a two-sided exact binomial test (or a
chi-square test) at alpha = 1e-4: each has a false-alarm rate of 1e-4 if the
simulation and the theory agree.  The exact (combinatorial) facts are
checked exactly.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sparsesim.backend import make_rng
from sparsesim.sim import saddles as sd

ALPHA = 1e-4


# --------------------------------------------------------------------------- theory

@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.data())
def test_hypergeometric_law_matches_enumeration(d, data):
    # Falsified if the closed form differed from counting all C(d, m) subsets.
    n_neg = data.draw(st.integers(0, d))
    m = data.draw(st.integers(0, d))
    avoid = sum(1 for S in itertools.combinations(range(d), m) if not set(S) & set(range(n_neg)))
    assert sd.prob_random_mask_avoids(d, n_neg, m) == avoid / math.comb(d, m)


@pytest.mark.parametrize("d,n_neg,m", [(16, 1, 4), (16, 3, 8), (64, 8, 16), (64, 4, 58),
                                       (10, 9, 1), (30, 2, 28)])
def test_magnitude_law_at_equal_scales_is_hypergeometric(d, n_neg, m):
    # With equal scales the planted magnitudes are exchangeable, so the
    # magnitude mask is a uniform m-subset: the quadrature must give the
    # hypergeometric value (to the quadrature's 1e-10 accuracy).
    q = sd.prob_magnitude_mask_avoids(d, n_neg, m, 1.0)
    assert abs(q - sd.prob_random_mask_avoids(d, n_neg, m)) < 1e-9


def test_magnitude_law_monotone_in_scale_and_degenerate_cases():
    vals = [sd.prob_magnitude_mask_avoids(20, 3, 8, s) for s in (0.25, 0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(vals, vals[1:]))   # larger off-N weights: N pruned more
    assert sd.prob_magnitude_mask_avoids(20, 3, 18, 2.0) == 0.0   # m > d - n_neg
    assert sd.prob_magnitude_mask_avoids(20, 0, 18, 2.0) == 1.0


def test_magnitude_law_small_case_by_direct_integration():
    # d=2, n_neg=1, m=1: P(|w_off| > |w_on|) = P(|Z1| s > |Z2|) = (2/pi) atan(s).
    for s in (0.3, 1.0, 3.0):
        assert abs(sd.prob_magnitude_mask_avoids(2, 1, 1, s) - 2 / math.pi * math.atan(s)) < 1e-9


def test_theory_is_nan_for_spread():
    assert math.isnan(sd.local_min_theory(8, 2, 4, "spread", "random"))


# --------------------------------------------------------------------------- generators

@pytest.mark.parametrize("geometry", sd.GEOMETRIES)
def test_saddle_hessians_have_the_planted_spectrum(geometry):
    # Falsified if H were not symmetric, its eigenvalues not the reported ones,
    # or (confined) any curvature leaked between N and its complement.
    H, ev = sd.saddle_hessians(make_rng(3, "numpy"), 50, 9, 3, geometry, neg_strength=2.0)
    np.testing.assert_array_equal(H, np.swapaxes(H, 1, 2))
    np.testing.assert_allclose(np.linalg.eigvalsh(H), ev, atol=1e-12)
    assert np.all(ev[:, :3] < -0.99) and np.all(ev[:, 3:] >= 0.5)
    if geometry == "confined":
        assert np.all(H[:, :3, 3:] == 0.0)
        assert np.all(np.linalg.eigvalsh(H[:, :3, :3]) < 0)
    else:  # dense directions: the N block alone is not negative definite in general
        assert np.any(H[:, :3, 3:] != 0.0)


def test_random_masks_are_uniform_subsets():
    # Chi-square goodness of fit of the 10 subsets of size 2 of 5 coordinates,
    # 20,000 draws: false alarm rate ALPHA.
    masks = sd.draw_masks(make_rng(11, "numpy"), 20000, 5, 0, 2, "random")
    assert np.all(masks.sum(axis=1) == 2)
    codes = (masks * (1 << np.arange(5))).sum(axis=1)
    _, counts = np.unique(codes, return_counts=True)
    assert counts.size == 10
    assert stats.chisquare(counts).pvalue > ALPHA


def test_magnitude_masks_keep_largest_planted_weights():
    masks = sd.draw_masks(make_rng(2, "numpy"), 400, 8, 2, 3, "magnitude", 1e3)
    assert np.all(masks.sum(axis=1) == 3)
    # off-N weights are 1000x larger: keeping an N coordinate has probability ~1e-3
    # per trial; 400 trials with >10 such events would be a 1e-20 event.
    assert masks[:, :2].sum() <= 10


# --------------------------------------------------------------------------- simulation

@pytest.mark.parametrize("d,n_neg,density,mask,off_scale", [
    (12, 2, 0.25, "random", 1.0),
    (12, 2, 0.5, "random", 1.0),
    (20, 1, 0.75, "random", 1.0),
    (12, 2, 0.5, "magnitude", 2.0),
    (12, 3, 0.5, "magnitude", 0.5),
])
def test_confined_probability_matches_exact_law(d, n_neg, density, mask, off_scale):
    # Two-sided exact binomial test of the Monte Carlo count, 3000 trials:
    # false alarm rate ALPHA per case.
    r = sd.simulate_saddles(d, n_neg, density, geometry="confined", mask=mask,
                            off_scale=off_scale, trials=3000, seed=17)
    theory = sd.local_min_theory(d, n_neg, r["m"], "confined", mask, off_scale)
    assert stats.binomtest(r["n_local_min"], 3000, theory).pvalue > ALPHA
    # exact facts, every trial
    assert r["interlacing_failures"] == 0
    assert r["count_bound_failures"] == 0
    assert r["overlap_mismatches"] == 0
    assert r["min_margin_lambda_min"] >= -1e-12


def test_spread_interlacing_holds_in_every_trial():
    r = sd.simulate_saddles(10, 3, 0.5, geometry="spread", trials=2000, seed=5)
    assert r["interlacing_failures"] == 0 and r["count_bound_failures"] == 0
    assert r["min_margin_lambda_min"] >= -1e-12
    # m = 5 = d - n_neg + ... : 3 negatives, 5 pruned -> the lower bound is 0, so
    # some masks do reach a minimum; and the mean count is at most n_neg.
    assert 0 < r["n_local_min"] < 2000
    assert r["mean_n_neg_restricted"] <= 3


def test_spread_forced_negative_when_too_few_pruned():
    # n_neg - (d - m) = 3 - 1 = 2 > 0: every restriction keeps >= 2 negatives.
    r = sd.simulate_saddles(10, 3, 0.9, geometry="spread", trials=500, seed=1)
    assert r["n_local_min"] == 0
    assert r["mean_n_neg_restricted"] >= 2


def test_full_density_keeps_the_saddle():
    r = sd.simulate_saddles(8, 1, 1.0, trials=200, seed=0)
    assert r["m"] == 8 and r["n_local_min"] == 0


def test_same_seed_same_counts():
    a = sd.simulate_saddles(9, 2, 0.5, trials=300, seed=42)
    b = sd.simulate_saddles(9, 2, 0.5, trials=300, seed=42)
    assert a == b


def test_bad_input():
    with pytest.raises(ValueError, match="density must be in"):
        sd.simulate_saddles(8, 1, 0.0, trials=10)
    with pytest.raises(ValueError, match="density must be in"):
        sd.simulate_saddles(8, 1, 1.5, trials=10)
    with pytest.raises(ValueError, match="n_neg must be in"):
        sd.simulate_saddles(8, 9, 0.5, trials=10)
    with pytest.raises(ValueError, match="keeps no coordinate"):
        sd.simulate_saddles(8, 1, 0.01, trials=10)
    with pytest.raises(ValueError, match="mask='magnitude' needs"):
        sd.simulate_saddles(8, 1, 0.5, geometry="spread", mask="magnitude", trials=10)
    with pytest.raises(ValueError, match="geometry must be one of"):
        sd.simulate_saddles(8, 1, 0.5, geometry="flat", trials=10)


def test_valid_cell():
    base = dict(d=16, n_neg=2, density=0.5, trials=10)
    assert sd.valid_cell(base)
    assert not sd.valid_cell({**base, "n_neg": 17})
    assert not sd.valid_cell({**base, "density": 0.01})
    assert not sd.valid_cell({**base, "geometry": "spread", "mask": "magnitude"})
    assert not sd.valid_cell({**base, "mask": "random", "off_scale": 2.0})
    assert sd.valid_cell({**base, "mask": "magnitude", "off_scale": 2.0})
    assert set(sd.DEFAULTS) <= set(sd.PARAMS)


# --------------------------------------------------------------------------- sweep contract

def _ctx(seed=0):
    return SimpleNamespace(seed=np.random.SeedSequence(seed), sweep_seed=seed,
                           backend="numpy", progress=lambda _t: None)


def _cells():
    rows = []
    grid = [("confined", "random", 1.0), ("confined", "magnitude", 2.0), ("spread", "random", 1.0)]
    for i, (geo, mk, s) in enumerate(grid):
        for dens in (0.25, 0.5):
            p = dict(d=10, n_neg=2, density=dens, geometry=geo, mask=mk, off_scale=s,
                     neg_strength=1.0, trials=500, tol=1e-9)
            rows.append({**p, **sd.run_cell(p, _ctx(i))})
    return pd.DataFrame(rows)


def test_run_cell_tables_and_figures(tmp_path):
    pytest.importorskip("sparsesim.report")
    cells = _cells()
    row = cells.iloc[0]
    assert row["p_theory"] == sd.prob_random_mask_avoids(10, 2, 3)
    assert 0.0 <= row["p_value"] <= 1.0 and row["ci_low"] <= row["p_local_min"] <= row["ci_high"]
    assert np.isnan(cells[cells["geometry"] == "spread"]["p_value"]).all()
    for key in row.index:  # flat row of scalars
        assert np.isscalar(row[key])
    tabs = sd.tables(cells)
    titles = [t.title for t in tabs]
    assert len(tabs) == 3 and "no exact theory" in titles[2]
    assert tabs[0].p_col == "p_value" and len(tabs[0].frame) == 4
    assert tabs[1].agree_col == "all_checks_ok" and tabs[1].frame["all_checks_ok"].all()
    paths = sd.figures(cells, tmp_path)
    assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_toml_configs_load():
    sweep = pytest.importorskip("sparsesim.sweep")
    full = sweep.load_config("masked_hessian_saddles")
    quick = sweep.load_config("masked_hessian_saddles", quick=True)
    assert len(quick.cells) < len(full.cells)
    assert all(sd.valid_cell(c) for c in full.cells)
    assert max(c["trials"] for c in quick.cells) <= 4000


# CuPy only (xp_gpu): the device's own random stream against the exact law (NumPy's: above).
@pytest.mark.gpu
def test_cupy_backend_matches_the_law(xp_gpu):
    # Same law on the GPU (different random stream): exact binomial test at
    # ALPHA (false alarm rate 1e-4) and the exact interlacing checks.
    r = sd.simulate_saddles(16, 2, 0.5, geometry="confined", mask="magnitude", off_scale=2.0,
                            trials=20000, seed=3, backend="cupy")
    theory = sd.local_min_theory(16, 2, r["m"], "confined", "magnitude", 2.0)
    assert stats.binomtest(r["n_local_min"], 20000, theory).pvalue > ALPHA
    assert r["interlacing_failures"] == r["count_bound_failures"] == r["overlap_mismatches"] == 0
    s = sd.simulate_saddles(24, 3, 0.5, geometry="spread", trials=5000, seed=3, backend="cupy")
    assert s["interlacing_failures"] == 0 and s["count_bound_failures"] == 0


# --------------------------------------------------------------------------- limits

def test_theory_checks_arguments_for_every_geometry():
    # The spread geometry has no closed form (NaN) but bad sizes are still errors.
    for geometry in ("confined", "spread"):
        with pytest.raises(ValueError, match="^d must be in"):
            sd.local_min_theory(-5, 2, 4, geometry, "random")
        with pytest.raises(ValueError, match="n_neg"):
            sd.local_min_theory(8, 9, 4, geometry, "random")
    assert math.isnan(sd.local_min_theory(8, 2, 4, "spread", "random"))


@pytest.mark.parametrize("kwargs, name", [
    ({"d": sd.MAX_D + 1}, "^d must be in"),
    ({"trials": sd.MAX_TRIALS + 1}, "trials"),
    ({"neg_strength": 1.3e308}, "neg_strength"),
    ({"neg_strength": 1e-300}, "neg_strength"),
    ({"mask": "magnitude", "off_scale": 4.4e307}, "off_scale"),
])
def test_simulation_limits_are_named(kwargs, name):
    base = dict(d=6, n_neg=1, density=0.5, trials=20, seed=1)
    with pytest.raises(ValueError, match=name):
        sd.simulate_saddles(**{**base, **kwargs})


def test_scale_limits_are_usable():
    # At the documented scale limits nothing overflows (RuntimeWarnings are errors
    # under the test settings) and the interlacing checks still hold.
    r = sd.simulate_saddles(6, 2, 0.5, trials=50, seed=2, neg_strength=sd.MAX_SCALE)
    assert r["interlacing_failures"] == 0 and r["count_bound_failures"] == 0
    p = sd.prob_magnitude_mask_avoids(4, 1, 2, sd.MAX_SCALE)
    assert p == pytest.approx(1.0, abs=1e-9)  # off-N weights dwarf the on-N ones
    with pytest.raises(ValueError, match="off_scale"):
        sd.prob_magnitude_mask_avoids(4, 1, 2, 4.4e307)
