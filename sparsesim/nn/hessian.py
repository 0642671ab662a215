"""The masked Hessian of a batched MLP as a matrix-free operator.

:func:`mlp_masked_hessian_operator` wraps the exact Hessian-vector product of
:mod:`sparsesim.nn.mlp` (Pearlmutter's R-operator) restricted to the kept
coordinates of one model in a :class:`sparsesim.geometry.MaskedHessianOperator`,
so that :func:`sparsesim.geometry.lanczos_extremes` and
:func:`sparsesim.geometry.estimate_negative_count` see a network's masked
Hessian like any other.  ``nn`` imports ``geometry``, never the reverse.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import check_int
from ..backend import namespace_of
from ..geometry import MaskedHessianOperator
from . import mlp

__all__ = ["mlp_masked_hessian_operator", "model_slice"]


def model_slice(a: Any, model: int, n_models: int, per_model_ndim: int) -> Any:
    """``a[model:model+1]`` when ``a`` carries the model axis (``ndim == per_model_ndim``)."""
    if a is None or not hasattr(a, "ndim") or a.ndim != per_model_ndim:
        return a
    if a.shape[0] != n_models:
        return a  # the engine reports the mismatch with its own message
    return a[model:model + 1]


def mlp_masked_hessian_operator(params: Sequence[tuple[Any, Any]], X: Any, y: Any,
                                masks: Any = None, model: int = 0, *,
                                include_bias: bool = True, loss: str = "cross_entropy",
                                temperature: float = 1.0,
                                residual: Any = False) -> MaskedHessianOperator:
    """The masked Hessian of one model of a batched MLP, as an operator.

    The loss is ``L(θ ⊙ m)`` as computed by :func:`sparsesim.nn.mlp.loss_and_grad`
    with ``masks``; its Hessian with respect to the kept coordinates at the
    current (effective, masked) weights is ``P_m H P_m`` restricted to them.
    Each product is one exact Hessian-vector product
    (:func:`sparsesim.nn.mlp.hvp`, Pearlmutter's R-operator) of model
    ``model`` alone (the other models of the batch are not computed); the
    Hessian is never formed.  The operator's dtype is the parameters' dtype:
    use float64 parameters for eigenvalues to ``1e-6`` relative accuracy.

    Flattening order (the operator's coordinates): for each layer in order,
    the kept entries of ``W[model]`` (row-major over ``(fan_in, fan_out)``),
    then that layer's kept biases (all biases unless the layer's mask is a
    ``(mW, mb)`` pair whose ``mb`` prunes some; none with ``include_bias=False``).

    Parameters stay: those of :func:`sparsesim.nn.hvp` (point, data, objective) with the
    model picked (``model``) and ``include_bias``.

    Parameters
    ----------
    params : list of (W, b)
        ``W`` (B, fan_in, fan_out), ``b`` (B, fan_out).
    X, y : arrays
        Data as accepted by :func:`sparsesim.nn.mlp.loss_and_grad`; a per-model
        ``X`` (B, n, n_in) (and per-model ``y``) is sliced to ``model``.
    masks : None or list
        Masks in the engine's format (see :mod:`sparsesim.nn.mlp`): one entry
        per layer, ``None``, an array shaped like ``W`` or a ``(mW, mb)`` pair
        (``mb`` shaped like ``b``, e.g. to drop the biases of removed neurons).
    model : int
        Which model of the batch, ``0 <= model < B``.
    include_bias : bool
        Include the (kept) biases as coordinates; ``False`` restricts the
        Hessian to the weights (biases stay in the network, fixed).
    loss, temperature, residual
        Passed to :func:`sparsesim.nn.mlp.hvp`.

    Returns
    -------
    MaskedHessianOperator
        Of dimension ``Σ_layers (kept weights + kept biases)``.

    Raises
    ------
    TypeError, ValueError
        Malformed parameters or masks (the engine's messages), ``model`` out of
        range, or nothing kept.

    Examples
    --------
    >>> from sparsesim.nn import init_mlp
    >>> p = init_mlp((3, 4, 2), 2, seed=0, backend="numpy", dtype=np.float64)
    >>> X, y = np.ones((5, 3)), np.array([0, 1, 1, 0, 1])
    >>> m = [np.ones((2, 3, 4), bool), None]
    >>> m[0][:, 0, :] = False                       # prune the first input's weights
    >>> op = mlp_masked_hessian_operator(p, X, y, m, model=1)
    >>> op.dim                                      # 8 + 4 + 8 + 2
    22
    """
    mlp.layer_sizes(params)  # validates the parameter list
    B = int(params[0][0].shape[0])
    model = check_int("model", model, low=0, high=B - 1)
    pairs_all = mlp.mask_pairs(masks, params, check_values=True)
    xp = namespace_of(*[a for layer in params for a in layer])
    one_params = [(W[model:model + 1], b[model:model + 1]) for W, b in params]
    one_masks = [(None if mW is None else mW[model:model + 1],
                  None if mb is None else mb[model:model + 1]) for mW, mb in pairs_all]
    X1 = model_slice(X, model, B, 3)
    y1 = model_slice(y, model, B, 2 if loss == "cross_entropy" else 3)
    dtype = params[0][0].dtype

    w_idx, b_idx, sizes = [], [], []
    for (W, b), (mW, mb) in zip(one_params, one_masks):
        wi = (xp.arange(W.shape[1] * W.shape[2]) if mW is None
              else xp.flatnonzero(mW[0].reshape(-1) != 0))
        if not include_bias:
            bi = xp.zeros(0, dtype=xp.int64)
        else:
            bi = xp.arange(b.shape[1]) if mb is None else xp.flatnonzero(mb[0] != 0)
        w_idx.append(wi)
        b_idx.append(bi)
        sizes += [int(wi.shape[0]), int(bi.shape[0])]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    dim = offsets[-1]
    if dim < 1:
        raise ValueError(f"masks keep no coordinate of model {model}: the restricted "
                         "Hessian is empty")
    engine_masks = None if masks is None else [list(pair) for pair in one_masks]
    opts = dict(loss=loss, temperature=temperature, residual=residual)
    # Validate data and options once; the products then skip the value checks.
    mlp.loss_value(one_params, X1, y1, engine_masks, check_values=True, **opts)

    def unflatten(v):
        vec = []
        for li, ((W, b), wi, bi) in enumerate(zip(one_params, w_idx, b_idx)):
            dW = xp.zeros(W.shape[1] * W.shape[2], dtype=dtype)
            dW[wi] = v[offsets[2 * li]:offsets[2 * li + 1]]
            db = xp.zeros(b.shape[1], dtype=dtype)
            db[bi] = v[offsets[2 * li + 1]:offsets[2 * li + 2]]
            vec.append((dW.reshape(W.shape), db.reshape(b.shape)))
        return vec

    def flatten(tangent):
        parts = []
        for (hW, hb), wi, bi in zip(tangent, w_idx, b_idx):
            parts.append(hW[0].reshape(-1)[wi])
            parts.append(hb[0][bi])
        return xp.concatenate(parts)

    def matvec(v):
        out = mlp.hvp(one_params, X1, y1, unflatten(v), engine_masks, check_values=False,
                      **opts)
        return flatten(out)

    return MaskedHessianOperator(matvec, dim, dtype, xp)
