"""Host synchronisations of the GPU hot paths (gpu-marked).

Under the CPU stand-in for CuPy (``python -m pytest -m gpu`` without a
device) every device-to-host read is counted: ``float()/int()/bool()``,
``.item()/.get()``, boolean-mask indexing, data-dependent output sizes.  On
a real GPU the same blocks run under ``cupyx.allow_synchronize(False)``
(see the ``host_syncs`` fixture in ``tests/conftest.py``).

Stated budgets:

* one training step (gather, forward, backward, optimizer update): **0**;
* one Hessian-vector product with ``check_values=False`` (what the Lanczos
  operator calls): **0** (the default argument validation reads values back);
* one Monte Carlo chunk of the plain (non-fused) path of
  :func:`sparsesim.sim.support_recovery.support_recovery_grid`:
  at most ``1 + 6 T`` for ``T`` thresholds with the full histograms (the
  top-k count, then per threshold hits, FP sum, FP sum of squares and the
  three histograms), ``1 + 4 T`` without them.
"""

import numpy as np
import pytest

from sparsesim.nn import mlp as mlp_mod
from sparsesim.nn import training as train_mod
from sparsesim.nn.mlp import hvp, init_mlp
from sparsesim.nn.optim import SGD, Adam
from sparsesim.nn.training import TrainData, train
from sparsesim.sim import support_recovery as sr

# CuPy only (xp_gpu): these count device-to-host synchronisations, which NumPy has none of.
pytestmark = pytest.mark.gpu


def _problem(cp, B=3, n=96, sizes=(6, 12, 3)):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, sizes[0]))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    a, b = int(0.6 * n), int(0.8 * n)
    data = TrainData(*(cp.asarray(v) for v in (X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:])))
    params = init_mlp(sizes, B, seed=1, backend="cupy", dtype=np.float64)
    masks = [cp.asarray(rng.random(W.shape) < 0.7) for W, _ in params]
    return data, params, masks


@pytest.mark.parametrize("opt", [SGD(lr=0.05, momentum=0.9), Adam(lr=1e-2)], ids=["sgd", "adam"])
def test_no_host_sync_inside_a_training_step(xp_gpu, host_syncs, monkeypatch, opt):
    data, params, masks = _problem(xp_gpu)
    per_step = []
    real_call = train_mod._PlainStep.__call__

    def counted(self):
        with host_syncs() as c:
            real_call(self)
        per_step.append(c.syncs)

    monkeypatch.setattr(train_mod._PlainStep, "__call__", counted)
    train(params, data, masks=masks, optimizer=opt, steps=12, batch_size=16, eval_every=4,
          data_seed=2, start_steps=[0, 3, 0], use_graph=False)
    assert len(per_step) == 12
    assert per_step == [0] * 12


def test_no_host_sync_inside_one_hvp(xp_gpu, host_syncs):
    cp = xp_gpu
    data, params, masks = _problem(cp)
    rng = np.random.default_rng(3)
    vec = [(cp.asarray(rng.normal(size=W.shape)), cp.asarray(rng.normal(size=b.shape)))
           for W, b in params]
    X, y = data.x_train, data.y_train
    hvp(params, X, y, vec, masks, check_values=False)       # warm-up (validation paths)
    with host_syncs() as c:
        out = hvp(params, X, y, vec, masks, check_values=False)
    assert c.syncs == 0
    assert len(out) == len(params) and type(out[0][0]).__module__.startswith("cupy")


@pytest.mark.parametrize("full,d,trials,rows", [(True, 64, 600, 128),
                                                 (False, sr.HISTOGRAM_MAX_UNITS + 1, 24, 8)])
def test_monte_carlo_chunk_sync_budget(xp_gpu, host_syncs, monkeypatch, full, d, trials, rows):
    thresholds = (1.0, 2.0, 2.5)
    T = len(thresholds)
    per_chunk = []
    real_add = sr.engine._Totals.add_magnitudes

    def counted(self, mag, thr):
        with host_syncs() as c:
            real_add(self, mag, thr)
        per_chunk.append(c.syncs)

    monkeypatch.setattr(sr.engine._Totals, "add_magnitudes", counted)
    with host_syncs() as total:
        res = sr.support_recovery_grid(d, 4, thresholds, trials=trials, seed=5,
                                       backend="cupy", method="philox", chunk_elems=d * rows)
    # per chunk: the top-k count, then per threshold 3 integer reads and 1
    # (or, with the full histograms, 3) bincount + read; CuPy's bincount reads
    # 2 values back itself (see the stand-in), so 1 + 12 T or 1 + 6 T in all
    budget = 1 + (12 if full else 6) * T
    assert len(per_chunk) >= 2                      # several chunks were counted
    assert max(per_chunk) <= budget
    # generating the chunks reads nothing back: all syncs are the counting ones
    assert total.syncs == sum(per_chunk)
    assert res[0].trials == trials and len(per_chunk) == -(-trials // rows)
