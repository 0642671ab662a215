"""Linear mode connectivity (sparsesim.nn.connectivity), against a one-network-at-a-time twin.

The twin builds each interpolant ``(1 − α) θ_A + α θ_B`` of model ``i`` alone, in float64,
masks it by hand and counts its errors with a per-example argmax; the batched function must
give the same error rates exactly (they are counts over the same examples), whatever the
number of interpolants it evaluates per pass.
"""

import numpy as np
import pytest

from backends import both_backends, tree_to
from sparsesim.nn import error_barrier, init_mlp, interpolation_errors

SIZES = (5, 8, 8, 4)
RES = (False, True, False)      # the twin's flags: a skip on the 8 -> 8 layer
RESIDUAL = (1,)                 # the same, as the API takes it


def _pair(seed, B=3):
    kw = dict(backend="numpy", dtype=np.float64, residual=RESIDUAL)
    a = init_mlp(SIZES, B, seed=seed, **kw)
    b = init_mlp(SIZES, B, seed=seed + 100, **kw)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, SIZES[0]))
    y = rng.integers(0, SIZES[-1], 40)
    masks = [rng.random(W.shape) < 0.7 for W, _ in a]
    return a, b, X, y, masks


def _twin_errors(pa, pb, X, y, alphas, masks):
    out = np.empty((pa[0][0].shape[0], len(alphas)))
    for i in range(out.shape[0]):
        for j, al in enumerate(alphas):
            wrong = 0
            for x, t in zip(X, y):
                h = x
                for l, ((Wa, ba), (Wb, bb)) in enumerate(zip(pa, pb)):
                    W = (1 - al) * Wa[i] + al * Wb[i]
                    if masks is not None:
                        W = W * masks[l][i]
                    z = h @ W + ((1 - al) * ba[i] + al * bb[i])
                    if l < len(pa) - 1:
                        z = np.maximum(z, 0.0) + (h if RES[l] else 0.0)
                    h = z
                wrong += int(np.argmax(h) != t)
            out[i, j] = wrong / len(X)
    return out


@pytest.mark.parametrize("with_masks", [False, True])
def test_interpolation_errors_equal_the_twin(with_masks):
    pa, pb, X, y, masks = _pair(0)
    masks = masks if with_masks else None
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    got = interpolation_errors(pa, pb, X, y, alphas, masks=masks, residual=RESIDUAL)
    np.testing.assert_array_equal(got, _twin_errors(pa, pb, X, y, alphas, masks))
    # evaluated one interpolant per pass or all at once: the same counts
    one_by_one = interpolation_errors(pa, pb, X, y, alphas, masks=masks, residual=RESIDUAL,
                                      max_models=1)
    np.testing.assert_array_equal(one_by_one, got)
    assert got.std() > 0      # the endpoints differ: the comparison is not vacuous


@both_backends
def test_interpolation_errors_on_each_backend(xp):
    pa, pb, X, y, masks = _pair(1, B=2)
    alphas = np.linspace(0, 1, 4)
    ref = _twin_errors(pa, pb, X, y, alphas, masks)
    got = interpolation_errors(tree_to(xp, pa), tree_to(xp, pb), xp.asarray(X), xp.asarray(y),
                               alphas, masks=tree_to(xp, masks), residual=RESIDUAL)
    assert type(got) is np.ndarray
    np.testing.assert_array_equal(got, ref)


def test_error_barrier_is_the_rise_above_the_mean_endpoint():
    rng = np.random.default_rng(2)
    e = rng.random((3, 4, 7))
    got = error_barrier(e)
    assert got.shape == (3, 4)
    for idx in np.ndindex(3, 4):
        path = e[idx]
        assert got[idx] == max(path) - (path[0] + path[-1]) / 2
    assert error_barrier([[0.3]]).tolist() == [0.0]       # one point: no rise
    assert error_barrier(np.array([0.4, 0.1, 0.2]))[()] == pytest.approx(0.1)


def test_bad_arguments_are_named():
    pa, pb, X, y, _ = _pair(3)
    with pytest.raises(ValueError, match="alphas"):
        interpolation_errors(pa, pb, X, y, [0.0, 1.5])
    with pytest.raises(TypeError, match="alphas"):
        interpolation_errors(pa, pb, X, y, "01")
    with pytest.raises(ValueError, match="same architecture"):
        interpolation_errors(pa, [(W[:2], b[:2]) for W, b in pb], X, y, [0.5])
    with pytest.raises(TypeError, match="params_b must have the dtype"):
        interpolation_errors(pa, [(W.astype(np.float32), b.astype(np.float32)) for W, b in pb],
                             X, y, [0.5])
    with pytest.raises(ValueError, match="max_models"):
        interpolation_errors(pa, pb, X, y, [0.5], max_models=0)
    with pytest.raises(ValueError, match="errors must be error rates"):
        error_barrier(np.array([[0.1, 1.2]]))
    with pytest.raises(ValueError, match="at least one error"):
        error_barrier(np.zeros((2, 0)))
