"""Batched trainer and optimizers (sparsesim.nn.training, sparsesim.nn.optim).

Every test uses tiny networks in float64 on NumPy; the GPU tests (marked
``gpu``) compare the CUDA-graph path and the fused Adam kernel with the plain
reference path on CuPy (needing a device by nature), and the trainer runs on NumPy
and on CuPy (``@both_backends``) against NumPy float64 references.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends import backend_of, both_backends
from sparsesim.backend import to_numpy
from sparsesim.nn import init_mlp, loss_and_grad, model_seeds
from sparsesim.nn.optim import SGD, Adam, OptState, make_optimizer
from sparsesim.nn.training import (TrainData, TrainResult, data_order, early_stopping,
                                eval_points, train)

SIZES = (6, 10, 10, 3)


def _data(seed=0, n=160, n_in=6, n_classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    y = ((X[:, 0] > 0).astype(int) + (X[:, 1] * X[:, 2] > 0.3)).astype(np.int64) % n_classes
    a, b = int(0.6 * n), int(0.8 * n)
    return TrainData(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:])


def _masks(B, seed=1, bias=True):
    rng = np.random.default_rng(seed)
    m0 = rng.random((B, 6, 10)) < 0.5
    m1 = rng.random((B, 10, 10)) < 0.4
    m1b = rng.random((B, 10)) < 0.6
    return [m0, (m1, m1b) if bias else m1, None]


def _params(B, seed=3):
    return init_mlp(SIZES, B, seed=seed, backend="numpy", dtype=np.float64, residual=True)


OPTIMIZERS = [SGD(lr=0.05), SGD(lr=0.05, momentum=0.9), Adam(lr=1e-2)]


# --------------------------------------------------------------------------- masks

@pytest.mark.parametrize("opt", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_masked_weights_stay_exactly_zero(opt):
    """Falsified by any pruned weight or bias that is not exactly 0 after training
    (the starting weights are non-zero there, so the trainer must mask them)."""
    B = 3
    params = _params(B)
    params = [(W, b + 0.1) for W, b in params]      # non-zero biases too
    masks = _masks(B)
    res = train(params, _data(), optimizer=opt, steps=25, batch_size=16, eval_every=5,
                data_seed=4, masks=masks, residual=True)
    W0, _ = res.params[0]
    W1, b1 = res.params[1]
    assert np.all(W0[~masks[0]] == 0)
    assert np.all(W1[~masks[1][0]] == 0)
    assert np.all(b1[~masks[1][1]] == 0)
    # the kept weights did move (the test is not vacuous)
    assert np.any(W0[masks[0]] != params[0][0][masks[0]])
    # the caller's parameters are untouched
    assert np.any(params[0][0][~masks[0]] != 0)


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_optimizer_state_stays_zero_on_pruned_entries(opt):
    """Zeroed gradients keep momentum / Adam moments of pruned weights at exactly 0
    even when the gradient is large there; falsified by a non-zero buffer entry."""
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 3)))]
    mask = rng.random((2, 4, 3)) < 0.5
    state = opt.init(params)
    for _ in range(4):
        grads = [(rng.normal(size=(2, 4, 3)) * 10, rng.normal(size=(2, 3)))]
        opt.step_(params, grads, state, masks=[mask])
        assert np.all(params[0][0][~mask] == 0)
    for bufs in state.slots.values():
        assert np.all(bufs[0][0][~mask] == 0)


# --------------------------------------------------------------------------- Adam / SGD reference

def _adam_reference(p, g, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Textbook Adam (Kingma & Ba, Algorithm 1) in float64."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_steps=st.integers(1, 6))
def test_adam_matches_reference_step_by_step(seed, n_steps):
    """Per-model lr, per-model masks: every step's parameters equal the textbook
    update to 1e-12 relative (the two differ only by the placement of the bias
    corrections, a few ulps)."""
    rng = np.random.default_rng(seed)
    B = 3
    lr = rng.uniform(1e-3, 1e-1, size=B)
    params = [(rng.normal(size=(B, 4, 5)), rng.normal(size=(B, 5)))]
    mask = rng.random((B, 4, 5)) < 0.7
    params[0][0][...] *= mask
    ref_p, ref_b = params[0][0].copy(), params[0][1].copy()
    mW = np.zeros_like(ref_p); vW = np.zeros_like(ref_p)
    mb = np.zeros_like(ref_b); vb = np.zeros_like(ref_b)
    opt = Adam(lr=lr)
    state = opt.init(params)
    for t in range(1, n_steps + 1):
        gW, gb = rng.normal(size=(B, 4, 5)), rng.normal(size=(B, 5))
        opt.step_(params, [(gW, gb)], state, masks=[mask])
        ref_p, mW, vW = _adam_reference(ref_p, gW * mask, mW, vW, t, lr[:, None, None])
        ref_p *= mask
        ref_b, mb, vb = _adam_reference(ref_b, gb, mb, vb, t, lr[:, None])
        np.testing.assert_allclose(params[0][0], ref_p, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(params[0][1], ref_b, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state.slots["v"][0][0], vW, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(state.step, np.full(B, n_steps, float))


def test_functional_step_leaves_inputs_untouched_and_equals_in_place():
    """step() (functional) == step_() (in place); falsified if step() mutates its input."""
    rng = np.random.default_rng(1)
    params = [(rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 2)))]
    grads = [(rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 2)))]
    for opt in (Adam(lr=0.1), SGD(lr=0.1, momentum=0.5)):
        before = [(W.copy(), b.copy()) for W, b in params]
        state = opt.init(params)
        new, new_state = opt.step(params, grads, state)
        np.testing.assert_array_equal(params[0][0], before[0][0])
        assert float(state.step.sum()) == 0.0
        inplace = [(W.copy(), b.copy()) for W, b in params]
        s2 = opt.init(inplace)
        opt.step_(inplace, grads, s2)
        np.testing.assert_array_equal(new[0][0], inplace[0][0])
        np.testing.assert_array_equal(new_state.step, s2.step)


def test_active_gating_freezes_models():
    """A model with active = 0 keeps parameters, moments and step count unchanged."""
    rng = np.random.default_rng(2)
    params = [(rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 2)))]
    frozen = params[0][0][1].copy()
    for opt in (Adam(lr=0.1), SGD(lr=0.1, momentum=0.5)):
        p = [(params[0][0].copy(), params[0][1].copy())]
        state = opt.init(p)
        grads = [(rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 2)))]
        opt.step_(p, grads, state, active=np.array([1.0, 0.0]))
        np.testing.assert_array_equal(p[0][0][1], frozen)
        assert np.any(p[0][0][0] != params[0][0][0])
        assert state.step.tolist() == [1.0, 0.0]
        for bufs in state.slots.values():
            assert np.all(bufs[0][0][1] == 0)


def _reference_training(params, data, opt_name, lr, steps, batch_size, data_seed, masks,
                        starts, momentum=0.0, batch_order="shuffled"):
    """A straightforward loop: one model, loss_and_grad, textbook Adam / SGD."""
    B = params[0][0].shape[0]
    idx = data_order(data_seed, B, data.n_train, batch_size, steps, batch_order=batch_order)
    out = []
    for i in range(B):
        p = [(W[i].copy(), b[i].copy()) for W, b in params]
        mk = [(None if m is None else (m[0][i] if isinstance(m, tuple) else m[i]),
               m[1][i] if isinstance(m, tuple) else None) for m in masks]
        for (W, b), (mW, mb) in zip(p, mk):
            if mW is not None:
                W *= mW
            if mb is not None:
                b *= mb
        mom = [(np.zeros_like(W), np.zeros_like(b)) for W, b in p]
        sec = [(np.zeros_like(W), np.zeros_like(b)) for W, b in p]
        t = 0
        for s in range(starts[i], steps):
            xb, yb = data.x_train[idx[s, i]], data.y_train[idx[s, i]]
            _, g = loss_and_grad([(W[None], b[None]) for W, b in p], xb, yb, residual=True)
            t += 1
            for l in range(len(p)):
                new = []
                for part in range(2):
                    mask = mk[l][part]
                    gg = g[l][part][0] * (1 if mask is None else mask)
                    if opt_name == "adam":
                        val, m1, m2 = _adam_reference(p[l][part], gg, mom[l][part], sec[l][part],
                                                      t, lr[i])
                        mom[l] = tuple(m1 if q == part else mom[l][q] for q in range(2))
                        sec[l] = tuple(m2 if q == part else sec[l][q] for q in range(2))
                    else:
                        buf = momentum * mom[l][part] + gg
                        mom[l] = tuple(buf if q == part else mom[l][q] for q in range(2))
                        val = p[l][part] - lr[i] * buf
                    new.append(val * (1 if mask is None else mask))
                p[l] = tuple(new)
        out.append(p)
    return out


@pytest.mark.parametrize("opt_name,momentum", [("adam", 0.0), ("sgd", 0.9)])
def test_trainer_matches_straightforward_loop(opt_name, momentum):
    """End to end: B models (per-model lr, masks, one late start) trained together equal
    a plain per-model loop over the same data order with the textbook update."""
    B, steps = 3, 12
    data = _data()
    params = _params(B)
    masks = _masks(B)
    lr = np.array([1e-2, 3e-2, 5e-3]) if opt_name == "adam" else np.array([0.05, 0.02, 0.1])
    starts = np.array([0, 4, 0])
    opt = make_optimizer(opt_name, lr, momentum=momentum)
    res = train(params, data, optimizer=opt, steps=steps, batch_size=16, eval_every=4,
                data_seed=9, masks=masks, residual=True, start_steps=starts)
    ref = _reference_training(params, data, opt_name, lr, steps, 16, 9, masks, starts,
                              momentum=momentum)
    for i in range(B):
        for l in range(len(SIZES) - 1):
            np.testing.assert_allclose(res.params[l][0][i], ref[i][l][0], rtol=1e-10,
                                       atol=1e-12)
            np.testing.assert_allclose(res.params[l][1][i], ref[i][l][1], rtol=1e-10,
                                       atol=1e-12)


# --------------------------------------------------------------------------- batching, seeds

def test_batched_equals_one_at_a_time():
    """B models together == each model alone (its own lr, mask, start and data seed),
    float64, to 1e-12; falsified by any coupling between the models of a batch."""
    B = 3
    data = _data()
    params = _params(B)
    masks = _masks(B)
    lr = np.array([1e-3, 1e-2, 3e-2])
    starts = np.array([0, 5, 0])
    seeds = model_seeds(5, B)
    kw = dict(steps=20, batch_size=16, eval_every=5, residual=True)
    res = train(params, data, optimizer=Adam(lr=lr), data_seed=seeds, masks=masks,
                start_steps=starts, rewind_steps=[3], **kw)
    for i in range(B):
        sl = slice(i, i + 1)
        pi = [(W[sl], b[sl]) for W, b in params]
        mi = [masks[0][sl], (masks[1][0][sl], masks[1][1][sl]), None]
        alone = train(pi, data, optimizer=Adam(lr=lr[sl]), data_seed=[seeds[i]], masks=mi,
                      start_steps=starts[sl], rewind_steps=[3], **kw)
        for (a, c), (a1, c1) in zip(res.params, alone.params):
            np.testing.assert_allclose(a[i], a1[0], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(c[i], c1[0], rtol=1e-12, atol=1e-14)
        for name in ("train_loss", "val_loss", "val_accuracy", "test_accuracy"):
            np.testing.assert_allclose(getattr(res, name)[i], getattr(alone, name)[0],
                                       rtol=1e-12, atol=1e-14, equal_nan=True)
        assert res.early_stop_iter[i] == alone.early_stop_iter[0]
        np.testing.assert_allclose(res.rewind_params[3][0][0][i], alone.rewind_params[3][0][0][0],
                                   rtol=1e-12, atol=1e-14)


def test_same_seeds_reproduce_and_data_seed_matters():
    """Identical seeds give bit-identical results; another data seed (same init) differs."""
    data = _data()
    params = _params(2)
    kw = dict(optimizer=Adam(lr=1e-2), steps=15, batch_size=16, eval_every=5, residual=True)
    a = train(params, data, data_seed=1, **kw)
    b = train(params, data, data_seed=1, **kw)
    c = train(params, data, data_seed=2, **kw)
    for (Wa, ba), (Wb, bb) in zip(a.params, b.params):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    np.testing.assert_array_equal(a.val_loss, b.val_loss)
    assert np.any(a.params[0][0] != c.params[0][0])


def test_index_upload_in_segments_changes_nothing(monkeypatch):
    """Uploading the minibatch indices in small segments (2 steps) instead of one
    evaluation window gives bit-identical training."""
    import sparsesim.nn.training as train_mod
    data = _data()
    kw = dict(optimizer=Adam(lr=1e-2), steps=13, batch_size=16, eval_every=5, data_seed=3,
              residual=True, start_steps=[0, 4])
    whole = train(_params(2), data, **kw)
    monkeypatch.setattr(train_mod, "MAX_ORDER_ENTRIES", 2 * 2 * 16)
    parts = train(_params(2), data, **kw)
    for (a, b), (c, d) in zip(whole.params, parts.params):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    np.testing.assert_array_equal(whole.val_loss, parts.val_loss)


def test_data_order_is_per_model_epochs():
    """Each model's stream is consecutive permutations of the training set, and model i's
    stream does not depend on the batch size B."""
    n, batch = 12, 4
    idx = data_order(7, 3, n, batch, 9)                      # 36 indices = 3 epochs
    for i in range(3):
        stream = idx[:, i].ravel()
        for e in range(3):
            assert sorted(stream[e * n:(e + 1) * n].tolist()) == list(range(n))
    alone = data_order([model_seeds(7, 3)[2]], 1, n, batch, 9)
    np.testing.assert_array_equal(alone[:, 0], idx[:, 2])
    assert not np.array_equal(idx[:, 0], idx[:, 1])


# --------------------------------------------------------------------------- early stopping, curves

def test_early_stop_is_argmin_of_validation_curve():
    """early_stop_iter = eval step of the first minimum of the validation-loss curve; the
    early-stop test accuracy is read at that point; points before a late start are NaN."""
    data = _data()
    res = train(_params(3), data, optimizer=Adam(lr=5e-2), steps=40, batch_size=16,
                eval_every=5, data_seed=3, residual=True, start_steps=[0, 0, 10])
    assert isinstance(res, TrainResult)
    np.testing.assert_array_equal(res.eval_steps, eval_points(40, 5))
    for i in range(3):
        v = np.where(np.isnan(res.val_loss[i]), np.inf, res.val_loss[i])
        j = int(np.argmin(v))
        assert res.early_stop_iter[i] == res.eval_steps[j]
        assert res.early_stop_test_accuracy[i] == res.test_accuracy[i, j]
        assert res.final_test_accuracy[i] == res.test_accuracy[i, -1]
    assert np.all(np.isnan(res.val_loss[2, res.eval_steps < 10]))
    assert np.all(np.isfinite(res.val_loss[2, res.eval_steps >= 10]))
    assert res.early_stop_iter[2] >= 10


def test_early_stopping_function_ties_nan_and_start():
    v = np.array([[2.0, 1.0, 1.0, 3.0], [np.nan, 4.0, np.nan, 5.0], [0.5, 2.0, 1.0, 1.5]])
    steps = np.array([0, 10, 20, 30])
    assert early_stopping(v, steps).tolist() == [1, 1, 0]
    assert early_stopping(v, steps, np.array([0, 0, 15])).tolist() == [1, 1, 2]


def test_curves_are_consistent_with_direct_evaluation():
    """The last curve point equals the loss / accuracy of the returned parameters."""
    from sparsesim.nn import accuracy, loss_value
    data = _data()
    res = train(_params(2), data, optimizer=Adam(lr=1e-2), steps=10, batch_size=16,
                eval_every=5, data_seed=0, residual=True, eval_chunk=7)
    lv = loss_value(res.params, data.x_val, data.y_val, residual=True)
    acc = accuracy(res.params, data.x_test, data.y_test, residual=True)
    np.testing.assert_allclose(res.val_loss[:, -1], lv, rtol=1e-12)
    np.testing.assert_allclose(res.test_accuracy[:, -1], acc, rtol=0, atol=1e-15)


def test_rewind_snapshot_equals_shorter_run():
    """params after tau steps (snapshot) == the final params of a run of tau steps."""
    data = _data()
    params = _params(2)
    kw = dict(optimizer=Adam(lr=1e-2), batch_size=16, data_seed=6, residual=True)
    long = train(params, data, steps=20, eval_every=7, rewind_steps=[0, 6, 20], **kw)
    short = train(params, data, steps=6, eval_every=3, **kw)
    for (a, b), (c, d) in zip(long.rewind_params[6], short.params):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    np.testing.assert_array_equal(long.rewind_params[0][0][0], params[0][0])
    np.testing.assert_array_equal(long.rewind_params[20][0][0], long.params[0][0])


def test_mse_loss_training_runs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6))
    Y = X[:, :3] * 0.5
    data = TrainData(X[:40], Y[:40], X[40:50], Y[40:50], X[50:], Y[50:])
    res = train(_params(2), data, optimizer=Adam(lr=1e-2), steps=30, batch_size=10,
                eval_every=10, data_seed=0, residual=True, loss="mse")
    assert np.all(np.isnan(res.test_accuracy))
    assert np.all(res.val_loss[:, -1] < res.val_loss[:, 0])


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs,err,match", [
    (dict(batch_size=1000), ValueError, "batch_size"),
    (dict(rewind_steps=[50]), ValueError, "rewind_steps"),
    (dict(rewind_steps=5), TypeError, "rewind_steps"),
    (dict(start_steps=[0, 20]), ValueError, "start_steps"),
    (dict(start_steps=[0]), ValueError, "start_steps"),
    (dict(steps=0), ValueError, "steps"),
    (dict(eval_every=0), ValueError, "eval_every"),
    (dict(optimizer="adam"), TypeError, "optimizer"),
    (dict(optimizer=Adam(lr=np.array([0.1, 0.1, 0.1]))), ValueError, "lr"),
    (dict(data_seed=[1, 2, 3]), ValueError, "data_seed"),
    (dict(masks=[np.ones((2, 6, 9), bool), None, None]), ValueError, "masks"),
    (dict(use_graph=True), ValueError, "use_graph"),
])
def test_bad_arguments_raise_before_training(kwargs, err, match):
    args = dict(optimizer=Adam(lr=1e-2), steps=20, batch_size=16, eval_every=5, data_seed=0,
                residual=True)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        train(_params(2), _data(), **args)


def test_bad_data_raises():
    d = _data()
    with pytest.raises(ValueError, match="x_val must have the 5 features of x_train"):
        TrainData(d.x_train[:, :5], d.y_train, d.x_val, d.y_val, d.x_test, d.y_test)
    with pytest.raises(ValueError, match="y_val"):
        TrainData(d.x_train, d.y_train, d.x_val, d.y_val[:-1], d.x_test, d.y_test)
    with pytest.raises(ValueError, match="x_test"):
        TrainData(d.x_train, d.y_train, d.x_val, d.y_val, d.x_test * np.nan, d.y_test)
    narrow = TrainData(d.x_train[:, :5], d.y_train, d.x_val[:, :5], d.y_val, d.x_test[:, :5],
                       d.y_test)
    with pytest.raises(ValueError, match="n_in=6"):
        train(_params(1), narrow, optimizer=Adam(lr=1e-2), steps=5, batch_size=4, data_seed=0)
    bad_labels = TrainData(d.x_train, d.y_train + 5, d.x_val, d.y_val, d.x_test, d.y_test)
    with pytest.raises(ValueError, match="y_train"):
        train(_params(1), bad_labels, optimizer=Adam(lr=1e-2), steps=5, batch_size=4,
              data_seed=0)
    with pytest.raises(TypeError, match="TrainData"):
        train(_params(1), {"x": 1}, optimizer=Adam(lr=1e-2), steps=5, batch_size=4, data_seed=0)


def test_bad_optimizer_hyperparameters():
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=0.0)
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=np.array([0.1, -0.1]))
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="beta2"):
        Adam(lr=0.1, beta2=1.0)
    with pytest.raises(ValueError, match="momentum"):
        make_optimizer("adam", 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="fused"):
        Adam(lr=0.1, fused=True).step_([(np.ones((1, 2, 2)), np.ones((1, 2)))],
                                       [(np.ones((1, 2, 2)), np.ones((1, 2)))],
                                       Adam(lr=0.1).init([(np.ones((1, 2, 2)), np.ones((1, 2)))]))
    opt = Adam(lr=0.1)
    p = [(np.ones((1, 2, 2)), np.ones((1, 2)))]
    with pytest.raises(ValueError, match="grads"):
        opt.step_(p, [(np.ones((1, 2, 3)), np.ones((1, 2)))], opt.init(p))
    with pytest.raises(TypeError, match="OptState"):
        opt.step_(p, p, OptState(np.zeros(1), np.zeros(1), {}))


# --------------------------------------------------------------------------- GPU

def _gpu_problem(cp, B=4, dtype=np.float64):
    d = _data()
    data = TrainData(*(cp.asarray(a) for a in (d.x_train, d.y_train, d.x_val, d.y_val,
                                               d.x_test, d.y_test)))
    params = init_mlp(SIZES, B, seed=3, backend=backend_of(cp), dtype=dtype, residual=True)
    masks = [cp.asarray(m) if not isinstance(m, tuple) else tuple(cp.asarray(a) for a in m)
             for m in _masks(B)[:2]] + [None]
    return data, params, masks


# CuPy only (xp_gpu): CUDA-graph capture has no NumPy path.
@pytest.mark.gpu
@pytest.mark.needs_cuda
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_gpu_graph_path_equals_plain_path(xp_gpu, opt):
    """The CUDA-graph path gives the plain path's results (same kernels, same order).

    Where CuPy cannot capture the step (CuPy 14 refuses cuBLAS calls during
    stream capture), ``use_graph=True`` must say so at once and the default
    must run the plain path: then the default run is compared instead.
    """
    from sparsesim.nn.training import cuda_graph_support

    cp = xp_gpu
    data, params, masks = _gpu_problem(cp)
    kw = dict(optimizer=opt, steps=23, batch_size=16, eval_every=5, data_seed=1,
              masks=masks, residual=True, start_steps=[0, 3, 0, 7], rewind_steps=[4])
    capturable, why = cuda_graph_support(cp)
    if capturable:
        g = train(params, data, use_graph=True, **kw)
        assert g.used_graph
    else:
        assert why
        with pytest.raises(RuntimeError, match="use_graph=True"):
            train(params, data, use_graph=True, **kw)
        g = train(params, data, **kw)
        assert not g.used_graph
    p = train(params, data, use_graph=False, **kw)
    assert not p.used_graph
    for (a, b), (c, d) in zip(g.params, p.params):
        np.testing.assert_allclose(cp.asnumpy(a), cp.asnumpy(c), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cp.asnumpy(b), cp.asnumpy(d), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.val_loss, p.val_loss, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(g.early_stop_iter, p.early_stop_iter)
    np.testing.assert_allclose(cp.asnumpy(g.rewind_params[4][0][0]),
                               cp.asnumpy(p.rewind_params[4][0][0]), rtol=1e-12, atol=1e-14)
    assert bool((g.params[0][0][~masks[0]] == 0).all())


# CuPy only (xp_gpu): the fused Adam kernel has no NumPy path.
@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_fused_adam_equals_plain(xp_gpu):
    """The fused Adam kernel equals its plain-array twin (float64, 1e-12)."""
    cp = xp_gpu
    rng = np.random.default_rng(0)
    B = 3
    base = [(rng.normal(size=(B, 5, 4)), rng.normal(size=(B, 4)))]
    mask = rng.random((B, 5, 4)) < 0.6
    outs = []
    for fused in (True, False):
        p = [(cp.asarray(base[0][0]), cp.asarray(base[0][1]))]
        opt = Adam(lr=cp.asarray([1e-2, 2e-2, 5e-3]), fused=fused)
        state = opt.init(p)
        r = np.random.default_rng(1)
        for k in range(5):
            g = [(cp.asarray(r.normal(size=(B, 5, 4))), cp.asarray(r.normal(size=(B, 4))))]
            opt.step_(p, g, state, masks=[cp.asarray(mask)],
                      active=cp.asarray([1.0, float(k >= 2), 1.0]))
        outs.append([cp.asnumpy(a) for a in (p[0][0], p[0][1], state.slots["m"][0][0],
                                             state.slots["v"][0][0], state.step)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@both_backends
def test_trainer_on_each_backend_matches_the_numpy_float64_reference(xp):
    """On NumPy and on CuPy (float64, same data order), to BLAS rounding: the trained
    weights equal the NumPy trainer's and a plain per-model loop with textbook Adam,
    and the validation curve equals the NumPy trainer's."""
    data, params, masks = _gpu_problem(xp)
    kw = dict(optimizer=Adam(lr=1e-2), steps=15, batch_size=16, eval_every=5, data_seed=2,
              residual=True)
    host_params = [(to_numpy(W).copy(), to_numpy(b).copy()) for W, b in params]
    host_masks = [to_numpy(masks[0]), tuple(to_numpy(a) for a in masks[1]), None]
    g = train(params, data, masks=masks, **kw)
    n = train(host_params, _data(), masks=host_masks, **kw)
    ref = _reference_training(host_params, _data(), "adam", np.full(4, 1e-2), 15, 16, 2,
                              host_masks, np.zeros(4, int))
    assert type(g.params[0][0]).__module__.split(".")[0] == xp.__name__
    np.testing.assert_allclose(to_numpy(g.params[0][0]), n.params[0][0], rtol=1e-8,
                               atol=1e-10)
    for i in range(4):
        for l in range(len(SIZES) - 1):
            for part in range(2):
                np.testing.assert_allclose(to_numpy(g.params[l][part][i]), ref[i][l][part],
                                           rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(g.val_loss, n.val_loss, rtol=1e-8)


# --------------------------------------------------------------------------- the MNIST-1D notebook's protocol

def test_sequential_order_is_the_stored_order_cycled():
    """batch_order='sequential': step s reads (s*batch + j) mod n for every model, whatever
    the data seed (the notebook's bix = (step*batch) mod n when batch divides n)."""
    n, batch, steps = 12, 4, 7
    idx = data_order(7, 3, n, batch, steps, batch_order="sequential")
    want = np.array([[(s * batch + j) % n for j in range(batch)] for s in range(steps)])
    for i in range(3):
        np.testing.assert_array_equal(idx[:, i], want)
    np.testing.assert_array_equal(data_order(8, 3, n, batch, steps, batch_order="sequential"),
                                  idx)
    odd = data_order(0, 1, 10, 4, 4, batch_order="sequential")[:, 0]   # 4 does not divide 10
    assert odd.ravel().tolist() == [(k % 10) for k in range(16)]
    with pytest.raises(ValueError, match="batch_order"):
        data_order(0, 1, 10, 4, 4, batch_order="random")


def test_sequential_training_matches_the_loop_on_sequential_batches(monkeypatch):
    """The trainer with batch_order='sequential' (segments of 2 steps, crossing evaluation
    windows and epochs) equals the straightforward loop fed the notebook's batches; the data
    seed then changes nothing."""
    import sparsesim.nn.training as train_mod
    data = _data()
    params = _params(2)
    masks = _masks(2)
    lr = np.array([1e-2, 2e-2])
    kw = dict(optimizer=Adam(lr=lr), steps=17, batch_size=16, eval_every=5, masks=masks,
              residual=True, batch_order="sequential")
    res = train(params, data, data_seed=1, **kw)
    ref = _reference_training(params, data, "adam", lr, 17, 16, 1, masks, [0, 0],
                              batch_order="sequential")
    for i in range(2):
        for l in range(len(SIZES) - 1):
            np.testing.assert_allclose(res.params[l][0][i], ref[i][l][0], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(res.params[l][1][i], ref[i][l][1], rtol=1e-10, atol=1e-12)
    monkeypatch.setattr(train_mod, "MAX_ORDER_ENTRIES", 2 * 2 * 16)
    other = train(params, data, data_seed=99, **kw)
    for (a, b), (c, d) in zip(res.params, other.params):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    shuffled = train(params, data, data_seed=1, **{**kw, "batch_order": "shuffled"})
    assert np.any(shuffled.params[0][0] != res.params[0][0])
    with pytest.raises(ValueError, match="batch_order"):
        train(params, data, data_seed=1, **{**kw, "batch_order": "fixed"})


def test_no_validation_split_turns_early_stopping_off():
    """A validation split with 0 rows: training and test curves as with a split (same
    training data, same order), validation curves NaN, early stopping at the last step."""
    d = _data()
    empty = TrainData(d.x_train, d.y_train, d.x_val[:0], d.y_val[:0], d.x_test, d.y_test)
    kw = dict(optimizer=Adam(lr=1e-2), steps=14, batch_size=16, eval_every=5, data_seed=4,
              residual=True)
    a = train(_params(2), empty, **kw)
    b = train(_params(2), d, **kw)
    assert np.isnan(a.val_loss).all() and np.isnan(a.val_accuracy).all()
    assert a.early_stop_iter.tolist() == [14, 14]
    np.testing.assert_array_equal(a.early_stop_test_accuracy, a.final_test_accuracy)
    np.testing.assert_array_equal(a.test_accuracy, b.test_accuracy)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    assert np.isfinite(a.test_loss).all()
    with pytest.raises(ValueError, match="x_train"):
        TrainData(d.x_train[:0], d.y_train[:0], d.x_val, d.y_val, d.x_test, d.y_test)


# CuPy only (xp_gpu): the CUDA-graph capture probe and its stream have no NumPy path.
@pytest.mark.gpu
def test_graph_path_chosen_by_the_capture_probe(xp_gpu, monkeypatch):
    """Where capture does not work, the default runs the plain path; use_graph=True says why."""
    import sparsesim.nn.training as train_mod

    cp = xp_gpu
    if not hasattr(cp.cuda.Stream, "begin_capture"):          # the CPU stand-in has none
        monkeypatch.setattr(cp.cuda.Stream, "begin_capture", lambda self: None, raising=False)
    monkeypatch.setattr(train_mod, "cuda_graph_support",
                        lambda xp: (False, "cuBLAS refuses stream capture"))
    data, params, masks = _gpu_problem(cp, B=2)
    kw = dict(optimizer=Adam(lr=1e-2), steps=6, batch_size=8, eval_every=3, data_seed=1,
              masks=masks[:1] + [None, None], residual=True)
    with pytest.raises(RuntimeError, match=r"use_graph=True.*cuBLAS refuses stream capture"):
        train(params, data, use_graph=True, **kw)
    assert not train(params, data, **kw).used_graph


class _FakeCapture:
    """An array module whose matrix product fails while its stream captures (as CuPy 14's)."""

    def __init__(self, refuse):
        import types
        fake = self
        self.refuse, self.capturing, self.ended, self.freed = refuse, False, 0, 0

        class Arr:
            def __matmul__(self, other):
                if fake.capturing and fake.refuse:
                    raise NotImplementedError("calling cuBLAS API during stream capture")
                return self

        class Stream:
            def __init__(self, non_blocking=False):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def begin_capture(self):
                fake.capturing = True

            def end_capture(self):
                fake.capturing, fake.ended = False, fake.ended + 1

            def synchronize(self):
                pass

        class Pool:
            malloc = None

            def free_all_blocks(self):
                fake.freed += 1

        self.float32 = np.float32
        self.ones = lambda shape, dtype=None: Arr()
        self.cuda = types.SimpleNamespace(Stream=Stream, MemoryPool=Pool,
                                          using_allocator=lambda alloc: Stream())


@pytest.mark.parametrize("refuse", [True, False])
def test_capture_probe_reports_a_refused_matrix_product(refuse):
    from sparsesim.nn.training import _probe_graph_capture

    fake = _FakeCapture(refuse)
    ok, why = _probe_graph_capture(fake)
    assert ok is (not refuse)
    assert ("NotImplementedError" in why and "cuBLAS" in why) if refuse else why == ""
    assert fake.ended == 1 and not fake.capturing and fake.freed == 1


@pytest.mark.parametrize("bad", ["cupy", None, np.ones(3)])
def test_capture_support_rejects_a_non_module(bad):
    from sparsesim.nn.training import cuda_graph_support

    with pytest.raises(TypeError, match="xp must be an array module"):
        cuda_graph_support(bad)
