"""Geometry and ticket quality against tau; the LMC barrier against tau."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ..._figure import new_figure, save_figure
from .tables import _groups, _label, aggregate

__all__ = ["figures"]



def figures(cells, outdir: Path) -> list[Path]:
    """Geometry and ticket quality against τ; LMC barrier against τ."""
    f = aggregate(cells)
    xs = lambda g: np.maximum(g["tau"].to_numpy(dtype=float), 0.5)  # noqa: E731 - log axis
    fig, axes = new_figure(1, 4, figsize=(18, 4))
    twin = axes[1].twinx()
    for i, (key, g) in enumerate(f.groupby(_groups(f))):
        x, c, ds = xs(g), f"C{i}", _label(key)
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
    p1 = save_figure(fig, outdir, "rewinding_geometry.png", dpi=120)

    fig, ax1 = new_figure(figsize=(6, 4))
    ax2 = ax1.twinx()
    for i, (key, g) in enumerate(f.groupby(_groups(f))):
        x, c, ds = xs(g), f"C{i}", _label(key)
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
    p2 = save_figure(fig, outdir, "rewinding_lmc.png", dpi=120)
    return [p1, p2]
