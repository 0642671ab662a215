"""Structured compaction: drop hidden neurons that a mask has made dead.

When a mask removes whole hidden neurons, the masked network computes the same
function as a smaller network with narrower dense layers.  :func:`compact`
builds that smaller network.

Dead neurons (defined by the masks alone, never by weight values)
-------------------------------------------------------------------
Activations are ``a_0 = X`` and ``a_{l+1} = relu(a_l W_l + b_l) [+ a_l]`` for
hidden layers ``h = 1 .. L-1`` (the bracket where layer ``l`` has a residual
skip).  A *connection* is an unmasked entry of a weight mask.  A hidden unit
``j`` of hidden layer ``h`` is

- **constant zero** when its bias is masked out, every connection into it
  comes from a constant-zero unit of layer ``h-1`` (an input is never constant
  zero; a layer-``h-1`` column with no connection at all qualifies), and — if
  a skip feeds it — unit ``j`` of layer ``h-1`` is constant zero;
- **irrelevant** when every connection out of it goes to an irrelevant unit
  of layer ``h+1`` (output units are always relevant; a unit with an all-zero
  outgoing mask row qualifies), and — if a skip carries it on — unit ``j`` of
  layer ``h+1`` is irrelevant.

A unit is *live* unless it is constant zero or irrelevant.  Removing every
non-live unit leaves the network function unchanged for all parameter values
(a live unit only receives connections from live or constant-zero units), so
the compacted network has the same outputs and, on the weights it keeps, the
same loss gradient.

Residual connections tie unit ``j`` of hidden layer ``l`` to unit ``j`` of
layer ``l+1``; both layers must keep the same neurons, so the live sets of a
chain of residual-connected layers are merged (a union: keeping a non-live
unit is always exact).

Models with different neuron counts
-----------------------------------
Each model keeps its own live units.  To return one batched network, every
hidden layer gets the width of the model with the most live units; models with
fewer are padded with some of their own non-live units (the lowest-index ones),
which keeps the result exact.  ``Compacted.n_live`` gives the true counts.
Input features are never removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._validation import check_choice
from ..backend import namespace_of
from . import mlp as _mlp

__all__ = ["Compacted", "live_neurons", "compact", "gather_compact"]


@dataclass(frozen=True, eq=False)
class Compacted:
    """A compacted batch of networks.

    Attributes
    ----------
    params : list of (W, b)
        Narrower dense layers; use with ``masks`` and the same ``residual``.
    masks : list
        The original masks restricted to the kept units (``(mW, mb)`` pairs,
        with ``None`` wherever the restricted mask is all ones for every model,
        and ``None`` for a layer that is entirely unmasked).
    kept : list of int arrays
        Per hidden layer, ``(B, width)``: the original index of each kept unit
        (live units first, in increasing order, then padding).
    n_live : list of int arrays
        Per hidden layer, ``(B,)``: number of live units of each model.
    sizes : tuple of int
        Widths of the compacted network.
    """

    params: list
    masks: list
    kept: list
    n_live: list
    sizes: tuple


def _connections(xp, pairs, params):
    conn, bias_live = [], []
    for (W, b), (mW, mb) in zip(params, pairs):
        conn.append(None if mW is None else mW != 0)
        bias_live.append(xp.ones(b.shape, dtype=bool) if mb is None else mb != 0)
    return conn, bias_live


def live_neurons(params: Any, masks: Any, *, residual: Any = False) -> list:
    """Live units of each hidden layer (see the module notes), per model.

    Parameters
    ----------
    params : list of (W, b)
        Used for the layer shapes only.
    masks : None or list
        Masks in any form of :func:`sparsesim.nn.mask_pairs`.
    residual : bool or sequence of int

    Returns
    -------
    list of bool arrays
        One ``(B, width_h)`` array per hidden layer ``h = 1 .. L-1``; residual
        chains already merged.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsesim.nn import init_mlp
    >>> p = init_mlp((2, 3, 1), 1, seed=0, backend="numpy")
    >>> m = [np.ones((1, 2, 3), bool), np.array([[[1], [0], [1]]], bool)]  # unit 1 has no output
    >>> live_neurons(p, m)[0].astype(int).tolist()
    [[1, 0, 1]]
    """
    xp, n_models, _ = _mlp.check_params(params, check_values=False)
    sizes = _mlp.layer_sizes(params)
    res = _mlp.residual_layers(sizes, residual)
    pairs = _mlp.mask_pairs(masks, params)
    n_layers = len(params)
    conn, bias_live = _connections(xp, pairs, params)
    # constant-zero units, forward; zero[h] for activation h (zero[0]: inputs, never)
    zero = [xp.zeros((n_models, sizes[0]), dtype=bool)]
    for l in range(n_layers - 1):
        src_live = ~zero[l]
        if conn[l] is None:
            fed = xp.broadcast_to(src_live.any(axis=1, keepdims=True), (n_models, sizes[l + 1]))
        else:
            fed = (conn[l] & src_live[:, :, None]).any(axis=1)
        z = ~fed & ~bias_live[l]
        if res[l]:
            z = z & zero[l]
        zero.append(z)
    # irrelevant units, backward; irrelevant[h], irrelevant[L] (outputs) all False
    irrelevant = [None] * (n_layers + 1)
    irrelevant[n_layers] = xp.zeros((n_models, sizes[-1]), dtype=bool)
    for l in range(n_layers - 1, 0, -1):
        dst_rel = ~irrelevant[l + 1]
        if conn[l] is None:
            feeds = xp.broadcast_to(dst_rel.any(axis=1, keepdims=True), (n_models, sizes[l]))
        else:
            feeds = (conn[l] & dst_rel[:, None, :]).any(axis=2)
        irr = ~feeds
        if res[l]:
            irr = irr & irrelevant[l + 1]
        irrelevant[l] = irr
    live = [None] + [~(zero[h] | irrelevant[h]) for h in range(1, n_layers)]
    # merge residual chains: hidden l and l+1 are tied when layer l has a skip
    for l in range(1, n_layers - 1):
        if res[l]:
            live[l + 1] = live[l + 1] | live[l]
    for l in range(n_layers - 2, 0, -1):
        if res[l]:
            live[l] = live[l] | live[l + 1]
    return live[1:]


def _take(xp, a, rows, cols):
    if rows is not None:
        a = xp.take_along_axis(a, rows[:, :, None], axis=1)
    if cols is not None:
        a = xp.take_along_axis(a, cols[:, None, :], axis=2)
    return a


def compact(params: Any, masks: Any, *, residual: Any = False, on_ragged: str = "pad") -> Compacted:
    """Remove dead hidden neurons: a smaller network computing the same function.

    Parameters
    ----------
    params : list of (W, b)
    masks : list
        Masks in any form of :func:`sparsesim.nn.mask_pairs`.
    residual : bool or sequence of int
        The architecture's skips (kept in the compacted network, with the same
        neuron set on both sides of each skip).
    on_ragged : {"pad", "error"}
        When models keep different numbers of neurons in a layer: pad to the
        largest count (see the module notes) or raise ``ValueError``.

    Returns
    -------
    Compacted

    Examples
    --------
    >>> import numpy as np
    >>> from sparsesim.nn import init_mlp, forward
    >>> p = init_mlp((2, 4, 1), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> mW1 = np.array([[[1], [0], [1], [0]]], bool)        # units 1 and 3 feed nothing
    >>> c = compact(p, [None, mW1])
    >>> c.sizes, c.kept[0].tolist()
    ((2, 2, 1), [[0, 2]])
    >>> X = np.ones((3, 2))
    >>> bool(np.allclose(forward(c.params, X, c.masks), forward(p, X, [None, mW1])))
    True
    """
    check_choice("on_ragged", on_ragged, ("pad", "error"))
    xp, n_models, _ = _mlp.check_params(params, check_values=False)
    sizes = _mlp.layer_sizes(params)
    if masks is None:
        raise ValueError("masks must be given to compact a network (None means nothing is pruned)")
    pairs = _mlp.mask_pairs(masks, params)
    live = live_neurons(params, pairs, residual=residual)
    kept, n_live = [], []
    for h, lv in enumerate(live, start=1):
        width = sizes[h]
        counts = lv.sum(axis=1)
        k_max, k_min = int(counts.max()), int(counts.min())
        if on_ragged == "error" and k_max != k_min:
            raise ValueError(f"models keep between {k_min} and {k_max} neurons in hidden layer "
                             f"{h}; use on_ragged='pad' or compact the models separately")
        k = max(k_max, 1)
        key = (~lv).astype(xp.int64) * width + xp.arange(width, dtype=xp.int64)[None, :]
        kept.append(xp.argsort(key, axis=1)[:, :k])
        n_live.append(counts)
    idx = [None] + kept + [None]  # index of activation h: None = keep all
    new_params, new_masks = [], []
    for l, ((W, b), (mW, mb)) in enumerate(zip(params, pairs)):
        rows, cols = idx[l], idx[l + 1]
        new_params.append((_take(xp, W, rows, cols),
                           b if cols is None else xp.take_along_axis(b, cols, axis=1)))
        cW = None if mW is None else _take(xp, mW, rows, cols)
        cb = None if mb is None else mb if cols is None else xp.take_along_axis(mb, cols, axis=1)
        cW = None if (cW is None or bool((cW != 0).all())) else cW
        cb = None if (cb is None or bool((cb != 0).all())) else cb
        new_masks.append(None if (cW is None and cb is None) else (cW, cb))
    new_sizes = (sizes[0],) + tuple(int(k.shape[1]) for k in kept) + (sizes[-1],)
    _mlp.residual_layers(new_sizes, residual)  # the skips still join equal widths
    return Compacted(params=new_params, masks=new_masks, kept=kept, n_live=n_live,
                     sizes=new_sizes)


def gather_compact(compacted: Compacted, tree: list) -> list:
    """Restrict a parameter-shaped list (gradients, optimizer state) to the kept units.

    ``tree`` is a list of ``(A, c)`` pairs shaped like the original
    parameters; the result is shaped like ``compacted.params``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsesim.nn import init_mlp
    >>> p = init_mlp((2, 4, 1), 1, seed=0, backend="numpy")
    >>> c = compact(p, [None, np.array([[[1], [0], [1], [0]]], bool)])
    >>> [a.shape for a, _ in gather_compact(c, p)]
    [(1, 2, 2), (1, 2, 1)]
    """
    if not isinstance(tree, (list, tuple)) or len(tree) != len(compacted.params):
        raise ValueError(f"tree must be a list of {len(compacted.params)} (A, c) pairs shaped "
                         f"like the original parameters")
    xp = namespace_of(tree[0][0])
    idx = [None] + list(compacted.kept) + [None]
    out = []
    for l, (A, c) in enumerate(tree):
        rows, cols = idx[l], idx[l + 1]
        out.append((_take(xp, A, rows, cols),
                    c if cols is None else xp.take_along_axis(c, cols, axis=1)))
    return out
