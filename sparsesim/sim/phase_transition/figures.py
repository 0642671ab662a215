"""Phase diagrams: success probability over (delta, rho), per algorithm."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import theory
from .engine import ALGORITHMS
from .tables import transitions

__all__ = ["figures", "phase_diagram"]


def phase_diagram(cells, nonzeros: str):
    """A :class:`matplotlib.figure.Figure`: one panel per algorithm run with ``nonzeros``.

    Each panel shows the measured success rate of every cell (colour), the
    l1 weak threshold ``rho_W(delta)`` (black line) and the algorithm's
    empirical 50 % transition with its 95 % interval (white points).
    """
    from matplotlib.figure import Figure  # noqa: PLC0415


    sub = cells[cells.nonzeros == nonzeros]
    algs = [a for a in ALGORITHMS if a in set(sub.algorithm)]
    tr = transitions(sub)
    fig = Figure(figsize=(3.2 * max(1, len(algs)), 3.4))
    axes = fig.subplots(1, max(1, len(algs)), squeeze=False)[0]
    grid = np.linspace(1e-3, 1.0, 300)
    rho_w = theory.l1_phase_transition(grid)
    mappable = None
    for ax, alg in zip(axes, algs):
        c = sub[sub.algorithm == alg]
        mappable = ax.scatter(c.delta, c.k / c.m, c=c.success_rate, cmap="viridis", vmin=0,
                              vmax=1, marker="s", s=22, linewidths=0)
        ax.plot(grid, rho_w, "k-", lw=1.2, label="ρ_W(δ) (ℓ1 theory)")
        t = tr[(tr.algorithm == alg) & tr.fitted]
        for i, (dval, td) in enumerate(t.groupby("d", sort=True)):   # one curve per d
            ax.errorbar(td.delta, td.rho_hat, yerr=[td.rho_hat - td.ci_lo, td.ci_hi - td.rho_hat],
                        fmt="os^Dv"[i % 5] + "-", color="white", mec="k", ms=4, lw=1,
                        label=f"empirical 50 %, d = {dval}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{alg} ({nonzeros} nonzeros, d = {', '.join(map(str, sorted(set(c.d))))})",
                     fontsize=8)
        ax.set_xlabel("δ = m/d")
        ax.grid(alpha=0.2)
    axes[0].set_ylabel("ρ = k/m")
    axes[0].legend(fontsize=6, loc="upper left")
    if mappable is not None:
        fig.colorbar(mappable, ax=list(axes), shrink=0.8, label="P(success)")
    return fig


def figures(cells, outdir) -> list[Path]:
    """``phase_transition_<nonzeros>.png`` for each distribution of the nonzeros."""
    outdir = Path(outdir)
    paths = []
    for nz in sorted(set(cells.nonzeros)):
        fig = phase_diagram(cells, nz)
        path = outdir / f"phase_transition_{nz}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
