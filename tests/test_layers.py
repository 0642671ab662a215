"""Import weight and laziness: `import sparsesim` is light, layers load on first use.

Each check runs in a fresh interpreter (a subprocess), since this process has
imported everything already.  The static layering contract is checked by
`lint-imports` in CI (pyproject.toml, [tool.importlinter]).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("cupy", "pandas", "matplotlib", "dask", "distributed")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, check=True, timeout=300)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _top(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


def test_import_sparsesim_imports_no_heavy_library():
    """Falsified if `import sparsesim` pulls CuPy, pandas, matplotlib or Dask in."""
    mods = _modules_after("import sparsesim")
    assert not _top(mods) & set(HEAVY), sorted(_top(mods) & set(HEAVY))
    assert not {m for m in mods if m.startswith(("sparsesim.sweep", "sparsesim.report",
                                                 "sparsesim.nn", "sparsesim.sim."))}


@pytest.mark.parametrize("name", ["nn", "theory", "stats", "sim", "sweep", "report", "geometry",
                                  "backend", "kernels", "api"])
def test_subpackages_are_attributes_after_import_sparsesim(name):
    mods = _modules_after(f"import sparsesim as ss\nassert ss.{name}.__name__ == "
                          f"'sparsesim.{name}'")
    assert f"sparsesim.{name}" in mods


def test_lazy_names_resolve_and_unknown_ones_raise():
    import sparsesim as ss

    assert ss.nn.forward is not None and ss.run is ss.api.run
    assert {"nn", "theory", "run"} <= set(dir(ss))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ss.nope  # noqa: B018


def test_lower_layers_do_not_load_upper_ones():
    """The simulation registry is light; the sweep layer loads neither report nor CLI."""
    mods = _modules_after("import sparsesim.sim")
    assert not _top(mods) & set(HEAVY)
    assert not {m for m in mods if m.startswith("sparsesim.sim.")}  # families load on demand
    mods = _modules_after("import sparsesim.sweep")
    assert not {m for m in mods if m.startswith(("sparsesim.report", "sparsesim.cli",
                                                 "sparsesim.api"))}
    assert "dask" not in _top(mods)
