"""Simulation families, each declared as a :class:`Simulation` and registered by name.

A simulation maps one parameter dict to a flat result row (``run_cell``, or
``run_cells`` for a batch of cells sharing a ``batch_key``), declares its
parameters (types, defaults, neutral defaults, ``valid_cell``) for
``sims/<name>.toml``, and turns finished cells into theory tables and figures
(``tables``, ``figures``).  :class:`Simulation` is that declaration; it is
checked when it is made, so a sweep, a report or ``sparsesim.run`` fails
before any work when a simulation is malformed.

The registry maps the name used in ``sims/<name>.toml`` to the module that
implements it (several names may share a module: both lottery sweeps run
:mod:`sparsesim.sim.lottery`).  Registering a new simulation is one line in
:data:`REGISTRY` (or one :func:`register` call).  A module declares itself
either with a module-level ``SIMULATION = Simulation(...)`` or with the
attributes :meth:`Simulation.from_module` reads (``PARAMS``, optional
``DEFAULTS``, ``NEUTRAL_DEFAULTS``, ``valid_cell``, ``run_cell`` and/or
``run_cells``, ``batch_key``, ``tables``, ``figures``).  A dotted module path
that is not registered (a simulation defined outside this package) still
loads through :func:`get`.

Plugins
-------
An installed distribution publishes simulations in the entry-point group
``sparsesim.simulations`` (:data:`ENTRY_POINT_GROUP`)::

    [project.entry-points."sparsesim.simulations"]
    coin_flips = "sparsesim_example_plugin:SIMULATION"

Each entry point names a :class:`Simulation` (or a module declaring one); the
entry point's name is the simulation's name.  A :class:`Simulation` may name
its default sweep TOML, shipped as its package's data (``config =
"sparsesim_example_plugin:coin_flips.toml"``, read through
:mod:`importlib.resources`), which ``sparsesim run <name>`` then finds from any
folder.  :func:`plugins` lists them with the distribution each comes from;
:func:`get` loads them by name; a built-in name always wins over a plugin's.
``sparsesim.testing.check_simulation`` checks what a plugin must keep.

Modules are imported on demand, so importing this package stays cheap.

Examples
--------
>>> from sparsesim import sim
>>> "support_recovery" in sim.names()
True
>>> sim.REGISTRY["masked_hessian_saddles"]
'sparsesim.sim.saddles'
>>> s = Simulation(name="coin", params={"p": float, "n": int}, defaults={"n": 10},
...                run_cell=lambda params, ctx: {"heads": 0})
>>> s.required
('p',)
>>> Simulation(name="bad", params={"p": complex}, run_cell=print)
Traceback (most recent call last):
...
sparsesim.sim.SimulationError: simulation 'bad': params['p'] must be one of int, float, str, bool; got complex
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

__all__ = ["ENTRY_POINT_GROUP", "PARAM_TYPES", "REGISTRY", "Invalid", "Plugin", "Simulation",
           "SimulationError", "as_simulation", "get", "load_plugin", "names", "plugins",
           "register", "report_hooks"]

#: The entry-point group third-party simulations are published under.
ENTRY_POINT_GROUP = "sparsesim.simulations"

#: The parameter types a sweep TOML can hold.
PARAM_TYPES = (int, float, str, bool)

#: Name used in ``sims/<name>.toml`` → module implementing it (dotted path).
REGISTRY: dict[str, str] = {
    "best_k_term": "sparsesim.sim.best_k_term",
    "lottery_mnist1d": "sparsesim.sim.lottery",
    "lottery_teacher": "sparsesim.sim.lottery",
    "masked_hessian_saddles": "sparsesim.sim.saddles",
    "mlp_saddles": "sparsesim.sim.mlp_saddles",
    "phase_transition": "sparsesim.sim.phase_transition",
    "rewinding_geometry": "sparsesim.sim.rewinding",
    "support_recovery": "sparsesim.sim.support_recovery",
}

_HOOKS = ("valid_cell", "run_cell", "run_cells", "batch_key", "refine", "tables", "figures",
          "caps", "check_claims")


class Invalid:
    """What ``valid_cell`` returns for a cell it drops, with the reason (false in a test).

    ``valid_cell`` may return a plain bool; an :class:`Invalid` also says why,
    and the sweep lists dropped cells with that reason.

    >>> verdict = Invalid("k > d")
    >>> bool(verdict), verdict.reason, verdict == False
    (False, 'k > d', True)
    >>> Invalid("")
    Traceback (most recent call last):
    ...
    ValueError: Invalid needs a reason (a non-empty str); got ''
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"Invalid needs a reason (a non-empty str); got {reason!r}")
        self.reason = reason

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Invalid):
            return other.reason == self.reason
        return other is False

    def __hash__(self) -> int:
        return hash(False)

    def __repr__(self) -> str:
        return f"Invalid({self.reason!r})"


class SimulationError(ValueError):
    """A simulation is malformed or unknown; the message names the simulation and the field."""


def _copy(mapping: Mapping | None) -> dict:
    return dict(mapping or {})


@dataclass(frozen=True)
class Simulation:
    """A simulation family, declared: its parameters and the hooks a sweep calls.

    Parameters
    ----------
    name : str
        The registered name (``sims/<name>.toml``) or, for an unregistered
        module, its dotted path.
    params : mapping of str to type
        Every parameter a cell may have, with its type (int, float, str, bool).
    defaults : mapping, optional
        Values of the optional parameters; the others are required.
    neutral_defaults : mapping, optional
        Parameters added after journals existed, with the value that
        reproduces the earlier behaviour: a cell at that value is keyed and
        seeded without it (:func:`sparsesim.sweep.provenance.cell_identity`).
    valid_cell : callable, optional
        ``valid_cell(params) -> bool | Invalid``; cells it rejects are dropped
        from a grid and listed with the reason (``Invalid(reason)``; a
        returned str is read as such a reason; a bare ``False`` gets a
        generic one).
    run_cell : callable, optional
        ``run_cell(params, ctx) -> dict | list[dict]``.
    run_cells : callable, optional
        ``run_cells(params_list, ctxs) -> list`` (one result per cell); cells
        are grouped by ``batch_key(params)`` when both are given.
    batch_key : callable, optional
    refine : callable, optional
        ``refine(cells: DataFrame) -> list[dict]``: cells to add once every cell
        so far has run, chosen from their rows (e.g. a finer grid where a
        measured curve crosses a level).  The sweep runs them, journals them
        like any cell (keyed and seeded by their parameters) and asks again
        until nothing new comes back, so a resumed run repeats the passes
        from its journal.  It must be a function of the rows alone.
        ``tables(cells: DataFrame) -> list[TheoryTable]``.
    figures : callable, optional
        ``figures(cells, outdir) -> list[Path]``.
    check_claims : callable, optional
        ``check_claims(claims, cells) -> list[dict]``: validates the claims a
        sweep TOML pre-registers (``[[claims]]`` tables) against the expanded
        cells and returns them normalised; raises ``ValueError`` naming the
        claim and key.  A simulation that takes claims declares a str
        parameter ``claims``, where the sweep records them (canonical JSON)
        in every cell.
    caps : callable, optional
        ``caps(params) -> {name: value or (value, why)}``: the values a cell
        actually runs where the simulation caps a parameter (e.g. trials
        limited by ``max_samples``).  The sweep states each cap before the
        run and in the report; ``cells.csv`` holds the value run under the
        parameter's name and the request in ``<name>_requested``.
    module : str
        Dotted path of the module holding the code ("" when built in place);
        a distributed executor ships this name to its workers.
    description : str
        One line: what the simulation tests.
    timing_columns : tuple of str
        Row columns that measure time (e.g. a solver's seconds): they differ
        between two runs of a cell by design, so the determinism checks of
        :mod:`sparsesim.testing` leave them out.  A module declares them as
        ``TIMING_COLUMNS``.
    config : str
        Its default sweep TOML as ``"package:path/in/package.toml"``, shipped
        as the package's data (a plugin's default sweep; :meth:`config_path`);
        ``""`` when it has none (the built-in sweeps ship in ``sparsesim/sims``).
    """

    name: str
    params: Mapping[str, type]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    neutral_defaults: Mapping[str, Any] = field(default_factory=dict)
    valid_cell: Callable[[dict], bool] | None = None
    run_cell: Callable[..., Any] | None = None
    run_cells: Callable[..., Any] | None = None
    batch_key: Callable[[dict], Any] | None = None
    refine: Callable[..., Any] | None = None
    tables: Callable[..., Any] | None = None
    figures: Callable[..., Any] | None = None
    caps: Callable[[dict], dict] | None = None
    check_claims: Callable[..., Any] | None = None
    module: str = ""
    description: str = ""
    timing_columns: tuple = ()
    config: str = ""

    def __post_init__(self) -> None:
        where = f"simulation {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise SimulationError(f"Simulation name must be a non-empty str; got {self.name!r}")
        for attr in ("params", "defaults", "neutral_defaults"):
            value = getattr(self, attr)
            if value is not None and not isinstance(value, Mapping):
                raise SimulationError(f"{where}: {attr} must be a dict; got {type(value).__name__}")
            object.__setattr__(self, attr, _copy(value))
        if not self.params:
            raise SimulationError(f"{where}: params must name at least one parameter")
        for key, typ in self.params.items():
            if not isinstance(key, str):
                raise SimulationError(f"{where}: parameter names must be str; got {key!r}")
            if typ not in PARAM_TYPES:
                raise SimulationError(f"{where}: params[{key!r}] must be one of int, float, str, "
                                      f"bool; got {getattr(typ, '__name__', typ)}")
        for attr in ("defaults", "neutral_defaults"):
            for key, value in getattr(self, attr).items():
                if key not in self.params:
                    raise SimulationError(f"{where}: {attr}[{key!r}] is not one of its params "
                                          f"{sorted(self.params)}")
                typ = self.params[key]
                ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool)) \
                    or (typ is float and isinstance(value, int) and not isinstance(value, bool))
                if not ok:
                    raise SimulationError(f"{where}: {attr}[{key!r}] = {value!r} is not of its "
                                          f"declared type {typ.__name__}")
        for hook in _HOOKS:
            value = getattr(self, hook)
            if value is not None and not callable(value):
                raise SimulationError(f"{where}: {hook} must be callable or None; "
                                      f"got {type(value).__name__}")
        if self.run_cell is None and self.run_cells is None:
            raise SimulationError(f"{where}: needs run_cell or run_cells")
        if self.batch_key is not None and self.run_cells is None:
            raise SimulationError(f"{where}: batch_key is given but run_cells is not")
        for attr in ("module", "description", "config"):
            if not isinstance(getattr(self, attr), str):
                raise SimulationError(f"{where}: {attr} must be a str")
        cols = self.timing_columns
        if isinstance(cols, str) or not isinstance(cols, (tuple, list)) \
                or not all(isinstance(c, str) for c in cols):
            raise SimulationError(f"{where}: timing_columns must be a tuple of column names; "
                                  f"got {cols!r}")
        object.__setattr__(self, "timing_columns", tuple(cols))
        if self.config:
            package, _, resource = self.config.partition(":")
            if not package or not resource.endswith(".toml"):
                raise SimulationError(f"{where}: config must be 'package:path/in/package.toml' "
                                      f"(a TOML shipped as package data); got {self.config!r}")

    def config_path(self) -> Path | None:
        """The file of :attr:`config` (its default sweep), or ``None`` when it names none.

        Raises
        ------
        SimulationError
            When the package cannot be imported or holds no such file.
        """
        if not self.config:
            return None
        package, _, resource = self.config.partition(":")
        try:
            path = Path(str(importlib.resources.files(package).joinpath(resource)))
        except (ImportError, TypeError) as exc:
            raise SimulationError(f"simulation {self.name!r}: config {self.config!r}: package "
                                  f"{package!r} cannot be read: {exc}") from None
        if not path.is_file():
            raise SimulationError(f"simulation {self.name!r}: config {self.config!r}: no such "
                                  f"file in the package ({path})")
        return path

    @property
    def required(self) -> tuple[str, ...]:
        """The parameters without a default (a TOML must set them)."""
        return tuple(k for k in self.params if k not in self.defaults)

    @property
    def batches(self) -> bool:
        """Whether cells are grouped by ``batch_key`` and run by ``run_cells``."""
        return self.run_cells is not None and self.batch_key is not None

    @classmethod
    def from_module(cls, module: ModuleType | str, name: str | None = None) -> "Simulation":
        """The simulation a module declares (``SIMULATION``, or its protocol attributes).

        Raises
        ------
        SimulationError
            When the module lacks ``PARAMS`` or a hook has the wrong kind,
            naming the module and the attribute.
        """
        if isinstance(module, str):
            module = _import(module)
        declared = getattr(module, "SIMULATION", None)
        if declared is not None:
            if not isinstance(declared, Simulation):
                raise SimulationError(f"{module.__name__}.SIMULATION must be a Simulation; "
                                      f"got {type(declared).__name__}")
            changes = {"module": declared.module or module.__name__}
            if name is not None:
                changes["name"] = name
            return _replace(declared, **changes)
        params = getattr(module, "PARAMS", None)
        if not isinstance(params, Mapping):
            raise SimulationError(f"{module.__name__} declares no simulation: it has neither "
                                  "SIMULATION nor a PARAMS dict (name -> type)")
        doc = (module.__doc__ or "").strip()
        return cls(name=name or module.__name__, params=params,
                   defaults=getattr(module, "DEFAULTS", None) or {},
                   neutral_defaults=getattr(module, "NEUTRAL_DEFAULTS", None) or {},
                   **{hook: getattr(module, hook, None) for hook in _HOOKS},
                   timing_columns=tuple(getattr(module, "TIMING_COLUMNS", ())),
                   module=module.__name__, description=doc.splitlines()[0] if doc else "")


def _replace(sim: Simulation, **changes: Any) -> Simulation:
    from dataclasses import replace  # noqa: PLC0415 - rarely used

    return replace(sim, **changes)


def _import(path: str) -> ModuleType:
    try:
        return importlib.import_module(path)
    except ImportError as exc:
        raise SimulationError(f"simulation module {path!r} cannot be imported: {exc}") from None


def register(name: str, module: str) -> None:
    """Register ``name`` (as in ``sims/<name>.toml``) for the simulation in ``module``.

    >>> register("support_recovery", "sparsesim.sim.support_recovery")  # already there: fine
    >>> register("support_recovery", "elsewhere")
    Traceback (most recent call last):
    ...
    ValueError: simulation 'support_recovery' is already registered for sparsesim.sim.support_recovery
    """
    if not isinstance(name, str) or not name or not isinstance(module, str) or not module:
        raise ValueError(f"register needs a name and a dotted module path; "
                         f"got {name!r}, {module!r}")
    if REGISTRY.get(name, module) != module:
        raise ValueError(f"simulation {name!r} is already registered for {REGISTRY[name]}")
    REGISTRY[name] = module


@dataclass(frozen=True)
class Plugin:
    """A simulation published by an installed distribution (entry point, not yet loaded).

    Attributes
    ----------
    name : str
        The entry point's name: the simulation's name.
    value : str
        What it points at, ``"module:attribute"``.
    distribution : str
        The distribution that publishes it (``""`` when unknown).
    version : str
        That distribution's version (``""`` when unknown).
    shadowed : bool
        A built-in simulation has the same name (the built-in one is used).
    """

    name: str
    value: str
    distribution: str = ""
    version: str = ""
    shadowed: bool = False

    @property
    def origin(self) -> str:
        """Where it comes from: ``"<distribution> <version>"`` (or the entry point's value)."""
        if self.distribution:
            return f"{self.distribution} {self.version}".strip()
        return self.value


def _entry_points() -> list:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def plugins() -> dict[str, Plugin]:
    """The simulations installed distributions publish (:data:`ENTRY_POINT_GROUP`), by name.

    Nothing is imported: a plugin's code is loaded by :func:`load_plugin`.
    When two distributions publish one name, the first one found is kept.

    >>> all(isinstance(p, Plugin) for p in plugins().values())
    True
    """
    out: dict[str, Plugin] = {}
    for ep in _entry_points():
        if ep.name in out:
            continue
        dist = getattr(ep, "dist", None)
        meta = getattr(dist, "metadata", None)
        out[ep.name] = Plugin(name=ep.name, value=ep.value,
                              distribution=(meta["Name"] if meta is not None else "") or "",
                              version=getattr(dist, "version", "") or "",
                              shadowed=ep.name in REGISTRY)
    return dict(sorted(out.items()))


def load_plugin(name: str) -> Simulation:
    """The :class:`Simulation` the plugin ``name`` publishes, named ``name``.

    Raises
    ------
    SimulationError
        For a name no installed distribution publishes, or an entry point that
        fails to load or is neither a :class:`Simulation` nor a module
        declaring one; the message names the entry point and its distribution.
    """
    eps = [ep for ep in _entry_points() if ep.name == name]
    if not eps:
        raise SimulationError(f"no installed distribution publishes a simulation {name!r} "
                              f"(entry-point group {ENTRY_POINT_GROUP!r})")
    ep = eps[0]
    where = f"plugin {name!r} ({ep.value}, from {plugins()[name].origin})"
    try:
        obj = ep.load()
    except Exception as exc:  # a broken plugin: say which one and why
        raise SimulationError(f"{where} cannot be loaded: {type(exc).__name__}: {exc}") from None
    if isinstance(obj, ModuleType):
        return Simulation.from_module(obj, name=name)
    if not isinstance(obj, Simulation):
        raise SimulationError(f"{where} must be a sparsesim.sim.Simulation (or a module "
                              f"declaring one); got {type(obj).__name__}")
    return _replace(obj, name=name, module=obj.module or ep.value.partition(":")[0].strip())


def names() -> list[str]:
    """The registered simulation names, sorted."""
    return sorted(REGISTRY)


def get(name_or_module: str) -> Simulation:
    """The simulation registered as ``name_or_module``, a plugin's, or declared by that module.

    Raises
    ------
    SimulationError
        For a name that is neither registered nor an importable module.
    """
    if not isinstance(name_or_module, str) or not name_or_module:
        raise SimulationError(f"simulation must be a registered name or a dotted module path; "
                              f"got {name_or_module!r}")
    if name_or_module in REGISTRY:
        name, path = name_or_module, REGISTRY[name_or_module]
    elif name_or_module in plugins():
        return load_plugin(name_or_module)
    else:
        name, path = name_or_module, name_or_module
        try:
            importlib.import_module(path)
        except ImportError:
            raise SimulationError(f"unknown simulation {name_or_module!r}: not registered "
                                  f"(registered: {', '.join(names())}) and not an importable "
                                  "module") from None
    return Simulation.from_module(path, name=name)


def as_simulation(obj: Any) -> Simulation:
    """``obj`` as a :class:`Simulation`: itself, a module's declaration, or a name looked up."""
    if isinstance(obj, Simulation):
        return obj
    if isinstance(obj, ModuleType):
        return Simulation.from_module(obj)
    if isinstance(obj, str):
        return get(obj)
    raise SimulationError(f"expected a Simulation, a simulation module or a name; "
                          f"got {type(obj).__name__}")


def report_hooks(obj: Any) -> tuple[Callable | None, Callable | None]:
    """The ``(tables, figures)`` hooks a report calls, checked before any work.

    ``obj`` is a :class:`Simulation`, a registered name, a simulation module
    (checked in full), or any object with ``tables`` / ``figures`` attributes
    (a report needs nothing else).

    >>> report_hooks("support_recovery")[0].__name__
    'tables'
    >>> class Tables:
    ...     tables = 3
    >>> report_hooks(Tables)
    Traceback (most recent call last):
    ...
    sparsesim.sim.SimulationError: Tables.tables must be callable or None; got int
    """
    if isinstance(obj, str):
        obj = get(obj)
    elif isinstance(obj, ModuleType) and (hasattr(obj, "PARAMS") or hasattr(obj, "SIMULATION")):
        obj = Simulation.from_module(obj)
    label = obj.name if isinstance(obj, Simulation) \
        else getattr(obj, "__name__", type(obj).__name__)
    hooks = []
    for hook in ("tables", "figures"):
        value = getattr(obj, hook, None)
        if value is not None and not callable(value):
            raise SimulationError(f"{label}.{hook} must be callable or None; "
                                  f"got {type(value).__name__}")
        hooks.append(value)
    return hooks[0], hooks[1]
