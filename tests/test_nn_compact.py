"""Tests of structured compaction: the compacted network is the masked network.

Exactness is checked in float64 to 1e-12: a compacted net that drops a live unit,
keeps a wrong index or misroutes a residual changes outputs by O(1).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsesim as ss
from backends import both_backends, tree_to
from sparsesim.backend import to_numpy
from sparsesim.nn import (compact, forward, gather_compact, init_mlp, live_neurons,
                          loss_and_grad, mask_pairs)

F64 = np.float64


def neuron_masks(params, rng, *, keep_frac, unstructured=0.8, bias=False, ragged=True):
    """Masks that remove whole hidden units (incoming columns and outgoing rows).

    ``ragged``: each model keeps its own number of units.
    """
    B = params[0][0].shape[0]
    sizes = [params[0][0].shape[1]] + [W.shape[2] for W, _ in params]
    keep = []
    for h in sizes[1:-1]:
        k = np.maximum(1, rng.binomial(h, keep_frac, size=B)) if ragged else \
            np.full(B, max(1, round(keep_frac * h)))
        kk = np.zeros((B, h), bool)
        for i in range(B):
            kk[i, rng.choice(h, k[i], replace=False)] = True
        keep.append(kk)
    full = [np.ones((B, sizes[0]), bool)] + keep + [np.ones((B, sizes[-1]), bool)]
    masks = []
    for l, (W, b) in enumerate(params):
        mW = full[l][:, :, None] & full[l + 1][:, None, :] & (rng.random(W.shape) < unstructured)
        mb = full[l + 1].copy() if bias else None
        masks.append((mW, mb))
    return masks, keep


def problem(sizes, B=3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    params = init_mlp(sizes, B, seed=seed, backend="numpy", dtype=F64)
    params = [(W, 0.3 * rng.normal(size=b.shape)) for W, b in params]
    X = rng.normal(size=(9, sizes[0]))
    y = rng.integers(0, sizes[-1], 9)
    masks, keep = neuron_masks(params, rng, **kw)
    return params, X, y, masks, keep


def check_exact(params, X, y, masks, residual):
    c = compact(params, masks, residual=residual)
    np.testing.assert_allclose(forward(c.params, X, c.masks, residual=residual),
                               forward(params, X, masks, residual=residual),
                               rtol=1e-12, atol=1e-12)
    L, G = loss_and_grad(params, X, y, masks, residual=residual)
    Lc, Gc = loss_and_grad(c.params, X, y, c.masks, residual=residual)
    np.testing.assert_allclose(Lc, L, rtol=1e-12)
    for (a, b), (ac, bc) in zip(gather_compact(c, G), Gc):
        np.testing.assert_allclose(ac, a, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(bc, b, rtol=1e-12, atol=1e-14)
    # every weight that was dropped has zero masked gradient: the norms agree
    full = sum((a ** 2).sum() + (b ** 2).sum() for a, b in G)
    kept = sum((a ** 2).sum() + (b ** 2).sum() for a, b in Gc)
    np.testing.assert_allclose(kept, full, rtol=1e-12)
    return c


@pytest.mark.parametrize("bias", [False, True])
def test_compacted_equals_masked_forward_and_gradient(bias):
    params, X, y, masks, keep = problem((6, 12, 10, 4), keep_frac=0.4, bias=bias, seed=1)
    c = check_exact(params, X, y, masks, residual=False)
    assert c.sizes[1] < 12 and c.sizes[2] < 10
    # the live sets contain the units the mask kept (possibly fewer: unstructured zeros)
    for lv, kk in zip(live_neurons(params, masks), keep):
        assert not (lv & ~kk).any()
    for n, k in zip(c.n_live, c.kept):
        assert int(n.max()) == k.shape[1]


def test_residual_layers_keep_one_neuron_set():
    params, X, y, masks, _ = problem((5, 9, 9, 9, 3), keep_frac=0.5, seed=2, bias=True)
    c = check_exact(params, X, y, masks, residual=True)
    np.testing.assert_array_equal(c.kept[0], c.kept[1])
    np.testing.assert_array_equal(c.kept[1], c.kept[2])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), keep_frac=st.floats(0.1, 1.0),
       unstructured=st.floats(0.2, 1.0), bias=st.booleans(), residual=st.booleans())
def test_compaction_is_exact_for_random_masks(seed, keep_frac, unstructured, bias, residual):
    params, X, y, masks, _ = problem((4, 7, 7, 3), B=2, seed=seed, keep_frac=keep_frac,
                                     unstructured=unstructured, bias=bias)
    check_exact(params, X, y, masks, residual)


def test_group_pruned_masks_compact_to_dense_layers():
    # Neuron pruning with the sparsity core: keep the 4 incoming columns of largest norm.
    params = init_mlp((8, 16, 3), 2, seed=3, backend="numpy", dtype=F64)
    W0 = params[0][0]
    _, m0 = ss.group_best_q(W0, ss.neuron_groups(W0.shape, "out"), 4)
    bias_mask = m0.any(axis=1)
    masks = [(m0, bias_mask), None]
    c = compact(params, masks)
    assert c.sizes == (8, 4, 3)
    assert c.masks == [None, None]  # what is left is dense
    X = np.random.default_rng(0).normal(size=(5, 8))
    np.testing.assert_allclose(forward(c.params, X), forward(params, X, masks), rtol=1e-12)


def test_live_neuron_rules():
    params = init_mlp((2, 3, 3, 1), 1, seed=0, backend="numpy", dtype=F64)
    ones = [np.ones(W.shape, bool) for W, _ in params]
    # unit 0 of hidden layer 1: no incoming connection but a live bias -> constant relu(b): live
    m = [o.copy() for o in ones]; m[0][0, :, 0] = False
    assert live_neurons(params, m)[0][0].tolist() == [True, True, True]
    # ... with its bias masked it is constant zero -> removed
    assert live_neurons(params, [(m[0], np.array([[0, 1, 1]], bool)), m[1], m[2]])[0][0].tolist() \
        == [False, True, True]
    # unit 2 of hidden layer 2 feeds nothing -> removed; unit 1 of hidden layer 1 feeds only it
    m = [o.copy() for o in ones]; m[2][0, 2, 0] = False
    m[1][0, 1, :] = [False, False, True]
    lv = live_neurons(params, m)
    assert lv[1][0].tolist() == [True, True, False]
    assert lv[0][0].tolist() == [True, False, True]
    # with a skip between the hidden layers both sides keep the union
    lv = live_neurons(params, m, residual=True)
    np.testing.assert_array_equal(lv[0], lv[1])


def test_ragged_models_pad_or_refuse():
    params, X, y, masks, keep = problem((4, 10, 3), B=3, keep_frac=0.5, unstructured=1.0, seed=4)
    counts = [k.sum(1) for k in keep]
    c = compact(params, masks)
    np.testing.assert_array_equal(c.n_live[0], counts[0])
    assert c.sizes[1] == counts[0].max()
    if len(set(counts[0].tolist())) > 1:
        with pytest.raises(ValueError, match="models keep between"):
            compact(params, masks, on_ragged="error")
    with pytest.raises(ValueError, match="masks must be given"):
        compact(params, None)
    with pytest.raises(ValueError, match="on_ragged must be one of"):
        compact(params, masks, on_ragged="truncate")
    assert mask_pairs(c.masks, c.params)  # compacted masks are valid masks


@both_backends
def test_compact_is_the_masked_network_on_each_backend(xp):
    """On NumPy and on CuPy: the kept units are the live ones of the NumPy float64
    reference, and the compacted network computes the masked full network's outputs."""
    params, X, _, masks, _ = problem((6, 12, 12, 4), keep_frac=0.4, bias=True, seed=5)
    g = compact(tree_to(xp, params), tree_to(xp, masks), residual=True)
    ref = compact(params, masks, residual=True)
    for a, b in zip(ref.kept, g.kept):
        assert type(b).__module__.split(".")[0] == xp.__name__
        np.testing.assert_array_equal(to_numpy(b), a)
    full = forward(params, X, masks, residual=True)                  # NumPy float64, uncompacted
    np.testing.assert_allclose(to_numpy(forward(g.params, xp.asarray(X), g.masks, residual=True)),
                               full, rtol=1e-12, atol=1e-12)
