"""The sweep contract of the best k-term simulation: parameters and one cell."""

from __future__ import annotations

from typing import Any

from ..._validation import check_choice
from ...sparsity import keep_count
from .engine import KINDS, best_k_term_error

__all__ = ["PARAMS", "DEFAULTS", "valid_cell", "run_cell"]


#: Parameters of a ``sims/best_k_term.toml`` cell.  ``p = 0`` and
#: ``group_size = 1`` mean "not applicable" (see :func:`valid_cell`).
PARAMS: dict[str, type] = {
    "kind": str,           # "gaussian" | "compressible" | "group"
    "n": int,
    "density": float,
    "p": float,            # compressible only (> 0); 0 otherwise
    "group_size": int,     # group only (> 1); 1 otherwise
    "trials": int,
    "max_samples": int,    # cap on trials * n per cell (0: no cap)
}
DEFAULTS: dict[str, Any] = {"p": 0.0, "group_size": 1, "max_samples": 0}


def valid_cell(params: dict) -> bool:
    """Keep the meaningful combinations of the cartesian grid.

    Unknown ``kind`` raises ``ValueError``.  Dropped: ``p > 0`` unless
    ``kind == "compressible"`` (which needs ``p > 0``); ``group_size > 1``
    unless ``kind == "group"`` (which needs ``group_size > 1`` dividing
    ``n``); compressible cells that keep no entry.

    Examples
    --------
    >>> valid_cell({"kind": "gaussian", "n": 100, "density": 0.1, "trials": 10})
    True
    >>> valid_cell({"kind": "gaussian", "n": 100, "density": 0.1, "trials": 10, "p": 1.0})
    False
    """
    c = dict(DEFAULTS, **params)
    check_choice("kind", c["kind"], KINDS)
    kind, n, p, g = c["kind"], c["n"], c["p"], c["group_size"]
    if n < 1 or c["trials"] < 1 or not 0.0 <= c["density"] <= 1.0 or g < 1 or p < 0:
        return False
    if (kind == "compressible") != (p > 0) or (kind == "group") != (g > 1):
        return False
    if kind == "group" and n % g:
        return False
    if kind == "compressible" and keep_count(c["density"], n) < 1:
        return False
    return True


def run_cell(params: dict, ctx: Any) -> dict:
    """One sweep cell -> one row: relative-error summary (and the bound ratio).

    Columns: ``n_trials``, ``units``, ``kept``, ``rel_err_mean``, ``rel_err_sd``,
    ``rel_err_stderr``, ``rel_err_min``, ``rel_err_max``; for compressible
    cells also ``sigma_s_mean``, ``sigma_s_max``, ``sigma_s_sorted``, ``bound``,
    ``ratio_mean``, ``ratio_max`` (NaN for the other kinds).
    """
    c = dict(DEFAULTS, **params)
    trials = c["trials"]
    if c["max_samples"] > 0:
        trials = max(1, min(trials, c["max_samples"] // c["n"]))
    kind = c["kind"]
    r = best_k_term_error(kind, c["n"], c["density"], trials=trials, seed=ctx.seed,
                          backend=ctx.backend, p=c["p"] if kind == "compressible" else None,
                          group_size=c["group_size"] if kind == "group" else None)
    nan = float("nan")

    def opt(v):
        return nan if v is None else float(v)

    return {
        "n_trials": r.trials, "units": r.units, "kept": r.kept,
        "rel_err_mean": r.mean, "rel_err_sd": r.sd, "rel_err_stderr": r.stderr,
        "rel_err_min": r.min, "rel_err_max": r.max,
        "sigma_s_mean": opt(r.sigma_s_mean), "sigma_s_max": opt(r.sigma_s_max),
        "sigma_s_sorted": opt(r.sigma_s_sorted), "bound": opt(r.bound),
        "ratio_mean": opt(r.ratio_mean), "ratio_max": opt(r.ratio_max),
    }
