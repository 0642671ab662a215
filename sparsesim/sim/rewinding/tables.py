"""Tables: the geometry at w_tau beside the ticket, their association across tau, LMC."""

from __future__ import annotations

import math

import numpy as np

from ..._table import FAMILY_ALPHA, TheoryTable
from ...stats import holm, spearman
from .claims import declared_claims, judge_claims

__all__ = ["conditioning_vs_tickets", "aggregate", "claims_table", "tables"]


def _groups(cells) -> list[str]:
    """The table's grouping: data set, then the ticket round when masks are shared."""
    return ["dataset", "prune_round"] if "prune_round" in cells else ["dataset"]


def _label(key) -> str:
    key = key if isinstance(key, tuple) else (key,)
    return key[0] if len(key) == 1 else f"{key[0]}, IMP round {int(key[1])}"



def conditioning_vs_tickets(cells, alpha: float = 0.05):
    """Spearman correlations across rewind points (seed means), Holm-corrected across the table.

    For each data set (and ticket round, when masks are shared), across the
    ``τ`` values (per-τ means over seeds): ``λ_max`` vs ticket test accuracy,
    ``κ`` vs accuracy (positive-definite points only), the number of negative
    eigenvalues vs accuracy, ``|λ_min|/λ_max`` and the LMC barrier vs
    accuracy.  "Better conditioning" is a smaller ``λ_max`` / ``κ``, a "better
    ticket" a higher test accuracy: they went together when the correlation
    is negative.  Significance is after Holm's correction at ``alpha`` over
    all the table's computable correlations.  A description of the seed
    means, not a pre-registered test: the claims table (``[[claims]]``) is
    where a verdict is given.  Returns a DataFrame and a Markdown statement.
    """
    import pandas as pd  # noqa: PLC0415

    rows = []
    for key, g in cells.groupby(_groups(cells)):
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
            rows.append({"dataset": _label(key), "measure": label, "spearman_rho": rho,
                         "p_value_spearman": pv, "n_tau": n, "_good": good})
    sig = holm([r["p_value_spearman"] for r in rows], alpha) if rows else []
    n_tested = sum(not math.isnan(r["p_value_spearman"]) for r in rows)
    lines = []
    for r, rejected in zip(rows, sig):
        good, label, rho = r.pop("_good"), r["measure"], r["spearman_rho"]
        if math.isnan(rho):
            r["verdict"] = f"not computable ({r['n_tau']} rewind points with finite values)"
        else:
            r["verdict"] = (f"{good} {label} went with {'higher' if rho < 0 else 'lower'} "
                            f"ticket accuracy (ρ = {rho:+.2f}, p = {r['p_value_spearman']:.3g} "
                            f"uncorrected, n = {r['n_tau']} τ values; "
                            f"{'significant' if rejected else 'not significant'} after Holm "
                            f"over the {n_tested} correlations at {alpha:g})")
        if label != "λ_max":
            continue
        ds = r["dataset"]
        if math.isnan(rho):
            lines.append(f"- **{ds}**: too few rewind points to tell whether a smaller λ_max "
                         "went with better tickets.")
        else:
            tend = "went together" if rho < 0 else "went opposite ways"
            lines.append(f"- **{ds}**: better conditioning (smaller λ_max) and better tickets "
                         f"{tend} across τ (Spearman ρ = {rho:+.2f}, p = "
                         f"{r['p_value_spearman']:.3g} uncorrected); "
                         + ("significant after Holm's correction over the table's "
                            f"{n_tested} correlations at α = {alpha:g}." if rejected else
                            f"not significant after Holm's correction over the table's "
                            f"{n_tested} correlations at α = {alpha:g}, so no association "
                            "is established."))
    return pd.DataFrame(rows), "\n".join(lines)


def aggregate(cells):
    import pandas as pd  # noqa: PLC0415

    g = cells.groupby(_groups(cells) + ["tau"])
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
        **({"neg_mass_slq": g["neg_mass_slq"].mean()} if "neg_mass_slq" in cells else {}),
    }).reset_index()
    return f


def _describe(c: dict) -> str:
    """A claim in words, as the findings table shows it."""
    at = f"at ~{100 * c['density']:.3g} % of weights"
    if c["test"] == "rewind_beats_zero":
        return f"(i) some τ > 0 beats τ = 0 (rewinding helps) {at}"
    if c["test"] == "rank":
        sign = "smaller" if c["direction"] == "less" else "larger"
        return f"(ii) {sign} {c['x']} at w_τ goes with a better ticket across τ {at}"
    return (f"(iii) a stable τ (barrier < {100 * c['barrier']:g} %) gives a ticket within "
            f"{c['margin']:g} point{'s' * (c['margin'] != 1)} of dense {at}")


def claims_table(cells) -> TheoryTable | None:
    """The pre-registered claims (``[[claims]]``), one row each; ``None`` when none declared.

    Each row is of kind ``"claim"`` (p_claim in the claim's direction,
    p_opposite for its refutation; Holm over the file's claims), or ``"not
    testable: why"`` (too few seeds with a stable τ, say).
    """
    import pandas as pd  # noqa: PLC0415

    claims, _why = declared_claims(cells)
    if not claims:
        return None
    rows = judge_claims(cells, FAMILY_ALPHA / len(claims))
    frame = pd.DataFrame(rows)
    for col in ("ci_low", "ci_high", "sd", "detectable", "reason", "test_name"):
        if col not in frame:
            frame[col] = math.nan if col != "reason" else ""
    frame["reason"] = frame["reason"].fillna("")
    frame["kind"] = ["claim" if not r else f"not testable: {r}" for r in frame["reason"]]
    unit = {"rank": ""}
    frame["claim id"] = frame["claim"]
    frame["claim"] = [_describe(c) for c in claims]
    frame["n_seeds"] = frame["seeds"]
    frame["ours"] = [f"{e:+.2f} ± {sd:.2f}{unit.get(t, ' points')} (mean ± sd)"
                     if e == e and sd == sd else ("—" if e != e else f"{e:+.2f}")
                     for e, sd, t in zip(frame["effect"], frame["sd"], frame["test"])]
    frame["95 % CI of the mean difference"] = [
        f"[{lo:+.2f}, {hi:+.2f}]" if lo == lo else "—"
        for lo, hi in zip(frame["ci_low"], frame["ci_high"])]
    frame["detectable at 80 % power"] = [
        "—" if d != d else "∞ (too few seeds)" if math.isinf(d)
        else (f"{d:.2f}" if t == "rank" else f"{d:.2f} points")
        for d, t in zip(frame["detectable"], frame["test"])]
    frame["test"] = frame["test_name"].fillna("—")
    out = frame[["claim", "claim id", "ticket_round", "statistic", "n_seeds", "ours",
                 "95 % CI of the mean difference", "margin", "detectable at 80 % power", "test",
                 "p_claim", "p_opposite", "kind"]]
    return TheoryTable.claims(
        "Pre-registered rewinding claims (C11), judged over seeds",
        out.reset_index(drop=True), test="one-sided paired tests over seeds (module notes)",
        p_opposite_col="p_opposite", kind_col="kind",
        note=("Claims declared in the sweep config before the run (one mask per seed and density, "
              "shared by every τ). rewind_beats_zero: some τ > 0 beats τ = 0 — p_claim is Holm's "
              "first step over the τ values (the best τ's one-sided paired p times their number), "
              "p_opposite the intersection–union test that every τ > 0 is below τ = 0 + margin "
              "(points). rank: the mean over seeds of the within-seed Spearman ρ between the "
              "geometry at w_τ and the ticket's test accuracy across τ has the declared sign; "
              "p_opposite tests that it lies beyond ∓margin on the other side. "
              "stable_matches_dense: per seed, the mean over its stable τ (LMC barrier below the "
              "declared threshold) of acc(ticket) − acc(dense) is above −margin points "
              "(non-inferiority); p_opposite tests that it is below −margin. effect and 95% CI: "
              "the statistic's mean over seeds (points, or ρ); detectable: the effect the seeds "
              "detect at 80 % power at the claim's Holm level α/m (m claims in the file)."))


def tables(cells):
    """Geometry at w_τ beside the ticket rewound to τ; the association; LMC barriers; claims."""

    f = aggregate(cells)
    corr, statement = conditioning_vs_tickets(cells)
    groups = _groups(cells)
    extra = ["neg_mass_slq"] if "neg_mass_slq" in f else []
    geo = f[groups + ["tau", "seeds", "density", "lambda_max", "lambda_max_sd", "lambda_min",
                      "n_negative", "n_negative_slq"] + extra
            + ["neg_ratio", "kappa_median", "pd_fraction", "test_acc", "test_acc_sd",
               "early_stop_iter", "dense_acc", "lanczos_ok"]]
    lmc = f[groups + ["tau", "seeds", "lmc_barrier", "lmc_barrier_sd", "test_acc",
                      "test_acc_sd"]]
    shared = "prune_round" in cells
    chain = ("one mask per seed and IMP round (prune_round), fixed by fine-tuning IMP and shared "
             "by every τ" if shared else "IMP with rewinding to τ (each τ its own mask chain)")
    out = [
        TheoryTable.descriptive(
            "Masked Hessian at the rewind point and the ticket rewound to τ (seed means)",
            geo,
            note=(chain + "; the masked Hessian of the "
                  "training loss at w_τ ⊙ m on the kept weights and all biases, by Lanczos on "
                  "exact Hessian-vector products. n_negative counts negative eigenvalues among "
                  "the lanczos_k smallest (a lower bound when it equals lanczos_k); "
                  "n_negative_slq is a stochastic Lanczos quadrature estimate of the number of "
                  "eigenvalues below −slq_rtol·λ_max (slq_probes probes × slq_steps steps; the "
                  "threshold keeps the many near-zero eigenvalues of a ReLU network, which "
                  "quadrature cannot sign, out of the count)"
                  + ("; neg_mass_slq = n_negative_slq / active dimension, the negative spectral "
                     "mass" if extra else "") + "; "
                  "neg_ratio = max(0, −λ_min)/λ_max; "
                  "kappa_median = median of λ_max/λ_min over seeds, NaN for indefinite "
                  "restrictions (pd_fraction = share of seeds whose restriction is positive "
                  "definite). test_acc: final test accuracy of the ticket; early_stop_iter: "
                  "global step of minimum validation loss. No closed-form prediction exists: "
                  "this table is measured only.")),
        TheoryTable.descriptive(
            "Did better conditioning go with better tickets? (Spearman across τ)",
            corr,
            note=statement + "\n\nMeasured association of seed means, not a test of a theory "
                             "(no agree column; a pre-registered claim is judged per seed in "
                             "the claims table when the sweep declares one)."),
        TheoryTable.descriptive(
            "Linear mode connectivity: test-error barrier between two data orders",
            lmc,
            note=("Two copies of the ticket trained from w_τ ⊙ m with different data orders; "
                  "barrier = max over α of the test error of (1−α)θ_A + αθ_B minus the mean "
                  "endpoint error (α on lmc_points points). Frankle et al. (2020) report that "
                  "tickets reach full accuracy once the barrier vanishes.")),
    ]
    claims = claims_table(cells)
    return out if claims is None else [claims] + out
