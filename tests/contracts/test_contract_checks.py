"""The contract checks of sparsesim.testing fail on simulations that break the contract.

Each planted error goes through the same check a real one would; each good twin passes,
so a check that always fails (or never does) is caught.
"""

import itertools

import numpy as np
import pandas as pd
import pytest

from sparsesim import testing
from sparsesim.report import TheoryTable
from sparsesim.sim import Invalid, Simulation

TOML = """
[sim]
name = "{name}"
seed = 3
[params]
trials = 50
[grid]
p = [0.2, 0.5, 0.8]
[quick.grid]
p = [0.2, 0.5]
"""


def _heads(params, ctx):
    rng = np.random.default_rng(ctx.seed)
    return {"heads": int((rng.uniform(size=params["trials"]) < params["p"]).sum())}


def _tables(cells):
    frame = cells[["p", "heads"]].copy()
    frame["p_value"] = 0.5
    return [TheoryTable.tests("heads", frame, test="a test")]


def _sim(tmp_path, name="coin", **hooks):
    """A simulation with its sweep TOML in ``tmp_path``; ``hooks`` replace the good ones."""
    kw = dict(name=name, params={"p": float, "trials": int}, defaults={"trials": 10},
              valid_cell=lambda p: 0.0 <= p["p"] <= 1.0, run_cell=_heads, tables=_tables)
    kw.update(hooks)
    path = tmp_path / f"{name}.toml"
    path.write_text(TOML.format(name=name))
    return Simulation(**kw), path


def _run_all(sim, path):
    for check in testing.simulation_checks(sim, config=path):
        check(sim)


def test_a_good_simulation_passes_every_check(tmp_path):
    sim, path = _sim(tmp_path)
    _run_all(sim, path)
    assert len(testing.sweep_config(sim, config=path).cells) == 2          # the quick grid
    assert len(testing.sweep_config(sim, config=path, quick=False).cells) == 3


def test_rows_not_determined_by_the_seed_fail_two_checks(tmp_path):
    counter = itertools.count()
    sim, path = _sim(tmp_path, run_cell=lambda p, ctx: {"heads": next(counter)})
    cfg = testing.sweep_config(sim, config=path)
    with pytest.raises(AssertionError, match="differ between two runs with the same seed"):
        testing.check_seed_determines_rows(sim, cfg=cfg)
    with pytest.raises(AssertionError, match="interrupted and resumed sweep gives other rows"):
        testing.check_resume(sim, cfg=cfg)


def test_timing_columns_are_left_out_of_the_determinism_checks(tmp_path):
    clock = itertools.count()

    def timed(params, ctx):
        return {**_heads(params, ctx), "seconds": float(next(clock))}
    sim, path = _sim(tmp_path, run_cell=timed, timing_columns=("seconds",))
    cfg = testing.sweep_config(sim, config=path)
    testing.check_seed_determines_rows(sim, cfg=cfg)
    testing.check_resume(sim, cfg=cfg)


@pytest.mark.parametrize("row, what", [
    ({"heads": np.int64(3)}, "is a int64"),
    ({"heads": [1, 2]}, "is a list"),
    ({3: 1}, "row key 3 is not a str"),
])
def test_rows_that_the_journal_cannot_hold_fail(tmp_path, row, what):
    sim, path = _sim(tmp_path, run_cell=lambda p, ctx: row)
    with pytest.raises(AssertionError, match=what):
        testing.check_rows_json(sim, cfg=testing.sweep_config(sim, config=path))


def test_a_cell_without_rows_fails(tmp_path):
    sim, path = _sim(tmp_path, run_cell=lambda p, ctx: [])
    with pytest.raises(AssertionError, match="returned no row"):
        testing.check_rows_json(sim, cfg=testing.sweep_config(sim, config=path))


def test_tables_without_a_kind_per_row_fail(tmp_path):
    def untyped(cells):
        t = TheoryTable.tests("mixed", pd.DataFrame({"p_value": [0.5, 0.5],
                                                     "kind": ["test", "test"]}),
                              test="a test", kind_col="kind")
        t.frame.loc[1, "kind"] = "guess"            # a row whose kind the model lacks
        return [t]
    sim, path = _sim(tmp_path, tables=untyped)
    cfg = testing.sweep_config(sim, config=path)
    with pytest.raises(AssertionError, match="row 1: kind 'guess'"):
        testing.check_table_kinds(sim, cfg=cfg)
    sim, path = _sim(tmp_path, name="frames", tables=lambda cells: [cells])
    with pytest.raises(AssertionError, match="not a TheoryTable"):
        testing.check_table_kinds(sim, cfg=testing.sweep_config(sim, config=path))


def test_valid_cell_must_answer_the_same_without_changing_the_cell(tmp_path):
    def mutating(params):
        params["p"] = 0.0
        return True
    sim, path = _sim(tmp_path, valid_cell=mutating)
    cfg = testing.sweep_config(sim, config=path)
    with pytest.raises(AssertionError, match="changed the cell"):
        testing.check_valid_cell(sim, cfg=cfg)
    flips = itertools.cycle([True, Invalid("tired")])
    sim, path = _sim(tmp_path, name="flip", valid_cell=lambda p: next(flips))
    with pytest.raises(AssertionError, match="then Invalid"):
        testing.check_valid_cell(sim, cells=[{"p": 0.5, "trials": 3}])
    sim, path = _sim(tmp_path, name="ints", valid_cell=lambda p: 1)
    with pytest.raises(AssertionError, match="returned int"):
        testing.check_valid_cell(sim, cells=[{"p": 0.5, "trials": 3}])


def test_cells_must_hold_the_declared_parameters(tmp_path):
    sim, _ = _sim(tmp_path)
    with pytest.raises(AssertionError, match="missing parameters"):
        testing.check_declared_params(sim, cells=[{"p": 0.5}])
    with pytest.raises(AssertionError, match=r"undeclared parameters \['q'\]"):
        testing.check_declared_params(sim, cells=[{"p": 0.5, "trials": 3, "q": 1}])
    with pytest.raises(AssertionError, match="'trials' = True is not of its declared type int"):
        testing.check_declared_params(sim, cells=[{"p": 0.5, "trials": True}])


def test_parametrize_with_checks_gives_one_readable_case_per_check(tmp_path):
    sim, path = _sim(tmp_path)
    mark = testing.parametrize_with_checks([(sim, {"config": path})])
    assert mark.args[0] == ("simulation", "check")
    ids = [p.id for p in mark.args[1]]
    assert ids == [f"coin-{c.__name__}" for c in testing.CHECKS]
    with pytest.raises(TypeError, match="dict of options"):
        testing.parametrize_with_checks([(sim, path)])


def test_subset_picks_cells_of_the_sweep_only(tmp_path):
    sim, path = _sim(tmp_path)
    assert [c["p"] for c in testing.sweep_config(sim, config=path, subset=1).cells] == [0.2]
    picked = testing.sweep_config(sim, config=path, subset=lambda cs: cs[1:])
    assert [c["p"] for c in picked.cells] == [0.5]
    with pytest.raises(ValueError, match="not in the sweep"):
        testing.sweep_config(sim, config=path, subset=lambda cs: [{"p": 0.9, "trials": 50}])
    with pytest.raises(ValueError, match="subset must be"):
        testing.sweep_config(sim, config=path, subset=0)
