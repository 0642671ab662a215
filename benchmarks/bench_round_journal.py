"""The round journal's cost: bytes on disk and seconds per round of an IMP run.

The state of the default lottery sweep (``sims/lottery_mnist1d.toml``:
40-500-500-10 with biases pruned, ``--seeds`` replicates, the lottery and the
rewind chains) is written as it is after each round: round 0 with the dense
run's trained weights (``oneshot``) and its weights at ``rewind_step``
(``rewind``), float32, plus the masks of round 1; every later round the
chains' masks of the next round and the round's rows (10 conditions, one row
per model).  Each file is written as the runner writes it (temporary name,
``fsync``, rename, ``fsync`` of the folder) and read back as a resumed run
reads it (every array checked against its SHA-256).

Usage::

    python benchmarks/bench_round_journal.py               # 4 seeds, 98 rounds
    python benchmarks/bench_round_journal.py --seeds 12 --rounds 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from sparsesim._rounds import RoundRecord
from sparsesim.sweep.journal import RoundJournal

SIZES = (40, 500, 500, 10)
CONDITIONS = 10


def _tree(prefix, n_models, rng, kind):
    out = {}
    for l, (fi, fo) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        if kind == "mask":
            out[f"{prefix}W{l}"] = rng.random((n_models, fi, fo)) < 0.5
            out[f"{prefix}b{l}"] = rng.random((n_models, fo)) < 0.5
        else:
            out[f"{prefix}W{l}"] = rng.standard_normal((n_models, fi, fo)).astype(np.float32)
            out[f"{prefix}b{l}"] = rng.standard_normal((n_models, fo)).astype(np.float32)
    return out


def _rows(n):
    return [{"condition": "lottery", "seed": i, "round": 1, "density": 0.5,
             "target_density": 0.5, "layer_densities": "0.5,0.5,0.5", "test_accuracy": 0.61,
             "test_accuracy_early_stop": 0.6, "early_stop_iter": 900, "train_loss": 0.3,
             "train_accuracy": 0.9, "val_loss": 1.1, "val_accuracy": 0.6,
             "val_accuracy_early_stop": 0.6, "test_loss": 1.2} for i in range(n)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=98)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    S, chains = args.seeds, 2
    cells = [f"cell{i}" for i in range(CONDITIONS * S)]
    with tempfile.TemporaryDirectory() as tmp:
        rj = RoundJournal(Path(tmp) / "rounds")
        write_s, sizes = [], []
        for r in range(args.rounds + 1):
            arrays = _tree("mask_", chains * S, rng, "mask") if r < args.rounds else {}
            if r == 0:
                arrays.update(_tree("dense_", S, rng, "float"))
                arrays.update(_tree("tau_", S, rng, "float"))
            rec = RoundRecord(r, "numpy", {"rows": _rows(S if r == 0 else CONDITIONS * S),
                                           "total": args.rounds + 1, "elapsed_s": 1.0}, arrays)
            t0 = time.perf_counter()
            rj.write("task", cells, rec)
            write_s.append(time.perf_counter() - t0)
            sizes.append(rj.path("task", r).stat().st_size)
        t0 = time.perf_counter()
        state = rj.load("task", cells)
        load_s = time.perf_counter() - t0
        assert state.done == args.rounds + 1
    mb = 1 / 2 ** 20
    print(f"{S} seeds x {chains} chains, 40-500-500-10 (276,010 weights and biases a model)")
    print(f"round 0 file:      {sizes[0] * mb:8.2f} MiB  (masks + dense and rewind weights)")
    print(f"round r file:      {np.median(sizes[1:-1]) * mb:8.2f} MiB  (masks + rows)")
    print(f"all {len(sizes)} rounds:    {sum(sizes) * mb:8.2f} MiB")
    print(f"write a round:     {np.median(write_s) * 1e3:8.1f} ms median, "
          f"{max(write_s) * 1e3:.1f} ms max (fsync-ed)")
    print(f"resume (read all): {load_s:8.2f} s")


if __name__ == "__main__":
    main()
