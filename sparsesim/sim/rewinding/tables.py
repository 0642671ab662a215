"""Tables: the geometry at w_tau beside the ticket, their association across tau, LMC."""

from __future__ import annotations

import math

import numpy as np

from ..._table import TheoryTable
from ...stats import spearman

__all__ = ["conditioning_vs_tickets", "aggregate", "tables"]



def conditioning_vs_tickets(cells, alpha: float = 0.05):
    """Spearman correlations across rewind points (seed means), with plain verdicts.

    For each data set, across the ``τ`` values (per-τ means over seeds):
    ``λ_max`` vs ticket test accuracy, ``κ`` vs accuracy (positive-definite
    points only), the number of negative eigenvalues vs accuracy and the LMC
    barrier vs accuracy.  "Better conditioning" is a smaller ``λ_max`` / ``κ``,
    a "better ticket" a higher test accuracy: they went together when the
    correlation is negative.  Returns a DataFrame and a Markdown statement.
    """
    import pandas as pd  # noqa: PLC0415

    rows, lines = [], []
    for ds, g in cells.groupby("dataset"):
        m = g.groupby("tau").mean(numeric_only=True).sort_index()
        acc = m["test_accuracy"].to_numpy()
        for label, col, good in (("λ_max", "lambda_max", "smaller"),
                                 ("κ (PD points)", "condition_number", "smaller"),
                                 ("# negative eigenvalues (SLQ estimate)", "n_negative_slq",
                                  "fewer"),
                                 ("|λ_min|/λ_max", "neg_ratio", "smaller"),
                                 ("LMC barrier", "lmc_barrier", "smaller")):
            x = m[col].to_numpy(dtype=float) if col in m else np.full(len(m), np.nan)
            x = np.where(np.isinf(x), np.nan, x)
            rho, pv, n = spearman(x, acc)
            if math.isnan(rho):
                verdict = f"not computable ({n} rewind points with finite values)"
            else:
                together = rho < 0
                sig = pv < alpha
                verdict = (f"{good} {label} went with {'higher' if together else 'lower'} "
                           f"ticket accuracy (ρ = {rho:+.2f}, p = {pv:.3g}, n = {n} τ values; "
                           f"{'significant' if sig else 'not significant'} at {alpha:g})")
            rows.append({"dataset": ds, "measure": label, "spearman_rho": rho,
                         "p_value_spearman": pv, "n_tau": n, "verdict": verdict})
            if col == "lambda_max":
                first = rows[-1]
        if math.isnan(first["spearman_rho"]):
            lines.append(f"- **{ds}**: too few rewind points to tell whether a smaller λ_max "
                         "went with better tickets.")
        else:
            yes = first["spearman_rho"] < 0 and first["p_value_spearman"] < alpha
            tend = "went together" if first["spearman_rho"] < 0 else "went opposite ways"
            lines.append(f"- **{ds}**: better conditioning (smaller λ_max) and better tickets "
                         f"{tend} across τ (Spearman ρ = {first['spearman_rho']:+.2f}, "
                         f"p = {first['p_value_spearman']:.3g}); "
                         + ("a significant association." if yes else
                            "not significant at α = 0.05, so no association is established."))
    return pd.DataFrame(rows), "\n".join(lines)


def aggregate(cells):
    import pandas as pd  # noqa: PLC0415

    g = cells.groupby(["dataset", "tau"])
    f = pd.DataFrame({
        "seeds": g["seed"].nunique(),
        "density": g["density"].mean(),
        "lambda_max": g["lambda_max"].mean(),
        "lambda_max_sd": g["lambda_max"].std(),
        "lambda_min": g["lambda_min"].mean(),
        "n_negative": g["n_negative"].mean(),
        "n_negative_slq": g["n_negative_slq"].mean(),
        "neg_ratio": g["neg_ratio"].mean(),
        "kappa_median": g["condition_number"].median(),
        "pd_fraction": g["condition_number"].apply(lambda s: float(np.isfinite(s).mean())),
        "test_acc": g["test_accuracy"].mean(),
        "test_acc_sd": g["test_accuracy"].std(),
        "early_stop_iter": g["early_stop_iter"].mean(),
        "dense_acc": g["dense_test_accuracy"].mean(),
        "lmc_barrier": g["lmc_barrier"].mean(),
        "lmc_barrier_sd": g["lmc_barrier"].std(),
        "lanczos_ok": g["lanczos_converged"].all(),
    }).reset_index()
    return f


def tables(cells):
    """Geometry at w_τ beside the ticket rewound to τ; the association; LMC barriers."""

    f = aggregate(cells)
    corr, statement = conditioning_vs_tickets(cells)
    geo = f[["dataset", "tau", "seeds", "density", "lambda_max", "lambda_max_sd", "lambda_min",
             "n_negative", "n_negative_slq", "neg_ratio", "kappa_median", "pd_fraction", "test_acc", "test_acc_sd",
             "early_stop_iter", "dense_acc", "lanczos_ok"]]
    lmc = f[["dataset", "tau", "seeds", "lmc_barrier", "lmc_barrier_sd", "test_acc",
             "test_acc_sd"]]
    return [
        TheoryTable.descriptive(
            "Masked Hessian at the rewind point and the ticket rewound to τ (seed means)",
            geo,
            note=("IMP with rewinding to τ (each τ its own mask chain); the masked Hessian of the "
                  "training loss at w_τ ⊙ m on the kept weights and all biases, by Lanczos on "
                  "exact Hessian-vector products. n_negative counts negative eigenvalues among "
                  "the lanczos_k smallest (a lower bound when it equals lanczos_k); "
                  "n_negative_slq is a stochastic Lanczos quadrature estimate of the number of "
                  "eigenvalues below −slq_rtol·λ_max (slq_probes probes × slq_steps steps; the "
                  "threshold keeps the many near-zero eigenvalues of a ReLU network, which "
                  "quadrature cannot sign, out of the count); "
                  "neg_ratio = max(0, −λ_min)/λ_max; "
                  "kappa_median = median of λ_max/λ_min over seeds, NaN for indefinite "
                  "restrictions (pd_fraction = share of seeds whose restriction is positive "
                  "definite). test_acc: final test accuracy of the ticket; early_stop_iter: "
                  "global step of minimum validation loss. No closed-form prediction exists: "
                  "this table is measured only.")),
        TheoryTable.descriptive(
            "Did better conditioning go with better tickets? (Spearman across τ)",
            corr,
            note=statement + "\n\nMeasured association, not a test of a theory (no agree "
                             "column). Correlations use the per-τ means over seeds."),
        TheoryTable.descriptive(
            "Linear mode connectivity: test-error barrier between two data orders",
            lmc,
            note=("Two copies of the ticket trained from w_τ ⊙ m with different data orders; "
                  "barrier = max over α of the test error of (1−α)θ_A + αθ_B minus the mean "
                  "endpoint error (α on lmc_points points). Frankle et al. (2020) report that "
                  "tickets reach full accuracy once the barrier vanishes.")),
    ]
