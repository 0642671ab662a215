"""The sweep contract of the masked-Hessian saddles simulation: parameters and one cell."""

from __future__ import annotations

import math
from typing import Any

from ... import stats
from ...sparsity import keep_count
from .engine import local_min_theory, simulate_saddles

__all__ = ["PARAMS", "DEFAULTS", "valid_cell", "run_cell", "binom_p_value"]

PARAMS: dict[str, type] = {
    "d": int,
    "n_neg": int,
    "density": float,
    "geometry": str,
    "mask": str,
    "off_scale": float,
    "neg_strength": float,
    "trials": int,
    "tol": float,
}

DEFAULTS: dict[str, Any] = {
    "geometry": "confined",
    "mask": "random",
    "off_scale": 1.0,
    "neg_strength": 1.0,
    "tol": 1e-9,
}


def _cell(params: dict) -> dict:
    return {**DEFAULTS, **params}


def valid_cell(params: dict) -> bool:
    """Drop impossible or duplicate cells.

    Dropped: ``n_neg > d``; densities keeping no coordinate; magnitude masks
    with the spread geometry; random masks with ``off_scale != 1`` (the planted
    weights play no role there, so those cells would repeat ``off_scale = 1``).
    """
    p = _cell(params)
    if p["n_neg"] > p["d"] or not (0.0 < p["density"] <= 1.0):
        return False
    if keep_count(p["density"], p["d"]) < 1:
        return False
    if p["geometry"] == "spread" and p["mask"] == "magnitude":
        return False
    if p["mask"] == "random" and p["off_scale"] != 1.0:
        return False
    return True


def binom_p_value(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value of ``k`` in ``n`` against ``p``; NaN when ``p`` is NaN.

    ``p = 0`` and ``p = 1`` are decided exactly (:func:`sparsesim.stats.binom_test_two_sided`);
    a NaN ``p`` (no exact law, the spread geometry) has no test.

    Examples
    --------
    >>> binom_p_value(0, 10, 0.0), binom_p_value(3, 10, float("nan"))
    (1.0, nan)
    """
    if math.isnan(p):
        return float("nan")
    return float(stats.binom_test_two_sided(k, n, p))


def run_cell(params: dict, ctx) -> dict:
    """One cell of ``sims/masked_hessian_saddles.toml`` -> one row."""
    p = _cell(params)
    r = simulate_saddles(p["d"], p["n_neg"], p["density"], geometry=p["geometry"],
                         mask=p["mask"], off_scale=p["off_scale"],
                         neg_strength=p["neg_strength"], trials=p["trials"], tol=p["tol"],
                         seed=ctx.seed, backend=ctx.backend)
    trials = p["trials"]
    theory = local_min_theory(p["d"], p["n_neg"], r["m"], p["geometry"], p["mask"],
                              p["off_scale"])
    ci_low, ci_high = stats.clopper_pearson(r["n_local_min"], trials, confidence=0.95)
    row = dict(r)
    row.update({
        "p_local_min": r["n_local_min"] / trials,
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_theory": theory,
        "p_value": binom_p_value(r["n_local_min"], trials, theory),
    })
    return row
