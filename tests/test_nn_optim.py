"""Optimizers for batches of models (sparsesim.nn.optim), against slow float64 twins.

The twins update one scalar at a time in Python floats, straight from the formulas of the
module notes (PyTorch's SGD with momentum, Kingma & Ba's Adam with PyTorch's placement of
the bias corrections), with the masks and the per-model gating written out.  Trainer-level
optimizer tests (masked training, Adam against the textbook update without gating) live in
tests/test_nn_train.py.
"""

import math

import numpy as np
import pytest

from sparsesim.nn.optim import OPTIMIZERS, SGD, Adam, OptState, float_masks, make_optimizer

SHAPES = [((3, 4, 2), (3, 2)), ((3, 2, 3), (3, 3))]      # two layers, B = 3 models


def _tree(rng, scale=1.0):
    return [(scale * rng.standard_normal(sW), scale * rng.standard_normal(sb))
            for sW, sb in SHAPES]


def _masks(rng):
    return [(rng.random(sW) < 0.6, rng.random(sb) < 0.7) for sW, sb in SHAPES]


def _twin_sgd(p, g, buf, mask, on, lr, mu):
    """One model's tensor, entry by entry: buf = mu·buf + g·m; p = (p - lr·buf)·m."""
    p, buf = p.copy(), buf.copy()
    for i in np.ndindex(p.shape):
        m = 1.0 if mask is None else float(mask[i])
        if on:
            gi = float(g[i]) * m
            if mu > 0:
                buf[i] = mu * float(buf[i]) + gi
                gi = float(buf[i])
            p[i] = float(p[i]) - lr * gi
        p[i] = float(p[i]) * m
    return p, buf


def _twin_adam(p, g, mm, vv, mask, on, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One model's tensor, entry by entry, at step count t (after this step)."""
    p, mm, vv = p.copy(), mm.copy(), vv.copy()
    for i in np.ndindex(p.shape):
        m = 1.0 if mask is None else float(mask[i])
        if on:
            gi = float(g[i]) * m
            mm[i] = b1 * float(mm[i]) + (1 - b1) * gi
            vv[i] = b2 * float(vv[i]) + (1 - b2) * gi * gi
            denom = math.sqrt(float(vv[i])) / math.sqrt(1 - b2 ** t) + eps
            p[i] = float(p[i]) - lr / (1 - b1 ** t) * (float(mm[i]) / denom)
        p[i] = float(p[i]) * m
    return p, mm, vv


def _run_twin(kind, params, grads_seq, masks, actives, lrs, mu=0.0):
    """Every model, layer and part through the scalar twin; returns params and slots."""
    params = [[W.copy(), b.copy()] for W, b in params]
    slot1 = [[np.zeros_like(W), np.zeros_like(b)] for W, b in params]
    slot2 = [[np.zeros_like(W), np.zeros_like(b)] for W, b in params]
    steps = np.zeros(len(lrs))
    for grads, active in zip(grads_seq, actives):
        steps += active
        for k in range(len(lrs)):
            on = bool(active[k])
            for l, (gW, gb) in enumerate(grads):
                for part, g in ((0, gW), (1, gb)):
                    mask = None if masks is None else masks[l][part][k]
                    p = params[l][part][k]
                    if kind == "sgd":
                        p2, s1 = _twin_sgd(p, g[k], slot1[l][part][k], mask, on, lrs[k], mu)
                    else:
                        p2, s1, s2 = _twin_adam(p, g[k], slot1[l][part][k], slot2[l][part][k],
                                                mask, on, max(steps[k], 1), lrs[k])
                        slot2[l][part][k] = s2
                    params[l][part][k] = p2
                    slot1[l][part][k] = s1
    return params, slot1, slot2, steps


@pytest.mark.parametrize("kind, mu", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)],
                         ids=["sgd", "momentum", "adam"])
@pytest.mark.parametrize("seed", [0, 1])
def test_steps_equal_the_scalar_twin_with_masks_lr_per_model_and_gating(kind, mu, seed):
    """Five steps, per-model learning rates, masks on weights and biases, a model that
    joins at step 3 and one frozen at step 4: parameters, buffers and step counts equal
    the scalar float64 twin to 1e-12 relative (falsified by any misplaced mask, gate,
    learning rate or bias correction)."""
    rng = np.random.default_rng(seed)
    params, masks = _tree(rng), _masks(rng)
    lrs = np.array([0.05, 0.01, 0.2])
    opt = SGD(lr=lrs, momentum=mu) if kind == "sgd" else Adam(lr=lrs)
    grads_seq = [_tree(rng, scale=3.0) for _ in range(5)]
    actives = [np.array(a, float) for a in ([1, 0, 1], [1, 0, 1], [1, 1, 1], [1, 1, 0],
                                            [1, 1, 1])]
    got = [(W.copy(), b.copy()) for W, b in params]
    state = opt.init(got)
    for grads, active in zip(grads_seq, actives):
        opt.step_(got, grads, state, masks=masks, active=active)
    ref, slot1, slot2, steps = _run_twin(kind, params, grads_seq, masks, actives, lrs, mu)
    np.testing.assert_array_equal(state.step, steps)
    names = {"sgd": ("momentum", None), "adam": ("m", "v")}[kind]
    for l in range(len(SHAPES)):
        for part in range(2):
            np.testing.assert_allclose(got[l][part], ref[l][part], rtol=1e-12, atol=1e-14)
            for name, slot in zip(names, (slot1, slot2)):
                if name is not None and (kind == "adam" or mu > 0):
                    np.testing.assert_allclose(state.slots[name][l][part], slot[l][part],
                                               rtol=1e-12, atol=1e-15)
            assert np.all(got[l][part][~masks[l][part]] == 0)


@pytest.mark.parametrize("opt", [SGD(lr=0.05, momentum=0.9), Adam(lr=1e-2)],
                         ids=["momentum", "adam"])
def test_float32_steps_track_the_float64_twin(opt):
    """The same steps in float32 stay within 1e-4 (relative to the weights' scale) of the
    float64 update: falsified by an operation done in the wrong dtype or order of
    magnitude (e.g. eps or the bias correction applied twice)."""
    rng = np.random.default_rng(7)
    p64, masks = _tree(rng), _masks(rng)
    p32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in p64]
    s64, s32 = opt.init(p64), opt.init(p32)
    assert s32.step.dtype == np.float32 and s32.lr.dtype == np.float32
    for _ in range(6):
        g = _tree(rng)
        opt.step_(p64, g, s64, masks=masks)
        opt.step_(p32, [(a.astype(np.float32), b.astype(np.float32)) for a, b in g], s32,
                  masks=masks)
    for (W64, b64), (W32, b32) in zip(p64, p32):
        assert W32.dtype == np.float32
        np.testing.assert_allclose(W32, W64, rtol=0, atol=1e-4 * np.abs(W64).max())
        np.testing.assert_allclose(b32, b64, rtol=0, atol=1e-4 * np.abs(b64).max())


def test_state_copy_is_deep_and_init_is_zero():
    params = _tree(np.random.default_rng(0))
    for opt in (SGD(lr=0.1, momentum=0.5), Adam(lr=0.1), SGD(lr=0.1)):
        state = opt.init(params)
        assert isinstance(state, OptState)
        assert set(state.slots) == ({"m", "v"} if opt.name == "adam"
                                    else {"momentum"} if opt.momentum else set())
        twin = state.copy()
        twin.step += 1
        for bufs in twin.slots.values():
            bufs[0][0][...] = 1.0
        assert float(state.step.sum()) == 0.0
        assert all(float(np.abs(a).sum() + np.abs(b).sum()) == 0.0
                   for bufs in state.slots.values() for a, b in bufs)
        np.testing.assert_array_equal(state.lr, np.full(3, 0.1))


def test_float_masks_are_pairs_in_the_parameters_dtype():
    params = [(W.astype(np.float32), b.astype(np.float32))
              for W, b in _tree(np.random.default_rng(1))]
    mW = np.random.default_rng(2).random(SHAPES[0][0]) < 0.5
    pairs = float_masks([mW, None], params, check_values=True)
    assert pairs[0][0].dtype == np.float32 and pairs[0][1] is None
    assert pairs[1] == (None, None)
    np.testing.assert_array_equal(pairs[0][0], mW.astype(np.float32))
    assert float_masks(None, params, check_values=True) == [(None, None)] * 2
    with pytest.raises(ValueError, match="mask"):
        float_masks([np.full(SHAPES[0][0], 2), None], params, check_values=True)


def test_make_optimizer_builds_each_name():
    assert set(OPTIMIZERS) == {"sgd", "adam"}
    sgd = make_optimizer("sgd", 0.3, momentum=0.25)
    assert isinstance(sgd, SGD) and sgd.lr == 0.3 and sgd.momentum == 0.25
    adam = make_optimizer("adam", 2e-3, beta2=0.99)
    assert isinstance(adam, Adam) and adam.lr == 2e-3 and adam.beta2 == 0.99
    with pytest.raises(ValueError, match="momentum applies to optimizer='sgd'"):
        make_optimizer("adam", 0.1, momentum=0.5)
    with pytest.raises(ValueError, match="name"):
        make_optimizer("lion", 0.1)


def test_bad_steps_are_refused_by_name():
    rng = np.random.default_rng(3)
    params, grads = _tree(rng), _tree(rng)
    adam = Adam(lr=0.1)
    state = adam.init(params)
    with pytest.raises(ValueError, match="lr given per model must have shape"):
        Adam(lr=np.array([0.1, 0.2])).init(params)
    with pytest.raises(ValueError, match="lr must be > 0 for every model"):
        Adam(lr=np.array([0.1, 0.0, 0.2]))
    with pytest.raises(TypeError, match="state must be an OptState from SGD"):
        SGD(lr=0.1, momentum=0.5).step_(params, grads, state)
    with pytest.raises(ValueError, match=r"grads\[1\] gb must have the shape"):
        adam.step_(params, [grads[0], (grads[1][0], grads[1][1][:, :2])], state)
    with pytest.raises(ValueError, match="active must have shape"):
        adam.step_(params, grads, state, active=np.ones(2))
    with pytest.raises(ValueError, match="fused=True needs a backend"):
        Adam(lr=0.1, fused=True).step_(params, grads, Adam(lr=0.1, fused=True).init(params))
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=1.0)
