"""Theory tables: P(restricted Hessian PSD) against its exact law, interlacing checks."""

from __future__ import annotations

import numpy as np

from ..._table import TheoryTable
from .cells import DEFAULTS, binom_p_value
from .engine import local_min_theory

__all__ = ["tables"]


def tables(cells):
    """Theory tables: P(local min) vs exact law; interlacing checks; spread (measured only)."""
    import pandas as pd  # noqa: PLC0415

    c = cells.copy()
    for k, v in DEFAULTS.items():
        if k not in c.columns:
            c[k] = v
    out = []
    conf = c[c["geometry"] == "confined"]
    if len(conf):
        f = conf[["d", "n_neg", "m", "mask", "off_scale", "trials", "n_local_min",
                  "p_local_min"]].reset_index(drop=True)
        # The report recomputes the theory and the test from the counts (the values
        # a cell recorded are not trusted).
        f["p_theory"] = [local_min_theory(int(r.d), int(r.n_neg), int(r.m), "confined",
                                          str(r.mask), float(r.off_scale))
                         for r in f.itertuples(index=False)]
        f["p_value"] = [binom_p_value(int(k), int(n), float(pt))
                        for k, n, pt in zip(f["n_local_min"], f["trials"], f["p_theory"])]
        # P = 0 or 1 exactly (the mask must hit N, or N is empty): no randomness is
        # left, so the row is an identity ("every trial / no trial is PSD").
        sure = (f["p_theory"] == 0.0) | (f["p_theory"] == 1.0)
        f = f.assign(kind=np.where(sure, "identity", "test"),
                     holds=[bool(pl == pt) if s_ else None
                            for pl, pt, s_ in zip(f["p_local_min"], f["p_theory"], sure)])
        f.loc[sure, "p_value"] = np.nan
        out.append(TheoryTable(
            "Confined negative curvature: P(restricted Hessian ⪰ 0) vs exact law", f,
            p_col="p_value", agree_col="holds", kind="test", kind_col="kind",
            test="two-sided exact binomial test (P(restricted Hessian ⪰ 0))",
            tolerance="exact count",
            note=("H = blockdiag(B_N, A), B_N negative definite on the n_neg coordinates N, "
                  "A positive definite: the restriction is PSD exactly when the mask avoids N. "
                  "Theory: C(d−n_neg, m)/C(d, m) for uniform masks; for magnitude masks of "
                  "planted weights (N(0,1) on N, N(0, off_scale²) off N) one quadrature "
                  "(module notes). p_value: two-sided exact binomial test of the Monte Carlo "
                  "count against the theory. Rows whose theory is exactly 0 or 1 (PSD never "
                  "or always, by construction) are identities: every trial must agree.")))
    checks = c.assign(
        all_checks_ok=(c["interlacing_failures"] == 0) & (c["count_bound_failures"] == 0)
        & (c["overlap_mismatches"] == 0))
    f = checks[["geometry", "mask", "d", "n_neg", "m", "off_scale", "trials",
                "interlacing_failures", "count_bound_failures", "overlap_mismatches",
                "min_margin_lambda_min", "all_checks_ok"]].reset_index(drop=True)
    out.append(TheoryTable.identities(
        "Cauchy interlacing, checked in every trial", f, holds_col="all_checks_ok",
        tolerance="relative tol of the sweep (default 1e-9) on the eigenvalue comparisons",
        note=("Exact checks, trial by trial (counts of failing trials): "
              "λ_i(H) ≤ μ_i ≤ λ_{i+d−m}(H) for the restricted eigenvalues μ; "
              "max(0, n_neg−(d−m)) ≤ #negative μ ≤ n_neg; and, for the confined geometry, "
              "#negative μ = |S ∩ N|. min_margin_lambda_min = min over trials of "
              "λ_min(H[S,S]) − λ_min(H) (≥ 0 by interlacing).")))
    spread = c[c["geometry"] == "spread"]
    if len(spread):
        f = spread[["d", "n_neg", "m", "trials", "p_local_min", "ci_low", "ci_high",
                    "mean_n_neg_restricted", "mean_lambda_min_restricted"]].reset_index(drop=True)
        f = f.assign(n_neg_lower_bound=(f["n_neg"] - (f["d"] - f["m"])).clip(lower=0))
        out.append(TheoryTable.descriptive(
            "Spread negative curvature: measured P(restricted Hessian ⪰ 0) (no exact theory)",
            pd.DataFrame(f),
            note=("H = Q diag(λ) Qᵀ with Q Haar orthogonal: the negative curvature is along "
                  "dense random directions, so no mask removes it by avoiding coordinates. "
                  "No exact law is known to this package: the probability is measured only "
                  "(95% Clopper–Pearson interval); interlacing bounds are checked in the "
                  "table above. A restriction is PSD only when m ≤ d − n_neg is possible "
                  "(lower bound column > 0 forces a negative eigenvalue).")))
    return out
