"""Relative error against density, and sigma_s against s for compressible vectors."""

from __future__ import annotations

import numpy as np

from ... import theory
from ..._figure import new_figure, save_figure

__all__ = ["figures"]


def figures(cells, outdir):
    """Relative error against density (theory curves, measured points) and
    σ_s against s for compressible vectors (log-log, with the bound)."""
    fig, axes = new_figure(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    rho = np.linspace(1e-3, 1.0, 300)
    ax.plot(rho, theory.gaussian_best_k_relative_error(rho), "k-", lw=1.2, label="limit, g = 1")
    for g in sorted(cells[cells.kind == "group"].group_size.unique()):
        ax.plot(rho, theory.group_best_q_relative_error(rho, int(g)), "k--", lw=1.0,
                label=f"limit, groups of {g}")
    for i, ((kind, n), pts) in enumerate(cells[cells.kind != "compressible"]
                                         .groupby(["kind", "n"])):
        ax.errorbar(pts.kept / pts.units, pts.rel_err_mean, yerr=pts.rel_err_stderr, fmt="o",
                    ms=3, color=f"C{i}", label=f"{kind}, n = {n}")
    ax.set_xscale("log")
    ax.set_xlabel("kept fraction ρ")
    ax.set_ylabel("‖w − P(w)‖² / ‖w‖²")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = axes[1]
    comp = cells[cells.kind == "compressible"]
    for i, ((p, n), pts) in enumerate(comp.groupby(["p", "n"])):
        pts = pts.sort_values("kept")
        ax.loglog(pts.kept, pts.sigma_s_max, "o-", ms=3, color=f"C{i}", label=f"p = {p}, n = {n}")
        ax.loglog(pts.kept, pts.bound, ":", color=f"C{i}")
    ax.set_xlabel("s (kept terms)")
    ax.set_ylabel("σ_s(x)₂  (dotted: ‖x‖₁ / 2√s)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.suptitle("Best k-term approximation", fontsize=10)
    return [save_figure(fig, outdir, "best_k_term.png")]
