"""The layers contract of pyproject.toml names every top-level module of sparsesim.

`lint-imports` (CI) checks the imports against the contract, but a module left out of the
contract is checked against nothing; this test fails when a top-level module (a file or a
package directly under ``sparsesim/``) is missing from the layers, or when the layers name
a module that does not exist.  It also reads the contract's shape: one layer a line,
modules of one layer side by side (``"a | b"``, independent siblings).
"""

import pkgutil
import re
import tomllib
from pathlib import Path

import pytest

import sparsesim

ROOT = Path(__file__).resolve().parents[2]


def _layers_contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    found = [c for c in contracts if c["type"] == "layers" and c.get("containers") == ["sparsesim"]]
    assert len(found) == 1, "expected one layers contract with containers = ['sparsesim']"
    return found[0]


def _layer_modules(layer: str) -> list[str]:
    """The modules of one layer entry (``"a | b"`` independent, ``"a : b"`` not)."""
    return [m.strip() for m in re.split(r"[|:]", layer) if m.strip()]


def top_level_modules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(sparsesim.__path__)}


def test_every_top_level_module_is_in_the_layers_contract():
    listed = [m for layer in _layers_contract()["layers"] for m in _layer_modules(layer)]
    missing = top_level_modules() - set(listed)
    assert not missing, (f"top-level modules missing from the layers contract in "
                         f"pyproject.toml: {sorted(missing)}; add each to the layer it belongs to")
    unknown = set(listed) - top_level_modules()
    assert not unknown, f"the layers contract names modules that do not exist: {sorted(unknown)}"
    assert len(listed) == len(set(listed)), "a module is listed in two layers"


def test_modules_of_a_layer_are_independent_siblings():
    """Side by side means independent (``|``); a ``:`` layer would allow imports inside it."""
    for layer in _layers_contract()["layers"]:
        assert ":" not in layer, f"layer {layer!r}: siblings should be independent ('|')"


@pytest.mark.parametrize("module", ["_figure", "_registry", "testing", "plan", "_deprecation"])
def test_modules_once_left_out_are_listed(module):
    listed = {m for layer in _layers_contract()["layers"] for m in _layer_modules(layer)}
    assert module in listed


def test_the_check_sees_a_new_module(tmp_path, monkeypatch):
    """Falsified if the discovery of top-level modules misses a module file or a package."""
    pkg = tmp_path / "sparsesim"
    (pkg / "newpkg").mkdir(parents=True)
    (pkg / "newpkg" / "__init__.py").write_text("")
    (pkg / "newmod.py").write_text("")
    monkeypatch.setattr(sparsesim, "__path__", list(sparsesim.__path__) + [str(pkg)])
    assert {"newpkg", "newmod"} <= top_level_modules()
