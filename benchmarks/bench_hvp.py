"""Cost of exact Hessian-vector products and Lanczos spectra of a masked MLP Hessian.

Network: the MNIST-1D reference MLP 40-500-500-10 with the residual connection
on the second layer (275,010 weights, 1,010 biases), Kaiming initialisation,
float64 (Lanczos to 1e-6 relative accuracy needs it), cross-entropy on the
first ``--examples`` MNIST-1D training signals (random Gaussian inputs and
labels when the optional ``mnist1d`` package is missing: the cost is the
same).  The mask keeps a uniformly random fraction ``--density`` of each
weight matrix (1.0 = dense); the operator acts on the kept weights and all
biases.

Measured, per backend (NumPy, and CuPy beside it when a GPU is usable; CuPy
is skipped with a message otherwise):

- ``grad``: one ``loss_and_grad`` of the whole batch of examples;
- ``hvp``: one ``hvp`` (Pearlmutter R-operator) through the masked operator
  (including the flatten / unflatten of the active coordinates);
- ``hvp/grad``: their ratio (operation count: a gradient is 3 matrix products
  per layer — forward, ``aᵀδ``, ``δWᵀ`` — and the R-operator 9 — the same 3
  plus 2 for the R-forward pass and 4 for the R-backward pass — so about 3);
- ``lanczos``: one :func:`sparsesim.geometry.lanczos_extremes` call (λ_max and
  λ_min to ``--tol`` relative accuracy, ``k = 1``), with the number of
  products it used.

Medians of ``--repeats`` timed calls after ``--warmup`` untimed ones; the
device is synchronised around every timed call on CuPy.

Usage::

    python benchmarks/bench_hvp.py
    python benchmarks/bench_hvp.py --examples 256 --density 0.1 --repeats 3
    python benchmarks/bench_hvp.py --backends numpy --no-lanczos
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from sparsesim.backend import cupy_available, device_name, get_namespace, make_rng
from sparsesim.geometry import lanczos_extremes
from sparsesim.nn.hessian import mlp_masked_hessian_operator
from sparsesim.nn import hvp, init_mlp, loss_and_grad

SIZES = (40, 500, 500, 10)


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


def median_time(xp, fn, *, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _synchronize(xp)
        t0 = time.perf_counter()
        fn()
        _synchronize(xp)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def host_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from sparsesim.nn.data import mnist1d  # noqa: PLC0415
        d = mnist1d(seed=seed, backend="numpy", dtype=np.float64)
        return np.asarray(d.x_train[:n]), np.asarray(d.y_train[:n]), "MNIST-1D"
    except ImportError:
        rng = np.random.default_rng(seed)
        return rng.standard_normal((n, SIZES[0])), rng.integers(0, SIZES[-1], n), "random"


def bench_backend(backend: str, X_host, y_host, args) -> dict:
    xp = get_namespace(backend)
    params = init_mlp(SIZES, 1, seed=args.seed, backend=backend, dtype=np.float64,
                      residual=True)
    X = xp.asarray(X_host)
    y = xp.asarray(y_host)
    rng = make_rng(args.seed + 1, backend)
    masks = None
    if args.density < 1.0:
        masks = [rng.uniform(W.shape) < args.density for W, _ in params]
    op = mlp_masked_hessian_operator(params, X, y, masks, residual=True)
    v = make_rng(args.seed + 2, backend).normal(op.dim)
    vec = [(xp.ones_like(W), xp.ones_like(b)) for W, b in params]

    t_grad = median_time(xp, lambda: loss_and_grad(params, X, y, masks, residual=True,
                                                   check_values=False),
                         warmup=args.warmup, repeats=args.repeats)
    t_raw = median_time(xp, lambda: hvp(params, X, y, vec, masks, residual=True,
                                        check_values=False),
                        warmup=args.warmup, repeats=args.repeats)
    t_op = median_time(xp, lambda: op.matvec(v), warmup=args.warmup, repeats=args.repeats)
    row = {"backend": backend, "device": device_name(backend), "dim": op.dim,
           "grad_ms": 1e3 * t_grad, "hvp_ms": 1e3 * t_raw, "op_ms": 1e3 * t_op,
           "ratio": t_raw / t_grad}
    if not args.no_lanczos:
        _synchronize(xp)
        t0 = time.perf_counter()
        s = lanczos_extremes(op, k=1, tol=args.tol, maxiter=args.maxiter, seed=args.seed,
                             allow_unconverged=True)
        _synchronize(xp)
        row.update(lanczos_s=time.perf_counter() - t0, matvecs=s.n_matvec,
                   lambda_max=s.lambda_max, lambda_min=s.lambda_min, converged=s.converged)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1000, help="examples in the loss (1000)")
    ap.add_argument("--density", type=float, default=1.0,
                    help="kept fraction of each weight matrix (1.0 = dense)")
    ap.add_argument("--tol", type=float, default=1e-6, help="Lanczos relative accuracy")
    ap.add_argument("--maxiter", type=int, default=1000, help="Lanczos restarts cap")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backends", default="numpy,cupy")
    ap.add_argument("--no-lanczos", action="store_true", help="time products only")
    args = ap.parse_args(argv)
    if not 0.0 < args.density <= 1.0:
        ap.error(f"--density must be in (0, 1]; got {args.density}")

    X_host, y_host, source = host_data(args.examples, args.seed)
    print(f"bench_hvp: MLP {'-'.join(map(str, SIZES))} (residual), float64, "
          f"{args.examples} {source} examples, density {args.density:g}, "
          f"Lanczos tol {args.tol:g}")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores, numpy {np.__version__}")
    rows = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "cupy" and not cupy_available():
            print("cupy: skipped (CuPy or a usable CUDA device is missing)")
            continue
        rows.append(bench_backend(backend, X_host, y_host, args))
    head = (f"{'backend':<8} {'device':<28} {'dim':>8} {'grad ms':>9} {'hvp ms':>9} "
            f"{'op ms':>9} {'hvp/grad':>8}")
    if not args.no_lanczos:
        head += f" {'lanczos s':>10} {'matvecs':>8} {'lambda_max':>11} {'lambda_min':>12} conv"
    print(head)
    for r in rows:
        line = (f"{r['backend']:<8} {r['device'][:28]:<28} {r['dim']:>8} {r['grad_ms']:>9.2f} "
                f"{r['hvp_ms']:>9.2f} {r['op_ms']:>9.2f} {r['ratio']:>8.2f}")
        if "lanczos_s" in r:
            line += (f" {r['lanczos_s']:>10.2f} {r['matvecs']:>8} {r['lambda_max']:>11.5g} "
                     f"{r['lambda_min']:>12.5g} {'yes' if r['converged'] else 'NO'}")
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
