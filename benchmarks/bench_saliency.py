"""Wall time of SNIP and GraSP scoring, and of masked vs compacted networks.

Network: the MNIST-1D reference MLP 40-500-500-10 with a residual connection on
the second hidden layer, B independent models in one batch, one minibatch of
``--batch`` MNIST-1D training signals (Gaussian inputs when the optional
``mnist1d`` package is missing).  NumPy and CuPy run side by side when a GPU is
usable.

Part 1: time of ``snip_scores`` (1 forward + 1 backward) and ``grasp_scores``
(T = 200; forward + backward + R-forward + R-backward) and their ratio.

Part 2: one forward+backward (``loss_and_grad``) of (a) the dense network, (b)
the masked network in which only a fraction ``--keep`` of the hidden neurons
survive (full-size dense matrices with zeros), and (c) the same network after
``compact`` (narrow dense layers, same function).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_saliency.py --models 1 64 --batch 100

(On a shared or small CPU, OpenBLAS's own threads can slow small matrix
products by 10-100x; one BLAS thread gives stable CPU numbers.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from sparsesim.backend import asarray, cupy_available, device_name, get_namespace
from sparsesim.nn import compact, grasp_scores, init_mlp, loss_and_grad, snip_scores

SIZES = (40, 500, 500, 10)


def sync(xp):
    if xp.__name__ == "cupy":  # benchmark timing only: wait for queued kernels
        xp.cuda.get_current_stream().synchronize()


def timed(fn, xp, repeats):
    fn()  # warm-up (CuPy compiles kernels / plans on first use)
    sync(xp)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(xp)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def load_batch(batch, backend, dtype):
    try:
        from sparsesim.nn import mnist1d  # noqa: PLC0415
        d = mnist1d(seed=0, n_validation=0, backend=backend, dtype=dtype)
        return d.x_train[:batch], d.y_train[:batch], "mnist1d"
    except ImportError:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((batch, SIZES[0]))
        y = rng.integers(0, SIZES[-1], batch)
        return asarray(X, backend, dtype), asarray(y, backend), "gaussian"


def neuron_masks(xp, n_models, keep, seed):
    """Keep the same random ``keep`` fraction of units in both (residual-tied) hidden layers."""
    rng = np.random.default_rng(seed)
    h = SIZES[1]
    k = max(1, int(round(keep * h)))
    alive = np.zeros((n_models, h), bool)
    for i in range(n_models):
        alive[i, rng.choice(h, k, replace=False)] = True
    alive = xp.asarray(alive)
    inp = xp.ones((n_models, SIZES[0]), dtype=bool)
    out = xp.ones((n_models, SIZES[-1]), dtype=bool)
    acts = [inp, alive, alive, out]
    return [(acts[l][:, :, None] & acts[l + 1][:, None, :], acts[l + 1].copy())
            for l in range(3)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--keep", type=float, default=0.25, help="fraction of hidden neurons kept")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--backends", nargs="+", default=["numpy", "cupy"])
    args = ap.parse_args(argv)
    dtype = np.dtype(args.dtype)
    backends = [b for b in args.backends if b == "numpy" or cupy_available()]
    skipped = [b for b in args.backends if b not in backends]
    print(f"net {'-'.join(map(str, SIZES))} (residual), batch {args.batch}, dtype {dtype}, "
          f"median of {args.repeats}; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    for b in skipped:
        print(f"[{b} skipped: no usable CUDA device / CuPy]")

    rows1, rows2 = [], []
    for backend in backends:
        xp = get_namespace(backend)
        X, y, source = load_batch(args.batch, backend, dtype)
        dev = device_name(backend)
        for B in args.models:
            params = init_mlp(SIZES, B, seed=0, backend=backend, dtype=dtype, residual=True)
            t_snip = timed(lambda: snip_scores(params, X, y, residual=True,
                                               check_values=False), xp, args.repeats)
            t_grasp = timed(lambda: grasp_scores(params, X, y, temperature=200.0, residual=True,
                                                 check_values=False), xp, args.repeats)
            rows1.append((backend, dev, B, source, t_snip, t_grasp))

            masks = neuron_masks(xp, B, args.keep, seed=1)
            comp = compact(params, masks, residual=True)
            t_dense = timed(lambda: loss_and_grad(params, X, y, residual=True,
                                                  check_values=False), xp, args.repeats)
            t_masked = timed(lambda: loss_and_grad(params, X, y, masks, residual=True,
                                                   check_values=False), xp, args.repeats)
            t_comp = timed(lambda: loss_and_grad(comp.params, X, y, comp.masks, residual=True,
                                                 check_values=False), xp, args.repeats)
            rows2.append((backend, B, comp.sizes, t_dense, t_masked, t_comp))

    print("\nSaliency scoring (ms per call)")
    print(f"{'backend':8} {'device':28} {'B':>4} {'data':9} {'SNIP':>10} {'GraSP':>10} {'GraSP/SNIP':>10}")
    for backend, dev, B, source, ts, tg in rows1:
        print(f"{backend:8} {dev[:28]:28} {B:>4} {source:9} {1e3 * ts:10.2f} {1e3 * tg:10.2f} "
              f"{tg / ts:10.2f}")
    print(f"\nForward+backward at {args.keep:.0%} of hidden neurons kept (ms per call)")
    print(f"{'backend':8} {'B':>4} {'compacted sizes':18} {'dense':>9} {'masked':>9} "
          f"{'compacted':>9} {'masked/compacted':>16}")
    for backend, B, sizes, td, tm, tc in rows2:
        print(f"{backend:8} {B:>4} {'-'.join(map(str, sizes)):18} {1e3 * td:9.2f} {1e3 * tm:9.2f} "
              f"{1e3 * tc:9.2f} {tm / tc:16.2f}")


if __name__ == "__main__":
    main()
