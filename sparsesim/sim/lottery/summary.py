"""Per-round summaries of lottery cells, shared by the tables and the figures."""

from __future__ import annotations

import math

import numpy as np

from ...nn.lottery import ordered_conditions
from .cells import DEFAULTS
from .published import PUBLISHED_MNIST1D

__all__ = ["prep_cells", "param_of", "summarize", "fmt_pm", "table_rounds", "pivot_rounds",
           "cond_at"]



def prep_cells(cells):
    import pandas as pd  # noqa: PLC0415
    c = cells.copy()
    for k, v in DEFAULTS.items():
        if k not in c.columns:
            c[k] = v
    for col in ("test_accuracy", "test_accuracy_early_stop", "early_stop_iter", "density"):
        c[col] = pd.to_numeric(c[col], errors="coerce")
    return c


def param_of(c, key):
    """The (first) value of a parameter column; the default when absent or empty."""
    if key in c.columns and len(c):
        val = c[key].iloc[0]
        if not (isinstance(val, float) and math.isnan(val)):
            return val
        return ""            # an empty string parameter reads back from CSV as NaN
    return DEFAULTS.get(key, "")


def summarize(c):
    """Mean, sd and count over seeds per (condition, round)."""
    g = c.groupby(["condition", "round"], sort=True)
    s = g.agg(density=("density", "mean"),
              n_seeds=("seed", "nunique"),
              acc_mean=("test_accuracy", "mean"), acc_sd=("test_accuracy", "std"),
              acc_es_mean=("test_accuracy_early_stop", "mean"),
              acc_es_sd=("test_accuracy_early_stop", "std"),
              es_mean=("early_stop_iter", "mean"), es_sd=("early_stop_iter", "std"))
    return s.reset_index()


def fmt_pm(mean, sd, scale=1.0, digits=1):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {sd * scale:.{digits}f}"


def table_rounds(summary, max_rows: int = 24) -> list[int]:
    """Rounds shown in the per-density tables (all, or a log-spaced selection)."""
    rounds = sorted(int(r) for r in summary["round"].unique())
    if len(rounds) <= max_rows:
        return rounds
    dens = summary.groupby("round")["density"].mean()
    wanted = set(np.geomspace(dens.min(), 1.0, max_rows - len(PUBLISHED_MNIST1D)))
    wanted |= {1.0 - s for s in PUBLISHED_MNIST1D}
    pick = {int((dens - w).abs().idxmin()) for w in wanted}
    return sorted(pick)


def pivot_rounds(summary, rounds, mean_col, sd_col, scale, digits):
    import pandas as pd  # noqa: PLC0415
    conds = ordered_conditions(summary["condition"])
    dens = summary.groupby("round")["density"].mean()
    rows = []
    dense = summary[summary["condition"] == "dense"]
    for r in rounds:
        row = {"round": r, "density": float(dens.get(r, np.nan))}
        for cond in conds:
            sub = summary[(summary["condition"] == cond) & (summary["round"] == r)]
            if cond == "dense" and r != 0:
                sub = dense
            row[cond] = (fmt_pm(float(sub[mean_col].iloc[0]), float(sub[sd_col].iloc[0]),
                             scale, digits) if len(sub) else "—")
        rows.append(row)
    return pd.DataFrame(rows)


def cond_at(summary, cond, r):
    sub = summary[(summary["condition"] == cond) & (summary["round"] == r)]
    return None if not len(sub) else sub.iloc[0]
