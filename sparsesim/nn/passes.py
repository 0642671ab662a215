"""The low-level passes of a batched ReLU network, on effective parameters.

These are the kernels behind :mod:`sparsesim.nn.mlp` (and the saliency scores
of :mod:`sparsesim.nn.saliency`): no validation, no masks beyond multiplying
by them, arrays of any backend.  ``Ws``/``bs`` are the effective weights and
biases per layer (``(B, fan_in, fan_out)`` and ``(B, fan_out)``), ``res`` the
per-layer skip flags of :func:`sparsesim.nn.mlp.residual_layers`.

- :func:`forward_pass` -- activations, ReLU gates and logits;
- :func:`loss_head` -- per-model loss and its gradient w.r.t. the logits;
- :func:`backward_pass` -- the reverse pass (gradients and deltas);
- :func:`r_pass` -- Pearlmutter's R-operator (exact Hessian-vector products);
- :func:`apply_mask`, :func:`masked_grads` -- ``a ⊙ m`` in a given dtype.

Callers validate first (:func:`sparsesim.nn.mlp.check_params` and friends).

Examples
--------
>>> import numpy as np
>>> Ws = [np.ones((1, 2, 3)), np.ones((1, 3, 1))]
>>> bs = [np.zeros((1, 3)), np.zeros((1, 1))]
>>> acts, gates, z = forward_pass(Ws, bs, np.ones((4, 2)), (False, False))
>>> z[0, :, 0].tolist(), len(acts), len(gates)
([6.0, 6.0, 6.0, 6.0], 2, 1)
>>> gW, gb, _ = backward_pass(Ws, acts, gates, np.ones_like(z), (False, False))
>>> gW[1][0, :, 0].tolist()
[8.0, 8.0, 8.0]
"""

from __future__ import annotations

from typing import Any

__all__ = ["forward_pass", "loss_head", "backward_pass", "r_pass", "apply_mask", "masked_grads"]


def apply_mask(a: Any, m: Any, dtype: Any) -> Any:
    """``a ⊙ m`` with the mask cast to ``dtype``; ``a`` itself when ``m`` is None."""
    if m is None:
        return a
    return a * m.astype(dtype, copy=False)


def _swap(a):
    return a.swapaxes(-1, -2)


def forward_pass(Ws, bs, X, res):
    """Activations ``a_0..a_{L-1}``, ReLU gates ``d_0..d_{L-2}`` and the logits."""
    acts = [X]
    gates = []
    a = X
    n_layers = len(Ws)
    for l in range(n_layers):
        z = a @ Ws[l] + bs[l][:, None, :]
        if l == n_layers - 1:
            return acts, gates, z
        gate = z > 0
        h = z * gate
        if res[l]:
            h = h + a
        gates.append(gate)
        acts.append(h)
        a = h
    raise AssertionError  # pragma: no cover


def _labels_onehot(xp, y, n_out):
    return xp.arange(n_out)[None, None, :] == (y[None, :, None] if y.ndim == 1 else y[:, :, None])


def loss_head(xp, z, y, loss, temperature):
    """Per-model loss, its gradient w.r.t. the logits and what the R-pass needs."""
    n = z.shape[1]
    if loss == "mse":
        diff = z - y
        value = 0.5 * (diff * diff).sum(axis=(1, 2)) / n
        return value, diff / n, None
    s = z / temperature if temperature != 1.0 else z
    smax = s.max(axis=2, keepdims=True)
    shifted = s - smax
    expo = xp.exp(shifted)
    sumexp = expo.sum(axis=2, keepdims=True)
    lse = xp.log(sumexp) + smax                      # (B, n, 1)
    onehot = _labels_onehot(xp, y, z.shape[2])
    s_y = (s * onehot).sum(axis=2, keepdims=True)
    value = (lse - s_y)[:, :, 0].mean(axis=1)
    p = expo / sumexp
    dout = (p - onehot) / (n * temperature)
    return value, dout, p


def backward_pass(Ws, acts, gates, dout, res):
    """Gradients w.r.t. the effective parameters and the deltas ``∂L/∂z_l``."""
    n_layers = len(Ws)
    gW = [None] * n_layers
    gb = [None] * n_layers
    deltas = [None] * n_layers
    delta = dout
    g_next = None  # ∂L/∂a_{l+1}
    for l in range(n_layers - 1, -1, -1):
        if l < n_layers - 1:
            delta = g_next * gates[l]
        deltas[l] = delta
        gW[l] = _swap(acts[l]) @ delta
        gb[l] = delta.sum(axis=1)
        if l > 0:
            g_a = delta @ _swap(Ws[l])
            if res[l]:
                g_a = g_a + g_next
            g_next = g_a
    return gW, gb, deltas


def r_pass(xp, Ws, acts, gates, deltas, p, vWs, vbs, res, loss, temperature, n):
    """Pearlmutter's R-operator: directional derivative of the gradient along v."""
    n_layers = len(Ws)
    # forward: R{z_l}, R{a_l}
    Ra = [None] * n_layers  # R{a_l}; a_0 = X is fixed, R{a_0} = 0 (None)
    Rz = None
    for l in range(n_layers):
        Rz = acts[l] @ vWs[l] + vbs[l][:, None, :]
        if Ra[l] is not None:
            Rz = Rz + Ra[l] @ Ws[l]
        if l < n_layers - 1:
            Rh = Rz * gates[l]
            if res[l] and Ra[l] is not None:
                Rh = Rh + Ra[l]
            Ra[l + 1] = Rh
    # output: R{∂L/∂z}
    if loss == "mse":
        Rdout = Rz / n
    else:
        Rs = Rz / temperature if temperature != 1.0 else Rz
        pRs = p * Rs
        Rdout = (pRs - p * pRs.sum(axis=2, keepdims=True)) / (n * temperature)
    # backward
    RgW = [None] * n_layers
    Rgb = [None] * n_layers
    Rdelta = Rdout
    Rg_next = None
    for l in range(n_layers - 1, -1, -1):
        if l < n_layers - 1:
            Rdelta = Rg_next * gates[l]
        RgW[l] = _swap(acts[l]) @ Rdelta
        if Ra[l] is not None:
            RgW[l] = RgW[l] + _swap(Ra[l]) @ deltas[l]
        Rgb[l] = Rdelta.sum(axis=1)
        if l > 0:
            Rg = Rdelta @ _swap(Ws[l]) + deltas[l] @ _swap(vWs[l])
            if res[l]:
                Rg = Rg + Rg_next
            Rg_next = Rg
    return RgW, Rgb


def masked_grads(grads_W, grads_b, pairs, dtype):
    """Per-layer ``(gW ⊙ mW, gb ⊙ mb)`` for the ``(mW, mb)`` mask ``pairs``."""
    return [(apply_mask(gW, mW, dtype), apply_mask(gb, mb, dtype))
            for gW, gb, (mW, mb) in zip(grads_W, grads_b, pairs)]

