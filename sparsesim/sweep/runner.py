"""Run a sweep: expand cells, execute them, journal each one, write the outputs.

Data flow: ``sims/x.toml → cells → simulation (backend arrays) → rows →
journal → cells.csv → report (table.md, figures)``.  Every finished cell is
journaled durably before the next is reported, so an interrupted run resumes
where it stopped when the same command is run again.

Tasks that run in rounds (IMP runs) are journaled round by round as well:
each task's cells get one :class:`sparsesim._rounds.RoundLog` (``ctx.rounds``)
holding the rounds finished by earlier runs (read from
``<out>/rounds/<task key>/``, :class:`~sparsesim.sweep.journal.RoundJournal`);
every round the simulation saves is written there durably before it goes on,
by this process (the client) alone: :class:`LocalExecutor` calls the runner's
round hook in-process, the Dask executor ships each round back to the client
(:mod:`sparsesim.sweep.dask_executor`).  An interruption loses at most the
round in progress.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from .. import __version__
from .._rounds import RoundLog, RoundPause, RoundRecord, RoundState
from .._validation import check_bool, check_choice
from ..backend import BACKENDS, device_name, resolve_backend
from ..sim import Simulation
from .config import SHIPPED_FOLDER, SHIPPED_PACKAGE, ConfigError, SweepConfig, import_plugins, \
    is_shipped
from .journal import Journal, RoundJournal, round_key
from .outdir import SweepOwner
from .outdir import claim as claim_out
from .progress import Progress
from .provenance import cell_identity, cell_key, cell_seed, git_commit

__all__ = ["CellContext", "run_sweep", "run_task", "LocalExecutor", "make_tasks",
           "rows_frame", "PROVENANCE_COLUMNS"]

PROVENANCE_COLUMNS = ("cell_key", "sweep_seed", "backend", "device", "version", "git_commit",
                      "config_hash", "config_file", "quick", "executor", "sim_module", "elapsed_s",
                      "finished_at")


def _no_progress(_text: str) -> None:
    return None


@dataclass
class CellContext:
    """What a simulation gets beside its parameters.

    Attributes
    ----------
    seed : numpy.random.SeedSequence
        Derived from the sweep seed and this cell's parameters only.
    sweep_seed : int
    backend : str
        ``"numpy"`` or ``"cupy"`` (already resolved).
    progress : callable
        ``progress(text)`` shows a status line for long cells (may be a no-op).
    rounds : sparsesim._rounds.RoundLog or None
        The task's round log (shared by the cells of a task): a simulation
        that runs in rounds saves each finished one there and resumes after
        the rounds it already holds; ``None`` outside a sweep.
    """

    seed: np.random.SeedSequence
    sweep_seed: int
    backend: str
    progress: Callable[[str], None] = field(default=_no_progress, repr=False)
    rounds: RoundLog | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Task:
    """A group of cells executed together (one cell unless the sim batches).

    ``simulation`` travels with the task (its hooks pickle by reference to
    ``module_name``, which a distributed worker imports); without it the
    worker builds the simulation from ``module_name``.  ``rounds`` holds the
    rounds the task finished in earlier runs (or earlier Dask tasks);
    ``one_round`` makes :func:`run_task` stop after the next round and return
    it (a :class:`~sparsesim._rounds.RoundRecord`) instead of the cells.
    ``plugins`` are the modules (``[sim] plugins``) :func:`run_task` imports
    first, so that what they register exists on the process running it.
    """

    module_name: str
    keys: tuple[str, ...]
    cells: tuple[dict, ...]
    sweep_seed: int
    backend: str
    simulation: Simulation | None = field(default=None, compare=False, repr=False)
    rounds: RoundState | None = field(default=None, compare=False, repr=False)
    one_round: bool = field(default=False, compare=False)
    plugins: tuple[str, ...] = field(default=(), compare=False)

    @property
    def round_key(self) -> str:
        """The name of this task's round folder (a hash of its cell keys)."""
        return round_key(self.keys)


def _as_rows(result: Any, where: str) -> list[dict]:
    rows = [result] if isinstance(result, dict) else list(result)
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"{where} must return a dict or a list of dicts; got {type(row).__name__}")
    return rows


def run_task(task: Task, progress: Callable[[str], None] = _no_progress,
             on_round: Callable[[RoundRecord], None] | None = None) -> Any:
    """Execute one task (on this process's device); returns ``(key, params, rows)`` per cell.

    A top-level function so that distributed executors can ship it to workers.

    The task's cells share one :class:`~sparsesim._rounds.RoundLog` (their
    ``ctx.rounds``) that starts from ``task.rounds`` (ignored when it was
    computed on another backend); each round the simulation saves goes to
    ``on_round(record)`` before it continues.  With ``task.one_round`` the
    task stops after the next round and returns its
    :class:`~sparsesim._rounds.RoundRecord` instead of the cells.  A cell's
    ``elapsed_s`` includes the time of rounds finished by earlier runs.
    """
    import_plugins(task.plugins, key="task.plugins")
    sim = task.simulation or Simulation.from_module(task.module_name)
    backend = resolve_backend(task.backend)
    device = device_name(backend)
    commit = git_commit()  # cached: the tree as it was when this process first asked
    neutral = dict(sim.neutral_defaults) or None
    log = RoundLog(task.rounds, backend=backend, sink=on_round, pause=task.one_round)
    ctxs = [CellContext(seed=cell_seed(cell_identity(c, neutral), task.sweep_seed),
                        sweep_seed=task.sweep_seed,
                        backend=backend, progress=progress, rounds=log) for c in task.cells]
    t0 = time.perf_counter()
    before = log.elapsed_before
    try:
        if sim.run_cells is not None and len(task.cells) > 0:
            results = sim.run_cells([dict(c) for c in task.cells], ctxs)
            if len(results) != len(task.cells):
                raise RuntimeError(f"{task.module_name}.run_cells returned {len(results)} "
                                   f"results for {len(task.cells)} cells")
            elapsed = [(before + time.perf_counter() - t0) / len(task.cells)] * len(task.cells)
        else:
            results, elapsed = [], []
            for c, ctx in zip(task.cells, ctxs):
                t1 = time.perf_counter()
                results.append(sim.run_cell(dict(c), ctx))
                elapsed.append(before + time.perf_counter() - t1)
    except RoundPause as pause:
        return pause.record
    finished = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    out = []
    for key, c, res, el in zip(task.keys, task.cells, results, elapsed):
        rows = _as_rows(res, f"{task.module_name}.run_cell")
        stamped = []
        for row in rows:
            clash = (set(row) & set(PROVENANCE_COLUMNS)) | {
                k for k in set(row) & set(c) if row[k] != c[k]}
            if clash:
                raise ValueError(f"{task.module_name}: row column(s) {sorted(clash)} clash with "
                                 "parameters or provenance columns")
            stamped.append({**row, "backend": backend, "device": device,
                            "version": __version__, "git_commit": commit,
                            "elapsed_s": round(el, 6), "finished_at": finished})
        out.append((key, dict(c), stamped))
    return out


class LocalExecutor:
    """Runs tasks one after another in this process.

    ``on_round(i, task, record)`` (the runner's round journal) is called for
    every round task ``i`` finishes, in this process, before the task goes on.
    """

    name = "local"

    def run(self, tasks: Iterable[Task], progress: Callable[[str], None],
            on_round: Callable[[int, Task, RoundRecord], None] | None = None) -> Iterator[list]:
        tasks = list(tasks)
        for i, task in enumerate(tasks):
            sink = None
            if on_round is not None:
                def sink(record, i=i, task=task):
                    on_round(i, task, record)
            label = f"task {i + 1}/{len(tasks)}: " if len(tasks) > 1 else ""
            yield run_task(task, (lambda text, label=label: progress(label + text))
                           if label else progress, sink)

    def close(self) -> None:
        return None


def make_tasks(config: SweepConfig, pending: list[tuple[str, dict]], backend: str) -> list[Task]:
    """Group pending cells into tasks by the simulation's ``batch_key`` (if it batches)."""
    sim = config.simulation
    if sim.batches:
        groups: dict[Any, list[tuple[str, dict]]] = {}
        for key, cell in pending:
            groups.setdefault(sim.batch_key(cell), []).append((key, cell))
        items = list(groups.values())
    elif sim.run_cell is None:  # run_cells without batch_key: one batch of everything
        items = [list(pending)] if pending else []
    else:
        items = [[kc] for kc in pending]
    return [Task(config.module_name, tuple(k for k, _ in it), tuple(c for _, c in it),
                 config.seed, backend, simulation=sim, plugins=config.plugins) for it in items]


def rows_frame(config: SweepConfig, done: dict[str, dict], keys: list[str],
               executor: str) -> pd.DataFrame:
    """All rows of the given cells, in cell order, with provenance columns.

    Version, git commit, executor, backend and device are those recorded in
    the journal when each cell finished (a resumed sweep keeps the provenance
    of the run that produced each cell); ``executor`` and ``git_commit`` fall
    back to the current run only for journals that lack them.
    """
    records = []
    commit = git_commit()
    config_file = ""
    if config.path is not None:
        path = Path(config.path).resolve()
        plugin_toml = config.simulation.config_path() if config.simulation.config else None
        if is_shipped(path):  # the same on every machine, wherever the package is installed
            config_file = f"{SHIPPED_PACKAGE}/{SHIPPED_FOLDER}/{path.name}"
        elif plugin_toml is not None and plugin_toml.resolve() == path:
            config_file = config.simulation.config      # a plugin's default sweep: the same
        else:
            try:
                config_file = str(path.relative_to(Path.cwd()))
            except ValueError:
                config_file = str(path)
    capped = {name for _, caps in config.capped for name in caps}
    caps_of = config.simulation.caps if capped else None
    for key in keys:
        rec = done[key]
        params = dict(rec["params"])
        if caps_of is not None:  # the value run under the name, the request beside it
            got = caps_of(dict(params))
            for name in capped:
                params[f"{name}_requested"] = params[name]
                value = got.get(name, params[name])
                params[name] = value[0] if isinstance(value, tuple) else value
        for row in rec["rows"]:
            records.append({**params, **row, "cell_key": key,
                            "sweep_seed": config.seed, "version": row.get("version", __version__),
                            "git_commit": row.get("git_commit", commit),
                            "config_hash": config.config_hash, "config_file": config_file,
                            "quick": bool(config.quick),
                            "executor": row.get("executor", executor),
                            "sim_module": config.module_name})
    frame = pd.DataFrame.from_records(records)
    front = list(config.cells[0])
    tail = [c for c in PROVENANCE_COLUMNS if c in frame.columns]
    middle = [c for c in frame.columns if c not in front and c not in tail]
    return frame[[c for c in front if c in frame.columns] + middle + tail]


#: Most passes a sweep runs (the grid, then the cells ``refine`` adds).
_MAX_PASSES = 50


def _run_pending(config, pending, backend, executor, executor_name, journal, done, bar, keys,
                 rounds):
    """Run the pending cells of one pass; journal cells, and the rounds of IMP runs."""
    tasks = make_tasks(config, pending, backend)
    task_index = {t.round_key: i for i, t in enumerate(tasks)}
    for stale in rounds.tasks():
        if stale not in task_index:     # a finished task, or one of a grid that changed
            rounds.discard(stale)
    journals_rounds = "on_round" in inspect.signature(executor.run).parameters
    resumed = 0
    for i, t in enumerate(tasks):
        state = rounds.load(t.round_key, t.keys)
        if state is not None:
            tasks[i] = t = replace(t, rounds=state)
            resumed += 1
            total = state.metas[-1].get("total") if state.metas else None
            bar.round_done(i, len(tasks), state.done - 1, total, restored=True)
    if resumed:
        bar.note(f"resuming: {resumed} unfinished task(s) continue after their last "
                 f"journaled round (in {rounds.folder})")

    def on_round(i: int, task: Task, record: RoundRecord) -> None:
        rounds.write(task.round_key, task.keys, record)
        bar.round_done(i, len(tasks), record.index, record.meta.get("total"),
                       seconds=record.meta.get("elapsed_s"))

    run_args = {"on_round": on_round} if journals_rounds else {}
    try:
        for result in executor.run(tasks, bar.status, **run_args):
            for key, params, rows in result:
                if key in done:  # a retried task may deliver a cell twice
                    continue
                rows = [{**row, "executor": executor_name} for row in rows]
                journal.append(key, params, rows)
                done[key] = {"key": key, "params": params, "rows": rows}
                bar.advance(", ".join(f"{k}={v}" for k, v in params.items()))
            if result:      # the task's cells are journaled: its rounds are not needed
                task_key = round_key([key for key, _, _ in result])
                rounds.discard(task_key)
                if task_key in task_index:
                    bar.task_done(task_index[task_key])
    except KeyboardInterrupt:
        bar.note(f"interrupted: {sum(k in done for k in keys)} of {len(keys)} cells are in "
                 f"{journal.path} (and the finished rounds of unfinished IMP runs in "
                 f"{rounds.folder}); run the same command again to resume")
        raise


def _refined(config, new_cells, neutral, known) -> list[tuple[str, dict]]:
    """The cells ``refine`` returned that the sweep does not hold yet, with their keys
    (complete parameter sets of the simulation, each passing ``valid_cell``)."""
    sim = config.simulation
    out = []
    for c in new_cells:
        if not isinstance(c, dict) or set(c) != set(sim.params):
            raise ValueError(f"{config.name}: refine must return complete parameter dicts "
                             f"(keys {sorted(sim.params)}); got {c!r}")
        if sim.valid_cell is not None and not sim.valid_cell(c):
            raise ValueError(f"{config.name}: refine returned an invalid cell {c!r}")
        key = cell_key(cell_identity(c, neutral), config.seed)
        if key not in known:
            known.add(key)
            out.append((key, dict(c)))
    return out


def run_sweep(config: SweepConfig, *, out: str | Path, backend: str = "auto",
              executor: Any = None, show_progress: bool = True, stream=None,
              overwrite: bool = False) -> pd.DataFrame:
    """Run (or resume) every cell of ``config`` and write ``out/cells.csv``.

    Tables and figures are written by :func:`sparsesim.report.write_report`
    (the ``sparsesim run`` command does both).

    Parameters
    ----------
    config : SweepConfig
        From :func:`sparsesim.sweep.load_config`.
    out : path
        Output directory: ``sweep.json``, ``journal.jsonl``, ``cells.csv``,
        ``table.md``, figures.  It belongs to one sweep; resuming that sweep
        into it continues where it stopped.
    backend : {"auto", "numpy", "cupy"}
        Resolved here for the local executor; a distributed executor's workers
        resolve it on their own devices (``"cupy"`` may then be asked for from
        a client without a GPU).
    executor : object, optional
        Something with ``run(tasks, progress)`` yielding per-task results and
        ``close()``; default :class:`LocalExecutor`.
    show_progress : bool
        Progress on stderr: a ``tqdm.auto`` bar when tqdm is installed (a
        widget in a notebook), else a plain line; always the plain line on a
        ``stream`` given.
    overwrite : bool
        When ``out`` holds another sweep, move it aside to
        ``<out>.old-<time>`` and start afresh (default: refuse).

    Returns
    -------
    pandas.DataFrame
        The rows written to ``cells.csv``.

    Raises
    ------
    OutputFolderError
        When ``out`` holds another sweep (:mod:`sparsesim.sweep.outdir`) and
        ``overwrite`` is false; raised before any cell runs.
    """
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a SweepConfig (from sparsesim.sweep.load_config); "
                        f"got {type(config).__name__}")
    if not isinstance(config.simulation, Simulation):
        raise ConfigError(f"{config.name}: the config carries no checked Simulation")
    executor = executor or LocalExecutor()
    executor_name = getattr(executor, "name", "local")
    if executor_name == "local":
        backend = resolve_backend(backend)
    else:  # remote workers resolve it on their own device (run_task)
        check_choice("backend", backend, BACKENDS)
    check_bool("overwrite", overwrite)
    out = Path(out)
    neutral = dict(config.simulation.neutral_defaults) or None
    keys = [cell_key(cell_identity(c, neutral), config.seed) for c in config.cells]
    owner = SweepOwner(name=config.name, module=config.module_name, seed=config.seed,
                       quick=config.quick, config_hash=config.config_hash)
    moved = claim_out(out, owner, set(keys), overwrite=overwrite,
                      journal_keys=lambda: set(Journal(out / "journal.jsonl").load()))
    git_commit()  # record the source tree as it is now, before any cell runs
    journal = Journal(out / "journal.jsonl")
    done = journal.load()
    stream = stream or sys.stderr
    cells = list(config.cells)
    refine = config.simulation.refine
    # The round journal: rounds of unfinished tasks, written by this process only.
    rounds = RoundJournal(out / "rounds")
    extra: list = []
    try:
        for n_pass in range(_MAX_PASSES):
            pending = [(k, c) for k, c in zip(keys, cells) if k not in done]
            label = f"sparsesim run {config.name}" + (f" (pass {n_pass})" if n_pass else "")
            bar = Progress(len(keys), len(keys) - len(pending), label=label, stream=stream,
                           enabled=show_progress)
            if n_pass:
                bar.note(f"refine added {len(extra)} cells ({len(pending)} to run)")
            else:
                if moved is not None:
                    bar.note(f"overwrite: the old contents of {out} were moved to {moved}")
                for line in config.notes():  # what runs differs from what the grid asked
                    bar.note(line)
                if pending and len(pending) < len(keys):
                    bar.note(f"resuming: {len(keys) - len(pending)} of {len(keys)} cells "
                             "already in the journal")
            _run_pending(config, pending, backend, executor, executor_name, journal, done, bar,
                         keys, rounds)
            bar.finish()
            if refine is None:
                break
            extra = _refined(config, refine(rows_frame(config, done, keys, executor_name)),
                             neutral, set(keys))
            if not extra:
                break
            cells += [c for _, c in extra]
            keys += [k for k, _ in extra]
        else:
            raise RuntimeError(f"{config.name}: refine still adds cells after {_MAX_PASSES} passes")
    finally:
        executor.close()
    if rounds.folder.is_dir() and not any(rounds.folder.iterdir()):
        rounds.folder.rmdir()       # every task finished: no round folder is left behind
    frame = rows_frame(config, done, keys, executor_name)
    tmp = out / "cells.csv.tmp"
    frame.to_csv(tmp, index=False)
    tmp.replace(out / "cells.csv")
    return frame
