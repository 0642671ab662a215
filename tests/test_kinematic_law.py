"""The exact finite-d law of basis pursuit (``theory._kinematic``) and its use in the
phase-transition tables (``sim.phase_transition.kinematic`` and ``.tables``).

Statistical checks use fixed seeds; each states its false-alarm rate under a
correct law (normal approximation of the statistic)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from sparsesim import theory
from sparsesim.sim import phase_transition as pt
from sparsesim.sim.phase_transition import kinematic

# the module (the package's ``tables`` is the function of that name)
pt_tables = importlib.import_module("sparsesim.sim.phase_transition.tables")


def _face_dim_slow(row, k, signed):
    """Float64 twin of one entry of ``l1_face_dims``: t* by Brent's method on the derivative
    of the projection objective, then the face dimension counted from its definition."""
    d = row.size
    nn = d - k
    a = row[nn:].sum()
    off = np.abs(row[:nn]) if signed else row[:nn]

    def slope(t):
        return k * t - a - np.maximum(off - t, 0.0).sum()

    t = 0.0 if slope(0.0) >= 0 else optimize.brentq(slope, 0.0, 1e3, xtol=1e-14)
    if t > 0:
        return d - 1 - int((off < t).sum())
    return d - int((off < 0).sum())


def _dist2_to_polar(row, k, signed):
    """``dist(g, D°)^2 = ||Pi_D(g)||^2`` by a bounded scalar minimisation over t."""
    nn = row.size - k
    off = np.abs(row[:nn]) if signed else row[:nn]
    sup = row[nn:]
    res = optimize.minimize_scalar(
        lambda t: ((sup - t) ** 2).sum() + (np.maximum(off - t, 0.0) ** 2).sum(),
        bounds=(0.0, 50.0), method="bounded", options={"xatol": 1e-12})
    return float(res.fun)


@pytest.mark.parametrize("signed", [True, False])
def test_face_dims_equal_the_slow_twin(signed):
    g = np.random.default_rng(11).standard_normal((400, 25))
    ks = [1, 2, 6, 13, 24, 25]
    fast = theory.l1_face_dims(g, ks, signed=signed)
    slow = np.array([[_face_dim_slow(r, k, signed) for r in g] for k in ks])
    np.testing.assert_array_equal(fast, slow)
    assert fast.shape == (len(ks), 400)
    np.testing.assert_array_equal(theory.l1_face_dims(g, 6, signed=signed), slow[2])


def test_full_support_is_a_half_space():
    g = np.random.default_rng(0).standard_normal((20000, 7))
    J = theory.l1_face_dims(g, 7)
    assert set(np.unique(J).tolist()) == {6, 7}
    # v_6 = v_7 = 1/2: a binomial count of 20000; |z| < 4.4 fails with probability 1e-5
    assert abs(((J == 7).sum() - 10000) / np.sqrt(5000)) < 4.4


@pytest.mark.parametrize("signed", [True, False])
def test_mean_face_dimension_is_the_statistical_dimension(signed):
    # E J = sum_j j v_j = delta(D) = E ||Pi_D(g)||^2: two estimators of one number on the same
    # draws (paired), and ALMT's bracket [d psi - 2 sqrt(d/k), d psi] (signed) around it.
    d, k = 60, 9
    g = np.random.default_rng(5).standard_normal((3000, d))
    J = theory.l1_face_dims(g, k, signed=signed).astype(float)
    dist2 = np.array([_dist2_to_polar(r, k, signed) for r in g])
    diff = J - dist2
    # false alarm of |z| > 4.4: 1e-5
    assert abs(diff.mean() / (diff.std(ddof=1) / np.sqrt(diff.size))) < 4.4
    if signed:
        psi = d * float(theory.l1_statistical_dimension(k / d))
        se = J.std(ddof=1) / np.sqrt(J.size)
        assert psi - 2 * np.sqrt(d / k) - 4.4 * se < J.mean() < psi + 4.4 * se


def test_law_matches_basis_pursuit_solved_by_the_simulator():
    # 600 problems per k solved by HiGHS through the simulator's own path (draw_problems,
    # basis_pursuit, the success rule) against the sampled law: a binomial z per k, the
    # three |z| < 4 together fail with probability about 2e-4 under a correct law.
    d, m = 40, 20
    ks = np.array([6, 8, 10])
    p, se = theory.l1_kinematic_prob(d, m, ks, n_samples=40000, seed=1)
    for i, k in enumerate(ks):
        A, x, y = pt.draw_problems(700 + int(k), 600, d=d, m=m, k=int(k), backend="numpy")
        res = pt.basis_pursuit(A, y)
        hits = int((pt.relative_error(res.x, x) <= pt.SUCCESS_TOL).sum())
        z = (hits - 600 * p[i]) / np.sqrt(600 * p[i] * (1 - p[i]) + 600 ** 2 * se[i] ** 2)
        assert abs(z) < 4.0, (k, hits, p[i])
    # the law does fall through the transition here (the check has something to see)
    assert p[0] > 0.8 and p[2] < 0.3


def test_kinematic_prob_batches_and_arguments():
    p, se, per = theory.l1_kinematic_prob(100, 50, [12, 20], n_samples=1000, seed=3, groups=5)
    assert per.shape == (5, 2)
    np.testing.assert_allclose(per.mean(axis=0), p, atol=1e-12)
    assert (se >= 0).all() and (se <= 1 / np.sqrt(1000) + 1e-12).all()
    assert p[0] == 1.0 and se[0] == 0.0      # no draw exceeds m at k = 12: exactly 1
    # a value does not depend on the other k asked for (the draws are shared)
    q, _ = theory.l1_kinematic_prob(100, 50, 20, n_samples=1000, seed=3)
    assert float(q) == p[1]
    for kwargs, name in [(dict(d=10, m=11, k=2), "m"), (dict(d=10, m=5, k=6), "k"),
                         (dict(d=10, m=5, k=0), "k"), (dict(d=10, m=5, k=2, n_samples=1),
                                                       "n_samples"),
                         (dict(d=10, m=5, k=2, n_samples=10, groups=6), "groups")]:
        with pytest.raises(ValueError, match=name):
            theory.l1_kinematic_prob(**kwargs)
    with pytest.raises(TypeError, match="k"):
        theory.l1_kinematic_prob(10, 5, 2.0)
    with pytest.raises(ValueError, match="k"):
        theory.l1_face_dims(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="g"):
        theory.l1_face_dims(np.zeros(3), 1)


@pytest.mark.parametrize("signed", [True, False])
def test_quadrature_twin_equals_the_closed_form(signed):
    delta = np.array([0.05, 0.2, 0.5, 0.8, 0.95])
    np.testing.assert_allclose(theory.l1_phase_transition_quadrature(delta, signed=signed),
                               theory.l1_phase_transition(delta, signed=signed), rtol=1e-9)
    with pytest.raises(ValueError, match="delta"):
        theory.l1_phase_transition_quadrature(0.001)


def test_law_drifts_onto_its_limit():
    # The 50 % point of the exact law at fixed delta = 0.5 approaches rho_W from above as d
    # grows, by about c/d (c ~ 1): the drift the extrapolated rows remove.
    lim = float(theory.l1_phase_transition_quadrature(0.5))
    offsets = []
    for d in (100, 400, 1600):
        m = d // 2
        ks = np.arange(int(0.36 * m), int(0.42 * m) + 1)
        p, _ = theory.l1_kinematic_prob(d, m, ks, n_samples=4000 if d < 1600 else 1500, seed=2)
        i = int(np.flatnonzero(p < 0.5)[0])
        k50 = ks[i - 1] + (p[i - 1] - 0.5) / (p[i - 1] - p[i])
        offsets.append(k50 / m - lim)
    assert offsets[0] > offsets[1] > 0 and abs(offsets[2]) < 0.0025
    assert 0.4 < offsets[0] * 100 < 2.5


# ---- the stored cache -------------------------------------------------------------------


def test_stored_values_are_the_law():
    store = json.loads(kinematic.CACHE_PATH.read_text())["entries"]
    assert len(store) >= 300
    keys = sorted(store)
    # every d in the store, the smallest (d, m) groups first: cheap, and all of them
    picked = {}
    for key in keys:
        d, m, k, n, g = (int(v) for v in key.split(","))
        picked.setdefault(d, (d, m, k, n, g, key))
    for d, m, k, n, g, key in picked.values():
        p, se, per = theory.l1_kinematic_prob(d, m, k, n_samples=n, seed=[d, m, kinematic.SEED_TAG],
                                              groups=g)
        # equal to the last bits a float reduction may differ in between CPUs (the face
        # dimensions themselves are integers)
        got = np.array([float(p), float(se), *[float(v) for v in per]])
        want = np.array([store[key][0], store[key][1], *store[key][2]])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=key)


def test_a_patched_law_never_reads_the_store(monkeypatch):
    key = kinematic.cached_keys()[0]
    d, m, k, n, g = (int(v) for v in key.split(","))
    calls = []

    def fake(d_, m_, ks, **kw):
        calls.append(list(ks))
        z = np.full(len(ks), 0.25)
        return z, z * 0, np.tile(z, (kw["groups"], 1))

    p, _, _ = kinematic.exact_curve(fake, d, m, [k], n_samples=n, groups=g)
    assert calls == [[k]] and p[0] == 0.25
    stored, _, _ = kinematic.exact_curve(theory.l1_kinematic_prob, d, m, [k], n_samples=n,
                                         groups=g)
    assert stored[0] == json.loads(kinematic.CACHE_PATH.read_text())["entries"][key][0]


def test_every_value_the_committed_tables_read_is_stored():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "results"
    for folder in ("phase_transition", "phase_transition_l1"):
        cells = pd.read_csv(root / folder / "cells.csv")
        for d, m, ks in pt_tables.kinematic_cells(cells):
            for k in ks:
                assert f"{d},{m},{k},{pt_tables.KIN_SAMPLES},{pt_tables.KIN_GROUPS}" in \
                    kinematic.cached_keys(), (folder, d, m, k)


# ---- the tables: planted errors in the finite-d law ---------------------------------------


def _exact_law_sweep(ds=(100, 200), deltas=(0.3, 0.5), n=2000, seed=4):
    """Cells drawn (fixed seed) from the exact law itself, ``n`` problems per cell at every
    k within the transition: a sweep whose finite-d 50 % points are the law's."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in ds:
        for delta in deltas:
            m = int(round(delta * d))
            ks = np.arange(max(1, int(0.2 * m)), int(0.55 * m) + 1)
            p, _ = theory.l1_kinematic_prob(d, m, ks, n_samples=4000, seed=[seed, d, m])
            p = np.clip(p, 0.0, 1.0)
            for k, pk in zip(ks, p):
                s = int(rng.binomial(n, pk))
                rows.append(dict(pt.DEFAULTS, algorithms="l1", algorithm="l1", nonzeros="sign",
                                 d=d, delta=delta, rho=k / m, m=m, k=int(k), n_trials=n,
                                 successes=s, successes_linf=s, success_rate=s / n,
                                 success_stderr=0.0))
    return pd.DataFrame(rows)


def _kin_rows(cells):
    l1 = pt_tables.transitions(cells)
    return pt_tables.kinematic_transitions(l1[l1.algorithm == "l1"], cells, n_samples=4000,
                                           groups=10)


def _z(kin):
    return ((kin.rho_hat - kin.rho_kin) / np.sqrt(kin.se ** 2 + kin.se_kin ** 2)).to_numpy()


@pytest.mark.parametrize("shift", [2, -2])
def test_per_d_rows_see_a_planted_error_in_the_finite_d_law(monkeypatch, shift):
    # A law two measurements off (P(d, m + shift, k): the Crofton index or the face count
    # wrong by two) moves rho_kin by about 0.8/m in the direction of the shift; at 2000
    # problems per cell the rows see it, the true law's rows do not (|z| < 3.5: false alarm
    # 5e-4 per row).
    cells = _exact_law_sweep()
    base = _z(_kin_rows(cells))
    assert len(base) == 4 and (np.abs(base) < 3.5).all(), base
    real = theory.l1_kinematic_prob
    monkeypatch.setattr(theory, "l1_kinematic_prob",
                        lambda d, m, k, **kw: real(d, min(d, m + shift), k, **kw))
    planted = _z(_kin_rows(cells))
    # a law that succeeds more often (shift > 0) puts rho_kin above the data: z < 0
    assert (np.sign(planted) == -np.sign(shift)).all() and (np.abs(planted) > 3.5).sum() >= 3, \
        planted
