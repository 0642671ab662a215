"""Sweep executors: cells per second, local vs a Dask LocalCluster, and the cost per cell.

Three workloads:

* ``tiny``: a grid of trivial cells (a few random numbers each, optionally a
  sleep), so the wall time per cell is the executor's overhead: task
  submission, (de)serialisation, the result's trip back, the journal's
  fsync-ed append;
* ``mlp``: cells that each train 4 MNIST-1D-sized MLPs (40-500-500-10, Adam,
  batch 100, masks on) for ``--mlp-steps`` steps on synthetic data — NumPy
  work with many large temporaries, like the lottery sweeps;
* ``sweep``: the quick variant of a real simulation (``--sim``, default
  ``best_k_term``).

Each workload runs with the local executor and with ``DaskExecutor`` on the
cluster ``--executor dask`` starts (:func:`sparsesim.sweep.dask_executor.local_cluster`,
``--workers`` single-threaded worker processes), and on a plain
``distributed.LocalCluster`` with Dask's default worker environment, whose
``MALLOC_TRIM_THRESHOLD_`` the executor leaves out (the ``dask env`` column).
The clusters are started (and their workers warmed up by a throw-away sweep)
before the clock starts; their start-up time is printed separately.  On a machine with
a usable GPU the tiny workload is also run with ``--backend cupy`` (one GPU
worker).

Usage::

    python benchmarks/bench_executors.py                  # defaults: 300 tiny cells, 2 workers
    python benchmarks/bench_executors.py --cells 1000 --sleep 0.01 --workers 4
    python benchmarks/bench_executors.py --sim support_recovery
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (HERE.parent, HERE):  # the source tree, and this module for the workers
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

# --------------------------------------------------------------------------- the tiny simulation
# This module doubles as the simulation of the ``tiny`` workload: its TOML names
# ``bench_executors`` as the module, importable on the workers because this
# script's directory is on their sys.path.

PARAMS = {"i": int, "draws": int, "sleep": float, "mlp_steps": int}
DEFAULTS = {"draws": 16, "sleep": 0.0, "mlp_steps": 0}


def _train_mlps(steps: int, backend: str) -> float:
    """Train 4 masked 40-500-500-10 MLPs with Adam for ``steps`` steps; the final loss."""
    import numpy as np

    from sparsesim.backend import get_namespace, to_numpy
    from sparsesim.nn import init_mlp
    from sparsesim.nn.optim import Adam
    from sparsesim.nn.training import TrainData, train

    xp = get_namespace(backend)
    rng = np.random.default_rng(0)
    splits = []
    for n in (4000, 500, 1000):
        splits += [xp.asarray(rng.normal(size=(n, 40)).astype(np.float32)),
                   xp.asarray(rng.integers(0, 10, size=n))]
    sizes = (40, 500, 500, 10)
    params = init_mlp(sizes, 4, seed=0, backend=backend, dtype=np.float32, residual=True)
    masks = [(xp.asarray(rng.random(W.shape) < 0.2), xp.asarray(rng.random(b.shape) < 0.2))
             for W, b in params]
    result = train(params, TrainData(*splits), optimizer=Adam(lr=2e-2), steps=steps,
                   batch_size=100, eval_every=steps, data_seed=0, masks=masks, residual=True)
    return float(result.final_train_loss.mean())


def run_cell(params, ctx):
    from sparsesim.backend import make_rng, to_numpy

    if params["mlp_steps"]:
        return {"mean": _train_mlps(params["mlp_steps"], ctx.backend)}
    if params["sleep"]:
        time.sleep(params["sleep"])
    x = make_rng(ctx.seed, ctx.backend).normal(params["draws"])
    return {"mean": float(to_numpy(x.mean()))}


def _tiny_config(workdir: Path, cells: int, sleep: float, mlp_steps: int = 0):
    from sparsesim.sweep import load_config

    path = workdir / f"tiny_{cells}_{sleep}_{mlp_steps}.toml"
    path.write_text("[sim]\nname = \"tiny\"\nmodule = \"bench_executors\"\nseed = 1\n"
                    f"[params]\nsleep = {sleep!r}\nmlp_steps = {mlp_steps}\n"
                    f"[grid]\ni = {list(range(cells))}\n")
    return load_config(path)


# --------------------------------------------------------------------------- timing

def _time_sweep(config, backend: str, executor) -> float:
    from sparsesim.sweep import run_sweep

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_sweep(config, out=out, backend=backend, executor=executor, show_progress=False)
        return time.perf_counter() - t0


def _best(config, backend, make_executor, repeats: int) -> float:
    return min(_time_sweep(config, backend, make_executor()) for _ in range(repeats))


def _time_gpu_cluster(config, repeats: int) -> float:  # pragma: no cover - GPU only
    """Best time of ``config`` on a one-worker-per-GPU cluster (dask-cuda if installed)."""
    import distributed

    from sparsesim.sweep.dask_executor import DaskExecutor

    try:
        from dask_cuda import LocalCUDACluster
        cluster = LocalCUDACluster(threads_per_worker=1, dashboard_address=":0")
    except ImportError:
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
    try:
        def make():
            return DaskExecutor(scheduler=cluster.scheduler_address, backend="cupy")
        _time_sweep(config, "cupy", make())  # warm-up: CuPy import, kernels, context
        return _best(config, "cupy", make, repeats)
    finally:
        cluster.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=300, help="cells of the tiny workload")
    parser.add_argument("--sleep", type=float, default=0.0,
                        help="seconds each tiny cell sleeps (0: pure overhead)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--sim", default="best_k_term",
                        help="simulation whose quick sweep is timed ('' to skip)")
    parser.add_argument("--mlp-cells", type=int, default=6, help="cells of the mlp workload")
    parser.add_argument("--mlp-steps", type=int, default=150,
                        help="Adam steps per mlp cell (0 skips the workload)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)

    import distributed

    from sparsesim import __version__
    from sparsesim.backend import cupy_available, device_name
    from sparsesim.sweep import LocalExecutor, load_config
    from sparsesim.sweep.dask_executor import DaskExecutor, local_cluster

    import importlib

    importlib.import_module("bench_executors")  # the tiny simulation, by its module name
    workdir = Path(tempfile.mkdtemp(prefix="bench_executors_"))
    tiny = _tiny_config(workdir, args.cells, args.sleep)
    workloads = [("tiny", tiny, "numpy")]
    if args.sleep == 0.0:  # the same cells doing 10 ms of (sleeping) work each
        workloads.append(("tiny + 10 ms/cell", _tiny_config(workdir, args.cells // 3, 0.01),
                          "numpy"))
    if args.mlp_steps:
        workloads.append((f"mlp ({args.mlp_steps} steps/cell)",
                          _tiny_config(workdir, args.mlp_cells, 0.0, args.mlp_steps), "numpy"))
    if args.sim:
        quick = load_config(args.sim, quick=True)
        workloads.append((f"{args.sim} --quick", quick, "numpy"))
    if cupy_available():
        workloads.append(("tiny", tiny, "cupy"))

    print(f"sparsesim {__version__}, {device_name('numpy')}, {args.workers} dask workers, "
          f"best of {args.repeats}")
    clusters = {}
    with contextlib.redirect_stderr(io.StringIO()):
        for label, start in (("executor", lambda: local_cluster("numpy", n_workers=args.workers)),
                             ("dask env", lambda: distributed.LocalCluster(
                                 n_workers=args.workers, threads_per_worker=1, processes=True,
                                 dashboard_address=":0"))):
            t0 = time.perf_counter()
            clusters[label] = start()
            print(f"LocalCluster ({label}) start-up: {time.perf_counter() - t0:.2f} s",
                  file=sys.stdout)
    header = (f"{'workload':<26} {'backend':<7} {'cells':>6} {'local c/s':>10} "
              f"{'dask c/s':>10} {'dask env c/s':>13} {'local ms/cell':>14} "
              f"{'dask ms/cell':>13} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    try:
        def on(cluster):
            return lambda: DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy")

        for cluster in clusters.values():
            # Warm the workers (imports, first task) so that start-up is not timed below.
            _time_sweep(_tiny_config(workdir, 2 * args.workers, 0.0), "numpy", on(cluster)())
        for name, config, backend in workloads:
            n = len(config.cells)
            local = _best(config, backend, LocalExecutor, args.repeats)
            if backend == "cupy":  # pragma: no cover - GPU machines only
                dask = _time_gpu_cluster(config, args.repeats)
                stock = float("nan")
            else:
                dask = _best(config, backend, on(clusters["executor"]), args.repeats)
                stock = _best(config, backend, on(clusters["dask env"]), args.repeats)
            print(f"{name:<26} {backend:<7} {n:>6} {n / local:>10.3g} {n / dask:>10.3g} "
                  f"{n / stock:>13.3g} {1e3 * local / n:>14.2f} {1e3 * dask / n:>13.2f} "
                  f"{local / dask:>9.2f}")
    finally:
        import logging

        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # quiet shutdown races
        with contextlib.redirect_stderr(io.StringIO()):
            for cluster in clusters.values():
                cluster.close()
    print("c/s = cells per second (wall clock, journal included); dask = the executor's own "
          "local cluster; dask env = a LocalCluster with Dask's default worker environment "
          "(MALLOC_TRIM_THRESHOLD_=65536); speed-up = local time / dask time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
