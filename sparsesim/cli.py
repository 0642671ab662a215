"""The ``sparsesim`` command: run simulation sweeps, list them, rebuild their reports."""

from __future__ import annotations

import argparse
import importlib
import os
import runpy
import sys
import time
from pathlib import Path

from . import __version__

DESCRIPTION = """\
sparsesim turns claims about neural-network pruning into simulations set beside
their closed-form or published predictions ("theory tables").

Typical use:
  sparsesim list                          the simulations that exist
  sparsesim run all --quick               every quick sweep (minutes, CPU is fine)
  sparsesim run support_recovery          one full sweep -> results/support_recovery/
  sparsesim report support_recovery       rebuild table.md and figures from cells.csv

Every finished cell is journaled: an interrupted run resumes when the same
command is run again.
"""


def _default_out(name: str, quick: bool) -> Path:
    return Path("results") / "quick" / name if quick else Path("results") / name


def _make_executor(args):
    if args.executor == "local":
        return None
    try:
        from .sweep.dask_executor import DaskExecutor  # noqa: PLC0415
    except ImportError as exc:
        raise SystemExit(f"sparsesim: the dask executor is unavailable: {exc}") from None
    return DaskExecutor(scheduler=args.scheduler, backend=args.backend)


def _cmd_list(args) -> int:
    from .sweep import list_configs, load_config  # noqa: PLC0415

    configs = list_configs()
    if not configs:
        print("no simulations found (looked for sims/*.toml)")
        return 1
    width = max(len(n) for n in configs)
    for name, path in configs.items():
        try:
            full = load_config(path)
            quick = load_config(path, quick=True)
            extra = f"{len(full.cells)} cells, quick {len(quick.cells)}"
            print(f"{name:<{width}}  {full.description}  [{extra}]")
        except Exception as exc:  # a broken config must not hide the others
            print(f"{name:<{width}}  (config error: {exc})")
    return 0


def _cmd_run(args) -> int:
    from .report import write_report  # noqa: PLC0415
    from .sweep import list_configs, load_config, run_sweep  # noqa: PLC0415
    from .sweep.config import ConfigError  # noqa: PLC0415

    names = list(list_configs()) if args.sim == "all" else [args.sim]
    if args.sim == "all" and args.out is not None:
        raise SystemExit("sparsesim: --out cannot be used with 'all' (each sweep has its own directory)")
    overrides = {}
    if args.trials is not None:
        overrides["trials"] = args.trials
    status = 0
    for name in names:
        try:
            config = load_config(name, quick=args.quick, seed=args.seed,
                                 overrides=overrides if overrides else None)
        except ConfigError as exc:
            if args.sim == "all" and "override" in str(exc):
                config = load_config(name, quick=args.quick, seed=args.seed)
            else:
                print(f"sparsesim: {exc}", file=sys.stderr)
                return 2
        out = Path(args.out) if args.out else _default_out(config.name, args.quick)
        t0 = time.perf_counter()
        frame = run_sweep(config, out=out, backend=args.backend, executor=_make_executor(args),
                          show_progress=not args.quiet)
        files = [] if args.no_report else write_report(
            config.module, frame, out, name=config.name, description=config.description)
        print(f"{config.name}: {len(config.cells)} cells -> {out / 'cells.csv'}"
              + (f", {files[0]}" if files else "") + f" ({time.perf_counter() - t0:.1f} s)")
        if files:
            first = files[0].read_text().splitlines()
            verdict = next((ln for ln in first if ln.startswith("**")), "")
            if verdict:
                print(f"  {verdict.split('**')[1].strip()}")
    return status


def _cmd_report(args) -> int:
    import pandas as pd  # noqa: PLC0415

    from .report import write_report  # noqa: PLC0415
    from .sweep import list_configs, load_config  # noqa: PLC0415
    from .sweep.config import ConfigError  # noqa: PLC0415

    out = Path(args.out) if args.out else Path("results") / args.sim
    cells_path = out / "cells.csv"
    if not cells_path.is_file():
        print(f"sparsesim: {cells_path} does not exist; run `sparsesim run {args.sim}` first",
              file=sys.stderr)
        return 2
    cells = pd.read_csv(cells_path)
    config = None
    recorded = cells["config_file"].dropna().astype(str) if "config_file" in cells.columns \
        else pd.Series(dtype=str)
    if len(recorded) and Path(recorded.iloc[0]).is_file():
        try:
            config = load_config(recorded.iloc[0])
        except ConfigError:
            config = None
    elif args.sim in list_configs():
        try:
            config = load_config(args.sim)
        except ConfigError:
            config = None
    if "sim_module" in cells.columns and cells["sim_module"].notna().any():
        module = importlib.import_module(str(cells["sim_module"].dropna().iloc[0]))
    elif config is not None:
        module = config.module
    else:
        print(f"sparsesim: {cells_path} has no sim_module column and no sims/{args.sim}.toml "
              "was found", file=sys.stderr)
        return 2
    description = config.description if config is not None and \
        config.module_name == module.__name__ else (module.__doc__ or "").strip().splitlines()[0]
    files = write_report(module, cells, out, name=args.sim, description=description)
    print("\n".join(str(f) for f in files))
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

    p = sub.add_parser("list", help="list the simulations (sims/*.toml), one line each")
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
    p.add_argument("--no-report", action="store_true", help="write cells.csv only")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="rebuild table.md and figures from cells.csv")
    p.add_argument("sim", help="simulation name")
    p.add_argument("--out", default=None, help="directory holding cells.csv (default results/<sim>/)")
    p.set_defaults(func=_cmd_report)

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
    except (ValueError, TypeError, RuntimeError) as exc:
        if getattr(args, "command", None) == "run" and type(exc).__name__ == "ConfigError":
            print(f"sparsesim: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
