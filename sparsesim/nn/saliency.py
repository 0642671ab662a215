"""Saliency scores for pruning at initialisation, and masks from scores.

Scores
------
Every scoring function returns a list with one entry per layer, shaped like
the parameters: an array shaped like ``W`` (weights only, the default) or, with
``include_bias=True``, a pair ``(score_W, score_b)``.  A ``None`` entry in a
score list means "this layer is not pruned" (its mask stays ``None``).

- :func:`magnitude_scores` ``|W|``; :func:`random_scores` uniform noise.
- :func:`snip_scores` (Lee et al. 2019) ``|∂L/∂m|`` at the current mask
  ``= |W ⊙ g|`` with ``g`` the masked gradient (entries already masked score 0).
- :func:`grasp_scores` (Wang et al. 2020) ``−W ⊙ (H g)`` with ``g = ∇_W L``
  over the weights only (biases excluded, as in the official code), ``H g`` the
  exact weight-block Hessian-vector product ``∇_W ⟨stop(g), ∇_W L⟩``, and the
  logits divided by ``temperature`` (the official code uses ``T = 200``; the
  plain formula of the article is ``T = 1``).
- :func:`synflow_scores` (Tanaka et al. 2020) data-free iterative scores.

Which GraSP scores are pruned
-----------------------------
The official GraSP code (Wang et al. 2020, ``GraSP.py``) **removes the weights
with the highest** ``−W ⊙ Hg`` (keeps ``score <= threshold``): removing them
reduces the gradient norm least or increases it.  In :func:`select_mask` that
is ``keep="low"``; :func:`saliency_masks` uses it for ``grasp_rule="official"``
(default).  The seed article's sentence "pruning weights with low GraSP
saliency" reads the other way round — ``grasp_rule="article"`` (keep the
highest scores, ``keep="high"``).

Masks from scores
-----------------
:func:`select_mask` keeps, **per model** (each index of the leading model axis
is its own problem), the top-k entries by score — globally over all scored
layers or layer by layer — with :func:`sparsesim.best_k_term` on an exact
order-preserving integer key, so ties are broken toward the lower index of the
concatenated, flattened scores (layer order, then ``W`` before ``b``, then
row-major), identically on NumPy and CuPy.  ``k = floor(density·n + 0.5)``.
The ablations of Frankle et al. (2021): :func:`shuffle_masks` (permute each
layer's mask per model), :func:`reinitialize`, and inverted scores
(``keep="low"``).

Criteria are an open registry
-----------------------------
Every method :func:`saliency_masks` knows is a registered
:class:`SaliencyCriterion`; :data:`SALIENCY_METHODS` is the tuple of their
names, built-in ones first.  :func:`register_saliency` adds a criterion from
outside the package (a scoring function ``fn(params, inputs)`` returning one
score entry per layer, with :class:`ScoreInputs` holding the batch, the masks,
the seed and the options :func:`saliency_masks` was given); it then works in
:func:`saliency_masks`, as a lottery control
(:func:`sparsesim.nn.register_condition`) and in the lottery sweeps.  A sweep
on several processes (Dask workers) sees it when the registration happens at
the import of a module the sweep names (``[sim] plugins = ["mypkg.criteria"]``
in the sweep TOML).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._registry import Registry, check_callable
from .._validation import check_array, check_bool, check_choice, check_int, check_real
from ..backend import child_seed, is_cupy, make_rng, namespace_of
from ..sparsity import best_k_term, keep_count
from . import mlp as _mlp
from . import passes

__all__ = [
    "magnitude_scores",
    "random_scores",
    "snip_scores",
    "grasp_scores",
    "synflow_scores",
    "select_mask",
    "layerwise_densities",
    "shuffle_masks",
    "reinitialize",
    "saliency_masks",
    "SALIENCY_METHODS",
    "GRASP_RULES",
    "ScoreInputs",
    "Selection",
    "SaliencyCriterion",
    "register_saliency",
    "unregister_saliency",
    "saliency_criterion",
    "saliency_methods",
]

GRASP_RULES = ("official", "article")
#: Largest number of SynFlow rounds (the paper uses 100; each round is a forward
#: and a backward pass and a top-k selection).
MAX_SYNFLOW_ITERATIONS = 100_000
#: Largest number of layers :func:`layerwise_densities` describes.
MAX_LAYERS = 1 << 20


def _pack(pairs: list, include_bias: bool) -> list:
    return [(w, b) if include_bias else w for w, b in pairs]


# --------------------------------------------------------------------------- scores

def magnitude_scores(params: Any, *, include_bias: bool = False) -> list:
    """``|W|`` per layer (and ``|b|`` with ``include_bias``).

    Examples
    --------
    >>> p = _mlp.init_mlp((2, 3), 1, seed=0, backend="numpy")
    >>> bool((magnitude_scores(p)[0] == abs(p[0][0])).all())
    True
    """
    xp, _, _ = _mlp.check_params(params, check_values=True)
    return _pack([(xp.abs(W), xp.abs(b)) for W, b in params], include_bias)


def random_scores(params: Any, *, seed: Any, include_bias: bool = False) -> list:
    """Uniform ``[0, 1)`` scores shaped like the parameters (random pruning).

    ``seed`` fixes the scores on a given backend (see :mod:`sparsesim.backend`).

    Examples
    --------
    >>> p = _mlp.init_mlp((2, 3), 2, seed=0, backend="numpy")
    >>> random_scores(p, seed=1)[0].shape
    (2, 2, 3)
    """
    _mlp.check_params(params, check_values=False)
    rng = make_rng(seed, "cupy" if is_cupy(params[0][0]) else "numpy")
    dtype = params[0][0].dtype
    return _pack([(rng.uniform(W.shape, dtype=dtype), rng.uniform(b.shape, dtype=dtype))
                  for W, b in params], include_bias)


def snip_scores(params: Any, X: Any, y: Any, masks: Any = None, *,
                loss: str = "cross_entropy", temperature: float = 1.0, residual: Any = False,
                include_bias: bool = False, check_values: bool = True) -> list:
    """SNIP connection sensitivity ``|∂L/∂m| = |W ⊙ g|`` (Lee et al. 2019).

    ``L(W ⊙ m)`` is the per-model mean loss on ``(X, y)``; the derivative in
    the mask variable at the current mask (``m = 1`` where unmasked) is
    ``W ⊙ ∂L/∂(W ⊙ m)``.  Already-masked entries score 0.  Arguments as in
    :func:`sparsesim.nn.loss_and_grad`.

    Parameters stay: the network and the objective, with the keywords of every function of
    :mod:`sparsesim.nn.mlp` (``masks``, ``loss``, ``temperature``, ``residual``,
    ``check_values``), and ``include_bias``; a registered criterion receives them grouped
    (:class:`ScoreInputs`).

    Returns
    -------
    list
        One array shaped like ``W`` per layer (pairs with ``include_bias``).

    Examples
    --------
    >>> p = _mlp.init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> s = snip_scores(p, np.ones((5, 3)), np.array([0, 1, 1, 0, 1]))
    >>> [a.shape for a in s], bool(min(float(a.min()) for a in s) >= 0)
    ([(1, 3, 4), (1, 4, 2)], True)
    """
    _, grads = _mlp.loss_and_grad(params, X, y, masks, loss=loss, temperature=temperature,
                                  residual=residual, check_values=check_values)
    xp = namespace_of(params[0][0])
    with _mlp.value_guard(check_values):
        scores = [(xp.abs(W * gW), xp.abs(b * gb)) for (W, b), (gW, gb) in zip(params, grads)]
    if check_values:
        _mlp.check_results(xp, [a for pair in scores for a in pair], "the SNIP scores",
                            _mlp.overflow_culprits(loss))
    return _pack(scores, include_bias)


def grasp_scores(params: Any, X: Any, y: Any, masks: Any = None, *,
                 temperature: float = 1.0, loss: str = "cross_entropy", residual: Any = False,
                 check_values: bool = True) -> list:
    """GraSP scores ``−W ⊙ (H g)`` over the weights (Wang et al. 2020).

    ``g = ∇_W L`` is the (masked) gradient with respect to the weights only
    and ``H g = ∇_W ⟨stop(g), ∇_W L⟩`` the exact product with the weight block
    of the (masked) Hessian, ``L`` computed on ``logits / temperature``.
    To first order, removing a set S of weights (``δ = −W`` on S) changes the
    squared gradient norm by ``Δ‖g‖² ≈ 2 (Hg)·δ = 2 Σ_S score``.

    **Pruning rule.** The official code removes the *highest* scores
    (``select_mask(..., keep="low")``); the seed article's wording reads as
    removing the lowest (``keep="high"``) — see the module notes.

    Parameters
    ----------
    temperature : float
        ``T > 0``; the official code uses 200, the article's formula 1.

    Returns
    -------
    list
        One (signed) array shaped like ``W`` per layer.

    Examples
    --------
    >>> p = _mlp.init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> s = grasp_scores(p, np.ones((5, 3)), np.array([0, 1, 1, 0, 1]), temperature=200.0)
    >>> [a.shape for a in s]
    [(1, 3, 4), (1, 4, 2)]
    """
    _, _, hg = _mlp.grad_and_weight_hvp(params, X, y, masks, loss=loss, temperature=temperature,
                                        residual=residual, check_values=check_values)
    with _mlp.value_guard(check_values):
        scores = [-(W * h) for (W, _), h in zip(params, hg)]
    if check_values:
        _mlp.check_results(namespace_of(params[0][0]), scores, "the GraSP scores",
                            _mlp.overflow_culprits(loss))
    return scores


def _synflow_once(abs_params, pairs, res, dtype):
    """``|θ ⊙ ∂R/∂θ|`` with ``R = Σ f(1)`` on the masked absolute-value network."""
    xp = namespace_of(abs_params[0][0])
    Ws = [passes.multiply_mask(W, mW, dtype) for (W, _), (mW, _) in zip(abs_params, pairs)]
    bs = [passes.multiply_mask(b, mb, dtype) for (_, b), (_, mb) in zip(abs_params, pairs)]
    ones = xp.ones((1, Ws[0].shape[1]), dtype=dtype)
    acts, gates, z = passes.forward_pass(Ws, bs, ones, res)
    gW, gb, _ = passes.backward_pass(Ws, acts, gates, xp.ones_like(z), res)
    grads = passes.masked_grads(gW, gb, pairs, dtype)
    return [(W * g, b * h) for (W, b), (g, h) in zip(abs_params, grads)]


def synflow_scores(params: Any, *, density: float, iterations: int = 100, masks: Any = None,
                   residual: Any = False, scope: str = "global",
                   layer_densities: Sequence[float | None] | None = None,
                   include_bias: bool = False, exclude_layers: Sequence[int] = ()) -> tuple[list, list]:
    """Iterative SynFlow (Tanaka et al. 2020): data-free pruning to ``density``.

    Each of ``iterations`` rounds replaces every parameter by its absolute
    value, feeds an all-ones input through the masked network, takes
    ``R = Σ outputs`` (summed over output units) and scores each weight by
    ``|θ ⊙ ∂R/∂θ|``; then it keeps the top fraction ``density^(k/iterations)``
    (round ``k = 1 .. iterations``) with :func:`select_mask`, never reviving a
    pruned weight.  With starting ``masks`` the schedule runs geometrically
    from their density ``d0`` (the smallest over models; per layer when
    layerwise): ``d0·(density/d0)^(k/iterations)``.  Biases enter ``R`` (as in the official code) but are only
    pruned with ``include_bias=True``.  Computed in float64 whatever the
    parameters' dtype (``R`` grows like a product of layer norms).

    Parameters stay: the network (``params``, ``masks``, ``residual``), the criterion's
    ``iterations`` and the selection it prunes by (``density``, ``scope``,
    ``layer_densities``, ``include_bias``, ``exclude_layers``, as in :func:`select_mask`); a
    registered criterion receives them grouped (:class:`ScoreInputs`, :class:`Selection`).

    Parameters
    ----------
    params : list of (W, b)
    density : float
        Final kept fraction in ``[0, 1]`` (of the scored entries, or per layer
        with ``scope="layerwise"``).
    iterations : int
        Rounds, ``1 <= iterations <= MAX_SYNFLOW_ITERATIONS`` (100,000); 1 is
        one-shot SynFlow; the paper uses 100.
    masks : None or list
        Starting masks; masked entries stay pruned.
    residual, scope, layer_densities, include_bias, exclude_layers
        As in :func:`select_mask` / :func:`saliency_masks`.

    Raises
    ------
    TypeError, ValueError
        Malformed arguments, or scores beyond the float64 range (``R`` is a
        product of layer norms: huge ``params`` overflow it); the message names
        the argument.

    Returns
    -------
    masks : list
        Final masks, one entry per layer: a bool array for ``W``, or a
        ``(mW, mb)`` pair where biases are masked (``include_bias=True``, or a
        bias mask given in ``masks``); layers in ``exclude_layers`` keep their
        starting mask (``None`` if none).
    scores : list
        The scores of the last round (computed on the mask before its pruning
        step), float64, shaped like the parameters.

    Examples
    --------
    >>> p = _mlp.init_mlp((4, 6, 3), 2, seed=0, backend="numpy")
    >>> m, s = synflow_scores(p, density=0.5, iterations=10)
    >>> [int(m[0][i].sum() + m[1][i].sum()) for i in range(2)]   # 21 of 42 per model
    [21, 21]
    """
    xp, n_models, _ = _mlp.check_params(params, check_values=True)
    density = check_real("density", density, low=0.0, high=1.0)
    iterations = check_int("iterations", iterations, low=1, high=MAX_SYNFLOW_ITERATIONS)
    sizes = _mlp.layer_sizes(params)
    res = _mlp.residual_layers(sizes, residual)
    excluded = _check_exclude(exclude_layers, len(params))
    f64 = np.dtype(np.float64)
    abs_params = [(xp.abs(W).astype(f64), xp.abs(b).astype(f64)) for W, b in params]
    check_choice("scope", scope, ("global", "layerwise"))
    start = _mlp.mask_pairs(masks, params)
    n_layers = len(params)
    if scope == "global":
        if layer_densities is not None:
            raise ValueError("layer_densities needs scope='layerwise'; got scope='global'")
        targets = [density] * n_layers
    elif layer_densities is None:
        targets = [density] * n_layers
    else:
        if not isinstance(layer_densities, Sequence) or len(layer_densities) != n_layers:
            raise ValueError(f"layer_densities must hold one density (or None) per layer "
                             f"({n_layers}); got {layer_densities!r}")
        targets = [None if d is None else check_real(f"layer_densities[{i}]", d, low=0.0,
                                                      high=1.0)
                   for i, d in enumerate(layer_densities)]
    # the schedule runs geometrically from the starting density d0 (fraction of the
    # scored entries left by ``masks``: the smallest over models, and per layer when
    # layerwise) down to the target: d_k = d0 (target / d0)^(k / iterations)
    scored = [[] if (l in excluded or targets[l] is None) else
              [(params[l][0], start[l][0])] + ([(params[l][1], start[l][1])] if include_bias else [])
              for l in range(n_layers)]
    groups = ([[a for l in range(n_layers) for a in scored[l]]] if scope == "global"
              else [scored[l] for l in range(n_layers)])
    d0 = []
    for g in groups:
        if not g:
            d0.append(None)
            continue
        size = sum(int(ref[0].size) for ref, _ in g)
        live = sum((xp.ones(ref.shape[0], dtype=xp.int64) * ref[0].size if m is None
                    else (m != 0).reshape(m.shape[0], -1).sum(axis=1)) for ref, m in g)
        d0.append(int(live.min()) / size)
    for i, (d, t) in enumerate(zip(d0, targets if scope == "layerwise" else [density])):
        if d is not None and t is not None and t > d:
            where = "" if scope == "global" else f" of layer {i}"
            raise ValueError(f"density{where} must not exceed the density {d:g} left by masks; "
                             f"got {t}")
    current = start
    scores = None
    for k in range(1, iterations + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            raw = _synflow_once(abs_params, current, res, f64)
        _mlp.check_results(xp, [a for pair in raw for a in pair], "the SynFlow scores",
                            ("params",))
        scores = [None if l in excluded else (sw, sb) if include_bias else sw
                  for l, (sw, sb) in enumerate(raw)]
        frac = k / iterations
        step = lambda d, t: 0.0 if d == 0.0 else d * (t / d) ** frac  # noqa: E731
        if scope == "global":
            out_masks = select_mask(scores, step(d0[0], density), keep="high",
                                    existing_masks=[(mW, mb if include_bias else None)
                                                    for mW, mb in current])
        else:
            dens = [None if (d is None or t is None) else step(d, t) for d, t in zip(d0, targets)]
            out_masks = select_mask(scores, 1.0, scope="layerwise", layer_densities=dens,
                                    keep="high",
                                    existing_masks=[(mW, mb if include_bias else None)
                                                    for mW, mb in current])
        current = _mlp.mask_pairs(_merge(out_masks, start, include_bias), params,
                                  check_values=False)
    return _as_entries(current), scores


def _as_entries(pairs: list) -> list:
    """``(mW, mb)`` pairs back to the compact mask form (array when ``mb`` is None)."""
    out = []
    for mW, mb in pairs:
        if mW is None and mb is None:
            out.append(None)
        elif mb is None:
            out.append(mW)
        else:
            out.append((mW, mb))
    return out


def _merge(new: list, start: list, include_bias: bool) -> list:
    """Combine freshly selected masks with the starting ``(mW, mb)`` pairs.

    Layers or biases that were not scored keep their starting mask.
    """
    merged = []
    for entry, (sW, sb) in zip(new, start):
        if entry is None:
            merged.append((sW, sb))
        elif isinstance(entry, tuple):
            merged.append((entry[0], entry[1] if entry[1] is not None else sb))
        else:
            merged.append((entry, sb))
    return _as_entries(merged)


# --------------------------------------------------------------------------- masks from scores

def _entries(name: str, scores: Any) -> list[tuple[Any, Any, bool]]:
    if not isinstance(scores, (list, tuple)) or len(scores) == 0:
        raise TypeError(f"{name} must be a non-empty list with one entry per layer; "
                        f"got {type(scores).__name__}")
    out = []
    for l, entry in enumerate(scores):
        if entry is None:
            out.append((None, None, False))
        elif isinstance(entry, (list, tuple)):
            if len(entry) != 2:
                raise ValueError(f"{name}[{l}] given as a sequence must be a (W, b) pair; "
                                 f"got length {len(entry)}")
            out.append((entry[0], entry[1], True))
        else:
            out.append((entry, None, False))
    return out


def _monotone_key(xp, s):
    """Exact order-preserving map of finite floats to uint64 keys ``>= 1``.

    ``s1 < s2  <=>  key(s1) < key(s2)`` and ``s1 == s2 <=> key(s1) == key(s2)``
    (``-0.0`` and ``0.0`` are made equal first); key 0 is left free for
    excluded entries.
    """
    s = s.astype(xp.float64) + 0.0          # IEEE: -0.0 + 0.0 == +0.0
    bits = s.view(xp.uint64)
    top = np.uint64(1 << 63)
    return xp.where(bits >= top, ~bits, bits | top)


def _check_exclude(exclude_layers: Any, n_layers: int) -> set[int]:
    if isinstance(exclude_layers, (str, bytes)) or not isinstance(exclude_layers, Sequence):
        raise TypeError(f"exclude_layers must be a sequence of layer indices; "
                        f"got {type(exclude_layers).__name__}")
    return {check_int("exclude_layers entry", l, low=0, high=n_layers - 1) for l in exclude_layers}


def select_mask(scores: Any, density: float, *, scope: str = "global",
                layer_densities: Sequence[float | None] | None = None, keep: str = "high",
                existing_masks: Any = None) -> list:
    """Keep the top-scoring fraction ``density`` of entries, per model.

    Parameters
    ----------
    scores : list
        One entry per layer: an array ``(B, ...)`` (e.g. shaped like ``W``), a
        pair of arrays ``(score_W, score_b)``, or ``None`` (layer not pruned).
        All arrays share the leading model axis B.
    density : float
        Kept fraction in ``[0, 1]``.  ``scope="global"``: of all scored entries
        of a model together; ``"layerwise"``: of each scored array (``W`` and
        ``b`` of a pair separately).  ``k = floor(density·n + 0.5)``.
    scope : {"global", "layerwise"}
    layer_densities : sequence of float or None, optional
        ``scope="layerwise"`` only: one density per layer overriding
        ``density`` (``None`` = layer not pruned); see
        :func:`layerwise_densities`.
    keep : {"high", "low"}
        Keep the largest scores (usual) or the smallest (inverted scores; the
        official GraSP rule).
    existing_masks : None or list, optional
        Masks in any form of :func:`sparsesim.nn.mask_pairs`; entries already
        masked are never kept (``density`` still counts all entries, so it is
        the absolute density after this step).

    Returns
    -------
    list
        Boolean masks in the structure of ``scores`` (array -> array, pair ->
        pair, ``None`` -> ``None``).

    Raises
    ------
    ValueError
        Non-finite scores, shapes that disagree, or a density that would need
        more entries than ``existing_masks`` leaves.

    Examples
    --------
    >>> s = [np.array([[[0.1, 5.0], [3.0, -9.0]]]), np.array([[[1.0], [2.0]]])]
    >>> m = select_mask(s, 0.5)                     # 3 of 6, per model
    >>> m[0].astype(int).tolist(), m[1].astype(int).tolist()
    ([[[0, 1], [1, 0]]], [[[0], [1]]])
    >>> select_mask(s, 0.5, keep="low")[0].astype(int).tolist()
    [[[1, 0], [0, 1]]]
    >>> select_mask(s, 0.5, scope="layerwise")[0].astype(int).tolist()
    [[[0, 1], [1, 0]]]
    """
    entries = _entries("scores", scores)
    density = check_real("density", density, low=0.0, high=1.0)
    check_choice("scope", scope, ("global", "layerwise"))
    check_choice("keep", keep, ("high", "low"))
    n_layers = len(entries)
    if layer_densities is not None:
        if scope != "layerwise":
            raise ValueError("layer_densities needs scope='layerwise'; got scope='global'")
        if not isinstance(layer_densities, Sequence) or len(layer_densities) != n_layers:
            raise ValueError(f"layer_densities must hold one density (or None) per layer "
                             f"({n_layers}); got {layer_densities!r}")
        dens = [None if d is None else check_real(f"layer_densities[{i}]", d, low=0.0, high=1.0)
                for i, d in enumerate(layer_densities)]
    else:
        dens = [density] * n_layers
    arrays = [a for sw, sb, _ in entries for a in (sw, sb) if a is not None]
    if not arrays:
        raise ValueError("scores must contain at least one array (every entry is None)")
    for l, (sw, sb, _) in enumerate(entries):
        for part, what in ((sw, "W"), (sb, "b")):
            if part is not None:
                check_array(f"scores[{l}] {what}", part, finite=True, kinds="biuf", min_ndim=1,
                            min_size=1)
    xp = namespace_of(*arrays)
    n_models = int(arrays[0].shape[0])
    for a in arrays:
        if a.shape[0] != n_models:
            raise ValueError(f"scores must share the leading model axis ({n_models}); "
                             f"got an array of shape {tuple(a.shape)}")
    existing = _existing_pairs(existing_masks, entries)

    # flattened keys per model, with excluded entries at key 0
    pieces = []  # (layer, part, shape, key rows)
    for l, (sw, sb, _) in enumerate(entries):
        if dens[l] is None:
            continue
        for part, (s, m) in enumerate(((sw, existing[l][0]), (sb, existing[l][1]))):
            if s is None:
                continue
            key = _monotone_key(xp, s if keep == "high" else -s.astype(xp.float64))
            if m is not None:
                key = xp.where(m != 0, key, np.uint64(0))
            pieces.append((l, part, s.shape, key.reshape(n_models, -1), m))

    kept: dict[tuple[int, int], Any] = {}
    if scope == "global":
        rows = xp.concatenate([p[3] for p in pieces], axis=1)
        k = keep_count(density, rows.shape[1])
        _check_enough(k, pieces, xp, "all scored layers")
        mask_rows = best_k_term(rows, k, axis=1)[1]
        start = 0
        for l, part, shape, key, _ in pieces:
            size = key.shape[1]
            kept[(l, part)] = mask_rows[:, start:start + size].reshape(shape)
            start += size
    else:
        for l, part, shape, key, m in pieces:
            k = keep_count(dens[l], key.shape[1])
            _check_enough(k, [(l, part, shape, key, m)], xp, f"layer {l}")
            kept[(l, part)] = best_k_term(key, k, axis=1)[1].reshape(shape)

    out = []
    for l, (sw, sb, is_pair) in enumerate(entries):
        if sw is None and sb is None:
            out.append(None)
            continue
        if dens[l] is None:
            out.append(None)
            continue
        mw = kept.get((l, 0))
        if is_pair:
            out.append((mw, kept.get((l, 1))))
        else:
            out.append(mw)
    return out


def _check_enough(k, pieces, xp, where):
    allowed = None
    for _, _, _, key, m in pieces:
        if m is None:
            continue
        count = (key != 0).sum(axis=1)
        allowed = count if allowed is None else allowed + count
    if allowed is None:
        return
    extra = sum(int(key.shape[1]) for _, _, _, key, m in pieces if m is None)
    smallest = int(allowed.min()) + extra
    if k > smallest:
        raise ValueError(f"density asks to keep {k} entries of {where}, but existing_masks "
                         f"leaves only {smallest} for some model; lower the density")


def _existing_pairs(existing_masks: Any, entries: list) -> list[tuple[Any, Any]]:
    n_layers = len(entries)
    if existing_masks is None:
        return [(None, None)] * n_layers
    if not isinstance(existing_masks, (list, tuple)) or len(existing_masks) != n_layers:
        raise ValueError(f"existing_masks must be None or a list with one entry per layer "
                         f"({n_layers})")
    out = []
    for l, (entry, (sw, sb, _)) in enumerate(zip(existing_masks, entries)):
        if entry is None:
            out.append((None, None))
            continue
        mw, mb = entry if isinstance(entry, (list, tuple)) else (entry, None)
        for m, s, what in ((mw, sw, "W"), (mb, sb, "b")):
            if m is not None and s is not None:
                check_array(f"existing_masks[{l}] {what}", m, kinds="biuf")
                if tuple(m.shape) != tuple(s.shape):
                    raise ValueError(f"existing_masks[{l}] {what} must have the shape "
                                     f"{tuple(s.shape)} of its scores; got {tuple(m.shape)}")
        out.append((mw, mb))
    return out


def layerwise_densities(density: float, n_layers: int, *, output_rate: float = 0.5,
                        per_round_rate: float | None = None) -> tuple[float, ...]:
    """Per-layer densities with the output layer pruned at a reduced rate.

    Hidden layers (all but the last) get ``density``.  The output layer is
    pruned ``output_rate`` times as fast (Frankle & Carbin 2019: 20% per round,
    output layer 10%, i.e. ``output_rate=0.5``; ``output_rate=0`` leaves it
    dense):

    - one shot (``per_round_rate=None``): ``1 − output_rate·(1 − density)``;
    - iterative, hidden layers losing ``per_round_rate`` per round: after
      ``r = ln(density)/ln(1 − per_round_rate)`` rounds the output layer keeps
      ``(1 − output_rate·per_round_rate)^r`` (computed with ``log1p`` for tiny
      rates, whose limit is ``density^output_rate``).

    ``1 <= n_layers <= MAX_LAYERS``.

    Examples
    --------
    >>> layerwise_densities(0.2, 3)
    (0.2, 0.2, 0.6)
    >>> [round(d, 6) for d in layerwise_densities(0.8 ** 3, 2, per_round_rate=0.2)]
    [0.512, 0.729]
    """
    density = check_real("density", density, low=0.0, high=1.0)
    n_layers = check_int("n_layers", n_layers, low=1, high=MAX_LAYERS)
    output_rate = check_real("output_rate", output_rate, low=0.0, high=1.0)
    if per_round_rate is None:
        out = 1.0 - output_rate * (1.0 - density)
    else:
        rate = check_real("per_round_rate", per_round_rate, low=0.0, high=1.0, low_open=True,
                          high_open=True)
        if density == 0.0:  # infinitely many rounds
            out = 1.0 if output_rate == 0.0 else 0.0
        elif rate >= 1e-3:
            rounds = math.log(density) / math.log(1.0 - rate)
            out = (1.0 - output_rate * rate) ** rounds
        else:
            # out = density ** (ln(1 - c r) / ln(1 - r)); for tiny r the ratio is
            # c (1 + (c - 1) r / 2 + O(r²)), where 1 - r would round to 1
            c = output_rate
            if rate < 1e-8:
                ratio = c * (1.0 + 0.5 * (c - 1.0) * rate)
            else:
                ratio = math.log1p(-c * rate) / math.log1p(-rate)
            out = math.exp(math.log(density) * ratio)
    return (density,) * (n_layers - 1) + (out,)


def _permuted_masks(masks: list, seeds: list, *, shuffle: bool = True) -> list:
    """Unchecked core of :func:`shuffle_masks` and :func:`sparsesim.nn.lottery.random_masks`.

    ``masks`` is a list of ``(mW, mb)`` pairs (a part may be ``None``, kept),
    ``seeds`` one :class:`numpy.random.SeedSequence` per model.  Model ``i``'s
    tensor ``(l, part)`` (``part`` 0 for ``mW``, 1 for ``mb``) is permuted by
    ``make_rng(child_seed(seeds[i], l, part)).permutation(n)`` (``shuffle``), or
    replaced by the same permutation's first ``count`` positions (a uniformly
    random mask with the same count, ``shuffle=False``).  Model ``i`` depends on
    its own seed only, not on the batch.
    """
    out = []
    for l, (mW, mb) in enumerate(masks):
        parts = []
        for arr, part in ((mW, 0), (mb, 1)):
            if arr is None:
                parts.append(None)
                continue
            xp = namespace_of(arr)
            parts.append(xp.concatenate([
                _one_model_permuted(arr[i:i + 1], child_seed(seeds[i], l, part), shuffle)
                for i in range(arr.shape[0])], axis=0))
        out.append(tuple(parts))
    return out


def _one_model_permuted(like: Any, seed: np.random.SeedSequence, shuffle: bool) -> Any:
    """One model's tensor mask ``(1, ...)``: permuted, or random with the same count."""
    n = like[0].size
    perm = make_rng(seed, "cupy" if is_cupy(like) else "numpy").permutation(n)
    flat = like.reshape(-1)
    if shuffle:
        return flat[perm].reshape(like.shape)
    k = int(flat.sum())
    return (perm < k).reshape(like.shape)


def shuffle_masks(masks: Any, *, seed: Any) -> list:
    """Permute each layer's mask uniformly at random, independently per model.

    Keeps every model's per-layer counts (and per-array counts of ``(mW, mb)``
    pairs); ``None`` entries stay ``None``.  The "layerwise shuffle" ablation
    of Frankle et al. (2021), and the lottery's ``shuffled`` control.

    Parameters
    ----------
    masks : list
        One entry per layer: a mask array ``(n_models, ...)``, a ``(mW, mb)``
        pair (either part may be ``None``) or ``None``.
    seed : int, SeedSequence or list
        An int ``>= 0`` or a :class:`numpy.random.SeedSequence` (model ``i``
        gets its child ``i``, as in :func:`sparsesim.nn.model_seeds`), or a list
        of one seed per model.  Model ``i``'s masks depend on its own seed only.

    Returns
    -------
    list
        Entries shaped like ``masks``.

    Raises
    ------
    TypeError, ValueError
        For a malformed ``masks``, arrays that disagree on ``n_models``, or a bad
        ``seed``.

    Examples
    --------
    >>> m = [np.array([[[1, 0, 0], [0, 0, 1]], [[1, 1, 1], [0, 0, 0]]], dtype=bool)]
    >>> s = shuffle_masks(m, seed=0)
    >>> s[0].sum(axis=(1, 2)).tolist()
    [2, 3]
    >>> [(a.sum(), b) for a, b in shuffle_masks([(m[0], None)], seed=0)] == [(5, None)]
    True
    """
    entries = _entries("masks", masks)
    arrays = [a for mw, mb, _ in entries for a in (mw, mb) if a is not None]
    if not arrays:
        raise ValueError("masks must hold at least one mask array; got only None entries")
    for a in arrays:
        check_array("masks entry", a, kinds="biuf", min_ndim=1)
    n_models = int(arrays[0].shape[0])
    for a in arrays:
        if int(a.shape[0]) != n_models:
            raise ValueError(f"masks entries must share n_models={n_models} on axis 0; "
                             f"got shape {tuple(a.shape)}")
    try:
        seeds = _mlp.model_seeds(list(seed) if isinstance(seed, tuple) else seed, n_models)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"seed: {exc}") from None
    shuffled = _permuted_masks([(mw, mb) for mw, mb, _ in entries], seeds, shuffle=True)
    out = []
    for (mw, mb, is_pair), pair in zip(entries, shuffled):
        if mw is None and mb is None and not is_pair:
            out.append(None)
        elif is_pair:
            out.append(pair)
        else:
            out.append(pair[0])
    return out


def reinitialize(params: Any, *, seed: Any, init: str = "kaiming_normal") -> list:
    """Fresh parameters of the same architecture, dtype and backend.

    The "reinitialise" ablation: keep a mask, draw new weights with
    :func:`sparsesim.nn.init_mlp` (biases 0).

    Examples
    --------
    >>> p = _mlp.init_mlp((2, 3), 2, seed=0, backend="numpy")
    >>> q = reinitialize(p, seed=1)
    >>> q[0][0].shape == p[0][0].shape and not bool((q[0][0] == p[0][0]).all())
    True
    """
    _, n_models, dtype = _mlp.check_params(params, check_values=False)
    backend = "cupy" if is_cupy(params[0][0]) else "numpy"
    return _mlp.init_mlp(_mlp.layer_sizes(params), n_models, seed=seed, init=init,
                         backend=backend, dtype=dtype)


# --------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class ScoreInputs:
    """What a criterion's function may read: the inputs :func:`saliency_masks` was given.

    Attributes
    ----------
    X, y : arrays or None
        One batch of data (``None`` for data-free criteria).
    masks : None or list
        Existing masks; scores are computed on the masked network.
    loss, temperature, residual, include_bias, seed, check_values, grasp_rule, iterations
        As in :func:`saliency_masks`.
    """

    X: Any = None
    y: Any = None
    masks: Any = None
    loss: str = "cross_entropy"
    temperature: float = 1.0
    residual: Any = False
    include_bias: bool = False
    seed: Any = None
    check_values: bool = True
    grasp_rule: str = "official"
    iterations: int = 100


@dataclass(frozen=True)
class Selection:
    """How many entries a criterion that prunes by itself keeps (``prunes=True``).

    Attributes
    ----------
    density : float
    scope : {"global", "layerwise"}
    layer_densities : sequence or None
    exclude_layers : tuple of int
        As in :func:`select_mask` and :func:`saliency_masks`.
    """

    density: float
    scope: str = "global"
    layer_densities: Sequence[float | None] | None = None
    exclude_layers: tuple = ()


@dataclass(frozen=True)
class SaliencyCriterion:
    """A registered saliency criterion (see :func:`register_saliency`).

    Attributes
    ----------
    name : str
    fn : callable
        ``fn(params, inputs) -> scores`` (one entry per layer, shaped like
        ``W``, or ``(score_W, score_b)`` pairs), or with ``prunes``
        ``fn(params, inputs, selection) -> masks``.
    keep : {"high", "low"} or callable
        Which scores survive; a callable gets the :class:`ScoreInputs`.
    needs_data, needs_seed, prunes : bool
    """

    name: str
    fn: Callable[..., list]
    keep: str | Callable[[ScoreInputs], str] = "high"
    needs_data: bool = False
    needs_seed: bool = False
    prunes: bool = False

    def keep_rule(self, inputs: ScoreInputs) -> str:
        """``"high"`` or ``"low"`` for these inputs."""
        keep = self.keep(inputs) if callable(self.keep) else self.keep
        return check_choice(f"keep rule of saliency criterion {self.name!r}", keep,
                            ("high", "low"))


_CRITERIA = Registry("saliency criterion")


def register_saliency(name: str, fn: Callable[..., list], *, keep: Any = "high",
                      needs_data: bool = False, needs_seed: bool = False,
                      prunes: bool = False) -> SaliencyCriterion:
    """Add a saliency criterion to :func:`saliency_masks` (and to the lottery controls).

    Parameters
    ----------
    name : str
        The method name, unused so far (``ValueError`` naming it otherwise;
        registering the same function again under its name does nothing).
    fn : callable
        ``fn(params, inputs)`` returning one score entry per layer (an array
        shaped like ``W``, or a ``(score_W, score_b)`` pair when
        ``inputs.include_bias``), with ``inputs`` a :class:`ScoreInputs`.
        With ``prunes=True``: ``fn(params, inputs, selection)`` returning the
        masks itself (iterative criteria such as SynFlow), ``selection`` a
        :class:`Selection`.
    keep : {"high", "low"} or callable
        Keep the highest (default) or the lowest scores; a callable gets the
        :class:`ScoreInputs` and returns one of the two.
    needs_data : bool
        :func:`saliency_masks` refuses to run it without ``X`` and ``y``; as
        a lottery control it gets each replicate's first minibatch.
    needs_seed : bool
        :func:`saliency_masks` refuses to run it without ``seed``; as a
        lottery control it gets a seed per replicate and round.
    prunes : bool
        ``fn`` returns masks rather than scores (see ``fn``).

    Returns
    -------
    SaliencyCriterion
        The registered entry.

    Raises
    ------
    TypeError
        ``fn`` is not callable with ``(params, inputs)`` (``(params, inputs,
        selection)`` with ``prunes``), or a flag is not a bool.
    ValueError
        ``name`` is taken, or ``keep`` is neither "high", "low" nor callable.

    Examples
    --------
    >>> def bias_free_magnitude(params, inputs):
    ...     return [abs(W) for W, _ in params]
    >>> _ = register_saliency("abs_w", bias_free_magnitude)
    >>> "abs_w" in saliency_methods()
    True
    >>> p = _mlp.init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> [int(m.sum()) for m in saliency_masks("abs_w", p, 0.5)]
    [8, 2]
    >>> register_saliency("abs_w", print)
    Traceback (most recent call last):
    ...
    ValueError: saliency criterion 'abs_w' is already registered; choose another name (or unregister it first)
    >>> unregister_saliency("abs_w")
    """
    return _register(name, fn, keep=keep, needs_data=needs_data, needs_seed=needs_seed,
                     prunes=prunes)


def _register(name: str, fn: Any, *, keep: Any = "high", needs_data: bool = False,
              needs_seed: bool = False, prunes: bool = False,
              builtin: bool = False) -> SaliencyCriterion:
    for flag, value in (("needs_data", needs_data), ("needs_seed", needs_seed),
                        ("prunes", prunes)):
        check_bool(flag, value)
    if not callable(keep):
        check_choice("keep", keep, ("high", "low"))
    if prunes:
        check_callable("fn", fn, 3, "(params, inputs, selection) with prunes=True")
    else:
        check_callable("fn", fn, 2, "(params, inputs)")
    entry = SaliencyCriterion(name, fn, keep=keep, needs_data=needs_data,
                              needs_seed=needs_seed, prunes=prunes)
    _CRITERIA.add(name, entry, builtin=builtin)
    return _CRITERIA[name]


def unregister_saliency(name: str) -> None:
    """Remove a criterion added by :func:`register_saliency` (built-in ones stay).

    >>> unregister_saliency("snip")
    Traceback (most recent call last):
    ...
    ValueError: saliency criterion 'snip' is built in and cannot be unregistered
    """
    _CRITERIA.remove(name)


def saliency_criterion(name: str) -> SaliencyCriterion:
    """The registered criterion ``name`` (``ValueError`` naming the known ones otherwise).

    >>> saliency_criterion("grasp").needs_data
    True
    """
    return _CRITERIA[name]


def saliency_methods() -> tuple[str, ...]:
    """The names :func:`saliency_masks` accepts, built-in ones first.

    >>> saliency_methods()[:5]
    ('magnitude', 'random', 'snip', 'grasp', 'synflow')
    """
    return _CRITERIA.names()


def __getattr__(name: str) -> Any:
    if name == "SALIENCY_METHODS":  # derived from the registry on every access
        return _CRITERIA.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _magnitude(params: Any, inputs: ScoreInputs) -> list:
    return magnitude_scores(params, include_bias=inputs.include_bias)


def _random(params: Any, inputs: ScoreInputs) -> list:
    return random_scores(params, seed=inputs.seed, include_bias=inputs.include_bias)


def _snip(params: Any, inputs: ScoreInputs) -> list:
    return snip_scores(params, inputs.X, inputs.y, inputs.masks, loss=inputs.loss,
                       temperature=inputs.temperature, residual=inputs.residual,
                       include_bias=inputs.include_bias, check_values=inputs.check_values)


def _grasp(params: Any, inputs: ScoreInputs) -> list:
    if inputs.include_bias:
        raise ValueError("method='grasp' scores weights only; use include_bias=False")
    return grasp_scores(params, inputs.X, inputs.y, inputs.masks,
                        temperature=inputs.temperature, loss=inputs.loss,
                        residual=inputs.residual, check_values=inputs.check_values)


def _grasp_keep(inputs: ScoreInputs) -> str:
    """The official rule removes the highest ``−W ⊙ Hg`` (see the module notes)."""
    return "low" if inputs.grasp_rule == "official" else "high"


def _synflow(params: Any, inputs: ScoreInputs, selection: Selection) -> list:
    return synflow_scores(params, density=selection.density, iterations=inputs.iterations,
                          masks=inputs.masks, residual=inputs.residual, scope=selection.scope,
                          layer_densities=selection.layer_densities,
                          include_bias=inputs.include_bias,
                          exclude_layers=selection.exclude_layers)[0]


_register("magnitude", _magnitude, builtin=True)
_register("random", _random, needs_seed=True, builtin=True)
_register("snip", _snip, needs_data=True, builtin=True)
_register("grasp", _grasp, keep=_grasp_keep, needs_data=True, builtin=True)
_register("synflow", _synflow, prunes=True, builtin=True)


def saliency_masks(method: str, params: Any, density: float, X: Any = None, y: Any = None, *,
                   masks: Any = None, scope: str = "global",
                   layer_densities: Sequence[float | None] | None = None,
                   grasp_rule: str = "official", temperature: float = 1.0,
                   loss: str = "cross_entropy", residual: Any = False,
                   include_bias: bool = False, exclude_layers: Sequence[int] = (),
                   seed: Any = None, iterations: int = 100, check_values: bool = True) -> list:
    """Masks at ``density`` from one of the saliency methods, per model.

    Parameters stay: the call names a criterion, a network and a density; the others are
    each read by some criterion (data, loss, temperature, ``grasp_rule``, ``seed``,
    ``iterations``) or by the selection (``scope``, ``layer_densities``, ``include_bias``,
    ``exclude_layers``), all keyword-only with defaults.  They reach a criterion grouped, as
    :class:`ScoreInputs` and :class:`Selection` (what :func:`register_saliency` criteria
    receive).

    Parameters
    ----------
    method : str
        A registered criterion (:data:`SALIENCY_METHODS`): the built-in
        "magnitude", "random", "snip", "grasp", "synflow" or one added by
        :func:`register_saliency`.
    params : list of (W, b)
    density : float
        Kept fraction (see :func:`select_mask`).
    X, y : arrays
        One batch of data (``"snip"`` and ``"grasp"`` only).
    masks : None or list
        Existing masks: scores are computed on the masked network and masked
        entries stay pruned.
    scope, layer_densities : see :func:`select_mask`
    grasp_rule : {"official", "article"}
        ``"official"`` removes the highest ``−W ⊙ Hg`` (Wang et al. 2020 code);
        ``"article"`` removes the lowest (the seed article's wording).
    temperature : float
        Logit temperature for ``"snip"``/``"grasp"`` (GraSP's code: 200).
    loss, residual : as in :func:`sparsesim.nn.loss_and_grad`
    include_bias : bool
        Prune biases too (masks come back as ``(mW, mb)`` pairs).
    exclude_layers : sequence of int
        Layers left dense (mask ``None``), e.g. ``(n_layers - 1,)`` for the output.
    seed : int or SeedSequence
        For ``"random"``.
    iterations : int
        For ``"synflow"``.

    Returns
    -------
    list
        One mask entry per layer: a bool array for ``W``; a ``(mW, mb)`` pair
        where biases are masked (``include_bias=True`` or a bias mask in
        ``masks``); layers in ``exclude_layers`` keep their mask from
        ``masks`` (``None`` if none).

    Examples
    --------
    >>> p = _mlp.init_mlp((3, 4, 2), 2, seed=0, backend="numpy", dtype=np.float64)
    >>> X, y = np.ones((5, 3)), np.array([0, 1, 1, 0, 1])
    >>> m = saliency_masks("grasp", p, 0.5, X, y, temperature=200.0)
    >>> [int(m[0][i].sum() + m[1][i].sum()) for i in range(2)]   # 10 of 20 per model
    [10, 10]
    """
    check_choice("method", method, _CRITERIA.names())
    check_choice("grasp_rule", grasp_rule, GRASP_RULES)
    criterion = _CRITERIA[method]
    n_layers = len(params) if isinstance(params, (list, tuple)) else 0
    excluded = _check_exclude(exclude_layers, max(n_layers, 1))
    inputs = ScoreInputs(X=X, y=y, masks=masks, loss=loss, temperature=temperature,
                         residual=residual, include_bias=include_bias, seed=seed,
                         check_values=check_values, grasp_rule=grasp_rule, iterations=iterations)
    if criterion.prunes:
        return criterion.fn(params, inputs, Selection(density, scope, layer_densities,
                                                      tuple(excluded)))
    if criterion.needs_data and (X is None or y is None):
        raise ValueError(f"method={method!r} needs a batch of data: pass X and y")
    if criterion.needs_seed and seed is None:
        raise ValueError(f"method={method!r} needs seed=")
    scores = criterion.fn(params, inputs)
    keep = criterion.keep_rule(inputs)
    if not isinstance(scores, (list, tuple)) or len(scores) != n_layers:
        raise TypeError(f"saliency criterion {method!r} must return one score entry per layer "
                        f"({n_layers}); got {type(scores).__name__}")
    scores = [None if l in excluded else s for l, s in enumerate(scores)]
    start = _mlp.mask_pairs(masks, params, check_values=False)
    existing = [(mW, mb if include_bias else None) for mW, mb in start]
    selected = select_mask(scores, density, scope=scope, layer_densities=layer_densities,
                           keep=keep, existing_masks=existing)
    return _merge(selected, start, include_bias)
