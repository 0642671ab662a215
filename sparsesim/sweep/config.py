"""Sweep configuration: ``sims/<name>.toml`` files, validated before any work.

The built-in sweeps ship with the package (``sparsesim/sims/*.toml``, package
data read through :mod:`importlib.resources`); a plugin simulation
(:func:`sparsesim.sim.plugins`) brings its default sweep as its own package's
data (:attr:`sparsesim.sim.Simulation.config`); a ``./sims/<name>.toml`` in the
current folder overrides a shipped or a plugin's ``<name>``, and any TOML can
be given by its path.

A configuration names the simulation and declares its grid::

    [sim]
    name = "support_recovery"                 # a registered name (sparsesim.sim.REGISTRY)
    module = "sparsesim.sim.support_recovery" # optional for a registered name
    description = "Thresholding a Gaussian init: P(Ŝ = S) and the law of Ŝ"
    seed = 2026
    plugins = ["mypkg.criteria"]              # optional: modules imported before any cell

    [params]              # the same for every cell
    trials = 200000

    [grid]                # cartesian product, in the order written
    d = [16, 64]
    k = [1, 4]

    [quick.params]        # overrides for ``--quick``
    trials = 20000
    [quick.grid]
    d = [16]

Several cartesian products can be united with ``[[grid]]`` tables (an array
of tables); a ``[quick.grid]`` table then replaces its axes in every product,
while ``[[quick.grid]]`` tables replace the whole list.

    [[include]]           # optional extra cells (merged over [params])
    d = 10000
    k = 10

    [[claims]]            # optional: claims pre-registered before the run
    id = "a_accuracy_21"  # (fields beyond ``id`` are the simulation's: check_claims)
    x = "lottery"
    y = "dense"

Claims are declared before the run: the simulation's ``check_claims`` hook
validates them against the expanded cells, and their canonical JSON is
recorded in every cell (the ``claims`` parameter), so it is part of each
cell's identity and of the config hash.  Tables judge only the claims their
cells carry; a claim added after the cells ran reads "post hoc".

``sim.plugins`` lists modules imported before the simulation is resolved and
before any cell runs, in this process and on every worker of a distributed
executor (the names travel with each task): a module that registers a
saliency criterion or a lottery condition at import
(:func:`sparsesim.nn.register_saliency`, :func:`sparsesim.nn.register_condition`)
makes those names valid in the grid, wherever the cells run.  The list is
part of the recorded configuration, not of the cells' identity.

``sim.name`` is looked up in the simulation registry
(:data:`sparsesim.sim.REGISTRY`), then among the installed plugins
(:func:`sparsesim.sim.plugins`); ``sim.module``, a dotted module path, is
required for a name that is neither (a simulation defined outside the
package) and, for a registered name, must agree with the registry.  The
:class:`~sparsesim.sim.Simulation` is built and checked before any cell is
expanded.  It lists the parameters (name → type); unknown keys, wrong types,
empty grids and missing required parameters (those without a default) are
reported naming the key.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from ..sim import REGISTRY, Simulation, SimulationError, load_plugin, plugins

__all__ = ["ConfigError", "SweepConfig", "claims_json", "import_plugins", "load_config",
           "find_config", "plugin_configs",
           "list_configs", "sims_dirs", "shipped_dir", "is_shipped", "recorded_config"]

_TOP_KEYS = {"sim", "params", "grid", "quick", "include", "claims"}
_SIM_KEYS = {"name", "module", "description", "seed", "plugins"}
_QUICK_KEYS = {"params", "grid", "include"}
_TYPES = {int: "int", float: "float", str: "str", bool: "bool"}


class ConfigError(ValueError):
    """A sweep configuration is malformed; the message names the key."""


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep: the simulation and its expanded cells.

    ``module_name`` is the dotted path of the module implementing the
    simulation (recorded in every row as ``sim_module``); ``simulation`` is
    its checked declaration.
    """

    name: str
    module_name: str
    description: str
    seed: int
    cells: tuple[dict, ...]
    path: Path | None = None
    claims: tuple[dict, ...] = ()
    quick: bool = False
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    simulation: Simulation | None = field(default=None, repr=False, compare=False)
    #: Grid cells ``valid_cell`` dropped, each with the reason: ``((cell, reason), ...)``.
    dropped: tuple = field(default=(), repr=False, compare=False)
    #: Cells the simulation caps: ``((cell, {name: (value run, why)}), ...)``.
    capped: tuple = field(default=(), repr=False, compare=False)
    #: Modules imported before any cell runs (``[sim] plugins``), here and on workers.
    plugins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.simulation is None:
            try:
                sim = Simulation.from_module(self.module_name, name=self.name)
            except SimulationError as exc:
                raise ConfigError(str(exc)) from None
            object.__setattr__(self, "simulation", sim)
        elif not isinstance(self.simulation, Simulation):
            raise ConfigError(f"simulation must be a Simulation; "
                              f"got {type(self.simulation).__name__}")

    @property
    def module(self) -> ModuleType:
        """The module implementing the simulation (imported on first use)."""
        return importlib.import_module(self.module_name)

    def notes(self) -> list[str]:
        """What runs differs from what the grid asked: dropped cells and caps, one line each.

        Stated before a run (``sparsesim run``, :func:`sparsesim.run`); the
        caps are also in the report's header.
        """
        lines = []
        if self.dropped:
            lines.append(dropped_text(self.dropped, self.cells))
        for name, (n, req, run, why) in _cap_summary(self.capped).items():
            lines.append(f"{name} capped in {n} of {len(self.cells)} cells"
                         + (f" ({why})" if why else "") + f": requested {req}, run {run} "
                         f"(cells.csv: {name} = run, {name}_requested = requested)")
        return lines

    @property
    def config_hash(self) -> str:
        """Hash of everything that determines the results (cells and seed)."""
        blob = json.dumps({"module": self.module_name, "seed": self.seed,
                           "cells": list(self.cells)}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: Where the built-in sweeps ship: the package data folder ``sparsesim/sims``.
SHIPPED_PACKAGE = "sparsesim"
SHIPPED_FOLDER = "sims"


def _span(values: list) -> str:
    vals = sorted(set(values), key=lambda v: (str(type(v)), v))
    return str(vals[0]) if len(vals) == 1 else f"{vals[0]} to {vals[-1]}"


def _cap_summary(capped) -> dict[str, tuple[int, str, str, str]]:
    """name -> (cells capped, requested span, run span, why) over ``capped``."""
    out: dict[str, list] = {}
    for cell, caps in capped:
        for name, (run, why) in caps.items():
            entry = out.setdefault(name, [[], [], []])
            entry[0].append(cell[name])
            entry[1].append(run)
            if why and why not in entry[2]:
                entry[2].append(why)
    return {name: (len(req), _span(req), _span(run), "; ".join(why))
            for name, (req, run, why) in out.items()}


def dropped_text(dropped, kept=(), *, examples: int = 3) -> str:
    """One line listing the dropped grid cells by reason (the parameters that vary shown).

    >>> cells = [{"d": 4, "k": 2}, {"d": 4, "k": 8}, {"d": 2, "k": 8}]
    >>> dropped_text([(cells[1], "k > d"), (cells[2], "k > d")], cells[:1])
    'dropped 2 of 3 grid cells: 2 because k > d (d=4, k=8; d=2, k=8)'
    """
    every = [c for c, _ in dropped] + list(kept)
    keys = [k for k in (every[0] if every else {})
            if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in every}) > 1]
    by_reason: dict[str, list[dict]] = {}
    for cell, reason in dropped:
        by_reason.setdefault(reason, []).append(cell)
    parts = []
    for reason, cells in by_reason.items():
        shown = "; ".join(", ".join(f"{k}={c[k]}" for k in keys if k in c)
                          for c in cells[:examples])
        more = f"; {len(cells) - examples} more" if len(cells) > examples else ""
        parts.append(f"{len(cells)} because {reason}" + (f" ({shown}{more})" if shown else ""))
    return f"dropped {len(dropped)} of {len(every)} grid cells: " + "; ".join(parts)


def _validity(verdict: Any, simulation: Simulation) -> str | None:
    """``None`` for a valid cell, else the reason ``valid_cell`` gave (or a generic one).

    ``True`` (or any true value but a str) keeps the cell; ``Invalid(reason)``,
    a str (read as the reason), ``False`` and ``None`` drop it.
    """
    where = f"{simulation.module or simulation.name}.valid_cell"
    if isinstance(verdict, str):
        return verdict or f"rejected by {where}"
    if verdict:
        return None
    reason = getattr(verdict, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if verdict is None:
        return f"{where} returned None"
    return f"rejected by {where}"


def _caps_of(simulation: Simulation, cells: list[dict], schema: dict) -> tuple:
    if simulation.caps is None:
        return ()
    out = []
    for cell in cells:
        got = simulation.caps(dict(cell))
        if not isinstance(got, Mapping):
            raise ConfigError(f"{simulation.name}: caps must return a dict (name -> value or "
                              f"(value, why)); got {type(got).__name__}")
        norm = {}
        for name, value in got.items():
            run, why = value if isinstance(value, tuple) and len(value) == 2 else (value, "")
            if name not in schema:
                raise ConfigError(f"{simulation.name}: caps names {name!r}, not a parameter; "
                                  f"parameters: {sorted(schema)}")
            if run != cell[name]:
                norm[name] = (run, str(why))
        if norm:
            out.append((cell, norm))
    return tuple(out)


def shipped_dir() -> Path:
    """The folder of the sweeps that ship with the package (``sparsesim/sims``).

    Read through :mod:`importlib.resources`, so it is found wherever the
    package is installed (a wheel, an editable install, the source tree).

    >>> shipped_dir().name, (shipped_dir() / "support_recovery.toml").is_file()
    ('sims', True)
    """
    root = importlib.resources.files(SHIPPED_PACKAGE) / SHIPPED_FOLDER
    return Path(str(root))  # a regular (unzipped) install: a real folder


def sims_dirs() -> list[Path]:
    """Where simulation TOMLs are looked up: ``./sims`` (current folder) then the shipped ones.

    A ``./sims/<name>.toml`` in the current folder overrides the shipped
    ``<name>``.
    """
    dirs = [Path.cwd() / "sims", shipped_dir()]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(d.resolve() != o.resolve() for o in out):
            out.append(d)
    return out


def is_shipped(path: str | Path) -> bool:
    """Whether ``path`` is one of the TOMLs that ship with the package."""
    try:
        return Path(path).resolve().parent == shipped_dir().resolve()
    except OSError:
        return False


def plugin_configs(*, errors: dict[str, str] | None = None) -> dict[str, Path]:
    """The default sweeps of the installed plugin simulations, by name.

    A plugin is loaded (imported) to read its :attr:`~sparsesim.sim.Simulation.config`;
    one that fails to load, or names no TOML, is left out (with the reason in
    ``errors`` when a dict is given).  A plugin whose name is built in is
    ignored (the built-in simulation wins).
    """
    out: dict[str, Path] = {}
    for name, plugin in plugins().items():
        if plugin.shadowed:
            continue
        try:
            path = load_plugin(name).config_path()
        except SimulationError as exc:
            if errors is not None:
                errors[name] = str(exc)
            continue
        if path is not None:
            out[name] = path
    return out


def list_configs() -> dict[str, Path]:
    """All simulation TOMLs found, by simulation name (file stem); ``./sims`` wins.

    Then the shipped sweeps, then the plugins' default sweeps
    (:func:`plugin_configs`).
    """
    found: dict[str, Path] = plugin_configs()
    for d in reversed(sims_dirs()):  # ./sims wins over the shipped sweeps
        for p in sorted(d.glob("*.toml")):
            found[p.stem] = p
    return dict(sorted(found.items()))


def recorded_config(config_file: str) -> Path | None:
    """The TOML a ``config_file`` provenance entry names, if it can still be found.

    An existing path is itself; ``sims/<name>.toml`` or
    ``sparsesim/sims/<name>.toml`` (how a shipped sweep is recorded) that
    does not exist as a file here is ``<name>`` looked up as
    :func:`find_config` does; ``package:path.toml`` (how a plugin's default
    sweep is recorded, :attr:`sparsesim.sim.Simulation.config`) is that
    package's data file.  ``None`` when nothing matches.
    """
    p = Path(str(config_file))
    if p.suffix != ".toml":
        return None
    if p.is_file():
        return p
    if p.parent.name == SHIPPED_FOLDER:
        return list_configs().get(p.stem)
    package, sep, resource = str(config_file).partition(":")
    if sep and package and "/" not in package:
        try:
            found = Path(str(importlib.resources.files(package).joinpath(resource)))
        except (ImportError, TypeError):
            return None
        return found if found.is_file() else None
    return None


def find_config(name_or_path: str) -> Path:
    """Resolve a simulation name (``support_recovery``) or a path to a TOML."""
    p = Path(name_or_path)
    if p.suffix == ".toml":
        if not p.is_file():
            raise ConfigError(f"config file {name_or_path!r} does not exist")
        return p
    configs = list_configs()
    if name_or_path not in configs:
        broken: dict[str, str] = {}
        plugin_configs(errors=broken)
        if name_or_path in broken:
            raise ConfigError(broken[name_or_path])
        known = ", ".join(configs) or "none found"
        raise ConfigError(f"unknown simulation {name_or_path!r}; known: {known} "
                          "(see `sparsesim list`)")
    return configs[name_or_path]


def import_plugins(modules: Any, *, key: str = "sim.plugins") -> tuple[str, ...]:
    """Import the modules a sweep names in ``[sim] plugins``; their dotted names, checked.

    A module imported before registers what it registers at import once only
    (Python caches modules), so calling this again on every task is cheap.

    >>> import_plugins(["sparsesim.nn"])
    ('sparsesim.nn',)
    >>> import_plugins(["no_such_module_here"])
    Traceback (most recent call last):
    ...
    sparsesim.sweep.config.ConfigError: sim.plugins: module 'no_such_module_here' cannot be imported: No module named 'no_such_module_here'
    """
    if isinstance(modules, str) or not isinstance(modules, (list, tuple)):
        raise ConfigError(f"{key} must be a list of dotted module names; got {modules!r}")
    out = []
    for name in modules:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{key} entries must be dotted module names; got {name!r}")
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"{key}: module {name!r} cannot be imported: {exc}") from None
        out.append(name)
    return tuple(out)


def _check_value(key: str, value: Any, typ: type) -> Any:
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, bool) or not isinstance(value, typ):
        raise ConfigError(f"{key} must be of type {_TYPES.get(typ, typ.__name__)}; "
                          f"got {value!r} ({type(value).__name__})")
    return value


def _check_table(where: str, table: Any, allowed: set[str]) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table; got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"unknown key {where + '.' if where else ''}{key!r}; "
                              f"allowed: {sorted(allowed)}")
    return table


def _check_params(where: str, params: Any, schema: dict[str, type], *, grid: bool) -> dict:
    params = _check_table(where, params, set(schema))
    out = {}
    for key, value in params.items():
        full = f"{where}.{key}"
        if grid:
            if not isinstance(value, list):
                raise ConfigError(f"{full} must be a list of values; got {value!r}")
            if not value:
                raise ConfigError(f"{full} is an empty grid; give at least one value")
            out[key] = [_check_value(full, v, schema[key]) for v in value]
        else:
            out[key] = _check_value(full, value, schema[key])
    return out


def _check_grids(where: str, grid: Any, schema: dict[str, type]) -> list[dict]:
    """``[grid]`` (one cartesian product) or ``[[grid]]`` (a union of products)."""
    if isinstance(grid, list):
        if not grid:
            raise ConfigError(f"{where} is an empty list of grids")
        return [_check_params(f"{where}[{i}]", g, schema, grid=True) for i, g in enumerate(grid)]
    return [_check_params(where, grid, schema, grid=True)]


def _resolve_simulation(path: Path, sim: dict,
                        simulation: Simulation | None) -> tuple[str, Simulation]:
    """The module path and the checked :class:`Simulation` a ``[sim]`` table names."""
    name = sim["name"]
    if simulation is not None:
        if not isinstance(simulation, Simulation):
            raise ConfigError(f"simulation must be a Simulation; got {type(simulation).__name__}")
        module = sim.get("module", simulation.module)
        if module != simulation.module:
            raise ConfigError(f"sim.module {module!r} is not the module of the simulation given "
                              f"({simulation.module!r})")
        return module, simulation
    registered = REGISTRY.get(name)
    if registered is None and "module" not in sim:
        plugin = plugins().get(name)
        if plugin is not None:  # an installed plugin's simulation (sparsesim.sim.plugins)
            try:
                return _resolve_simulation(path, sim, load_plugin(name))
            except SimulationError as exc:
                raise ConfigError(str(exc)) from None
    if "module" in sim:
        module = _check_value("sim.module", sim["module"], str)
        if registered is not None and module != registered:
            raise ConfigError(f"sim.module {module!r} disagrees with the registry: {name!r} is "
                              f"registered for {registered!r} (drop sim.module or rename the sim)")
    elif registered is not None:
        module = registered
    else:
        raise ConfigError(f"{path}: missing key sim.module ({name!r} is not a registered "
                          f"simulation; registered: {', '.join(sorted(REGISTRY))})")
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"sim.module {module!r} cannot be imported: {exc}") from None
    try:
        return module, Simulation.from_module(module, name=name)
    except SimulationError as exc:
        raise ConfigError(f"sim.module {module!r}: {exc}") from None


def load_config(name_or_path: str | Path, *, quick: bool = False, seed: int | None = None,
                overrides: dict[str, Any] | None = None,
                simulation: Simulation | None = None) -> SweepConfig:
    """Load, validate and expand a sweep configuration.

    Parameters
    ----------
    name_or_path : str or Path
        A simulation name (looked up in :func:`sims_dirs`) or a TOML path.
    quick : bool
        Apply the ``[quick]`` overrides.
    seed : int, optional
        Replace the sweep seed of ``[sim]``.
    overrides : dict, optional
        Parameter values forced on every cell (e.g. ``{"trials": 1000}``);
        each key must be one of the simulation's parameters.
    simulation : Simulation, optional
        Use this declaration instead of the one ``[sim]`` names (e.g. a
        simulation built in a notebook; ``sim.module`` may then be omitted).

    Raises
    ------
    ConfigError
        For any malformed entry, naming the key.
    """
    path = find_config(str(name_or_path))
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _check_table("", raw, _TOP_KEYS)
    if quick and "quick" not in raw:
        raise ConfigError(f"{path}: quick (--quick) needs a [quick] table (the small variant: "
                          "[quick.params], [quick.grid]); this file has none, so run it without "
                          "--quick or add one")
    if "sim" not in raw:
        raise ConfigError(f"{path}: missing table [sim]")
    sim = _check_table("sim", raw["sim"], _SIM_KEYS)
    if "name" not in sim:
        raise ConfigError(f"{path}: missing key sim.name")
    _check_value("sim.name", sim["name"], str)
    description = _check_value("sim.description", sim.get("description", ""), str)
    sweep_seed = _check_value("sim.seed", sim.get("seed", 0), int)
    if seed is not None:
        sweep_seed = _check_value("seed", seed, int)
    if sweep_seed < 0:
        raise ConfigError(f"sim.seed must be >= 0; got {sweep_seed}")
    plugins = import_plugins(sim.get("plugins", []))
    module_name, simulation = _resolve_simulation(path, sim, simulation)
    schema = dict(simulation.params)
    if raw.get("claims") and schema.get("claims") is not str:
        raise ConfigError(f"{sim['name']}: this simulation takes no pre-registered claims "
                          "(it declares no str parameter 'claims'); remove the [[claims]] tables")

    params = _check_params("params", raw.get("params", {}), schema, grid=False)
    grids = _check_grids("grid", raw.get("grid", {}), schema)
    for grid in grids:
        both = sorted(set(params) & set(grid))
        if both:
            raise ConfigError(f"{both[0]!r} is set in both [params] and [grid]; keep one")
    include = raw.get("include", [])
    q = _check_table("quick", raw.get("quick", {}), _QUICK_KEYS)
    qparams = _check_params("quick.params", q.get("params", {}), schema, grid=False)
    qgrid_raw = q.get("grid", {})
    qgrids = _check_grids("quick.grid", qgrid_raw, schema)
    if quick:  # a quick entry replaces the default one, fixed value or grid alike
        if isinstance(qgrid_raw, list):  # [[quick.grid]]: a new list of products
            grids = qgrids
        else:  # [quick.grid]: these axes replace the same axes in every product
            grids = [dict(g, **qgrids[0]) for g in grids]
            for key in qgrids[0]:
                params.pop(key, None)
        for key, value in qparams.items():
            for grid in grids:
                grid.pop(key, None)
            params[key] = value
        if "include" in q:
            include = q["include"]
    if not isinstance(include, list):
        raise ConfigError("include must be an array of tables ([[include]])")
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        if key not in schema:
            raise ConfigError(f"override {key!r} is not a parameter of {sim['name']}; "
                              f"parameters: {sorted(schema)}")
        overrides[key] = _check_value(key, value, schema[key])

    cells = [dict(params, **dict(zip(grid, combo)))
             for grid in grids for combo in itertools.product(*grid.values())]
    for i, extra in enumerate(include):
        cells.append(dict(params, **_check_params(f"include[{i}]", extra, schema, grid=False)))
    defaults = dict(simulation.defaults)
    cells = [dict(defaults, **c) for c in cells]
    for c in cells:
        missing = sorted(set(schema) - set(c))
        if missing:
            raise ConfigError(f"{sim['name']}: missing parameter {missing[0]!r} "
                              f"(set it in [params] or [grid])")
    cells = [dict(c, **overrides) for c in cells]
    unique, seen = [], set()
    for c in cells:
        key = json.dumps(c, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    valid, dropped = simulation.valid_cell, []
    if valid is not None:
        kept = []
        for c in unique:
            reason = _validity(valid(dict(c)), simulation)
            if reason is None:
                kept.append(c)
            else:
                dropped.append((c, reason))
        unique = kept
    if not unique:
        raise ConfigError(f"{sim['name']}: the grid expands to no valid cell: "
                          + dropped_text(dropped))
    claims = _check_claims(sim["name"], raw, schema, simulation, unique, params, grids, overrides)
    if claims:
        blob = claims_json(claims)
        unique = [dict(c, claims=blob) for c in unique]
    return SweepConfig(name=sim["name"], module_name=module_name, description=description,
                       seed=sweep_seed, cells=tuple(unique), path=path, quick=quick, raw=raw,
                       simulation=simulation, claims=tuple(claims), dropped=tuple(dropped),
                       capped=_caps_of(simulation, unique, schema), plugins=plugins)


def claims_json(claims: list[dict] | tuple[dict, ...]) -> str:
    """The canonical JSON of a list of claims, as recorded in every cell.

    >>> claims_json([{"y": "dense", "id": "a", "x": "lottery"}])
    '[{"id":"a","x":"lottery","y":"dense"}]'
    """
    return json.dumps(list(claims), sort_keys=True, separators=(",", ":"), default=str)


def _check_claims(name: str, raw: dict, schema: dict, simulation: Simulation, cells: list[dict],
                  params: dict, grids: list[dict], overrides: dict) -> list[dict]:
    """The ``[[claims]]`` of a TOML, checked and normalised by the simulation's hook."""
    set_directly = "claims" in params or "claims" in overrides or any(
        "claims" in g for g in grids)
    if set_directly:
        raise ConfigError(f"{name}: 'claims' is recorded by the sweep; declare claims with "
                          "[[claims]] tables, not as a parameter")
    declared = raw.get("claims", [])
    if not declared:
        return []
    if not isinstance(declared, list) or not all(isinstance(c, dict) for c in declared):
        raise ConfigError("claims must be an array of tables ([[claims]])")
    seen = set()
    for i, c in enumerate(declared):
        cid = c.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise ConfigError(f"claims[{i}].id must be a non-empty string; got {cid!r}")
        if cid in seen:
            raise ConfigError(f"claims[{i}].id {cid!r} is declared twice; ids must be unique")
        seen.add(cid)
    hook = simulation.check_claims
    if hook is None:
        return [dict(c) for c in declared]
    try:
        out = hook([dict(c) for c in declared], [dict(c) for c in cells])
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return list(out)
