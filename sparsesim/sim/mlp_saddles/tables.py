"""Tables: the critical points reached, the identities, the pre-registered claim."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from ..._table import TheoryTable

__all__ = ["tables", "mcnemar_one_sided", "claim_frame", "point_frame"]


def mcnemar_one_sided(b: int, c: int) -> tuple[float, float]:
    """Exact one-sided McNemar (sign) tests: ``(P(X >= b), P(X >= c))``, ``X ~ Bin(b+c, ½)``.

    ``b``: pairs where only the first condition succeeded, ``c``: only the
    second.  No discordant pair gives ``(1.0, 1.0)``.

    >>> mcnemar_one_sided(6, 0)
    (0.015625, 1.0)
    >>> mcnemar_one_sided(0, 0)
    (1.0, 1.0)
    """
    n = int(b) + int(c)
    if n == 0:
        return 1.0, 1.0
    return float(sps.binom.sf(int(b) - 1, n, 0.5)), float(sps.binom.sf(int(c) - 1, n, 0.5))


def point_frame(cells):
    """One row per critical point (the density-independent columns)."""
    cols = ["source", "seed", "start_step", "classification", "grad_norm", "newton_step_ratio",
            "lambda_min", "lambda_max", "n_negative", "grad_flat_fraction",
            "neg_mass_on_biases", "loss",
            "distance_moved", "newton_steps", "lanczos_agree"]
    return (cells.drop_duplicates(["source", "seed", "start_step"])[cols]
            .sort_values(["source", "seed", "start_step"]).reset_index(drop=True))


def claim_frame(cells):
    """Per source and density, over the saddles: paired counts and the exact McNemar test."""
    import pandas as pd  # noqa: PLC0415

    sad = cells[cells["is_saddle"].astype(bool)]
    rows = []
    for src, d in _groups(cells):
        g = sad[(sad["source"] == src) & (sad["density"] == d)]
        mag = g["magnitude_is_min"].astype(bool).to_numpy()
        rnd = g["random_is_min"].astype(bool).to_numpy()
        b, c = int((mag & ~rnd).sum()), int((~mag & rnd).sum())
        p_claim, p_opp = mcnemar_one_sided(b, c)
        n = len(g)
        rows.append({
            "source": src, "density": float(d), "saddles": n,
            "minima_magnitude": int(mag.sum()), "minima_random": int(rnd.sum()),
            "only_magnitude": b, "only_random": c,
            "p_claim": p_claim if n else np.nan, "p_opposite": p_opp if n else np.nan,
            "kind": "claim" if n else "not testable: no saddle was found",
        })
    return pd.DataFrame(rows)


def _groups(cells):
    return [(src, d) for src in sorted(cells["source"].unique())
            for d in sorted(cells["density"].unique(), reverse=True)]


def _means(cells):
    import pandas as pd  # noqa: PLC0415

    sad = cells[cells["is_saddle"].astype(bool)]
    rows = []
    for src, d in _groups(cells):
        g = sad[(sad["source"] == src) & (sad["density"] == d)]
        row = {"source": src, "density": float(d), "saddles": len(g)}
        for kind in ("magnitude", "random"):
            row[f"{kind}_lambda_min"] = float(g[f"{kind}_lambda_min"].mean()) if len(g) else np.nan
            row[f"{kind}_n_negative"] = float(g[f"{kind}_n_negative"].mean()) if len(g) else np.nan
            row[f"{kind}_neg_mass_pruned"] = (float(g[f"{kind}_neg_mass_pruned"].mean())
                                              if len(g) else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def tables(cells):
    """Critical points, identities (Lanczos vs dense, interlacing), the claim, mean spectra."""
    import pandas as pd  # noqa: PLC0415

    pts = point_frame(cells)
    n_sad = int((pts["classification"] == "saddle").sum())
    ident = pd.DataFrame([{
        "check": "Lanczos λ_min, λ_max of H = dense eigh (1e-6 relative)",
        "cases": len(pts), "failures": int((~pts["lanczos_agree"].astype(bool)).sum())},
        {"check": "interlacing λ_min(H[S,S]) ≥ λ_min(H), both mask kinds, every density",
         "cases": 2 * len(cells),
         "failures": int((~cells["magnitude_interlacing_ok"].astype(bool)).sum()
                         + (~cells["random_interlacing_ok"].astype(bool)).sum())}])
    ident["holds"] = ident["failures"] == 0
    return [
        TheoryTable.descriptive(
            f"Critical points reached by Newton-MR ({n_sad} saddles of {len(pts)} points)", pts,
            note=("source = trained: Kaiming init of replicate `seed`, then `start_step` "
                  "full-batch heavy-ball steps; source = embedded: a minimum of the network one "
                  "unit narrower in its first hidden layer (L-BFGS) with a zero unit added (a "
                  "symmetry-induced critical point, Fukumizu & Amari 2000). Both refined by "
                  "Newton-MR on ½‖∇L‖² (MINRES steps, Armijo line "
                  "search), L = cross-entropy on the fixed examples + (weight_decay/2)‖θ‖², "
                  "tanh MLP, float64. Dense Hessian from Hessian-vector products, eigh. "
                  "Rule (sparsesim.geometry.classify_critical_point): τ = curvature_rtol·max|λ|; "
                  "critical when newton_step_ratio = ‖∇L‖ / (max(|λ_min|, τ)·ℓ) ≤ step_rtol "
                  "with ℓ = ‖θ‖/√dim; saddle when also λ_min < −τ. n_negative counts "
                  "eigenvalues < −τ; grad_flat_fraction: share of ‖∇L‖² on eigenvectors with |λ| ≤ τ "
                  "(near 1: a gradient-flat point, where ∇L ≠ 0 lies in H's near-null space "
                  "and Newton-type methods stall; Frye et al. 2021); neg_mass_on_biases: mean over the negative eigenvectors "
                  "of their squared mass on bias coordinates (never pruned).")),
        TheoryTable.identities(
            "Exact checks at every critical point", ident, holds_col="holds",
            tolerance="1e-6 relative (Lanczos); 1e-9 relative (interlacing)",
            note=("Lanczos (ARPACK, on the Hessian-vector product) against the dense "
                  "eigendecomposition; Cauchy interlacing for every restricted Hessian.")),
        TheoryTable.claims(
            "Claim: magnitude masks turn saddles into minima more often than random masks",
            claim_frame(cells), kind_col="kind",
            test="exact one-sided McNemar (sign) test on the discordant saddles",
            note=("Pre-registered in sparsesim/sims/mlp_saddles.toml (the fixed `densities`): at each "
                  "saddle w*, the Hessian restricted to the kept coordinates, H(w*)[S, S], with "
                  "the pruned coordinates held at their values in w* (not zeroed). The saddle "
                  "becomes a local minimum of the confined landscape when λ_min(H[S,S]) ≥ −τ "
                  "(its gradient there is the restricted gradient, ≈ 0). Masks keep the same "
                  "number of weights per layer and all biases: magnitude (largest |w*|) and "
                  "uniform random. only_magnitude / only_random: saddles where only that mask "
                  "gives a minimum (the discordant pairs). Zeroing the pruned weights instead "
                  "(w*⊙m) moves the point: w*⊙m is not a critical point of the confined "
                  "landscape, so its Hessian says nothing about a saddle becoming a minimum. "
                  "Judged separately per source: an embedded saddle's negative curvature sits on "
                  "the added unit, whose weights are 0 — magnitude pruning removes them first, so "
                  "for that source the claim holds by construction (a positive control of the "
                  "code path, not evidence for C10); the trained source is the test.")),
        TheoryTable.descriptive(
            "Restricted spectra at the saddles (means over saddles)", _means(cells),
            note=("λ_min and the number of eigenvalues < −τ of H[S,S]; neg_mass_pruned: mean "
                  "over H's negative eigenvectors of their squared mass on the pruned "
                  "coordinates (1 = the negative curvature lives entirely on pruned weights).")),
    ]
