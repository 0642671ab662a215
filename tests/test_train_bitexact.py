"""The trainer's in-place fast path gives bit-identical results to the reference arithmetic.

Long sweeps compare cells computed before and after a change of the trainer,
so its buffers, in-place updates and blockwise Adam must not move a single bit.
``_reference_train`` below is a frozen copy of the trainer as it was before
those buffers (fresh temporaries everywhere: ``forward_pass`` /
``loss_head`` / ``backward_pass`` of ``sparsesim.nn.passes`` and the
plain-array optimizer updates, copied here so that a later edit of the package
cannot move the reference with it).  The tests compare final weights, every
curve and the rewind snapshots with ``tobytes()``, in float32 and float64,
for Adam (one learning rate, per-model rates) and SGD (plain, momentum), with
and without masks, late starts, MSE and temperatures; and the building blocks
(in-place passes, blockwise Adam) against their twins on random inputs.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim.nn import init_mlp, passes
from sparsesim.nn import optim as _optim
from sparsesim.nn.mlp import mask_pairs, residual_layers
from sparsesim.nn.optim import SGD, Adam
from sparsesim.nn.training import TrainData, data_order, eval_points, train


# --------------------------------------------------------------------------- frozen reference

def _ref_forward(Ws, bs, X, res):
    acts, gates, a = [X], [], X
    for l in range(len(Ws)):
        z = a @ Ws[l] + bs[l][:, None, :]
        if l == len(Ws) - 1:
            return acts, gates, z
        gate = z > 0
        h = z * gate
        if res[l]:
            h = h + a
        gates.append(gate)
        acts.append(h)
        a = h


def _ref_head_grad(z, y, loss, temperature):
    n = z.shape[1]
    if loss == "mse":
        return (z - y) / n
    s = z / temperature if temperature != 1.0 else z
    smax = s.max(axis=2, keepdims=True)
    expo = np.exp(s - smax)
    sumexp = expo.sum(axis=2, keepdims=True)
    onehot = np.arange(z.shape[2])[None, None, :] == y[:, :, None]
    return (expo / sumexp - onehot) / (n * temperature)


def _ref_backward(Ws, acts, gates, dout, res):
    L = len(Ws)
    gW, gb = [None] * L, [None] * L
    delta, g_next = dout, None
    for l in range(L - 1, -1, -1):
        if l < L - 1:
            delta = g_next * gates[l]
        gW[l] = acts[l].swapaxes(-1, -2) @ delta
        gb[l] = delta.sum(axis=1)
        if l > 0:
            g_a = delta @ Ws[l].swapaxes(-1, -2)
            if res[l]:
                g_a = g_a + g_next
            g_next = g_a
    return gW, gb


def _bc(a, nd):
    return a.reshape(a.shape + (1,) * (nd - 1))


def _ref_adam(opt, params, grads, state, pairs, active):
    state.step += 1 if active is None else active.astype(state.step.dtype)
    t = np.maximum(state.step, 1)
    step_size = state.lr / (1 - np.power(opt.beta1, t))
    sqrt_bc2 = np.sqrt(1 - np.power(opt.beta2, t))
    b1, b2, eps = opt.beta1, opt.beta2, opt.eps
    for (W, b), (gW, gb), (mW, mb), (mWb, mbb), (vWb, vbb) in zip(
            params, grads, pairs, state.slots["m"], state.slots["v"]):
        for p, g, mask, m, v in ((W, gW, mW, mWb, vWb), (b, gb, mb, mbb, vbb)):
            nd = p.ndim
            g = g if mask is None else g * mask
            new_m = b1 * m + (1 - b1) * g
            new_v = b2 * v + (1 - b2) * (g * g)
            new_p = p - _bc(step_size, nd) * (new_m / (np.sqrt(new_v) / _bc(sqrt_bc2, nd) + eps))
            if active is None:
                m[...], v[...], p[...] = new_m, new_v, new_p
            else:
                on = _bc(active, nd) > 0
                m[...] = np.where(on, new_m, m)
                v[...] = np.where(on, new_v, v)
                p[...] = np.where(on, new_p, p)
            if mask is not None:
                p *= mask


def _ref_sgd(opt, params, grads, state, pairs, active):
    state.step += 1 if active is None else active.astype(state.step.dtype)
    bufs = state.slots.get("momentum")
    for l, ((W, b), (gW, gb), (mW, mb)) in enumerate(zip(params, grads, pairs)):
        for i, (p, g, m) in enumerate(((W, gW, mW), (b, gb, mb))):
            g = g if m is None else g * m
            if bufs is not None:
                buf = bufs[l][i]
                new = opt.momentum * buf + g
                buf[...] = new if active is None else np.where(_bc(active, p.ndim) > 0, new, buf)
                g = buf
            if active is None:
                p -= _bc(state.lr, p.ndim) * g
            else:
                new_p = p - _bc(state.lr, p.ndim) * g
                p[...] = np.where(_bc(active, p.ndim) > 0, new_p, p)
            if m is not None:
                p *= m


def _ref_metrics(params, x, y, res, loss, temperature, chunk):
    B, dtype = params[0][0].shape[0], params[0][0].dtype
    Ws, bs = [W for W, _ in params], [b for _, b in params]
    loss_sum, correct = np.zeros(B, dtype), np.zeros(B, dtype)
    for c0 in range(0, x.shape[0], chunk):
        xc, yc = x[c0:c0 + chunk], y[c0:c0 + chunk]
        z = _ref_forward(Ws, bs, xc, res)[2]
        if loss == "cross_entropy":
            s = z / temperature if temperature != 1.0 else z
            smax = s.max(axis=2, keepdims=True)
            lse = np.log(np.exp(s - smax).sum(axis=2)) + smax[:, :, 0]
            s_y = np.take_along_axis(s, np.broadcast_to(yc[None, :, None], (B, yc.shape[0], 1)),
                                     axis=2)[:, :, 0]
            loss_sum += (lse - s_y).sum(axis=1)
            correct += (z.argmax(axis=2) == yc[None, :]).sum(axis=1).astype(dtype)
        else:
            d = z - yc[None]
            loss_sum += 0.5 * (d * d).sum(axis=(1, 2))
    n = x.shape[0]
    acc = correct / n if loss == "cross_entropy" else np.full(B, np.nan, dtype)
    return loss_sum / n, acc


def _ref_train(params, data, *, optimizer, steps, batch_size, data_seed, eval_every, masks,
               loss, temperature, residual, start_steps, rewind_steps, batch_order):
    B, dtype = params[0][0].shape[0], params[0][0].dtype
    sizes = (params[0][0].shape[1],) + tuple(W.shape[2] for W, _ in params)
    res = residual_layers(sizes, residual)
    pairs = [(None if a is None else a.astype(dtype), None if c is None else c.astype(dtype))
             for a, c in (mask_pairs(masks, params) if masks is not None
                          else [(None, None)] * len(params))]
    state = optimizer.init(params)
    work = [(W.copy(), b.copy()) for W, b in params]
    for (W, b), (mW, mb) in zip(work, pairs):
        if mW is not None:
            W *= mW
        if mb is not None:
            b *= mb
    starts = np.zeros(B, np.int64) if start_steps is None else np.asarray(start_steps)
    gated = bool(starts.max() > 0)
    order = data_order(data_seed, B, data.n_train, batch_size, steps, batch_order)
    points = eval_points(steps, eval_every)
    chunk = max(1, (1 << 24) // (B * max(sizes)))
    curves = np.full((6, B, len(points)), np.nan, dtype)
    snaps = {}
    update = _ref_adam if isinstance(optimizer, Adam) else _ref_sgd

    def evaluate(j):
        for k, (x, y) in enumerate(data.splits().values()):
            if x.shape[0]:
                curves[2 * k, :, j], curves[2 * k + 1, :, j] = _ref_metrics(
                    work, x, y, res, loss, temperature, chunk)

    if 0 in rewind_steps:
        snaps[0] = [(W.copy(), b.copy()) for W, b in work]
    evaluate(0)
    for s in range(steps):
        idx = order[s]
        xb, yb = data.x_train[idx], data.y_train[idx]
        Ws, bs = [W for W, _ in work], [b for _, b in work]
        acts, gates, z = _ref_forward(Ws, bs, xb, res)
        gW, gb = _ref_backward(Ws, acts, gates, _ref_head_grad(z, yb, loss, temperature), res)
        active = (s >= starts).astype(dtype) if gated else None
        update(optimizer, work, list(zip(gW, gb)), state, pairs, active)
        if s + 1 in rewind_steps and s + 1 not in snaps:
            snaps[s + 1] = [(W.copy(), b.copy()) for W, b in work]
        if s + 1 in points:
            evaluate(int(np.searchsorted(points, s + 1)))
    return work, curves, snaps


# --------------------------------------------------------------------------- problems

def _problem(dtype, sizes, loss, seed, n=(90, 20, 30)):
    rng = np.random.default_rng(seed)
    parts = []
    for k in n:
        parts.append(rng.normal(size=(k, sizes[0])).astype(dtype))
        parts.append(rng.normal(size=(k, sizes[-1])).astype(dtype) if loss == "mse"
                     else rng.integers(0, sizes[-1], size=k))
    return TrainData(*parts)


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


CASES = [
    # dtype, sizes, residual, optimizer, masks, start steps, loss, temperature
    (np.float32, (6, 12, 12, 4), True, "adam", "Wb", None, "cross_entropy", 1.0),
    (np.float64, (6, 12, 12, 4), True, "adam", "W", (0, 3, 7), "cross_entropy", 2.0),
    (np.float32, (5, 9, 3), False, "adam_lr", None, None, "mse", 1.0),
    (np.float64, (5, 7, 7, 7, 3), (1, 2), "adam_lr", "Wb", (2, 0, 5), "cross_entropy", 1.0),
    (np.float32, (6, 12, 12, 4), True, "sgd", "W", (0, 0, 4), "cross_entropy", 1.0),
    (np.float64, (6, 12, 12, 4), True, "sgdm", "Wb", None, "mse", 1.0),
    (np.float32, (8, 190, 190, 3), True, "adam", "Wb", (0, 5, 1), "cross_entropy", 1.0),
]


def _optimizer(name, dtype):
    return {"adam": Adam(lr=2e-2),
            "adam_lr": Adam(lr=np.array([1e-2, 3e-2, 5e-3], dtype)),
            "sgd": SGD(lr=0.1),
            "sgdm": SGD(lr=np.array([0.05, 0.1, 0.02]), momentum=0.9)}[name]


def _run_both(case, seed=0, **extra):
    dtype, sizes, residual, opt, masked, starts, loss, temperature = case
    rng = np.random.default_rng(seed + 100)
    data = _problem(dtype, sizes, loss, seed)
    params = init_mlp(sizes, 3, seed=seed, backend="numpy", dtype=dtype, residual=residual)
    masks = None
    if masked == "W":
        masks = [rng.random(W.shape) < 0.5 for W, _ in params]
    elif masked == "Wb":
        masks = [(rng.random(W.shape) < 0.3, rng.random(b.shape) < 0.7) for W, b in params]
    kw = dict(steps=13, batch_size=16, data_seed=seed + 7, eval_every=5, masks=masks, loss=loss,
              temperature=temperature, residual=residual, start_steps=starts,
              rewind_steps=(0, 4), batch_order=extra.pop("batch_order", "shuffled"))
    got = train(params, data, optimizer=_optimizer(opt, dtype), **kw)
    work, curves, snaps = _ref_train(params, data, optimizer=_optimizer(opt, dtype), **kw)
    return got, work, curves, snaps


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}-{c[3]}-{len(c[1])}l")
def test_trainer_is_bit_identical_to_the_reference_arithmetic(case):
    got, work, curves, snaps = _run_both(case)
    for (W, b), (rW, rb) in zip(got.params, work):
        assert _same(W, rW) and _same(b, rb)
    names = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
             "test_accuracy")
    for k, name in enumerate(names):
        ref = curves[k].astype(np.float64)
        before = got.eval_steps[None, :] < got.start_steps[:, None]
        ref[before] = np.nan
        assert _same(getattr(got, name), ref), name
    for tau in (0, 4):
        for (W, b), (rW, rb) in zip(got.rewind_params[tau], snaps[tau]):
            assert _same(W, rW) and _same(b, rb)
    # the run trained something (a frozen copy would pass the comparison too)
    assert any(not np.array_equal(W, W0) for (W, _), (W0, _) in
               zip(got.params, got.rewind_params[0]))


def test_blockwise_adam_with_tiny_blocks_is_bit_identical(monkeypatch):
    """Blocks smaller than a model's tensor (column slices) and than a row group."""
    for block in (7, 64):
        monkeypatch.setattr(_optim, "ADAM_BLOCK", block)
        got, work, _, _ = _run_both(CASES[1], seed=3)
        for (W, b), (rW, rb) in zip(got.params, work):
            assert _same(W, rW) and _same(b, rb)


def test_sequential_order_is_bit_identical():
    got, work, _, _ = _run_both(CASES[0], seed=5, batch_order="sequential")
    for (W, b), (rW, rb) in zip(got.params, work):
        assert _same(W, rW) and _same(b, rb)


# --------------------------------------------------------------------------- building blocks

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), dtype=st.sampled_from([np.float32, np.float64]),
       n_models=st.integers(1, 5), n=st.integers(1, 40), block=st.integers(1, 300),
       masked=st.booleans(), gating=st.sampled_from(["none", "random", "all_off"]))
def test_inplace_adam_equals_its_plain_twin(seed, dtype, n_models, n, block, masked, gating):
    rng = np.random.default_rng(seed)
    shape = (n_models, n, 3)
    p, g = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    m = rng.normal(size=shape).astype(dtype)
    v = rng.random(shape).astype(dtype)
    mask = (rng.random(shape) < 0.5).astype(dtype) if masked else None
    active = {"none": None, "random": (rng.random(n_models) < 0.5).astype(dtype),
              "all_off": np.zeros(n_models, dtype)}[gating]
    step_size = rng.random(n_models).astype(dtype) / 10
    sqrt_bc2 = rng.random(n_models).astype(dtype) + np.asarray(0.1, dtype)
    ref = [a.copy() for a in (p, m, v)]
    g0 = g.copy()
    _optim._adam_plain_(*ref[:1], g, *ref[1:], mask,
                        None if active is None else active[:, None, None],
                        step_size[:, None, None], sqrt_bc2[:, None, None], 0.9, 0.999, 1e-8)
    _optim._adam_inplace_(p, g, m, v, mask, active, step_size, sqrt_bc2, 0.9, 0.999, 1e-8,
                          block=block)
    assert all(_same(a, r) for a, r in zip((p, m, v), ref))
    assert _same(g, g0)                          # the gradient is not modified


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), dtype=st.sampled_from([np.float32, np.float64]),
       n_models=st.integers(1, 4), n=st.integers(1, 12),
       sizes=st.lists(st.integers(1, 9), min_size=2, max_size=5),
       residual=st.booleans(), loss=st.sampled_from(["cross_entropy", "mse"]))
def test_inplace_passes_equal_the_reference_passes(seed, dtype, n_models, n, sizes, residual,
                                                   loss):
    rng = np.random.default_rng(seed)
    sizes = tuple(sizes)
    res = residual_layers(sizes, residual)
    Ws = [rng.normal(size=(n_models, a, b)).astype(dtype) for a, b in zip(sizes, sizes[1:])]
    bs = [rng.normal(size=(n_models, b)).astype(dtype) for b in sizes[1:]]
    X = rng.normal(size=(n_models, n, sizes[0])).astype(dtype)
    acts, gates, z = passes.forward_pass(Ws, bs, X, res)
    y = (rng.integers(0, sizes[-1], size=(n_models, n)) if loss == "cross_entropy"
         else rng.normal(size=z.shape).astype(dtype))
    _, dout, _ = passes.loss_head(np, z, y, loss, 1.0)
    gW, gb, _ = passes.backward_pass(Ws, acts, gates, dout, res)
    buf = passes.StepBuffers(np, n_models, n, sizes, dtype)
    acts2, z2 = passes.forward_pass_(np, Ws, bs, X, res, buf)
    assert _same(z2, z) and all(_same(a, b) for a, b in zip(acts2, acts))
    gW2, gb2 = passes.backward_pass_(np, Ws, acts2, dout, res, buf)
    assert all(_same(a, b) for a, b in zip(gW2, gW)) and all(_same(a, b) for a, b in zip(gb2, gb))
    flat = [np.empty(n_models * n * max(sizes[1:]) + 5, dtype) for _ in range(3)]
    assert _same(passes.logits_(np, Ws, bs, X[0], res, flat),
                 passes.forward_pass(Ws, bs, X[0], res)[2])
