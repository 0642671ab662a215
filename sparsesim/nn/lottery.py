"""Lottery tickets: iterative magnitude pruning (IMP) and its controls, batched.

IMP (Frankle & Carbin 2019) repeats: train -> prune a fraction of the
remaining weights by magnitude -> reset the survivors to their initial values
``w0`` (``"lottery"``) or rewind them to their values ``w_tau`` after ``tau``
steps of the dense run (``"rewind"``, Frankle et al. 2020) -> retrain.

Conditions
----------
Every condition of round ``r`` is trained at the per-layer densities of the
round-``r`` lottery ticket it controls:

``dense``
    The unpruned network (round 0 only; the reference line).
``lottery``
    IMP ticket, survivors reset to ``w0``.
``rewind``
    IMP with its own mask chain, survivors rewound to ``w_tau`` of the dense
    run; trained from step ``tau`` to the end of the budget (fresh optimizer
    state, the data it would have seen from step ``tau``).
``reinit``
    The lottery ticket's mask with freshly drawn weights (new seed each round).
``random``
    A fresh uniformly random mask with exactly the ticket's per-tensor counts
    (per model), weights ``w0`` (the MNIST-1D notebook's random ticket draws a
    new random mask each round).
``shuffled``
    The ticket's mask permuted uniformly within each tensor (per model),
    weights ``w0``.  For layerwise pruning ``random`` and ``shuffled`` have
    the same law (a uniform subset of the ticket's size); both are reported.
``snip``, ``grasp``, ``synflow``
    One-shot pruning of ``w0`` by the saliency scores of
    :mod:`sparsesim.nn.saliency` (SNIP and GraSP on the model's first
    minibatch; GraSP with the official rule — remove the highest
    ``-W ⊙ Hg`` — and logit temperature ``grasp_temperature``; SynFlow
    data-free with ``synflow_iterations`` rounds).  ``saliency_scope``:
    ``"layerwise"`` (default) keeps exactly the ticket's per-layer weight
    counts, ``"global"`` ranks all prunable weights together and keeps the
    ticket's total count.  Biases are zero at initialisation, so no at-init
    score ranks them: when biases are pruned, these conditions use the
    ticket's bias masks shuffled within each layer.
``oneshot``
    One-shot magnitude pruning of the trained dense network straight to the
    round's counts (same scope as IMP), reset to ``w0``.

The conditions are an open registry (:data:`CONTROLS`; :data:`CONDITIONS`
lists its names): :func:`register_condition` adds a control from outside the
package — a ``start(ctx, r)`` of its own, or one-shot pruning of ``w0`` by a
saliency criterion registered with :func:`sparsesim.nn.register_saliency`
(:class:`SaliencyStart`, the way ``snip``, ``grasp`` and ``synflow`` are
built).

Pruning schedule (:class:`PruningSchedule`)
-------------------------------------------
``fixed_fraction(p, rounds)``: each round removes a fraction ``p`` of the
weights remaining in each tensor: ``k_{r+1} = floor((1 - p·ρ) k_r + 0.5)``
with rate ``ρ = 1`` for hidden layers and ``ρ = output_rate`` for the output
layer (Frankle & Carbin: ``p = 0.2``, output layer ``0.1`` → ``output_rate =
0.5``).  ``from_densities(d_1 > d_2 > ...)``: round ``r`` keeps
``k_r = floor((1 - ρ (1 - d_r)) n + 0.5)`` of ``n`` entries (MNIST-1D
notebook: sparsities ``linspace(0, 1, 100)``, i.e. densities ``1 - r/99``;
see :func:`mnist1d_densities`, which omits sparsity 1.0: a network with every
weight pruned is a constant function, so its "accuracy" says nothing about
tickets).  ``prune_biases`` prunes each bias vector with its layer's rate
(counts computed on the bias vector itself).  ``scope="global"`` pools every
prunable tensor of the layers with ``ρ > 0`` (``output_rate`` must then be 1:
pooled, or 0: left dense) and keeps ``K_r`` entries of the pool.

Batching and seeds
------------------
All conditions and seeds of a round train as one batch of
``B = seeds × conditions`` models (:func:`sparsesim.nn.training.train`).  Each
replicate seed (a :class:`numpy.random.SeedSequence`) spawns, by purpose, its
initialisation ``w0``, its data order (shared by all its conditions and
rounds: a paired design), and per-round seeds for ``reinit``, ``random``,
``shuffled`` and the bias masks of the saliency conditions — so a model's
result does not depend on which other conditions share its batch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from .._deprecation import renamed_names
from .._registry import Registry, check_callable, check_name
from .._rounds import tree_arrays, tree_from
from .._validation import check_array, check_bool, check_choice, check_int, check_real
from ..backend import child_seed, get_namespace, namespace_of, resolve_backend, to_numpy
from ..sparsity import keep_count
from . import mlp as _mlp
from . import saliency as _sal
from .optim import make_optimizer
from .tree import concat_models, take_models  # noqa: F401 - also their former address
from .training import BATCH_ORDERS, MAX_STEPS, TrainData, check_data, data_order, train
from .specs import NetworkSpec, TrainSpec

__all__ = [
    "CONDITIONS",
    "SCOPES",
    "BIAS_RANKINGS",
    "COUNT_RULES",
    "PruningSchedule",
    "LotteryProtocol",
    "mnist1d_densities",
    "keep_counts",
    "magnitude_prune",
    "random_masks",
    "mask_counts",
    "mask_density",
    "run_imp",
    "imp_rounds",
    "CONTROLS",
    "Condition",
    "RoundContext",
    "SaliencyStart",
    "register_condition",
    "unregister_condition",
    "condition_names",
    "ordered_conditions",
]

#: Most pruning rounds a schedule may have.
MAX_ROUNDS = 10_000

SCOPES = ("layerwise", "global")
BIAS_RANKINGS = ("separate", "joint")
COUNT_RULES = ("nearest", "truncate")

# spawn-key purposes of a replicate seed
_INIT, _DATA, _REINIT, _RANDOM, _SHUFFLE, _BIAS, _SCORES = range(7)


# --------------------------------------------------------------------------- schedule

def mnist1d_densities(n_sparsities: int = 100) -> tuple[float, ...]:
    """Densities of the MNIST-1D lottery notebook's rounds 1 .. n-2.

    The notebook targets sparsities ``linspace(0, 1, n)``: round 0 is the
    dense net (sparsity 0) and the last value, sparsity 1.0 (every weight
    pruned, a constant network), is omitted.

    Examples
    --------
    >>> d = mnist1d_densities(100)
    >>> len(d), round(d[0], 6), round(d[-1], 6)
    (98, 0.989899, 0.010101)
    """
    n = check_int("n_sparsities", n_sparsities, low=3, high=MAX_ROUNDS + 2)
    sparsities = np.linspace(0.0, 1.0, n)[1:-1]
    return tuple(float(1.0 - s) for s in sparsities)


@dataclass(frozen=True)
class PruningSchedule:
    """How much each IMP round prunes (see the module notes).

    Use the constructors :meth:`fixed_fraction` and :meth:`from_densities`.

    Attributes
    ----------
    densities : tuple of float
        Nominal target density of rounds ``1 .. R`` (for a fixed fraction
        ``(1 - p)^r``); round 0 is dense.
    fraction : float or None
        The per-round fraction ``p`` (fixed-fraction schedules only).
    output_rate : float
        Output layer pruned at ``output_rate`` times the rate of the others.
    prune_biases : bool
    scope : {"layerwise", "global"}
    bias_ranking : {"separate", "joint"}
        With ``prune_biases`` and layerwise scope: ``"separate"`` (default)
        prunes each weight matrix and each bias vector to its own count of
        :func:`keep_counts`; ``"joint"`` ranks a layer's weights and bias
        together and keeps the same total per layer (the MNIST-1D notebook
        scores the concatenated weights and bias of a layer against one
        threshold), so a bias competes with its layer's weights.
    count_rule : {"nearest", "truncate"}
        How an explicit density ``d`` becomes a count of ``n`` ranked entries
        (rate ``ρ``, sparsity ``s = ρ (1 - d)``): ``"nearest"`` (default)
        keeps ``floor((1 - s) n + 1/2)``; ``"truncate"`` drops ``int(s · n)``
        and keeps the rest — the MNIST-1D notebook's ``num_to_drop =
        int(sparsity · len)``, where ``n`` is the ranked unit: a tensor, a
        layer's weights and bias together (``bias_ranking="joint"``) or the
        global pool.  Fixed-fraction schedules use ``"nearest"`` only.

    Examples
    --------
    >>> s = PruningSchedule.fixed_fraction(0.2, 3, output_rate=0.5)
    >>> s.rounds, [round(d, 3) for d in s.densities]
    (3, [0.8, 0.64, 0.512])
    >>> PruningSchedule.fixed_fraction(1.2, 3)
    Traceback (most recent call last):
    ...
    ValueError: fraction must be in (0, 1); got 1.2
    """

    densities: tuple
    fraction: float | None = None
    output_rate: float = 1.0
    prune_biases: bool = False
    scope: str = "layerwise"
    bias_ranking: str = "separate"
    count_rule: str = "nearest"

    def __post_init__(self):
        if not isinstance(self.densities, tuple) or not all(
                isinstance(d, float) and 0.0 < d < 1.0 for d in self.densities):
            raise TypeError("densities must be a tuple of floats in (0, 1); build schedules "
                            "with PruningSchedule.fixed_fraction or .from_densities")
        check_choice("scope", self.scope, SCOPES)
        rate = check_real("output_rate", self.output_rate, low=0.0, high=1.0)
        if self.scope == "global" and rate not in (0.0, 1.0):
            raise ValueError(f"output_rate must be 0 (output layer left dense) or 1 (pooled) "
                             f"with scope='global'; got {rate}")
        check_bool("prune_biases", self.prune_biases)
        if len(self.densities) < 1:
            raise ValueError("a pruning schedule needs at least one round")
        check_choice("bias_ranking", self.bias_ranking, BIAS_RANKINGS)
        if self.bias_ranking == "joint" and not (self.prune_biases and self.scope == "layerwise"):
            raise ValueError("bias_ranking='joint' ranks each layer's biases with its weights: it "
                             "needs prune_biases=True and scope='layerwise' (global scope pools "
                             f"them already); got prune_biases={self.prune_biases}, "
                             f"scope={self.scope!r}")
        check_choice("count_rule", self.count_rule, COUNT_RULES)
        if self.count_rule == "truncate" and self.fraction is not None:
            raise ValueError("count_rule='truncate' applies to explicit densities "
                             "(PruningSchedule.from_densities); fixed-fraction schedules use "
                             "count_rule='nearest'")

    def kept(self, round_index: int, n: int, rate: float = 1.0) -> int:
        """Entries of a ranked unit of ``n`` kept at round ``round_index`` (explicit densities).

        Examples
        --------
        >>> s = PruningSchedule.from_densities([0.75], count_rule="truncate")
        >>> s.kept(1, 10), PruningSchedule.from_densities([0.75]).kept(1, 10)
        (8, 8)
        >>> s = PruningSchedule.from_densities([0.33], count_rule="truncate")
        >>> s.kept(1, 10), PruningSchedule.from_densities([0.33]).kept(1, 10)
        (4, 3)
        """
        round_index = check_int("round_index", round_index, low=1, high=self.rounds)
        n = check_int("n", n, low=0)
        if self.fraction is not None:
            raise ValueError("kept() needs explicit densities; fixed-fraction counts are "
                             "recursive (see keep_counts)")
        d = self.densities[round_index - 1]
        if self.count_rule == "truncate":
            return n - int((rate * (1.0 - d)) * n)
        return keep_count(1.0 - rate * (1.0 - d), n)

    @classmethod
    def fixed_fraction(cls, fraction: float, rounds: int, *, output_rate: float = 1.0,
                       prune_biases: bool = False, scope: str = "layerwise",
                       bias_ranking: str = "separate") -> "PruningSchedule":
        """Prune a fraction ``fraction`` of the remaining weights in each of ``rounds`` rounds."""
        fraction = check_real("fraction", fraction, low=0.0, high=1.0, low_open=True,
                              high_open=True)
        rounds = check_int("rounds", rounds, low=1, high=MAX_ROUNDS)
        densities = tuple((1.0 - fraction) ** r for r in range(1, rounds + 1))
        if densities[0] >= 1.0:
            raise ValueError(f"fraction must be at least the float64 resolution (1 - fraction "
                             f"must differ from 1); got {fraction}")
        if densities[-1] <= 0.0:
            raise ValueError(f"fraction={fraction} over rounds={rounds} drives the density to 0 "
                             "(float64 underflow); use fewer rounds")
        return cls(densities=densities,
                   fraction=fraction, output_rate=output_rate, prune_biases=prune_biases,
                   scope=scope, bias_ranking=bias_ranking)

    @classmethod
    def from_densities(cls, densities: Sequence[float], *, output_rate: float = 1.0,
                       prune_biases: bool = False, scope: str = "layerwise",
                       bias_ranking: str = "separate",
                       count_rule: str = "nearest") -> "PruningSchedule":
        """Explicit target densities of rounds 1, 2, ... (strictly decreasing, in (0, 1)).

        A leading ``1.0`` is read as the dense round 0 and dropped.

        Examples
        --------
        >>> PruningSchedule.from_densities([1.0, 0.5, 0.25]).densities
        (0.5, 0.25)
        >>> PruningSchedule.from_densities([0.5, 0.6])
        Traceback (most recent call last):
        ...
        ValueError: densities must be strictly decreasing; got 0.6 after 0.5 (round 2)
        """
        if isinstance(densities, (str, bytes)) or not isinstance(densities, (Sequence, np.ndarray)) \
                or (isinstance(densities, np.ndarray) and densities.ndim != 1):
            raise TypeError(f"densities must be a sequence of floats; got {densities!r}")
        if len(densities) > MAX_ROUNDS + 1:
            raise ValueError(f"densities must hold at most {MAX_ROUNDS} rounds; "
                             f"got {len(densities)}")
        vals = [check_real(f"densities[{i}]", d, low=0.0, high=1.0)
                for i, d in enumerate(list(densities))]
        if vals and vals[0] == 1.0:
            vals = vals[1:]
        if not vals:
            raise ValueError("densities must hold at least one target below 1.0")
        for i, d in enumerate(vals):
            if d == 0.0:
                raise ValueError(f"densities must be > 0: density 0 (sparsity 1.0) prunes every "
                                 f"weight and leaves a constant network; omit it (round {i + 1})")
            if d >= 1.0:
                raise ValueError(f"densities must be < 1 after round 0; got {d} (round {i + 1})")
            if i and d >= vals[i - 1]:
                raise ValueError(f"densities must be strictly decreasing; got {d} after "
                                 f"{vals[i - 1]} (round {i + 1})")
        return cls(densities=tuple(vals), fraction=None, output_rate=output_rate,
                   prune_biases=prune_biases, scope=scope, bias_ranking=bias_ranking,
                   count_rule=count_rule)

    @property
    def rounds(self) -> int:
        return len(self.densities)

    def layer_rates(self, n_layers: int) -> tuple[float, ...]:
        """Rate multiplier ``ρ`` per layer (1, ..., 1, output_rate)."""
        return (1.0,) * (n_layers - 1) + (float(self.output_rate),)


def _tensor_sizes(sizes: Sequence[int]) -> list[tuple[int, int]]:
    return [(fi * fo, fo) for fi, fo in zip(sizes[:-1], sizes[1:])]


def keep_counts(schedule: PruningSchedule, sizes: Sequence[int]) -> np.ndarray:
    """Exact entries kept per round.

    Returns
    -------
    ndarray of int
        ``scope="layerwise"``: shape ``(R + 1, L, 2)``, ``[r, l, 0]`` weights and
        ``[r, l, 1]`` biases of layer ``l`` kept at round ``r`` (biases stay at
        ``fan_out`` when not pruned).  ``scope="global"``: shape ``(R + 1,)``,
        the entries kept in the pool.

    Examples
    --------
    >>> s = PruningSchedule.fixed_fraction(0.2, 2, output_rate=0.5)
    >>> keep_counts(s, (10, 10, 10))[:, :, 0].tolist()     # 100 weights per layer
    [[100, 100], [80, 90], [64, 81]]
    >>> s = PruningSchedule.from_densities([0.5], prune_biases=True)
    >>> keep_counts(s, (4, 3))[1].tolist()
    [[6, 2]]
    """
    sizes = _mlp.check_sizes(tuple(sizes))
    tensors = _tensor_sizes(sizes)
    rates = schedule.layer_rates(len(tensors))
    R = schedule.rounds
    if schedule.scope == "global":
        pool = sum(nw + (nb if schedule.prune_biases else 0)
                   for (nw, nb), rho in zip(tensors, rates) if rho > 0)
        out = np.empty(R + 1, dtype=np.int64)
        out[0] = pool
        for r in range(1, R + 1):
            out[r] = (keep_count(1.0 - schedule.fraction, int(out[r - 1]))
                      if schedule.fraction is not None
                      else keep_count(schedule.densities[r - 1], pool)
                      if schedule.count_rule == "nearest" else schedule.kept(r, pool))
        return out
    out = np.empty((R + 1, len(tensors), 2), dtype=np.int64)
    for l, ((nw, nb), rho) in enumerate(zip(tensors, rates)):
        for part, n in enumerate((nw, nb)):
            pruned = rho > 0 and (part == 0 or schedule.prune_biases)
            out[0, l, part] = n
            for r in range(1, R + 1):
                if not pruned:
                    out[r, l, part] = n
                elif schedule.fraction is not None:
                    out[r, l, part] = keep_count(1.0 - rho * schedule.fraction,
                                                 int(out[r - 1, l, part]))
                else:
                    out[r, l, part] = schedule.kept(r, n, rho)
    return out


# --------------------------------------------------------------------------- masks

def _full_masks(params: Any, prune_biases: bool) -> list[tuple[Any, Any]]:
    xp = namespace_of(params[0][0])
    return [(xp.ones(W.shape, dtype=bool), xp.ones(b.shape, dtype=bool) if prune_biases else None)
            for W, b in params]


def _check_mask_pairs(name: str, masks: Any) -> list[tuple[Any, Any]]:
    """Validate per-layer ``(mW, mb)`` masks (an array alone means ``(mW, None)``)."""
    if not isinstance(masks, (list, tuple)) or len(masks) == 0:
        raise TypeError(f"{name} must be a non-empty list with one (mW, mb) pair per layer; "
                        f"got {type(masks).__name__}")
    out = []
    n_models = None
    for l, entry in enumerate(masks):
        if isinstance(entry, tuple) and len(entry) == 2:
            mW, mb = entry
        elif hasattr(entry, "shape") and hasattr(entry, "dtype"):
            mW, mb = entry, None
        else:
            raise TypeError(f"{name}[{l}] must be a mask array or a (mW, mb) pair of mask "
                            f"arrays; got {type(entry).__name__}")
        for part, what, nd in ((mW, "mW", 2), (mb, "mb", 2)):
            if part is None and what == "mb":
                continue
            check_array(f"{name}[{l}] {what}", part, kinds="biuf", min_ndim=nd, min_size=1)
            if part.dtype.kind != "b" and not bool(namespace_of(part).all(
                    (part == 0) | (part == 1))):
                raise ValueError(f"{name}[{l}] {what} must be boolean or hold only 0 and 1")
            if n_models is None:
                n_models = int(part.shape[0])
            elif part.shape[0] != n_models:
                raise ValueError(f"{name}[{l}] {what} must have n_models={n_models} on axis 0; "
                                 f"got shape {tuple(part.shape)}")
        out.append((mW, mb))
    return out


def mask_counts(masks: Sequence[tuple[Any, Any]]) -> np.ndarray:
    """Kept entries per model and tensor, shape ``(B, L, 2)`` (``-1`` for an absent bias mask).

    Examples
    --------
    >>> m = [(np.ones((2, 2, 3), bool), None)]
    >>> mask_counts(m)[:, 0].tolist()
    [[6, -1], [6, -1]]
    """
    masks = _check_mask_pairs("masks", masks)
    cols = []
    for mW, mb in masks:
        kw = to_numpy(mW.reshape(mW.shape[0], -1).sum(axis=1))
        kb = (to_numpy(mb.sum(axis=1)) if mb is not None
              else np.full(kw.shape, -1, dtype=np.int64))
        cols.append(np.stack([kw, kb], axis=1))
    return np.stack(cols, axis=1).astype(np.int64)


def mask_density(masks: Sequence[tuple[Any, Any]], params: Any, *,
                 include_biases: bool) -> np.ndarray:
    """Fraction of weights (and biases, if ``include_biases``) kept, per model.

    Tensors without a mask count as fully kept.

    Examples
    --------
    >>> p = [(np.zeros((1, 2, 2)), np.zeros((1, 2)))]
    >>> float(mask_density([(np.array([[[1, 0], [0, 0]]], bool), None)], p,
    ...                    include_biases=False)[0])
    0.25
    """
    kept = 0
    total = 0
    for (W, b), (mW, mb) in zip(params, masks):
        n_models = W.shape[0]
        kept = kept + (to_numpy(mW.reshape(n_models, -1).sum(axis=1)) if mW is not None
                       else W[0].size)
        total += W[0].size
        if include_biases:
            kept = kept + (to_numpy(mb.sum(axis=1)) if mb is not None else b.shape[1])
            total += b.shape[1]
    return np.asarray(kept, dtype=np.float64) / total


def magnitude_prune(params: Any, masks: Sequence[tuple[Any, Any]], schedule: PruningSchedule,
                    round_index: int) -> list[tuple[Any, Any]]:
    """Masks of round ``round_index``: keep the largest ``|w|`` among the surviving entries.

    Every model of the batch is pruned independently to the exact counts of
    :func:`keep_counts` (layerwise: per tensor; global: over the pool).
    Entries already pruned are never revived; ties go to the lower index
    (:func:`sparsesim.nn.select_mask`).

    Parameters
    ----------
    params : list of (W, b)
        Trained weights (the magnitudes ranked).
    masks : list of (mW, mb)
        Current masks (``mb`` ``None`` when biases are not pruned).
    schedule : PruningSchedule
    round_index : int
        ``1 .. schedule.rounds``.

    Examples
    --------
    >>> p = [(np.array([[[3.0, -1.0], [0.5, 2.0]]]), np.zeros((1, 2)))]
    >>> m = [(np.ones((1, 2, 2), bool), None)]
    >>> s = PruningSchedule.from_densities([0.5])
    >>> magnitude_prune(p, m, s, 1)[0][0].astype(int).tolist()
    [[[1, 0], [0, 1]]]
    """
    round_index = check_int("round_index", round_index, low=1, high=schedule.rounds)
    sizes = _mlp.layer_sizes(params)
    counts = keep_counts(schedule, sizes)
    tensors = _tensor_sizes(sizes)
    rates = schedule.layer_rates(len(tensors))
    xp = namespace_of(params[0][0])
    if schedule.scope == "global":
        scores, existing = [], []
        for (W, b), (mW, mb), rho in zip(params, masks, rates):
            if rho == 0:
                scores.append(None)
                existing.append(None)
            elif schedule.prune_biases:
                scores.append((xp.abs(W), xp.abs(b)))
                existing.append((mW, mb))
            else:
                scores.append(xp.abs(W))
                existing.append((mW, None))
        K, N = int(counts[round_index]), int(counts[0])
        new = _sal.select_mask(scores, K / N, scope="global", existing_masks=existing)
        out = []
        for entry, (mW, mb) in zip(new, masks):
            if entry is None:
                out.append((mW, mb))
            elif isinstance(entry, tuple):
                out.append(entry)
            else:
                out.append((entry, mb))
        return out
    k = counts[round_index]
    if schedule.bias_ranking == "joint":
        # One ranking per layer over its weights and bias, keeping the layer's
        # total of the separate counts ("nearest") or, with count_rule
        # "truncate", n - int(s·n) of the layer's n = weights + biases: a
        # global selection over that layer alone.
        out = []
        for l, ((W, b), (mW, mb)) in enumerate(zip(params, masks)):
            if rates[l] == 0:
                out.append((mW, mb))
                continue
            n = sum(tensors[l])
            total = (schedule.kept(round_index, n, rates[l])
                     if schedule.count_rule == "truncate" else int(k[l].sum()))
            new = _sal.select_mask([(xp.abs(W), xp.abs(b))], total / n,
                                   scope="global", existing_masks=[(mW, mb)])
            out.append(new[0])
        return out
    dens_w = [None if rates[l] == 0 else int(k[l, 0]) / n for l, (n, _) in enumerate(tensors)]
    new_w = _sal.select_mask([xp.abs(W) for W, _ in params], 1.0, scope="layerwise",
                             layer_densities=dens_w, existing_masks=[mW for mW, _ in masks])
    if schedule.prune_biases:
        dens_b = [None if rates[l] == 0 else int(k[l, 1]) / n for l, (_, n) in enumerate(tensors)]
        new_b = _sal.select_mask([xp.abs(b) for _, b in params], 1.0, scope="layerwise",
                                 layer_densities=dens_b, existing_masks=[mb for _, mb in masks])
    else:
        new_b = [None] * len(params)
    return [(mW if nW is None else nW, mb if nb is None else nb)
            for (mW, mb), nW, nb in zip(masks, new_w, new_b)]


def _per_model(masks, seeds, shuffle: bool):
    masks = _check_mask_pairs("masks", masks)
    n_models = int(masks[0][0].shape[0])
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple)):
        raise TypeError(f"seeds must be a list with one seed per model ({n_models}); "
                        f"got {type(seeds).__name__}")
    if len(seeds) != n_models:
        raise ValueError(f"seeds must hold one seed per model of masks ({n_models}); "
                         f"got {len(seeds)}")
    try:
        seeds = _mlp.model_seeds(list(seeds), n_models)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"seeds: {exc}") from None
    return _sal._permuted_masks(masks, seeds, shuffle=shuffle)


def random_masks(masks: Sequence[tuple[Any, Any]],
                 seeds: Sequence[np.random.SeedSequence]) -> list[tuple[Any, Any]]:
    """Uniformly random masks with exactly the per-model, per-tensor counts of ``masks``.

    ``seeds[i]`` drives model ``i`` (independent of the batch).

    Examples
    --------
    >>> m = [(np.array([[[1, 1], [0, 0]]], bool), None)]
    >>> r = random_masks(m, [np.random.SeedSequence(0)])
    >>> int(r[0][0].sum()), r[0][1]
    (2, None)
    """
    return _per_model(masks, list(seeds), shuffle=False)


def _shuffled_masks(masks: Sequence[tuple[Any, Any]],
                    seeds: Sequence[np.random.SeedSequence]) -> list[tuple[Any, Any]]:
    """Deprecated: :func:`sparsesim.nn.shuffle_masks` with ``seed=list(seeds)``.

    The same masks (one implementation); kept for one release as
    ``sparsesim.nn.lottery.shuffled_masks``.
    """
    return _per_model(masks, list(seeds), shuffle=True)


# --------------------------------------------------------------------------- protocol

@dataclass(frozen=True)
class LotteryProtocol:
    """Everything that fixes an IMP experiment except the data and the seeds.

    Attributes
    ----------
    sizes : tuple of int
        ``(n_in, h_1, ..., n_out)``.
    schedule : PruningSchedule
    residual : bool or tuple of int
        As in :func:`sparsesim.nn.init_mlp` (MNIST-1D reference: ``True``).
    init : {"kaiming_normal", "glorot_normal"}
    dtype : float32 or float64
    loss : {"cross_entropy", "mse"}
    optimizer : {"adam", "sgd"}
    lr, momentum : float
    steps, batch_size, eval_every : int
    rewind_step : int
        ``tau`` for the ``rewind`` condition, ``1 .. steps - 1`` (0 when the
        condition is not run; ``tau = 0`` is the ``lottery`` condition).
    saliency_scope : {"layerwise", "global"}
    grasp_temperature : float
    synflow_iterations : int
    use_graph : bool or None
        Passed to :func:`sparsesim.nn.training.train`.
    prune_step : int or None
        The IMP masks (lottery and rewind chains) rank the magnitudes of the
        weights after ``prune_step`` steps of each round's training, ``1 ..
        steps``; ``None`` (default) = the end of training.  The MNIST-1D
        notebook prunes its last checkpoint, taken at step 1000 of 1,501.
        Test accuracy and the other row columns still come from the end of
        training; ``oneshot`` still prunes the fully trained dense network.
        ``prune_step = s`` is the checkpoint taken after ``s`` updates: the
        notebook's ``step % 1000 == 0`` checkpoint of ``for step in
        range(1502)`` follows update number 1,001, i.e. ``prune_step = 1001``.
    batch_order : {"shuffled", "sequential"}
        Minibatch order of every round (:func:`sparsesim.nn.training.train`):
        ``"shuffled"`` (default) random epochs per replicate, the same in
        every round; ``"sequential"`` the MNIST-1D notebook's fixed order
        ``bix = (step·batch) mod n_train``, the same for every replicate.

    Notes
    -----
    The notebook's ``for step in range(1501 + 1)`` makes 1,502 updates per
    round, but its last evaluation (the reported test accuracy) follows
    update 1,501 and nothing it reports or prunes reads the parameters after
    update 1,502; ``steps = 1501`` therefore reproduces every number it
    reports, with ``prune_step = 1001``.
    """

    sizes: tuple
    schedule: PruningSchedule
    residual: Any = False
    init: str = "kaiming_normal"
    dtype: Any = np.float32
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 2e-2
    momentum: float = 0.0
    steps: int = 1501
    batch_size: int = 100
    eval_every: int = 100
    rewind_step: int = 0
    saliency_scope: str = "layerwise"
    grasp_temperature: float = 200.0
    synflow_iterations: int = 100
    use_graph: bool | None = None
    prune_step: int | None = None
    batch_order: str = "shuffled"

    def __post_init__(self):
        object.__setattr__(self, "sizes", _mlp.check_sizes(tuple(self.sizes)))
        if not isinstance(self.schedule, PruningSchedule):
            raise TypeError(f"schedule must be a PruningSchedule; got {type(self.schedule).__name__}")
        _mlp.residual_layers(self.sizes, self.residual)
        check_choice("init", self.init, _mlp.INITS)
        _mlp.check_float_dtype(self.dtype)
        _mlp.check_loss(self.loss, 1.0)
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        make_optimizer(self.optimizer, self.lr, momentum=self.momentum)
        steps = check_int("steps", self.steps, low=1, high=MAX_STEPS)
        check_int("batch_size", self.batch_size, low=1)
        check_int("eval_every", self.eval_every, low=1)
        check_int("rewind_step", self.rewind_step, low=0)
        if self.rewind_step >= steps:
            raise ValueError(f"rewind_step must be in [0, {steps - 1}] (the training budget is "
                             f"steps={steps}); got {self.rewind_step}")
        if self.prune_step is not None:
            check_int("prune_step", self.prune_step, low=1)
            if self.prune_step > steps:
                raise ValueError(f"prune_step must be in [1, {steps}] (the training budget is "
                                 f"steps={steps}) or None; got {self.prune_step}")
        check_choice("saliency_scope", self.saliency_scope, SCOPES)
        check_choice("batch_order", self.batch_order, BATCH_ORDERS)
        check_real("grasp_temperature", self.grasp_temperature, low=_mlp.MIN_TEMPERATURE)
        check_int("synflow_iterations", self.synflow_iterations, low=1,
                  high=_sal.MAX_SYNFLOW_ITERATIONS)

    @property
    def network(self) -> NetworkSpec:
        """The network of every round: ``sizes``, ``residual``, ``init``, ``dtype``.

        Examples
        --------
        >>> sched = PruningSchedule.fixed_fraction(0.2, 3)
        >>> proto = LotteryProtocol((40, 100, 100, 10), sched, residual=True)
        >>> proto.network
        NetworkSpec(sizes=(40, 100, 100, 10), residual=True, activation='relu', init='kaiming_normal', dtype=dtype('float32'))
        """
        return NetworkSpec(self.sizes, self.residual, init=self.init, dtype=self.dtype)

    @property
    def training(self) -> TrainSpec:
        """How every round trains: optimizer, steps, batch size, evaluation, loss, order, graph.

        Examples
        --------
        >>> proto = LotteryProtocol((40, 100, 10), PruningSchedule.fixed_fraction(0.2, 3),
        ...                         steps=600)
        >>> spec = proto.training
        >>> spec.optimizer.name, spec.optimizer.lr, spec.steps, spec.batch_size
        ('adam', 0.02, 600, 100)
        """
        return TrainSpec(make_optimizer(self.optimizer, self.lr, momentum=self.momentum),
                         steps=self.steps, batch_size=self.batch_size,
                         eval_every=self.eval_every, loss=self.loss,
                         batch_order=self.batch_order, use_graph=self.use_graph)

    @classmethod
    def from_specs(cls, network: NetworkSpec, training: TrainSpec, schedule: PruningSchedule,
                   **lottery: Any) -> "LotteryProtocol":
        """The protocol of a network, its training and a pruning schedule.

        ``lottery``: the IMP fields (``rewind_step``, ``saliency_scope``,
        ``grasp_temperature``, ``synflow_iterations``, ``prune_step``).  The
        training must be one a protocol can state: SGD or Adam with default
        moments, one learning rate, temperature 1, no ``eval_chunk``, no TF32
        (``ValueError`` naming the field otherwise).

        Examples
        --------
        >>> net = NetworkSpec((40, 100, 100, 10), residual=True)
        >>> spec = TrainSpec(make_optimizer("adam", 2e-2), steps=1501, batch_size=100)
        >>> sched = PruningSchedule.fixed_fraction(0.2, 3)
        >>> proto = LotteryProtocol.from_specs(net, spec, sched, rewind_step=5)
        >>> proto.network == net, proto.rewind_step, proto.lr
        (True, 5, 0.02)
        >>> LotteryProtocol.from_specs(net, spec.replace(tf32=True), sched)
        Traceback (most recent call last):
        ...
        ValueError: training.tf32 must be False for a LotteryProtocol; got True
        """
        if not isinstance(network, NetworkSpec):
            raise TypeError(f"network must be a NetworkSpec; got {type(network).__name__}")
        if not isinstance(training, TrainSpec):
            raise TypeError(f"training must be a TrainSpec; got {type(training).__name__}")
        own = ("rewind_step", "saliency_scope", "grasp_temperature", "synflow_iterations",
               "prune_step")
        for name in lottery:
            if name not in own:
                raise TypeError(f"from_specs() got an unexpected keyword argument {name!r} "
                                f"(the IMP fields are {', '.join(own)})")
        opt = training.optimizer
        if opt.name not in ("sgd", "adam") or (opt.name == "adam" and (
                opt.beta1, opt.beta2, opt.eps, opt.fused) != (0.9, 0.999, 1e-8, None)):
            raise ValueError(f"training.optimizer must be SGD or Adam with its default moments "
                             f"for a LotteryProtocol; got {opt!r}")
        if not isinstance(opt.lr, float):
            raise ValueError(f"training.optimizer.lr must be one float for a LotteryProtocol; "
                             f"got {opt.lr!r}")
        for name, allowed in (("temperature", 1.0), ("eval_chunk", None), ("tf32", False)):
            if getattr(training, name) != allowed:
                raise ValueError(f"training.{name} must be {allowed} for a LotteryProtocol; "
                                 f"got {getattr(training, name)!r}")
        return cls(network.sizes, schedule, residual=network.residual, init=network.init,
                   dtype=network.dtype.type, loss=training.loss, optimizer=opt.name, lr=opt.lr,
                   momentum=getattr(opt, "momentum", 0.0), steps=training.steps,
                   batch_size=training.batch_size, eval_every=training.eval_every,
                   use_graph=training.use_graph, batch_order=training.batch_order, **lottery)


def _check_conditions(conditions: Any, protocol: LotteryProtocol) -> tuple[str, ...]:
    if isinstance(conditions, str) or not isinstance(conditions, Sequence) or not conditions:
        raise TypeError(f"conditions must be a non-empty sequence of names from "
                        f"{condition_names()}; got {conditions!r}")
    out = []
    for c in conditions:
        check_choice("condition", c, condition_names())
        if c not in out:
            out.append(c)
    if "rewind" in out and protocol.rewind_step == 0:
        raise ValueError("condition 'rewind' needs rewind_step >= 1 (rewinding to step 0 is the "
                         "'lottery' condition)")
    return tuple(out)


# --------------------------------------------------------------------------- the IMP loop

def imp_rounds(schedule: PruningSchedule, weights: Any, masks: Sequence[tuple[Any, Any]],
               train_round: Callable[[int, list], Any], *,
               rounds: int | None = None, first: int = 1,
               after_round: Callable[[int, Any], None] | None = None) -> list[tuple[Any, Any]]:
    """Iterative magnitude pruning: prune, train, prune again, for ``rounds`` rounds.

    Round 1's masks prune ``weights`` (the trained dense network) from
    ``masks`` (usually all ones); then for ``r = 1 .. rounds``:
    ``trained = train_round(r, masks_r)`` and, while ``r < schedule.rounds``,
    ``masks_{r+1} = magnitude_prune(trained, masks_r, schedule, r + 1)``.
    What a round trains (rewound or reset survivors, extra models in the
    batch) is the caller's: ``train_round`` returns the weights whose
    magnitudes choose the next masks, for the models of ``masks`` (each
    model is pruned independently, so several mask chains may share a call).

    Parameters
    ----------
    schedule : PruningSchedule
    weights : list of (W, b) or None
        The weights ranked for round ``first`` (B models); ``None``: ``masks``
        are round ``first``'s masks already (a run resumed after round
        ``first - 1``).
    masks : list of (mW, mb)
        The masks round ``first`` prunes from (B models), or its masks when
        ``weights`` is ``None``.
    train_round : callable
        ``train_round(r, masks_r) -> trained weights`` (B models).
    rounds : int, optional
        Last round trained, ``first - 1 .. schedule.rounds`` (default all).
    first : int
        The first round trained, ``1 .. schedule.rounds`` (default 1).
    after_round : callable, optional
        ``after_round(r, next_masks)`` after round ``r`` is trained and the
        masks of round ``r + 1`` are chosen (``None`` after the schedule's
        last round): what a round journal records to resume at ``r + 1``.

    Returns
    -------
    list of (mW, mb)
        The masks after the last round trained: those of round ``rounds + 1``
        when ``rounds < schedule.rounds``, else those of the last round.

    Examples
    --------
    >>> w = [(np.array([[[3.0, -1.0], [0.5, 2.0]]]), np.zeros((1, 2)))]
    >>> full = [(np.ones((1, 2, 2), bool), None)]
    >>> sched = PruningSchedule.from_densities([0.5, 0.25])
    >>> seen = []
    >>> final = imp_rounds(sched, w, full, lambda r, m: seen.append(int(m[0][0].sum())) or w,
    ...                    rounds=1)
    >>> seen, int(final[0][0].sum())
    ([2], 1)

    Resuming at round 2 from the masks saved after round 1 trains the same rounds:

    >>> again = []
    >>> _ = imp_rounds(sched, None, final, lambda r, m: again.append(int(m[0][0].sum())) or w,
    ...                first=2)
    >>> again
    [1]
    """
    if not isinstance(schedule, PruningSchedule):
        raise TypeError(f"schedule must be a PruningSchedule; got {type(schedule).__name__}")
    if not callable(train_round):
        raise TypeError(f"train_round must be callable; got {type(train_round).__name__}")
    first = check_int("first", first, low=1, high=schedule.rounds)
    rounds = schedule.rounds if rounds is None else check_int("rounds", rounds, low=first - 1,
                                                              high=schedule.rounds)
    if after_round is not None and not callable(after_round):
        raise TypeError(f"after_round must be callable or None; got {type(after_round).__name__}")
    if weights is not None:
        masks = magnitude_prune(weights, masks, schedule, first)
    for r in range(first, rounds + 1):
        trained = train_round(r, masks)
        if r < schedule.rounds:
            masks = magnitude_prune(trained, masks, schedule, r + 1)
        if after_round is not None:
            after_round(r, masks if r < schedule.rounds else None)
    return masks


# --------------------------------------------------------------------------- conditions

@dataclass(frozen=True)
class RoundContext:
    """What the starting point of a condition may depend on, for the ``S`` replicates.

    Every ``(W, b)`` / ``(mW, mb)`` list holds ``S`` models (one per replicate
    seed, in the order of ``roots``).

    Attributes
    ----------
    protocol : LotteryProtocol
    roots : list of SeedSequence
        The replicate seeds.
    w0 : list of (W, b)
        Initial weights.
    full : list of (mW, mb)
        All-ones masks (``mb`` ``None`` unless biases are pruned).
    trained_dense : list of (W, b)
        The dense run's weights at the end of training.
    data : TrainData
        On the run's backend and dtype.
    first_idx : array ``(S, batch_size)`` or None
        Each replicate's first minibatch (SNIP, GraSP).
    ticket : list of (mW, mb) or None
        The lottery chain's masks at this round.
    w_tau, rewind_masks : list or None
        The dense run's weights after ``rewind_step`` steps and the rewind
        chain's masks at this round.
    """

    protocol: LotteryProtocol
    roots: list
    w0: list
    full: list
    trained_dense: list
    data: TrainData
    first_idx: Any = None
    ticket: Any = None
    w_tau: Any = None
    rewind_masks: Any = None


@dataclass(frozen=True)
class Condition:
    """One condition of :func:`run_imp`: how its models start at round ``r``.

    Attributes
    ----------
    name : str
    start : callable
        ``start(ctx: RoundContext, r: int) -> (params, masks)`` for the ``S``
        replicates (round 0 for ``"dense"``, ``1 .. rounds`` otherwise).
    kind : {"reference", "chain", "control"}
        ``"reference"``: the dense network of round 0; ``"chain"``: an IMP
        mask chain (pruned again after every round); ``"control"``: a
        condition started afresh each round at the ticket's density.
    uses_ticket : bool
        Reads the lottery chain's masks (so that chain is trained).
    uses_first_batch : bool
        Reads each replicate's first minibatch.
    from_rewind_step : bool
        Trained from step ``rewind_step`` instead of step 0.
    uses_trained_dense : bool
        Reads the dense run's trained weights (``ctx.trained_dense``; kept,
        and journaled, only when a condition reads them).

    Examples
    --------
    >>> CONTROLS["random"].kind, CONTROLS["snip"].uses_first_batch
    ('control', True)
    """

    name: str
    start: Callable[[RoundContext, int], tuple[list, list]]
    kind: str = "control"
    uses_ticket: bool = False
    uses_first_batch: bool = False
    from_rewind_step: bool = False
    uses_trained_dense: bool = False


def _dense(ctx: RoundContext, r: int) -> tuple[list, list]:
    return ctx.w0, ctx.full


def _lottery(ctx: RoundContext, r: int) -> tuple[list, list]:
    return ctx.w0, ctx.ticket


def _rewind(ctx: RoundContext, r: int) -> tuple[list, list]:
    return ctx.w_tau, ctx.rewind_masks


def _reinit(ctx: RoundContext, r: int) -> tuple[list, list]:
    return _sal.reinitialize(ctx.w0, seed=[child_seed(s, _REINIT, r) for s in ctx.roots],
                             init=ctx.protocol.init), ctx.ticket


def _random(ctx: RoundContext, r: int) -> tuple[list, list]:
    return ctx.w0, random_masks(ctx.ticket, [child_seed(s, _RANDOM, r) for s in ctx.roots])


def _shuffled(ctx: RoundContext, r: int) -> tuple[list, list]:
    return ctx.w0, _sal.shuffle_masks(ctx.ticket,
                                      seed=[child_seed(s, _SHUFFLE, r) for s in ctx.roots])


def _oneshot(ctx: RoundContext, r: int) -> tuple[list, list]:
    return ctx.w0, magnitude_prune(ctx.trained_dense, ctx.full, ctx.protocol.schedule, r)


@dataclass(frozen=True)
class SaliencyStart:
    """The start of a saliency control: ``w0`` pruned one-shot by a registered criterion.

    Each replicate's weights ``w0`` are pruned by
    :func:`sparsesim.nn.saliency_masks` with the criterion ``criterion`` to
    the ticket's counts of the round (per layer with ``saliency_scope =
    "layerwise"``, in total with ``"global"``; layers the schedule leaves
    dense stay dense).  A criterion that needs data gets the replicate's
    first minibatch, one that needs a seed a seed of its replicate and round.
    Biases, zero at initialisation, get the ticket's bias masks shuffled
    within each layer.

    Attributes
    ----------
    criterion : str
        A registered saliency criterion (:func:`sparsesim.nn.register_saliency`).
    options : tuple of (str, str)
        ``(keyword of saliency_masks, attribute of LotteryProtocol)`` pairs:
        GraSP's logit temperature is ``(("temperature",
        "grasp_temperature"),)``.

    Examples
    --------
    >>> CONTROLS["grasp"].start
    SaliencyStart(criterion='grasp', options=(('temperature', 'grasp_temperature'),))
    """

    criterion: str
    options: tuple = ()

    def __call__(self, ctx: RoundContext, r: int) -> tuple[list, list]:
        protocol, w0, ticket, full = ctx.protocol, ctx.w0, ctx.ticket, ctx.full
        criterion = _sal.saliency_criterion(self.criterion)
        sched = protocol.schedule
        rates = sched.layer_rates(len(w0))
        bias_masks = (_sal._permuted_masks([(None, mb) for _, mb in ticket],
                                        [child_seed(s, _BIAS, r) for s in ctx.roots])
                      if sched.prune_biases else [(None, None)] * len(w0))
        kw = mask_counts(ticket)[:, :, 0]                         # (S, L)
        n_w = np.array([W[0].size for W, _ in w0])
        excluded = tuple(l for l, rho in enumerate(rates) if rho == 0)
        pooled = [l for l in range(len(w0)) if l not in excluded]
        layerwise = protocol.saliency_scope == "layerwise"
        options = {key: getattr(protocol, attr) for key, attr in self.options}
        per_model = []
        for i, root in enumerate(ctx.roots):
            dens_l = [None if l in excluded else int(kw[i, l]) / int(n_w[l])
                      for l in range(len(w0))]
            dens_g = float(sum(int(kw[i, l]) for l in pooled)
                           / sum(int(n_w[l]) for l in pooled))
            Xb = yb = None
            if criterion.needs_data:
                idx = ctx.first_idx[i]
                Xb, yb = ctx.data.x_train[idx], ctx.data.y_train[idx]
            mw = _sal.saliency_masks(
                self.criterion, take_models(w0, slice(i, i + 1)), dens_g, Xb, yb,
                scope=protocol.saliency_scope, layer_densities=dens_l if layerwise else None,
                loss=protocol.loss, residual=protocol.residual, exclude_layers=excluded,
                seed=child_seed(root, _SCORES, r), iterations=protocol.synflow_iterations,
                **options)
            per_model.append([(full[l][0][i:i + 1] if m is None else m, None)
                              for l, m in enumerate(mw)])
        masks_w = concat_models(per_model)
        return w0, [(mW, mb) for (mW, _), (_, mb) in zip(masks_w, bias_masks)]


#: The conditions of :func:`run_imp` by name, built-in ones first (an open
#: registry: :func:`register_condition`); :data:`CONDITIONS` lists its names.
CONTROLS = Registry("condition")


def register_condition(name: str, start: Callable[[RoundContext, int], tuple[list, list]]
                       | None = None, *, uses_ticket: bool = True,
                       uses_first_batch: bool | None = None,
                       uses_trained_dense: bool = False,
                       saliency_options: Sequence[tuple[str, str]] = ()) -> Condition:
    """Add a control condition to :func:`run_imp` (and to the lottery sweeps).

    A control is started afresh every round at the ticket's per-layer counts,
    trained in the same batch as the other conditions and reported like them.

    Parameters
    ----------
    name : str
        The condition's name, unused so far (``ValueError`` naming it
        otherwise; registering an equal condition again does nothing).
    start : callable or None
        ``start(ctx, r) -> (params, masks)``: the ``S`` replicates' starting
        weights and masks at round ``r`` from a :class:`RoundContext` (``w0``,
        the ticket, seeds, data, ...); a top-level function, so that the
        condition can be found by name on other processes.  ``None``: one-shot
        pruning of ``w0`` by the saliency criterion called ``name``
        (:func:`sparsesim.nn.register_saliency`; see :class:`SaliencyStart`).
    uses_ticket : bool
        Reads ``ctx.ticket`` (the lottery chain is then trained).
    uses_first_batch : bool or None
        Reads ``ctx.first_idx``; ``None``: whether the saliency criterion
        needs data (``False`` for a ``start`` of your own).
    uses_trained_dense : bool
        Reads ``ctx.trained_dense``.
    saliency_options : sequence of (str, str)
        With ``start=None``: keywords of :func:`sparsesim.nn.saliency_masks`
        taken from attributes of the :class:`LotteryProtocol`.

    Returns
    -------
    Condition
        The registered condition.

    Raises
    ------
    TypeError
        ``start`` is not callable with ``(ctx, r)``, or a flag is not a bool.
    ValueError
        ``name`` is taken, or ``start=None`` and no saliency criterion has
        that name.

    Examples
    --------
    >>> def ticket_at_w0(ctx, r):
    ...     return ctx.w0, ctx.ticket
    >>> register_condition("ticket_again", ticket_at_w0).kind
    'control'
    >>> "ticket_again" in condition_names()
    True
    >>> register_condition("ticket_again", print)
    Traceback (most recent call last):
    ...
    ValueError: condition 'ticket_again' is already registered; choose another name (or unregister it first)
    >>> unregister_condition("ticket_again")
    """
    return _add_condition(name, start, uses_ticket=uses_ticket, uses_first_batch=uses_first_batch,
                          uses_trained_dense=uses_trained_dense,
                          saliency_options=saliency_options)


def _add_condition(name: str, start: Any, *, kind: str = "control", uses_ticket: bool = True,
                   uses_first_batch: bool | None = None, uses_trained_dense: bool = False,
                   from_rewind_step: bool = False, saliency_options: Sequence = (),
                   builtin: bool = False) -> Condition:
    check_name("condition", name)
    for flag, value in (("uses_ticket", uses_ticket), ("uses_trained_dense", uses_trained_dense)):
        check_bool(flag, value)
    if uses_first_batch is not None:
        check_bool("uses_first_batch", uses_first_batch)
    if start is None:
        if name not in _sal.saliency_methods():
            raise ValueError(f"condition {name!r}: start=None prunes by the saliency criterion "
                             f"{name!r}, which is not registered (registered: "
                             f"{_sal.saliency_methods()}); register it first or pass start=")
        options = tuple((str(k), str(a)) for k, a in saliency_options)
        for _, attr in options:
            if attr not in LotteryProtocol.__dataclass_fields__:
                raise ValueError(f"saliency_options: {attr!r} is not a LotteryProtocol field")
        start = SaliencyStart(name, options)
        if uses_first_batch is None:
            uses_first_batch = _sal.saliency_criterion(name).needs_data
    else:
        if saliency_options:
            raise ValueError("saliency_options apply to start=None (a saliency control) only")
        check_callable("start", start, 2, "(ctx, r)")
    entry = Condition(name, start, kind=kind, uses_ticket=uses_ticket,
                      uses_first_batch=bool(uses_first_batch), from_rewind_step=from_rewind_step,
                      uses_trained_dense=uses_trained_dense)
    CONTROLS.add(name, entry, builtin=builtin)
    return CONTROLS[name]


def unregister_condition(name: str) -> None:
    """Remove a condition added by :func:`register_condition` (built-in ones stay).

    >>> unregister_condition("lottery")
    Traceback (most recent call last):
    ...
    ValueError: condition 'lottery' is built in and cannot be unregistered
    """
    CONTROLS.remove(name)


def condition_names() -> tuple[str, ...]:
    """The names :func:`run_imp` accepts, built-in ones first (:data:`CONDITIONS`).

    >>> condition_names()[:3]
    ('dense', 'lottery', 'rewind')
    """
    return CONTROLS.names()


def ordered_conditions(names: Any) -> tuple[str, ...]:
    """``names`` without repeats, registered conditions in registry order, then the others sorted.

    A results table may hold a condition this process has not registered (a
    plugin's): it is kept, after the known ones.

    >>> ordered_conditions(["random", "mine", "dense", "random"])
    ('dense', 'random', 'mine')
    """
    present = set(names)
    known = CONTROLS.names()
    return tuple(c for c in known if c in present) + tuple(sorted(present - set(known)))


def _derived(name: str) -> Any:
    if name == "CONDITIONS":  # derived from the registry on every access
        return CONTROLS.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__getattr__ = renamed_names(__name__, {
    "shuffled_masks": ("sparsesim.nn.shuffle_masks (seed=list(seeds))", _shuffled_masks),
}, fallback=_derived)


for _name, _start, _flags in (
        ("dense", _dense, dict(kind="reference", uses_ticket=False)),
        ("lottery", _lottery, dict(kind="chain")),
        ("rewind", _rewind, dict(kind="chain", uses_ticket=False, from_rewind_step=True)),
        ("reinit", _reinit, {}),
        ("random", _random, {}),
        ("shuffled", _shuffled, {}),
        ("snip", None, {}),
        ("grasp", None, dict(saliency_options=(("temperature", "grasp_temperature"),))),
        ("synflow", None, {}),
        ("oneshot", _oneshot, dict(uses_ticket=False, uses_trained_dense=True))):
    _add_condition(_name, _start, builtin=True, **_flags)
del _name, _start, _flags


# --------------------------------------------------------------------------- training and rows

@dataclass(frozen=True)
class _Training:
    """How every round of one :func:`run_imp` call trains (``S`` replicates per block)."""

    data: TrainData
    protocol: LotteryProtocol
    data_seeds: list
    spec: TrainSpec
    prune_at: int | None        # the snapshot the IMP masks rank; None: the end of training

    def fit(self, params, masks, start=None, rewind=()):
        n_cond = len(params[0][0]) // len(self.data_seeds)
        snap = () if self.prune_at is None else (self.prune_at,)
        return train(params, self.data, self.spec, data_seed=self.data_seeds * n_cond,
                     masks=masks, residual=self.protocol.residual, start_steps=start,
                     rewind_steps=tuple(sorted(set(rewind) | set(snap))))

    def ranked(self, result):
        """The weights whose magnitudes choose the next IMP masks (see ``prune_step``)."""
        return result.params if self.prune_at is None else result.rewind_params[self.prune_at]


def _rows(result, keys, masks, params, r, target, *, include_biases, extra_columns) -> list[dict]:
    """One row per model of a trained batch (``keys[i] = (condition, seed label)``)."""
    dens = mask_density(masks, params, include_biases=include_biases)
    layer_d = _layer_density_strings(masks, params)
    extras = extra_columns(r, masks, params, keys) if extra_columns else [{}] * len(keys)
    out = []
    stop_acc = result.early_stop_test_accuracy
    stop_val = result.at_stop(result.val_accuracy)
    for i, (cond, lab) in enumerate(keys):
        out.append({"condition": cond, "seed": lab, "round": r,
                    "density": float(dens[i]), "target_density": float(target),
                    "layer_densities": layer_d[i],
                    "test_accuracy": float(result.final_test_accuracy[i]),
                    "test_accuracy_early_stop": float(stop_acc[i]),
                    "early_stop_iter": int(result.early_stop_iter[i]),
                    "train_loss": float(result.final_train_loss[i]),
                    "train_accuracy": float(result.train_accuracy[i, -1]),
                    "val_loss": float(result.val_loss[i, -1]),
                    "val_accuracy": float(result.final_val_accuracy[i]),
                    "val_accuracy_early_stop": float(stop_val[i]),
                    "test_loss": float(result.test_loss[i, -1]),
                    **extras[i]})
    return out


def _layer_density_strings(masks, params) -> list[str]:
    cols = []
    for (W, b), (mW, mb) in zip(params, masks):
        n = W[0].size
        cols.append(to_numpy(mW.reshape(mW.shape[0], -1).sum(axis=1)) / n)
    per_model = np.stack(cols, axis=1)
    return [",".join(f"{d:.6g}" for d in row) for row in per_model]


def _first_batches(data: TrainData, protocol: LotteryProtocol, data_seeds: list, xp) -> Any:
    """Each replicate's first minibatch, ``(S, batch_size)`` indices on ``xp``."""
    first = np.stack([data_order([ds], 1, data.n_train, protocol.batch_size, 1,
                                 batch_order=protocol.batch_order)[0, 0]
                      for ds in data_seeds])
    return xp.asarray(first)


def _imp_round(r: int, chain_masks: Any, *, ctx: RoundContext, chains: tuple[str, ...],
               conditions: tuple[str, ...], training: _Training, labels: list,
               progress: Callable[[str], None], extra_columns: Any,
               rows: dict) -> Any:
    """Train round ``r`` (the chains, then the controls, as one batch); ``rows[r]`` its rows.

    Returns the ranked weights of the chain models (for :func:`imp_rounds`).
    """
    S = len(ctx.roots)
    sched = ctx.protocol.schedule
    part = {name: take_models(chain_masks, slice(i * S, (i + 1) * S))
            for i, name in enumerate(chains)} if chains else {}
    ctx = replace(ctx, ticket=part.get("lottery"), rewind_masks=part.get("rewind"))
    target = sched.densities[r - 1]
    names = list(chains) + [c for c in conditions if CONTROLS[c].kind == "control"]
    starts_of = [CONTROLS[name].start(ctx, r) for name in names]
    params = concat_models([p for p, _ in starts_of])
    masks = concat_models([m for _, m in starts_of])
    starts = None
    if "rewind" in chains:
        tau = ctx.protocol.rewind_step
        starts = np.concatenate([np.full(S, tau if CONTROLS[name].from_rewind_step else 0,
                                         dtype=np.int64) for name in names])
    progress(f"IMP round {r}/{sched.rounds}: {len(names) * S} models at density {target:.4g}")
    result = training.fit(params, masks, start=starts)
    keys = [(name, lab) for name in names for lab in labels]
    emit = np.repeat([name in conditions for name in names], S)
    block_rows = _rows(result, keys, masks, params, r, target,
                       include_biases=sched.prune_biases, extra_columns=extra_columns)
    rows[r] = [row for row, e in zip(block_rows, emit) if e]
    if not chains:
        return None
    return take_models(training.ranked(result), slice(0, len(chains) * S))


# --------------------------------------------------------------------------- driver

def run_imp(data: Any, protocol: LotteryProtocol, *, conditions: Sequence[str],
            seeds: Sequence[Any], seed_labels: Sequence[Any] | None = None,
            backend: str = "auto", progress: Callable[[str], None] | None = None,
            extra_columns: Callable[..., list[dict]] | None = None,
            rounds: Any = None) -> list[dict]:
    """Run IMP and its controls for several seeds; one row per (condition, round, seed).

    Parameters stay: the experiment is one :class:`LotteryProtocol`; the others are the
    run's own inputs (``data``, ``conditions``, ``seeds`` and their labels, ``backend``) and
    its three callbacks (``progress``, ``extra_columns``, ``rounds`` for resuming).

    Parameters
    ----------
    data : TrainData or sparsesim.nn.data.Dataset
    protocol : LotteryProtocol
    conditions : sequence of str
        Any of :data:`CONDITIONS`; the lottery chain (and the rewind chain)
        is trained whenever a requested condition needs it.
    seeds : sequence of int or SeedSequence
        One per replicate.
    seed_labels : sequence, optional
        Value of the ``seed`` column per replicate (default ``0 .. S-1``).
    backend : {"auto", "numpy", "cupy"}
    progress : callable, optional
        ``progress(text)`` once per round.
    extra_columns : callable, optional
        ``extra_columns(round_index, masks, params, keys) -> list[dict]`` called
        once per round with the round's batch masks (``(mW, mb)`` pairs),
        starting parameters and ``keys = [(condition, seed_label), ...]``;
        returns extra row columns per model (e.g. a support overlap).
    rounds : sparsesim._rounds.RoundLog, optional
        The round journal: after round 0 (the dense networks) and after each
        pruning round the run saves the round's rows and what the next round
        needs; a log holding finished rounds resumes after the last of them.
        See Notes.

    Returns
    -------
    list of dict
        Rows with ``condition, seed, round, density, target_density,
        layer_densities, test_accuracy, test_accuracy_early_stop,
        early_stop_iter, train_loss, train_accuracy, val_loss, val_accuracy,
        val_accuracy_early_stop, test_loss`` (``test_accuracy`` is the final
        one; see :mod:`sparsesim.nn.training`).

    Raises
    ------
    TypeError, ValueError
        Before any training: unknown condition, malformed seeds, data that do
        not fit the network, a batch larger than the training set.

    Notes
    -----
    Round ``r`` of the log (``0 .. R``) holds its rows and, as arrays, the
    IMP chains' masks of round ``r + 1`` (``mask_W<l>``, ``mask_b<l>``:
    booleans, bit-packed on disk); round 0 also holds the dense run's trained
    weights (``dense_W<l>``, ``dense_b<l>``, for ``oneshot``) and its weights
    after ``rewind_step`` steps (``tau_W<l>``, ``tau_b<l>``, for ``rewind``).
    Everything else a round reads is regenerated from the seeds: ``w0``, the
    data order, the controls' per-round seeds (``child_seed(root, purpose,
    r)``) and the first minibatches; so on one backend a resumed run's rows
    equal an uninterrupted run's exactly.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 6)); y = (X[:, 0] > 0).astype(int)
    >>> d = TrainData(X[:50], y[:50], X[50:65], y[50:65], X[65:], y[65:])
    >>> proto = LotteryProtocol(sizes=(6, 8, 2), dtype=np.float64, lr=1e-2, steps=10,
    ...                         batch_size=10, eval_every=5,
    ...                         schedule=PruningSchedule.fixed_fraction(0.5, 2))
    >>> rows = run_imp(d, proto, conditions=["dense", "lottery", "random"], seeds=[0, 1],
    ...                backend="numpy")
    >>> sorted({(r["condition"], r["round"]) for r in rows})
    [('dense', 0), ('lottery', 1), ('lottery', 2), ('random', 1), ('random', 2)]

    A run stopped after round 1 and resumed from its log gives the same rows:

    >>> from sparsesim._rounds import RoundLog
    >>> class Stop(Exception): pass
    >>> def stop_after_1(record):
    ...     if record.index == 1: raise Stop
    >>> log = RoundLog(backend="numpy", sink=stop_after_1)
    >>> try:
    ...     run_imp(d, proto, conditions=["dense", "lottery", "random"], seeds=[0, 1],
    ...             backend="numpy", rounds=log)
    ... except Stop:
    ...     pass
    >>> log.done
    2
    >>> run_imp(d, proto, conditions=["dense", "lottery", "random"], seeds=[0, 1],
    ...         backend="numpy", rounds=RoundLog(log.state)) == rows
    True
    """
    if not isinstance(protocol, LotteryProtocol):
        raise TypeError(f"protocol must be a LotteryProtocol; got {type(protocol).__name__}")
    conditions = _check_conditions(conditions, protocol)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise TypeError(f"seeds must be a non-empty sequence of ints or SeedSequences; "
                        f"got {seeds!r}")
    try:
        roots = _mlp.model_seeds(list(seeds), len(seeds))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"seeds: {exc}") from None
    labels = list(range(len(seeds))) if seed_labels is None else list(seed_labels)
    if len(labels) != len(seeds):
        raise ValueError(f"seed_labels must hold one label per seed ({len(seeds)}); "
                         f"got {len(labels)}")
    if rounds is not None and not all(hasattr(rounds, a) for a in ("done", "save", "array")):
        raise TypeError(f"rounds must be a RoundLog (sparsesim._rounds) or None; "
                        f"got {type(rounds).__name__}")
    backend = resolve_backend(backend)
    xp = get_namespace(backend)
    dtype = np.dtype(protocol.dtype)
    data = TrainData.from_dataset(data)
    check_data(data, protocol.sizes, protocol.loss)
    check_int("batch_size", protocol.batch_size, low=1, high=data.n_train)
    data = data.to(xp, dtype)
    progress = progress or (lambda _t: None)
    sched = protocol.schedule
    S = len(roots)
    tau = protocol.rewind_step
    # the IMP mask chains trained: the lottery chain whenever a condition reads the ticket
    chains = tuple(name for name, needed in (
        ("lottery", any(CONTROLS[c].uses_ticket for c in conditions)),
        ("rewind", "rewind" in conditions)) if needed)
    data_seeds = [child_seed(s, _DATA) for s in roots]
    prune_at = protocol.prune_step
    if prune_at == protocol.steps:
        prune_at = None   # the end of training: no snapshot needed
    training = _Training(data, protocol, data_seeds, protocol.training, prune_at)
    dense_only = not chains and not any(CONTROLS[c].kind == "control" for c in conditions)
    keep_dense = any(CONTROLS[c].uses_trained_dense for c in conditions)
    total = 1 if dense_only else sched.rounds + 1
    done = 0 if rounds is None else min(rounds.done, total)
    n_layers = len(protocol.sizes) - 1

    def save(r: int, round_rows: list, arrays: dict | None = None) -> None:
        if rounds is not None:
            rounds.save(r, rows=round_rows, arrays=arrays, total=total)

    # ---- round 0: the dense networks (w0 per replicate)
    w0 = _mlp.init_mlp(protocol.sizes, S, seed=[child_seed(s, _INIT) for s in roots],
                       init=protocol.init, backend=backend, dtype=dtype,
                       residual=protocol.residual)
    full = _full_masks(w0, sched.prune_biases)
    if done == 0:
        progress(f"IMP round 0/{sched.rounds}: {S} dense models")
        dense = training.fit(w0, full, rewind=(tau,) if "rewind" in chains else ())
        dense_rows = (_rows(dense, [("dense", lab) for lab in labels], full, w0, 0, 1.0,
                            include_biases=sched.prune_biases, extra_columns=extra_columns)
                      if "dense" in conditions else [])
        trained_dense = dense.params
        w_tau = dense.rewind_params.get(tau) if "rewind" in chains else None
        next_masks = (magnitude_prune(concat_models([training.ranked(dense)] * len(chains)),
                                      concat_models([full] * len(chains)), sched, 1)
                      if chains else None)
        state = {}
        if not dense_only:
            if next_masks is not None:
                state.update(tree_arrays("mask_", next_masks))
            if keep_dense:
                state.update(tree_arrays("dense_", trained_dense))
            if w_tau is not None:
                state.update(tree_arrays("tau_", w_tau))
        save(0, dense_rows, state)
    else:
        trained_dense = (tree_from(rounds, "dense_", n_layers, xp)
                         if keep_dense else None)
        w_tau = tree_from(rounds, "tau_", n_layers, xp) if "rewind" in chains else None
        next_masks = (tree_from(rounds, "mask_", n_layers, xp)
                      if chains and done <= sched.rounds else None)
    if done >= total:                        # every round was finished before
        return rounds.rows(total)
    rows_of: dict[int, list] = {}
    if dense_only:
        return dense_rows
    first_idx = (_first_batches(data, protocol, data_seeds, xp)
                 if any(CONTROLS[c].uses_first_batch for c in conditions) else None)
    ctx = RoundContext(protocol=protocol, roots=roots, w0=w0, full=full,
                       trained_dense=trained_dense, data=data, first_idx=first_idx,
                       w_tau=w_tau)
    play = functools.partial(_imp_round, ctx=ctx, chains=chains, conditions=conditions,
                             training=training, labels=labels, progress=progress,
                             extra_columns=extra_columns, rows=rows_of)

    def after_round(r: int, masks_next: Any) -> None:
        save(r, rows_of[r], tree_arrays("mask_", masks_next) if masks_next is not None else None)

    # ---- rounds 1 .. R: every chain pruned from the trained dense network, then retrained
    first = max(done, 1)
    if chains:
        imp_rounds(sched, None, next_masks, play, first=first, after_round=after_round)
    else:                                  # controls without a chain: the same rounds
        for r in range(first, sched.rounds + 1):
            play(r, None)
            after_round(r, None)
    before = rounds.rows(done) if rounds is not None and done else dense_rows
    return before + [row for r in range(first, sched.rounds + 1) for row in rows_of[r]]
