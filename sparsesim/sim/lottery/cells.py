"""The sweep contract of the lottery simulations: parameters, the IMP protocol, cells."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._validation import check_choice
from ...backend import to_numpy
from ...nn import data as _data
from ...nn.lottery import LotteryProtocol, PruningSchedule, condition_names, mnist1d_densities, \
    ordered_conditions, run_imp

__all__ = ["PARAMS", "DEFAULTS", "NEUTRAL_DEFAULTS", "REACH_FACTOR", "schedule_from_params",
           "protocol_from_params", "check_condition", "valid_cell", "batch_key", "support_columns", "run_cells",
           "run_cell", "path_support"]


PARAMS: dict[str, type] = {
    "dataset": str,            # "mnist1d" or "teacher"
    "condition": str,
    "seed": int,
    "hidden": str,             # student hidden widths, "500,500"; "" for none
    "residual": bool,
    "init": str,
    "dtype": str,              # "float32" or "float64"
    "optimizer": str,
    "lr": float,
    "momentum": float,
    "steps": int,
    "batch_size": int,
    "eval_every": int,
    "schedule": str,           # "linspace", "fraction" or "densities"
    "n_sparsities": int,       # schedule="linspace": sparsities linspace(0, 1, n)
    "prune_fraction": float,   # schedule="fraction"
    "rounds": int,             # schedule="fraction"
    "densities": str,          # schedule="densities": "0.5,0.2,0.1"
    "output_rate": float,
    "prune_biases": bool,
    "bias_ranking": str,       # "separate" or "joint" (a layer's weights and bias ranked together)
    "prune_step": int,         # weights after this many updates rank the IMP masks; 0 = end
    "count_rule": str,         # "nearest" or "truncate" (the notebook's int(sparsity·len) dropped)
    "batch_order": str,        # "shuffled" or "sequential" (the notebook's fixed order)
    "scope": str,
    "rewind_step": int,
    "saliency_scope": str,
    "grasp_temperature": float,
    "synflow_iterations": int,
    "n_validation": int,
    "data_seed": int,          # validation split (MNIST-1D) / teacher and inputs
    "n_in": int,               # teacher only
    "n_out": int,
    "teacher_hidden": str,
    "teacher_density": float,
    "n_train": int,
    "n_test": int,
    "noise": float,
    "seed_batching": bool,     # False: one task per seed (parallel workers on a CPU)
    "claim_density": float,    # pre-registered: claims (a)-(b) judged at the round nearest this
    "claim_density_sparse": float,  # pre-registered sparse density of claims (a)-(d)
    "claims": str,             # the TOML's [[claims]] as canonical JSON (set by the sweep)
}

#: The MNIST-1D lottery notebook's protocol (greydanus/mnist1d), with a
#: 500-example validation split taken from the 4,000 training signals.
DEFAULTS: dict[str, Any] = {
    "dataset": "mnist1d",
    "hidden": "500,500",
    "residual": True,
    "init": "kaiming_normal",
    "dtype": "float32",
    "optimizer": "adam",
    "lr": 2e-2,
    "momentum": 0.0,
    "steps": 1501,
    "batch_size": 100,
    "eval_every": 100,
    "schedule": "linspace",
    "n_sparsities": 100,
    "prune_fraction": 0.2,
    "rounds": 10,
    "densities": "",
    "output_rate": 1.0,
    "prune_biases": True,
    "bias_ranking": "separate",
    "prune_step": 0,
    "count_rule": "nearest",
    "batch_order": "shuffled",
    "scope": "layerwise",
    "rewind_step": 50,
    "saliency_scope": "layerwise",
    "grasp_temperature": 200.0,
    "synflow_iterations": 100,
    "n_validation": 500,
    "data_seed": 0,
    "n_in": 100,
    "n_out": 10,
    "teacher_hidden": "",
    "teacher_density": 0.1,
    "n_train": 5000,
    "n_test": 2000,
    "noise": 0.0,
    "seed_batching": True,
    "claim_density": 0.21,
    "claim_density_sparse": 0.036,
    "claims": "",
}

#: Parameters added after sweeps were journaled, at the value that reproduces the
#: earlier behaviour (see :func:`sparsesim.sweep.provenance.cell_identity`).
NEUTRAL_DEFAULTS: dict[str, Any] = {"seed_batching": True, "bias_ranking": "separate",
                                     "prune_step": 0, "count_rule": "nearest",
                                     "batch_order": "shuffled", "claim_density": 0.21,
                                     "claim_density_sparse": 0.036, "claims": ""}

_ROW_KEYS = ("condition", "seed")



def _widths(text: str, name: str) -> tuple[int, ...]:
    text = text.strip()
    if not text:
        return ()
    try:
        out = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers such as '500,500' "
                         f"(or '' for none); got {text!r}") from None
    if any(w < 1 for w in out):
        raise ValueError(f"{name} widths must be >= 1; got {text!r}")
    return out


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers such as '0.5,0.2,0.1'; "
                         f"got {text!r}") from None


def _full(params: dict) -> dict:
    return {**DEFAULTS, **params}


def schedule_from_params(p: dict) -> PruningSchedule:
    """The pruning schedule a parameter dict describes."""
    p = _full(p)
    check_choice("schedule", p["schedule"], ("linspace", "fraction", "densities"))
    kw = dict(output_rate=p["output_rate"], prune_biases=p["prune_biases"], scope=p["scope"],
              bias_ranking=p["bias_ranking"])
    if p["schedule"] == "linspace":
        return PruningSchedule.from_densities(mnist1d_densities(p["n_sparsities"]),
                                              count_rule=p["count_rule"], **kw)
    if p["schedule"] == "fraction":
        if p["count_rule"] != "nearest":
            raise ValueError(f"count_rule={p['count_rule']!r} needs explicit densities "
                             "(schedule = 'linspace' or 'densities'); schedule = 'fraction' "
                             "uses count_rule = 'nearest'")
        return PruningSchedule.fixed_fraction(p["prune_fraction"], p["rounds"], **kw)
    return PruningSchedule.from_densities(_floats(p["densities"], "densities"),
                                          count_rule=p["count_rule"], **kw)


def _prune_step(value: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"prune_step must be an integer (0 = the end of training); got {value!r}")
    if value < 0:
        raise ValueError(f"prune_step must be >= 0 (0 = the end of training); got {value}")
    return None if value == 0 else int(value)


def protocol_from_params(p: dict) -> LotteryProtocol:
    """The :class:`~sparsesim.nn.lottery.LotteryProtocol` of a cell's parameters.

    Examples
    --------
    >>> proto = protocol_from_params({})
    >>> proto.sizes, proto.steps, proto.schedule.rounds
    ((40, 500, 500, 10), 1501, 98)
    """
    p = _full(p)
    check_choice("dataset", p["dataset"], ("mnist1d", "teacher"))
    check_choice("dtype", p["dtype"], ("float32", "float64"))
    hidden = _widths(p["hidden"], "hidden")
    n_in, n_out = (40, 10) if p["dataset"] == "mnist1d" else (p["n_in"], p["n_out"])
    return LotteryProtocol(
        sizes=(n_in, *hidden, n_out), schedule=schedule_from_params(p),
        residual=p["residual"], init=p["init"], dtype=np.dtype(p["dtype"]),
        optimizer=p["optimizer"], lr=p["lr"], momentum=p["momentum"], steps=p["steps"],
        batch_size=p["batch_size"], eval_every=p["eval_every"],
        rewind_step=p["rewind_step"], saliency_scope=p["saliency_scope"],
        prune_step=_prune_step(p["prune_step"]), batch_order=p["batch_order"],
        grasp_temperature=p["grasp_temperature"], synflow_iterations=p["synflow_iterations"])


#: A pre-registered claim density is "reached" when a round's density lies
#: within this factor of it.
REACH_FACTOR = 1.5


def _check_claim_densities(p: dict) -> None:
    """Raise when a pre-registered claim density is out of range or never reached."""
    reached = None
    for key in ("claim_density", "claim_density_sparse"):
        v = p[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v < 1.0:
            raise ValueError(f"{key} must be a density in (0, 1) (the pre-registered fraction "
                             f"of weights remaining); got {v!r}")
        if v == DEFAULTS[key]:
            continue   # the default, where the schedule misses it: a "not testable" row
        if reached is None:
            reached = tuple(schedule_from_params(p).densities)
        near = min(reached, key=lambda d: abs(math.log(d / v))) if reached else float("nan")
        if not reached or not abs(math.log(near / v)) <= math.log(REACH_FACTOR):
            raise ValueError(f"{key} = {v:g}: the pruning schedule never reaches it (nearest "
                             f"round density {near:.3g}; the claims are judged at a round "
                             f"within a factor {REACH_FACTOR:g} of the pre-registered density)")


def check_condition(name: Any) -> str:
    """``name`` if it is a registered condition, else a ``ValueError`` saying how to register it.

    Conditions from outside the package (:func:`sparsesim.nn.register_condition`)
    are registered when a module imported before the cells run registers them:
    the sweep TOML names such modules in ``[sim] plugins``.

    >>> check_condition("lottery")
    'lottery'
    """
    if not isinstance(name, str) or name not in condition_names():
        raise ValueError(f"condition must be one of {condition_names()}; got {name!r} (a "
                         "condition defined outside sparsesim is registered by a module the "
                         "sweep imports first: [sim] plugins = [\"mypkg.conditions\"])")
    return name


def valid_cell(params: dict) -> bool:
    """Drop ``rewind`` cells when ``rewind_step = 0`` (that is the ``lottery`` condition).

    Raises ``ValueError`` for a condition that is not registered
    (:func:`check_condition`).

    Raises ``ValueError`` naming the key when a pre-registered claim density
    (``claim_density``, ``claim_density_sparse``) is outside (0, 1), or is set
    to a value other than its default that the pruning schedule never comes
    within a factor 1.5 of, so a sweep config that pre-registers an
    unreachable density fails before any work (a default the schedule misses
    gives a "not testable" claim row instead).

    Examples
    --------
    >>> valid_cell({"condition": "lottery", "seed": 0})
    True
    >>> valid_cell({"condition": "lottery", "seed": 0, "schedule": "densities",
    ...             "densities": "0.5,0.2", "claim_density_sparse": 0.01})
    Traceback (most recent call last):
    ...
    ValueError: claim_density_sparse = 0.01: the pruning schedule never reaches it (nearest round density 0.2; the claims are judged at a round within a factor 1.5 of the pre-registered density)
    """
    p = _full(params)
    check_condition(p["condition"])
    _check_claim_densities(p)
    return not (p["condition"] == "rewind" and p["rewind_step"] == 0)


def batch_key(params: dict) -> tuple:
    """Cells trained as one batch: every parameter but ``condition`` and ``seed``.

    With ``seed_batching = false`` the seed is part of the key too, so each
    seed's IMP run is a task of its own: on a multi-core CPU an executor with
    several workers (``--executor dask``) then trains seeds in parallel,
    whereas one batch of all seeds would run on one core.  A replicate's
    numbers do not depend on the batching (its seeds come from
    ``SeedSequence([sweep_seed, seed])`` alone).

    Examples
    --------
    >>> batch_key({"seed": 0}) == batch_key({"seed": 1, "condition": "random"})
    True
    >>> batch_key({"seed": 0, "seed_batching": False}) == batch_key(
    ...     {"seed": 1, "seed_batching": False})
    False
    """
    p = _full(params)
    skip = _ROW_KEYS if p["seed_batching"] else ("condition",)
    return tuple(sorted((k, v) for k, v in p.items() if k not in skip))



def _dataset(p: dict, backend: str, dtype):
    if p["dataset"] == "mnist1d":
        return _data.mnist1d(seed=p["data_seed"], n_validation=p["n_validation"],
                             backend=backend, dtype=dtype)
    return _data.planted_teacher(
        n_in=p["n_in"], hidden=_widths(p["teacher_hidden"], "teacher_hidden"),
        n_out=p["n_out"], density=p["teacher_density"], n_train=p["n_train"],
        n_val=p["n_validation"], n_test=p["n_test"], seed=p["data_seed"], noise=p["noise"],
        backend=backend, dtype=dtype)


def path_support(masks) -> np.ndarray:
    """The input-output pairs joined by a path of kept weights: ``(B, n_in, n_out)`` bool.

    ``masks`` are the per-layer weight masks ``(B, fan_in, fan_out)`` of a
    batch of networks.  For a network without hidden layers this is its mask;
    with hidden layers it is the boolean product of the layer masks, which
    does not depend on how the hidden units are ordered, so the effective
    supports of two networks (a student and its teacher) compare entry by
    entry whatever their hidden widths.

    Examples
    --------
    >>> m1 = np.array([[[1, 0], [0, 0], [0, 1]]], bool)    # 3 inputs -> 2 hidden
    >>> m2 = np.array([[[1, 0], [0, 0]]], bool)            # 2 hidden -> 2 outputs
    >>> path_support([m1, m2])[0].astype(int).tolist()
    [[1, 0], [0, 0], [0, 0]]
    """
    C = np.asarray(to_numpy(masks[0])).astype(bool)
    for M in masks[1:]:
        C = np.matmul(C.astype(np.float64), np.asarray(to_numpy(M)).astype(np.float64)) > 0
    return C


def support_columns(teacher_masks, student_hidden):
    """``extra_columns`` hook: the student's effective support against the teacher's.

    The support of a network is :func:`path_support` (its mask when it has no
    hidden layer).  Columns: ``support_recall`` = |C ∩ S| / |S|,
    ``support_precision`` = |C ∩ S| / |C|, their chance values for a
    uniformly random set of |C| pairs (``recall_chance`` = |C| / n,
    ``precision_chance`` = |S| / n), and ``support_recall_normalised`` =
    recall / min(1, |C| / |S|): the recall over its ceiling (a set smaller than
    S cannot hold all of it).  ``student_hidden`` is kept for the signature.
    """
    S = path_support([m for m in teacher_masks])[0]

    def columns(round_index, masks, params, keys):
        C = path_support([m[0] for m in masks])                # (B, n_in, n_out)
        n, s = S.size, int(S.sum())
        inter = (C & S[None]).reshape(len(keys), -1).sum(axis=1)
        kept = C.reshape(len(keys), -1).sum(axis=1)
        out = []
        for i in range(len(keys)):
            recall = float(inter[i] / s)
            ceiling = min(1.0, float(kept[i]) / s)
            out.append({"support_recall": recall,
                        "support_precision": float(inter[i] / kept[i]) if kept[i]
                        else float("nan"),
                        "recall_chance": float(kept[i] / n),
                        "precision_chance": float(s / n),
                        "support_recall_normalised": recall / ceiling if ceiling > 0
                        else float("nan")})
        return out
    return columns


def run_cells(params_list: list[dict], ctxs: list) -> list[list[dict]]:
    """Run the IMP experiment(s) of the given cells; one list of rows per cell.

    Cells sharing :func:`batch_key` run as one IMP run (every condition and
    seed batched per round); a cell's rows are its rounds.

    When the cells form one IMP run and their context carries a round log
    (``ctx.rounds``, a :class:`sparsesim._rounds.RoundLog`, given by the
    sweep), every finished round is saved to it and a run interrupted
    mid-way resumes after its last saved round (see
    :func:`sparsesim.nn.lottery.run_imp`).
    """
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(params_list):
        groups.setdefault(batch_key(p), []).append(i)
    out: list[list[dict] | None] = [None] * len(params_list)
    # a round log belongs to one IMP run: used only when the cells are one run
    log = getattr(ctxs[0], "rounds", None) if ctxs and len(groups) == 1 else None
    for idx in groups.values():
        p0 = _full(params_list[idx[0]])
        ctx0 = ctxs[idx[0]]
        protocol = protocol_from_params(p0)
        for i in idx:
            check_condition(_full(params_list[i])["condition"])
        conds = list(ordered_conditions(_full(params_list[i])["condition"] for i in idx))
        seeds = sorted({int(_full(params_list[i])["seed"]) for i in idx})
        for s in seeds:
            if s < 0:
                raise ValueError(f"seed must be >= 0; got {s}")
        data = _dataset(p0, ctx0.backend, protocol.dtype)
        extra = (support_columns(data.teacher_masks, _widths(p0["hidden"], "hidden"))
                 if p0["dataset"] == "teacher" else None)
        rows = run_imp(data, protocol, conditions=conds,
                       seeds=[np.random.SeedSequence([ctx0.sweep_seed, s]) for s in seeds],
                       seed_labels=seeds, backend=ctx0.backend,
                       progress=getattr(ctx0, "progress", None), extra_columns=extra,
                       rounds=log)
        by_key: dict[tuple, list[dict]] = {}
        for row in rows:
            key = (row["condition"], row["seed"])
            by_key.setdefault(key, []).append({k: v for k, v in row.items()
                                               if k not in _ROW_KEYS})
        for i in idx:
            p = _full(params_list[i])
            out[i] = by_key[(p["condition"], int(p["seed"]))]
    return out  # type: ignore[return-value]


def run_cell(params: dict, ctx) -> list[dict]:
    """One cell alone (its IMP run is computed for its own condition and seed)."""
    return run_cells([params], [ctx])[0]
