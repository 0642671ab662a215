"""Pre-registered claims: declared in the sweep TOML, recorded in every cell, judged there.

A claim the cells do not carry (a run made before it was declared, or cells of
different declarations mixed) reads "post hoc" and never gets ✓ or ✗; the
reproduction's equivalence (TOST) rows turn when the published numbers move.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from sparsesim.report import judge
from sparsesim.sim import lottery as sim
from sparsesim.sim.lottery import published as pub_mod
from sparsesim.sweep import load_config
from sparsesim.sweep.config import ConfigError
from test_lottery import SEED_DECLARATIONS, _declared, _synthetic_cells


def _verdicts(cells):
    tabs = [t for t in sim.tables(cells) if t.kind == "claim"]
    j = judge(tabs)
    return {t.title: list(v) for t, v in zip(tabs, j.verdicts)}, tabs, j


# --------------------------------------------------------------------------- post hoc

def test_cells_without_declarations_read_post_hoc_never_a_verdict():
    """The same numbers that give six ✓ when declared give no verdict when not declared."""
    declared = _synthetic_cells(0.70, 0.50, 0.75, n_seeds=12, noise=0.01)
    undeclared = _synthetic_cells(0.70, 0.50, 0.75, n_seeds=12, noise=0.01, claims=None)
    v_decl, _, _ = _verdicts(declared)
    v_none, tabs, j = _verdicts(undeclared)
    title = "The lottery-ticket claims, pre-registered and tested"
    assert v_decl[title] == [True] * 6
    assert all(str(v).startswith("post hoc: not declared") for v in v_none[title])
    assert j.post_hoc == 10 and j.n_tests == 0   # 6 seed claims + 4 published-pattern rows
    frame = tabs[0].frame
    assert frame["p_claim"].isna().all() and set(frame["test"]) == {"—"}
    assert frame["ours"].iloc[0].startswith("+10.")   # the numbers are still shown
    assert "post hoc" in j.agreement_line()


def test_a_claim_declared_after_its_cells_is_post_hoc():
    """Cells that declared only claim (a) at 21 %: every other seed claim is post hoc."""
    only_a = [c for c in SEED_DECLARATIONS if c["id"] == "a_acc_21"]
    cells = _synthetic_cells(0.70, 0.50, 0.75, n_seeds=12, noise=0.01, claims=only_a)
    v, _, _ = _verdicts(cells)
    claims = v["The lottery-ticket claims, pre-registered and tested"]
    assert claims[0] is True
    assert all(str(x).startswith("post hoc") for x in claims[1:])
    pattern = v["MNIST-1D: the published pattern (lottery above random), tested on our seeds"]
    assert all(str(x).startswith("post hoc") for x in pattern)


def test_cells_of_different_declarations_mixed_are_post_hoc():
    a = _synthetic_cells(0.70, 0.50, 0.75, n_seeds=6, noise=0.01)
    b = _synthetic_cells(0.70, 0.50, 0.75, n_seeds=6, noise=0.01, seed=1,
                         claims=SEED_DECLARATIONS[:2])
    b["seed"] += 6
    v, _, _ = _verdicts(pd.concat([a, b], ignore_index=True))
    flat = [x for vs in v.values() for x in vs]
    assert all(str(x).startswith("post hoc: the cells carry different claim declarations")
               for x in flat)


def test_a_declared_claim_is_judged_at_its_declared_density_only():
    """A claim declared at 0.08 is judged at the 0.08 round, whatever the others show."""
    decl = [dict(id="x", x="lottery", y="reinit", metric="test_accuracy", direction="greater",
                 density=0.08)]
    cells = _synthetic_cells(0.70, 0.50, 0.75, n_seeds=12, noise=0.01, claims=decl)
    _, tabs, _ = _verdicts(cells)
    row = tabs[0].frame[tabs[0].frame["claim id"] == "x"]
    assert len(row) == 1 and float(row["density"].iloc[0]) == 0.08
    assert row["kind"].iloc[0] == "claim"


# --------------------------------------------------------------------------- the TOML

_TOML = """
[sim]
name = "lottery_mnist1d"
seed = 1

[params]
schedule = "densities"
densities = "0.5,0.2,0.05,0.03"
hidden = "8"
steps = 5

[grid]
condition = ["dense", "lottery", "reinit"]
seed = [0, 1]
"""

_CLAIM = """
[[claims]]
id = "b"
x = "lottery"
y = "reinit"
metric = "test_accuracy"
direction = "greater"
density = {density}
"""


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_claims_are_recorded_in_every_cell_and_in_the_config_hash(tmp_path):
    plain = load_config(_write(tmp_path, _TOML, "plain.toml"))
    one = load_config(_write(tmp_path, _TOML + _CLAIM.format(density=0.21), "one.toml"))
    other = load_config(_write(tmp_path, _TOML + _CLAIM.format(density=0.036), "two.toml"))
    assert all(c["claims"] == "" for c in plain.cells) and plain.claims == ()
    recorded = {c["claims"] for c in one.cells}
    assert len(recorded) == 1
    (blob,) = recorded
    assert json.loads(blob) == [dict(id="b", test="paired", x="lottery", y="reinit",
                                     metric="test_accuracy", direction="greater",
                                     density=0.21)]
    assert len({plain.config_hash, one.config_hash, other.config_hash}) == 3
    # quick keeps the declaration
    quick = _TOML + "[quick.params]\nsteps = 2\n" + _CLAIM.format(density=0.21)
    assert {c["claims"] for c in load_config(_write(tmp_path, quick, "q.toml"),
                                             quick=True).cells} == {blob}


@pytest.mark.parametrize("claim, match", [
    ('id = "b"\nx = "rewind"\ny = "dense"\nmetric = "test_accuracy"\ndirection = "greater"\n'
     'density = 0.2', r"claims\[0\] \('b'\): x = 'rewind' is not a condition of the sweep"),
    ('id = "b"\nx = "lottery"\ny = "dense"\nmetric = "loss"\ndirection = "greater"\n'
     'density = 0.2', r"claims\[0\] \('b'\): metric must be one of"),
    ('id = "b"\nx = "lottery"\ny = "dense"\nmetric = "test_accuracy"\ndirection = "up"\n'
     'density = 0.2', r"direction must be one of"),
    ('id = "b"\nx = "lottery"\ny = "dense"\nmetric = "test_accuracy"\ndirection = "greater"\n'
     'density = 0.001', r"density = 0.001 is never reached by the pruning schedule"),
    ('id = "b"\nx = "lottery"\ny = "dense"\nmetric = "test_accuracy"\ndirection = "greater"\n'
     'density = 1.5', r"density must be in \(0, 1\)"),
    ('id = "b"\nx = "lottery"\ny = "dense"\nmetric = "test_accuracy"\ndirection = "greater"\n'
     'density = 0.2\nwhere = 3', r"unknown key 'where'"),
    ('id = "b"\ntest = "tost"\nx = "lottery"\ny = "published"\nmetric = "test_accuracy"\n'
     'density = 0.2\nmargin = 2.0', r"no published value for 'lottery' at density 0.2"),
    ('id = "b"\ntest = "tost"\nx = "lottery"\ny = "published"\nmetric = "test_accuracy"\n'
     'density = 0.05', r"missing key 'margin'"),
    ('x = "lottery"', r"claims\[0\]\.id must be a non-empty string"),
])
def test_bad_claims_fail_before_any_work_naming_the_key(tmp_path, claim, match):
    text = _TOML + "\n[[claims]]\n" + claim + "\n"
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, text))


def test_duplicate_ids_and_claims_as_a_parameter_are_refused(tmp_path):
    twice = _TOML + _CLAIM.format(density=0.21) + _CLAIM.format(density=0.036)
    with pytest.raises(ConfigError, match=r"claims\[1\]\.id 'b' is declared twice"):
        load_config(_write(tmp_path, twice))
    direct = _TOML.replace('steps = 5', 'steps = 5\nclaims = "[]"')
    with pytest.raises(ConfigError, match="declare claims with \\[\\[claims\\]\\] tables"):
        load_config(_write(tmp_path, direct))


def test_a_simulation_without_claims_refuses_them(tmp_path):
    text = textwrap.dedent("""
        [sim]
        name = "best_k_term"
        [grid]
        n = [16]
        [[claims]]
        id = "x"
    """)
    with pytest.raises(ConfigError, match="takes no pre-registered claims"):
        load_config(_write(tmp_path, text))


# --------------------------------------------------------------------------- TOST

_TOST = [dict(id=f"repro_{cond}_{d}", test="tost", x=cond, y="published",
              metric="test_accuracy", density=d, margin=2.0)
         for cond in ("lottery", "random") for d in (0.08, 0.05, 0.02, 0.01)]


def _published_cells(n_seeds=12, sd=0.003):
    """Cells whose lottery/random accuracy at each published density is the published mean."""
    rng = np.random.default_rng(7)
    rows = []
    blob = _declared(_TOST)
    dens = [0.5, 0.21, 0.08, 0.05, 0.036, 0.02, 0.01]
    for s in range(n_seeds):
        common = dict(seed=s, dataset="mnist1d", claims=blob, rewind_step=0, eval_every=100,
                      n_validation=0)
        rows.append(dict(condition="dense", round=0, density=1.0, test_accuracy=0.6,
                         test_accuracy_early_stop=0.6, early_stop_iter=1501, **common))
        for r, d in enumerate(dens, start=1):
            for cond in ("lottery", "random"):
                ref = sim.claims.published_reference(cond, d)
                acc = (ref if ref is not None else 50.0) / 100 + sd * rng.normal()
                rows.append(dict(condition=cond, round=r, density=d, test_accuracy=acc,
                                 test_accuracy_early_stop=acc, early_stop_iter=1501, **common))
    return pd.DataFrame(rows)


def _tost_verdicts(cells):
    tabs = sim.tables(cells)
    eq = [t for t in tabs if "equivalence" in t.title]
    assert len(eq) == 1
    j = judge([t for t in tabs if t.kind in ("claim", "test", "interval")])
    i = [t for t in tabs if t.kind in ("claim", "test", "interval")].index(eq[0])
    return list(j.verdicts[i]), eq[0].frame


@pytest.mark.parametrize("shift, expected", [
    (0.0, True),             # our mean = the published mean: equivalent within ±2
    (+2.0, "inconclusive"),  # exactly at the margin: neither side rejects
    (-2.0, "inconclusive"),
    (+3.0, False),           # 3 points off with sd 0.3: different
    (-3.0, False),
])
def test_planted_shift_of_the_published_numbers_turns_the_tost_rows(monkeypatch, shift,
                                                                    expected):
    """The shift goes through the published table every TOST row reads."""
    cells = _published_cells()
    planted = {sp: {c: tuple(v + shift for v in vals) for c, vals in row.items()}
               for sp, row in pub_mod.PUBLISHED_MNIST1D.items()}
    monkeypatch.setattr(pub_mod, "PUBLISHED_MNIST1D", planted)
    monkeypatch.setattr(sim.claims, "PUBLISHED_MNIST1D", planted)
    v, frame = _tost_verdicts(cells)
    assert len(v) == 8
    assert v == [expected] * 8, frame[["claim", "ours − published (points, 95 % CI)",
                                       "p_claim", "p_opposite"]].to_string()


def test_tost_rows_print_the_margin_their_seeds_could_show():
    """Each TOST row prints the smallest margin its seeds show at 80 % power (its own sd,
    α / m over the file's 8 claims): at sd ≈ 0.3 points and 12 seeds, far below ±2."""
    from sparsesim.stats import equivalence_min_margin
    cells = _published_cells()
    _, frame = _tost_verdicts(cells)
    for _, row in frame.iterrows():
        cond, dens = row["claim id"].split("_")[1], 1.0 - row["sparsity"]
        at = cells[(cells.condition == cond) & np.isclose(cells.density, dens)]
        sd = float((at.test_accuracy * 100).std(ddof=1))
        want = equivalence_min_margin(sd, 12, 0.01, 8)
        assert row["detectable at 80 % power"] == f"margin ±{want:.2f} points"
        assert want < 2.0


def test_tost_rows_need_two_seeds():
    v, frame = _tost_verdicts(_published_cells(n_seeds=1))
    assert all(str(x).startswith("not testable: 1 seed(s)") for x in v)
