"""The sweep contract of the rewinding simulation: one batch of cells per configuration."""

from __future__ import annotations
from .engine import rewinding_study
from .params import check_cell, full_params
from .shared import shared_mask_study

__all__ = ["valid_cell", "batch_key", "run_cells", "run_cell"]






def valid_cell(params: dict) -> bool:
    """Every cell is kept; a ``tau`` beyond the training budget raises ``ValueError``."""
    check_cell(full_params(params))
    return True


def _batched(p: dict) -> tuple[str, ...]:
    """The parameters that vary inside one batch."""
    if p["mask_rule"] == "shared":
        return ("tau", "ticket_round")
    return ("seed", "tau")


def batch_key(params: dict) -> tuple:
    """The cells of one batch: with ``mask_rule = "per_tau"`` those differing only in
    ``seed`` and ``tau`` (one dense run per seed, one IMP chain per ticket);
    with ``"shared"`` one seed's cells of any ``tau`` and ``ticket_round`` (one
    dense run and one fine-tuning IMP chain), so seeds run in parallel."""
    p = full_params(params)
    return tuple(sorted((k, v) for k, v in p.items() if k not in _batched(p)))


def run_cells(params_list: list[dict], ctxs: list) -> list[dict]:
    """All cells of one batch (same configuration, any seeds and rewind points).

    A round log in the context (``ctx.rounds``, given by the sweep) journals
    every IMP round of the batch, so an interrupted batch resumes after its
    last finished round (see :func:`rewinding_study`).
    """
    p0 = full_params(params_list[0])
    key = batch_key(p0)
    for q in params_list[1:]:
        if batch_key(q) != key:
            raise ValueError(f"run_cells needs cells that differ only in "
                             f"{' and '.join(_batched(p0))} (group them with batch_key)")
    ctx = ctxs[0]
    if p0["mask_rule"] == "shared":
        return shared_mask_study(p0, [q["seed"] for q in params_list],
                                 [q["tau"] for q in params_list],
                                 [full_params(q)["ticket_round"] for q in params_list],
                                 sweep_seed=ctx.sweep_seed, backend=ctx.backend,
                                 progress=getattr(ctx, "progress", None),
                                 rounds=getattr(ctx, "rounds", None))
    return rewinding_study(p0, [q["seed"] for q in params_list], [q["tau"] for q in params_list],
                           sweep_seed=ctx.sweep_seed, backend=ctx.backend,
                           progress=getattr(ctx, "progress", None),
                           rounds=getattr(ctx, "rounds", None))


def run_cell(params: dict, ctx) -> dict:
    """One cell (one seed, one rewind point) -> one row (see :func:`rewinding_study`)."""
    return run_cells([params], [ctx])[0]
