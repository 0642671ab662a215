"""Plugin simulations: found by entry point, listed with their distribution, run from anywhere.

Two sources: a distribution written into a temporary folder on ``sys.path`` (a
``*.dist-info`` with ``entry_points.txt``, found by importlib.metadata as an installed
one is), and the worked example ``examples/sparsesim-example-plugin`` when it is
installed (CI installs it; the tests that need it skip with that reason otherwise).
"""

import importlib.metadata
import sys
import textwrap
from pathlib import Path

import pytest

from sparsesim import sim
from sparsesim.cli import main
from sparsesim.sweep import ConfigError, find_config, load_config
from sparsesim.testing import check_simulation, parametrize_with_checks

HERE = Path(__file__).resolve().parent

FAKE_MODULE = '''
"""Coin flips, published by a distribution that is not sparsesim."""
from toysim import DEFAULTS, PARAMS, run_cell, tables, valid_cell
from sparsesim.sim import Simulation

SIMULATION = Simulation(name="published_coins", params=PARAMS,
                        defaults=DEFAULTS, valid_cell=valid_cell, run_cell=run_cell,
                        tables=tables, description="coin flips from a plugin",
                        config="fakeplug_mod:sims/fake_coins.toml")
NOT_A_SIMULATION = 3
'''

ENTRY_POINTS = '''
[sparsesim.simulations]
fake_coins = fakeplug_mod:SIMULATION
fake_broken = fakeplug_mod:NOT_A_SIMULATION
fake_missing = fakeplug_mod:NO_SUCH_NAME
support_recovery = fakeplug_mod:SIMULATION
'''


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """``fakeplug 1.2`` 'installed' in a folder on sys.path, publishing four entry points."""
    site = tmp_path / "site"
    pkg = site / "fakeplug_mod"
    (pkg / "sims").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(FAKE_MODULE))
    toy = (HERE / "toysims" / "toy.toml").read_text()   # the toy sweep, without its module
    (pkg / "sims" / "fake_coins.toml").write_text(
        toy.replace('name = "toy"', 'name = "fake_coins"').replace('module = "toysim"\n', ""))
    info = site / "fakeplug-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)         # no ./sims here: only what is installed
    yield site
    sys.modules.pop("fakeplug_mod", None)


def test_plugins_are_listed_with_their_distribution(fake_dist):
    found = sim.plugins()
    assert found["fake_coins"].distribution == "fakeplug"
    assert found["fake_coins"].origin == "fakeplug 1.2"
    assert found["fake_coins"].value == "fakeplug_mod:SIMULATION"
    assert found["support_recovery"].shadowed and not found["fake_coins"].shadowed
    assert "fakeplug_mod" not in sys.modules                 # listing imports nothing


def test_a_plugin_loads_under_its_entry_point_name(fake_dist):
    s = sim.load_plugin("fake_coins")
    assert s.name == "fake_coins" and s.module == "fakeplug_mod"
    assert sim.get("fake_coins").name == "fake_coins"
    assert s.config_path() == fake_dist / "fakeplug_mod" / "sims" / "fake_coins.toml"
    # a built-in name always wins
    assert sim.get("support_recovery").module == "sparsesim.sim.support_recovery"


def test_broken_plugins_say_which_and_why(fake_dist):
    with pytest.raises(sim.SimulationError, match=r"fake_broken.*from fakeplug 1\.2.*got int"):
        sim.load_plugin("fake_broken")
    with pytest.raises(sim.SimulationError, match="fake_missing.*cannot be loaded"):
        sim.load_plugin("fake_missing")
    with pytest.raises(ConfigError, match="fake_broken"):
        find_config("fake_broken")
    with pytest.raises(sim.SimulationError, match="no installed distribution publishes"):
        sim.load_plugin("nothing_like_it")


def test_list_shows_plugins_and_where_they_come_from(fake_dist, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("fake_coins"))
    assert "coin flips" in line and "plugin from fakeplug 1.2" in line
    assert "quick 1" in line and "3 cells" in line      # p = 2.0 is dropped by valid_cell
    broken = next(l for l in out.splitlines() if l.startswith("fake_broken"))
    assert "plugin from fakeplug 1.2" in broken and "got int" in broken
    shadow = next(l for l in out.splitlines() if l.startswith("support_recovery"))
    assert "a plugin from fakeplug 1.2 with this name is ignored" in shadow


def test_run_a_plugin_quick_from_any_folder(fake_dist, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "fake_coins", "--quick", "--quiet", "--out", str(out)]) == 0
    table = (out / "table.md").read_text()
    assert "# fake_coins" in table
    assert "config fakeplug_mod:sims/fake_coins.toml" in table    # recorded portably
    cfg = load_config("fake_coins", quick=True)
    assert cfg.module_name == "fakeplug_mod" and [c["p"] for c in cfg.cells] == [0.5]
    assert main(["report", "fake_coins", "--out", str(out)]) == 0   # rebuilt from cells.csv
    assert (out / "table.md").read_text() == table


def test_check_simulation_passes_on_a_plugin(fake_dist):
    check_simulation("fake_coins")


# --------------------------------------------------------------------------- the worked example

def _example():
    eps = [ep for ep in importlib.metadata.entry_points(group=sim.ENTRY_POINT_GROUP)
           if ep.name == "coin_flips"]
    return eps[0].load() if eps else None


EXAMPLE = _example()
needs_example = pytest.mark.skipif(
    EXAMPLE is None, reason="the example plugin is not installed: "
                            "pip install ./examples/sparsesim-example-plugin")


@needs_example
def test_example_plugin_is_listed_with_its_distribution(capsys):
    assert main(["list"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("coin_flips"))
    assert "plugin from sparsesim-example-plugin" in line


@needs_example
def test_example_plugin_runs_quick_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "coin_flips", "--quick", "--quiet", "--out", "out"]) == 0
    assert "Heads against Binomial(trials, p)" in (tmp_path / "out" / "table.md").read_text()


@pytest.mark.skipif(EXAMPLE is None, reason="the example plugin is not installed: "
                                            "pip install ./examples/sparsesim-example-plugin")
@parametrize_with_checks([EXAMPLE] if EXAMPLE is not None else [])
def test_example_plugin_keeps_the_contract(simulation, check):
    check(simulation)
