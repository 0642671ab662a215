"""Basis pursuit: batched PDHG (NumPy, CuPy) beside HiGHS, problems per second and agreement.

``T`` problems ``y = A x`` at ``d``, ``m = delta d``, ``k = rho m`` (A with
i.i.d. ``N(0, 1/m)`` entries, ``±1`` nonzeros; by default ``rho`` is the weak
threshold ``rho_W(delta)``, where success and failure are equally likely and
the solvers work hardest) are solved by
:func:`sparsesim.sim.phase_transition.pdhg.basis_pursuit_pdhg` as one batch
(each backend asked for) and by HiGHS (:func:`...engine.basis_pursuit`, one LP
at a time on the CPU).  Reported: wall seconds (median of ``--repeats`` after
one untimed warm-up; CuPy synchronised around the clock), problems per
second, and how often PDHG's success decision (``||x_hat - x|| / ||x|| <=
1e-4``) differs from HiGHS' on the same problems: the measured error rate of
the first-order solver at this size.

Usage::

    python benchmarks/bench_l1_pdhg.py
    python benchmarks/bench_l1_pdhg.py --d 400 --problems 256 --backends numpy,cupy
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from sparsesim import theory
from sparsesim.backend import cupy_available, device_name, get_namespace, to_numpy
from sparsesim.sim.phase_transition.engine import SUCCESS_TOL, basis_pursuit, draw_problems, \
    relative_error
from sparsesim.sim.phase_transition.pdhg import basis_pursuit_pdhg

from bench_phase_transition import _sync, _timed  # noqa: E402 - the timing loop of the batched-solver benchmarks

try:
    from bench_phase_transition import cpu_model
except ImportError:  # run from elsewhere
    import platform

    def cpu_model() -> str:
        return platform.processor() or platform.machine() or "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("--d", type=int, default=200)
    parser.add_argument("--delta", type=float, default=0.5)
    parser.add_argument("--rho", type=float, default=None,
                        help="k/m (default: rho_W(delta))")
    parser.add_argument("--max-iter", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["numpy", "cupy"])
    parser.add_argument("--no-highs", action="store_true", help="skip HiGHS (and agreement)")
    args = parser.parse_args(argv)
    for b in args.backends:
        if b not in ("numpy", "cupy"):
            parser.error(f"--backends: unknown backend {b!r} (choose from numpy, cupy)")
    for name in ("problems", "d", "max_iter", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if not 0 < args.delta < 1:
        parser.error("--delta must be in (0, 1)")
    rho = args.rho if args.rho is not None else float(theory.l1_phase_transition(args.delta))
    m = int(round(args.delta * args.d))
    k = max(1, int(round(rho * m)))
    A_h, x_h, y_h = draw_problems(args.seed, args.problems, d=args.d, m=m, k=k,
                                  nonzeros="sign", backend="numpy")
    print(f"basis pursuit, {args.problems} problems, d = {args.d}, m = {m}, k = {k}; "
          f"median of {args.repeats}")
    print(f"machine: {cpu_model()} ({os.cpu_count()} logical CPUs); numpy {np.__version__}")
    ok_h = None
    if not args.no_highs:
        t_h, res_h = _timed(np, lambda: basis_pursuit(A_h, y_h), args.repeats)
        ok_h = relative_error(res_h.x, x_h) <= SUCCESS_TOL
        print(f"highs   cpu: {t_h:8.3f} s  {args.problems / t_h:10.1f} problems/s  "
              f"success {ok_h.mean():.3f}", flush=True)
    for backend in args.backends:
        if backend == "cupy" and not cupy_available():
            print("cupy: skipped (CuPy or a usable CUDA device is not available here)")
            continue
        xp = get_namespace(backend)
        A, y = xp.asarray(A_h), xp.asarray(y_h)
        t, res = _timed(xp, lambda: basis_pursuit_pdhg(A, y, max_iter=args.max_iter),
                        args.repeats)
        ok = to_numpy(relative_error(res.x, xp.asarray(x_h))) <= SUCCESS_TOL
        line = (f"pdhg    {backend} ({device_name(backend)[:24]}): {t:8.3f} s  "
                f"{args.problems / t:10.1f} problems/s  success {ok.mean():.3f}  "
                f"iterations median {int(np.median(res.iterations))} max "
                f"{int(res.iterations.max())}")
        if ok_h is not None:
            line += f"  disagreements with HiGHS {int((ok != ok_h).sum())} / {args.problems}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
