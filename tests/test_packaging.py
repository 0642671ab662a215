"""The built-in sweeps ship with the package and are found from any folder.

A non-editable install has no source tree to fall back on: the TOMLs are
package data (``sparsesim/sims``) read through :mod:`importlib.resources`.
Building and installing a wheel is too slow for the suite; ``.ci/run`` does
that and runs ``sparsesim run best_k_term --quick`` from a temporary folder.
Here discovery is tested with the working directory outside the source tree.
"""

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from sparsesim import api, sim
from sparsesim.cli import main
from sparsesim.sweep import (ConfigError, find_config, list_configs, load_config,
                             recorded_config, shipped_dir)
from sparsesim.sweep.config import is_shipped

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_sweeps_are_found_from_any_folder(tmp_path, monkeypatch):
    # Falsified by a lookup that depends on ./sims or on the source tree's layout.
    monkeypatch.chdir(tmp_path)
    configs = list_configs()
    assert set(sim.REGISTRY) <= set(configs)
    for name in sim.REGISTRY:                  # built-in sweeps: the package's own data
        assert is_shipped(configs[name]), (name, configs[name])
    for name in set(configs) - set(sim.REGISTRY):  # an installed plugin's default sweep
        assert name in sim.plugins() and configs[name].is_file(), (name, configs[name])
    path = find_config("support_recovery")
    assert path.parent == shipped_dir() and path.name == "support_recovery.toml"
    assert load_config("best_k_term", quick=True).cells


def test_shipped_dir_is_package_data():
    # The folder importlib.resources names is inside the imported package, and pyproject
    # ships its TOMLs as package data (a wheel without them cannot run a sweep by name).
    import sparsesim

    assert shipped_dir().resolve() == Path(sparsesim.__file__).resolve().parent / "sims"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "sims/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["sparsesim"]
    assert sorted(p.stem for p in shipped_dir().glob("*.toml")) == sorted(sim.REGISTRY)


def test_local_sims_folder_overrides_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = find_config("best_k_term")
    (tmp_path / "sims").mkdir()
    local = tmp_path / "sims" / "best_k_term.toml"
    local.write_text(shipped.read_text().replace('seed = 2026', 'seed = 7', 1))
    assert find_config("best_k_term").resolve() == local.resolve()
    assert load_config("best_k_term").seed == 7
    assert set(sim.REGISTRY) <= set(list_configs())      # the others still come from the package
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_config("best_k_term").seed == 2026


def test_unknown_name_lists_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"unknown simulation 'nope'; known: best_k_term, "):
        find_config("nope")


def test_run_by_name_outside_the_source_tree_and_report_it(tmp_path, monkeypatch, capsys):
    # The user's case: a shipped sweep run by name from an unrelated folder, then its
    # report rebuilt from another folder (the recorded config is package-relative).
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "best_k_term", "--quick", "--trials", "20", "--backend", "numpy",
                 "--quiet", "--out", str(out)]) == 0
    cells = pd.read_csv(out / "cells.csv")
    assert set(cells["config_file"]) == {"sparsesim/sims/best_k_term.toml"}
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    (out / "table.md").unlink()
    res = api.report(out=out)
    assert res.name == "best_k_term"
    assert res.description == load_config("best_k_term").description
    text = (out / "table.md").read_text()
    assert text.startswith("# best_k_term\n") and f"\n{res.description}\n" in text


def test_recorded_config_resolves_old_and_package_relative_entries(tmp_path, monkeypatch):
    # Committed results record "sims/<name>.toml" (before the sweeps moved into the package).
    monkeypatch.chdir(tmp_path)
    for entry in ("sims/best_k_term.toml", "sparsesim/sims/best_k_term.toml"):
        assert recorded_config(entry) == find_config("best_k_term")
    assert recorded_config("sims/cpu/lottery_mnist1d.toml") is None   # a path that is not here
    assert recorded_config("nowhere/best_k_term.toml") is None
    assert recorded_config("") is None
    monkeypatch.chdir(ROOT)
    assert recorded_config("sims/cpu/lottery_mnist1d.toml") == Path("sims/cpu/lottery_mnist1d.toml")
