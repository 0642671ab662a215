"""The contract every simulation keeps, as checks a plugin's own tests can run.

A simulation published by another distribution (entry-point group
``sparsesim.simulations``, :func:`sparsesim.sim.plugins`) runs inside
sparsesim's sweeps, journal and reports; these checks state what it must keep
for that, in the way scikit-learn's ``check_estimator`` states what an
estimator must keep:

- :func:`check_declared_params` — parameters and defaults are declared with
  their types, and every cell of its sweep holds exactly the declared
  parameters, each of its declared type;
- :func:`check_valid_cell` — ``valid_cell`` answers a bool, an
  :class:`~sparsesim.sim.Invalid` or a reason, the same answer twice, without
  changing the cell it is given; the cells the sweep dropped stay dropped;
- :func:`check_seed_determines_rows` — a cell's rows are determined by its seed
  (the first task of the sweep, run twice; the columns a simulation declares
  in ``timing_columns`` are left out);
- :func:`check_rows_json` — rows are flat dicts of JSON scalars (str keys;
  int, float, str, bool or None values), so that the journal can hold them;
- :func:`check_table_kinds` — ``tables`` returns theory tables whose rows all
  have a kind of the verdict model (``"test"``, ``"claim"``, ``"interval"``,
  ``"identity"``, ``"descriptive"``, ``"not testable: …"`` or ``"post hoc: …"``);
- :func:`check_resume` — a sweep interrupted after its first journaled unit
  (a finished task, or a round of a task that runs in rounds) and run again
  gives the rows of an uninterrupted run.

:func:`check_simulation` runs them all; :func:`parametrize_with_checks` makes
one pytest test per (simulation, check) pair::

    from sparsesim.testing import parametrize_with_checks
    from mypkg import SIMULATION

    @parametrize_with_checks([SIMULATION])
    def test_sparsesim_contract(simulation, check):
        check(simulation)

The checks run the simulation's sweep (its :attr:`~sparsesim.sim.Simulation.config`,
else the shipped ``sims/<name>.toml``) on its quick grid by default, on the
NumPy backend; ``subset`` cuts the grid to its first cells (or to those a
function picks) for simulations whose quick grid is still long.

Examples
--------
>>> from sparsesim.sim import Simulation
>>> coin = Simulation(name="coin", params={"p": float}, run_cell=lambda p, ctx: {"x": p["p"]})
>>> check_declared_params(coin, cells=[{"p": 0.5}])
>>> check_rows_json(coin, cells=[{"p": 0.5}])
>>> check_declared_params(coin, cells=[{"p": "half"}])
Traceback (most recent call last):
...
AssertionError: coin: cell {'p': 'half'}: parameter 'p' = 'half' is not of its declared type float
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ._table import KINDS, TheoryTable
from .sim import Invalid, Simulation, as_simulation
from .sweep import CellContext, LocalExecutor, load_config, run_sweep, run_task
from .sweep.config import SweepConfig, find_config
from .sweep.provenance import cell_identity, cell_key, cell_seed
from .sweep.runner import PROVENANCE_COLUMNS, make_tasks

__all__ = ["CHECKS", "check_simulation", "check_declared_params", "check_valid_cell",
           "check_seed_determines_rows", "check_rows_json", "check_table_kinds", "check_resume",
           "simulation_checks", "parametrize_with_checks", "sweep_config"]

#: Row columns that differ between two runs of the same cell by design.
_TIMING = ("elapsed_s", "finished_at")
#: Row values the journal can hold.
_SCALARS = (str, int, float, bool, type(None))


#: Runs shared by the checks of one simulation in this process:
#: ``key -> (simulation, result)`` (the simulation kept, so that its id stays its own).
_RUNS: dict[tuple, tuple[Simulation, Any]] = {}


def _remember(key: tuple, sim: Simulation, result: Any) -> None:
    if len(_RUNS) >= 32:
        _RUNS.clear()
    _RUNS[key] = (sim, result)


def _fail(sim: Simulation, message: str) -> AssertionError:
    return AssertionError(f"{sim.name}: {message}")


def sweep_config(simulation: Any, *, config: str | Path | None = None, quick: bool = True,
                 subset: int | Callable[[list[dict]], list[dict]] | None = None) -> SweepConfig:
    """The sweep the checks run: the simulation's default sweep, quick, cut to ``subset``.

    Parameters
    ----------
    simulation : Simulation, module or name
    config : str or Path, optional
        A TOML (name or path); default the simulation's
        :attr:`~sparsesim.sim.Simulation.config`, else ``sims/<name>.toml``.
    quick : bool
        Its ``[quick]`` variant (when it has one).
    subset : int or callable, optional
        Keep the first ``subset`` cells, or the cells ``subset(cells)`` returns.

    Examples
    --------
    >>> len(sweep_config("best_k_term", subset=2).cells)
    2
    """
    sim = as_simulation(simulation)
    if config is None:
        config = sim.config_path() or find_config(sim.name)
    path = find_config(str(config))
    has_quick = "quick" in tomllib.loads(Path(path).read_text())
    cfg = load_config(path, quick=bool(quick) and has_quick, simulation=sim)
    if subset is None:
        return cfg
    cells = list(cfg.cells)
    if callable(subset):
        picked = list(subset([dict(c) for c in cells]))
    elif isinstance(subset, int) and not isinstance(subset, bool) and subset >= 1:
        picked = cells[:subset]
    else:
        raise ValueError(f"subset must be an int >= 1 or a function of the cells; got {subset!r}")
    if not picked:
        raise ValueError(f"{sim.name}: subset keeps no cell of the sweep")
    unknown = [c for c in picked if c not in cells]
    if unknown:
        raise ValueError(f"{sim.name}: subset returned a cell that is not in the sweep: "
                         f"{unknown[0]!r}")
    return dataclasses.replace(cfg, cells=tuple(picked), dropped=(), capped=())


def _cells(sim: Simulation, cells: Sequence[dict] | None, cfg: SweepConfig | None) -> list[dict]:
    if cells is not None:
        return [dict(c) for c in cells]
    return [dict(c) for c in cfg.cells]


# --------------------------------------------------------------------------- the checks

def check_declared_params(simulation: Any, *, cells: Sequence[dict] | None = None,
                          cfg: SweepConfig | None = None) -> None:
    """Parameters and defaults declared with their types; cells hold exactly those parameters.

    Raises
    ------
    AssertionError
        Naming the simulation, the cell and the parameter.
    """
    sim = as_simulation(simulation)
    dataclasses.replace(sim)   # the declaration checks itself again (SimulationError)
    for key, value in sim.defaults.items():
        if not _of_type(value, sim.params[key]):
            raise _fail(sim, f"default {key!r} = {value!r} is not of its declared type "
                             f"{sim.params[key].__name__}")
    for cell in _cells(sim, cells, cfg):
        missing = sorted(set(sim.params) - set(cell))
        extra = sorted(set(cell) - set(sim.params))
        if missing or extra:
            raise _fail(sim, f"cell {cell!r}: " + (f"missing parameters {missing}" if missing
                                                  else f"undeclared parameters {extra}"))
        for key, value in cell.items():
            if not _of_type(value, sim.params[key]):
                raise _fail(sim, f"cell {cell!r}: parameter {key!r} = {value!r} is not of its "
                                 f"declared type {sim.params[key].__name__}")


def _of_type(value: Any, typ: type) -> bool:
    if typ is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typ)


def check_valid_cell(simulation: Any, *, cells: Sequence[dict] | None = None,
                     cfg: SweepConfig | None = None) -> None:
    """``valid_cell`` answers a bool, an ``Invalid`` or a reason, the same twice, changing nothing.

    The cells the sweep kept must be accepted and those it dropped rejected
    again.
    """
    sim = as_simulation(simulation)
    if sim.valid_cell is None:
        return
    dropped = [dict(c) for c, _ in cfg.dropped] if cfg is not None else []
    for cell, expect in [(c, True) for c in _cells(sim, cells, cfg)] + [(c, False) for c in dropped]:
        given = dict(cell)
        first = sim.valid_cell(given)
        if given != cell:
            raise _fail(sim, f"valid_cell changed the cell it was given: {cell!r} -> {given!r}")
        if not isinstance(first, (bool, np.bool_, Invalid, str)):
            raise _fail(sim, f"valid_cell({cell!r}) returned {type(first).__name__}; expected a "
                             "bool, an Invalid(reason) or a reason (str)")
        second = sim.valid_cell(dict(cell))
        if _verdict(first) != _verdict(second):
            raise _fail(sim, f"valid_cell({cell!r}) answered {first!r}, then {second!r}")
        if _verdict(first)[0] != expect:
            raise _fail(sim, f"valid_cell({cell!r}) = {first!r}, but the sweep "
                             + ("kept" if expect else "dropped") + " the cell")


def _verdict(v: Any) -> tuple[bool, str]:
    if isinstance(v, str):
        return False, v
    return bool(v), getattr(v, "reason", "")


def _first_task(sim: Simulation, cfg: SweepConfig):
    neutral = dict(sim.neutral_defaults) or None
    pending = [(cell_key(cell_identity(c, neutral), cfg.seed), dict(c)) for c in cfg.cells]
    return make_tasks(cfg, pending[:1] if not sim.batches else pending, "numpy")[0]


def _run_first_task(sim: Simulation, cfg: SweepConfig, *, fresh: bool = False) -> list:
    """``run_task`` of the sweep's first task: ``(key, params, rows)`` per cell.

    Shared by the checks that read it (cached per simulation and sweep) unless
    ``fresh``.
    """
    key = ("first", id(sim), cfg.config_hash, str(cfg.path), cfg.quick)
    hit = _RUNS.get(key)
    if not fresh and hit is not None and hit[0] is sim:
        return hit[1]
    out = run_task(_first_task(sim, cfg))
    if not fresh:
        _remember(key, sim, out)
    return out


def _science(rows: list[dict], sim: Simulation) -> list[dict]:
    skip = set(_TIMING) | set(sim.timing_columns)
    return [{k: v for k, v in r.items() if k not in skip} for r in rows]


def check_seed_determines_rows(simulation: Any, *, cfg: SweepConfig) -> None:
    """The rows of the sweep's first task are the same when it runs twice (same seeds)."""
    sim = as_simulation(simulation)
    once = _run_first_task(sim, cfg)
    twice = _run_first_task(sim, cfg, fresh=True)
    for (key, params, a), (_, _, b) in zip(once, twice):
        ja = json.dumps(_science(a, sim), sort_keys=True, default=repr)
        jb = json.dumps(_science(b, sim), sort_keys=True, default=repr)
        if ja != jb:
            raise _fail(sim, f"the rows of cell {params!r} differ between two runs with the same "
                             f"seed:\n  {ja[:400]}\n  {jb[:400]}")


def check_rows_json(simulation: Any, *, cells: Sequence[dict] | None = None,
                    cfg: SweepConfig | None = None) -> None:
    """Rows are flat dicts of JSON scalars (the journal's format), at least one per cell.

    Runs the given ``cells`` (each alone, by ``run_cell`` or ``run_cells``)
    or the sweep's first task.
    """
    sim = as_simulation(simulation)
    if cells is not None:
        results = []
        for c in cells:
            ctx = CellContext(seed=cell_seed(c, 0), sweep_seed=0, backend="numpy")
            res = (sim.run_cells([dict(c)], [ctx])[0] if sim.run_cell is None
                   else sim.run_cell(dict(c), ctx))
            results.append((dict(c), [res] if isinstance(res, dict) else list(res)))
    else:
        results = [(params, rows) for _, params, rows in _run_first_task(sim, cfg)]
    for params, rows in results:
        if not rows:
            raise _fail(sim, f"cell {params!r} returned no row")
        for row in rows:
            if not isinstance(row, dict):
                raise _fail(sim, f"cell {params!r}: a row is a {type(row).__name__}, not a dict")
            for k, v in row.items():
                if not isinstance(k, str):
                    raise _fail(sim, f"cell {params!r}: row key {k!r} is not a str")
                if not isinstance(v, _SCALARS):
                    raise _fail(sim, f"cell {params!r}: row value {k!r} = {v!r} is a "
                                     f"{type(v).__name__}; rows hold int, float, str, bool or "
                                     "None (convert NumPy scalars with int() / float())")
            json.dumps(row)


def check_table_kinds(simulation: Any, *, cfg: SweepConfig) -> None:
    """``tables`` of the sweep's rows returns theory tables whose rows all have a kind."""
    sim = as_simulation(simulation)
    if sim.tables is None:
        return
    tables = sim.tables(_uninterrupted(sim, cfg).copy())
    if not isinstance(tables, (list, tuple)):
        raise _fail(sim, f"tables must return a list of TheoryTable; got {type(tables).__name__}")
    for t in tables:
        if not isinstance(t, TheoryTable):
            raise _fail(sim, f"tables returned a {type(t).__name__}, not a TheoryTable")
        for i, kind in enumerate(t.row_kinds()):
            if kind not in KINDS and not kind.startswith(("not testable", "post hoc")):
                raise _fail(sim, f"table {t.title!r}, row {i}: kind {kind!r} is none of "
                                 f"{KINDS} (nor 'not testable: ...' / 'post hoc: ...')")


class _Interrupted(Exception):
    """Raised by :class:`_InterruptingExecutor` after the first journaled unit."""


class _InterruptingExecutor(LocalExecutor):
    """A local executor that stops the sweep after its first round or first finished task."""

    def __init__(self) -> None:
        self.stopped = False

    def run(self, tasks, progress, on_round=None):
        def round_then_stop(i, task, record):
            if on_round is not None:
                on_round(i, task, record)   # journaled first, as an interruption would find it
            self.stopped = True
            raise _Interrupted
        for result in super().run(tasks, progress, on_round=round_then_stop):
            yield result
            self.stopped = True
            raise _Interrupted


def _uninterrupted(sim: Simulation, cfg: SweepConfig) -> pd.DataFrame:
    """The rows of the whole sweep, run once per simulation and sweep in this process."""
    key = ("whole", id(sim), cfg.config_hash, str(cfg.path), cfg.quick)
    hit = _RUNS.get(key)
    if hit is not None and hit[0] is sim:
        return hit[1]
    with tempfile.TemporaryDirectory(prefix="sparsesim-check-") as tmp:
        rows = run_sweep(cfg, out=Path(tmp) / "whole", backend="numpy", show_progress=False)
    _remember(key, sim, rows)
    return rows


def _comparable(frame: pd.DataFrame, sim: Simulation) -> pd.DataFrame:
    skip = set(PROVENANCE_COLUMNS) | set(sim.timing_columns)
    keep = sorted(c for c in frame.columns if c not in skip)
    return frame[keep].reset_index(drop=True)


def check_resume(simulation: Any, *, cfg: SweepConfig) -> None:
    """A sweep interrupted after its first journaled unit, run again, gives the whole sweep's rows."""
    sim = as_simulation(simulation)
    whole = _uninterrupted(sim, cfg)
    with tempfile.TemporaryDirectory(prefix="sparsesim-check-") as tmp:
        out = Path(tmp) / "resumed"
        stopper = _InterruptingExecutor()
        try:
            run_sweep(cfg, out=out, backend="numpy", executor=stopper, show_progress=False)
        except _Interrupted:
            pass
        if not stopper.stopped:
            raise _fail(sim, "the sweep finished without journaling a task or a round")
        resumed = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    a, b = _comparable(whole, sim), _comparable(resumed, sim)
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    except AssertionError as exc:
        raise _fail(sim, f"an interrupted and resumed sweep gives other rows than an "
                         f"uninterrupted one: {exc}") from None


#: The checks :func:`check_simulation` runs, in order, and what each needs.
CHECKS: tuple[Callable[..., None], ...] = (check_declared_params, check_valid_cell,
                                          check_rows_json, check_seed_determines_rows,
                                          check_table_kinds, check_resume)


def simulation_checks(simulation: Any, **sweep: Any) -> list[Callable[[Any], None]]:
    """The checks of :data:`CHECKS`, each bound to the sweep it runs (``check(sim)``).

    ``sweep`` is passed to :func:`sweep_config` (``config``, ``quick``,
    ``subset``); the sweep is loaded when a check first runs.
    """
    sim = as_simulation(simulation)
    loaded: dict[str, SweepConfig] = {}

    def cfg() -> SweepConfig:
        if "cfg" not in loaded:
            loaded["cfg"] = sweep_config(sim, **sweep)
        return loaded["cfg"]

    def bind(check: Callable[..., None]) -> Callable[[Any], None]:
        @functools.wraps(check)
        def bound(simulation: Any) -> None:
            check(simulation, cfg=cfg())
        return bound
    return [bind(c) for c in CHECKS]


def check_simulation(simulation: Any, **sweep: Any) -> None:
    """Run every check of :data:`CHECKS` on ``simulation`` (``AssertionError`` on the first failure).

    Parameters
    ----------
    simulation : Simulation, module or name
    **sweep
        ``config``, ``quick`` (default True), ``subset``: the sweep the
        checks run (:func:`sweep_config`).

    Examples
    --------
    >>> check_simulation("best_k_term", subset=2)
    """
    sim = as_simulation(simulation)
    for check in simulation_checks(sim, **sweep):
        check(sim)


def parametrize_with_checks(simulations: Iterable[Any], **sweep: Any) -> Any:
    """A ``pytest.mark.parametrize`` over (simulation, check) pairs with readable ids.

    The decorated test takes ``simulation`` and ``check`` and calls
    ``check(simulation)``; ids read ``<simulation name>-<check name>``.

    Parameters
    ----------
    simulations : iterable
        Simulations (a :class:`~sparsesim.sim.Simulation`, a module declaring
        one, or a name), or ``(simulation, options)`` pairs whose options
        (``config``, ``quick``, ``subset``) override ``sweep`` for that one.
    **sweep
        Passed to :func:`sweep_config` for every simulation.

    Examples
    --------
    >>> mark = parametrize_with_checks(["best_k_term", ("support_recovery", {"subset": 2})])
    >>> ids = [p.id for p in mark.args[1]]
    >>> ids[:2], ids[-1]
    (['best_k_term-check_declared_params', 'best_k_term-check_valid_cell'], 'support_recovery-check_resume')
    """
    import pytest  # noqa: PLC0415 - only where tests are written

    params = []
    for item in simulations:
        obj, options = item if isinstance(item, tuple) else (item, {})
        if not isinstance(options, dict):
            raise TypeError(f"a (simulation, options) pair needs a dict of options; "
                            f"got {type(options).__name__}")
        sim = as_simulation(obj)
        for check in simulation_checks(sim, **{**sweep, **options}):
            params.append(pytest.param(sim, check, id=f"{sim.name}-{check.__name__}"))
    return pytest.mark.parametrize(("simulation", "check"), params)
