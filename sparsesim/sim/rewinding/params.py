"""Parameters of the rewinding simulation and their checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import check_choice, check_int, check_real
from ...geometry import MAX_LANCZOS_ITER, MAX_PROBES

__all__ = ["DATASETS", "DATASET_CODE", "DTYPES", "MASK_RULES", "PARAMS", "DEFAULTS",
           "NEUTRAL_DEFAULTS", "full_params", "check_cell", "ticket_round_of"]


DATASETS = ("mnist1d", "teacher")
DATASET_CODE = {"mnist1d": 1, "teacher": 2}
#: ``per_tau``: each rewind point its own IMP chain (rewinding to τ); ``shared``:
#: one mask per seed and density, fixed by an IMP chain that rewinds to no τ
#: (fine-tuning: each round retrains the survivors from their trained values),
#: and shared by every τ.
MASK_RULES = ("per_tau", "shared")

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
    "mask_rule": str,
    "ticket_round": int,
    "claims": str,
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
    "mask_rule": "per_tau",
    "ticket_round": 0,
    "claims": "",
}

#: Parameters added after the first committed runs, at the value those runs
#: used: a cell at these values keeps its old identity (and seeds).
NEUTRAL_DEFAULTS: dict[str, Any] = {"mask_rule": "per_tau", "ticket_round": 0, "claims": ""}

DTYPES = {"float32": np.float32, "float64": np.float64}



def full_params(params: dict) -> dict:
    return {**DEFAULTS, **params}


def check_cell(p: dict) -> dict:
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
    check_choice("dtype", p["dtype"], tuple(DTYPES))
    check_int("teacher_width", p["teacher_width"], low=1)
    check_real("teacher_density", p["teacher_density"], low=0.0, high=1.0, low_open=True)
    check_real("teacher_noise", p["teacher_noise"], low=0.0)
    check_int("n_train", p["n_train"], low=1)
    check_choice("mask_rule", p["mask_rule"], MASK_RULES)
    tr = check_int("ticket_round", p["ticket_round"], low=0, high=p["rounds"])
    if p["mask_rule"] == "per_tau" and tr not in (0, p["rounds"]):
        raise ValueError(f"ticket_round must be 0 (the last round) with mask_rule='per_tau', "
                         f"whose chains end at rounds={p['rounds']}; got {tr}")
    if not isinstance(p["claims"], str):
        raise ValueError(f"claims must be a str (recorded by the sweep); got {p['claims']!r}")
    return p


def ticket_round_of(p: dict) -> int:
    """The IMP round whose mask a cell's ticket uses (``ticket_round``, 0 = the last).

    >>> ticket_round_of({"ticket_round": 0, "rounds": 10}), ticket_round_of({"ticket_round": 4, "rounds": 10})
    (10, 4)
    """
    return int(p["ticket_round"]) or int(p["rounds"])
