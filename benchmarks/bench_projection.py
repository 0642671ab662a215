"""Throughput of the exact ℓ0 projection ``best_k_term`` on NumPy and CuPy.

Two cases on a (rows, cols) float32 array of standard normals:

- ``row``:    k = 64 per row (``axis=1``), every row pruned independently;
- ``global``: k = 2% of all entries (``axis=None``), one vector.

Each case is run ``--warmup`` times untimed, then ``--repeats`` times timed;
the median wall time is reported as elements per second (array size /
median time).  On CuPy the device is synchronised before the clock starts
and before it stops, so the time covers the whole computation.  CuPy is
skipped with a message where it is not usable.

Usage::

    python benchmarks/bench_projection.py
    python benchmarks/bench_projection.py --rows 1024 --cols 1024 --repeats 3
    python benchmarks/bench_projection.py --backends numpy
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from sparsesim import best_k_term
from sparsesim.backend import cupy_available, device_name, get_namespace, make_rng, to_numpy


def cpu_model() -> str:
    """The processor's model name (``platform.processor()`` is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _synchronize(xp) -> None:
    if xp is not np:
        xp.cuda.Device().synchronize()


def time_call(xp, fn, *, warmup: int, repeats: int) -> list[float]:
    """Wall times (seconds) of ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    _synchronize(xp)
    times = []
    for _ in range(repeats):
        _synchronize(xp)
        start = time.perf_counter()
        fn()
        _synchronize(xp)
        times.append(time.perf_counter() - start)
    return times


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    # One host input, copied to each backend, so the masks can be compared.
    host = make_rng(args.seed, "numpy").normal((args.rows, args.cols), dtype=np.float32)
    cases = [
        ("row", args.k_row, 1),
        ("global", max(1, int(round(args.global_fraction * host.size))), None),
    ]
    numpy_masks = {}
    for backend in args.backends:
        if backend == "cupy" and not cupy_available():
            print("cupy: skipped (CuPy or a usable CUDA device is not available here)")
            continue
        xp = get_namespace(backend)
        w = xp.asarray(host)
        for name, k, axis in cases:
            times = time_call(xp, lambda: best_k_term(w, k, axis=axis),
                              warmup=args.warmup, repeats=args.repeats)
            median = statistics.median(times)
            mask = to_numpy(best_k_term(w, k, axis=axis)[1])
            if backend == "numpy":
                numpy_masks[name] = mask
                agree = ""
            else:
                agree = ("yes" if np.array_equal(mask, numpy_masks[name]) else "NO"
                         ) if name in numpy_masks else ""
            rows.append(dict(backend=backend, device=device_name(backend), case=name,
                             axis=str(axis), k=k, median_s=median, min_s=min(times),
                             elems_per_s=w.size / median, same_mask_as_numpy=agree))
    return rows


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"best_k_term on a ({args.rows}, {args.cols}) float32 array; "
          f"warm-up {args.warmup}, {args.repeats} repeats, median")
    print(f"machine: {cpu_model()} ({os.cpu_count()} logical CPUs), {platform.machine()}; "
          f"python {platform.python_version()}, numpy {np.__version__}")
    header = (f"{'backend':<7} {'device':<26} {'case':<7} {'axis':<5} {'k':>9} "
              f"{'median ms':>10} {'min ms':>9} {'Melem/s':>9} {'mask=numpy':>10}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['backend']:<7} {r['device'][:26]:<26} {r['case']:<7} {r['axis']:<5} "
              f"{r['k']:>9} {1e3 * r['median_s']:>10.2f} {1e3 * r['min_s']:>9.2f} "
              f"{r['elems_per_s'] / 1e6:>9.1f} {r['same_mask_as_numpy'] or '-':>10}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=4096)
    parser.add_argument("--k-row", type=int, default=64, help="entries kept per row (axis=1)")
    parser.add_argument("--global-fraction", type=float, default=0.02,
                        help="fraction of all entries kept in the global case (axis=None)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["numpy", "cupy"],
                        help="comma-separated list from numpy,cupy")
    args = parser.parse_args(argv)
    for b in args.backends:
        if b not in ("numpy", "cupy"):
            parser.error(f"--backends: unknown backend {b!r} (choose from numpy, cupy)")
    print_table(run(args), args)


if __name__ == "__main__":
    main()
