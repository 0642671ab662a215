"""Weight rewinding: the masked Hessian at ``w_τ`` and the ticket rewound to ``τ``.

The seed article suggests that rewinding a ticket to an early iterate
``w_τ`` instead of ``w_0`` helps because a few steps of training move the
weights to where the *masked* Hessian is better behaved (smaller ``λ_max``,
better condition number ``κ = λ_max / λ_min``).  This simulation measures
both sides and reports whether they went together.

Protocol (one batch per configuration, all seeds and rewind points together)
---------------------------------------------------------------------------
1. Dense run: ``S`` models (one per replicate seed) trained for ``steps``
   optimizer steps, keeping snapshots ``w_τ`` for every requested ``τ``
   (:func:`sparsesim.nn.train.train` with ``rewind_steps``).
2. IMP with rewinding (Frankle et al. 2020), for every ``(seed, τ)`` at once:
   round 1 prunes the trained dense weights by magnitude
   (:func:`sparsesim.nn.lottery.magnitude_prune`,
   ``PruningSchedule.fixed_fraction(prune_fraction, rounds, output_rate=...)``,
   layerwise, biases never pruned); each round rewinds the survivors to
   ``w_τ ⊙ m`` and retrains them from step ``τ`` to ``steps`` (fresh optimizer
   state, the data the dense run saw from step ``τ`` on); the next round prunes
   the retrained weights.  ``τ = 0`` is the original lottery ticket.  Each
   ``τ`` has its own mask chain.
3. The final ticket ``(m_τ, w_τ ⊙ m_τ)`` is trained twice from step ``τ``:
   copy A with the dense run's data order (its metrics are the ticket's:
   final test accuracy, test accuracy and iteration at early stopping =
   minimum validation loss), copy B with a different data order.
4. Geometry at the rewind point: the masked Hessian of the training loss
   (first ``n_hessian`` training examples, float64) at ``w_τ ⊙ m_τ`` on the
   kept weights and all biases, by exact Hessian-vector products and Lanczos
   (:func:`sparsesim.geometry.lanczos_extremes`): ``λ_max``, ``λ_min``, the
   number of negative eigenvalues among the ``lanczos_k`` smallest (exact when
   fewer than ``lanczos_k``), a stochastic Lanczos quadrature estimate of the
   number of eigenvalues below ``−slq_rtol · λ_max``
   (:func:`sparsesim.geometry.estimate_negative_count`) and ``κ`` (finite only
   when the restriction is positive definite; NaN when indefinite).
5. Linear mode connectivity (Frankle et al. 2020): test error along
   ``(1 − α) θ_A + α θ_B`` for ``lmc_points`` values of ``α`` in [0, 1];
   barrier = ``max_α err(α) − (err(0) + err(1)) / 2``.

Parameters (``sims/rewinding_geometry.toml``)
-------------------------------------------
``dataset`` (``"mnist1d"`` or ``"teacher"``: the planted sparse ReLU teacher
40-``teacher_width``-10 of density ``teacher_density`` labelling
``n_train`` Gaussian inputs, 500 validation and 1,000 test ones), ``seed``
(replicate), ``tau`` (rewind step, ``0 <= tau < steps``); the student
40-``width``×``depth``-10 (``residual``), ``optimizer``/``lr``/``batch_size``/
``steps``/``eval_every`` and ``dtype`` of training; ``prune_fraction``,
``rounds``, ``output_rate`` of the IMP schedule; ``n_hessian``,
``lanczos_k``, ``lanczos_tol``, ``lanczos_maxiter`` (SciPy: ARPACK restarts),
``slq_probes`` (0 disables), ``slq_steps``, ``slq_rtol`` of the geometry;
``lmc_points`` values of α.

Seeds
-----
Replicate ``seed`` has the root ``SeedSequence([sweep_seed, seed, dataset
code])``; its children (by spawn key) are the initialisation, the data order
and copy B's data order.  The data set (MNIST-1D validation split, planted
teacher) depends on the sweep seed only.  A cell's numbers therefore do not
depend on which other cells share its batch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._validation import check_array, check_choice, check_int, check_real
from ..backend import child_seed, get_namespace, namespace_of, resolve_backend, to_numpy
from ..geometry import (MAX_LANCZOS_ITER, MAX_PROBES, estimate_negative_count,
                        lanczos_extremes, mlp_masked_hessian_operator)

__all__ = [
    "PARAMS",
    "DEFAULTS",
    "DATASETS",
    "valid_cell",
    "batch_key",
    "run_cell",
    "run_cells",
    "tables",
    "figures",
    "rewinding_study",
    "interpolation_errors",
    "error_barrier",
    "conditioning_vs_tickets",
]

DATASETS = ("mnist1d", "teacher")
_DATASET_CODE = {"mnist1d": 1, "teacher": 2}
_INIT, _DATA, _DATA_B = 0, 1, 2

PARAMS: dict[str, type] = {
    "dataset": str,
    "seed": int,
    "tau": int,
    "width": int,
    "depth": int,
    "residual": bool,
    "steps": int,
    "batch_size": int,
    "lr": float,
    "optimizer": str,
    "eval_every": int,
    "prune_fraction": float,
    "rounds": int,
    "output_rate": float,
    "n_hessian": int,
    "lanczos_k": int,
    "lanczos_tol": float,
    "lanczos_maxiter": int,
    "lmc_points": int,
    "slq_probes": int,
    "slq_steps": int,
    "slq_rtol": float,
    "dtype": str,
    "teacher_width": int,
    "teacher_density": float,
    "teacher_noise": float,
    "n_train": int,
}

DEFAULTS: dict[str, Any] = {
    "width": 500,
    "depth": 2,
    "residual": True,
    "steps": 1501,
    "batch_size": 100,
    "lr": 2e-2,
    "optimizer": "adam",
    "eval_every": 50,
    "prune_fraction": 0.2,
    "rounds": 10,
    "output_rate": 0.5,
    "n_hessian": 1000,
    "lanczos_k": 4,
    "lanczos_tol": 1e-6,
    "lanczos_maxiter": 3000,
    "lmc_points": 11,
    "slq_probes": 8,
    "slq_steps": 80,
    "slq_rtol": 0.01,
    "dtype": "float32",
    "teacher_width": 64,
    "teacher_density": 0.1,
    "teacher_noise": 0.0,
    "n_train": 4000,
}

_DTYPES = {"float32": np.float32, "float64": np.float64}


# --------------------------------------------------------------------------- helpers

def _cell(params: dict) -> dict:
    return {**DEFAULTS, **params}


def _check_cell(p: dict) -> dict:
    """Validate one cell's parameters (raises naming the parameter)."""
    check_choice("dataset", p["dataset"], DATASETS)
    check_int("seed", p["seed"], low=0)
    steps = check_int("steps", p["steps"], low=2)
    tau = check_int("tau", p["tau"], low=0)
    if tau >= steps:
        raise ValueError(f"tau must be in [0, {steps - 1}] (the training budget is "
                         f"steps={steps}); got {tau}")
    check_int("width", p["width"], low=1)
    check_int("depth", p["depth"], low=1)
    check_int("batch_size", p["batch_size"], low=1)
    check_real("lr", p["lr"], low=0.0, low_open=True)
    check_choice("optimizer", p["optimizer"], ("adam", "sgd"))
    check_int("eval_every", p["eval_every"], low=1)
    check_real("prune_fraction", p["prune_fraction"], low=0.0, high=1.0, low_open=True,
               high_open=True)
    check_int("rounds", p["rounds"], low=1)
    check_real("output_rate", p["output_rate"], low=0.0, high=1.0)
    check_int("n_hessian", p["n_hessian"], low=1)
    check_int("lanczos_k", p["lanczos_k"], low=1)
    check_real("lanczos_tol", p["lanczos_tol"], low=0.0, high=1.0, low_open=True,
               high_open=True)
    check_int("lanczos_maxiter", p["lanczos_maxiter"], low=1, high=MAX_LANCZOS_ITER)
    check_int("lmc_points", p["lmc_points"], low=2)
    check_int("slq_probes", p["slq_probes"], low=0, high=MAX_PROBES)
    check_int("slq_steps", p["slq_steps"], low=1)
    check_real("slq_rtol", p["slq_rtol"], low=0.0, high=1.0, high_open=True)
    check_choice("dtype", p["dtype"], tuple(_DTYPES))
    check_int("teacher_width", p["teacher_width"], low=1)
    check_real("teacher_density", p["teacher_density"], low=0.0, high=1.0, low_open=True)
    check_real("teacher_noise", p["teacher_noise"], low=0.0)
    check_int("n_train", p["n_train"], low=1)
    return p


def _root(sweep_seed: int, seed: int, dataset: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(sweep_seed), int(seed), _DATASET_CODE[dataset]])


def _load_data(p: dict, sweep_seed: int, backend: str, dtype):
    from ..nn import data as nn_data  # noqa: PLC0415

    data_seed = np.random.SeedSequence([int(sweep_seed), 7919, _DATASET_CODE[p["dataset"]]])
    if p["dataset"] == "mnist1d":
        return nn_data.mnist1d(seed=data_seed, n_validation=500, backend=backend, dtype=dtype)
    return nn_data.planted_teacher(n_in=40, hidden=p["teacher_width"], n_out=10,
                                   density=p["teacher_density"], n_train=p["n_train"],
                                   n_val=500, n_test=1000, seed=data_seed,
                                   noise=p["teacher_noise"], task="classification",
                                   backend=backend, dtype=dtype)


# --------------------------------------------------------------------------- linear mode connectivity

def interpolation_errors(params_a: Sequence, params_b: Sequence, X: Any, y: Any,
                         alphas: Sequence[float], *, masks: Any = None,
                         residual: Any = False, max_models: int = 256) -> np.ndarray:
    """Classification error of ``(1 − α) θ_A + α θ_B`` for every model and ``α``.

    Parameters
    ----------
    params_a, params_b : list of (W, b)
        Two batches of B networks of one architecture and dtype (model ``i``
        of A is paired with model ``i`` of B); finite.
    X, y : arrays
        Evaluation data (``(n, n_in)`` and class ids ``(n,)`` in
        ``[0, n_out)``).
    alphas : sequence of float
        Interpolation weights in [0, 1].
    masks : None or list
        Masks shaped like the parameters (applied to every interpolant).
    residual : bool or sequence of int
    max_models : int
        Interpolants evaluated per forward pass (bounds memory), ``>= 1``.

    Returns
    -------
    ndarray, shape (B, len(alphas))
        Error ``1 − accuracy``.

    Raises
    ------
    TypeError, ValueError
        Malformed arguments (named in the message), or logits that overflow
        the parameters' dtype.

    Examples
    --------
    >>> from sparsesim.nn import init_mlp
    >>> a = init_mlp((3, 4, 2), 2, seed=0, backend="numpy", dtype=np.float64)
    >>> X, y = np.ones((5, 3)), np.zeros(5, int)
    >>> e = interpolation_errors(a, a, X, y, [0.0, 0.5, 1.0])
    >>> e.shape, bool((e == e[:, :1]).all())          # identical endpoints: flat path
    ((2, 3), True)
    """
    from ..nn import mlp  # noqa: PLC0415

    al = _check_alphas(alphas)
    xp, B, dtype = mlp.check_params(params_a, check_values=True, name="params_a")
    mlp.check_params(params_b, check_values=True, name="params_b")
    if [tuple(W.shape) for W, _ in params_a] != [tuple(W.shape) for W, _ in params_b]:
        raise ValueError("params_a and params_b must have the same architecture and batch size")
    if params_b[0][0].dtype != dtype:
        raise TypeError(f"params_b must have the dtype {dtype} of params_a; "
                        f"got {params_b[0][0].dtype}")
    xp = namespace_of(params_a[0][0], params_b[0][0])
    sizes = mlp.layer_sizes(params_a)
    mlp.residual_layers(sizes, residual)
    mlp.mask_pairs(masks, params_a, check_values=True)
    if getattr(X, "ndim", 2) != 2:
        raise ValueError(f"X must have shape (n, n_in); got shape {tuple(X.shape)}")
    X = mlp.check_X(X, B, sizes[0], dtype, True)
    y = mlp.check_y(y, "cross_entropy", B, X.shape[0], sizes[-1], dtype, True)
    if y.ndim != 1:
        raise ValueError(f"y must have shape ({X.shape[0]},) (class ids of X); "
                         f"got {tuple(y.shape)}")
    namespace_of(params_a[0][0], X, y)
    max_models = check_int("max_models", max_models, low=1)
    n_al = al.size
    err = np.empty((B, n_al))
    per = max(1, max_models // n_al)
    for s in range(0, B, per):
        idx = slice(s, min(B, s + per))
        nb = idx.stop - idx.start
        a_w = xp.asarray(al.astype(dtype))
        inter = []
        for (Wa, ba), (Wb, bb) in zip(params_a, params_b):
            Wa_, Wb_ = Wa[idx][:, None], Wb[idx][:, None]
            ba_, bb_ = ba[idx][:, None], bb[idx][:, None]
            W = (1 - a_w)[None, :, None, None] * Wa_ + a_w[None, :, None, None] * Wb_
            b = (1 - a_w)[None, :, None] * ba_ + a_w[None, :, None] * bb_
            inter.append((W.reshape((nb * n_al,) + W.shape[2:]),
                          b.reshape((nb * n_al,) + b.shape[2:])))
        m = None
        if masks is not None:
            m = []
            for entry in masks:
                if entry is None:
                    m.append(None)
                    continue
                pair = entry if isinstance(entry, (list, tuple)) else (entry, None)
                m.append(tuple(None if a is None else
                               xp.repeat(a[idx], n_al, axis=0) for a in pair))
        with np.errstate(over="ignore", invalid="ignore"):
            z = mlp.forward(inter, X, m, residual=residual, check_values=False)
        if not bool(xp.isfinite(z).all()):
            raise ValueError("the logits of the interpolated networks overflowed to inf/NaN "
                             f"(the range of {dtype} was exceeded); reduce the scale of "
                             "params_a, params_b or X")
        acc = (z.argmax(axis=2) == y[None, :]).mean(axis=1)
        err[idx] = 1.0 - to_numpy(acc).reshape(nb, n_al)
    return err


def _check_alphas(alphas: Any) -> np.ndarray:
    """Interpolation weights as a non-empty 1-D float64 host array in [0, 1]."""
    if hasattr(alphas, "dtype") and hasattr(alphas, "shape"):
        check_array("alphas", alphas, finite=True, kinds="biuf")
        al = to_numpy(alphas).astype(np.float64)
    elif isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence):
        raise TypeError(f"alphas must be a sequence of interpolation weights in [0, 1]; "
                        f"got {type(alphas).__name__}")
    else:
        al = np.array([check_real(f"alphas[{i}]", a) for i, a in enumerate(alphas)],
                      dtype=np.float64)
    if al.ndim != 1 or al.size < 1 or np.any(al < 0) or np.any(al > 1):
        raise ValueError(f"alphas must be a non-empty 1-D sequence in [0, 1]; got {alphas!r}")
    return al


def error_barrier(errors: np.ndarray) -> np.ndarray:
    """``max_α err(α) − (err(0) + err(1)) / 2`` along the last axis (α ascending from 0 to 1).

    Parameters
    ----------
    errors : array, shape (..., n_alphas)
        Error rates in [0, 1] (NumPy or CuPy array, or a nested sequence),
        at least one per path.

    Raises
    ------
    TypeError, ValueError
        ``errors`` not real, 0-d, with an empty last axis, or outside [0, 1].

    Examples
    --------
    >>> error_barrier(np.array([[0.1, 0.5, 0.2], [0.2, 0.2, 0.2]]))
    array([0.35, 0.  ])
    """
    if isinstance(errors, (str, bytes)):
        raise TypeError(f"errors must be an array of error rates; got {type(errors).__name__}")
    try:
        e = to_numpy(errors)
    except (TypeError, ValueError):
        raise TypeError(f"errors must be an array of error rates; "
                        f"got {type(errors).__name__}") from None
    check_array("errors", e, finite=True, min_ndim=1, kinds="biuf")
    if e.shape[-1] < 1:
        raise ValueError(f"errors must hold at least one error per path (last axis); "
                         f"got shape {e.shape}")
    e = e.astype(np.float64)
    if e.size and (np.any(e < 0) or np.any(e > 1)):
        raise ValueError("errors must be error rates in [0, 1]")
    return e.max(axis=-1) - 0.5 * (e[..., 0] + e[..., -1])


# --------------------------------------------------------------------------- the study

def rewinding_study(p: dict, seeds: Sequence[int], taus: Sequence[int], *, sweep_seed: int = 0,
                    backend: str = "numpy", progress=None) -> list[dict]:
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

    Returns
    -------
    list of dict
        One row per pair, in the order given (see :func:`run_cell`).

    Raises
    ------
    ValueError
        A parameter out of range, e.g. ``τ >= steps``.
    """
    from ..nn import lottery, mlp, optim  # noqa: PLC0415
    from ..nn.train import TrainData, train  # noqa: PLC0415

    p = _cell(dict(p))
    if len(seeds) != len(taus) or not len(seeds):
        raise ValueError("seeds and taus must be non-empty and of equal length")
    for s, t in zip(seeds, taus):
        _check_cell({**p, "seed": s, "tau": t})
    progress = progress or (lambda _t: None)
    backend = resolve_backend(backend)
    xp = get_namespace(backend)
    dtype = np.dtype(_DTYPES[p["dtype"]])
    data = TrainData.from_dataset(_load_data(p, sweep_seed, backend, dtype))
    sizes = (40,) + (p["width"],) * p["depth"] + (10,)
    residual = bool(p["residual"])
    if p["batch_size"] > data.n_train:
        raise ValueError(f"batch_size must be in [1, {data.n_train}] (the training set size); "
                         f"got {p['batch_size']}")
    steps = p["steps"]
    sched = lottery.PruningSchedule.fixed_fraction(p["prune_fraction"], p["rounds"],
                                                   output_rate=p["output_rate"])
    opt = optim.make_optimizer(p["optimizer"], p["lr"])
    uniq_seeds = sorted(set(int(s) for s in seeds))
    roots = {s: _root(sweep_seed, s, p["dataset"]) for s in uniq_seeds}
    uniq_taus = sorted(set(int(t) for t in taus))
    common = dict(optimizer=opt, steps=steps, batch_size=p["batch_size"],
                  eval_every=p["eval_every"], residual=residual)

    # 1. dense runs, one per replicate seed, with the rewind snapshots
    w0 = mlp.init_mlp(sizes, len(uniq_seeds), seed=[child_seed(roots[s], _INIT) for s in uniq_seeds],
                      backend=backend, dtype=dtype, residual=residual)
    progress(f"rewinding: dense run of {len(uniq_seeds)} models")
    dense = train(w0, data, data_seed=[child_seed(roots[s], _DATA) for s in uniq_seeds],
                  rewind_steps=uniq_taus, **common)
    pos = {s: i for i, s in enumerate(uniq_seeds)}
    model_seed = [pos[int(s)] for s in seeds]
    starts = np.asarray([int(t) for t in taus], dtype=np.int64)
    w_tau = lottery.concat_models([lottery.take_models(dense.rewind_params[int(t)],
                                                       slice(pos[int(s)], pos[int(s)] + 1))
                                for s, t in zip(seeds, taus)])
    data_a = [child_seed(roots[int(s)], _DATA) for s in seeds]
    data_b = [child_seed(roots[int(s)], _DATA_B) for s in seeds]
    n = len(seeds)
    full = [(xp.ones((n,) + tuple(W.shape[1:]), dtype=bool), None) for W, _ in w0]
    trained_dense = lottery.take_models(dense.params, xp.asarray(model_seed))
    out: dict = {}

    def train_round(r: int, masks_r: list) -> list:
        """Rounds 1 .. R-1: copy A of every ticket; round R: copies A and B together."""
        if r < sched.rounds:
            progress(f"rewinding: IMP round {r}/{sched.rounds}, {n} tickets")
            return train(w_tau, data, data_seed=data_a, masks=masks_r, start_steps=starts,
                         **common).params
        progress(f"rewinding: final round, {2 * n} models (two data orders)")
        out["final"] = train(lottery.concat_models([w_tau, w_tau]), data,
                             data_seed=data_a + data_b,
                             masks=lottery.concat_models([masks_r, masks_r]),
                             start_steps=np.concatenate([starts, starts]), **common)
        return lottery.take_models(out["final"].params, slice(0, n))

    # 2-3. IMP with rewinding (the loop of nn.lottery.imp_rounds); the final tickets twice
    masks = lottery.imp_rounds(sched, trained_dense, full, train_round)
    final = out["final"]
    A, Bsl = slice(0, n), slice(n, 2 * n)

    # 5. linear mode connectivity on the test set
    alphas = np.linspace(0.0, 1.0, p["lmc_points"])
    errs = interpolation_errors(lottery.take_models(final.params, A),
                                lottery.take_models(final.params, Bsl),
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
            "lanczos_converged": bool(spec.converged),
            "lanczos_matvecs": int(spec.n_matvec),
            "test_accuracy": float(final.final_test_accuracy[i]),
            "test_accuracy_early_stop": float(final.early_stop_test_accuracy[i]),
            "early_stop_iter": int(final.early_stop_iter[i]),
            "early_stop_iters_trained": int(final.early_stop_iter[i]) - int(t),
            "test_accuracy_copy_b": float(final.final_test_accuracy[n + i]),
            "dense_test_accuracy": float(dense.final_test_accuracy[pos[int(s)]]),
            "lmc_barrier": float(barrier[i]),
            "lmc_error_a": float(errs[i, 0]),
            "lmc_error_b": float(errs[i, -1]),
            "lmc_error_max": float(errs[i].max()),
        })
    return rows


# --------------------------------------------------------------------------- sweep contract

def valid_cell(params: dict) -> bool:
    """Every cell is kept; a ``tau`` beyond the training budget raises ``ValueError``."""
    _check_cell(_cell(params))
    return True


def batch_key(params: dict) -> tuple:
    """Cells differing only in ``seed`` and ``tau`` share one batch (one dense run per seed)."""
    p = _cell(params)
    return tuple(sorted((k, v) for k, v in p.items() if k not in ("seed", "tau")))


def run_cells(params_list: list[dict], ctxs: list) -> list[dict]:
    """All cells of one batch (same configuration, any seeds and rewind points)."""
    p0 = _cell(params_list[0])
    key = batch_key(p0)
    for q in params_list[1:]:
        if batch_key(q) != key:
            raise ValueError("run_cells needs cells that differ only in seed and tau "
                             "(group them with batch_key)")
    ctx = ctxs[0]
    return rewinding_study(p0, [q["seed"] for q in params_list], [q["tau"] for q in params_list],
                           sweep_seed=ctx.sweep_seed, backend=ctx.backend,
                           progress=getattr(ctx, "progress", None))


def run_cell(params: dict, ctx) -> dict:
    """One cell (one seed, one rewind point) -> one row (see :func:`rewinding_study`)."""
    return run_cells([params], [ctx])[0]


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Spearman's ρ and its two-sided p-value; exact (all permutations) for n <= 9.

    With few rewind points the asymptotic p-value is badly wrong (n = 4 and
    ρ = −1 would give p = 0, while the exact value is 2/24); the exact
    permutation distribution is used up to n = 9 (362,880 permutations).
    """
    from scipy import stats  # noqa: PLC0415

    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3 or np.all(x[ok] == x[ok][0]) or np.all(y[ok] == y[ok][0]):
        return float("nan"), float("nan"), n
    rx, ry = stats.rankdata(x[ok]), stats.rankdata(y[ok])
    rho = float(np.corrcoef(rx, ry)[0, 1])
    if n <= 9:
        import itertools  # noqa: PLC0415

        perms = np.array(list(itertools.permutations(range(n))))
        ryp = ry[perms]                                       # (n!, n)
        rc = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean())
        yc = ryp - ryp.mean(axis=1, keepdims=True)
        rho_p = (yc @ rc) / np.linalg.norm(yc, axis=1)
        pv = float(np.mean(np.abs(rho_p) >= abs(rho) - 1e-12))
    else:
        pv = float(stats.spearmanr(x[ok], y[ok]).pvalue)
    return rho, pv, n


def conditioning_vs_tickets(cells, alpha: float = 0.05):
    """Spearman correlations across rewind points (seed means), with plain verdicts.

    For each data set, across the ``τ`` values (per-τ means over seeds):
    ``λ_max`` vs ticket test accuracy, ``κ`` vs accuracy (positive-definite
    points only), the number of negative eigenvalues vs accuracy and the LMC
    barrier vs accuracy.  "Better conditioning" is a smaller ``λ_max`` / ``κ``,
    a "better ticket" a higher test accuracy: they went together when the
    correlation is negative.  Returns a DataFrame and a Markdown statement.
    """
    import pandas as pd  # noqa: PLC0415

    rows, lines = [], []
    for ds, g in cells.groupby("dataset"):
        m = g.groupby("tau").mean(numeric_only=True).sort_index()
        acc = m["test_accuracy"].to_numpy()
        for label, col, good in (("λ_max", "lambda_max", "smaller"),
                                 ("κ (PD points)", "condition_number", "smaller"),
                                 ("# negative eigenvalues (SLQ estimate)", "n_negative_slq",
                                  "fewer"),
                                 ("|λ_min|/λ_max", "neg_ratio", "smaller"),
                                 ("LMC barrier", "lmc_barrier", "smaller")):
            x = m[col].to_numpy(dtype=float) if col in m else np.full(len(m), np.nan)
            x = np.where(np.isinf(x), np.nan, x)
            rho, pv, n = _spearman(x, acc)
            if math.isnan(rho):
                verdict = f"not computable ({n} rewind points with finite values)"
            else:
                together = rho < 0
                sig = pv < alpha
                verdict = (f"{good} {label} went with {'higher' if together else 'lower'} "
                           f"ticket accuracy (ρ = {rho:+.2f}, p = {pv:.3g}, n = {n} τ values; "
                           f"{'significant' if sig else 'not significant'} at {alpha:g})")
            rows.append({"dataset": ds, "measure": label, "spearman_rho": rho,
                         "p_value_spearman": pv, "n_tau": n, "verdict": verdict})
            if col == "lambda_max":
                first = rows[-1]
        if math.isnan(first["spearman_rho"]):
            lines.append(f"- **{ds}**: too few rewind points to tell whether a smaller λ_max "
                         "went with better tickets.")
        else:
            yes = first["spearman_rho"] < 0 and first["p_value_spearman"] < alpha
            tend = "went together" if first["spearman_rho"] < 0 else "went opposite ways"
            lines.append(f"- **{ds}**: better conditioning (smaller λ_max) and better tickets "
                         f"{tend} across τ (Spearman ρ = {first['spearman_rho']:+.2f}, "
                         f"p = {first['p_value_spearman']:.3g}); "
                         + ("a significant association." if yes else
                            "not significant at α = 0.05, so no association is established."))
    return pd.DataFrame(rows), "\n".join(lines)


def _agg(cells):
    import pandas as pd  # noqa: PLC0415

    g = cells.groupby(["dataset", "tau"])
    f = pd.DataFrame({
        "seeds": g["seed"].nunique(),
        "density": g["density"].mean(),
        "lambda_max": g["lambda_max"].mean(),
        "lambda_max_sd": g["lambda_max"].std(),
        "lambda_min": g["lambda_min"].mean(),
        "n_negative": g["n_negative"].mean(),
        "n_negative_slq": g["n_negative_slq"].mean(),
        "neg_ratio": g["neg_ratio"].mean(),
        "kappa_median": g["condition_number"].median(),
        "pd_fraction": g["condition_number"].apply(lambda s: float(np.isfinite(s).mean())),
        "test_acc": g["test_accuracy"].mean(),
        "test_acc_sd": g["test_accuracy"].std(),
        "early_stop_iter": g["early_stop_iter"].mean(),
        "dense_acc": g["dense_test_accuracy"].mean(),
        "lmc_barrier": g["lmc_barrier"].mean(),
        "lmc_barrier_sd": g["lmc_barrier"].std(),
        "lanczos_ok": g["lanczos_converged"].all(),
    }).reset_index()
    return f


def tables(cells):
    """Geometry at w_τ beside the ticket rewound to τ; the association; LMC barriers."""
    from .._table import TheoryTable  # noqa: PLC0415

    f = _agg(cells)
    corr, statement = conditioning_vs_tickets(cells)
    geo = f[["dataset", "tau", "seeds", "density", "lambda_max", "lambda_max_sd", "lambda_min",
             "n_negative", "n_negative_slq", "neg_ratio", "kappa_median", "pd_fraction", "test_acc", "test_acc_sd",
             "early_stop_iter", "dense_acc", "lanczos_ok"]]
    lmc = f[["dataset", "tau", "seeds", "lmc_barrier", "lmc_barrier_sd", "test_acc",
             "test_acc_sd"]]
    return [
        TheoryTable.descriptive(
            "Masked Hessian at the rewind point and the ticket rewound to τ (seed means)",
            geo,
            note=("IMP with rewinding to τ (each τ its own mask chain); the masked Hessian of the "
                  "training loss at w_τ ⊙ m on the kept weights and all biases, by Lanczos on "
                  "exact Hessian-vector products. n_negative counts negative eigenvalues among "
                  "the lanczos_k smallest (a lower bound when it equals lanczos_k); "
                  "n_negative_slq is a stochastic Lanczos quadrature estimate of the number of "
                  "eigenvalues below −slq_rtol·λ_max (slq_probes probes × slq_steps steps; the "
                  "threshold keeps the many near-zero eigenvalues of a ReLU network, which "
                  "quadrature cannot sign, out of the count); "
                  "neg_ratio = max(0, −λ_min)/λ_max; "
                  "kappa_median = median of λ_max/λ_min over seeds, NaN for indefinite "
                  "restrictions (pd_fraction = share of seeds whose restriction is positive "
                  "definite). test_acc: final test accuracy of the ticket; early_stop_iter: "
                  "global step of minimum validation loss. No closed-form prediction exists: "
                  "this table is measured only.")),
        TheoryTable.descriptive(
            "Did better conditioning go with better tickets? (Spearman across τ)",
            corr,
            note=statement + "\n\nMeasured association, not a test of a theory (no agree "
                             "column). Correlations use the per-τ means over seeds."),
        TheoryTable.descriptive(
            "Linear mode connectivity: test-error barrier between two data orders",
            lmc,
            note=("Two copies of the ticket trained from w_τ ⊙ m with different data orders; "
                  "barrier = max over α of the test error of (1−α)θ_A + αθ_B minus the mean "
                  "endpoint error (α on lmc_points points). Frankle et al. (2020) report that "
                  "tickets reach full accuracy once the barrier vanishes.")),
    ]


def figures(cells, outdir: Path) -> list[Path]:
    """Geometry and ticket quality against τ; LMC barrier against τ."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    f = _agg(cells)
    xs = lambda g: np.maximum(g["tau"].to_numpy(dtype=float), 0.5)  # noqa: E731 - log axis
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    twin = axes[1].twinx()
    for i, (ds, g) in enumerate(f.groupby("dataset")):
        x, c = xs(g), f"C{i}"
        axes[0].errorbar(x, g["lambda_max"], yerr=g["lambda_max_sd"], marker="o", color=c,
                         label=ds)
        axes[1].plot(x, g["kappa_median"], "o-", color=c, label=f"{ds}: κ (PD seeds only)")
        twin.plot(x, g["n_negative_slq"], "s--", color=c, alpha=0.7,
                  label=f"{ds}: # eigenvalues < −slq_rtol·λ_max (SLQ)")
        axes[2].errorbar(x, g["test_acc"], yerr=g["test_acc_sd"], marker="o", color=c, label=ds)
        axes[3].plot(x, g["early_stop_iter"], "o-", color=c, label=ds)
    twin.set_ylabel("negative eigenvalues (SLQ estimate, dashed)")
    h1, l1 = axes[1].get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    titles = ["λ_max of the masked Hessian at w_τ", "κ and negative eigenvalues",
              "ticket test accuracy", "early-stop iteration"]
    for ax, t in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_xlabel("rewind step τ (τ = 0 drawn at 0.5)")
        ax.set_title(t)
        ax.legend(fontsize=7)
    axes[1].legend(h1 + h2, l1 + l2, fontsize=6)
    axes[1].set_ylabel("κ = λ_max/λ_min (solid)")
    axes[0].set_yscale("log")
    fig.tight_layout()
    p1 = outdir / "rewinding_geometry.png"
    fig.savefig(p1, dpi=120)
    plt.close(fig)

    fig, ax1 = plt.subplots(figsize=(6, 4))
    ax2 = ax1.twinx()
    for i, (ds, g) in enumerate(f.groupby("dataset")):
        x, c = xs(g), f"C{i}"
        ax1.errorbar(x, g["lmc_barrier"], yerr=g["lmc_barrier_sd"], marker="o", color=c,
                     label=f"{ds}: barrier")
        ax2.plot(x, g["test_acc"], "s--", color=c, alpha=0.6, label=f"{ds}: test accuracy")
    ax1.set_xscale("log")
    ax1.set_xlabel("rewind step τ (τ = 0 drawn at 0.5)")
    ax1.set_ylabel("test-error barrier")
    ax2.set_ylabel("ticket test accuracy")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=7)
    ax1.set_title("Linear mode connectivity of tickets rewound to τ")
    fig.tight_layout()
    p2 = outdir / "rewinding_lmc.png"
    fig.savefig(p2, dpi=120)
    plt.close(fig)
    return [p1, p2]
