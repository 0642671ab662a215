"""Lottery tickets on MNIST-1D and on a planted sparse teacher.

Iterative magnitude pruning and its controls (:mod:`sparsesim.nn.lottery`)
swept over seeds; the tables set our numbers beside the claims of Frankle &
Carbin (2019), of rewinding (Frankle et al. 2020) and beside the published
MNIST-1D lottery-notebook numbers; for the planted teacher they compare the
ticket's support with the teacher's true support (the compressed-sensing
view: does magnitude pruning recover the support?).

Cells and rows
--------------
A cell is one ``(condition, seed)`` pair of an IMP run; the IMP run of a
protocol (all cells that share every other parameter, :func:`batch_key`) is
computed once, all conditions and seeds as one batch per round
(:func:`run_cells`).  **A cell returns a list of rows, one per pruning round**
(``round`` column; ``dense`` has the single round 0).  Row columns:
``round, density`` (fraction of the weights — and biases when they are
pruned — kept), ``target_density``, ``layer_densities`` (per weight matrix),
``test_accuracy`` (after the full budget: the MNIST-1D notebook's number),
``test_accuracy_early_stop`` (at the iteration of minimum validation loss),
``early_stop_iter``, ``train_loss``, ``train_accuracy``, ``val_loss``,
``val_accuracy``, ``val_accuracy_early_stop``, ``test_loss``; for the
planted teacher also ``support_recall`` = |M ∩ S| / |S|,
``support_precision`` = |M ∩ S| / |M| and their chance values for a uniformly
random mask of the same size (``recall_chance`` = |M| / n,
``precision_chance`` = |S| / n).  Accuracies are fractions in [0, 1].

Seeds: replicate ``seed`` of a sweep draws from
``SeedSequence([sweep_seed, seed])`` (initialisation, data order, control
masks; see :mod:`sparsesim.nn.lottery`), so every condition of a replicate
shares its initialisation and its data order.

The support overlap is defined for a student without hidden layers (the
default teacher sweep): hidden units of two networks are only defined up to
permutation, so a hidden layer's support cannot be compared entry by entry
(NaN columns then).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_choice
from ..backend import to_numpy
from ..nn.lottery import (
    CONDITIONS,
    LotteryProtocol,
    PruningSchedule,
    mnist1d_densities,
    run_imp,
)

__all__ = ["PARAMS", "DEFAULTS", "NEUTRAL_DEFAULTS", "PUBLISHED_MNIST1D", "PUBLISHED_DENSE_RANGE",
           "valid_cell", "batch_key", "run_cells", "run_cell", "protocol_from_params", "tables",
           "figures"]

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
}

#: Parameters added after sweeps were journaled, at the value that reproduces the
#: earlier behaviour (see :func:`sparsesim.sweep.provenance.cell_identity`).
NEUTRAL_DEFAULTS: dict[str, Any] = {"seed_batching": True, "bias_ranking": "separate",
                                     "prune_step": 0, "count_rule": "nearest",
                                     "batch_order": "shuffled", "claim_density": 0.21,
                                     "claim_density_sparse": 0.036}

#: Published test accuracy (%) of the MNIST-1D lottery notebook (trial 0, trial 1).
PUBLISHED_MNIST1D = {
    0.92: {"random": (60.6, 61.8), "lottery": (75.6, 74.4)},
    0.95: {"random": (55.9, 54.6), "lottery": (69.2, 70.5)},
    0.98: {"random": (34.6, 27.2), "lottery": (63.0, 63.8)},
    0.99: {"random": (16.7, 15.4), "lottery": (41.9, 41.5)},
}
#: Published test accuracy (%) range of the notebook's dense runs.
PUBLISHED_DENSE_RANGE = (60.6, 66.4)

_ROW_KEYS = ("condition", "seed")


# --------------------------------------------------------------------------- parameters

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
_REACH_FACTOR = 1.5


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
        if not reached or not abs(math.log(near / v)) <= math.log(_REACH_FACTOR):
            raise ValueError(f"{key} = {v:g}: the pruning schedule never reaches it (nearest "
                             f"round density {near:.3g}; the claims are judged at a round "
                             f"within a factor {_REACH_FACTOR:g} of the pre-registered density)")


def valid_cell(params: dict) -> bool:
    """Drop ``rewind`` cells when ``rewind_step = 0`` (that is the ``lottery`` condition).

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


# --------------------------------------------------------------------------- running

def _dataset(p: dict, backend: str, dtype):
    from ..nn import data as _data  # noqa: PLC0415
    if p["dataset"] == "mnist1d":
        return _data.mnist1d(seed=p["data_seed"], n_validation=p["n_validation"],
                             backend=backend, dtype=dtype)
    return _data.planted_teacher(
        n_in=p["n_in"], hidden=_widths(p["teacher_hidden"], "teacher_hidden"),
        n_out=p["n_out"], density=p["teacher_density"], n_train=p["n_train"],
        n_val=p["n_validation"], n_test=p["n_test"], seed=p["data_seed"], noise=p["noise"],
        backend=backend, dtype=dtype)


def _support_columns(teacher_masks, student_hidden):
    """``extra_columns`` hook: support overlap of each model's mask with the teacher's."""
    comparable = not student_hidden and len(teacher_masks) == 1
    S = to_numpy(teacher_masks[0])[0].astype(bool) if comparable else None

    def columns(round_index, masks, params, keys):
        if not comparable:
            nan = float("nan")
            return [{"support_recall": nan, "support_precision": nan, "recall_chance": nan,
                     "precision_chance": nan} for _ in keys]
        M = to_numpy(masks[0][0]).astype(bool)             # (B, n_in, n_out)
        n = S.size
        inter = (M & S[None]).reshape(len(keys), -1).sum(axis=1)
        kept = M.reshape(len(keys), -1).sum(axis=1)
        return [{"support_recall": float(inter[i] / S.sum()),
                 "support_precision": float(inter[i] / kept[i]) if kept[i] else float("nan"),
                 "recall_chance": float(kept[i] / n),
                 "precision_chance": float(S.sum() / n)} for i in range(len(keys))]
    return columns


def run_cells(params_list: list[dict], ctxs: list) -> list[list[dict]]:
    """Run the IMP experiment(s) of the given cells; one list of rows per cell.

    Cells sharing :func:`batch_key` run as one IMP run (every condition and
    seed batched per round); a cell's rows are its rounds.
    """
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(params_list):
        groups.setdefault(batch_key(p), []).append(i)
    out: list[list[dict] | None] = [None] * len(params_list)
    for idx in groups.values():
        p0 = _full(params_list[idx[0]])
        ctx0 = ctxs[idx[0]]
        protocol = protocol_from_params(p0)
        conds = [c for c in CONDITIONS if any(_full(params_list[i])["condition"] == c
                                              for i in idx)]
        for i in idx:
            check_choice("condition", _full(params_list[i])["condition"], CONDITIONS)
        seeds = sorted({int(_full(params_list[i])["seed"]) for i in idx})
        for s in seeds:
            if s < 0:
                raise ValueError(f"seed must be >= 0; got {s}")
        data = _dataset(p0, ctx0.backend, protocol.dtype)
        extra = (_support_columns(data.teacher_masks, _widths(p0["hidden"], "hidden"))
                 if p0["dataset"] == "teacher" else None)
        rows = run_imp(data, protocol, conditions=conds,
                       seeds=[np.random.SeedSequence([ctx0.sweep_seed, s]) for s in seeds],
                       seed_labels=seeds, backend=ctx0.backend,
                       progress=getattr(ctx0, "progress", None), extra_columns=extra)
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


# --------------------------------------------------------------------------- summaries

def _prep(cells):
    import pandas as pd  # noqa: PLC0415
    c = cells.copy()
    for k, v in DEFAULTS.items():
        if k not in c.columns:
            c[k] = v
    for col in ("test_accuracy", "test_accuracy_early_stop", "early_stop_iter", "density"):
        c[col] = pd.to_numeric(c[col], errors="coerce")
    return c


def _param(c, key):
    """The (first) value of a parameter column; the default when absent or empty."""
    if key in c.columns and len(c):
        val = c[key].iloc[0]
        if not (isinstance(val, float) and math.isnan(val)):
            return val
        return ""            # an empty string parameter reads back from CSV as NaN
    return DEFAULTS.get(key, "")


def _summary(c):
    """Mean, sd and count over seeds per (condition, round)."""
    g = c.groupby(["condition", "round"], sort=True)
    s = g.agg(density=("density", "mean"),
              n_seeds=("seed", "nunique"),
              acc_mean=("test_accuracy", "mean"), acc_sd=("test_accuracy", "std"),
              acc_es_mean=("test_accuracy_early_stop", "mean"),
              acc_es_sd=("test_accuracy_early_stop", "std"),
              es_mean=("early_stop_iter", "mean"), es_sd=("early_stop_iter", "std"))
    return s.reset_index()


def _pm(mean, sd, scale=1.0, digits=1):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {sd * scale:.{digits}f}"


def _table_rounds(summary, max_rows: int = 24) -> list[int]:
    """Rounds shown in the per-density tables (all, or a log-spaced selection)."""
    rounds = sorted(int(r) for r in summary["round"].unique())
    if len(rounds) <= max_rows:
        return rounds
    dens = summary.groupby("round")["density"].mean()
    wanted = set(np.geomspace(dens.min(), 1.0, max_rows - len(PUBLISHED_MNIST1D)))
    wanted |= {1.0 - s for s in PUBLISHED_MNIST1D}
    pick = {int((dens - w).abs().idxmin()) for w in wanted}
    return sorted(pick)


def _pivot(summary, rounds, mean_col, sd_col, scale, digits):
    import pandas as pd  # noqa: PLC0415
    conds = [c for c in CONDITIONS if c in set(summary["condition"])]
    dens = summary.groupby("round")["density"].mean()
    rows = []
    dense = summary[summary["condition"] == "dense"]
    for r in rounds:
        row = {"round": r, "density": float(dens.get(r, np.nan))}
        for cond in conds:
            sub = summary[(summary["condition"] == cond) & (summary["round"] == r)]
            if cond == "dense" and r != 0:
                sub = dense
            row[cond] = (_pm(float(sub[mean_col].iloc[0]), float(sub[sd_col].iloc[0]),
                             scale, digits) if len(sub) else "—")
        rows.append(row)
    return pd.DataFrame(rows)


def _cond_at(summary, cond, r):
    sub = summary[(summary["condition"] == cond) & (summary["round"] == r)]
    return None if not len(sub) else sub.iloc[0]


# --------------------------------------------------------------------------- claims

#: The early-stopping half of claim (a) needs the validation loss at least
#: this often (optimizer steps); coarser grids cannot resolve it.
_ES_GRID_MAX = 25
#: Coverage of the prediction intervals that published numbers are judged by.
PUBLISHED_LEVEL = 0.95


def _per_seed(c, cond, r, col):
    """Values of ``col`` per seed for one condition and round (a Series by seed)."""
    sub = c[(c["condition"] == cond) & (c["round"] == r)]
    return sub.groupby("seed")[col].mean().dropna()


def _round_near(c, target):
    """(round, density) of the lottery round nearest ``target`` on a log scale; None if none."""
    lot = c[(c["condition"] == "lottery") & (c["round"] > 0)]
    if not len(lot):
        return None
    dens = lot.groupby("round")["density"].mean()
    r = int((np.log(dens / target)).abs().idxmin())
    return r, float(dens[r])


def _claim_row(claim, target, where, x, y, direction, *, scale, unit, published):
    """One pre-registered claim: paired one-sided test of x − y in ``direction``."""
    from ..stats import paired_test  # noqa: PLC0415
    row = {"claim": claim, "pre-registered density": target,
           "density": where[1] if where else np.nan, "n_seeds": 0, "ours": "—",
           "test": "—", "p_claim": np.nan, "p_opposite": np.nan,
           "detectable at 80 % power": "—", "published": published, "kind": "claim"}
    if isinstance(x, str):
        row["kind"] = f"not testable: {x}"
        return row
    seeds = x.index.intersection(y.index)
    d = (x[seeds] - y[seeds]).to_numpy(float) * scale
    row["n_seeds"] = int(len(seeds))
    if len(seeds) < 2:
        row["kind"] = f"not testable: {len(seeds)} paired seed(s); a paired test needs 2"
        return row
    opposite = "less" if direction == "greater" else "greater"
    row["p_claim"], row["test"] = paired_test(x[seeds].to_numpy(float),
                                             y[seeds].to_numpy(float), direction)
    row["p_opposite"] = paired_test(x[seeds].to_numpy(float), y[seeds].to_numpy(float),
                                    opposite)[0]
    sd = float(np.std(d, ddof=1))
    row["ours"] = f"{d.mean():+.2f} ± {sd:.2f} {unit}".rstrip() + " (paired, mean ± sd)"
    row["_sd"], row["_unit"] = sd, unit
    return row


def _fill_detectable(frames, alpha):
    """The smallest detectable effect of each claim, at α / m over the file's m claims."""
    from ..stats import paired_min_detectable  # noqa: PLC0415
    m = sum(int((f["kind"] == "claim").sum()) for f in frames)
    out = []
    for f in frames:
        f = f.copy()
        for i in f.index:
            if f.at[i, "kind"] != "claim":
                continue
            mde = paired_min_detectable(float(f.at[i, "_sd"]), int(f.at[i, "n_seeds"]),
                                        alpha / max(m, 1))
            f.at[i, "detectable at 80 % power"] = (
                "none: 2^-n > α/m" if math.isinf(mde) else
                f"{mde:.3g} {f.at[i, '_unit']}".rstrip())
        out.append(f.drop(columns=[k for k in ("_sd", "_unit") if k in f.columns]))
    return out


def _claims(c):
    """Pre-registered claims (a)-(d): paired one-sided tests at the declared densities."""
    import pandas as pd  # noqa: PLC0415

    conds = set(c["condition"])
    targets = {"mid": float(_param(c, "claim_density")),
               "sparse": float(_param(c, "claim_density_sparse"))}
    where = {}
    for key, target in targets.items():
        w = _round_near(c, target)
        ok = w is not None and abs(math.log(w[1] / target)) <= math.log(_REACH_FACTOR)
        where[key] = w if ok else None

    def values(cond, key, col):
        """Per-seed values or the reason the claim cannot be tested."""
        if cond not in conds:
            return f"the sweep has no '{cond}' condition"
        if where[key] is None:
            near = _round_near(c, targets[key])
            return (f"no round within a factor {_REACH_FACTOR:g} of density "
                    f"{targets[key]:g}" + (f" (nearest {near[1]:.3g})" if near else ""))
        r = 0 if cond == "dense" else where[key][0]
        return _per_seed(c, cond, r, col)

    es_reason = None
    n_val = int(float(_param(c, "n_validation") or 0))
    grid = int(float(_param(c, "eval_every") or 0))
    if n_val == 0:
        es_reason = "no validation split (n_validation = 0): early stopping is off"
    elif grid > _ES_GRID_MAX:
        es_reason = (f"the validation loss was evaluated every {grid} steps; resolving the "
                     f"early-stopping iteration needs ≤ {_ES_GRID_MAX}")
    acc = "test_accuracy"
    fc = "F&C 2019 (LeNet-300-100, MNIST)"
    spec = [
        ("(a) at ~21 % of weights the ticket beats the dense network (test accuracy)", "mid",
         ("lottery", acc), ("dense", acc), "greater", 100, "points",
         f"{fc}: winning tickets beat dense from 51.3 % down to 3.6 % remaining"),
        ("(a) at ~21 % the ticket early-stops in fewer iterations than the dense network",
         "mid", ("lottery", "early_stop_iter"), ("dense", "early_stop_iter"), "less", 1,
         "steps", f"{fc}: at 21 % min. val. loss 38 % earlier"),
        ("(a) at ~3.6 % of weights the ticket still beats the dense network", "sparse",
         ("lottery", acc), ("dense", acc), "greater", 100, "points",
         f"{fc}: winning tickets beat dense down to 3.6 % remaining"),
        ("(b) at ~21 % the ticket beats its reinitialisation", "mid", ("lottery", acc),
         ("reinit", acc), "greater", 100, "points",
         f"{fc}: reinitialised tickets fall off from 21.1 % remaining"),
        ("(b) at ~3.6 % the ticket beats its reinitialisation", "sparse", ("lottery", acc),
         ("reinit", acc), "greater", 100, "points",
         f"{fc}: winning tickets hold to 2.9 %, reinitialised ones do not"),
        (f"(c) at ~3.6 % rewinding to tau = {int(float(_param(c, 'rewind_step')))} beats "
         "resetting to tau = 0", "sparse", ("rewind", acc), ("lottery", acc), "greater", 100,
         "points", "Frankle et al. 2020: rewinding finds tickets where tau = 0 fails (large "
                   "networks); small networks show no gap"),
    ]
    if "support_recall" in c.columns and c["support_recall"].notna().any():
        spec.append(("(d) at ~3.6 % the ticket keeps more of the teacher's support than a "
                     "random mask of its size (recall − chance)", "sparse",
                     ("lottery", "support_recall"), ("lottery", "recall_chance"), "greater", 1,
                     "", "compressed sensing: magnitude pruning as support recovery"))
    built = []
    for claim, key, (cx, colx), (cy, coly), direction, scale, unit, pub in spec:
        x, y = values(cx, key, colx), values(cy, key, coly)
        if isinstance(y, str) and not isinstance(x, str):
            x = y
        if colx == "early_stop_iter" and es_reason is not None:
            x = es_reason
        built.append((claim, targets[key], where[key], x, y, direction, scale, unit, pub))
    rows = [_claim_row(claim, t, w, x, y, direction, scale=scale, unit=unit, published=pub)
            for claim, t, w, x, y, direction, scale, unit, pub in built]
    return pd.DataFrame(rows)


def _published(c):
    """Published notebook values against our 95 % prediction intervals; the pattern as claims."""
    import pandas as pd  # noqa: PLC0415

    from ..stats import prediction_interval  # noqa: PLC0415
    intervals, pattern = [], []
    for sp, pub in PUBLISHED_MNIST1D.items():
        target = 1.0 - sp
        w = _round_near(c, target)
        close = w is not None and abs(w[1] - target) <= 0.2 * target
        for cond in ("lottery", "random"):
            vals = _per_seed(c, cond, w[0], "test_accuracy") * 100 if close else None
            lo = hi = np.nan
            kind = "interval"
            if cond not in set(c["condition"]):
                kind = f"not testable: the sweep has no '{cond}' condition"
                vals = None
            elif vals is None:
                kind = f"not testable: no round within 20 % of density {target:.3g}"
            elif len(vals) < 2:
                kind = f"not testable: {len(vals)} seed(s); a prediction interval needs 2"
            else:
                lo, hi = prediction_interval(vals.to_numpy(float), PUBLISHED_LEVEL)
            for trial, value in enumerate(pub[cond]):
                intervals.append({
                    "sparsity": sp, "condition": cond, "trial": trial, "published (%)": value,
                    "our density": w[1] if close else np.nan,
                    "ours (%)": (_pm(float(vals.mean()), float(vals.std(ddof=1))
                                     if len(vals) > 1 else np.nan) if vals is not None and
                                 len(vals) else "—"),
                    "95 % prediction interval (%)": (f"[{lo:.1f}, {hi:.1f}]" if lo == lo
                                                     else "—"),
                    "inside": (bool(lo <= value <= hi) if lo == lo else None), "kind": kind})
        pattern.append(("lottery", "random", sp, target, w if close else None))
    iv = pd.DataFrame(intervals)
    claims = []
    for cx, cy, sp, target, w in pattern:
        missing = [k for k in (cx, cy) if k not in set(c["condition"])]
        x = (f"the sweep has no '{missing[0]}' condition" if missing else
             _per_seed(c, cx, w[0], "test_accuracy") if w else
             f"no round within 20 % of density {target:.3g}")
        y = x if isinstance(x, str) else _per_seed(c, cy, w[0], "test_accuracy")
        claims.append(_claim_row(
            f"published pattern at sparsity {sp:g}: lottery above random", target, w, x, y,
            "greater", scale=100, unit="points",
            published=" / ".join(f"{a} vs {b}" for a, b in zip(PUBLISHED_MNIST1D[sp][cx],
                                                                 PUBLISHED_MNIST1D[sp][cy]))))
    return iv, pd.DataFrame(claims)


def _support_table(c):
    import pandas as pd  # noqa: PLC0415
    if "support_recall" not in c.columns or c["support_recall"].isna().all():
        return None
    for col in ("support_recall", "support_precision", "recall_chance", "precision_chance"):
        c[col] = pd.to_numeric(c[col], errors="coerce")
    g = c.groupby(["condition", "round"]).agg(
        density=("density", "mean"), n_seeds=("seed", "nunique"),
        recall=("support_recall", "mean"), recall_sd=("support_recall", "std"),
        recall_chance=("recall_chance", "mean"),
        precision=("support_precision", "mean"),
        precision_chance=("precision_chance", "mean")).reset_index()
    rows = []
    for _, r in g.sort_values(["round", "condition"]).iterrows():
        if r["condition"] not in ("lottery", "rewind", "oneshot", "random", "snip", "grasp",
                                  "synflow"):
            continue
        rows.append({"condition": r["condition"], "round": int(r["round"]),
                     "density": r["density"], "n_seeds": int(r["n_seeds"]),
                     "support recall": _pm(r["recall"], r["recall_sd"], 1, 3),
                     "chance recall": round(float(r["recall_chance"]), 4),
                     "precision": round(float(r["precision"]), 4),
                     "chance precision": round(float(r["precision_chance"]), 4)})
    return pd.DataFrame(rows)


def _ranked_on(prune_step) -> str:
    """Protocol note on the weights that rank the IMP masks (empty for the default)."""
    try:
        step = int(prune_step)
    except (TypeError, ValueError):
        return ""
    return f"IMP masks ranked on the weights at step {step}; " if step > 0 else ""


def tables(cells) -> list:
    """Accuracy / early-stop tables per density, the claims, published numbers, support overlap."""
    from .._table import TheoryTable  # noqa: PLC0415

    from .._table import FAMILY_ALPHA  # noqa: PLC0415

    c = _prep(cells)
    summary = _summary(c)
    rounds = _table_rounds(summary)
    dataset = str(_param(c, "dataset"))
    claims = _claims(c)
    if dataset == "mnist1d":
        iv, pattern = _published(c)
        claims, pattern = _fill_detectable([claims, pattern], FAMILY_ALPHA)
    else:
        (claims,) = _fill_detectable([claims], FAMILY_ALPHA)
    v = lambda k: _param(c, k)  # noqa: E731
    joint = " (ranked with their layer's weights)" if v("bias_ranking") == "joint" else ""
    proto = (f"hidden widths {v('hidden') or '(none)'}, residual {v('residual')}, "
             f"{v('optimizer')} lr {v('lr')}, batch {v('batch_size')}, {v('steps')} steps, "
             f"schedule {v('schedule')}, scope {v('scope')}, output rate {v('output_rate')}, "
             f"biases pruned: {v('prune_biases')}{joint}; rewind step {v('rewind_step')}; "
             f"{_ranked_on(v('prune_step'))}{summary['n_seeds'].max()} seeds")
    out = [
        TheoryTable.descriptive(
            "Test accuracy (%) per density, mean ± sd over seeds",
            _pivot(summary, rounds, "acc_mean", "acc_sd", 100, 1),
            note=(f"{dataset}: {proto}. `test_accuracy` = accuracy after the full step budget "
                  "(the MNIST-1D notebook's number); the test accuracy at the early-stopping "
                  "iteration is in cells.csv (`test_accuracy_early_stop`). `dense` is the "
                  "unpruned network (its value repeated on every row). All controls at the "
                  "lottery ticket's per-layer densities; snip/grasp/synflow at "
                  f"{v('saliency_scope')} scope. "
                  + ("Rows: a log-spaced selection of rounds (all rounds are in cells.csv)."
                     if len(rounds) < summary['round'].nunique() else ""))),
        TheoryTable.descriptive(
            "Early-stopping iteration (minimum validation loss) per density",
            _pivot(summary, rounds, "es_mean", "es_sd", 1, 0),
            note="Iteration (optimizer step) of the evaluation point with the minimum "
                 f"validation loss (evaluated every {v('eval_every')} steps); mean ± sd "
                 "over seeds. Rewound tickets count from step 0 of the dense run."),
        TheoryTable.claims(
            "The lottery-ticket claims, pre-registered and tested", claims,
            test="one-sided paired test over seeds (exact sign-flip test below 8 seeds, "
                 "paired t-test from 8)", kind_col="kind",
            note=("Each claim is judged at the round nearest the density pre-registered in "
                  f"the sweep config (`claim_density` = {float(v('claim_density')):g}, "
                  f"`claim_density_sparse` = {float(v('claim_density_sparse')):g}), never at "
                  "a round picked after the fact. The conditions of a seed share its "
                  "initialisation and data order, so each claim is a one-sided paired test of "
                  "the per-seed differences in the claim's direction (`p_claim`), with Holm "
                  "over the file's claims: ✓ only when it rejects, ✗ when the opposite "
                  "one-sided test (`p_opposite`) rejects, otherwise inconclusive. "
                  "`detectable at 80 % power` = the smallest mean difference these seeds "
                  "would detect (at α / m, m = the file's testable claims); an exact "
                  "sign-flip test over n seeds cannot go below p = 2^-n, so with few seeds "
                  "a claim is inconclusive by design. Dense = the unpruned network of the "
                  "same seed.")),
    ]
    if dataset == "mnist1d":
        out.append(TheoryTable.intervals(
            "MNIST-1D: the published notebook's numbers against our prediction intervals", iv,
            inside_col="inside", level=PUBLISHED_LEVEL, kind_col="kind",
            note=("Published: greydanus/mnist1d lottery notebook, test accuracy of trial 0 / "
                  "trial 1 at its last step (PyTorch default init, all 4,000 training signals "
                  "(no validation split), sequential batches; each round's masks rank the "
                  "step-1000 checkpoint, with a layer's weights and bias against one "
                  "threshold — here `prune_step` = "
                  f"{int(float(v('prune_step') or 0)) or 'end of training'}, `bias_ranking` = "
                  f"{v('bias_ranking')}). A published trial agrees when it lies inside our "
                  f"{100 * PUBLISHED_LEVEL:g} % prediction interval for one new run, mean ± "
                  "t(0.975, n−1) · sd · √(1 + 1/n) over our seeds, at the round whose density "
                  "is nearest (within 20 %) to 1 − sparsity. The published dense runs span "
                  f"{PUBLISHED_DENSE_RANGE[0]}–{PUBLISHED_DENSE_RANGE[1]} %.")))
        out.append(TheoryTable.claims(
            "MNIST-1D: the published pattern (lottery above random), tested on our seeds",
            pattern, test="one-sided paired test over seeds (exact sign-flip test below 8 "
                          "seeds, paired t-test from 8)", kind_col="kind",
            note="Paired by seed at the round of each published sparsity; Holm with the "
                 "file's other claims."))
    sup = _support_table(c)
    if sup is not None:
        out.append(TheoryTable.descriptive(
            "Planted teacher: ticket support vs the teacher's true support", sup,
            note=("support recall = |M ∩ S| / |S| (fraction of the teacher's support the mask "
                  "keeps), precision = |M ∩ S| / |M|; chance = the expectation for a uniformly "
                  "random mask of the same size (recall |M| / n, precision |S| / n). The "
                  "compressed-sensing view predicts magnitude masks (lottery, rewind, oneshot) "
                  "well above chance; claim (d) tests it at the pre-registered sparse round.")))
    return out


# --------------------------------------------------------------------------- figures

def _band_plot(ax, summary, mean_col, sd_col, scale, published=None):
    conds = [c for c in CONDITIONS if c in set(summary["condition"])]
    cmap = {c: f"C{i}" for i, c in enumerate(CONDITIONS)}
    for cond in conds:
        s = summary[summary["condition"] == cond].sort_values("density")
        m = s[mean_col].to_numpy() * scale
        sd = np.nan_to_num(s[sd_col].to_numpy() * scale)
        if cond == "dense":
            ax.axhline(m[0], color=cmap[cond], lw=1.5, ls="--", label="dense")
            ax.axhspan(m[0] - sd[0], m[0] + sd[0], color=cmap[cond], alpha=0.12)
            continue
        x = s["density"].to_numpy()
        ax.plot(x, m, color=cmap[cond], lw=1.3, marker=".", ms=3, label=cond)
        ax.fill_between(x, m - sd, m + sd, color=cmap[cond], alpha=0.15)
    if published:
        for cond, marker in (("lottery", "*"), ("random", "x")):
            xs, ys = [], []
            for sp, pub in PUBLISHED_MNIST1D.items():
                for v in pub[cond]:
                    xs.append(1.0 - sp)
                    ys.append(v)
            ax.scatter(xs, ys, marker=marker, color=cmap[cond], s=50, zorder=5,
                       linewidths=1.0, label=f"{cond} (published)")
    ax.set_xscale("log")
    ax.set_xlabel("density (fraction of weights remaining)")
    ax.grid(alpha=0.3, which="both")


def figures(cells, outdir: Path) -> list[Path]:
    """Accuracy and early-stop iteration against density; support overlap (teacher)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    c = _prep(cells)
    summary = _summary(c)
    dataset = str(_param(c, "dataset"))
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _band_plot(ax, summary, "acc_mean", "acc_sd", 100, published=dataset == "mnist1d")
    ax.set_ylabel("test accuracy (%) after the full budget")
    ax.set_title(f"Lottery tickets ({dataset}): accuracy vs density (mean ± sd over seeds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    p = outdir / "accuracy_vs_density.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(p)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    _band_plot(ax, summary, "es_mean", "es_sd", 1)
    ax.set_ylabel("early-stopping iteration")
    ax.set_title(f"Lottery tickets ({dataset}): iteration of minimum validation loss")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    p = outdir / "early_stop_vs_density.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(p)

    if "support_recall" in c.columns and not c["support_recall"].isna().all():
        import pandas as pd  # noqa: PLC0415
        c["support_recall"] = pd.to_numeric(c["support_recall"], errors="coerce")
        g = c.groupby(["condition", "round"]).agg(
            density=("density", "mean"), m=("support_recall", "mean"),
            sd=("support_recall", "std")).reset_index()
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, cond in enumerate(CONDITIONS):
            s = g[g["condition"] == cond].sort_values("density")
            if cond == "dense" or not len(s):
                continue
            x, m, sd = s["density"].to_numpy(), s["m"].to_numpy(), np.nan_to_num(s["sd"].to_numpy())
            ax.plot(x, m, color=f"C{i}", marker=".", label=cond)
            ax.fill_between(x, m - sd, m + sd, color=f"C{i}", alpha=0.15)
        xs = np.sort(g["density"].unique())
        ax.plot(xs, xs, "k--", lw=1, label="chance (random mask)")
        ax.set_xscale("log")
        ax.set_xlabel("density (fraction of weights remaining)")
        ax.set_ylabel("support recall |M ∩ S| / |S|")
        ax.set_title("Planted teacher: ticket support vs true support")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        p = outdir / "support_overlap_vs_density.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        paths.append(p)
    return paths
