"""``sparsesim.run``: run a sweep from Python and get its cells, tables and verdict back.

The ``sparsesim`` command is a thin shell over this module: ``sparsesim run``
is :func:`run`, ``sparsesim report`` is :func:`report`, ``sparsesim report
all`` is :func:`report_all` (which also writes ``results/README.md``).

Examples
--------
In a notebook: a registered simulation, here on a small grid of its own
(``ss.run("support_recovery", quick=True)`` runs the quick variant of the
committed sweep)::

    >>> import sparsesim as ss
    >>> tmp = getfixture("tmp_path")
    >>> _ = (tmp / "mini.toml").write_text('''
    ... [sim]
    ... name = "support_recovery"
    ... seed = 1
    ... [params]
    ... trials = 2000
    ... [grid]
    ... d = [16, 64]
    ... k = [2]
    ... ''')
    >>> res = ss.run(tmp / "mini.toml", backend="numpy", out=tmp / "out", progress=False)
    >>> res.cells[["d", "k", "trials"]].values.tolist()
    [[16, 2, 2000], [64, 2, 2000]]
    >>> res.verdict.judged > 0 and res.verdict.ok
    True
    >>> res.files[0].name
    'table.md'

Bad arguments are refused before any work, naming the argument:

    >>> ss.run("support_recovery", trials=0)
    Traceback (most recent call last):
    ...
    ValueError: trials must be an integer >= 1 (Monte Carlo trials of every cell); got 0
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ._validation import check_bool, check_choice, check_int
from .backend import BACKENDS, resolve_backend
from .report import QUICK_NOTE, caps_note, display, is_quick, judge, write_report
from .sim import Simulation, report_hooks
from .sweep import ConfigError, list_configs, load_config, recorded_config, run_sweep

__all__ = ["RunResult", "Verdict", "run", "report", "report_all", "write_index",
           "default_out", "EXECUTORS"]

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Verdict:
    """How a report's tested rows came out (its agreement line, as counts).

    ``judged`` counts the rows tested against a theory (tests, claims,
    intervals); ``agree`` those that agree; ``inconclusive`` those the data
    cannot decide; the rest disagree.
    """

    agree: int
    judged: int
    inconclusive: int = 0
    line: str = ""

    @property
    def disagree(self) -> int:
        """Tested rows marked ✗."""
        return self.judged - self.agree - self.inconclusive

    @property
    def ok(self) -> bool:
        """No tested row disagrees (``sparsesim run --check`` exits non-zero otherwise)."""
        return self.disagree == 0

    def __str__(self) -> str:
        if not self.judged:
            return "no row is tested against a theory"
        return (f"{self.agree} of {self.judged} tested rows agree, {self.disagree} ✗, "
                f"{self.inconclusive} inconclusive")

    def _repr_markdown_(self) -> str:
        return self.line or f"**{self}**"

    def _repr_html_(self) -> str:
        colour = ("" if not self.judged else display.COLOURS["disagree"] if self.disagree
                  else display.COLOURS["inconclusive"] if self.inconclusive
                  else display.COLOURS["agree"])
        style = f' style="background:{colour};padding:2px 6px"' if colour else ""
        return f"<span{style}><b>{escape(str(self))}</b></span>"

    @classmethod
    def from_judgement(cls, j: Any) -> "Verdict":
        """From :func:`sparsesim.report.judge`'s result."""
        line = j.agreement_line() if hasattr(j, "agreement_line") else ""
        return cls(agree=int(j.agree), judged=int(j.tested),
                   inconclusive=int(getattr(j, "inconclusive", 0)), line=line)


@dataclass
class RunResult:
    """What :func:`run` and :func:`report` hand back.

    Attributes
    ----------
    name : str
        The simulation name (``sims/<name>.toml``).
    cells : pandas.DataFrame
        Every row of ``cells.csv`` (parameters, results, provenance).
    tables : list of TheoryTable
        The theory tables (empty with ``report=False``).
    verdict : Verdict
        Agreeing / tested rows of the report.
    figures : list of Path
        The figure files written.
    out : Path
        The output directory.
    files : list of Path
        Everything the report wrote (``table.md`` first).
    description : str
        What the simulation tests (the TOML's description).
    elapsed_s : float
        Wall time of the call.
    """

    name: str
    cells: Any
    tables: list
    verdict: Verdict
    figures: list[Path]
    out: Path
    files: list[Path] = field(default_factory=list)
    description: str = ""
    elapsed_s: float = 0.0
    config: Any = field(default=None, repr=False)

    @property
    def quick(self) -> bool:
        """Whether this is a ``--quick`` run (small; not comparable with published numbers)."""
        if self.config is not None:
            return bool(getattr(self.config, "quick", False))
        return isinstance(self.cells, pd.DataFrame) and is_quick(self.cells)

    def _verdicts(self) -> list:
        return list(judge(self.tables).verdicts) if self.tables else []

    def _repr_html_(self) -> str:
        parts = [f"<h3>{escape(self.name)}</h3>"]
        if self.quick:
            parts.append(f"<p><b>{escape(QUICK_NOTE)}</b></p>")
        if self.description:
            parts.append(f"<p>{escape(self.description)}</p>")
        parts.append(f"<p>{self.verdict._repr_html_()} &mdash; {len(self.cells)} rows in "
                     f"<code>{escape(str(Path(self.out) / 'cells.csv'))}</code></p>")
        capped = caps_note(self.cells) if isinstance(self.cells, pd.DataFrame) else ""
        if capped:
            parts.append(f"<p>{escape(capped)}</p>")
        for t, v in zip(self.tables, self._verdicts()):
            parts.append(display.table_html(t, v, quick=self.quick))
        parts += [display.figure_html(f) for f in self.figures]
        return "<div>" + "".join(parts) + "</div>"

    def _repr_markdown_(self) -> str:
        parts = [f"### {self.name}", ""]
        if self.quick:
            parts += [f"**{QUICK_NOTE}**", ""]
        if self.description:
            parts += [self.description, ""]
        parts += [self.verdict._repr_markdown_(), ""]
        for t, v in zip(self.tables, self._verdicts()):
            parts += [display.table_markdown(t, v), ""]
        parts += [f"![{Path(f).stem}]({Path(f).as_posix()})" for f in self.figures]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return (f"RunResult({self.name!r}: {len(self.cells)} rows, {len(self.tables)} tables, "
                f"{self.verdict}, {len(self.figures)} figures, out={str(self.out)!r}"
                + (", quick" if self.quick else "") + ")")


def default_out(name: str, quick: bool) -> Path:
    """``results/<name>`` (``results/quick/<name>`` for a quick run)."""
    return Path("results") / "quick" / name if quick else Path("results") / name


class _Precomputed:
    """Report hooks returning tables already computed (so they are computed once)."""

    def __init__(self, tables: list, figures: Callable | None):
        self._tables = tables
        self.figures = figures

    def tables(self, _cells: Any) -> list:
        return self._tables


def _make_executor(executor: Any, backend: str, scheduler: str | None) -> Any:
    if not isinstance(executor, str):
        if not (hasattr(executor, "run") and hasattr(executor, "close")):
            raise TypeError(f"executor must be one of {EXECUTORS} or an object with run() and "
                            f"close(); got {type(executor).__name__}")
        return executor
    check_choice("executor", executor, EXECUTORS)
    if executor == "local":
        if scheduler is not None:
            raise ValueError("scheduler is only used with executor='dask'")
        return None
    from .sweep.dask_executor import DaskExecutor  # noqa: PLC0415 - needs the dask extra

    return DaskExecutor(scheduler=scheduler, backend=backend)


def _judged(sim: Any, cells: Any, out: Path, *, name: str, description: str,
            write: bool) -> tuple[list, Verdict, list[Path]]:
    tables_of, figures_of = report_hooks(sim)
    tables = list(tables_of(cells)) if tables_of is not None else []
    verdict = Verdict.from_judgement(judge(tables))
    files = write_report(_Precomputed(tables, figures_of), cells, out, name=name,
                         description=description) if write else []
    return tables, verdict, files


def _figures(files: list[Path]) -> list[Path]:
    return [f for f in files if f.suffix.lower() in (".png", ".svg", ".pdf", ".jpg")]


def run(name_or_toml: str | Path, *, quick: bool = False, backend: str = "auto",
        seed: int | None = None, out: str | Path | None = None, executor: Any = "local",
        trials: int | None = None, scheduler: str | None = None, report: bool = True,
        progress: bool = True, simulation: Any = None, overwrite: bool = False) -> RunResult:
    """Run (or resume) one simulation sweep and return its cells, tables and verdict.

    Parameters stay: one keyword per option of ``sparsesim run`` (the command is a thin
    shell on this function), each independent of the others; ``sparsesim.run`` in a notebook
    reads like the command line.

    Parameters
    ----------
    name_or_toml : str or Path
        A simulation name (``sparsesim list``) or the path of a TOML.
    quick : bool
        The ``[quick]`` variant of the grid (default output ``results/quick/<name>``).
    backend : {"auto", "numpy", "cupy"}
        ``"cupy"`` on a machine without a usable GPU raises ``RuntimeError``
        before any cell runs.
    seed : int, optional
        Sweep seed (default: the TOML's).
    out : path, optional
        Output directory (default ``results/<name>``).
    executor : {"local", "dask"} or executor object
        Where cells run (``"dask"``: a LocalCluster, or ``scheduler``'s cluster).
    trials : int, optional
        Monte Carlo trials forced on every cell (simulations with ``trials``).
    scheduler : str, optional
        Dask scheduler address (``executor="dask"`` only).
    report : bool
        Write ``table.md``, the table CSVs and figures (and compute the tables).
    progress : bool
        Progress on stderr: a ``tqdm.auto`` bar (a widget in a notebook) when
        tqdm is installed, else a plain line.
    simulation : Simulation, optional
        Run this declaration instead of the one the TOML names.
    overwrite : bool
        When ``out`` holds another sweep (another simulation, seed, grid or
        quick variant), move its contents aside to ``<out>.old-<time>`` and
        start afresh.  Without it such a folder is refused
        (:class:`~sparsesim.sweep.OutputFolderError`) before any work;
        the folder's own sweep always resumes.

    Returns
    -------
    RunResult
    """
    t0 = time.perf_counter()
    if not isinstance(name_or_toml, (str, Path)):
        raise TypeError(f"name_or_toml must be a simulation name or a TOML path; "
                        f"got {type(name_or_toml).__name__}")
    check_choice("backend", backend, BACKENDS)
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)
                               or trials < 1):
        raise ValueError("trials must be an integer >= 1 (Monte Carlo trials of every cell); "
                         f"got {trials!r}")
    if seed is not None:
        check_int("seed", seed, low=0)
    for flag, value in (("quick", quick), ("report", report), ("progress", progress),
                        ("overwrite", overwrite)):
        check_bool(flag, value)
    config = load_config(name_or_toml, quick=quick, seed=seed,
                         overrides={"trials": trials} if trials is not None else None,
                         simulation=simulation)
    if executor == "local":
        backend = resolve_backend(backend)  # a missing GPU is reported before any work
    ex = _make_executor(executor, backend, scheduler)
    out = Path(out) if out is not None else default_out(config.name, quick)
    cells = run_sweep(config, out=out, backend=backend, executor=ex, show_progress=progress,
                      overwrite=overwrite)
    tables, verdict, files = _judged(config.simulation, cells, out, name=config.name,
                                     description=config.description, write=report)
    return RunResult(name=config.name, cells=cells, tables=tables, verdict=verdict,
                     figures=_figures(files), out=out, files=files,
                     description=config.description, elapsed_s=time.perf_counter() - t0,
                     config=config)


def report(name: str | None = None, *, out: str | Path | None = None) -> RunResult:
    """Rebuild ``table.md``, the table CSVs and figures from ``out/cells.csv`` alone.

    The simulation is the one recorded in the cells (``sim_module``), else the
    one ``sims/<name>.toml`` names; the description is the TOML's when it
    names that module.  Without ``name`` the title is the recorded TOML's
    simulation name (else the directory's name); ``out`` is then required.

    Raises
    ------
    FileNotFoundError
        When ``out/cells.csv`` does not exist (run the sweep first).
    """
    t0 = time.perf_counter()
    if name is None and out is None:
        raise TypeError("report needs a simulation name or out (the directory of cells.csv)")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"name must be a simulation name; got {name!r}")
    out = Path(out) if out is not None else Path("results") / name
    cells_path = out / "cells.csv"
    if not cells_path.is_file():
        raise FileNotFoundError(f"{cells_path} does not exist; run `sparsesim run {name}` first")
    cells = pd.read_csv(cells_path)
    config = None
    recorded = cells["config_file"].dropna().astype(str) if "config_file" in cells.columns \
        else pd.Series(dtype=str)
    try:
        found = recorded_config(recorded.iloc[0]) if len(recorded) else None
        if found is not None:
            config = load_config(found)
        elif name in list_configs():
            config = load_config(name)
    except ConfigError:
        config = None
    if name is None:
        name = config.name if config is not None else out.name
    if "sim_module" in cells.columns and cells["sim_module"].notna().any():
        module = str(cells["sim_module"].dropna().iloc[0])
        sim = config.simulation if config is not None and config.module_name == module \
            else Simulation.from_module(module, name=name)
    elif config is not None:
        sim = config.simulation
    else:
        raise FileNotFoundError(f"{cells_path} has no sim_module column and no "
                                f"sims/{name}.toml was found")
    if config is not None and config.module_name == sim.module:
        description = config.description
    else:
        description = sim.description
    tables, verdict, files = _judged(sim, cells, out, name=name, description=description,
                                     write=True)
    return RunResult(name=name, cells=cells, tables=tables, verdict=verdict,
                     figures=_figures(files), out=out, files=files, description=description,
                     elapsed_s=time.perf_counter() - t0, config=config)


def report_all(root: str | Path = "results", *,
               on_error: Callable[[str, Exception], None] | None = None,
               ) -> tuple[list[RunResult], Path]:
    """Rebuild every report under ``root`` (one per ``root/<name>/cells.csv``) and the index.

    Returns the results and the path of ``root/README.md`` (:func:`write_index`).
    A report that fails is passed to ``on_error(name, exc)`` (default: raised).
    """
    root = Path(root)
    results = []
    found = [c for c in sorted(root.rglob("cells.csv"))
             if c.relative_to(root).parts[0] != "quick"]
    for cells in found:
        name = cells.parent.relative_to(root).as_posix()
        try:
            results.append(report(out=cells.parent))
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            if on_error is None:
                raise
            on_error(name, exc)
    return results, write_index(results, root)


def write_index(results: list[RunResult], root: str | Path = "results") -> Path:
    """Write ``root/README.md``: one section per simulation, its verdict, what it tests, figures.

    >>> root = getfixture("tmp_path") / "results"
    >>> r = RunResult("toy", cells=[0, 1], tables=[], verdict=Verdict(3, 4),
    ...               figures=[root / "toy" / "fig.png"], out=root / "toy",
    ...               description="coin flips")
    >>> path = write_index([r], root)
    >>> print(path.read_text())  # doctest: +ELLIPSIS
    # Results
    ...
    Over all 1 result folder (1 simulation): 3 of 4 tested rows agree, 1 ✗, 0 inconclusive.
    ...
    ## [toy](toy/table.md)
    <BLANKLINE>
    **3 of 4 tested rows agree, 1 ✗, 0 inconclusive**.
    <BLANKLINE>
    What it tests: coin flips
    <BLANKLINE>
    Figures: [fig](toy/fig.png)
    <BLANKLINE>
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    total = Verdict(agree=sum(r.verdict.agree for r in results),
                    judged=sum(r.verdict.judged for r in results),
                    inconclusive=sum(r.verdict.inconclusive for r in results))
    n_sims = len({r.name for r in results})

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'s' * (n != 1)}"

    parts = ["# Results", "",
             "One section per result folder: how many of its tested rows agree with the theory "
             "(each file's agreement line; see its `table.md` for the test of every row), what "
             "it tests, and its figures. Several folders may hold runs of one simulation "
             "(other protocols, ablations, another device). Rebuilt by `sparsesim report all` "
             "from the committed `cells.csv` files.", "",
             f"Over all {count(len(results), 'result folder')} "
             f"({count(n_sims, 'simulation')}): {total}.", "",
             *GLOSSARY, ""]
    for r in sorted(results, key=lambda r: _rel(r.out, root)):
        rel = _rel(r.out, root)
        if r.verdict.judged:
            line = f"**{r.verdict}**."
        else:
            line = "**No row is tested against a theory** (measurements and associations)."
        title = f"## [{rel}]({rel}/table.md)" + (f" ({r.name})" if r.name != rel else "")
        parts += [title, "", line, ""]
        if r.description:
            parts += [f"What it tests: {r.description}", ""]
        if r.figures:
            parts += ["Figures: " + ", ".join(f"[{Path(f).stem}]({_rel(Path(f), root)})"
                                              for f in r.figures), ""]
    path = root / "README.md"
    path.write_text("\n".join(parts))
    return path


#: The verdict words of the reports, explained once (``results/README.md``).
GLOSSARY = (
    "What the verdict words mean (each `table.md` marks every row with one):",
    "",
    "- **✓** (agrees): the row's test does not reject the theory (tests: Holm across the "
    "file at the stated family-wise α), the published value lies inside our interval, or a "
    "pre-registered claim is confirmed in its direction.",
    "- **✗** (disagrees): the theory is rejected, the value lies outside our interval, a "
    "claim is rejected in the opposite direction, or a check of the row failed.",
    "- **inconclusive**: a claim the data decide neither way (neither one-sided test rejects); "
    "counted as tested, not as agreeing. An honest result only when the detectable effect it "
    "prints is small.",
    "- **not testable**: the row cannot be tested as run (the reason is given, e.g. too few "
    "expected events or a quantity the protocol does not measure); not counted as tested.",
    "- **descriptive**: numbers shown without a verdict (measurements, associations); not "
    "counted as tested.",
    "- **post hoc**: a claim added after its cells were run; reported, but it gets no verdict "
    "and is not counted as tested.",
    "- **identities** hold or fail apart from the tested rows: mathematical identities and "
    "inequalities that guard the implementation.",
)


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()

