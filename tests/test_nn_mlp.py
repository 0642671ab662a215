"""Tests of the batched MLP engine: initialisation, exact gradients and HVPs.

Derivatives are checked against central finite differences in float64 (a wrong
sign, a missing residual path, a mask applied on the wrong side or a missing
temperature factor would all show up as O(1) relative errors, far above the
1e-6 tolerance; the finite-difference error itself is ~1e-9 at these step sizes).
"""

import numpy as np
import pytest

from backends import backend_of, both_backends, tree_to
from sparsesim.backend import to_numpy
from sparsesim.nn import (accuracy, effective_params, forward, hvp, init_mlp, layer_sizes,
                          loss_and_grad, loss_value, mask_pairs, model_seeds, predict,
                          residual_layers)

F64 = np.float64
RTOL = 1e-6


# --------------------------------------------------------------------------- helpers

def make_problem(sizes=(5, 6, 6, 3), n_models=3, n=7, *, loss="cross_entropy", seed=0,
                 per_model_X=False, per_model_y=False, bias_scale=0.1):
    rng = np.random.default_rng(seed)
    params = init_mlp(sizes, n_models, seed=seed, backend="numpy", dtype=F64)
    params = [(W, bias_scale * rng.normal(size=b.shape)) for W, b in params]
    X = rng.normal(size=(n_models, n, sizes[0]) if per_model_X else (n, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], size=(n_models, n) if per_model_y else n)
    else:
        y = rng.normal(size=(n_models, n, sizes[-1]) if per_model_y else (n, sizes[-1]))
    return params, X, y, rng


def random_masks(params, rng, *, p=0.7, bias=True):
    return [((rng.random(W.shape) < p), (rng.random(b.shape) < p) if bias else None)
            for W, b in params]


def like(params, rng):
    return [(rng.normal(size=W.shape), rng.normal(size=b.shape)) for W, b in params]


def shifted(params, vec, t):
    return [(W + t * vW, b + t * vb) for (W, b), (vW, vb) in zip(params, vec)]


def inner(a, b):
    """Per-model inner product of two parameter-shaped lists, shape (B,)."""
    return sum((x * u).sum(axis=(1, 2)) + (y * w).sum(axis=1) for (x, y), (u, w) in zip(a, b))


def masked_vec(vec, masks):
    return [(vW * mW if mW is not None else vW, vb * mb if mb is not None else vb)
            for (vW, vb), (mW, mb) in zip(vec, masks)]


def max_rel_err(got, want):
    """max |got - want| / max |want| over a parameter-shaped list."""
    err = max(max(np.abs(g - w).max(), np.abs(h - z).max()) for (g, h), (w, z) in zip(got, want))
    ref = max(max(np.abs(w).max(), np.abs(z).max()) for w, z in want)
    return err / ref


CASES = [
    # loss, temperature, residual, per-model X, per-model y, masked
    ("cross_entropy", 1.0, False, False, False, False),
    ("cross_entropy", 1.0, True, True, True, True),
    ("cross_entropy", 5.0, True, False, False, True),
    ("cross_entropy", 200.0, False, False, True, True),
    ("mse", 1.0, False, True, False, True),
    ("mse", 1.0, True, False, True, False),
]


# --------------------------------------------------------------------------- initialisation

def test_init_shapes_dtype_and_zero_biases():
    p = init_mlp((40, 500, 500, 10), 2, seed=3, backend="numpy")
    assert [tuple(W.shape) for W, _ in p] == [(2, 40, 500), (2, 500, 500), (2, 500, 10)]
    assert all(W.dtype == np.float32 and b.dtype == np.float32 for W, b in p)
    assert all(not b.any() for _, b in p)
    assert layer_sizes(p) == (40, 500, 500, 10)


def test_model_i_of_a_batch_equals_model_i_alone():
    # Falsified if models shared one stream or the stream depended on n_models.
    sizes, n = (4, 7, 7, 3), 5
    batch = init_mlp(sizes, n, seed=11, backend="numpy", dtype=F64)
    children = np.random.SeedSequence(11).spawn(n)
    for i in range(n):
        alone = init_mlp(sizes, 1, seed=[children[i]], backend="numpy", dtype=F64)
        for (W, b), (Wa, ba) in zip(batch, alone):
            np.testing.assert_array_equal(W[i], Wa[0])
            np.testing.assert_array_equal(b[i], ba[0])
    first = init_mlp(sizes, 1, seed=11, backend="numpy", dtype=F64)
    np.testing.assert_array_equal(first[0][0][0], batch[0][0][0])
    # distinct models differ
    assert not np.array_equal(batch[0][0][0], batch[0][0][1])


def test_seed_sequence_argument_is_not_consumed():
    ss = np.random.SeedSequence(5)
    a = init_mlp((3, 4), 2, seed=ss, backend="numpy")
    b = init_mlp((3, 4), 2, seed=ss, backend="numpy")
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert len(model_seeds(ss, 4)) == 4


def test_glorot_is_kaiming_rescaled():
    # Same normal draws, different scale: W_glorot = W_kaiming * sqrt(fan_in / (fan_in + fan_out)).
    k = init_mlp((6, 10, 2), 2, seed=1, backend="numpy", dtype=F64)
    g = init_mlp((6, 10, 2), 2, seed=1, backend="numpy", dtype=F64, init="glorot_normal")
    for (Wk, _), (Wg, _), (fi, fo) in zip(k, g, [(6, 10), (10, 2)]):
        np.testing.assert_allclose(Wg, Wk * np.sqrt(fi / (fi + fo)), rtol=1e-14)


def test_kaiming_variance():
    # 500*500*4 draws of N(0, 2/500): the sample variance has relative sd sqrt(2/1e6) = 1.4e-3;
    # a 1% tolerance is 7 sd (false alarm < 1e-11); a wrong fan (fan_out) or a missing factor
    # 2 would be off by >= 50%.
    W = init_mlp((500, 500), 4, seed=0, backend="numpy", dtype=F64)[0][0]
    assert abs(W.var() / (2 / 500) - 1) < 0.01


def test_residual_layers():
    assert residual_layers((40, 500, 500, 10), True) == (False, True, False)
    assert residual_layers((8, 8, 8, 8, 3), True) == (False, True, True, False)
    assert residual_layers((8, 8, 8, 8, 3), (2,)) == (False, False, True, False)
    assert residual_layers((8, 9, 3), True) == (False, False)
    with pytest.raises(ValueError, match="residual layer 1 needs equal"):
        residual_layers((8, 9, 7, 3), (1,))
    with pytest.raises(ValueError, match="residual layer index"):
        residual_layers((8, 8, 8, 3), (2,))


# --------------------------------------------------------------------------- forward / loss

def test_forward_matches_a_plain_loop():
    # An independent per-sample, per-model evaluation of h2 = relu(h1 W2 + b2) + h1.
    params, X, _, rng = make_problem((4, 5, 5, 3), n_models=2, n=6)
    masks = random_masks(params, rng)
    out = forward(params, X, masks, residual=True)
    for i in range(2):
        for s in range(6):
            (W1, b1), (W2, b2), (W3, b3) = [(W[i] * mW[i], b[i] * mb[i])
                                            for (W, b), (mW, mb) in zip(params, masks)]
            h1 = np.maximum(X[s] @ W1 + b1, 0)
            h2 = np.maximum(h1 @ W2 + b2, 0) + h1
            np.testing.assert_allclose(out[i, s], h2 @ W3 + b3, rtol=1e-13, atol=1e-13)


def test_cross_entropy_and_mse_values():
    params, X, y, _ = make_problem((3, 4), n_models=2, n=5)
    z = forward(params, X)
    for T in (1.0, 3.0):
        s = z / T
        lse = np.log(np.exp(s).sum(axis=2))
        want = (lse - np.take_along_axis(s, np.broadcast_to(y, (2, 5))[..., None], 2)[..., 0]).mean(1)
        np.testing.assert_allclose(loss_value(params, X, y, temperature=T), want, rtol=1e-13)
    t = np.ones((5, 4))
    np.testing.assert_allclose(loss_value(params, X, t, loss="mse"),
                               0.5 * ((z - t) ** 2).sum(axis=(1, 2)) / 5, rtol=1e-13)


def test_log_softmax_is_stable_for_huge_logits():
    # Logits of size 1e4 overflow exp() in a naive implementation (inf/nan loss).
    W = np.zeros((1, 1, 3)); W[0, 0] = [1e4, 0.0, -1e4]
    params = [(W, np.zeros((1, 3)))]
    X = np.ones((2, 1)); y = np.array([0, 1])
    loss, grads = loss_and_grad(params, X, y)
    np.testing.assert_allclose(loss, [(0.0 + 1e4) / 2])
    assert np.isfinite(grads[0][0]).all()


def test_accuracy_and_predict():
    params, X, y, _ = make_problem((3, 5, 4), n_models=3, n=20)
    pred = predict(params, X)
    assert pred.shape == (3, 20)
    np.testing.assert_array_equal(pred, forward(params, X).argmax(2))
    np.testing.assert_allclose(accuracy(params, X, y), (pred == y).mean(1))
    np.testing.assert_allclose(accuracy(params, X, pred), 1.0)


def test_masks_act_on_effective_parameters():
    params, X, y, rng = make_problem()
    masks = random_masks(params, rng)
    eff = [(W * mW, b * mb) for (W, b), (mW, mb) in zip(params, masks)]
    np.testing.assert_array_equal(forward(params, X, masks), forward(eff, X))
    np.testing.assert_array_equal(effective_params(params, masks)[1][0], eff[1][0])
    # float 0/1 masks and bool masks are the same masks; a bare array masks W only
    fmasks = [(mW.astype(F64), mb.astype(F64)) for mW, mb in masks]
    np.testing.assert_array_equal(forward(params, X, masks), forward(params, X, fmasks))
    w_only = [mW for mW, _ in masks]
    np.testing.assert_array_equal(forward(params, X, w_only),
                                  forward(params, X, [(mW, None) for mW, _ in masks]))
    assert mask_pairs(None, params) == [(None, None)] * 3


def test_masked_entries_get_zero_gradient_and_zero_hvp():
    params, X, y, rng = make_problem(per_model_y=True)
    masks = random_masks(params, rng, p=0.5)
    _, grads = loss_and_grad(params, X, y, masks, residual=True)
    Hv = hvp(params, X, y, like(params, rng), masks, residual=True)
    for (gW, gb), (hW, hb), (mW, mb) in zip(grads, Hv, masks):
        assert not gW[~mW].any() and not gb[~mb].any()
        assert not hW[~mW].any() and not hb[~mb].any()
        assert np.abs(gW[mW]).min() >= 0 and np.abs(gW).max() > 0


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("loss,T,res,pmx,pmy,masked", CASES)
def test_gradient_matches_finite_differences(loss, T, res, pmx, pmy, masked):
    params, X, y, rng = make_problem(loss=loss, per_model_X=pmx, per_model_y=pmy, seed=1)
    masks = random_masks(params, rng) if masked else None
    kw = dict(loss=loss, temperature=T, residual=res)
    _, grads = loss_and_grad(params, X, y, masks, **kw)
    pm = mask_pairs(masks, params)
    for _ in range(3):
        v = masked_vec(like(params, rng), pm)  # derivative along the unmasked directions
        eps = 1e-4 if T > 10 else 1e-5
        fd = (loss_value(shifted(params, v, eps), X, y, masks, **kw)
              - loss_value(shifted(params, v, -eps), X, y, masks, **kw)) / (2 * eps)
        np.testing.assert_allclose(inner(grads, v), fd, rtol=RTOL)


def test_gradient_coordinatewise_on_a_tiny_net():
    params, X, y, rng = make_problem((3, 4, 4, 2), n_models=2, n=5)
    kw = dict(residual=True, temperature=2.0)
    _, grads = loss_and_grad(params, X, y, **kw)
    eps = 1e-6
    for l, (W, b) in enumerate(params):
        for part, arr in ((0, W), (1, b)):
            for idx in np.ndindex(arr.shape[1:]):
                e = [(np.zeros_like(A), np.zeros_like(B)) for A, B in params]
                e[l][part][(slice(None),) + idx] = 1.0
                fd = (loss_value(shifted(params, e, eps), X, y, **kw)
                      - loss_value(shifted(params, e, -eps), X, y, **kw)) / (2 * eps)
                np.testing.assert_allclose(grads[l][part][(slice(None),) + idx], fd,
                                           rtol=1e-6, atol=1e-10)


def test_temperature_equals_rescaled_last_layer():
    # Exact identity: L_T(..., W_L, b_L) = L_1(..., W_L / T, b_L / T); so
    # grad_T wrt (W_L, b_L) = grad_1 at the rescaled layer / T, and grad wrt earlier layers equal.
    params, X, y, _ = make_problem(seed=4)
    T = 7.0
    scaled = params[:-1] + [(params[-1][0] / T, params[-1][1] / T)]
    lT, gT = loss_and_grad(params, X, y, temperature=T)
    l1, g1 = loss_and_grad(scaled, X, y)
    np.testing.assert_allclose(lT, l1, rtol=1e-13)
    np.testing.assert_allclose(gT[0][0], g1[0][0], rtol=1e-12)
    np.testing.assert_allclose(gT[-1][0], g1[-1][0] / T, rtol=1e-12)


@pytest.mark.parametrize("loss,T,res,pmx,pmy,masked", CASES)
def test_hvp_matches_finite_differences_of_the_gradient(loss, T, res, pmx, pmy, masked):
    params, X, y, rng = make_problem(loss=loss, per_model_X=pmx, per_model_y=pmy, seed=2)
    masks = random_masks(params, rng) if masked else None
    pm = mask_pairs(masks, params)
    kw = dict(loss=loss, temperature=T, residual=res)
    v = like(params, rng)
    Hv = hvp(params, X, y, v, masks, **kw)
    pv = masked_vec(v, pm)  # P H P v: the finite difference moves along P v
    eps = 1e-5
    gp = loss_and_grad(shifted(params, pv, eps), X, y, masks, **kw)[1]
    gm = loss_and_grad(shifted(params, pv, -eps), X, y, masks, **kw)[1]
    fd = [((a - c) / (2 * eps), (b - d) / (2 * eps)) for (a, b), (c, d) in zip(gp, gm)]
    assert max_rel_err(Hv, fd) <= RTOL


@pytest.mark.parametrize("loss,T,res,pmx,pmy,masked", CASES)
def test_hvp_is_symmetric(loss, T, res, pmx, pmy, masked):
    # u^T H v = v^T H u for every model (a missing cross term of the R-pass breaks this).
    params, X, y, rng = make_problem(loss=loss, per_model_X=pmx, per_model_y=pmy, seed=3)
    masks = random_masks(params, rng) if masked else None
    kw = dict(loss=loss, temperature=T, residual=res)
    u, v = like(params, rng), like(params, rng)
    uHv = inner(u, hvp(params, X, y, v, masks, **kw))
    vHu = inner(v, hvp(params, X, y, u, masks, **kw))
    np.testing.assert_allclose(uHv, vHu, rtol=1e-10)


def test_hvp_is_linear_and_ignores_masked_directions():
    params, X, y, rng = make_problem(seed=5)
    masks = random_masks(params, rng)
    u, v = like(params, rng), like(params, rng)
    Hu, Hv = hvp(params, X, y, u, masks), hvp(params, X, y, v, masks)
    w = [(2 * a - 3 * c, 2 * b - 3 * d) for (a, b), (c, d) in zip(u, v)]
    comb = [(2 * a - 3 * c, 2 * b - 3 * d) for (a, b), (c, d) in zip(Hu, Hv)]
    assert max_rel_err(hvp(params, X, y, w, masks), comb) < 1e-12
    noise = [(a + np.where(mW, 0, 9.0), b + np.where(mb, 0, 9.0))
             for (a, b), (mW, mb) in zip(v, masks)]
    assert max_rel_err(hvp(params, X, y, noise, masks), Hv) < 1e-14


def test_batched_models_equal_one_model_at_a_time():
    params, X, y, rng = make_problem(per_model_X=True, per_model_y=True, n_models=4)
    masks = random_masks(params, rng)
    v = like(params, rng)
    kw = dict(residual=True, temperature=3.0)
    L, G = loss_and_grad(params, X, y, masks, **kw)
    H = hvp(params, X, y, v, masks, **kw)
    take = lambda pl, i: [(a[i:i + 1], b[i:i + 1]) for a, b in pl]  # noqa: E731
    for i in range(4):
        Li, Gi = loss_and_grad(take(params, i), X[i:i + 1], y[i:i + 1], take(masks, i), **kw)
        Hi = hvp(take(params, i), X[i:i + 1], y[i:i + 1], take(v, i), take(masks, i), **kw)
        np.testing.assert_allclose(L[i:i + 1], Li, rtol=1e-13)
        assert max_rel_err(take(G, i), Gi) < 1e-13
        assert max_rel_err(take(H, i), Hi) < 1e-13
        np.testing.assert_allclose(forward(params, X, masks, residual=True)[i:i + 1],
                                   forward(take(params, i), X[i:i + 1], take(masks, i),
                                           residual=True), rtol=1e-13)


def test_shared_X_equals_broadcast_per_model_X():
    params, X, y, _ = make_problem()
    Xb = np.broadcast_to(X, (3,) + X.shape).copy()
    yb = np.broadcast_to(y, (3,) + y.shape).copy()
    L1, G1 = loss_and_grad(params, X, y, residual=True)
    L2, G2 = loss_and_grad(params, Xb, yb, residual=True)
    np.testing.assert_allclose(L1, L2, rtol=1e-14)
    assert max_rel_err(G1, G2) < 1e-13


def test_float32_path_agrees_with_float64_twin():
    # The default float32 path against the float64 reference: agreement to float32 precision.
    params, X, y, rng = make_problem(seed=6)
    v = like(params, rng)
    f32 = lambda pl: [(a.astype(np.float32), b.astype(np.float32)) for a, b in pl]  # noqa: E731
    L64, G64 = loss_and_grad(params, X, y, residual=True)
    L32, G32 = loss_and_grad(f32(params), X.astype(np.float32), y, residual=True)
    assert L32.dtype == np.float32 and G32[0][0].dtype == np.float32
    np.testing.assert_allclose(L32, L64, rtol=1e-5)
    assert max_rel_err(G32, G64) < 1e-4
    H32 = hvp(f32(params), X.astype(np.float32), y, f32(v), residual=True)
    assert max_rel_err(H32, hvp(params, X, y, v, residual=True)) < 1e-4


# --------------------------------------------------------------------------- bad input

def test_bad_input_raises_naming_the_argument():
    params, X, y, rng = make_problem()
    with pytest.raises(ValueError, match="temperature"):
        loss_and_grad(params, X, y, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        hvp(params, X, y, like(params, rng), temperature=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        loss_and_grad(params, X, np.zeros((7, 3)), loss="mse", temperature=2.0)
    with pytest.raises(ValueError, match="loss"):
        loss_and_grad(params, X, y, loss="hinge")
    with pytest.raises(ValueError, match=r"y must hold class ids in \[0, 2\]"):
        loss_and_grad(params, X, np.full(7, 3))
    with pytest.raises(ValueError, match="y must hold class ids"):
        loss_and_grad(params, X, np.full(7, -1))
    with pytest.raises(ValueError, match=r"y \(class labels\) must have shape"):
        loss_and_grad(params, X, y[:5])
    with pytest.raises(TypeError, match="y must have a dtype"):
        loss_and_grad(params, X, y.astype(F64))
    with pytest.raises(ValueError, match=r"y \(regression targets\)"):
        loss_and_grad(params, X, np.zeros((7, 4)), loss="mse")
    with pytest.raises(ValueError, match="X must have n_in=5"):
        forward(params, X[:, :4])
    with pytest.raises(ValueError, match="X given per model"):
        forward(params, np.zeros((2, 7, 5)))
    bad = X.copy(); bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X must not contain NaN"):
        forward(params, bad)
    forward(params, bad, check_values=False)  # the value check can be switched off
    inf_params = [(W.copy(), b) for W, b in params]; inf_params[1][0][0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"params\[1\] W must not contain NaN"):
        forward(inf_params, X)
    with pytest.raises(ValueError, match=r"params\[1\] W fan_in"):
        forward([params[0], params[0]] + params[2:], X)
    with pytest.raises(ValueError, match=r"params\[0\] b must have shape"):
        forward([(params[0][0], params[0][1][:, :3])] + params[1:], X)
    with pytest.raises(ValueError, match=r"params\[1\] W must have n_models=3"):
        forward([params[0], (params[1][0][:2], params[1][1])] + params[2:], X)
    with pytest.raises(TypeError, match=r"params\[0\] must have the dtype"):
        forward([(params[0][0], params[0][1].astype(np.float32))] + params[1:], X)
    with pytest.raises(TypeError, match=r"params\[0\] must be a \(W, b\) pair"):
        forward([params[0][0]] + params[1:], X)
    with pytest.raises(TypeError, match="params must be a non-empty list"):
        forward([], X)
    masks = random_masks(params, rng)
    with pytest.raises(ValueError, match=r"masks must hold one entry per layer \(3\)"):
        forward(params, X, masks[:2])
    with pytest.raises(ValueError, match=r"masks\[1\] \(weights\) must have the shape"):
        forward(params, X, [masks[0], (masks[1][0][:, :2], None), masks[2]])
    with pytest.raises(ValueError, match=r"masks\[2\] \(bias\) must have the shape"):
        forward(params, X, [None, None, (None, masks[2][1][:, :1])])
    with pytest.raises(ValueError, match=r"masks\[0\] \(weights\) must be boolean or contain only 0 and 1"):
        forward(params, X, [0.5 * masks[0][0], None, None])
    with pytest.raises(TypeError, match=r"vec\[1\] must be a \(vW, vb\) pair"):
        hvp(params, X, y, [(a, b) for a, b in params[:1]] + [params[1][0], params[2]])
    with pytest.raises(ValueError, match=r"vec\[0\] vb must have the shape"):
        hvp(params, X, y, [(params[0][0], params[0][1][:, :2])] + params[1:])
    with pytest.raises(ValueError, match="residual layer"):
        forward(init_mlp((3, 4, 5, 2), 1, seed=0, backend="numpy"), np.zeros((2, 3), np.float32),
                residual=(1,))
    with pytest.raises(TypeError, match="X must be a NumPy or CuPy array"):
        forward(params, X.tolist())
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        init_mlp((3, 2), 1, seed=0, backend="numpy", dtype=np.int32)
    with pytest.raises(ValueError, match="init must be one of"):
        init_mlp((3, 2), 1, seed=0, backend="numpy", init="orthogonal")
    with pytest.raises(ValueError, match="n_models must be in"):
        init_mlp((3, 2), 0, seed=0, backend="numpy")
    with pytest.raises(ValueError, match="sizes must hold at least 2"):
        init_mlp((3,), 1, seed=0, backend="numpy")
    with pytest.raises(ValueError, match="seed given as a sequence must hold n_models=2"):
        init_mlp((3, 2), 2, seed=[1], backend="numpy")


# --------------------------------------------------------------------------- GPU

@both_backends
def test_loss_gradient_hvp_and_accuracy_on_each_backend(xp):
    """On NumPy and on CuPy: the batched loss, gradient, HVP and accuracy (residual,
    temperature 3, masks) equal the NumPy float64 reference computed one model at a time."""
    params, X, y, rng = make_problem(per_model_y=True)
    masks = random_masks(params, rng)
    v = like(params, rng)
    kw = dict(residual=True, temperature=3.0)
    take = lambda pl, i: [(a[i:i + 1], b[i:i + 1]) for a, b in pl]  # noqa: E731
    join = lambda per: [tuple(np.concatenate([m[l][j] for m in per]) for j in (0, 1))  # noqa: E731
                        for l in range(len(params))]
    per_L, per_G, per_H, per_acc = [], [], [], []
    for i in range(len(y)):                                   # NumPy float64, one model
        Li, Gi = loss_and_grad(take(params, i), X, y[i:i + 1], take(masks, i), **kw)
        per_L.append(Li); per_G.append(Gi)
        per_H.append(hvp(take(params, i), X, y[i:i + 1], take(v, i), take(masks, i), **kw))
        per_acc.append(accuracy(take(params, i), X, y[i:i + 1], take(masks, i), residual=True))
    L, G, H, acc = np.concatenate(per_L), join(per_G), join(per_H), np.concatenate(per_acc)
    p, m = tree_to(xp, params), tree_to(xp, masks)
    Lg, Gg = loss_and_grad(p, xp.asarray(X), xp.asarray(y), m, **kw)
    Hg = hvp(p, xp.asarray(X), xp.asarray(y), tree_to(xp, v), m, **kw)
    assert type(Gg[0][0]).__module__.split(".")[0] == xp.__name__
    np.testing.assert_allclose(to_numpy(Lg), L, rtol=1e-12)
    back = lambda pl: [(to_numpy(a), to_numpy(b)) for a, b in pl]  # noqa: E731
    assert max_rel_err(back(Gg), G) < 1e-12
    assert max_rel_err(back(Hg), H) < 1e-12
    np.testing.assert_allclose(to_numpy(accuracy(p, xp.asarray(X), xp.asarray(y), m,
                                                 residual=True)), acc)


@both_backends
def test_init_is_seeded_and_batch_consistent_on_each_backend(xp):
    a = init_mlp((4, 6, 2), 3, seed=9, backend=backend_of(xp))
    b = init_mlp((4, 6, 2), 1, seed=[np.random.SeedSequence(9).spawn(3)[2]],
                 backend=backend_of(xp))
    assert type(a[0][0]).__module__.split(".")[0] == xp.__name__
    np.testing.assert_array_equal(to_numpy(a[0][0][2]), to_numpy(b[0][0][0]))


@both_backends
@pytest.mark.parametrize("init", ["kaiming_normal", "glorot_normal", "torch_uniform"])
def test_init_equals_the_numpy_init_for_a_seed_on_each_backend(xp, init):
    # Drawn on the host and uploaded: a seed is the same network on both backends
    # (a device generator would draw another stream and fail this exactly).
    g = init_mlp((5, 7, 3), 4, seed=11, init=init, backend=backend_of(xp), dtype=np.float64)
    n = init_mlp((5, 7, 3), 4, seed=11, init=init, backend="numpy", dtype=np.float64)
    for (Wg, bg), (Wn, bn) in zip(g, n):
        assert type(Wg).__module__.split(".")[0] == xp.__name__
        np.testing.assert_array_equal(to_numpy(Wg), Wn)
        np.testing.assert_array_equal(to_numpy(bg), bn)


def test_torch_uniform_init_bounds_and_moments():
    """PyTorch's nn.Linear default: weights and biases U(±1/sqrt(fan_in)).

    Falsified by values outside the bound, zero biases, or a variance off
    bound²/3 by more than 5 standard errors (false-alarm rate ~6e-7 per check).
    """
    from sparsesim.nn.mlp import init_mlp as _init
    params = _init((40, 500, 10), 3, seed=4, init="torch_uniform", backend="numpy",
                   dtype=np.float64)
    for W, b in params:
        bound = 1.0 / np.sqrt(W.shape[1])
        for a in (W, b):
            assert np.abs(a).max() <= bound and np.abs(a).max() > 0.9 * bound
            var, n = a.var(), a.size
            se = bound**2 * np.sqrt(4 / 45 / n)  # sd of the sample variance of U(-c, c)
            assert abs(var - bound**2 / 3) <= 5 * se
    alone = _init((40, 500, 10), 1, seed=[np.random.SeedSequence(4).spawn(3)[2]],
                  init="torch_uniform", backend="numpy", dtype=np.float64)
    assert np.array_equal(alone[0][1][0], params[0][1][2])


# --------------------------------------------------------------------------- limits and overflow

def _small_batch():
    params = init_mlp((3, 4, 2), 2, seed=0, backend="numpy", dtype=F64)
    X = np.ones((5, 3)) * np.linspace(-1, 1, 3)
    return params, X, np.array([0, 1, 1, 0, 1])


def test_float16_parameters_are_refused_by_name():
    # Falsified if float16 slipped through (it used to fail later, unnamed).
    params, X, y = _small_batch()
    half = [(W.astype(np.float16), b.astype(np.float16)) for W, b in params]
    with pytest.raises(TypeError, match=r"params\[0\] W must have dtype float32 or float64"):
        forward(half, X)
    with pytest.raises(TypeError, match="params"):
        layer_sizes(half)


def test_counts_beyond_the_documented_bounds_are_refused():
    from sparsesim.nn import mlp

    with pytest.raises(ValueError, match="n_models"):
        model_seeds(0, mlp.MAX_MODELS + 1)
    with pytest.raises(ValueError, match="n_models"):
        init_mlp((3, 4, 2), 10 ** 20, seed=0, backend="numpy")
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        init_mlp((3, 2 ** 40, 2), 1, seed=0, backend="numpy")
    # each layer array stays within MAX_ELEMENTS entries (here 2**20 * 2**12 > 2**31)
    with pytest.raises(ValueError, match="n_models"):
        init_mlp((2 ** 12, 1), 2 ** 20, seed=0, backend="numpy")
    assert len(model_seeds(0, 3)) == 3


def test_effective_params_checks_values_unless_told_not_to():
    params, _, _ = _small_batch()
    m = np.ones((2, 3, 4))
    m[1, 2, 3] = 2.0  # would silently double a weight
    with pytest.raises(ValueError, match=r"masks\[0\]"):
        effective_params(params, [m, None])
    fast = effective_params(params, [m, None], check_values=False)
    assert fast[0][0][1, 2, 3] == 2.0 * params[0][0][1, 2, 3]


@pytest.mark.parametrize("scale", [1e300, 1e160])
def test_overflow_is_a_value_error_naming_the_inputs(scale):
    # Finite inputs whose products leave the float64 range: a ValueError naming
    # params (never a RuntimeWarning, which the test settings turn into errors,
    # nor inf/NaN results).
    params, X, y = _small_batch()
    big = [(W * scale, b) for W, b in params]
    vec = [(np.ones_like(W), np.zeros_like(b)) for W, b in params]
    with pytest.raises(ValueError, match="params"):
        hvp(big, X, y, vec)
    with pytest.raises(ValueError, match="params"):
        loss_and_grad(big, X, y)
    with pytest.raises(ValueError, match="params"):
        accuracy([(W * 1e300, b) for W, b in params], X * 1e300, y)


def test_temperature_has_a_documented_minimum():
    from sparsesim.nn import mlp

    params, X, y = _small_batch()
    with pytest.raises(ValueError, match="temperature"):
        loss_value(params, X, y, temperature=5e-324)
    # at the minimum the loss of small logits is still finite
    assert np.isfinite(loss_value(params, X * 1e-9, y, temperature=mlp.MIN_TEMPERATURE)).all()
