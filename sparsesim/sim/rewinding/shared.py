"""Rewinding with one mask per seed and density, shared by every rewind point τ.

The protocol of the pre-registered rewinding claims (``mask_rule = "shared"``).
With one IMP chain per τ (``"per_tau"``) a difference between rewind points
mixes two things, the starting point ``w_τ`` and the mask the chain found;
here the mask is the same for every τ, so τ changes the starting point only.

1. Dense run of each seed (``steps`` steps), keeping ``w_τ`` for every τ.
2. IMP by fine-tuning: round 1 prunes the trained dense weights by magnitude
   (:func:`sparsesim.nn.lottery.magnitude_prune`, the fixed-fraction schedule
   of ``prune_fraction``, ``rounds`` and ``output_rate``); round ``r`` retrains
   the survivors from their trained values (fresh optimizer, ``steps`` steps,
   the dense run's data order) and the next round prunes the retrained
   weights.  The chain rewinds to no τ, so it privileges none; it stops at the
   largest ``ticket_round`` of the batch.
3. For every cell ``(seed, τ, ticket_round)``: the ticket ``w_τ ⊙ m`` (``m``
   the mask of round ``ticket_round``) trained twice from step τ to
   ``steps``: copy A with the dense run's data order, copy B with another.
4. As in :func:`sparsesim.sim.rewinding.engine.ticket_rows`: the masked
   Hessian at ``w_τ ⊙ m`` and the linear-mode-connectivity barrier between
   copies A and B.

Rounds of the journal: 0 the dense run; ``1 .. R-1`` the fine-tuning rounds
(``R`` the largest ticket round; round ``r`` saves the masks of round
``r + 1``); then one round per ticket round, its trained copies.  An
interrupted batch resumes after its last finished round.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..._rounds import tree_arrays, tree_from
from ...backend import child_seed, to_numpy
from ...nn import lottery, mlp
from ...nn.training import train
from ...nn.tree import concat_models, take_models
from .engine import _DATA, _DATA_B, _INIT, _Final, _root, _setup, ticket_rows
from .params import check_cell, full_params

__all__ = ["shared_mask_study"]


def shared_mask_study(p: dict, seeds: Sequence[int], taus: Sequence[int],
                      ticket_rounds: Sequence[int], *, sweep_seed: int = 0,
                      backend: str = "numpy", progress=None, rounds=None) -> list[dict]:
    """Run the protocol of the module notes for the ``(seed, τ, ticket_round)`` triples given.

    Parameters
    ----------
    p : dict
        One configuration (keys of :data:`~sparsesim.sim.rewinding.PARAMS`
        other than ``seed``, ``tau`` and ``ticket_round``).
    seeds, taus, ticket_rounds : sequences of int, same length
        One ticket per triple (one output row each); a ticket round is
        ``1 .. rounds`` (0 means ``rounds``).
    sweep_seed : int
    backend : {"numpy", "cupy", "auto"}
    progress : callable, optional
    rounds : sparsesim._rounds.RoundLog, optional
        The round journal (module notes); on one backend a resumed batch's
        rows equal an uninterrupted one's.

    Returns
    -------
    list of dict
        One row per triple, in the order given.

    Examples
    --------
    >>> p = dict(dataset="teacher", width=8, steps=30, eval_every=10, prune_fraction=0.5,
    ...          rounds=2, n_hessian=32, slq_probes=0, lmc_points=3, n_train=200,
    ...          teacher_width=8, batch_size=50, dtype="float64", mask_rule="shared")
    >>> rows = shared_mask_study(p, [0, 0], [0, 5], [2, 2])
    >>> [(r["prune_round"], round(r["density"], 2)) for r in rows]  # one mask, both τ
    [(2, 0.3), (2, 0.3)]
    """
    p = full_params(dict(p))
    if not (len(seeds) == len(taus) == len(ticket_rounds)) or not len(seeds):
        raise ValueError("seeds, taus and ticket_rounds must be non-empty and of equal length")
    trs = [int(t) or int(p["rounds"]) for t in ticket_rounds]
    for s, t, r in zip(seeds, taus, trs):
        check_cell({**p, "seed": s, "tau": t, "ticket_round": r, "mask_rule": "shared"})
    progress = progress or (lambda _t: None)
    backend, xp, dtype, data, sizes, sched, common = _setup(p, sweep_seed, backend)
    uniq = sorted(set(int(s) for s in seeds))
    roots = {s: _root(sweep_seed, s, p["dataset"]) for s in uniq}
    data_dense = [child_seed(roots[s], _DATA) for s in uniq]
    uniq_taus = sorted(set(int(t) for t in taus))
    last = max(trs)
    groups = sorted(set(trs))
    chain = last - 1                               # fine-tuning rounds 1 .. last-1
    total = 1 + chain + len(groups)
    n_layers = len(sizes) - 1
    done = 0 if rounds is None else min(rounds.done, total)

    def save(r: int, arrays: dict) -> None:
        if rounds is not None:
            rounds.save(r, arrays=arrays, total=total)

    # 1. dense runs with the rewind snapshots; round 1's masks
    if done == 0:
        w0 = mlp.init_mlp(sizes, len(uniq), seed=[child_seed(roots[s], _INIT) for s in uniq],
                          backend=backend, dtype=dtype, residual=bool(p["residual"]))
        progress(f"rewinding (shared masks): dense run of {len(uniq)} models")
        dense = train(w0, data, data_seed=data_dense, rewind_steps=uniq_taus, **common)
        snaps = {t: dense.rewind_params[t] for t in uniq_taus}
        dense_acc = to_numpy(dense.final_test_accuracy)
        trained = dense.params
        full = [(xp.ones((len(uniq),) + tuple(W.shape[1:]), dtype=bool), None) for W, _ in w0]
        masks_next = lottery.magnitude_prune(trained, full, sched, 1)
        save(0, {**{k: v for t in uniq_taus for k, v in tree_arrays(f"tau{t}_", snaps[t]).items()},
                 **tree_arrays("ft_", trained), **tree_arrays("mask1_", masks_next),
                 "dense_test_accuracy": dense_acc})
    else:
        snaps = {t: tree_from(rounds, f"tau{t}_", n_layers, xp) for t in uniq_taus}
        dense_acc = rounds.array("dense_test_accuracy")
        trained = tree_from(rounds, "ft_", n_layers, xp)
    masks_by_round = {r: tree_from(rounds, f"mask{r}_", n_layers, xp)
                      for r in range(1, min(done, chain + 1) + 1)} if done else {}
    if done == 0:
        masks_by_round[1] = masks_next
    state = {"trained": trained}

    # 2. IMP by fine-tuning, rounds 1 .. last-1
    def train_round(r: int, masks_r: list) -> list:
        progress(f"rewinding (shared masks): fine-tuning round {r}/{chain}, {len(uniq)} models")
        state["trained"] = train(state["trained"], data, data_seed=data_dense, masks=masks_r,
                                 **common).params
        return state["trained"]

    def after_round(r: int, masks_next: list | None) -> None:
        masks_by_round[r + 1] = masks_next
        save(r, {**tree_arrays("ft_", state["trained"]),
                 **tree_arrays(f"mask{r + 1}_", masks_next)})

    first = max(done, 1)
    if chain >= 1 and first <= chain:
        lottery.imp_rounds(sched, None, masks_by_round[first], train_round, rounds=chain,
                           first=first, after_round=after_round)

    # 3-4. the tickets of each ticket round, trained twice; their rows
    pos = {s: i for i, s in enumerate(uniq)}
    out: list[dict | None] = [None] * len(seeds)
    for g, tr in enumerate(groups):
        idx = [i for i, r in enumerate(trs) if r == tr]
        gs = [int(seeds[i]) for i in idx]
        gt = [int(taus[i]) for i in idx]
        models = np.asarray([pos[s] for s in gs])
        w_tau = concat_models([take_models(snaps[t], slice(pos[s], pos[s] + 1))
                               for s, t in zip(gs, gt)])
        masks = take_models(masks_by_round[tr], xp.asarray(models))
        r_idx = 1 + chain + g
        if done > r_idx:
            final = _Final(tree_from(rounds, f"final{tr}_", n_layers, xp),
                           rounds.array(f"final{tr}_test_accuracy"),
                           rounds.array(f"final{tr}_early_stop_test_accuracy"),
                           rounds.array(f"final{tr}_early_stop_iter"))
        else:
            progress(f"rewinding (shared masks): tickets of round {tr}, {2 * len(idx)} models "
                     "(two data orders)")
            starts = np.asarray(gt, dtype=np.int64)
            res = train(concat_models([w_tau, w_tau]), data,
                        data_seed=[child_seed(roots[s], _DATA) for s in gs]
                        + [child_seed(roots[s], _DATA_B) for s in gs],
                        masks=concat_models([masks, masks]),
                        start_steps=np.concatenate([starts, starts]), **common)
            final = _Final(res.params, to_numpy(res.final_test_accuracy),
                           to_numpy(res.early_stop_test_accuracy), to_numpy(res.early_stop_iter))
            save(r_idx, {**tree_arrays(f"final{tr}_", final.params),
                         f"final{tr}_test_accuracy": final.final_test_accuracy,
                         f"final{tr}_early_stop_test_accuracy": final.early_stop_test_accuracy,
                         f"final{tr}_early_stop_iter": final.early_stop_iter})
        rows = ticket_rows(p, data, w_tau, masks, final, gs, gt,
                           [float(dense_acc[pos[s]]) for s in gs], progress=progress)
        for i, row in zip(idx, rows):
            out[i] = {**row, "prune_round": tr}
    return out  # type: ignore[return-value]
