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
- :func:`multiply_mask`, :func:`masked_grads` -- ``a ⊙ m`` in a given dtype (the
  checked, dtype-keeping ``w ⊙ mask`` of the public API is :func:`sparsesim.apply_mask`);
- :class:`StepBuffers`, :func:`forward_pass_`, :func:`backward_pass_`,
  :func:`logits_` -- the same passes written into preallocated arrays (the
  trainer's hot loop and its evaluation): every element gets the same operations in the same
  order as in :func:`forward_pass` / :func:`backward_pass`, so the results are
  bit-identical; only the temporaries are gone.

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

from .._deprecation import renamed_names
from ..kernels import trainer as _trainer_kernels

__all__ = ["forward_pass", "loss_head", "backward_pass", "r_pass", "multiply_mask", "masked_grads",
           "StepBuffers", "forward_pass_", "backward_pass_", "logits_"]


def multiply_mask(a: Any, m: Any, dtype: Any) -> Any:
    """``a ⊙ m`` with the mask cast to ``dtype``; ``a`` itself when ``m`` is None.

    Unchecked, unlike :func:`sparsesim.apply_mask` (which validates, keeps ``w``'s
    dtype and zeroes by ``where``); this one multiplies, so ``nan ⊙ 0`` is ``nan``.

    >>> import numpy as np
    >>> multiply_mask(np.array([[1.5, 2.0]]), np.array([[True, False]]), np.float64).tolist()
    [[1.5, 0.0]]
    """
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
    """Pearlmutter's R-operator: directional derivative of the gradient along v.

    Parameters stay: the state of the forward and reverse passes just run (``acts``,
    ``gates``, ``deltas``, ``p``), the direction (``vWs``, ``vbs``), the skips (``res``)
    and the loss head (``loss``, ``temperature``, ``n``), unchecked, from
    :func:`sparsesim.nn.hvp` and ``grad_and_weight_hvp``, which already hold each piece
    under these names.
    """
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
    return [(multiply_mask(gW, mW, dtype), multiply_mask(gb, mb, dtype))
            for gW, gb, (mW, mb) in zip(grads_W, grads_b, pairs)]



# --------------------------------------------------------------------------- in place

class StepBuffers:
    """Preallocated arrays of one forward and reverse pass of a fixed shape.

    Holds, per layer ``l``, the pre-activation / activation ``acts[l + 1]``
    ``(B, n, sizes[l + 1])`` (the ReLU is applied in place, so ``z_l`` and
    ``a_{l+1}`` share one array), the ReLU gate ``gates[l]`` as 0/1 in the
    parameters' dtype (the reverse pass overwrites it with ``∂L/∂z_l``), the
    gradients ``gW[l]``, ``gb[l]`` and ``∂L/∂a_l`` (``g_a[l]``, ``l >= 1``).
    ``xp.empty`` only: nothing is read before it is written.

    Examples
    --------
    >>> import numpy as np
    >>> buf = StepBuffers(np, 2, 5, (3, 4, 2), np.float32)
    >>> [a.shape for a in buf.z], buf.gW[1].shape, buf.gb[0].dtype
    ([(2, 5, 4), (2, 5, 2)], (2, 4, 2), dtype('float32'))
    """

    def __init__(self, xp, n_models, n, sizes, dtype):
        n_layers = len(sizes) - 1
        self.z = [xp.empty((n_models, n, sizes[l + 1]), dtype=dtype) for l in range(n_layers)]
        self.gates = [xp.empty((n_models, n, sizes[l + 1]), dtype=dtype)
                      for l in range(n_layers - 1)]
        self.gW = [xp.empty((n_models, sizes[l], sizes[l + 1]), dtype=dtype)
                   for l in range(n_layers)]
        self.gb = [xp.empty((n_models, sizes[l + 1]), dtype=dtype) for l in range(n_layers)]
        self.g_a = [None] + [xp.empty((n_models, n, sizes[l]), dtype=dtype)
                             for l in range(1, n_layers)]


def forward_pass_(xp, Ws, bs, X, res, buf):
    """:func:`forward_pass` into ``buf`` (a :class:`StepBuffers`): ``(acts, logits)``.

    ``acts[0]`` is ``X``; ``acts[l]`` and the logits are arrays of ``buf``.
    Bit-identical to :func:`forward_pass`: ``z = a @ W`` (the same matrix
    product), ``+ b``, ``· [z > 0]`` and ``+ a`` (residual), each rounded once.
    The gates are left in ``buf.gates`` (0/1 in the parameters' dtype).

    Examples
    --------
    >>> import numpy as np
    >>> Ws = [np.ones((1, 2, 3)), np.ones((1, 3, 1))]
    >>> bs = [np.zeros((1, 3)), np.zeros((1, 1))]
    >>> buf = StepBuffers(np, 1, 4, (2, 3, 1), np.float64)
    >>> acts, z = forward_pass_(np, Ws, bs, np.ones((1, 4, 2)), (False, False), buf)
    >>> z[0, :, 0].tolist()
    [6.0, 6.0, 6.0, 6.0]
    """
    acts = [X]
    a = X
    n_layers = len(Ws)
    for l in range(n_layers):
        z = buf.z[l]
        xp.matmul(a, Ws[l], out=z)
        last = l == n_layers - 1
        # z + b, then z · [z > 0] (the gate as 1.0 / 0.0) and + a: one CUDA
        # kernel on CuPy, these array operations elsewhere (same bits)
        _trainer_kernels.bias_relu_(xp, z, None if last else buf.gates[l], bs[l],
                                    a if (not last and res[l]) else None, relu=not last)
        if last:
            return acts, z
        acts.append(z)
        a = z
    raise AssertionError  # pragma: no cover


def backward_pass_(xp, Ws, acts, dout, res, buf):
    """:func:`backward_pass` into ``buf`` after :func:`forward_pass_`: ``(gW, gb)``.

    Bit-identical to :func:`backward_pass` (the same products and sums in the
    same order); the gates of ``buf`` are overwritten by the deltas.

    Examples
    --------
    >>> import numpy as np
    >>> Ws = [np.ones((1, 2, 3)), np.ones((1, 3, 1))]
    >>> bs = [np.zeros((1, 3)), np.zeros((1, 1))]
    >>> buf = StepBuffers(np, 1, 4, (2, 3, 1), np.float64)
    >>> acts, z = forward_pass_(np, Ws, bs, np.ones((1, 4, 2)), (False, False), buf)
    >>> gW, gb = backward_pass_(np, Ws, acts, np.ones_like(z), (False, False), buf)
    >>> gW[1][0, :, 0].tolist()
    [8.0, 8.0, 8.0]
    """
    n_layers = len(Ws)
    delta = dout
    g_next = None  # ∂L/∂a_{l+1}
    for l in range(n_layers - 1, -1, -1):
        if l < n_layers - 1:
            delta = xp.multiply(g_next, buf.gates[l], out=buf.gates[l])
        xp.matmul(_swap(acts[l]), delta, out=buf.gW[l])
        xp.sum(delta, axis=1, out=buf.gb[l])
        if l > 0:
            g_a = xp.matmul(delta, _swap(Ws[l]), out=buf.g_a[l])
            if res[l]:
                xp.add(g_a, g_next, out=g_a)
            g_next = g_a
    return buf.gW, buf.gb


def logits_(xp, Ws, bs, X, res, flat):
    """The logits of :func:`forward_pass` computed in three reused flat arrays.

    ``flat`` holds three 1-D arrays of the parameters' dtype, each of at
    least ``B · n · max(widths)`` elements: two for the activations
    (alternately) and one for the gates.  Returns a view of one of them
    (valid until the next call).  Bit-identical to ``forward_pass(...)[2]``
    (the same matrix products on the same operands, then ``+ b``,
    ``· [z > 0]``, ``+ a``); evaluation uses it so that a large chunk of
    examples costs no fresh allocations.

    Examples
    --------
    >>> import numpy as np
    >>> Ws = [np.ones((1, 2, 3)), np.ones((1, 3, 1))]
    >>> bs = [np.zeros((1, 3)), np.zeros((1, 1))]
    >>> flat = [np.empty(12) for _ in range(3)]
    >>> logits_(np, Ws, bs, np.ones((4, 2)), (False, False), flat)[0, :, 0].tolist()
    [6.0, 6.0, 6.0, 6.0]
    """
    n_models = Ws[0].shape[0]
    n = X.shape[-2]
    a = X
    n_layers = len(Ws)
    for l in range(n_layers):
        width = Ws[l].shape[2]
        size = n_models * n * width
        z = flat[l % 2][:size].reshape(n_models, n, width)
        xp.matmul(a, Ws[l], out=z)
        last = l == n_layers - 1
        _trainer_kernels.bias_relu_(xp, z, None if last else flat[2][:size].reshape(z.shape),
                                    bs[l], a if (not last and res[l]) else None,
                                    relu=not last)
        if last:
            return z
        a = z
    raise AssertionError  # pragma: no cover


__getattr__ = renamed_names(__name__, {
    "apply_mask": ("sparsesim.nn.passes.multiply_mask (or the checked sparsesim.apply_mask)",
                   multiply_mask),
})
