"""Theory tables: measured relative errors against the exact finite-n mean and the limits."""

from __future__ import annotations

import numpy as np

from ... import theory
from ..._table import TheoryTable
from .engine import expected_relative_error

__all__ = ["tables"]


def tables(cells):
    """Theory tables: Gaussian and group relative error against the exact finite-n mean
    (z-tests), compressible σ_s against its exact value and the bound ‖x‖₁/(2√s)
    (identities)."""
    import pandas as pd  # noqa: PLC0415
    from scipy import stats  # noqa: PLC0415


    out = []
    for kind, title in (("gaussian", "Gaussian vectors: best k-term relative error"),
                        ("group", "Group (structured) projection: relative error")):
        sub = cells[cells.kind == kind]
        if not len(sub):
            continue
        kept_frac = (sub.kept / sub.units).to_numpy()
        if kind == "gaussian":
            limit = theory.gaussian_best_k_relative_error(kept_frac)
        else:
            limit = theory.group_best_q_relative_error(kept_frac, sub.group_size.to_numpy())
        g = sub.group_size.to_numpy() if kind == "group" else np.ones(len(sub), dtype=int)
        units = sub.units.to_numpy()
        exact = np.array([expected_relative_error(int(u), int(k), int(gg))
                          for u, k, gg in zip(units, sub.kept.to_numpy(), g)])
        measured = sub.rel_err_mean.to_numpy()
        stderr = sub.rel_err_stderr.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (measured - exact) / stderr
        # Every vector has the same ratio when nothing or everything is kept: identities.
        sure = stderr == 0
        pval = np.where(sure, np.nan, 2.0 * stats.norm.sf(np.abs(z)))
        frame = pd.DataFrame({
            "n": sub.n.to_numpy(), **({"g": g} if kind == "group" else {}),
            "density": sub.density.to_numpy(), "kept": sub.kept.to_numpy(),
            "vectors": sub.n_trials.to_numpy(), "measured": measured,
            "stderr": stderr, "exact (finite n)": exact, "z": np.where(sure, np.nan, z),
            "p_value": pval, "limit theory": limit,
            "finite-size bias × units": (exact - limit) * units,
            "kind": np.where(sure, "identity", "test"),
            "holds": [bool(abs(m - e) <= 1e-12) if s_ else None
                      for m, e, s_ in zip(measured, exact, sure)]})
        note = ("Measured: mean of ‖w − P(w)‖²/‖w‖² over the vectors (real projections). "
                "Exact (finite n): E[energy dropped]/n, one quadrature "
                "(`expected_relative_error`: the ratio is independent of ‖w‖²). p_value: "
                "two-sided z-test (CLT) of the Monte Carlo mean against it, with the Monte "
                "Carlo standard error: Holm across the file decides, so the tolerance is the "
                "standard error at the family's α. Limit theory at ρ = kept/units: "
                + ("1 − [2Φ̄(a) + 2aφ(a)], a = Φ⁻¹(1 − ρ/2)" if kind == "gaussian" else
                   "χ²_{g+2}.cdf(χ²_g.isf(ρ)) (energy above the χ²_g quantile)")
                + ", exact as units → ∞; `finite-size bias × units` shows the gap is O(1/units). "
                "Rows keeping no unit (ratio 1 for every vector) are identities.")
        out.append(TheoryTable(title, frame, p_col="p_value", agree_col="holds", kind="test",
                               kind_col="kind", tolerance="1e-12 absolute",
                               test="two-sided z-test (CLT) against the exact finite-n mean",
                               note=note))
    sub = cells[cells.kind == "compressible"]
    if len(sub):
        exact = theory.power_law_best_k_error(sub.n.to_numpy(), sub.kept.to_numpy(),
                                              sub.p.to_numpy())
        measured = sub.sigma_s_max.to_numpy()
        rel = abs(measured - exact) / exact
        frame = pd.DataFrame({
            "n": sub.n.to_numpy(), "p": sub.p.to_numpy(), "s": sub.kept.to_numpy(),
            "σ_s measured (max over vectors)": measured, "σ_s exact": exact,
            "rel. diff": rel, "bound ‖x‖₁/(2√s)": sub.bound.to_numpy(),
            "max ratio σ_s/bound": sub.ratio_max.to_numpy(),
            "rate s^(1/2−1/p)": theory.power_law_best_k_rate(sub.kept.to_numpy(),
                                                             sub.p.to_numpy()),
            "ok": (rel <= 1e-9) & (sub.ratio_max.to_numpy() <= 1.0)})
        out.append(TheoryTable.identities(
            "Compressible vectors |x|₍ᵢ₎ = i^(−1/p): best s-term error", frame, holds_col="ok",
            tolerance="1e-9 relative; the bound exactly",
            note="Magnitudes are deterministic (random order and signs), so the measured "
                 "σ_s(x)₂ of `best_k_term` must equal the exact tail sum to 1e-9 and never "
                 "exceed the bound σ_s(x)₂ ≤ ‖x‖₁/(2√s)."))
    return out
