"""Accuracy and early-stopping iteration against density; support overlap (teacher)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..._figure import new_figure, save_figure
from ...nn.lottery import condition_names, ordered_conditions
from .published import PUBLISHED_MNIST1D
from .summary import param_of, prep_cells, summarize

__all__ = ["figures"]



def _band_plot(ax, summary, mean_col, sd_col, scale, published=None):
    conds = ordered_conditions(summary["condition"])
    cmap = {c: f"C{i}" for i, c in enumerate(ordered_conditions({*condition_names(), *conds}))}
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
    """Accuracy and early-stop iteration against density (the latter only with a validation
    split); support overlap (teacher)."""
    c = prep_cells(cells)
    summary = summarize(c)
    dataset = str(param_of(c, "dataset"))
    paths = []
    fig, ax = new_figure(figsize=(7, 4.5))
    _band_plot(ax, summary, "acc_mean", "acc_sd", 100, published=dataset == "mnist1d")
    ax.set_ylabel("test accuracy (%) after the full budget")
    ax.set_title(f"Lottery tickets ({dataset}): accuracy vs density (mean ± sd over seeds)")
    ax.legend(fontsize=7, ncol=2)
    paths.append(save_figure(fig, outdir, "accuracy_vs_density.png", dpi=120))

    # without a validation split there is no validation loss: every run reads its last
    # step, and a figure of that constant would be titled with a quantity never measured
    if int(float(param_of(c, "n_validation") or 0)) > 0:
        fig, ax = new_figure(figsize=(7, 4.5))
        _band_plot(ax, summary, "es_mean", "es_sd", 1)
        ax.set_ylabel("early-stopping iteration")
        ax.set_title(f"Lottery tickets ({dataset}): iteration of minimum validation loss")
        ax.legend(fontsize=7, ncol=2)
        paths.append(save_figure(fig, outdir, "early_stop_vs_density.png", dpi=120))

    if "support_recall" in c.columns and not c["support_recall"].isna().all():
        import pandas as pd  # noqa: PLC0415
        c["support_recall"] = pd.to_numeric(c["support_recall"], errors="coerce")
        g = c.groupby(["condition", "round"]).agg(
            density=("density", "mean"), m=("support_recall", "mean"),
            sd=("support_recall", "std")).reset_index()
        fig, ax = new_figure(figsize=(7, 4.5))
        for i, cond in enumerate(ordered_conditions({*condition_names(), *g["condition"]})):
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
        paths.append(save_figure(fig, outdir, "support_overlap_vs_density.png", dpi=120))
    return paths
