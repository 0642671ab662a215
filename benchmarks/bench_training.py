"""Throughput of the batched trainer: model-steps per second.

The MNIST-1D lottery network (40-500-500-10, residual second layer, Adam,
batch 100, masks on at density 0.2) trained as a batch of B models by
:func:`sparsesim.nn.training.train`, for each backend (NumPy; CuPy with the
CUDA-graph path and the plain path) and each B; beside it, when PyTorch is
importable, a one-model-at-a-time PyTorch loop of the same network on the
same device (masked gradients and weights, ``torch.optim.Adam``) and a batched
PyTorch step of the same B models (parameters stacked along a leading model
axis, ``torch.bmm``, one ``torch.optim.Adam`` over the stacked tensors: Adam is
element-wise, so this is B independent optimisers; fused Adam on CUDA).

Timing: a run of ``--steps`` steps minus a run of ``--base-steps`` steps
(same B, same evaluation points: only the first and the last step), after
an untimed warm-up run, so set-up, evaluation and graph capture cancel; the rate is
``B * (steps - base_steps) / (t_long - t_short)`` (wall clock).  The host CPU
time per model-step (``time.process_time``, all threads) is printed too: on a
shared CPU it is steadier than the wall clock.  Inputs are synthetic
(4,000 training signals of 40 features, 10 classes): the throughput does not
depend on the values.  CuPy and PyTorch are skipped with a message where
they are not usable.

Threads: ``--threads N`` (default 1) pins both libraries before they load:
the BLAS / OpenMP variables (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``) are set before NumPy is imported, threadpoolctl limits
the loaded pools where it is installed, and ``torch.set_num_threads(N)``.
``--repeat R`` (default 3) times every row R times, the rows taking turns
(row 1, row 2, ..., row 1, ...) so that a drift of the machine's speed reaches
every row alike; the table gives min / median / max of the R figures and, for
each sparsesim row with a batched PyTorch row of the same device and B, their
ratio taken repeat by repeat (> 1: sparsesim is ahead): on the CPU the host CPU
times per model-step (PyTorch / sparsesim), on a GPU the throughputs
(sparsesim / PyTorch; a TF32 row is paired with PyTorch's TF32 row).

Usage::

    python benchmarks/bench_training.py
    python benchmarks/bench_training.py --models 1,16 --steps 6 --base-steps 2
    python benchmarks/bench_training.py --backends numpy,cupy --models 1,16,256
    python benchmarks/bench_training.py --backends numpy --models 1,4,16,64 --steps 25 \
        --base-steps 5 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time


def _threads_from_argv(argv) -> int:
    """``--threads N`` read before NumPy loads (the BLAS reads its variables at load)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
    return 1


THREADS = _threads_from_argv(sys.argv[1:])
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread variables)

try:  # noqa: E402
    from threadpoolctl import threadpool_limits
except ImportError:  # the variables above already hold
    threadpool_limits = None

from sparsesim.backend import cupy_available, device_name, get_namespace  # noqa: E402
from sparsesim.kernels.trainer import has_cuda_kernels  # noqa: E402
from sparsesim.nn import init_mlp  # noqa: E402
from sparsesim.nn.optim import Adam  # noqa: E402
from sparsesim.nn.training import TrainData, cuda_graph_support, train  # noqa: E402


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def synthetic_data(xp, dtype, n_train=4000, n_val=500, n_test=1000, n_in=40, n_classes=10):
    rng = np.random.default_rng(0)
    parts = []
    for n in (n_train, n_val, n_test):
        parts.append(xp.asarray(rng.normal(size=(n, n_in)).astype(dtype)))
        parts.append(xp.asarray(rng.integers(0, n_classes, size=n)))
    return TrainData(*parts)


def masks_for(params, density, xp):
    rng = np.random.default_rng(1)
    return [(xp.asarray(rng.random(W.shape) < density), xp.asarray(rng.random(b.shape) < density))
            for W, b in params]


def _sync(xp):
    if xp is not np:
        xp.cuda.Device().synchronize()


def time_trainer(backend, n_models, *, sizes, batch, steps, base_steps, dtype, density,
                 use_graph, fused_adam=None, tf32=False):
    xp = get_namespace(backend)
    data = synthetic_data(xp, dtype)
    params = init_mlp(sizes, n_models, seed=0, backend=backend, dtype=dtype, residual=True)
    masks = masks_for(params, density, xp)
    times, cpu = [], []
    for n_steps in (base_steps, base_steps, steps):   # the first run is an untimed warm-up
        _sync(xp)
        t0, c0 = time.perf_counter(), time.process_time()
        train(params, data, optimizer=Adam(lr=2e-2, fused=fused_adam), steps=n_steps,
              batch_size=batch, eval_every=n_steps, data_seed=0, masks=masks, residual=True,
              use_graph=use_graph, tf32=tf32)
        _sync(xp)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    dt = times[2] - times[1]
    work = n_models * (steps - base_steps)
    return (work / dt if dt > 0 else float("nan"),
            (cpu[2] - cpu[1]) / work * 1e3)


def _rate(run, steps, base_steps, n_models):
    """(model-steps/s, host CPU ms per model-step) of ``run(n)``: ``steps`` minus ``base_steps``
    steps, after an untimed ``run(2)`` warm-up."""
    times, cpu = [], []
    run(2)
    for n in (base_steps, steps):
        t0, c0 = time.perf_counter(), time.process_time()
        run(n)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    dt = times[1] - times[0]
    work = n_models * (steps - base_steps)
    return (work / dt if dt > 0 else float("nan"), (cpu[1] - cpu[0]) / work * 1e3)


def _torch():
    import torch  # noqa: PLC0415

    torch.set_num_threads(THREADS)
    return torch


def time_torch(*, sizes, batch, steps, base_steps, dtype, density, device):
    torch = _torch()

    dev = torch.device(device)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(4000, sizes[0])), dtype=tdtype, device=dev)
    Y = torch.tensor(rng.integers(0, sizes[-1], size=4000), device=dev)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in
                                              zip(sizes[:-1], sizes[1:]))

        def forward(self, x):
            for i, layer in enumerate(self.layers):
                z = layer(x)
                if i == len(self.layers) - 1:
                    return z
                h = torch.relu(z)
                x = h + x if (i >= 1 and z.shape[-1] == x.shape[-1]) else h
            return x

    net = Net().to(device=dev, dtype=tdtype)
    masks = [(torch.rand_like(p) < density).to(tdtype) for p in net.parameters()]
    with torch.no_grad():
        for p, m in zip(net.parameters(), masks):
            p.mul_(m)
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run(n):
        for s in range(n):
            idx = torch.randint(0, 4000, (batch,), device=dev)
            loss = loss_fn(net(X[idx]), Y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p, m in zip(net.parameters(), masks):
                p.grad.mul_(m)
            opt.step()
            with torch.no_grad():
                for p, m in zip(net.parameters(), masks):
                    p.mul_(m)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return _rate(run, steps, base_steps, 1)


def time_torch_batched(n_models, *, sizes, batch, steps, base_steps, dtype, density, device,
                       residual=True, tf32=False):
    """B models as one PyTorch step: stacked weights, ``bmm``, one Adam (rate, CPU ms)."""
    torch = _torch()
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = bool(tf32)

    dev = torch.device(device)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    gen = torch.Generator(device="cpu").manual_seed(0)
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(4000, sizes[0])), dtype=tdtype, device=dev)
    Y = torch.tensor(rng.integers(0, sizes[-1], size=4000), device=dev)
    Ws, bs, masks = [], [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        W = (torch.randn(n_models, a, b, generator=gen) / a ** 0.5).to(dev, tdtype)
        bias = torch.zeros(n_models, 1, b, dtype=tdtype, device=dev)
        mW = (torch.rand(n_models, a, b, generator=gen) < density).to(dev, tdtype)
        mb = (torch.rand(n_models, 1, b, generator=gen) < density).to(dev, tdtype)
        Ws.append((W * mW).requires_grad_())
        bs.append((bias * mb).requires_grad_())
        masks += [mW, mb]
    params = [t for pair in zip(Ws, bs) for t in pair]
    opt = torch.optim.Adam(params, lr=2e-2, fused=dev.type == "cuda")

    def forward(x):
        for i, (W, bias) in enumerate(zip(Ws, bs)):
            z = torch.baddbmm(bias, x, W)
            if i == len(Ws) - 1:
                return z
            h = torch.relu(z)
            x = h + x if (residual and i >= 1 and z.shape[-1] == x.shape[-1]) else h
        return x

    def run(n):
        for _ in range(n):
            idx = torch.randint(0, 4000, (n_models, batch), device=dev)
            logits = forward(X[idx])                                  # (B, batch, classes)
            # the sum over models of each model's mean loss: per-model gradients
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), Y[idx].reshape(-1),
                reduction="sum") / batch
            opt.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for p, m in zip(params, masks):
                    p.grad.mul_(m)
            opt.step()
            with torch.no_grad():
                for p, m in zip(params, masks):
                    p.mul_(m)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return _rate(run, steps, base_steps, n_models)


def profile_step(n_models, *, sizes, batch, dtype, density, steps):
    """Host CPU ms per model-step of each part of a NumPy training step, twice:
    the trainer's in-place form and the fresh-temporaries form it replaced (same bits).

    Parts: minibatch gather, forward (matrix products, bias, ReLU, residual),
    loss head, reverse pass, Adam with the masks (gradient and weight masks are
    two of its fifteen element-wise operations), and the evaluation's forward
    pass per 1000 examples.  ``steps`` steps per part after one warm-up.
    """
    from sparsesim.nn import passes  # noqa: PLC0415
    from sparsesim.nn.mlp import residual_layers  # noqa: PLC0415
    from sparsesim.nn.optim import _adam_plain_, _bcast, float_masks  # noqa: PLC0415
    from sparsesim.nn.training import _split_metrics  # noqa: PLC0415

    data = synthetic_data(np, dtype)
    params = init_mlp(sizes, n_models, seed=0, backend="numpy", dtype=dtype, residual=True)
    pairs = float_masks(masks_for(params, density, np), params, check_values=False)
    res = residual_layers(sizes, True)
    idx = np.random.default_rng(0).integers(0, data.n_train, size=(n_models, batch))
    opt = Adam(lr=2e-2)
    work = [(W * mW, b * mb) for (W, b), (mW, mb) in zip(params, pairs)]
    state = opt.init(work)
    Ws, bs = [W for W, _ in work], [b for _, b in work]
    buf = passes.StepBuffers(np, n_models, batch, sizes, dtype)
    chunk = max(1, (1 << 24) // (n_models * max(sizes)))
    flat = [np.empty(n_models * min(chunk, data.n_train) * max(sizes[1:]), dtype)
            for _ in range(3)]

    def plain_adam(grads):
        step_size, sqrt_bc2 = opt._schedule_(state, None)
        for (W, b), (gW, gb), (mW, mb), (mWb, mbb), (vWb, vbb) in zip(
                work, grads, pairs, state.slots["m"], state.slots["v"]):
            for p, g, mask, m, v in ((W, gW, mW, mWb, vWb), (b, gb, mb, mbb, vbb)):
                _adam_plain_(p, g, m, v, mask, None, _bcast(step_size, p.ndim),
                             _bcast(sqrt_bc2, p.ndim), opt.beta1, opt.beta2, opt.eps)

    out = {}
    for form in ("in place", "temporaries"):
        parts = {}

        def tick(name, t0):
            parts[name] = parts.get(name, 0.0) + time.process_time() - t0
            return time.process_time()

        for k in range(steps + 1):
            if k == 1:
                parts.clear()
            t = time.process_time()
            xb, yb = np.take(data.x_train, idx, axis=0), np.take(data.y_train, idx, axis=0)
            t = tick("gather", t)
            if form == "in place":
                acts, z = passes.forward_pass_(np, Ws, bs, xb, res, buf)
                t = tick("forward", t)
                _, dout, _ = passes.loss_head(np, z, yb, "cross_entropy", 1.0)
                t = tick("loss head", t)
                grads = list(zip(*passes.backward_pass_(np, Ws, acts, dout, res, buf)))
                t = tick("backward", t)
                opt.apply_(work, grads, state, pairs, None)
            else:
                acts, gates, z = passes.forward_pass(Ws, bs, xb, res)
                t = tick("forward", t)
                _, dout, _ = passes.loss_head(np, z, yb, "cross_entropy", 1.0)
                t = tick("loss head", t)
                grads = list(zip(*passes.backward_pass(Ws, acts, gates, dout, res)[:2]))
                t = tick("backward", t)
                plain_adam(grads)
            tick("Adam + masks", t)
        t = time.process_time()
        _split_metrics(work, data.x_train, data.y_train, loss="cross_entropy", temperature=1.0,
                       residual=True, chunk=chunk, flat=flat if form == "in place" else None)
        evaluation = (time.process_time() - t) / n_models / data.n_train * 1e3 * 1e3
        out[form] = {k: v / steps / n_models * 1e3 for k, v in parts.items()}
        out[form]["evaluation (ms per model per 1000 examples)"] = evaluation
    return out


def _stats(values) -> str:
    vals = [v for v in values if v == v]
    if not vals:
        return "nan"
    return (f"{min(vals):.2f} / {statistics.median(vals):.2f} / {max(vals):.2f}"
            if len(vals) > 1 else f"{vals[0]:.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="1,16,256", help="comma-separated batch sizes B")
    ap.add_argument("--backends", default="numpy,cupy")
    ap.add_argument("--widths", default="500,500", help="hidden widths")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--steps", type=int, default=30, help="steps of the long run")
    ap.add_argument("--base-steps", type=int, default=10, help="steps of the short run")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--density", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS / OpenMP / PyTorch threads (set before NumPy loads)")
    ap.add_argument("--repeat", type=int, default=3, help="timings of every row (min/median/max)")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="NumPy only: CPU ms per model-step of each part of the step (in-place "
                         "form vs fresh temporaries) at each B, then exit")
    ap.add_argument("--gpu-variants", default="fused,unfused,tf32",
                    help="CuPy rows besides the graph/plain paths: fused (the trainer's "
                         "kernels, default), unfused (Adam(fused=False): one launch per "
                         "operation), tf32 (fused, float32 products on TF32 tensor cores, "
                         "with a batched PyTorch TF32 row beside it)")
    args = ap.parse_args(argv)
    if args.steps <= args.base_steps:
        ap.error("--steps must exceed --base-steps")
    if args.repeat < 1 or args.threads < 1:
        ap.error("--repeat and --threads must be >= 1")
    sizes = (40, *[int(w) for w in args.widths.split(",") if w], 10)
    dtype = np.dtype(args.dtype).type
    models = [int(m) for m in args.models.split(",")]
    common = dict(sizes=sizes, batch=args.batch, steps=args.steps, base_steps=args.base_steps,
                  dtype=dtype, density=args.density)
    print(f"sparsesim trainer throughput: network {'-'.join(map(str, sizes))} (residual), "
          f"batch {args.batch}, Adam, masks at density {args.density}, {args.dtype}; "
          f"rate = B x ({args.steps} - {args.base_steps}) steps / time difference; "
          f"{args.threads} thread(s) per library, {args.repeat} repeat(s)")
    print(f"cpu: {cpu_model()} ({os.cpu_count()} logical cores); numpy {np.__version__}; "
          f"threadpoolctl {'used' if threadpool_limits else 'absent (environment variables)'}")
    if args.profile:
        print("| B | part | CPU ms per model-step, in place (the trainer) | with fresh "
              "temporaries (before) |")
        print("|---|---|---|---|")
        for B in models:
            prof = profile_step(B, steps=max(2, args.steps - args.base_steps), **{
                k: v for k, v in common.items() if k not in ("steps", "base_steps")})
            for part in prof["in place"]:
                print(f"| {B} | {part} | {prof['in place'][part]:.3f} | "
                      f"{prof['temporaries'][part]:.3f} |", flush=True)
        return 0
    # (name, device, B, kind, timing function); kind pairs a sparsesim row with its
    # batched PyTorch row for the CPU-time ratio
    specs = []
    for backend in args.backends.split(","):
        if backend == "cupy" and not cupy_available():
            print("cupy: skipped (CuPy or a CUDA device is not usable here)")
            continue
        paths = [("plain", False)]
        if backend == "cupy":
            capturable, why = cuda_graph_support(get_namespace("cupy"))
            if capturable:
                paths.insert(0, ("graph", True))
            else:
                print(f"cupy (graph): skipped, a training step cannot be captured: {why}")
        # (row tag, Adam(fused=...), tf32) per variant
        variants = [("", None, False)]
        if backend == "cupy":
            wanted = set(args.gpu_variants.split(","))
            known = {"fused": ("", None, False), "unfused": (", unfused Adam", False, False),
                     "tf32": (", tf32", None, True)}
            variants = [v for name, v in known.items() if name in wanted]
            if "tf32" in wanted and (args.dtype != "float32"
                                     or not has_cuda_kernels(get_namespace("cupy"))):
                print("cupy (tf32): skipped (needs float32 and a CUDA device)")
                variants = [v for v in variants if not v[2]]
        for label, use_graph in paths:
            for tag, fused, tf in variants:
                for B in models:
                    specs.append((f"sparsesim {backend} ({label}{tag})", device_name(backend), B,
                                  ("ours", ("cpu" if backend == "numpy" else "cuda")
                                   + (" tf32" if tf else "")),
                                  lambda backend=backend, B=B, use_graph=use_graph, fused=fused,
                                  tf=tf: time_trainer(backend, B, use_graph=use_graph,
                                                      fused_adam=fused, tf32=tf, **common)))
    if not args.no_torch:
        try:
            torch = _torch()
        except ImportError:
            print("torch: skipped (not importable)")
        else:
            print(f"torch {torch.__version__}: {torch.get_num_threads()} thread(s)")
            devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
            for dev in devices:
                if dev == "cpu" and "numpy" not in args.backends:
                    continue
                if dev == "cuda" and "cupy" not in args.backends:
                    continue
                name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
                specs.append((f"torch {dev} (one model at a time)", name, 1, ("loop", dev),
                              lambda dev=dev: time_torch(device=dev, **common)))
                torch_tf32 = [False]
                if dev == "cuda" and "tf32" in args.gpu_variants.split(",") \
                        and args.dtype == "float32":
                    torch_tf32.append(True)
                for tf in torch_tf32:
                    for B in models:
                        specs.append((f"torch {dev} (batched bmm{', tf32' if tf else ''})", name,
                                      B, ("torch", dev + (" tf32" if tf else "")),
                                      lambda dev=dev, B=B, tf=tf: time_torch_batched(
                                          B, device=dev, tf32=tf, **common)))
    results = {k: [] for k in range(len(specs))}
    limits = threadpool_limits(limits=args.threads) if threadpool_limits else None
    try:
        for r in range(args.repeat):
            for k, (name, dev, B, _, fn) in enumerate(specs):
                rate, cpu_ms = fn()
                results[k].append((rate, cpu_ms))
                print(f"  [{r + 1}/{args.repeat}] {name:<30} B={B:<4} {rate:12.1f} model-steps/s "
                      f"{cpu_ms:8.3f} CPU ms per model-step", flush=True)
    finally:
        if limits is not None:
            limits.unregister()
    torch_rows = {(kind[1], B): k for k, (_, _, B, kind, _) in enumerate(specs)
                  if kind[0] == "torch"}
    print()
    print("| trainer | device | B | model-steps/s (min / median / max) | ms per batched step "
          "(median) | host CPU ms per model-step (min / median / max) | vs batched PyTorch "
          "(CPU: its CPU ms ÷ ours; GPU: our model-steps/s ÷ its; min / median / max) |")
    print("|---|---|---|---|---|---|---|")
    for k, (name, dev, B, kind, _) in enumerate(specs):
        rates = [a for a, _ in results[k]]
        cpus = [c for _, c in results[k]]
        ratio = ""
        peer = torch_rows.get((kind[1], B))
        if kind[0] == "ours" and peer is not None:
            pairs = list(zip(results[k], results[peer]))
            if kind[1] == "cpu":
                ratio = _stats([t / c for (_, c), (_, t) in pairs])
            else:
                ratio = _stats([r / q for (r, _), (q, _) in pairs])
        med = statistics.median(rates)
        print(f"| {name} | {dev} | {B} | {_stats(rates)} | {1000 * B / med:.2f} | "
              f"{_stats(cpus)} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
