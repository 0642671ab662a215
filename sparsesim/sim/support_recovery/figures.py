"""Figures of the ``support_recovery`` sweep: p against t/σ, planted recovery against μ/σ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ... import stats, theory
from ..._figure import new_figure, save_figure
from .tables import CONFIDENCE

__all__ = ["figures"]


def figures(cells: pd.DataFrame, outdir: Path) -> list[Path]:
    """p against t/σ (log axis) with theory curves and the optimal threshold;
    recovery probability against μ/σ for the planted signal."""
    paths = []
    exact = cells[cells.kind == "exact"]
    if len(exact):
        ds = sorted(exact.d.unique())[:4]
        fig, axes = new_figure(1, len(ds), figsize=(4.2 * len(ds), 3.6), squeeze=False)
        for ax, d in zip(axes[0], ds):
            sub = exact[exact.d == d]
            for i, k in enumerate(sorted(sub.k.unique())):
                color = f"C{i}"
                pts = sub[sub.k == k].sort_values("t_over_sigma")
                sigma = float(pts.sigma.iloc[0])
                a = np.linspace(max(0.05, pts.t_over_sigma.min() * 0.6),
                                pts.t_over_sigma.max() * 1.3, 300)
                ax.plot(a, np.exp(theory.support_recovery_prob(int(d), int(k), a * sigma, sigma,
                                                               log=True)), color=color, lw=1.2,
                        label=f"k={k}")
                est = pts.hits / pts.n_trials
                lo, hi = stats.clopper_pearson(pts.hits.to_numpy(), pts.n_trials.to_numpy(),
                                               confidence=CONFIDENCE)
                ok = est > 0
                ax.errorbar(pts.t_over_sigma[ok], est[ok],
                            yerr=[est[ok] - lo[ok], hi[ok] - est[ok]], fmt="o", ms=3,
                            color=color, capsize=2)
                ax.axvline(float(theory.optimal_threshold(int(d), int(k))), color=color,
                           ls=":", lw=0.8)
            ax.set_yscale("log")
            ax.set_ylim(1e-8, 1.5)  # the curves go on far below what a Monte Carlo can see
            ax.set_title(f"d = {d}")
            ax.set_xlabel("t / σ")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("P(Ŝ = S)")
        axes[0][0].legend(fontsize=8)
        fig.suptitle("Thresholding a Gaussian init: theory (lines), Monte Carlo (99.9% CI), "
                     "optimal t (dotted)", fontsize=9)
        paths.append(save_figure(fig, outdir, "p_vs_threshold.png"))
    planted = cells[cells.kind == "planted"]
    if len(planted):
        fig, ax = new_figure(figsize=(5.5, 3.8))
        for i, ((d, k, rule, scale), pts) in enumerate(
                planted.groupby(["d", "k", "t_rule", "t_scale"])):
            pts = pts.sort_values("mu_over_sigma")
            sigma = float(pts.sigma.iloc[0])
            t = float(pts.t.iloc[0])
            mu = np.linspace(0.0, max(1.0, pts.mu_over_sigma.max() * 1.15), 300)
            color = f"C{i % 10}"
            ax.plot(mu, theory.planted_recovery_prob(int(d), int(k), mu * sigma, t, sigma),
                    color=color, lw=1.2, label=f"d={d}, k={k}, t={scale:g}·{rule}")
            est = pts.hits / pts.n_trials
            lo, hi = stats.clopper_pearson(pts.hits.to_numpy(), pts.n_trials.to_numpy(),
                                           confidence=CONFIDENCE)
            ax.errorbar(pts.mu_over_sigma, est, yerr=[est - lo, hi - est], fmt="o", ms=3,
                        color=color, capsize=2)
            ax.axvline(t / sigma, color=color, ls=":", lw=0.8)
        ax.set_xlabel("μ / σ")
        ax.set_ylabel("P(Ŝ = S)")
        ax.set_title("Planted signal: exact recovery by thresholding (dotted: t/σ)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        paths.append(save_figure(fig, outdir, "planted_recovery.png"))
    return paths
