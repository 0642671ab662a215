"""The rewinding study (sparsesim.sim.rewinding): LMC helpers, statistics, end to end.

No statistical test here: the end-to-end checks are exact properties of the
protocol (batch independence, the Hessian agreeing with a dense solve, the
path endpoints agreeing with the endpoint networks).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backends import backend_of, both_backends
from sparsesim.nn import init_mlp, mlp
from sparsesim.sim import rewinding as rw
from sparsesim.stats import spearman

TINY = dict(dataset="teacher", width=8, depth=2, residual=True, steps=24, batch_size=20,
            lr=1e-2, optimizer="adam", eval_every=8, prune_fraction=0.5, rounds=2,
            output_rate=0.5, n_hessian=40, lanczos_k=2, lanczos_tol=1e-8,
            lanczos_maxiter=500, lmc_points=5, slq_probes=2, slq_steps=10, slq_rtol=0.01,
            dtype="float64", teacher_width=6, teacher_density=0.3, teacher_noise=0.0,
            n_train=120)


def _ctx(sweep_seed=3):
    return SimpleNamespace(seed=np.random.SeedSequence(0), sweep_seed=sweep_seed,
                           backend="numpy", progress=lambda _t: None)


# --------------------------------------------------------------------------- LMC helpers

def test_error_barrier_definition():
    e = np.array([[0.2, 0.3, 0.6, 0.3, 0.1], [0.1, 0.1, 0.1, 0.1, 0.1]])
    np.testing.assert_allclose(rw.error_barrier(e), [0.6 - 0.15, 0.0])


def test_interpolation_endpoints_and_chunking():
    # Falsified if alpha = 0 / 1 did not reproduce the endpoint networks'
    # errors, or if evaluating in chunks changed anything.
    rng = np.random.default_rng(0)
    a = init_mlp((5, 7, 3), 4, seed=1, backend="numpy", dtype=np.float64)
    b = init_mlp((5, 7, 3), 4, seed=2, backend="numpy", dtype=np.float64)
    X, y = rng.standard_normal((60, 5)), rng.integers(0, 3, 60)
    alphas = np.linspace(0, 1, 6)
    e = rw.interpolation_errors(a, b, X, y, alphas)
    np.testing.assert_allclose(e[:, 0], 1 - mlp.accuracy(a, X, y))
    np.testing.assert_allclose(e[:, -1], 1 - mlp.accuracy(b, X, y))
    mid = [((W1 + W2) / 2, (b1 + b2) / 2) for (W1, b1), (W2, b2) in zip(a, b)]
    np.testing.assert_allclose(e[:, [0, -1]].shape, (4, 2))
    e_half = rw.interpolation_errors(a, b, X, y, [0.5])
    np.testing.assert_allclose(e_half[:, 0], 1 - mlp.accuracy(mid, X, y))
    np.testing.assert_array_equal(rw.interpolation_errors(a, b, X, y, alphas, max_models=6), e)
    # a network interpolated with itself has no barrier
    assert np.all(rw.error_barrier(rw.interpolation_errors(a, a, X, y, alphas)) == 0)


def test_interpolation_bad_alphas():
    a = init_mlp((2, 3), 1, seed=0, backend="numpy", dtype=np.float64)
    with pytest.raises(ValueError, match="alphas"):
        rw.interpolation_errors(a, a, np.ones((2, 2)), np.zeros(2, int), [0.0, 1.5])


# --------------------------------------------------------------------------- statistics

def test_spearman_exact_small_n():
    rho, p, n = spearman(np.array([1.0, 2, 3, 4]), np.array([4.0, 3, 2, 1]))
    # exact: 2 of the 24 permutations reach |rho| = 1
    assert rho == pytest.approx(-1.0) and n == 4 and p == pytest.approx(2 / 24)
    rho, p, n = spearman(np.array([1.0, np.nan, 3]), np.array([1.0, 2, 3]))
    assert n == 2 and np.isnan(rho)


def test_conditioning_statement_follows_the_data():
    taus = [0, 1, 2, 5, 10, 20]
    rows = []
    for s in (0, 1):
        for i, t in enumerate(taus):
            rows.append(dict(dataset="d", seed=s, tau=t, lambda_max=10.0 - i,
                             condition_number=np.nan, n_negative_slq=5.0, neg_ratio=0.1 * i,
                             lmc_barrier=0.01 * (6 - i), test_accuracy=0.5 + 0.01 * i))
    frame, text = rw.conditioning_vs_tickets(pd.DataFrame(rows))
    lam = frame[frame["measure"] == "λ_max"].iloc[0]
    assert lam["spearman_rho"] == pytest.approx(-1.0)
    assert lam["p_value_spearman"] == pytest.approx(2 / 720)
    # three computable correlations, each p = 2/720 < 0.05/3: significant after Holm
    assert "went together" in text and "significant after Holm's correction" in text
    assert "not significant" not in text
    assert np.isnan(frame[frame["measure"] == "κ (PD points)"]["spearman_rho"]).all()


# --------------------------------------------------------------------------- validation

def test_bad_parameters_raise_naming_them():
    with pytest.raises(ValueError, match="tau must be in"):
        rw.valid_cell({**TINY, "seed": 0, "tau": 24})
    with pytest.raises(ValueError, match="dataset must be one of"):
        rw.valid_cell({**TINY, "seed": 0, "tau": 0, "dataset": "cifar"})
    with pytest.raises(ValueError, match="prune_fraction must be in"):
        rw.valid_cell({**TINY, "seed": 0, "tau": 0, "prune_fraction": 1.0})
    with pytest.raises(ValueError, match="lmc_points"):
        rw.valid_cell({**TINY, "seed": 0, "tau": 0, "lmc_points": 1})
    assert rw.valid_cell({**TINY, "seed": 0, "tau": 23})
    assert set(rw.DEFAULTS) <= set(rw.PARAMS)


def test_batch_key_ignores_seed_and_tau_only():
    a = rw.batch_key({**TINY, "seed": 0, "tau": 0})
    assert a == rw.batch_key({**TINY, "seed": 5, "tau": 7})
    assert a != rw.batch_key({**TINY, "seed": 0, "tau": 0, "lr": 0.5})


# --------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def tiny_rows():
    cells = [{**TINY, "seed": s, "tau": t} for s in (0, 1) for t in (0, 4)]
    rows = rw.run_cells(cells, [_ctx()] * len(cells))
    return cells, rows


def test_rows_are_flat_and_sane(tiny_rows):
    cells, rows = tiny_rows
    assert len(rows) == 4
    for row in rows:
        assert all(np.isscalar(v) for v in row.values())
        assert 0.0 <= row["test_accuracy"] <= 1.0 and 0.0 <= row["lmc_error_max"] <= 1.0
        assert row["lmc_barrier"] >= 0.0                    # max >= mean of the endpoints
        assert row["lambda_min"] <= row["lambda_max"]
        assert row["lanczos_converged"]
    # round 1 keeps half the hidden weights, round 2 half again (output at half rate)
    assert rows[0]["density"] < 0.5
    # the dense reference is shared by the tickets of one seed
    assert rows[0]["dense_test_accuracy"] == rows[1]["dense_test_accuracy"]


def test_cells_do_not_depend_on_their_batch(tiny_rows):
    # A cell run alone must give the numbers it gave inside the batch: seeds
    # derive from (sweep seed, replicate seed, data set) only.
    cells, rows = tiny_rows
    alone = rw.run_cell(cells[3], _ctx())
    for key in ("density", "test_accuracy", "early_stop_iter", "lmc_barrier",
                "test_accuracy_copy_b", "loss_at_rewind"):
        assert alone[key] == pytest.approx(rows[3][key], rel=1e-9, abs=1e-12), key
    assert alone["lambda_max"] == pytest.approx(rows[3]["lambda_max"], rel=1e-6)


def test_tau_zero_and_sweep_seed_matter(tiny_rows):
    cells, rows = tiny_rows
    other = rw.run_cell(cells[0], _ctx(sweep_seed=4))
    assert other["loss_at_rewind"] != rows[0]["loss_at_rewind"]


def test_tables_and_figures(tiny_rows, tmp_path):
    pytest.importorskip("sparsesim.report")
    cells, rows = tiny_rows
    frame = pd.DataFrame([{**c, **r} for c, r in zip(cells, rows)])
    tabs = rw.tables(frame)
    assert len(tabs) == 3
    assert all(t.p_col is None and t.agree_col is None for t in tabs)  # measured, not judged
    assert set(tabs[0].frame["tau"]) == {0, 4}
    assert "λ_max" in tabs[1].note
    paths = rw.figures(frame, tmp_path)
    assert len(paths) == 2 and all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_toml_configs_load():
    sweep = pytest.importorskip("sparsesim.sweep")
    full = sweep.load_config("rewinding_geometry")
    quick = sweep.load_config("rewinding_geometry", quick=True)
    assert sorted({c["tau"] for c in full.cells}) == [0, 1, 2, 5, 10, 20, 50, 100, 200]
    assert len(quick.cells) == 16
    assert len({rw.batch_key(c) for c in quick.cells}) == 2   # one batch per data set


@both_backends
def test_study_runs_on_each_backend_and_matches_the_numpy_geometry(xp, tiny_rows):
    # float64 end to end on either backend: the protocol runs and gives sane rows.
    # The reference is the NumPy run of the same cells inside the larger batch of
    # tiny_rows. The initial network is drawn on the host on both backends (init_mlp)
    # and the data order is seeded on the host, so the loss at the rewind point
    # agrees with NumPy up to float64 reduction rounding (rel 1e-6).
    cells = [{**TINY, "seed": 0, "tau": t} for t in (0, 4)]
    ref_cells, ref_rows = tiny_rows
    assert ref_cells[:2] == cells
    ctx = SimpleNamespace(seed=np.random.SeedSequence(0), sweep_seed=3, backend=backend_of(xp),
                          progress=lambda _t: None)
    rows = rw.run_cells(cells, [ctx] * 2)
    for r, q in zip(rows, ref_rows[:2], strict=True):
        assert r["density"] == q["density"]
        assert r["loss_at_rewind"] == pytest.approx(q["loss_at_rewind"], rel=1e-6)
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["lanczos_converged"]


def test_spearman_exact_p_value_matches_a_brute_force_enumeration_and_rejects_bad_input():
    import itertools

    from scipy import stats as sst
    x = np.array([0.3, 1.0, 0.2, 0.9, 0.5, 0.7])
    y = np.array([1.0, 3.0, 0.5, 2.0, 2.0, 4.0])          # a tie in y
    rho, p, n = spearman(x, y)
    assert rho == pytest.approx(sst.spearmanr(x, y).statistic)
    ref = np.mean([abs(sst.spearmanr(x, y[list(q)]).statistic) >= abs(rho) - 1e-12
                   for q in itertools.permutations(range(6))])
    assert p == pytest.approx(ref) and n == 6
    with pytest.raises(ValueError, match="x and y"):
        spearman(x, y[:4])
