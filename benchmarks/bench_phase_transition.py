"""Throughput of batched normalised IHT (NIHT) against a Python loop over single problems.

``T`` problems at ``d = 400``, ``m = delta * d``, ``k = rho * m`` (A with
i.i.d. ``N(0, 1/m)`` entries, ``±1`` nonzeros) are solved by
:func:`sparsesim.sim.phase_transition.engine.niht` twice in one run: once as
one batch along the leading axis, once problem by problem in a Python loop.
Each problem stops on its own (converged, stalled or ``max_iter``), so the
figure reported is *problem-iterations per second*: the sum over problems of
the iterations each one ran, divided by the wall time (median of
``--repeats`` timed runs after one untimed warm-up).  Both ways must give the
same iterates; the script checks that the recovered ``x`` agree to 1e-8.
CuPy rows are printed where CuPy and a CUDA device are usable; on CuPy the
device is synchronised before the clock starts and stops.

Usage::

    python benchmarks/bench_phase_transition.py
    python benchmarks/bench_phase_transition.py --problems 64 --repeats 3 --backends numpy
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from sparsesim.backend import cupy_available, device_name, get_namespace, to_numpy
from sparsesim.sim.phase_transition.engine import draw_problems, niht, relative_error


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


def _sync(xp) -> None:
    if xp is not np:
        xp.cuda.Device().synchronize()


def _timed(xp, fn, repeats: int):
    fn()  # warm-up (kernel compilation, caches)
    times, out = [], None
    for _ in range(repeats):
        _sync(xp)
        t0 = time.perf_counter()
        out = fn()
        _sync(xp)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run(args: argparse.Namespace) -> list[dict]:
    m = int(round(args.delta * args.d))
    k = max(1, int(round(args.rho * m)))
    A_h, x_h, y_h = draw_problems(args.seed, args.problems, d=args.d, m=m, k=k,
                                  nonzeros="sign", backend="numpy")
    rows = []
    for backend in args.backends:
        if backend == "cupy" and not cupy_available():
            print("cupy: skipped (CuPy or a usable CUDA device is not available here)")
            continue
        xp = get_namespace(backend)
        A, y = xp.asarray(A_h), xp.asarray(y_h)

        def batched():
            return niht(A, y, k, max_iter=args.max_iter)

        def looped():
            return [niht(A[i:i + 1], y[i:i + 1], k, max_iter=args.max_iter)
                    for i in range(args.problems)]

        t_b, res_b = _timed(xp, batched, args.repeats)
        print(f"  {backend} batched: {t_b:.3f} s", flush=True)
        t_l, res_l = _timed(xp, looped, args.repeats)
        print(f"  {backend} loop: {t_l:.3f} s", flush=True)
        iters_b = int(np.sum(res_b.iterations))
        iters_l = int(sum(int(np.sum(r.iterations)) for r in res_l))
        x_b = to_numpy(res_b.x)
        x_l = np.concatenate([to_numpy(r.x) for r in res_l])
        same = bool(np.allclose(x_b, x_l, rtol=0, atol=1e-8))
        recovered = float(np.mean(to_numpy(relative_error(res_b.x, xp.asarray(x_h))) <= 1e-4))
        for way, t, its in (("batched", t_b, iters_b), ("loop", t_l, iters_l)):
            rows.append(dict(backend=backend, device=device_name(backend), way=way,
                             seconds=t, problem_iters=its, rate=its / t,
                             same=same, recovered=recovered))
    return rows, m, k


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=128)
    parser.add_argument("--d", type=int, default=400)
    parser.add_argument("--delta", type=float, default=0.5)
    parser.add_argument("--rho", type=float, default=0.2)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["numpy", "cupy"],
                        help="comma-separated list from numpy,cupy")
    args = parser.parse_args(argv)
    for b in args.backends:
        if b not in ("numpy", "cupy"):
            parser.error(f"--backends: unknown backend {b!r} (choose from numpy, cupy)")
    for name in ("problems", "d", "max_iter", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    rows, m, k = run(args)
    print(f"NIHT, {args.problems} problems, d = {args.d}, m = {m}, k = {k}, "
          f"max_iter {args.max_iter}; median of {args.repeats}")
    print(f"machine: {cpu_model()} ({os.cpu_count()} logical CPUs); numpy {np.__version__}")
    print(f"{'backend':<7} {'device':<24} {'way':<8} {'seconds':>8} {'prob-iters':>10} "
          f"{'prob-iters/s':>12} {'same x':>6} {'recovered':>9}")
    by = {}
    for r in rows:
        by[(r["backend"], r["way"])] = r["rate"]
        print(f"{r['backend']:<7} {r['device'][:24]:<24} {r['way']:<8} {r['seconds']:>8.3f} "
              f"{r['problem_iters']:>10} {r['rate']:>12.0f} {str(r['same']):>6} "
              f"{r['recovered']:>9.2f}")
    for backend in ("numpy", "cupy"):
        if (backend, "batched") in by:
            print(f"{backend}: batched / loop = "
                  f"{by[(backend, 'batched')] / by[(backend, 'loop')]:.1f}x")
    if ("cupy", "batched") in by:
        print(f"cupy batched / numpy batched = "
              f"{by[('cupy', 'batched')] / by[('numpy', 'batched')]:.1f}x")


if __name__ == "__main__":
    main()
