"""The pre-registered rewinding claims (C11) and the shared-mask protocol.

The verdict tests build cells with known effects (fixed seeds) and run them
through the simulation's tables and the report's judge, the path a real
sweep's cells take.  Each planted effect is far beyond the tests' detectable
effect (noise sd 0.5 points or 0.1 in ρ over 16 seeds), so the chance that a
verdict asserted here is wrong by chance is below the file's family-wise
α = 0.01 per assertion; with the fixed seeds each outcome is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparsesim._rounds import RoundLog
from sparsesim.report import judge
from sparsesim.sim import rewinding as rw
from sparsesim.sim.rewinding import shared as rw_shared
from sparsesim.sim.rewinding.tables import claims_table
from sparsesim.sweep import load_config
from sparsesim.sweep.config import ConfigError
from test_round_resume import Stop, _through_disk, count_calls, stop_after

TINY = dict(dataset="teacher", width=8, depth=2, residual=True, steps=24, batch_size=20,
            lr=1e-2, optimizer="adam", eval_every=8, prune_fraction=0.5, rounds=3,
            output_rate=0.5, n_hessian=40, lanczos_k=2, lanczos_tol=1e-8,
            lanczos_maxiter=500, lmc_points=5, slq_probes=2, slq_steps=10, slq_rtol=0.01,
            dtype="float64", teacher_width=6, teacher_density=0.3, teacher_noise=0.0,
            n_train=120, mask_rule="shared")
TRIPLES = ([0, 0, 0, 1, 0, 1], [0, 4, 4, 4, 0, 0], [3, 3, 2, 3, 2, 2])


# --------------------------------------------------------------------------- the protocol

def test_one_mask_per_seed_and_round_is_shared_by_every_tau():
    """Falsified if two rewind points of one seed and round got different masks."""
    rows = rw.shared_mask_study(TINY, [0, 0, 0, 0], [0, 4, 10, 20], [3, 3, 3, 3])
    assert len({(r["density"], r["active_dim"]) for r in rows}) == 1
    assert {r["prune_round"] for r in rows} == {3}
    assert len({r["lambda_max"] for r in rows}) == 4        # different starting points


def test_shared_rows_do_not_depend_on_the_other_cells_of_the_batch():
    full = rw.shared_mask_study(TINY, *TRIPLES, sweep_seed=3)
    alone = rw.shared_mask_study(TINY, [1], [4], [3], sweep_seed=3)
    pd.testing.assert_frame_equal(pd.DataFrame([full[3]]), pd.DataFrame(alone),
                                  check_exact=True)


@pytest.mark.parametrize("stop", [0, 1, 2, 3])
def test_shared_study_resumed_after_round_r_equals_the_uninterrupted_run(tmp_path,
                                                                         monkeypatch, stop):
    """Rounds: 0 dense, 1-2 fine-tuning, 3 tickets of round 2, 4 tickets of round 3.

    Falsified if any row differs, or a journaled round is trained again.
    """
    ref = rw.shared_mask_study(TINY, *TRIPLES, sweep_seed=3)
    kept = []
    with pytest.raises(Stop):
        rw.shared_mask_study(TINY, *TRIPLES, sweep_seed=3,
                             rounds=RoundLog(backend="numpy", sink=stop_after(stop, kept)))
    state = _through_disk(tmp_path, kept)
    calls = count_calls(monkeypatch, rw_shared)
    got = rw.shared_mask_study(TINY, *TRIPLES, sweep_seed=3,
                               rounds=RoundLog(state, backend="numpy"))
    assert len(calls) == 4 - stop
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(ref), check_exact=True)


def test_per_tau_cells_refuse_an_intermediate_ticket_round():
    with pytest.raises(ValueError, match="ticket_round must be 0"):
        rw.valid_cell({**TINY, "mask_rule": "per_tau", "seed": 0, "tau": 0, "ticket_round": 2})
    with pytest.raises(ValueError, match="mask_rule"):
        rw.valid_cell({**TINY, "mask_rule": "both", "seed": 0, "tau": 0})


# --------------------------------------------------------------------------- declarations

BASE = """
[sim]
name = "rewinding_geometry"
module = "sparsesim.sim.rewinding"
seed = 5
[params]
dataset = "teacher"
mask_rule = "{rule}"
prune_fraction = 0.5
rounds = 3
[grid]
ticket_round = {rounds}
tau = [0, 4, 8]
seed = [0, 1]
"""


def _cfg(tmp_path, claim, rule="shared", rounds="[3]"):
    f = tmp_path / "c.toml"
    f.write_text(BASE.format(rule=rule, rounds=rounds) + claim)
    return load_config(f)


GOOD = '[[claims]]\nid = "i"\ntest = "rewind_beats_zero"\ndensity = 0.15\nmargin = 2.0\n'


def test_claims_are_recorded_in_every_cell_with_their_ticket_round(tmp_path):
    cfg = _cfg(tmp_path, GOOD)
    blobs = {c["claims"] for c in cfg.cells}
    assert len(blobs) == 1
    (claim,) = json.loads(blobs.pop())
    assert claim["ticket_round"] == 3 and claim["metric"] == "test_accuracy"


@pytest.mark.parametrize("claim, match", [
    (GOOD.replace("0.15", "0.5"), "not a ticket round"),
    (GOOD.replace("rewind_beats_zero", "best"), "test must be one of"),
    (GOOD.replace("margin = 2.0", "margin = -1.0"), "margin must be > 0"),
    (GOOD.replace("margin = 2.0\n", ""), "missing key 'margin'"),
    (GOOD + 'x = "lambda_max"\n', "unknown key 'x'"),
    ('[[claims]]\nid = "r"\ntest = "rank"\nx = "kappa"\ndirection = "less"\ndensity = 0.15\n'
     'margin = 0.3\n', "x must be one of"),
    ('[[claims]]\nid = "r"\ntest = "rank"\nx = "lambda_max"\ndirection = "less"\n'
     'density = 0.15\nmargin = 1.3\n', "rank correlation"),
    ('[[claims]]\nid = "s"\ntest = "stable_matches_dense"\ndensity = 0.15\nbarrier = 2\n'
     'margin = 1.0\n', "barrier must be in"),
])
def test_bad_claims_fail_before_any_work_naming_the_key(tmp_path, claim, match):
    with pytest.raises(ConfigError, match=match):
        _cfg(tmp_path, claim)


def test_claims_need_shared_masks(tmp_path):
    with pytest.raises(ConfigError, match="mask_rule = 'shared'"):
        _cfg(tmp_path, GOOD, rule="per_tau", rounds="[0]")


# --------------------------------------------------------------------------- verdicts

CLAIMS = [
    {"id": "i", "test": "rewind_beats_zero", "metric": "test_accuracy", "density": 0.044,
     "ticket_round": 14, "margin": 2.0},
    {"id": "ii", "test": "rank", "metric": "test_accuracy", "x": "lambda_max",
     "direction": "less", "density": 0.044, "ticket_round": 14, "margin": 0.3},
    {"id": "iii", "test": "stable_matches_dense", "metric": "test_accuracy", "density": 0.044,
     "ticket_round": 14, "barrier": 0.02, "margin": 1.0},
]
TAUS = (0, 2, 5, 10, 20, 40, 75)


def _cells(*, boost=0.0, slope=-1.0, stable_gap=0.0, barrier=0.01, n_seeds=16, seed=0):
    """Synthetic shared-mask cells: accuracy 0.70 ± 0.5 points, ``boost`` points at τ = 10;
    λ_max a function of the accuracy rank with sign ``-slope`` (slope −1: smaller λ_max, better
    ticket); the dense network ``stable_gap`` points above the tickets."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_seeds):
        dense = 0.70 + stable_gap / 100
        for t in TAUS:
            acc = 0.70 + rng.normal(0, 0.005) + (boost / 100 if t == 10 else 0.0)
            rows.append({"seed": s, "tau": t, "prune_round": 14, "mask_rule": "shared",
                         "test_accuracy": acc, "dense_test_accuracy": dense,
                         "lmc_barrier": barrier, "claims": json.dumps(CLAIMS)})
    c = pd.DataFrame(rows)
    c["lambda_max"] = 5.0 + slope * 100 * (c["test_accuracy"] - 0.70) \
        + rng.normal(0, 0.02, len(c))
    return c


def _verdicts(cells):
    table = claims_table(cells)
    j = judge([table])
    return dict(zip(table.frame["claim id"], j.verdicts[0]))


def test_rewind_beats_zero_turns_with_a_planted_effect_either_way():
    """(i): a +3-point τ turns it ✓; the same τ planted 3 points down leaves every τ below
    τ = 0 + margin: ✗."""
    assert _verdicts(_cells(boost=3.0))["i"] is True
    assert _verdicts(_cells(boost=-3.0))["i"] is False


def test_rank_claim_turns_with_the_sign_of_the_association():
    assert _verdicts(_cells(slope=-1.0))["ii"] is True
    assert _verdicts(_cells(slope=+1.0))["ii"] is False


def test_stable_matches_dense_turns_with_a_planted_gap_and_needs_stable_tickets():
    assert _verdicts(_cells(stable_gap=0.0))["iii"] is True
    assert _verdicts(_cells(stable_gap=3.0))["iii"] is False
    v = _verdicts(_cells(barrier=0.05))["iii"]
    assert isinstance(v, str) and v.startswith("not testable") and "stable" in v


def test_cells_without_declarations_give_no_claims_table():
    assert claims_table(_cells().drop(columns="claims")) is None
    assert claims_table(_cells().assign(claims="")) is None


def test_correlation_table_is_holm_corrected_across_its_rows():
    """An uncorrected p of 0.02 among 5 correlations is not called significant."""
    rows = []
    rng = np.random.default_rng(1)
    for t in range(9):
        for s in range(3):
            rows.append({"dataset": "mnist1d", "tau": t, "seed": s,
                         "test_accuracy": 0.6 + 0.01 * t + rng.normal(0, 0.001),
                         "lambda_max": float(rng.normal()), "condition_number": np.inf,
                         "n_negative_slq": float(rng.normal()),
                         "neg_ratio": 1.0 + 0.01 * t + rng.normal(0, 0.02),
                         "lmc_barrier": float(rng.normal())})
    frame, statement = rw.conditioning_vs_tickets(pd.DataFrame(rows))
    assert "uncorrected" in statement
    for _, r in frame.iterrows():
        if r["p_value_spearman"] == r["p_value_spearman"] and r["p_value_spearman"] > 0.0125:
            assert "not significant after Holm" in r["verdict"]


# --------------------------------------------------------------------------- committed cells

COMMITTED = Path(__file__).resolve().parent.parent / "results" / "rewinding_claims" / "cells.csv"


def _plant(cells, claim_id, how):
    """A copy of the committed cells with an effect planted at the claim's ticket round."""
    c = cells.copy()
    (claim,) = [k for k in json.loads(c["claims"].iloc[0]) if k["id"] == claim_id]
    at = c["prune_round"] == claim["ticket_round"]
    rng = np.random.default_rng(7)
    if how == "tau10_up":                         # one rewind point 10 points better
        c.loc[at & (c["tau"] == 10), "test_accuracy"] += 0.10
    elif how == "all_tau_down":                   # every rewind point 10 points worse
        c.loc[at & (c["tau"] > 0), "test_accuracy"] -= 0.10
    elif how in ("lambda_with", "lambda_against"):  # λ_max ranked with (or against) accuracy
        sign = -1.0 if how == "lambda_with" else 1.0
        c.loc[at, "lambda_max"] = 5.0 + sign * 100 * c.loc[at, "test_accuracy"]
    elif how in ("dense_matches", "dense_above"):
        c.loc[at, "lmc_barrier"] = 0.0            # every ticket stable
        mean = c[at].groupby("seed")["test_accuracy"].transform("mean")
        noise = rng.normal(0, 0.003, at.sum())
        c.loc[at, "dense_test_accuracy"] = mean + noise + (0.10 if how == "dense_above" else 0)
    return c


@pytest.mark.parametrize("claim_id, how, verdict", [
    ("i_rewind_beats_zero_04", "tau10_up", True),
    ("i_rewind_beats_zero_04", "all_tau_down", False),
    ("ii_lambda_max_rank_04", "lambda_with", True),
    ("ii_lambda_max_rank_04", "lambda_against", False),
    ("iii_stable_matches_dense_04", "dense_matches", True),
    ("iii_stable_matches_dense_04", "dense_above", False),
])
def test_planted_effects_in_the_committed_cells_turn_each_claim(claim_id, how, verdict):
    """On the committed run, each claim family turns ✓ and ✗ with an effect planted
    through the cells' columns (the path a real effect takes); the claim's Holm family is
    the file's six claims."""
    cells = pd.read_csv(COMMITTED)
    got = _verdicts(_plant(cells, claim_id, how))
    assert got[claim_id] is verdict


def test_judge_claims_refuses_a_bad_alpha():
    from sparsesim.sim.rewinding.claims import judge_claims

    with pytest.raises(ValueError, match="alpha must be in"):
        judge_claims(_cells(), 1.5)
