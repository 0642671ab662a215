"""The spectrum of each saddle before and after masking (negative part), by density."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..._figure import new_figure, save_figure

__all__ = ["figures"]


def figures(cells, outdir: Path) -> list[Path]:
    """Negative eigenvalues and ``λ_min`` of ``H(w*)`` against those of ``H(w*)[S, S]``.

    One point per saddle and density, for the magnitude mask and the random
    mask of the same layerwise density, at the saddles of trained networks (the
    embedded saddles, a positive control, are left out); a point on or above
    the zero line of the right panel is a saddle the mask turned into a
    minimum of the confined landscape.
    """
    s = cells[cells["is_saddle"].astype(bool)] if "is_saddle" in cells else cells.iloc[:0]
    if "source" in s:
        s = s[s["source"] == "trained"]   # embedded saddles are the code path's positive control
    if s.empty:
        return []
    fig, axes = new_figure(1, 2, figsize=(11, 4))
    dens = sorted(s["density"].unique(), reverse=True)
    for j, (kind, marker) in enumerate((("magnitude", "o"), ("random", "x"))):
        for i, d in enumerate(dens):
            g = s[s["density"] == d]
            axes[0].scatter(g["n_negative"], g[f"{kind}_n_negative"], marker=marker, s=18,
                            color=f"C{i}", label=f"{kind}, density {d:g}")
            axes[1].scatter(g["lambda_min"], g[f"{kind}_lambda_min"], marker=marker, s=18,
                            color=f"C{i}", label=f"{kind}, density {d:g}")
    top = float(np.nanmax(s["n_negative"])) if len(s) else 1.0
    axes[0].plot([0, top], [0, top], "k:", lw=0.8, label="no change")
    lo = float(np.nanmin(s["lambda_min"]))
    axes[1].plot([lo, 0], [lo, 0], "k:", lw=0.8, label="no change")
    axes[1].axhline(0.0, color="k", lw=0.6)
    axes[0].set_xlabel("negative eigenvalues of H(w*)")
    axes[0].set_ylabel("negative eigenvalues of H(w*)[S, S]")
    axes[0].set_title("Trained saddles: negative curvature before and after masking")
    axes[1].set_xlabel("λ_min of H(w*)")
    axes[1].set_ylabel("λ_min of H(w*)[S, S]")
    axes[1].set_title("A point on the zero line: saddle turned into a minimum")
    for ax in axes:
        ax.legend(fontsize=6)
    return [save_figure(fig, outdir, "mlp_saddles_spectrum.png", dpi=120)]
