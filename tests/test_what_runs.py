"""What the user asked is what runs, or they are told (sparsesim.sweep.config).

Cells a simulation drops (``valid_cell``) are listed with their reason;
parameters it caps (``caps``) are stated before the run and in the report,
and ``cells.csv`` holds the value run under the parameter's name and the
request in ``<name>_requested``; ``--quick`` on a TOML without ``[quick]`` is
an error naming the file.
"""

import io
from pathlib import Path

import pandas as pd
import pytest

from sparsesim import api
from sparsesim.backend import make_rng, to_numpy
from sparsesim.cli import main
from sparsesim.sim import Invalid, Simulation
from sparsesim.sim.best_k_term import valid_cell as bkt_valid
from sparsesim.sim.support_recovery import caps as sr_caps
from sparsesim.sim.support_recovery import valid_cell as sr_valid
from sparsesim.sweep import ConfigError, load_config, run_sweep

TOML = """
[sim]
name = "coins"
seed = 3
[params]
trials = {trials}
max_samples = 400
[grid]
p = [0.2, 0.5, 3.0]
n = [1, 10]
{quick}
"""


def _coin_cell(params, ctx):
    rng = make_rng(ctx.seed, ctx.backend)
    run = min(params["trials"], params["max_samples"] // params["n"])
    return {"n_trials": run,
            "heads": int(to_numpy((rng.uniform(run * params["n"]) < params["p"]).sum()))}


def _valid(params):
    return True if params["p"] <= 1 else Invalid("p > 1 is not a probability")


def _caps(params):
    run = min(params["trials"], params["max_samples"] // params["n"])
    return {"trials": (run, "max_samples // n")} if run != params["trials"] else {}


COINS = Simulation(name="coins", params={"p": float, "n": int, "trials": int, "max_samples": int},
                   valid_cell=_valid, caps=_caps, run_cell=_coin_cell)


def _toml(tmp_path, trials=100, quick="[quick.params]\ntrials = 5"):
    path = tmp_path / "coins.toml"
    path.write_text(TOML.format(trials=trials, quick=quick))
    return path


def test_dropped_cells_are_listed_with_their_reason(tmp_path):
    cfg = load_config(_toml(tmp_path), simulation=COINS)
    assert [c["p"] for c in cfg.cells] == [0.2, 0.2, 0.5, 0.5]
    assert [(c["p"], c["n"], why) for c, why in cfg.dropped] == \
        [(3.0, 1, "p > 1 is not a probability"), (3.0, 10, "p > 1 is not a probability")]
    line = cfg.notes()[0]
    assert line.startswith("dropped 2 of 6 grid cells: 2 because p > 1 is not a probability")
    assert "p=3.0, n=1; p=3.0, n=10" in line


@pytest.mark.parametrize("returned, reason", [
    (False, "rejected by coins.valid_cell"),
    (None, "coins.valid_cell returned None"),
    ("n too small", "n too small"),
])
def test_a_plain_bool_valid_cell_still_works_and_gets_a_generic_reason(tmp_path, returned,
                                                                       reason):
    sim = Simulation(name="coins", params=COINS.params, run_cell=_coin_cell,
                     valid_cell=lambda c: True if c["n"] == 1 else returned)
    cfg = load_config(_toml(tmp_path), simulation=sim)
    assert {c["n"] for c in cfg.cells} == {1}
    assert {why for _, why in cfg.dropped} == {reason}


def test_a_grid_with_no_valid_cell_says_why(tmp_path):
    sim = Simulation(name="coins", params=COINS.params, run_cell=_coin_cell,
                     valid_cell=lambda c: Invalid("k > d"))
    with pytest.raises(ConfigError, match=r"coins: the grid expands to no valid cell: dropped 6 "
                                          r"of 6 grid cells: 6 because k > d \(p=0.2, n=1;"):
        load_config(_toml(tmp_path), simulation=sim)


def test_quick_without_a_quick_table_is_an_error_naming_the_file(tmp_path):
    path = _toml(tmp_path, quick="")
    with pytest.raises(ConfigError, match=rf"{path}: quick \(--quick\) needs a \[quick\] table"):
        load_config(path, quick=True, simulation=COINS)
    assert load_config(path, simulation=COINS).cells              # the full grid still loads


def test_caps_are_stated_before_the_run_in_cells_csv_and_in_the_report(tmp_path):
    cfg = load_config(_toml(tmp_path), simulation=COINS)
    assert [(c["n"], caps) for c, caps in cfg.capped] == \
        [(10, {"trials": (40, "max_samples // n")})] * 2
    stream = io.StringIO()
    cells = run_sweep(cfg, out=tmp_path / "o", backend="numpy", stream=stream)
    notes = stream.getvalue()
    assert ("trials capped in 2 of 4 cells (max_samples // n): requested 100, run 40 "
            "(cells.csv: trials = run, trials_requested = requested)") in notes
    assert notes.index("trials capped") < notes.index("cells done")
    # trials is what ran (n_trials says the same); the request has its own column
    assert cells["trials"].tolist() == cells["n_trials"].tolist() == [100, 40, 100, 40]
    assert cells["trials_requested"].tolist() == [100] * 4
    from sparsesim.report import write_report

    sim = Simulation(name="coins", params=COINS.params, run_cell=_coin_cell, tables=lambda c: [])
    write_report(sim, pd.read_csv(tmp_path / "o" / "cells.csv"), tmp_path / "o", name="coins")
    text = (tmp_path / "o" / "table.md").read_text()
    assert ("Capped: trials run 40 where 100 was requested (2 of 4 cells; cells.csv has the "
            "value run under trials and the request in trials_requested).") in text


def test_no_cap_no_requested_column(tmp_path):
    cfg = load_config(_toml(tmp_path, trials=10), simulation=COINS)
    assert cfg.capped == () and not any("capped" in n for n in cfg.notes())
    cells = run_sweep(cfg, out=tmp_path / "o", backend="numpy", show_progress=False)
    assert "trials_requested" not in cells.columns


def test_quick_trials_override_is_capped_and_told(tmp_path, monkeypatch, capsys):
    # The user's case: best_k_term --quick --trials 200000 runs max_samples // n vectors.
    monkeypatch.chdir(tmp_path)
    assert main(["run", "best_k_term", "--quick", "--trials", "200000", "--backend", "numpy",
                 "--out", "o"]) == 0
    err = capsys.readouterr().err
    assert "trials capped in 16 of 16 cells (max_samples // n): requested 200000, run 262 to " \
           "2621" in err
    assert "dropped 56 of 72 grid cells: 12 because group_size > 1 applies to group cells only" \
        in err
    cells = pd.read_csv(tmp_path / "o" / "cells.csv")
    assert (cells["trials"] == cells["n_trials"]).all()
    assert set(cells["trials_requested"]) == {200000}
    assert "Capped: trials run 262 to 2621 where 200000 was requested (16 of 16 cells" in \
        (tmp_path / "o" / "table.md").read_text()


def test_support_recovery_and_best_k_term_give_reasons_and_caps():
    base = dict(d=16, k=2, trials=10, kind="exact", g=1, mu_over_sigma=0.0, t_rule="optimal",
                t_scale=1.0, max_samples=0, method="auto", sigma=1.0)
    assert sr_valid(base) is True
    assert sr_valid(dict(base, k=17)) == Invalid("k > d")
    assert not sr_valid(dict(base, kind="planted"))
    assert sr_caps(dict(base, trials=200000, max_samples=2**20, d=10000)) == \
        {"trials": (104, "max_samples // (d g)")}
    assert sr_caps(dict(base, trials=100, max_samples=2**20)) == {}
    assert bkt_valid({"kind": "group", "n": 100, "density": 0.1, "trials": 5}).reason == \
        "group cells need group_size > 1"


@pytest.mark.parametrize("caps, match", [
    (lambda c: ["trials"], "caps must return a dict"),
    (lambda c: {"reps": 3}, "caps names 'reps', not a parameter"),
])
def test_a_malformed_caps_hook_is_named(tmp_path, caps, match):
    sim = Simulation(name="coins", params=COINS.params, run_cell=_coin_cell, caps=caps)
    with pytest.raises(ConfigError, match=match):
        load_config(_toml(tmp_path), simulation=sim)


def test_caps_must_be_callable():
    from sparsesim.sim import SimulationError

    with pytest.raises(SimulationError, match="caps must be callable or None"):
        Simulation(name="coins", params=COINS.params, run_cell=_coin_cell, caps=3)


def test_cli_quick_without_quick_table_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "toy.toml"
    path.write_text('[sim]\nname = "toy"\nmodule = "toysim"\n[params]\ntrials = 10\n'
                    '[grid]\np = [0.5]\n')
    assert main(["run", str(path), "--quick", "--backend", "numpy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"sparsesim: {path}: quick (--quick) needs")
    assert not (tmp_path / "results").exists()                 # refused before any work
