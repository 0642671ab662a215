"""Claim C10 at critical points of real MLPs (sparsesim.sim.mlp_saddles).

Deterministic: fixed seeds, exact checks.  The planted-error test judges its
claim rows at the file's family-wise α = 0.01 (exact McNemar test; with 9
discordant saddles the smallest one-sided p-value is 2⁻⁹ ≈ 0.002).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sparsesim.geometry import classify_critical_point, lanczos_extremes
from sparsesim.report import judge
from sparsesim.sim import mlp_saddles as ms

CTX = SimpleNamespace(sweep_seed=1, seed=None)
TINY = dict(width=3, depth=1, n_points=32, newton_iters=30, minres_iters=60,
            densities="0.5", planted="none")


def _p(**kw):
    return {**ms.DEFAULTS, **TINY, **kw}


@pytest.fixture(scope="module")
def embedded():
    p = _p(source="embedded")
    land = ms.landscape(p, 1)
    theta, base_gn = ms.embedded_start(land, p, 1, 0)
    return p, land, theta, base_gn


def _new_unit(land, w):
    """Flat mask of the added unit's coordinates (column w−1 of W0, b0[w−1], row w−1 of W1)."""
    m = np.zeros(land.dim, bool)
    idx = np.arange(land.dim)
    parts = land.unflatten(idx.astype(float))
    W0, b0 = parts[0]
    W1, _ = parts[1]
    for a in (W0[0, :, w - 1], b0[0, w - 1:w], W1[0, w - 1, :]):
        m[a.astype(int)] = True
    return m


def test_embedded_point_is_critical_and_a_saddle_on_the_new_unit(embedded):
    p, land, theta, base_gn = embedded
    g = np.linalg.norm(land.grad(theta))
    # the gradient of the embedded point is the narrower network's (L-BFGS-accurate)
    assert g == pytest.approx(base_gn, rel=1e-6, abs=1e-14) and g < 1e-6
    ev, vecs = np.linalg.eigh(land.dense_hessian(theta))
    assert classify_critical_point(g, ev[0], ev[-1], land.length_scale(theta)) == "saddle"
    neg = vecs[:, ev < -1e-3 * np.abs(ev).max()]
    unit = _new_unit(land, p["width"])
    assert np.all((neg[unit] ** 2).sum(axis=0) > 0.99)    # curvature lives on the new unit


def test_newton_mr_returns_to_the_embedded_saddle_from_nearby(embedded):
    _, land, theta, _ = embedded
    star = land.critical_point(theta, gtol=1e-12, max_iter=50, minres_maxiter=land.dim)
    assert star.converged and np.linalg.norm(star.x - theta) < 1e-4
    ev = np.linalg.eigvalsh(land.dense_hessian(star.x))
    assert ev[0] < -1e-2 and np.abs(ev).min() > 1e-4          # a non-degenerate saddle
    rng = np.random.default_rng(0)
    for _ in range(3):
        r = land.critical_point(star.x + 1e-3 * rng.normal(size=land.dim), gtol=1e-11,
                                max_iter=50, minres_maxiter=land.dim)
        assert r.converged and np.linalg.norm(r.x - star.x) < 1e-8


def test_restricted_spectrum_matches_dense_eigendecomposition(embedded):
    p, land, theta, _ = embedded
    H = land.dense_hessian(theta)                      # column by column from HVPs
    ev, vecs = np.linalg.eigh(H)
    tau = 1e-3 * np.abs(ev).max()
    rng = np.random.default_rng(1)
    for kind in ("magnitude", "random"):
        keep = ms.layer_masks(land, theta, 0.5, kind, rng)
        s = ms.restricted_summary(H, keep, tau, ev[0], vecs[:, ev < -tau])
        # operator path: P_m H P_m by HVPs, Lanczos; against eigh of the submatrix
        op = land.restricted_operator(theta, keep)
        sub = np.linalg.eigvalsh(H[np.ix_(keep, keep)])
        assert np.allclose(op.to_dense(), H[np.ix_(keep, keep)], atol=1e-12)
        lz = lanczos_extremes(op, k=1, tol=1e-12)
        assert s["lambda_min"] == pytest.approx(sub[0], abs=1e-12)
        assert lz.lambda_min == pytest.approx(sub[0], abs=1e-9)
        assert s["n_negative"] == int((sub < -tau).sum())
        assert s["lambda_min"] >= ev[0] - 1e-12           # interlacing


def test_masks_keep_equal_layer_counts_and_all_biases(embedded):
    _, land, theta, _ = embedded
    rng = np.random.default_rng(2)
    layer = land.layer_of()
    wm = land.weight_mask()
    for d in (0.5, 0.2):
        mag = ms.layer_masks(land, theta, d, "magnitude")
        rnd = ms.layer_masks(land, theta, d, "random", rng)
        assert mag[~wm].all() and rnd[~wm].all()
        for li in range(len(land.shapes)):
            sel = wm & (layer == li)
            assert mag[sel].sum() == rnd[sel].sum()
            kept, pruned = np.abs(theta[sel & mag]), np.abs(theta[sel & ~mag])
            if pruned.size:
                assert kept.min() >= pruned.max()


def test_mcnemar_is_the_exact_binomial_tail():
    for b, c in [(7, 1), (0, 5), (3, 3), (10, 0)]:
        pc, po = ms.mcnemar_one_sided(b, c)
        assert pc == pytest.approx(stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue)
        assert po == pytest.approx(stats.binomtest(c, b + c, 0.5, alternative="greater").pvalue)


def _claim_verdicts(cells):
    tabs = ms.tables(cells)
    j = judge(tabs)
    i = next(k for k, t in enumerate(tabs) if t.kind == "claim")
    return [v for v, kind in zip(j.verdicts[i], j.kinds[i]) if kind == "claim"]


@pytest.mark.slow
def test_planted_swap_turns_the_claim_both_ways():
    # Embedded saddles: the magnitude mask removes the added unit (weights 0) and with
    # it the negative curvature, so the claim holds (✓).  Swapping the two masks —
    # the error a mislabelled column would make — must turn it to ✗ through the same
    # run_cell -> tables path.
    out = {}
    for planted in ("none", "swap"):
        rows = []
        for seed in range(9):
            rows += ms.run_cell(_p(source="embedded", seed=seed, planted=planted),
                                SimpleNamespace(sweep_seed=1, seed=None))
        out[planted] = pd.DataFrame(rows)
    assert out["none"]["is_saddle"].all()
    assert _claim_verdicts(out["none"]) == [True]
    assert _claim_verdicts(out["swap"]) == [False]


def test_bad_input():
    with pytest.raises(ValueError, match="densities"):
        ms.parse_densities("0.5,0")
    with pytest.raises(ValueError, match="source"):
        ms.run_cell(_p(source="other", seed=0), CTX)
    with pytest.raises(ValueError, match="planted"):
        ms.run_cell(_p(source="trained", planted="x", seed=0), CTX)
    with pytest.raises(ValueError, match="width"):
        ms.run_cell(_p(source="embedded", width=1, seed=0), CTX)
    assert not ms.valid_cell({"source": "embedded", "start_step": 5, "seed": 0})
    assert ms.valid_cell({"source": "trained", "start_step": 5, "seed": 0})


def test_planted_oracle_masks_prune_the_negative_curvature():
    # The oracle mask prunes, layer by layer, the weights carrying the most
    # negative-eigenvector mass: at an embedded saddle it removes all of it.
    for planted, col in (("oracle", "magnitude"), ("anti_oracle", "random")):
        (row,) = ms.run_cell(_p(source="embedded", seed=0, planted=planted), CTX)
        assert row["is_saddle"] and row[f"{col}_is_min"]
        assert row[f"{col}_neg_mass_pruned"] > 0.99


def test_teacher_landscape_is_the_planted_teacher_and_bad_datasets_are_refused():
    """Falsified if dataset = "teacher" fell back to MNIST-1D or an unknown name passed."""
    from sparsesim.sim import mlp_saddles as ms
    from sparsesim.sim.mlp_saddles.engine import landscape

    base = {**ms.DEFAULTS, "seed": 0}
    mn = landscape(base, 2026)
    te = landscape({**base, "dataset": "teacher"}, 2026)
    assert te.X.shape == mn.X.shape == (128, 40)
    assert not np.allclose(te.X, mn.X)
    # Gaussian inputs, labels the teacher's argmax over 10 classes
    assert abs(float(te.X.mean())) < 0.1 and 0.8 < float(te.X.std()) < 1.2
    assert set(np.unique(te.y)) <= set(range(10))
    with pytest.raises(ValueError, match="dataset must be one of"):
        ms.valid_cell({**base, "dataset": "cifar"})
