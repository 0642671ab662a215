"""Throughput of the support-recovery Monte Carlo: Gaussian samples per second.

Runs ``support_recovery(d, k, t)`` end to end (sampling, thresholding,
counting) on each available path and prints one table:

* ``numpy/array``  — NumPy, plain array code (PCG64 normals);
* ``numpy/philox`` — NumPy twin of the fused kernel's stream (reference only);
* ``cupy/array``   — the same plain array code on CuPy;
* ``cupy/fused``   — the fused Philox + threshold + count kernel.

CuPy rows are skipped with a message when no GPU is usable.  Every path is
warmed up once (kernel compilation, memory pools) before timing; GPU timings
use CUDA events around the call and synchronise before reading them.

Usage::

    python benchmarks/bench_support_recovery.py                 # d = 64, 1024, 4096
    python benchmarks/bench_support_recovery.py --d 64 --repeats 5
    python benchmarks/bench_support_recovery.py --require-gpu   # exit 2 without a GPU

On a GPU it also prints the fused kernel's registers per thread, local
memory and the resident blocks per SM they allow (CuPy's ``RawKernel``
attributes), beside the histogram placement chosen for each ``d``.
"""

from __future__ import annotations

import argparse
import time

import sys

from sparsesim.backend import cupy_available, cupy_unusable_reason, device_name, get_namespace
from sparsesim.sim.support_recovery import support_recovery


def _time_numpy(d, k, t, trials, method, repeats):
    support_recovery(d, k, t, trials=max(1, trials // 10), seed=0, backend="numpy",
                     method=method)  # warm-up
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        support_recovery(d, k, t, trials=trials, seed=r + 1, backend="numpy", method=method)
        best = min(best, time.perf_counter() - t0)
    return best


def _time_cupy(d, k, t, trials, method, repeats):
    cp = get_namespace("cupy")
    support_recovery(d, k, t, trials=max(1, trials // 10), seed=0, backend="cupy",
                     method=method)  # warm-up: compile, allocate
    cp.cuda.Device().synchronize()
    best = float("inf")
    for r in range(repeats):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        support_recovery(d, k, t, trials=trials, seed=r + 1, backend="cupy", method=method)
        stop.record()
        stop.synchronize()
        best = min(best, cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[64, 1024, 4096], help="dimensions")
    parser.add_argument("--k", type=int, default=2, help="support size")
    parser.add_argument("--t", type=float, default=2.0, help="threshold (sigma = 1)")
    parser.add_argument("--numpy-samples", type=float, default=2 ** 24,
                        help="Gaussian samples per NumPy measurement")
    parser.add_argument("--philox-samples", type=float, default=2 ** 21,
                        help="samples per NumPy Philox-twin measurement (0: skip)")
    parser.add_argument("--gpu-samples", type=float, default=2 ** 30,
                        help="Gaussian samples per CuPy measurement")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (best is kept)")
    parser.add_argument("--require-gpu", action="store_true",
                        help="exit 2 (naming the reason) when CuPy is not usable")
    args = parser.parse_args(argv)

    rows = []
    gpu = cupy_available()
    print(f"CPU: {device_name('numpy')}")
    if gpu:
        print(f"GPU: {device_name('cupy')}")
    elif args.require_gpu:
        print(f"CuPy is not usable: {cupy_unusable_reason()}", file=sys.stderr)
        return 2
    else:
        print(f"CuPy paths skipped: {cupy_unusable_reason()}")
    for d in args.d:
        plan = [("numpy", "array", args.numpy_samples, _time_numpy)]
        if args.philox_samples > 0:
            plan.append(("numpy", "philox", args.philox_samples, _time_numpy))
        if gpu:
            plan += [("cupy", "array", args.gpu_samples, _time_cupy),
                     ("cupy", "fused", args.gpu_samples, _time_cupy)]
        for backend, method, samples, timer in plan:
            trials = max(1, int(samples) // d)
            seconds = timer(d, args.k, args.t, trials, method, args.repeats)
            rows.append((d, f"{backend}/{method}", trials, seconds, trials * d / seconds))

    print(f"\nsupport_recovery(d, k={args.k}, t={args.t}), best of {args.repeats}")
    print(f"{'d':>6}  {'path':<13} {'trials':>11} {'seconds':>9} {'samples/s':>11}")
    for d, path, trials, seconds, rate in rows:
        print(f"{d:>6}  {path:<13} {trials:>11} {seconds:>9.4f} {rate:>11.3e}")
    if gpu:
        print()
        for d in args.d:
            rate = {p: r for dd, p, _, _, r in rows if dd == d}
            print(f"d={d}: fused / plain CuPy = {rate['cupy/fused'] / rate['cupy/array']:.1f}x, "
                  f"fused / NumPy = {rate['cupy/fused'] / rate['numpy/array']:.0f}x")
        try:
            _print_kernel_resources(args.d, args.k)
        except Exception as exc:  # a report only: the timings above stand
            print(f"kernel resources not read: {type(exc).__name__}: {exc}")
    return 0


def _print_kernel_resources(ds, k):
    """Registers / local memory of the compiled fused kernels (one threshold)."""
    from sparsesim.kernels import support_count as sc
    from sparsesim.sim.support_recovery import HISTOGRAM_MAX_UNITS
    print()
    for d in ds:
        full = d <= HISTOGRAM_MAX_UNITS
        mode, nbytes = sc.histogram_plan(d, k, 1, full, sc._shared_budget())
        kern = sc._compiled(1, 1, full, mode)
        regs = int(kern.num_regs)
        blocks = 65536 // max(1, regs * sc.THREADS_PER_BLOCK)
        print(f"d={d}: fused kernel {regs} registers/thread, {int(kern.local_size_bytes)} B "
              f"local, <= {blocks} blocks/SM by registers; histograms "
              f"{['global', 'TP shared', 'all shared'][mode]} ({nbytes} B shared)")


if __name__ == "__main__":
    raise SystemExit(main())
