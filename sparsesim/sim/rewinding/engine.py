"""The science: IMP with rewinding, the masked Hessian at w_tau and linear mode connectivity."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..._rounds import tree_arrays, tree_from
from ...backend import child_seed, get_namespace, resolve_backend, to_numpy
from ...geometry import estimate_negative_count, lanczos_extremes
from ...nn import data as nn_data
from ...nn import lottery, mlp, optim
from ...nn.connectivity import error_barrier, interpolation_errors
from ...nn.hessian import mlp_masked_hessian_operator
from ...nn.specs import TrainSpec
from ...nn.training import TrainData, train
from ...nn.tree import concat_models, take_models
from .params import DATASET_CODE, DTYPES, check_cell, full_params

__all__ = ["rewinding_study", "ticket_rows"]

_INIT, _DATA, _DATA_B = 0, 1, 2   # spawn keys of a replicate's root


def _root(sweep_seed: int, seed: int, dataset: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(sweep_seed), int(seed), DATASET_CODE[dataset]])


def _load_data(p: dict, sweep_seed: int, backend: str, dtype):

    data_seed = np.random.SeedSequence([int(sweep_seed), 7919, DATASET_CODE[p["dataset"]]])
    if p["dataset"] == "mnist1d":
        return nn_data.mnist1d(seed=data_seed, n_validation=500, backend=backend, dtype=dtype)
    return nn_data.planted_teacher(n_in=40, hidden=p["teacher_width"], n_out=10,
                                   density=p["teacher_density"], n_train=p["n_train"],
                                   n_val=500, n_test=1000, seed=data_seed,
                                   noise=p["teacher_noise"], task="classification",
                                   backend=backend, dtype=dtype)



def _setup(p: dict, sweep_seed: int, backend: str) -> tuple:
    """What both protocols set up first: ``(backend, xp, dtype, data, sizes, schedule,
    common)``, ``common`` the keywords of every training call (spec, residual)."""
    backend = resolve_backend(backend)
    xp = get_namespace(backend)
    dtype = np.dtype(DTYPES[p["dtype"]])
    data = TrainData.from_dataset(_load_data(p, sweep_seed, backend, dtype))
    sizes = (40,) + (p["width"],) * p["depth"] + (10,)
    if p["batch_size"] > data.n_train:
        raise ValueError(f"batch_size must be in [1, {data.n_train}] (the training set size); "
                         f"got {p['batch_size']}")
    sched = lottery.PruningSchedule.fixed_fraction(p["prune_fraction"], p["rounds"],
                                                   output_rate=p["output_rate"])
    common = dict(spec=TrainSpec(optim.make_optimizer(p["optimizer"], p["lr"]),
                                 steps=p["steps"], batch_size=p["batch_size"],
                                 eval_every=p["eval_every"]),
                  residual=bool(p["residual"]))
    return backend, xp, dtype, data, sizes, sched, common


class _Final(NamedTuple):
    """What the steps after IMP read of the final round's training (copies A and B)."""

    params: list
    final_test_accuracy: np.ndarray
    early_stop_test_accuracy: np.ndarray
    early_stop_iter: np.ndarray


def rewinding_study(p: dict, seeds: Sequence[int], taus: Sequence[int], *, sweep_seed: int = 0,
                    backend: str = "numpy", progress=None, rounds=None) -> list[dict]:
    """Run the protocol of the module notes for the ``(seed, τ)`` pairs given.

    Parameters
    ----------
    p : dict
        One configuration (every key of :data:`PARAMS` except ``seed`` and
        ``tau``; missing keys take :data:`DEFAULTS`).
    seeds, taus : sequences of int, same length
        The ``(seed, τ)`` pair of every ticket (one output row each).
    sweep_seed : int
    backend : {"numpy", "cupy", "auto"}
    progress : callable, optional
    rounds : sparsesim._rounds.RoundLog, optional
        The round journal: round 0 (the dense runs) saves ``w_τ`` of every
        ticket, the dense test accuracies and the masks of round 1; round
        ``r < R`` the masks of round ``r + 1``; round ``R`` the final tickets'
        masks, both trained copies and their accuracies.  A log holding
        finished rounds resumes after the last of them (the geometry and
        mode-connectivity steps then run on the restored final round); on one
        backend the rows equal an uninterrupted run's.

    Returns
    -------
    list of dict
        One row per pair, in the order given (see :func:`run_cell`).

    Raises
    ------
    ValueError
        A parameter out of range, e.g. ``τ >= steps``.
    """

    p = full_params(dict(p))
    if len(seeds) != len(taus) or not len(seeds):
        raise ValueError("seeds and taus must be non-empty and of equal length")
    for s, t in zip(seeds, taus):
        check_cell({**p, "seed": s, "tau": t})
    progress = progress or (lambda _t: None)
    backend, xp, dtype, data, sizes, sched, common = _setup(p, sweep_seed, backend)
    uniq_seeds = sorted(set(int(s) for s in seeds))
    roots = {s: _root(sweep_seed, s, p["dataset"]) for s in uniq_seeds}
    uniq_taus = sorted(set(int(t) for t in taus))
    residual = bool(p["residual"])

    n = len(seeds)
    pos = {s: i for i, s in enumerate(uniq_seeds)}
    model_seed = [pos[int(s)] for s in seeds]
    starts = np.asarray([int(t) for t in taus], dtype=np.int64)
    data_a = [child_seed(roots[int(s)], _DATA) for s in seeds]
    data_b = [child_seed(roots[int(s)], _DATA_B) for s in seeds]
    n_layers = len(sizes) - 1
    total = sched.rounds + 1                      # the dense round 0, IMP rounds 1 .. R
    done = 0 if rounds is None else min(rounds.done, total)

    def save(r: int, arrays: dict) -> None:
        if rounds is not None:
            rounds.save(r, arrays=arrays, total=total)

    # 1. dense runs, one per replicate seed, with the rewind snapshots
    if done == 0:
        w0 = mlp.init_mlp(sizes, len(uniq_seeds),
                          seed=[child_seed(roots[s], _INIT) for s in uniq_seeds],
                          backend=backend, dtype=dtype, residual=residual)
        progress(f"rewinding: dense run of {len(uniq_seeds)} models")
        dense = train(w0, data, data_seed=[child_seed(roots[s], _DATA) for s in uniq_seeds],
                      rewind_steps=uniq_taus, **common)
        w_tau = concat_models([take_models(dense.rewind_params[int(t)],
                                           slice(pos[int(s)], pos[int(s)] + 1))
                               for s, t in zip(seeds, taus)])
        dense_acc = to_numpy(dense.final_test_accuracy)
        full = [(xp.ones((n,) + tuple(W.shape[1:]), dtype=bool), None) for W, _ in w0]
        trained_dense = take_models(dense.params, xp.asarray(model_seed))
        masks_next = lottery.magnitude_prune(trained_dense, full, sched, 1)
        save(0, {**tree_arrays("tau_", w_tau), **tree_arrays("mask_", masks_next),
                 "dense_test_accuracy": dense_acc})
    else:
        w_tau = tree_from(rounds, "tau_", n_layers, xp)
        dense_acc = rounds.array("dense_test_accuracy")
        masks_next = tree_from(rounds, "mask_", n_layers, xp)
    out: dict = {}

    def train_round(r: int, masks_r: list) -> list:
        """Rounds 1 .. R-1: copy A of every ticket; round R: copies A and B together."""
        if r < sched.rounds:
            progress(f"rewinding: IMP round {r}/{sched.rounds}, {n} tickets")
            return train(w_tau, data, data_seed=data_a, masks=masks_r, start_steps=starts,
                         **common).params
        progress(f"rewinding: final round, {2 * n} models (two data orders)")
        final = train(concat_models([w_tau, w_tau]), data,
                      data_seed=data_a + data_b,
                      masks=concat_models([masks_r, masks_r]),
                      start_steps=np.concatenate([starts, starts]), **common)
        out["final"] = _Final(final.params, to_numpy(final.final_test_accuracy),
                              to_numpy(final.early_stop_test_accuracy),
                              to_numpy(final.early_stop_iter))
        out["masks"] = masks_r
        return take_models(final.params, slice(0, n))

    def after_round(r: int, masks_next: list | None) -> None:
        if masks_next is not None:
            save(r, tree_arrays("mask_", masks_next))
            return
        f = out["final"]
        save(r, {**tree_arrays("final_", f.params), **tree_arrays("mask_", out["masks"]),
                 "final_test_accuracy": f.final_test_accuracy,
                 "early_stop_test_accuracy": f.early_stop_test_accuracy,
                 "early_stop_iter": f.early_stop_iter})

    # 2-3. IMP with rewinding (the loop of nn.lottery.imp_rounds); the final tickets twice
    if done < total:
        masks = lottery.imp_rounds(sched, None, masks_next, train_round, first=max(done, 1),
                                   after_round=after_round)
        final = out["final"]
    else:                                          # every round was finished before
        masks = tree_from(rounds, "mask_", n_layers, xp)
        final = _Final(tree_from(rounds, "final_", n_layers, xp),
                       rounds.array("final_test_accuracy"),
                       rounds.array("early_stop_test_accuracy"), rounds.array("early_stop_iter"))
    return ticket_rows(p, data, w_tau, masks, final, seeds, taus,
                       [float(dense_acc[pos[int(s)]]) for s in seeds], progress=progress)


def ticket_rows(p: dict, data: TrainData, w_tau: list, masks: list, final: _Final,
                seeds: Sequence[int], taus: Sequence[int], dense_acc: Sequence[float], *,
                progress=None) -> list[dict]:
    """Steps 4-5 of the protocol for ``n`` trained tickets: LMC barrier and masked Hessian.

    ``w_tau`` and ``masks`` hold the ``n`` tickets' rewind points and masks,
    ``final`` their two trained copies (models ``0 .. n-1`` copy A, ``n ..
    2n-1`` copy B); ``dense_acc[i]`` is the dense test accuracy of ticket
    ``i``'s seed.  One row per ticket, in order.

    Parameters stay: the results of the earlier steps of the protocol that this step
    consumes (rewound weights, masks, the final runs, seeds, rewind points, dense
    accuracies), each a different array of the same tickets; both rewinding engines call it.
    """
    progress = progress or (lambda _t: None)
    residual = bool(p["residual"])
    n = len(seeds)
    A, Bsl = slice(0, n), slice(n, 2 * n)

    # 5. linear mode connectivity on the test set
    alphas = np.linspace(0.0, 1.0, p["lmc_points"])
    errs = interpolation_errors(take_models(final.params, A),
                                take_models(final.params, Bsl),
                                data.x_test, data.y_test, alphas, masks=masks,
                                residual=residual)
    barrier = error_barrier(errs)

    # 4. masked Hessian at w_tau ⊙ m (float64, first n_hessian training examples)
    n_h = min(p["n_hessian"], data.n_train)
    Xh = data.x_train[:n_h].astype(np.float64)
    yh = data.y_train[:n_h]
    w64 = [(W.astype(np.float64), b.astype(np.float64)) for W, b in w_tau]
    dens = lottery.mask_density(masks, w_tau, include_biases=False)
    loss_tau = to_numpy(mlp.loss_value(w64, Xh, yh, masks, residual=residual))
    rows = []
    for i, (s, t) in enumerate(zip(seeds, taus)):
        progress(f"rewinding: Lanczos on the masked Hessian, ticket {i + 1}/{n}")
        op = mlp_masked_hessian_operator(w64, Xh, yh, masks, model=i, residual=residual)
        k = min(p["lanczos_k"], op.dim)
        spec = lanczos_extremes(op, k=k, tol=p["lanczos_tol"], maxiter=p["lanczos_maxiter"],
                                seed=int(s), allow_unconverged=True)
        if p["slq_probes"] > 0:
            slq = estimate_negative_count(op, n_probes=p["slq_probes"],
                                          n_steps=min(p["slq_steps"], op.dim), seed=int(s),
                                          rtol=p["slq_rtol"])
            slq_est, slq_se = slq.estimate, slq.stderr
        else:
            slq_est = slq_se = float("nan")
        rows.append({
            "density": float(dens[i]),
            "active_dim": int(op.dim),
            "loss_at_rewind": float(loss_tau[i]),
            "lambda_max": float(spec.lambda_max),
            "lambda_min": float(spec.lambda_min),
            "n_negative": int(spec.n_negative),
            "n_negative_exact": bool(spec.n_negative_exact),
            "condition_number": float(spec.condition_number),
            "neg_ratio": float(max(0.0, -spec.lambda_min) / spec.lambda_max)
            if spec.lambda_max > 0 else float("nan"),
            "n_negative_slq": float(slq_est),
            "n_negative_slq_se": float(slq_se),
            "neg_mass_slq": float(slq_est) / int(op.dim),
            "lanczos_converged": bool(spec.converged),
            "lanczos_matvecs": int(spec.n_matvec),
            "test_accuracy": float(final.final_test_accuracy[i]),
            "test_accuracy_early_stop": float(final.early_stop_test_accuracy[i]),
            "early_stop_iter": int(final.early_stop_iter[i]),
            "early_stop_iters_trained": int(final.early_stop_iter[i]) - int(t),
            "test_accuracy_copy_b": float(final.final_test_accuracy[n + i]),
            "dense_test_accuracy": float(dense_acc[i]),
            "lmc_barrier": float(barrier[i]),
            "lmc_error_a": float(errs[i, 0]),
            "lmc_error_b": float(errs[i, -1]),
            "lmc_error_max": float(errs[i].max()),
        })
    return rows
