"""Tests of saliency scores (SNIP, GraSP, SynFlow, ...) and of mask selection.

Derivative identities are checked against central finite differences in
float64 with relative error <= 1e-6 (a wrong sign, a missing temperature or a
Hessian block taken over the wrong parameters gives O(1) errors).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import sparsesim as ss
from backends import both_backends, tree_to
from sparsesim.backend import to_numpy
from sparsesim.nn import (forward, grasp_scores, hvp, init_mlp, layerwise_densities,
                          loss_and_grad, loss_value, magnitude_scores, mask_pairs, model_seeds,
                          random_scores,
                          reinitialize, saliency_masks, select_mask, shuffle_masks, snip_scores,
                          synflow_scores)

F64 = np.float64


def make_problem(sizes=(5, 6, 6, 3), n_models=2, n=8, *, seed=0, bias_scale=0.1):
    rng = np.random.default_rng(seed)
    params = init_mlp(sizes, n_models, seed=seed, backend="numpy", dtype=F64)
    params = [(W, bias_scale * rng.normal(size=b.shape)) for W, b in params]
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    return params, X, y, rng


def random_masks(params, rng, p=0.7):
    return [rng.random(W.shape) < p for W, _ in params]


def per_model_sum(arrays):
    return sum(a.reshape(a.shape[0], -1).sum(axis=1) for a in arrays)


# --------------------------------------------------------------------------- SNIP

@pytest.mark.parametrize("residual,masked", [(False, False), (True, True)])
def test_snip_is_the_derivative_in_the_mask_variable(residual, masked):
    # d/dt L(W ⊙ (m + t u ⊙ m)) at t = 0 equals Σ (W ⊙ g) ⊙ u: the signed SNIP score.
    params, X, y, rng = make_problem(seed=1)
    masks = random_masks(params, rng) if masked else None
    m = [np.ones(W.shape) if masks is None else masks[l].astype(F64)
         for l, (W, _) in enumerate(params)]
    _, grads = loss_and_grad(params, X, y, masks, residual=residual)
    signed = [W * gW for (W, _), (gW, _) in zip(params, grads)]
    scores = snip_scores(params, X, y, masks, residual=residual)
    for s, sg in zip(scores, signed):
        np.testing.assert_array_equal(s, np.abs(sg))
    if masked:
        assert all(not s[~mk].any() for s, mk in zip(scores, masks))
    u = [rng.normal(size=W.shape) for W, _ in params]
    eps = 1e-5
    L = lambda t: loss_value([(W * (mm + t * uu * mm), b)  # noqa: E731
                              for (W, b), mm, uu in zip(params, m, u)], X, y, residual=residual)
    fd = (L(eps) - L(-eps)) / (2 * eps)
    np.testing.assert_allclose(per_model_sum([sg * uu for sg, uu in zip(signed, u)]), fd,
                               rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       n_in=st.integers(1, 5), n_out=st.integers(2, 4), n_models=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1), loss=st.sampled_from(["cross_entropy", "mse"]),
       masked=st.booleans())
def test_snip_conservation_at_every_hidden_unit(widths, n_in, n_out, n_models, seed, loss, masked):
    """Signed SNIP flow is conserved through every hidden ReLU unit (no residual).

    ReLU is positively homogeneous, so scaling unit j's incoming weights and bias
    by a > 0 and its outgoing weights by 1/a leaves the network function unchanged:
    L(a W_in[:, j], a b[j], W_out[j, :] / a) = L.  Differentiating at a = 1:
        Σ_i W_in[i, j] g_in[i, j] + b[j] gb[j] − Σ_k W_out[j, k] g_out[j, k] = 0.
    Masks keep this (masked entries contribute 0 to both sides).  A gradient with a
    wrong bias term, a transposed layer or a mis-routed delta breaks the equality.
    """
    sizes = (n_in, *widths, n_out)
    rng = np.random.default_rng(seed)
    params = init_mlp(sizes, n_models, seed=seed, backend="numpy", dtype=F64)
    params = [(W, rng.normal(size=b.shape)) for W, b in params]
    X = rng.normal(size=(7, n_in))
    y = rng.integers(0, n_out, 7) if loss == "cross_entropy" else rng.normal(size=(7, n_out))
    masks = [rng.random(W.shape) < 0.6 for W, _ in params] if masked else None
    _, grads = loss_and_grad(params, X, y, masks, loss=loss)
    for l in range(len(params) - 1):
        (W_in, b), (W_out, _) = params[l], params[l + 1]
        (g_in, gb), (g_out, _) = grads[l], grads[l + 1]
        inflow = (W_in * g_in).sum(axis=1) + b * gb               # (B, width)
        outflow = (W_out * g_out).sum(axis=2)                      # (B, width)
        scale = (np.abs(W_in * g_in).sum(axis=1) + np.abs(b * gb)
                 + np.abs(W_out * g_out).sum(axis=2)) + 1e-300
        assert np.all(np.abs(inflow - outflow) <= 1e-12 * scale + 1e-300)


def test_snip_conservation_fails_across_a_residual_unit():
    # Negative control: the identity skip is not homogeneous in the layer's weights alone.
    params, X, y, _ = make_problem(bias_scale=0.5)
    _, grads = loss_and_grad(params, X, y, residual=True)
    inflow = (params[1][0] * grads[1][0]).sum(axis=1) + params[1][1] * grads[1][1]
    outflow = (params[2][0] * grads[2][0]).sum(axis=2)
    assert np.abs(inflow - outflow).max() > 1e-6


# --------------------------------------------------------------------------- GraSP

@pytest.mark.parametrize("T,residual,masked", [(1.0, False, False), (200.0, True, True),
                                               (3.0, True, False)])
def test_grasp_predicts_the_change_of_the_gradient_norm(T, residual, masked):
    """2 Σ_S score = d/dt ‖g_W(θ + t δ)‖² at t = 0 for the removal direction δ = −W on S.

    The first-order change of the squared weight-gradient norm when a small set S of
    weights is removed; the derivative is taken by central differences (removing the
    weights outright would add second-order terms).
    """
    params, X, y, rng = make_problem(seed=2)
    masks = random_masks(params, rng) if masked else None
    scores = grasp_scores(params, X, y, masks, temperature=T, residual=residual)
    pm = mask_pairs(masks, params)
    for trial in range(3):
        S = [rng.random(W.shape) < 0.15 for W, _ in params]
        delta = [(-W * s, np.zeros_like(b)) for (W, b), s in zip(params, S)]

        def gnorm2(t):
            shifted = [(W + t * dW, b) for (W, b), (dW, _) in zip(params, delta)]
            g = loss_and_grad(shifted, X, y, masks, temperature=T, residual=residual)[1]
            return sum((gW ** 2).sum(axis=(1, 2)) for gW, _ in g)

        eps = 1e-4 if T > 10 else 1e-5
        fd = (gnorm2(eps) - gnorm2(-eps)) / (2 * eps)
        want = 2 * per_model_sum([sc * s for sc, s in zip(scores, S)])
        np.testing.assert_allclose(want, fd, rtol=1e-6)
    if masked:
        assert all(not s[~m].any() for s, (m, _) in zip(scores, pm))


def test_grasp_equals_minus_w_times_weight_block_hvp():
    params, X, y, _ = make_problem(seed=3)
    T = 200.0
    _, g = loss_and_grad(params, X, y, temperature=T, residual=True)
    Hg = hvp(params, X, y, [(gW, np.zeros_like(gb)) for gW, gb in g], temperature=T,
             residual=True)
    for s, (W, _), (h, _) in zip(grasp_scores(params, X, y, temperature=T, residual=True),
                                 params, Hg):
        np.testing.assert_allclose(s, -W * h, rtol=1e-12, atol=1e-300)


def test_grasp_rules_official_and_article():
    params, X, y, _ = make_problem(seed=4)
    scores = grasp_scores(params, X, y, temperature=200.0)
    off = saliency_masks("grasp", params, 0.3, X, y, temperature=200.0)
    art = saliency_masks("grasp", params, 0.3, X, y, temperature=200.0, grasp_rule="article")
    for a, b in zip(off, select_mask(scores, 0.3, keep="low")):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(art, select_mask(scores, 0.3, keep="high")):
        np.testing.assert_array_equal(a, b)
    # official keeps the smallest −W⊙Hg: every kept score <= every removed score, per model
    flat_s = np.concatenate([s.reshape(2, -1) for s in scores], 1)
    flat_m = np.concatenate([m.reshape(2, -1) for m in off], 1)
    for i in range(2):
        assert flat_s[i][flat_m[i]].max() <= flat_s[i][~flat_m[i]].min()


# --------------------------------------------------------------------------- SynFlow

def test_synflow_scores_are_theta_times_dR_dtheta():
    params, _, _, rng = make_problem(seed=5)
    _, scores = synflow_scores(params, density=1.0, iterations=1, include_bias=True,
                               residual=True)
    absp = [(np.abs(W), np.abs(b)) for W, b in params]
    u = [(rng.normal(size=W.shape), rng.normal(size=b.shape)) for W, b in params]
    R = lambda t: forward([(W * (1 + t * a), b * (1 + t * c))  # noqa: E731
                           for (W, b), (a, c) in zip(absp, u)], np.ones((1, 5)),
                          residual=True).sum(axis=(1, 2))
    eps = 1e-6
    fd = (R(eps) - R(-eps)) / (2 * eps)
    got = sum((sW * a).sum(axis=(1, 2)) + (sb * c).sum(axis=1)
              for (sW, sb), (a, c) in zip(scores, u))
    np.testing.assert_allclose(got, fd, rtol=1e-6)


def test_synflow_layer_sums_are_conserved_without_biases():
    # With zero biases and no skip, R is homogeneous of degree 1 in each layer's weights,
    # so Σ_layer |θ ⊙ ∂R/∂θ| = R for every layer (Tanaka et al. 2020, conservation).
    params = init_mlp((5, 7, 6, 3), 3, seed=6, backend="numpy", dtype=F64)
    _, scores = synflow_scores(params, density=1.0, iterations=1)
    R = forward([(np.abs(W), b) for W, b in params], np.ones((1, 5))).sum(axis=(1, 2))
    for s in scores:
        np.testing.assert_allclose(s.sum(axis=(1, 2)), R, rtol=1e-12)


def test_synflow_iterative_pruning():
    params, _, _, rng = make_problem((6, 10, 10, 4), n_models=3, seed=7)
    start = random_masks(params, rng, p=0.9)
    masks, scores = synflow_scores(params, density=0.2, iterations=20, masks=start)
    n = sum(W[0].size for W, _ in params)
    kept = per_model_sum(masks)
    np.testing.assert_array_equal(kept, [ss.sparsity.keep_count(0.2, n)] * 3)
    assert all(not (m & ~s).any() for m, s in zip(masks, start))  # never revived
    assert scores[0].dtype == F64
    one, s1 = synflow_scores(params, density=0.2, iterations=1)
    for a, b in zip(one, select_mask(s1, 0.2)):
        np.testing.assert_array_equal(a, b)
    ex, _ = synflow_scores(params, density=0.2, iterations=5, exclude_layers=(2,))
    assert ex[2] is None


# --------------------------------------------------------------------------- mask selection

def reference_select(scores, density, keep, scope):
    """Slow reference: sort (score desc, index asc) per model with lexsort."""
    B = scores[0].shape[0]
    out = [np.zeros(s.shape, bool) for s in scores]
    groups = [list(range(len(scores)))] if scope == "global" else [[l] for l in range(len(scores))]
    for i in range(B):
        for g in groups:
            flat = np.concatenate([scores[l][i].ravel() for l in g]).astype(F64)
            key = flat if keep == "high" else -flat
            k = ss.sparsity.keep_count(density, flat.size)
            order = np.lexsort((np.arange(flat.size), -key))[:k]
            chosen = np.zeros(flat.size, bool); chosen[order] = True
            start = 0
            for l in g:
                size = scores[l][i].size
                out[l][i] = chosen[start:start + size].reshape(scores[l][i].shape)
                start += size
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), density=st.floats(0, 1),
       keep=st.sampled_from(["high", "low"]), scope=st.sampled_from(["global", "layerwise"]),
       n_models=st.integers(1, 3), ties=st.booleans())
def test_select_mask_matches_sorting_reference(seed, density, keep, scope, n_models, ties):
    # Signed scores with many ties, ±0.0 and tiny values: the integer key must keep the
    # exact order and the lower-index tie rule; falsified by any other kept set.
    rng = np.random.default_rng(seed)
    shapes = [(n_models, 3, 4), (n_models, 4, 2)]
    if ties:
        scores = [rng.integers(-2, 3, size=s).astype(F64) for s in shapes]
        scores[0][..., 0] = -0.0  # equal to 0.0 for the order
    else:
        scores = [rng.normal(size=s) * 10.0 ** rng.integers(-300, 300, size=s) for s in shapes]
    got = select_mask(scores, density, keep=keep, scope=scope)
    want = reference_select(scores, density, keep, scope)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_select_mask_structure_existing_masks_and_layer_densities():
    rng = np.random.default_rng(0)
    scores = [rng.random((2, 4, 5)), (rng.random((2, 5, 3)), rng.random((2, 3))), None]
    m = select_mask(scores, 0.5)
    assert m[2] is None and isinstance(m[1], tuple) and m[0].dtype == bool
    np.testing.assert_array_equal(m[0].sum((1, 2)) + m[1][0].sum((1, 2)) + m[1][1].sum(1),
                                  [19, 19])  # floor(0.5*38 + 0.5)
    existing = [rng.random((2, 4, 5)) < 0.5, None, None]
    m2 = select_mask(scores, 0.3, existing_masks=existing)
    assert not (m2[0] & ~existing[0]).any()
    lw = select_mask(scores, 0.5, scope="layerwise", layer_densities=[0.25, 1.0, None])
    np.testing.assert_array_equal(lw[0].sum((1, 2)), [5, 5])
    assert lw[1][0].all() and lw[1][1].all() and lw[2] is None
    with pytest.raises(ValueError, match="existing_masks leaves only"):
        select_mask(scores, 0.9, scope="layerwise", existing_masks=existing)


def test_select_mask_is_per_model():
    rng = np.random.default_rng(1)
    scores = [rng.normal(size=(4, 6, 5)), rng.normal(size=(4, 5, 2))]
    both = select_mask(scores, 0.3, keep="low")
    for i in range(4):
        alone = select_mask([s[i:i + 1] for s in scores], 0.3, keep="low")
        for a, b in zip(both, alone):
            np.testing.assert_array_equal(a[i:i + 1], b)


def test_layerwise_densities():
    assert layerwise_densities(0.2, 3) == (0.2, 0.2, 0.6)
    assert layerwise_densities(0.2, 3, output_rate=0.0) == (0.2, 0.2, 1.0)
    # Frankle & Carbin: 20% per round, output 10%: after 5 rounds 0.8^5 and 0.9^5
    d = layerwise_densities(0.8 ** 5, 3, per_round_rate=0.2)
    np.testing.assert_allclose(d, (0.8 ** 5, 0.8 ** 5, 0.9 ** 5), rtol=1e-12)
    with pytest.raises(ValueError, match="output_rate"):
        layerwise_densities(0.5, 3, output_rate=2.0)


def test_saliency_masks_methods_and_exclusions():
    params, X, y, rng = make_problem((5, 8, 8, 3), n_models=2, seed=8)
    start = random_masks(params, rng, p=0.8)
    for method in ("magnitude", "random", "snip", "grasp", "synflow"):
        m = saliency_masks(method, params, 0.3, X, y, masks=start, seed=1, iterations=5,
                           exclude_layers=(2,))
        assert m[2] is start[2]  # excluded layers keep their mask
        assert not any((a & ~s).any() for a, s in zip(m[:2], start[:2]))
        n = sum(W[0].size for W, _ in params[:2])
        np.testing.assert_array_equal(per_model_sum(m[:2]), [ss.sparsity.keep_count(0.3, n)] * 2)
    mag = saliency_masks("magnitude", params, 0.25, include_bias=True)
    assert isinstance(mag[0], tuple) and mag[0][1].shape == (2, 8)
    with pytest.raises(ValueError, match="needs a batch of data"):
        saliency_masks("snip", params, 0.5)
    with pytest.raises(ValueError, match="needs seed"):
        saliency_masks("random", params, 0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        saliency_masks("obd", params, 0.5)
    with pytest.raises(ValueError, match="grasp_rule must be one of"):
        saliency_masks("grasp", params, 0.5, X, y, grasp_rule="inverse")


def test_magnitude_and_random_scores():
    params, _, _, _ = make_problem(seed=9)
    mag = magnitude_scores(params, include_bias=True)
    np.testing.assert_array_equal(mag[1][0], np.abs(params[1][0]))
    np.testing.assert_array_equal(mag[1][1], np.abs(params[1][1]))
    r1, r2 = random_scores(params, seed=3), random_scores(params, seed=3)
    np.testing.assert_array_equal(r1[0], r2[0])
    assert not np.array_equal(r1[0], random_scores(params, seed=4)[0])


# --------------------------------------------------------------------------- ablations

def test_shuffle_masks_keeps_counts_and_is_uniform():
    # 4000 models, each with one kept entry among 4: after shuffling its position must be
    # uniform.  Chi-square goodness of fit at alpha = 1e-4 (false alarm rate 1e-4).
    B = 4000
    m = np.zeros((B, 2, 2), bool); m[:, 0, 0] = True
    pair = (np.ones((B, 2, 2), bool), np.zeros((B, 2), bool))
    out = shuffle_masks([m, pair, None], seed=0)
    assert out[2] is None and out[1][0].all() and not out[1][1].any()
    np.testing.assert_array_equal(out[0].sum((1, 2)), np.ones(B))
    counts = out[0].reshape(B, 4).sum(0)
    assert stats.chisquare(counts).pvalue > 1e-4
    again = shuffle_masks([m, pair, None], seed=0)
    np.testing.assert_array_equal(out[0], again[0])


def test_shuffle_masks_seeds_each_model_on_its_own():
    """An int seed is model_seeds(seed, B): model i's masks depend on its own seed only, so
    a model shuffled alone (its seed given as a one-element list) matches its row in the
    batch, and a mask array alone matches the W part of a (W, None) pair."""
    rng = np.random.default_rng(3)
    m = rng.random((5, 4, 6)) < 0.5
    b = rng.random((5, 6)) < 0.5
    out = shuffle_masks([(m, b)], seed=11)
    seeds = model_seeds(11, 5)
    for i in range(5):
        alone = shuffle_masks([(m[i:i + 1], b[i:i + 1])], seed=[seeds[i]])
        np.testing.assert_array_equal(alone[0][0][0], out[0][0][i])
        np.testing.assert_array_equal(alone[0][1][0], out[0][1][i])
    np.testing.assert_array_equal(shuffle_masks([m], seed=11)[0],
                                  shuffle_masks([(m, None)], seed=11)[0][0])
    assert not np.array_equal(out[0][0], shuffle_masks([(m, b)], seed=12)[0][0])
    with pytest.raises(ValueError, match="n_models=5"):
        shuffle_masks([m, b[:2]], seed=0)
    with pytest.raises(ValueError, match="seed"):
        shuffle_masks([m], seed=[0, 1])


def test_reinitialize():
    params = init_mlp((4, 6, 2), 3, seed=0, backend="numpy", dtype=F64)
    new = reinitialize(params, seed=5, init="glorot_normal")
    ref = init_mlp((4, 6, 2), 3, seed=5, backend="numpy", dtype=F64, init="glorot_normal")
    for (a, b), (c, d) in zip(new, ref):
        np.testing.assert_array_equal(a, c)
        assert a.dtype == F64


# --------------------------------------------------------------------------- bad input

def test_bad_input_raises_naming_the_argument():
    params, X, y, _ = make_problem()
    scores = magnitude_scores(params)
    with pytest.raises(ValueError, match="density must be in"):
        select_mask(scores, 1.5)
    with pytest.raises(ValueError, match="scope must be one of"):
        select_mask(scores, 0.5, scope="blockwise")
    with pytest.raises(ValueError, match="keep must be one of"):
        select_mask(scores, 0.5, keep="middle")
    bad = [s.copy() for s in scores]; bad[0][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"scores\[0\] W must not contain NaN"):
        select_mask(bad, 0.5)
    with pytest.raises(ValueError, match="share the leading model axis"):
        select_mask([scores[0], scores[1][:1]], 0.5)
    with pytest.raises(ValueError, match="layer_densities needs scope='layerwise'"):
        select_mask(scores, 0.5, layer_densities=[0.5] * 3)
    with pytest.raises(ValueError, match="layer_densities must hold one density"):
        select_mask(scores, 0.5, scope="layerwise", layer_densities=[0.5])
    with pytest.raises(ValueError, match=r"existing_masks\[1\] W must have the shape"):
        select_mask(scores, 0.5, existing_masks=[None, scores[0] > 0, None])
    with pytest.raises(ValueError, match="temperature"):
        grasp_scores(params, X, y, temperature=0.0)
    with pytest.raises(ValueError, match="y must hold class ids"):
        snip_scores(params, X, y + 10)
    with pytest.raises(ValueError, match="iterations must be in"):
        synflow_scores(params, density=0.5, iterations=0)
    with pytest.raises(ValueError, match="exclude_layers entry must be in"):
        saliency_masks("magnitude", params, 0.5, exclude_layers=(5,))


# --------------------------------------------------------------------------- GPU

@both_backends
def test_scores_and_masks_on_each_backend(xp):
    """On NumPy and on CuPy: SNIP and GraSP scores equal the NumPy float64 reference
    computed one model at a time, and the masks selected from them equal NumPy's."""
    params, X, y, rng = make_problem(seed=10)
    gp = tree_to(xp, params)
    take = lambda pl, i: [(W[i:i + 1], b[i:i + 1]) for W, b in pl]  # noqa: E731
    for f in (lambda p, x, t: snip_scores(p, x, t, residual=True),
              lambda p, x, t: grasp_scores(p, x, t, temperature=200.0, residual=True)):
        per = [f(take(params, i), X, y) for i in range(len(params[0][0]))]  # NumPy float64
        s_np = [np.concatenate([s[l] for s in per]) for l in range(len(params))]
        s_xp = f(gp, xp.asarray(X), xp.asarray(y))
        for a, b in zip(s_np, s_xp):
            assert type(b).__module__.split(".")[0] == xp.__name__
            np.testing.assert_allclose(to_numpy(b), a, rtol=1e-10, atol=1e-300)
        # identical integer keys -> identical masks whenever the scores are bitwise equal
        m_np = select_mask(s_np, 0.3, keep="low")
        m_xp = select_mask([xp.asarray(a) for a in s_np], 0.3, keep="low")
        for a, b in zip(m_np, m_xp):
            np.testing.assert_array_equal(to_numpy(b), a)
    m, _ = synflow_scores(gp, density=0.3, iterations=5)
    assert type(m[0]).__module__.split(".")[0] == xp.__name__
    sh = shuffle_masks([xp.asarray(a) for a in m], seed=0)
    np.testing.assert_array_equal(to_numpy(sh[0].sum(axis=(1, 2))),
                                  to_numpy(m[0].sum(axis=(1, 2))))


# --------------------------------------------------------------------------- limits

def test_layerwise_densities_tiny_rates_tend_to_the_limit():
    # (1 - c r)^(ln ρ / ln(1 - r)) -> ρ^c as r -> 0; 1 - r rounds to 1 below ~1e-16,
    # which used to divide by zero.  Falsified by a jump between the exact formula
    # (r >= 1e-3), the log1p form and the series (r < 1e-8).
    lim = 0.2 ** 0.5
    for r in (1e-53, 5e-324, 1e-12, 1e-9):
        assert layerwise_densities(0.2, 3, per_round_rate=r)[2] == pytest.approx(lim, rel=1e-8)
    a = layerwise_densities(0.2, 3, per_round_rate=1e-3 * (1 - 1e-12))[2]
    b = layerwise_densities(0.2, 3, per_round_rate=1e-3)[2]
    assert a == pytest.approx(b, rel=1e-12)
    a = layerwise_densities(0.2, 3, per_round_rate=1e-8 * (1 - 1e-12))[2]
    b = layerwise_densities(0.2, 3, per_round_rate=1e-8)[2]
    assert a == pytest.approx(b, rel=1e-14)
    assert layerwise_densities(0.2, 3, output_rate=0.0, per_round_rate=1e-53)[2] == 1.0


def test_counts_and_scales_beyond_the_bounds_are_refused():
    from sparsesim.nn import saliency

    p = init_mlp((3, 4, 2), 2, seed=0, backend="numpy", dtype=F64)
    with pytest.raises(ValueError, match="iterations"):
        synflow_scores(p, density=0.5, iterations=saliency.MAX_SYNFLOW_ITERATIONS + 1)
    with pytest.raises(ValueError, match="n_layers"):
        layerwise_densities(0.2, saliency.MAX_LAYERS + 1)
    half = [(W.astype(np.float16), b.astype(np.float16)) for W, b in p]
    for f in (random_scores, reinitialize):
        with pytest.raises(TypeError, match="params"):
            f(half, seed=1)


def test_synflow_overflow_is_a_value_error_naming_params():
    # R is a product of layer norms: 1e200-sized weights overflow float64.
    p = init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=F64)
    big = [(W * 1e200, b) for W, b in p]
    with pytest.raises(ValueError, match="params"):
        synflow_scores(big, density=0.5, iterations=2)
