"""The sweep contract of the best k-term simulation: parameters and one cell."""

from __future__ import annotations

from typing import Any

from ..._validation import check_choice
from ...sparsity import keep_count
from .. import Invalid
from .engine import SIGNAL_KINDS, best_k_term_error

__all__ = ["PARAMS", "DEFAULTS", "valid_cell", "run_trials", "caps", "run_cell"]


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


def valid_cell(params: dict) -> bool | Invalid:
    """Keep the meaningful combinations of the cartesian grid (else say why not).

    Unknown ``kind`` raises ``ValueError``.  Dropped: ``p > 0`` unless
    ``kind == "compressible"`` (which needs ``p > 0``); ``group_size > 1``
    unless ``kind == "group"`` (which needs ``group_size > 1`` dividing
    ``n``); compressible cells that keep no entry.

    Examples
    --------
    >>> valid_cell({"kind": "gaussian", "n": 100, "density": 0.1, "trials": 10})
    True
    >>> valid_cell({"kind": "gaussian", "n": 100, "density": 0.1, "trials": 10, "p": 1.0})
    Invalid('p > 0 applies to compressible vectors only')
    """
    c = dict(DEFAULTS, **params)
    check_choice("kind", c["kind"], SIGNAL_KINDS)
    kind, n, p, g = c["kind"], c["n"], c["p"], c["group_size"]
    if n < 1 or c["trials"] < 1 or not 0.0 <= c["density"] <= 1.0 or g < 1 or p < 0:
        return Invalid("out of range: needs n >= 1, trials >= 1, 0 <= density <= 1, "
                       "group_size >= 1, p >= 0")
    if (kind == "compressible") != (p > 0):
        return Invalid("p > 0 applies to compressible vectors only" if p > 0 else
                       "compressible vectors need p > 0")
    if (kind == "group") != (g > 1):
        return Invalid("group_size > 1 applies to group cells only" if g > 1 else
                       "group cells need group_size > 1")
    if kind == "group" and n % g:
        return Invalid("group_size does not divide n")
    if kind == "compressible" and keep_count(c["density"], n) < 1:
        return Invalid("density keeps no entry of n")
    return True


def run_trials(params: dict) -> int:
    """The vectors a cell runs: ``trials``, capped at ``max_samples // n`` (when > 0).

    >>> run_trials({"trials": 20000, "n": 10000, "max_samples": 2**22})
    419
    """
    c = dict(DEFAULTS, **params)
    trials = c["trials"]
    if c["max_samples"] > 0:
        trials = max(1, min(trials, c["max_samples"] // c["n"]))
    return trials


def caps(params: dict) -> dict:
    """The capped parameters of a cell (the sweep states them; see :class:`Simulation`).

    >>> caps({"trials": 20000, "n": 10000, "max_samples": 2**22})
    {'trials': (419, 'max_samples // n')}
    >>> caps({"trials": 20, "n": 10000, "max_samples": 2**22})
    {}
    """
    run = run_trials(params)
    return {"trials": (run, "max_samples // n")} if run != params["trials"] else {}


def run_cell(params: dict, ctx: Any) -> dict:
    """One sweep cell -> one row: relative-error summary (and the bound ratio).

    Columns: ``n_trials``, ``units``, ``kept``, ``rel_err_mean``, ``rel_err_sd``,
    ``rel_err_stderr``, ``rel_err_min``, ``rel_err_max``; for compressible
    cells also ``sigma_s_mean``, ``sigma_s_max``, ``sigma_s_sorted``, ``bound``,
    ``ratio_mean``, ``ratio_max`` (NaN for the other kinds).
    """
    c = dict(DEFAULTS, **params)
    trials = run_trials(c)
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
