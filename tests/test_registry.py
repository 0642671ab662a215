"""The simulation protocol: `Simulation` is declared and checked, the registry names every sweep."""

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from sparsesim import sim
from sparsesim.cli import main
from sparsesim.sim import REGISTRY, Simulation, SimulationError
from sparsesim.sweep import ConfigError, load_config, run_sweep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIMS = ROOT / "sparsesim" / "sims"  # the shipped sweeps (package data)


def _run_cell(params, ctx):
    return {"y": params["x"] * 2}


def _toml_sim(path: Path) -> dict:
    return tomllib.loads(path.read_text())["sim"]


def test_every_committed_toml_names_a_registered_simulation():
    """Falsified if a sims/<name>.toml is not registered under its name, or names
    another module than the registry, or a registered name has no TOML."""
    tomls = {p.stem: _toml_sim(p) for p in SIMS.glob("*.toml")}
    assert set(tomls) == set(REGISTRY)
    for stem, table in tomls.items():
        assert table["name"] == stem
        assert table.get("module", REGISTRY[stem]) == REGISTRY[stem]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_simulations_are_well_formed(name):
    s = sim.get(name)
    assert isinstance(s, Simulation) and s.name == name and s.module == REGISTRY[name]
    assert s.run_cell is not None or s.run_cells is not None
    assert s.tables is not None and s.description
    assert set(s.defaults) <= set(s.params) and set(s.neutral_defaults) <= set(s.params)
    quick = load_config(name, quick=True)
    assert quick.simulation.module == s.module
    assert all(set(c) == set(s.params) for c in quick.cells)


def test_masked_hessian_saddles_is_the_saddles_module():
    assert sim.get("masked_hessian_saddles").module == "sparsesim.sim.saddles"
    assert load_config("masked_hessian_saddles", quick=True).module_name == "sparsesim.sim.saddles"


@pytest.mark.parametrize("kwargs, field", [
    (dict(params={"x": complex}), "params['x']"),
    (dict(params={}), "at least one parameter"),
    (dict(params={"x": int}, defaults={"z": 1}), "defaults['z']"),
    (dict(params={"x": int}, defaults={"x": "one"}), "declared type int"),
    (dict(params={"x": int}, defaults={"x": True}), "declared type int"),
    (dict(params={"x": int}, neutral_defaults={"w": 0}), "neutral_defaults['w']"),
    (dict(params={"x": int}, run_cell=None), "run_cell or run_cells"),
    (dict(params={"x": int}, batch_key=lambda c: 0), "batch_key is given but run_cells"),
    (dict(params={"x": int}, tables="not callable"), "tables must be callable"),
    (dict(params=[("x", int)]), "params must be a dict"),
    (dict(params={"x": int}, name=""), "name must be a non-empty str"),
])
def test_malformed_simulation_is_refused_naming_the_field(kwargs, field):
    args = dict(name="demo", run_cell=_run_cell) | kwargs
    with pytest.raises(SimulationError, match=field.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(")):
        Simulation(**args)


def test_float_default_accepts_an_int_and_the_declaration_is_frozen():
    s = Simulation(name="demo", params={"x": float}, defaults={"x": 1}, run_cell=_run_cell)
    assert s.required == () and not s.batches
    with pytest.raises(AttributeError):
        s.name = "other"


def test_module_without_params_is_refused():
    with pytest.raises(SimulationError, match="declares no simulation"):
        Simulation.from_module("sparsesim.backend")
    with pytest.raises(SimulationError, match="cannot be imported"):
        Simulation.from_module("no_such_module_for_sure")


def test_dotted_path_loads_a_simulation_defined_outside_the_package():
    toy = sim.get("toysim")  # tests/ is on sys.path
    assert toy.module == "toysim" and toy.required == ("p", "trials")
    declared = sim.get("toysim_declared")  # a module-level SIMULATION
    assert declared.module == "toysim_declared" and declared.defaults == {"claim_offset": 0.0}
    with pytest.raises(SimulationError, match="unknown simulation 'nope_nope'"):
        sim.get("nope_nope")


def test_registration_is_one_line(monkeypatch, tmp_path):
    """A registered name needs no sim.module in its TOML; a clash is refused."""
    monkeypatch.setitem(REGISTRY, "coins", "toysim")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sims").mkdir()
    (tmp_path / "sims" / "coins.toml").write_text(
        '[sim]\nname = "coins"\n[params]\ntrials = 50\n[grid]\np = [0.25, 0.5]\n')
    cfg = load_config("coins")
    assert cfg.module_name == "toysim" and len(cfg.cells) == 2
    with pytest.raises(ValueError, match="already registered"):
        sim.register("coins", "toysim_slow")
    monkeypatch.delitem(REGISTRY, "coins")
    sim.register("coins", "toysim_declared")
    assert sim.get("coins").name == "coins" and "coins" in sim.names()


def test_toml_module_must_agree_with_the_registry(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[sim]\nname = "support_recovery"\nmodule = "toysim"\n'
                    '[params]\ntrials = 5\n[grid]\np = [0.5]\n')
    with pytest.raises(ConfigError, match="disagrees with the registry"):
        load_config(path)
    path.write_text('[sim]\nname = "unregistered_x"\n[params]\ntrials = 5\n[grid]\np = [0.5]\n')
    with pytest.raises(ConfigError, match="sim.module"):
        load_config(path)


def test_a_simulation_built_in_place_runs_without_a_module(tmp_path):
    """What a notebook does: declare a Simulation and sweep it (local executor)."""
    s = Simulation(name="double", params={"x": int}, run_cell=_run_cell,
                   tables=lambda cells: [])
    path = tmp_path / "double.toml"
    path.write_text('[sim]\nname = "double"\nseed = 3\n[grid]\nx = [1, 2, 3]\n')
    cfg = load_config(path, simulation=s)
    frame = run_sweep(cfg, out=tmp_path / "o", backend="numpy", show_progress=False)
    assert list(frame.y) == [2, 4, 6] and cfg.simulation is s
    with pytest.raises(ConfigError, match="must be a Simulation"):
        load_config(path, simulation="double")


def test_runner_refuses_what_is_not_a_checked_config(tmp_path):
    with pytest.raises(TypeError, match="SweepConfig"):
        run_sweep({"name": "x"}, out=tmp_path / "o")


def test_report_checks_its_hooks_before_writing(tmp_path):
    from sparsesim.report import write_report

    class Broken:
        tables = "not a function"

    with pytest.raises(SimulationError, match="tables must be callable"):
        write_report(Broken, pd.DataFrame({"x": [1]}), tmp_path / "o", name="b")
    assert not (tmp_path / "o").exists()


def test_list_reads_the_registry(monkeypatch, tmp_path, capsys):
    """Registered names are listed (with or without a TOML here), and so are local TOMLs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sims").mkdir()
    (tmp_path / "sims" / "toy.toml").write_text((HERE / "toysims" / "toy.toml").read_text())
    monkeypatch.setitem(REGISTRY, "only_registered", "toysim")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines()}
    from sparsesim.sim import plugins   # installed plugin distributions are listed too

    assert set(REGISTRY) | {"toy"} | set(plugins()) == set(lines)
    assert "no sims/only_registered.toml" in lines["only_registered"]
    assert "module toysim" in lines["toy"] and "coin flips" in lines["toy"]
    assert "cells, quick" in lines["masked_hessian_saddles"]
