"""The low-level passes of a batched ReLU network (sparsesim.nn.passes), against twins.

The twin is one model and one example at a time in float64 (vectors, a Python loop over
layers): the forward pass and the loss straight from their definitions; gradients are
checked against central differences of the twin's loss, and the R-pass (exact
Hessian-vector products) against central differences of the batched gradient.  The
in-place forms (``forward_pass_``, ``backward_pass_``, ``logits_``) are checked bit for bit
against these passes in tests/test_train_bitexact.py.
"""

import math

import numpy as np
import pytest

from sparsesim.nn import passes

SIZES = (4, 5, 5, 3)
RES = (False, True, False)        # the 5 -> 5 layer has a skip connection
B, N = 2, 6


def _problem(seed):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((B, a, b)) / math.sqrt(a) for a, b in zip(SIZES[:-1], SIZES[1:])]
    bs = [0.1 * rng.standard_normal((B, b)) for b in SIZES[1:]]
    X = rng.standard_normal((N, SIZES[0]))
    y = rng.integers(0, SIZES[-1], N)
    return Ws, bs, X, y, rng


def _twin_logits(Ws, bs, x, i):
    """Model i, one example x: z = a W + b, a' = relu(z) (+ a on a skip layer)."""
    a = x
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W[i] + b[i]
        if l == len(Ws) - 1:
            return z
        h = np.maximum(z, 0.0)
        a = h + a if RES[l] else h
    raise AssertionError


def _twin_loss(Ws, bs, X, y, i, loss="cross_entropy", temperature=1.0):
    total = 0.0
    for x, t in zip(X, y):
        z = _twin_logits(Ws, bs, x, i)
        if loss == "mse":
            total += 0.5 * sum((float(zj) - float(tj)) ** 2 for zj, tj in zip(z, t))
        else:
            s = [float(v) / temperature for v in z]
            top = max(s)
            total += top + math.log(sum(math.exp(v - top) for v in s)) - s[int(t)]
    return total / len(X)


def test_forward_pass_equals_the_twin():
    Ws, bs, X, _, _ = _problem(0)
    acts, gates, z = passes.forward_pass(Ws, bs, X[None].repeat(B, 0), RES)
    assert len(acts) == len(Ws) and len(gates) == len(Ws) - 1
    for i in range(B):
        for n in range(N):
            np.testing.assert_allclose(z[i, n], _twin_logits(Ws, bs, X[n], i), rtol=1e-13,
                                       atol=1e-14)
    for l, g in enumerate(gates):             # a gate is where the pre-activation is > 0
        pre = acts[l] @ Ws[l] + bs[l][:, None, :]
        np.testing.assert_array_equal(g, pre > 0)


@pytest.mark.parametrize("loss, temperature", [("cross_entropy", 1.0), ("cross_entropy", 3.0),
                                               ("mse", 1.0)])
def test_loss_head_value_and_logit_gradient(loss, temperature):
    Ws, bs, X, y, rng = _problem(1)
    target = y if loss == "cross_entropy" else rng.standard_normal((B, N, SIZES[-1]))
    _, _, z = passes.forward_pass(Ws, bs, X[None].repeat(B, 0), RES)
    value, dout, _ = passes.loss_head(np, z, target, loss, temperature)
    for i in range(B):
        t = target if loss == "cross_entropy" else target[i]
        assert value[i] == pytest.approx(_twin_loss(Ws, bs, X, t, i, loss, temperature),
                                         rel=1e-13)
    # dL/dz by central differences of the head itself, entry by entry
    h = 1e-6
    for idx in [(0, 0, 0), (1, 3, 2), (0, 5, 1)]:
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        fd = (passes.loss_head(np, zp, target, loss, temperature)[0][idx[0]]
              - passes.loss_head(np, zm, target, loss, temperature)[0][idx[0]]) / (2 * h)
        assert dout[idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_backward_pass_matches_central_differences_of_the_twin_loss():
    Ws, bs, X, y, rng = _problem(2)
    acts, gates, z = passes.forward_pass(Ws, bs, X[None].repeat(B, 0), RES)
    _, dout, _ = passes.loss_head(np, z, y, "cross_entropy", 1.0)
    gW, gb, deltas = passes.backward_pass(Ws, acts, gates, dout, RES)
    np.testing.assert_array_equal(deltas[-1], dout)
    h = 1e-6
    for _ in range(12):
        i, l = int(rng.integers(B)), int(rng.integers(len(Ws)))
        is_bias = bool(rng.integers(2))
        arrs = bs if is_bias else Ws
        idx = (i,) + tuple(int(rng.integers(s)) for s in arrs[l].shape[1:])
        plus = [a.copy() for a in arrs]
        minus = [a.copy() for a in arrs]
        plus[l][idx] += h
        minus[l][idx] -= h
        args_p = (Ws, plus) if is_bias else (plus, bs)
        args_m = (Ws, minus) if is_bias else (minus, bs)
        fd = (_twin_loss(*args_p, X, y, i) - _twin_loss(*args_m, X, y, i)) / (2 * h)
        got = (gb if is_bias else gW)[l][idx]
        assert got == pytest.approx(fd, rel=1e-6, abs=1e-9), (l, is_bias, idx)


@pytest.mark.parametrize("loss, temperature", [("cross_entropy", 2.0), ("mse", 1.0)])
def test_r_pass_is_the_directional_derivative_of_the_gradient(loss, temperature):
    """H v from the R-operator equals (g(θ + h v) − g(θ − h v)) / 2h of the batched
    gradient (falsified by a missing term of the R-pass, e.g. the skip or the bias)."""
    Ws, bs, X, y, rng = _problem(3)
    target = y if loss == "cross_entropy" else rng.standard_normal((B, N, SIZES[-1]))
    XB = X[None].repeat(B, 0)
    vWs = [rng.standard_normal(W.shape) for W in Ws]
    vbs = [rng.standard_normal(b.shape) for b in bs]

    def grads(Ws_, bs_):
        acts, gates, z = passes.forward_pass(Ws_, bs_, XB, RES)
        _, dout, p = passes.loss_head(np, z, target, loss, temperature)
        gW, gb, deltas = passes.backward_pass(Ws_, acts, gates, dout, RES)
        return gW, gb, (acts, gates, deltas, p)

    _, _, (acts, gates, deltas, p) = grads(Ws, bs)
    RgW, Rgb = passes.r_pass(np, Ws, acts, gates, deltas, p, vWs, vbs, RES, loss, temperature,
                             N)
    h = 1e-6
    gp = grads([W + h * v for W, v in zip(Ws, vWs)], [b + h * v for b, v in zip(bs, vbs)])
    gm = grads([W - h * v for W, v in zip(Ws, vWs)], [b - h * v for b, v in zip(bs, vbs)])
    for l in range(len(Ws)):
        fdW = (gp[0][l] - gm[0][l]) / (2 * h)
        fdb = (gp[1][l] - gm[1][l]) / (2 * h)
        scale = max(np.abs(fdW).max(), np.abs(fdb).max(), 1e-3)
        np.testing.assert_allclose(RgW[l], fdW, rtol=0, atol=1e-6 * scale)
        np.testing.assert_allclose(Rgb[l], fdb, rtol=0, atol=1e-6 * scale)


def test_multiply_mask_and_masked_grads():
    a = np.array([[1.5, -2.0, np.nan]])
    m = np.array([[True, False, False]])
    out = passes.multiply_mask(a, m, np.float32)
    assert out.dtype == np.float64                 # a ⊙ m in a's dtype (the mask is cast)
    assert out[0, 0] == 1.5 and out[0, 1] == 0.0 and np.isnan(out[0, 2])   # multiplies
    assert passes.multiply_mask(a, None, np.float64) is a
    gW, gb = [np.ones((1, 2, 3))], [np.ones((1, 3))]
    pairs = [(np.zeros((1, 2, 3), bool), None)]
    (mW, mb), = passes.masked_grads(gW, gb, pairs, np.float64)
    assert not mW.any() and mb is gb[0]
