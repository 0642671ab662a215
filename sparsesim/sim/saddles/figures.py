"""P(local minimum) against density: simulation and exact law."""

from __future__ import annotations

from pathlib import Path

from ..._figure import new_figure, save_figure
from .cells import DEFAULTS

__all__ = ["figures"]


def figures(cells, outdir: Path) -> list[Path]:
    """P(local min) against density: simulation (markers) and theory (lines)."""
    c = cells.copy()
    for k, v in DEFAULTS.items():
        if k not in c.columns:
            c[k] = v
    panels = [("confined", "random", None)]
    mags = c[(c["geometry"] == "confined") & (c["mask"] == "magnitude")]
    panels += [("confined", "magnitude", s) for s in sorted(mags["off_scale"].unique())]
    panels += [("spread", "random", None)]

    def select(geo, mk, s):
        sel = (c["geometry"] == geo) & (c["mask"] == mk)
        return c[sel & (c["off_scale"] == s)] if s is not None else c[sel]

    panels = [pm for pm in panels if len(select(*pm))]
    if not panels:
        return []
    fig, axes = new_figure(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for ax, (geo, mk, s) in zip(axes[0], panels):
        sub = select(geo, mk, s)
        for i, (key, g) in enumerate(sub.groupby(["d", "n_neg"])):
            g = g.sort_values("density")
            color = f"C{i % 10}"
            ax.plot(g["density"], g["p_local_min"], "o" if geo == "confined" else "o:",
                    ms=4, color=color, label=f"d={key[0]}, n_neg={key[1]}")
            if geo == "confined":
                ax.plot(g["density"], g["p_theory"], "-", color=color, lw=1)
        title = f"{geo} curvature, {mk} masks"
        if s is not None:
            title += f", off_scale={s:g}"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("density ρ (kept fraction)")
        ax.set_ylabel("P(restricted Hessian ⪰ 0)")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=6)
    fig.suptitle("Masks that turn a saddle into a minimum (markers: simulation, solid lines: "
                 "exact law; spread: measured only)")
    return [save_figure(fig, outdir, "local_min_probability.png", dpi=120)]
