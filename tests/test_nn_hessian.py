"""The masked Hessian of a batched MLP as an operator (sparsesim.nn.hessian).

Each property is stated as what would falsify it; the references are float64 NumPy:
central differences of the exact gradient, the full Hessian's rows and columns, the
Hessian of the physically compacted subnetwork, and dense ``eigvalsh``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends import both_backends, tree_to
from sparsesim.backend import to_numpy
from sparsesim.geometry import lanczos_extremes
from sparsesim.nn import mlp as nn_mlp
from sparsesim.nn.hessian import mlp_masked_hessian_operator, model_slice


def _dense_hessian_by_hvp(params, X, y, masks, **kw):
    """The full Hessian of a tiny net, column by column (tests only)."""
    op = mlp_masked_hessian_operator(params, X, y, None, **kw)
    return op.to_dense()


def _tiny_problem(seed, sizes=(3, 5, 4, 3), n_models=2, n=16):
    rng = np.random.default_rng(seed)
    params = nn_mlp.init_mlp(sizes, n_models, seed=seed, backend="numpy", dtype=np.float64)
    params = [(W, b + 0.1 * rng.standard_normal(b.shape)) for W, b in params]
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return params, X, y, rng


def test_mlp_operator_is_symmetric_and_matches_finite_differences():
    # Falsified if the HVP operator were not the Hessian of loss(theta*m) on the
    # active coordinates: central differences of the gradient must agree.
    params, X, y, rng = _tiny_problem(0)
    masks = [rng.random(W.shape) < 0.6 for W, _ in params]
    op = mlp_masked_hessian_operator(params, X, y, masks, model=1)
    Hd = op.to_dense()
    np.testing.assert_allclose(Hd, Hd.T, atol=1e-12 * np.abs(Hd).max())
    # finite differences on model 1, along a random active direction
    v = rng.standard_normal(op.dim)
    # ReLU makes the gradient discontinuous where a pre-activation crosses 0;
    # this draw has a pre-activation 1.6e-5 from a kink, so the step is
    # kept small (1e-7: round-off error ~1e-9, far below the tolerance).
    eps = 1e-7
    idxs = [(np.flatnonzero(m[1].reshape(-1)), np.arange(b.shape[1]))
            for m, (_, b) in zip(masks, params)]

    def shifted(sign):
        out, off = [], 0
        for (W, b), (wi, bi) in zip(params, idxs):
            W2, b2 = W.copy(), b.copy()
            flat = W2[1].reshape(-1)
            flat[wi] += sign * eps * v[off:off + wi.size]; off += wi.size
            W2[1] = flat.reshape(W2[1].shape)
            b2[1, bi] += sign * eps * v[off:off + bi.size]; off += bi.size
            out.append((W2, b2))
        return out

    def flat_grad(p):
        _, g = nn_mlp.loss_and_grad(p, X, y, masks)
        return np.concatenate([np.concatenate([gW[1].reshape(-1)[wi], gb[1][bi]])
                               for (gW, gb), (wi, bi) in zip(g, idxs)])

    fd = (flat_grad(shifted(+1)) - flat_grad(shifted(-1))) / (2 * eps)
    np.testing.assert_allclose(op.matvec(v), fd, rtol=1e-5, atol=1e-6)


def test_mlp_masked_operator_is_submatrix_of_full_hessian():
    # P_m H P_m restricted: the masked operator equals the rows/columns of the
    # full Hessian evaluated at the masked weights.  Falsified by any entry off.
    params, X, y, rng = _tiny_problem(1, n_models=1)
    masks = [rng.random(W.shape) < 0.5 for W, _ in params]
    eff = nn_mlp.effective_params(params, masks)
    full = mlp_masked_hessian_operator(eff, X, y, None).to_dense()
    op = mlp_masked_hessian_operator(params, X, y, masks)
    keep = np.concatenate([np.concatenate([m[0].reshape(-1), np.ones(b.shape[1], bool)])
                           for m, (_, b) in zip(masks, params)])
    np.testing.assert_allclose(op.to_dense(), full[np.ix_(keep, keep)],
                               atol=1e-12 * np.abs(full).max())


@pytest.mark.parametrize("seed", [0, 1])
def test_hvp_lanczos_agrees_with_dense_eigh(seed):
    # Falsified if Lanczos on HVPs missed the dense spectrum by > 1e-6 relative.
    params, X, y, rng = _tiny_problem(seed, sizes=(6, 12, 10, 4), n_models=2, n=40)
    masks = [rng.random(W.shape) < 0.5 for W, _ in params]
    op = mlp_masked_hessian_operator(params, X, y, masks, model=0)
    ref = np.linalg.eigvalsh(op.to_dense())
    s = lanczos_extremes(op, k=4, tol=1e-9)
    scale = np.abs(ref).max()
    assert abs(s.lambda_max - ref[-1]) <= 1e-6 * scale
    assert abs(s.lambda_min - ref[0]) <= 1e-6 * scale
    if s.n_negative_exact:
        assert s.n_negative == int(np.sum(ref < -s.zero_tol))


def _neuron_masks(params, keep_hidden):
    """Weight and bias masks that remove hidden neurons (engine (mW, mb) format)."""
    masks = []
    n_layers = len(params)
    for l, (W, b) in enumerate(params):
        mW = np.ones(W.shape, bool)
        mb = np.ones(b.shape, bool)
        if l < n_layers - 1:  # outgoing neurons of layer l
            mW &= keep_hidden[l][None, None, :]
            mb &= keep_hidden[l][None, :]
        if l > 0:             # incoming rows from removed neurons
            mW &= keep_hidden[l - 1][None, :, None]
        masks.append((mW, mb))
    return masks


def _compact_directly(params, keep_hidden):
    """The subnetwork without the removed neurons, by slicing."""
    out = []
    for l, (W, b) in enumerate(params):
        rows = np.arange(W.shape[1]) if l == 0 else np.flatnonzero(keep_hidden[l - 1])
        cols = (np.flatnonzero(keep_hidden[l]) if l < len(params) - 1
                else np.arange(W.shape[2]))
        out.append((W[:, rows][:, :, cols].copy(), b[:, cols].copy()))
    return out


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_neuron_masked_spectrum_equals_compacted_subnetwork(seed):
    # Removing neurons by masks and removing them physically give the same
    # restricted landscape, so the spectra must coincide (up to round-off).
    params, X, y, rng = _tiny_problem(seed % 1000, sizes=(4, 7, 6, 3), n_models=1, n=20)
    keep_hidden = [rng.random(7) < 0.6, rng.random(6) < 0.6]
    for kh in keep_hidden:
        kh[rng.integers(kh.size)] = True   # keep at least one neuron per layer
    masks = _neuron_masks(params, keep_hidden)
    op = mlp_masked_hessian_operator(params, X, y, masks)
    a = np.linalg.eigvalsh(op.to_dense())
    tol = 1e-10 * max(1.0, np.abs(a).max())
    # (1) the engine's compaction
    from sparsesim.nn.compact import compact  # noqa: PLC0415

    c = compact(params, masks)
    assert [int(k.shape[1]) for k in c.kept] == [int(kh.sum()) for kh in keep_hidden]
    ref_op = mlp_masked_hessian_operator(c.params, X, y, c.masks)
    assert op.dim == ref_op.dim
    np.testing.assert_allclose(a, np.linalg.eigvalsh(ref_op.to_dense()), atol=tol)
    # (2) an independent slicing of the small network (unmasked)
    small = _compact_directly(params, keep_hidden)
    ref2 = mlp_masked_hessian_operator(small, X, y, None)
    assert op.dim == ref2.dim
    np.testing.assert_allclose(a, np.linalg.eigvalsh(ref2.to_dense()), atol=tol)


def test_mlp_operator_bad_input():
    params, X, y, rng = _tiny_problem(0)
    with pytest.raises(ValueError, match="model must be in"):
        mlp_masked_hessian_operator(params, X, y, None, model=2)
    with pytest.raises(ValueError, match="masks"):
        mlp_masked_hessian_operator(params, X, y, [np.ones((2, 3, 5), bool)], model=0)
    with pytest.raises(ValueError):
        mlp_masked_hessian_operator(params, X, y, [np.ones((2, 4, 5), bool), None, None])
    zero = [np.zeros(W.shape, bool) for W, _ in params]
    with pytest.raises(ValueError, match="keep no coordinate"):
        mlp_masked_hessian_operator(params, X, y, zero, include_bias=False)


def test_bias_coordinates_can_be_excluded():
    params, X, y, rng = _tiny_problem(2, n_models=1)
    with_b = mlp_masked_hessian_operator(params, X, y, None)
    without = mlp_masked_hessian_operator(params, X, y, None, include_bias=False)
    n_b = sum(b.shape[1] for _, b in params)
    assert with_b.dim - without.dim == n_b
    keep = np.concatenate([np.concatenate([np.ones(W[0].size, bool), np.zeros(b.shape[1], bool)])
                           for W, b in params])
    np.testing.assert_allclose(without.to_dense(), with_b.to_dense()[np.ix_(keep, keep)],
                               atol=1e-13)


@both_backends
def test_operator_on_each_backend_matches_the_numpy_float64_hessian(xp):
    """On NumPy and on CuPy: products equal the NumPy operator's, and Lanczos on the
    operator finds the top of the dense float64 spectrum."""
    params, X, y, rng = _tiny_problem(3, sizes=(6, 12, 10, 4), n_models=1, n=40)
    masks = [rng.random(W.shape) < 0.5 for W, _ in params]
    op = mlp_masked_hessian_operator(params, X, y, masks)
    op_x = mlp_masked_hessian_operator(tree_to(xp, params), xp.asarray(X), xp.asarray(y),
                                       tree_to(xp, masks))
    v = rng.standard_normal(op.dim)
    np.testing.assert_allclose(to_numpy(op_x.matvec(xp.asarray(v))), op.matvec(v),
                               rtol=1e-10, atol=1e-12)
    s = lanczos_extremes(op_x, k=2, tol=1e-8)
    ref = np.linalg.eigvalsh(op.to_dense())
    assert abs(s.lambda_max - ref[-1]) <= 1e-6 * np.abs(ref).max()


def test_per_model_data_is_sliced_to_the_model():
    """X of shape (B, n, n_in) and per-model y: model i's operator is the operator of
    model i alone on its own data (falsified by a slice of the wrong model)."""
    params, _, _, rng = _tiny_problem(4, n_models=3)
    X = rng.standard_normal((3, 12, 3))
    y = rng.integers(0, 3, (3, 12))
    for i in range(3):
        alone = [(W[i:i + 1], b[i:i + 1]) for W, b in params]
        got = mlp_masked_hessian_operator(params, X, y, None, model=i).to_dense()
        ref = mlp_masked_hessian_operator(alone, X[i], y[i], None).to_dense()
        np.testing.assert_array_equal(got, ref)


def test_model_slice_keeps_what_has_no_model_axis():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(model_slice(a, 1, 2, 3), a[1:2])
    one = a[0]
    assert model_slice(one, 1, 2, 3) is one      # no model axis (ndim 2): as given
    assert model_slice(a, 1, 5, 3) is a          # wrong batch: left to the engine's check
    assert model_slice(None, 0, 2, 3) is None
