"""The ``sparsesim`` command: run simulation sweeps, list them, rebuild their reports."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path

from . import __version__

#: Set to 1 to see the Python traceback of an error instead of its one-line message.
TRACEBACK_ENV = "SPARSESIM_TRACEBACK"

DESCRIPTION = """\
sparsesim turns claims about neural-network pruning into simulations set beside
their closed-form or published predictions ("theory tables").

Typical use:
  sparsesim list                          the simulations that exist
  sparsesim run all --quick               every quick sweep (minutes, CPU is fine)
  sparsesim run support_recovery          one full sweep -> results/support_recovery/
  sparsesim report support_recovery       rebuild table.md and figures from cells.csv

Every finished cell is journaled: an interrupted run resumes when the same
command is run again.  The same from Python: sparsesim.run("support_recovery").
"""


class _UsageError(ValueError):
    """A command-line argument is wrong; the message names the option."""


def _cmd_list(args) -> int:
    from . import sim  # noqa: PLC0415
    from .sweep import list_configs, load_config  # noqa: PLC0415
    from .sweep.config import plugin_configs  # noqa: PLC0415

    configs = list_configs()
    installed = sim.plugins()
    broken: dict[str, str] = {}
    plugin_configs(errors=broken)
    names = sorted(set(sim.names()) | set(configs) | set(installed))
    if not names:
        print("no simulations found (none registered, no sims/*.toml)")
        return 1
    width = max(len(n) for n in names)
    for name in names:
        plugin = installed.get(name)
        origin = f"plugin from {plugin.origin}" if plugin is not None else ""
        if plugin is not None and plugin.shadowed:
            origin = f"built in; a plugin from {plugin.origin} with this name is ignored"
        if name in broken:
            print(f"{name:<{width}}  ({origin}: {broken[name]})")
            continue
        if name not in configs:
            where = origin or f"registered for {sim.REGISTRY[name]}"
            print(f"{name:<{width}}  ({where}; no sims/{name}.toml)")
            continue
        try:
            full = load_config(configs[name])
            if "quick" in full.raw:
                extra = f"{len(full.cells)} cells, quick {len(load_config(configs[name], quick=True).cells)}"
            else:
                extra = f"{len(full.cells)} cells, no quick variant"
            if name not in sim.REGISTRY and plugin is None:
                extra += f"; module {full.module_name}"
            if origin:
                extra += f"; {origin}"
            print(f"{name:<{width}}  {full.description}  [{extra}]")
        except Exception as exc:  # a broken config must not hide the others
            print(f"{name:<{width}}  (config error: {exc})")
    return 0


def _run_one(args, name: str):
    from .api import run  # noqa: PLC0415
    from .sweep import ConfigError, OutputFolderError  # noqa: PLC0415

    kwargs = dict(quick=args.quick, backend=args.backend, seed=args.seed, out=args.out,
                  executor=args.executor, scheduler=args.scheduler, report=not args.no_report,
                  progress=not args.quiet, overwrite=args.overwrite)
    try:
        return run(name, trials=args.trials, **kwargs)
    except OutputFolderError as exc:
        raise _UsageError(exc.message("--out", "--overwrite")) from None
    except ConfigError as exc:
        if args.sim == "all" and args.trials is not None and "override" in str(exc):
            return run(name, **kwargs)  # this simulation has no 'trials' parameter
        raise
    except ImportError as exc:
        if args.executor == "dask":
            raise SystemExit(f"sparsesim: the dask executor is unavailable: {exc}") from None
        raise


def _cmd_run(args) -> int:
    from .report import QUICK_NOTE  # noqa: PLC0415
    from .sweep import list_configs  # noqa: PLC0415

    if args.trials is not None and args.trials < 1:
        raise _UsageError(f"--trials must be >= 1 (Monte Carlo trials per cell); got {args.trials}")
    if args.seed is not None and args.seed < 0:
        raise _UsageError(f"--seed must be >= 0; got {args.seed}")
    if args.scheduler is not None and args.executor != "dask":
        raise _UsageError("--scheduler needs --executor dask")
    names = list(list_configs()) if args.sim == "all" else [args.sim]
    if args.sim == "all" and args.out is not None:
        raise _UsageError("--out cannot be used with 'all' (each sweep has its own directory)")
    disagreeing = []
    for name in names:
        res = _run_one(args, name)
        files = res.files
        print(f"{res.name}: {len(res.config.cells)} cells -> {res.out / 'cells.csv'}"
              + (f", {files[0]}" if files else "") + f" ({res.elapsed_s:.1f} s)")
        if files:
            print(f"  {res.verdict}" + (f" ({QUICK_NOTE})" if res.quick else ""))
            if not res.verdict.ok:
                disagreeing.append(f"{res.name} ({res.verdict.disagree} disagree)")
    if args.check and disagreeing:
        print(f"sparsesim: --check: rows disagree with the theory in {', '.join(disagreeing)}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_report(args) -> int:
    from .api import report, report_all  # noqa: PLC0415

    if args.sim == "all":
        def failed(name: str, exc: Exception) -> None:
            print(f"sparsesim: {name}: {exc}", file=sys.stderr)

        results, index = report_all(args.out or "results", on_error=failed)
        for res in results:
            print(f"{res.out}: {res.verdict}")
        print(index)
        return 0
    try:
        res = report(args.sim, out=args.out)
    except FileNotFoundError as exc:
        print(f"sparsesim: {exc}", file=sys.stderr)
        return 2
    print("\n".join(str(f) for f in res.files))
    return 0


def _cmd_plan(args) -> int:
    from .plan import plan  # noqa: PLC0415

    if args.alpha is not None and not 0.0 < args.alpha < 1.0:
        raise _UsageError(f"--alpha must be in (0, 1) (family-wise level); got {args.alpha}")
    if not 0.0 < args.power < 1.0:
        raise _UsageError(f"--power must be in (0, 1); got {args.power}")
    if args.workers is not None and args.workers < 1:
        raise _UsageError(f"--workers must be >= 1; got {args.workers}")
    kwargs = {} if args.alpha is None else {"alpha": args.alpha}
    print(plan(args.sim, pilot=args.pilot, power=args.power, calibrate=not args.no_calibrate,
               workers=args.workers, **kwargs))
    return 0


def _cmd_bench(args) -> int:
    root = Path(__file__).resolve().parents[1] / "benchmarks"
    scripts = sorted(root.glob("bench_*.py")) if root.is_dir() else []
    if not args.name:
        if not scripts:
            print("no benchmarks found (they live in the source tree's benchmarks/)")
            return 1
        for s in scripts:
            print(s.stem.removeprefix("bench_"))
        return 0
    path = root / f"bench_{args.name}.py"
    if not path.is_file():
        print(f"sparsesim: no benchmark {args.name!r}; see `sparsesim bench`", file=sys.stderr)
        return 2
    sys.argv = [str(path), *args.bench_args]
    runpy.run_path(str(path), run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparsesim", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"sparsesim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list the simulations (sims/*.toml and installed plugins), "
                                    "one line each")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="run (or resume) a simulation sweep",
                       description="Run every cell of a sweep, journal it, write cells.csv, "
                                   "table.md and figures. Re-running resumes.")
    p.add_argument("sim", help="simulation name (see `sparsesim list`), a path to a TOML, or 'all'")
    p.add_argument("--quick", action="store_true",
                   help="the small variant of the grid (default output results/quick/<sim>/)")
    p.add_argument("--backend", default="auto", choices=("auto", "numpy", "cupy"),
                   help="array backend: auto = CuPy when a CUDA device is usable (default: auto)")
    p.add_argument("--seed", type=int, default=None, help="sweep seed (default: the TOML's)")
    p.add_argument("--trials", type=int, default=None,
                   help="override the Monte Carlo trials of every cell (sims with a 'trials' parameter)")
    p.add_argument("--out", default=None, help="output directory (default results/<sim>/)")
    p.add_argument("--executor", default="local", choices=("local", "dask"),
                   help="where cells run: this process, or a dask.distributed cluster")
    p.add_argument("--scheduler", default=None,
                   help="dask scheduler address (default: start a LocalCluster)")
    p.add_argument("--overwrite", action="store_true",
                   help="when --out holds another sweep, move it aside to <out>.old-<time> "
                        "and start afresh (default: refuse; the folder's own sweep resumes)")
    p.add_argument("--no-report", action="store_true", help="write cells.csv only")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--check", action="store_true",
                   help="exit with status 1 when a tested row disagrees with its theory")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="rebuild table.md and figures from cells.csv",
                       description="Rebuild a report from cells.csv alone; 'all' rebuilds every "
                                   "results/<sim>/ report and writes results/README.md.")
    p.add_argument("sim", help="simulation name, or 'all'")
    p.add_argument("--out", default=None,
                   help="directory holding cells.csv (default results/<sim>/; with 'all': the "
                        "results root)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("plan", help="power plan: the seeds a sweep's pre-registered claims need",
                       description="For every [[claims]] table of a sweep: the pilot's sd, the "
                                   "seeds needed to detect 1 and 2 points at the given power "
                                   "(one-sided at alpha/m, Holm's first step), the effect the "
                                   "sweep's seeds detect, and the run's estimated time here.")
    p.add_argument("sim", help="simulation name (see `sparsesim list`) or a path to a TOML")
    p.add_argument("--pilot", default=None,
                   help="cells.csv of an earlier run: the paired sd of each claim (without it "
                        "the seeds are given per unit of sd)")
    p.add_argument("--alpha", type=float, default=None,
                   help="family-wise level over the file's claims (default: the tables' level, "
                        "0.01)")
    p.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes for the time estimate (default: this machine's cores)")
    p.add_argument("--no-calibrate", action="store_true",
                   help="skip the timing of a few training steps (no run-time estimate)")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("bench", help="list or run the benchmark scripts of the source tree")
    p.add_argument("name", nargs="?", help="benchmark name (omit to list)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments for the script")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`sparsesim list | head`): stop
        # quietly, and keep Python's shutdown flush from raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # one line for the user, never a traceback (unless asked)
        if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
            raise
        if isinstance(exc, (ValueError, TypeError, LookupError, FileNotFoundError)):
            print(f"sparsesim: {_one_line(exc)}", file=sys.stderr)
            return 2
        if isinstance(exc, (RuntimeError, OSError)):  # e.g. no GPU for --backend cupy
            print(f"sparsesim: {_one_line(exc)}", file=sys.stderr)
            return 1
        print(f"sparsesim: {type(exc).__name__}: {_one_line(exc)} "
              f"(set {TRACEBACK_ENV}=1 for the traceback)", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
