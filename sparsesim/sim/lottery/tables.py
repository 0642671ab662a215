"""Theory tables of the lottery simulations: the pre-registered claims and published numbers."""

from __future__ import annotations

import math

import numpy as np

from ..._table import FAMILY_ALPHA, TheoryTable
from ...stats import (
    equivalence_min_margin,
    equivalence_test,
    paired_min_detectable,
    paired_test,
    prediction_interval,
)
from .cells import REACH_FACTOR
from .claims import METRICS, declared_claims, published_reference
from .published import PUBLISHED_DENSE_RANGE, PUBLISHED_LEVEL, PUBLISHED_MNIST1D
from .summary import fmt_pm, param_of, pivot_rounds, prep_cells, summarize, table_rounds

__all__ = ["tables"]




#: The early-stopping half of claim (a) needs the validation loss at least
#: this often (optimizer steps); coarser grids cannot resolve it.
_ES_GRID_MAX = 25

def _per_seed(c, cond, r, col):
    """Values of ``col`` per seed for one condition and round (a Series by seed)."""
    sub = c[(c["condition"] == cond) & (c["round"] == r)]
    return sub.groupby("seed")[col].mean().dropna()


def _round_near(c, target):
    """(round, density) of the lottery round nearest ``target`` on a log scale; None if none."""
    lot = c[(c["condition"] == "lottery") & (c["round"] > 0)]
    if not len(lot):
        return None
    dens = lot.groupby("round")["density"].mean()
    r = int((np.log(dens / target)).abs().idxmin())
    return r, float(dens[r])


def _claim_row(claim, target, where, x, y, direction, *, scale, unit, published):
    """One pre-registered claim: paired one-sided test of x − y in ``direction``."""
    row = {"claim": claim, "pre-registered density": target,
           "density": where[1] if where else np.nan, "n_seeds": 0, "ours": "—",
           "95 % CI of the mean difference": "—", "test": "—", "p_claim": np.nan, "p_opposite": np.nan,
           "detectable at 80 % power": "—", "published": published, "kind": "claim"}
    if isinstance(x, str):
        row["kind"] = f"not testable: {x}"
        return row
    seeds = x.index.intersection(y.index)
    d = (x[seeds] - y[seeds]).to_numpy(float) * scale
    row["n_seeds"] = int(len(seeds))
    if len(seeds) < 2:
        row["kind"] = f"not testable: {len(seeds)} paired seed(s); a paired test needs 2"
        return row
    opposite = "less" if direction == "greater" else "greater"
    row["p_claim"], row["test"] = paired_test(x[seeds].to_numpy(float),
                                             y[seeds].to_numpy(float), direction)
    row["p_opposite"] = paired_test(x[seeds].to_numpy(float), y[seeds].to_numpy(float),
                                    opposite)[0]
    sd = float(np.std(d, ddof=1))
    row["ours"] = f"{d.mean():+.2f} ± {sd:.2f} {unit}".rstrip() + " (paired, mean ± sd)"
    from scipy import stats as _st  # noqa: PLC0415
    half = float(_st.t.ppf(0.975, d.size - 1)) * sd / math.sqrt(d.size)
    row["95 % CI of the mean difference"] = f"[{d.mean() - half:+.2f}, {d.mean() + half:+.2f}]"
    row["_sd"], row["_unit"] = sd, unit
    return row


def _fill_detectable(frames, alpha, extra=0):
    """The smallest detectable effect of each claim, at α / m over the file's m claims.

    ``extra`` counts the file's other claim rows (equivalence tests) in m.
    """
    m = extra + sum(int((f["kind"] == "claim").sum()) for f in frames)
    out = []
    for f in frames:
        f = f.copy()
        for i in f.index:
            if f.at[i, "kind"] != "claim":
                continue
            mde = paired_min_detectable(float(f.at[i, "_sd"]), int(f.at[i, "n_seeds"]),
                                        alpha / max(m, 1))
            f.at[i, "detectable at 80 % power"] = (
                "none: 2^-n > α/m" if math.isinf(mde) else
                f"{mde:.3g} {f.at[i, '_unit']}".rstrip())
        out.append(f.drop(columns=[k for k in ("_sd", "_unit") if k in f.columns]))
    return out


#: The seed article's claims, judged where a sweep declares them ([[claims]]):
#: (label, table, x, y, metric, direction, density, published).  A density
#: given as a parameter name reads that parameter (the older runs' defaults).
_FC = "F&C 2019 (LeNet-300-100, MNIST)"
SEED_CLAIMS = (
    ("(a) at ~21 % of weights the ticket beats the dense network (test accuracy)", "claims",
     "lottery", "dense", "test_accuracy", "greater", "claim_density",
     f"{_FC}: winning tickets beat dense from 51.3 % down to 3.6 % remaining"),
    ("(a) at ~21 % the ticket early-stops in fewer iterations than the dense network",
     "claims", "lottery", "dense", "early_stop_iter", "less", "claim_density",
     f"{_FC}: at 21 % min. val. loss 38 % earlier"),
    ("(a) at ~3.6 % of weights the ticket still beats the dense network", "claims",
     "lottery", "dense", "test_accuracy", "greater", "claim_density_sparse",
     f"{_FC}: winning tickets beat dense down to 3.6 % remaining"),
    ("(b) at ~21 % the ticket beats its reinitialisation", "claims", "lottery", "reinit",
     "test_accuracy", "greater", "claim_density",
     f"{_FC}: reinitialised tickets fall off from 21.1 % remaining"),
    ("(b) at ~3.6 % the ticket beats its reinitialisation", "claims", "lottery", "reinit",
     "test_accuracy", "greater", "claim_density_sparse",
     f"{_FC}: winning tickets hold to 2.9 %, reinitialised ones do not"),
    ("(c) at ~3.6 % rewinding to tau = {rewind} beats resetting to tau = 0", "claims", "rewind",
     "lottery", "test_accuracy", "greater", "claim_density_sparse",
     "Frankle et al. 2020: rewinding finds tickets where tau = 0 fails (large networks); small "
     "networks show no gap"),
) + tuple(
    (f"published pattern at sparsity {sp:g}: lottery above random", "pattern", "lottery",
     "random", "test_accuracy", "greater", round(1.0 - sp, 10),
     " / ".join(f"{a} vs {b}" for a, b in zip(pub["lottery"], pub["random"])))
    for sp, pub in PUBLISHED_MNIST1D.items())
_SUPPORT_CLAIM = (
    "(d) at ~3.6 % the ticket keeps more of the teacher's support than a random mask of its "
    "size (recall − chance)", "claims", "lottery", "lottery", "support_recall", "greater",
    "claim_density_sparse", "compressed sensing: magnitude pruning as support recovery")


def _metric_values(c, cond, r, metric, es_reason):
    """Per-seed values of ``metric`` for ``cond`` at round ``r``, or why there are none."""
    if cond not in set(c["condition"]):
        return f"the sweep has no '{cond}' condition"
    if metric in ("early_stop_iter", "test_accuracy_early_stop", "val_accuracy_early_stop") \
            and es_reason is not None:
        return es_reason
    if metric not in c.columns or c[metric].isna().all():
        return f"the cells have no '{metric}' column"
    return _per_seed(c, cond, 0 if cond == "dense" else r, metric)


def _es_reason(c):
    n_val = int(float(param_of(c, "n_validation") or 0))
    grid = int(float(param_of(c, "eval_every") or 0))
    if n_val == 0:
        return "no validation split (n_validation = 0): early stopping is off"
    if grid > _ES_GRID_MAX:
        return (f"the validation loss was evaluated every {grid} steps; resolving the "
                f"early-stopping iteration needs ≤ {_ES_GRID_MAX}")
    return None


def _where(c, target):
    """The round nearest ``target`` if within REACH_FACTOR, else a reason string."""
    w = _round_near(c, target)
    if w is not None and abs(math.log(w[1] / target)) <= math.log(REACH_FACTOR):
        return w
    return (f"no round within a factor {REACH_FACTOR:g} of density {target:g}"
            + (f" (nearest {w[1]:.3g})" if w else ""))


def _paired_row(c, label, claim, published, es_reason, post_hoc=None):
    """One paired claim (declared, or post hoc: numbers without a verdict)."""
    x, y, metric = claim["x"], claim["y"], claim["metric"]
    scale, unit = METRICS.get(metric, (1.0, ""))
    w = _where(c, claim["density"])
    if isinstance(w, str):
        xv = yv = w
    else:
        xv = _metric_values(c, x, w[0], metric, es_reason)
        yv = _metric_values(c, y, w[0], claim.get("y_metric", metric), es_reason)
        if isinstance(yv, str) and not isinstance(xv, str):
            xv = yv
    row = _claim_row(label, claim["density"], None if isinstance(w, str) else w, xv, yv,
                     claim["direction"], scale=scale, unit=unit, published=published)
    row["claim id"] = claim.get("id", "—")
    if post_hoc is not None and row["kind"] == "claim":
        row["kind"] = f"post hoc: {post_hoc}"
        row["p_claim"] = row["p_opposite"] = np.nan
        row["test"] = "—"
        row.pop("_sd", None)
        row.pop("_unit", None)
    return row


def _covers(decl, seed, density):
    """Whether a declared claim is the seed claim ``seed`` judged near ``density``."""
    return (decl["test"] == "paired" and decl["x"] == seed[2] and decl["y"] == seed[3]
            and decl["metric"] == seed[4] and decl["direction"] == seed[5]
            and decl.get("y_metric", decl["metric"]) == (
                "recall_chance" if seed[4] == "support_recall" and seed[2] == seed[3]
                else seed[4])
            and abs(math.log(decl["density"] / density)) <= math.log(REACH_FACTOR))


def _label(decl):
    scale, unit = METRICS.get(decl["metric"], (1.0, ""))
    rel = "above" if decl["direction"] == "greater" else "below"
    ym = decl.get("y_metric", decl["metric"])
    return (f"{decl['x']} {rel} {decl['y']}" + (f" ({ym})" if ym != decl["metric"] else "")
            + f" in {decl['metric']} at ~{100 * decl['density']:.3g} % of weights")


def _claims(c):
    """Claim rows: the declared claims judged; the seed's undeclared claims post hoc.

    Returns ``(claims, pattern, equivalence)`` frames (equivalence may be None).
    """
    import pandas as pd  # noqa: PLC0415

    declared, why = declared_claims(c)
    es_reason = _es_reason(c)
    seeds = list(SEED_CLAIMS)
    if "support_recall" in c.columns and c["support_recall"].notna().any():
        seeds.append(_SUPPORT_CLAIM)
    rewind = int(float(param_of(c, "rewind_step") or 0))
    used = set()
    tables = {"claims": [], "pattern": []}
    for label, table, x, y, metric, direction, dens, pub in seeds:
        label = label.format(rewind=rewind)
        density = float(param_of(c, dens)) if isinstance(dens, str) else float(dens)
        match = None
        for i, d in enumerate(declared or ()):
            if i not in used and _covers(d, (label, table, x, y, metric, direction), density):
                match = i
                break
        if match is not None:
            used.add(match)
            declared_at = declared[match]["density"]
            seed_pct = {"claim_density": "~21 %", "claim_density_sparse": "~3.6 %"}.get(dens)
            if seed_pct and abs(math.log(declared_at / density)) > math.log(1.1):
                label = label.replace(seed_pct, f"~{100 * declared_at:.3g} %")
            tables[table].append(_paired_row(c, label, declared[match], pub, es_reason))
            continue
        claim = {"x": x, "y": y, "metric": metric, "direction": direction, "density": density}
        if metric == "support_recall" and x == y:
            claim["y_metric"] = "recall_chance"
        reason = why or "not declared in the sweep config before the run"
        tables[table].append(_paired_row(c, label, claim, pub, es_reason, post_hoc=reason))
    equivalence = []
    for i, d in enumerate(declared or ()):
        if i in used:
            continue
        if d["test"] == "tost":
            equivalence.append(_tost_row(c, d))
        else:
            tables["claims"].append(_paired_row(c, _label(d), d, "—", es_reason))
    return (pd.DataFrame(tables["claims"]), pd.DataFrame(tables["pattern"]),
            pd.DataFrame(equivalence) if equivalence else None)


def _tost_row(c, d):
    """Equivalence of our mean with the published value (fixed reference), margin ± d['margin']."""
    ref = published_reference(d["x"], d["density"])
    sp = 1.0 - d["density"]
    row = {"claim": f"{d['x']} at sparsity {sp:.2g} equals the published value within "
                    f"±{d['margin']:g} points", "claim id": d["id"], "sparsity": round(sp, 6),
           "published (mean of 2 trials, %)": ref, "n_seeds": 0, "ours (%)": "—",
           "ours − published (points, 95 % CI)": "—", "test": "—", "p_claim": np.nan,
           "p_opposite": np.nan, "detectable at 80 % power": "—", "kind": "claim"}
    w = _where(c, d["density"])
    vals = _metric_values(c, d["x"], w[0], d["metric"], None) if not isinstance(w, str) else w
    if isinstance(vals, str):
        row["kind"] = f"not testable: {vals}"
        return row
    v = vals.to_numpy(float) * 100.0
    row["n_seeds"] = int(v.size)
    if v.size < 2:
        row["kind"] = f"not testable: {v.size} seed(s); an equivalence test needs 2"
        return row
    from scipy import stats as _st  # noqa: PLC0415
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    half = float(_st.t.ppf(0.975, v.size - 1)) * sd / math.sqrt(v.size)
    row["ours (%)"] = fmt_pm(mean, sd, 1, 2)
    row["ours − published (points, 95 % CI)"] = (
        f"{mean - ref:+.2f} [{mean - ref - half:+.2f}, {mean - ref + half:+.2f}]")
    row["p_claim"], row["p_opposite"] = equivalence_test(v, ref, d["margin"])
    row["test"] = "TOST (two one-sided t-tests)"
    row["_sd"] = sd
    return row


def _fill_tost_detectable(frame, alpha, m):
    """The smallest margin each TOST row's seeds would show at 80 % power, at α / m.

    At the row's own sd and seeds, were our mean equal to the published value:
    a margin at or below the declared one means the run was large enough to
    decide; an undecided row with a small figure sits near its margin.
    """
    f = frame.copy()
    for i in f.index:
        sd = f.at[i, "_sd"] if "_sd" in f.columns else math.nan
        if f.at[i, "kind"] == "claim" and sd == sd and sd > 0:
            margin = equivalence_min_margin(float(sd), int(f.at[i, "n_seeds"]), alpha, max(m, 1))
            f.at[i, "detectable at 80 % power"] = f"margin ±{margin:.2f} points"
    return f.drop(columns=[k for k in ("_sd",) if k in f.columns])


def _published(c):
    """Published notebook values against our 95 % prediction intervals."""
    import pandas as pd  # noqa: PLC0415

    intervals = []
    for sp, pub in PUBLISHED_MNIST1D.items():
        target = 1.0 - sp
        w = _round_near(c, target)
        close = w is not None and abs(w[1] - target) <= 0.2 * target
        for cond in ("lottery", "random"):
            vals = _per_seed(c, cond, w[0], "test_accuracy") * 100 if close else None
            lo = hi = np.nan
            kind = "interval"
            if cond not in set(c["condition"]):
                kind = f"not testable: the sweep has no '{cond}' condition"
                vals = None
            elif vals is None:
                kind = f"not testable: no round within 20 % of density {target:.3g}"
            elif len(vals) < 2:
                kind = f"not testable: {len(vals)} seed(s); a prediction interval needs 2"
            else:
                lo, hi = prediction_interval(vals.to_numpy(float), PUBLISHED_LEVEL)
            for trial, value in enumerate(pub[cond]):
                intervals.append({
                    "sparsity": sp, "condition": cond, "trial": trial, "published (%)": value,
                    "our density": w[1] if close else np.nan,
                    "ours (%)": (fmt_pm(float(vals.mean()), float(vals.std(ddof=1))
                                     if len(vals) > 1 else np.nan) if vals is not None and
                                 len(vals) else "—"),
                    "95 % prediction interval (%)": (f"[{lo:.1f}, {hi:.1f}]" if lo == lo
                                                     else "—"),
                    "inside": (bool(lo <= value <= hi) if lo == lo else None), "kind": kind})
    return pd.DataFrame(intervals)


def _support_table(c):
    import pandas as pd  # noqa: PLC0415
    if "support_recall" not in c.columns or c["support_recall"].isna().all():
        return None
    for col in ("support_recall", "support_precision", "recall_chance", "precision_chance"):
        c[col] = pd.to_numeric(c[col], errors="coerce")
    g = c.groupby(["condition", "round"]).agg(
        density=("density", "mean"), n_seeds=("seed", "nunique"),
        recall=("support_recall", "mean"), recall_sd=("support_recall", "std"),
        recall_chance=("recall_chance", "mean"),
        precision=("support_precision", "mean"),
        precision_chance=("precision_chance", "mean")).reset_index()
    rows = []
    for _, r in g.sort_values(["round", "condition"]).iterrows():
        if r["condition"] not in ("lottery", "rewind", "oneshot", "random", "snip", "grasp",
                                  "synflow"):
            continue
        rows.append({"condition": r["condition"], "round": int(r["round"]),
                     "density": r["density"], "n_seeds": int(r["n_seeds"]),
                     "support recall": fmt_pm(r["recall"], r["recall_sd"], 1, 3),
                     "chance recall": round(float(r["recall_chance"]), 4),
                     "precision": round(float(r["precision"]), 4),
                     "chance precision": round(float(r["precision_chance"]), 4)})
        if "support_recall_normalised" in c.columns:   # cells made before it lack it
            norm = pd.to_numeric(c.loc[(c["condition"] == r["condition"])
                                       & (c["round"] == r["round"]),
                                       "support_recall_normalised"], errors="coerce")
            if norm.notna().any():
                rows[-1]["recall / ceiling"] = round(float(norm.mean()), 4)
    return pd.DataFrame(rows)


def _ranked_on(prune_step) -> str:
    """Protocol note on the weights that rank the IMP masks (empty for the default)."""
    try:
        step = int(prune_step)
    except (TypeError, ValueError):
        return ""
    return f"IMP masks ranked on the weights at step {step}; " if step > 0 else ""


def tables(cells) -> list:
    """Accuracy / early-stop tables per density, the claims, published numbers, support overlap."""


    c = prep_cells(cells)
    summary = summarize(c)
    rounds = table_rounds(summary)
    dataset = str(param_of(c, "dataset"))
    claims, pattern, equivalence = _claims(c)
    extra = 0 if equivalence is None else int((equivalence["kind"] == "claim").sum())
    if equivalence is not None:
        paired = [claims, pattern] if dataset == "mnist1d" else [claims]
        m = extra + sum(int((f["kind"] == "claim").sum()) for f in paired)
        equivalence = _fill_tost_detectable(equivalence, FAMILY_ALPHA, m)
    if dataset == "mnist1d":
        iv = _published(c)
        claims, pattern = _fill_detectable([claims, pattern], FAMILY_ALPHA, extra=extra)
    else:
        (claims,) = _fill_detectable([claims], FAMILY_ALPHA, extra=extra)
    v = lambda k: param_of(c, k)  # noqa: E731
    joint = " (ranked with their layer's weights)" if v("bias_ranking") == "joint" else ""
    proto = (f"hidden widths {v('hidden') or '(none)'}, residual {v('residual')}, "
             f"{v('optimizer')} lr {v('lr')}, batch {v('batch_size')}, {v('steps')} steps, "
             f"schedule {v('schedule')}, scope {v('scope')}, output rate {v('output_rate')}, "
             f"biases pruned: {v('prune_biases')}{joint}; rewind step {v('rewind_step')}; "
             f"{_ranked_on(v('prune_step'))}{summary['n_seeds'].max()} seeds")
    out = [
        TheoryTable.descriptive(
            "Test accuracy (%) per density, mean ± sd over seeds",
            pivot_rounds(summary, rounds, "acc_mean", "acc_sd", 100, 1),
            note=(f"{dataset}: {proto}. `test_accuracy` = accuracy after the full step budget "
                  "(the MNIST-1D notebook's number); the test accuracy at the early-stopping "
                  "iteration is in cells.csv (`test_accuracy_early_stop`). `dense` is the "
                  "unpruned network (its value repeated on every row). All controls at the "
                  "lottery ticket's per-layer densities; snip/grasp/synflow at "
                  f"{v('saliency_scope')} scope. "
                  + ("Rows: a log-spaced selection of rounds (all rounds are in cells.csv)."
                     if len(rounds) < summary['round'].nunique() else ""))),
        TheoryTable.descriptive(
            "Early-stopping iteration (minimum validation loss) per density",
            pivot_rounds(summary, rounds, "es_mean", "es_sd", 1, 0),
            note=("No validation split (n_validation = 0): early stopping is off, so no "
                  "validation loss was measured and every run reads its last step."
                  if int(float(v("n_validation") or 0)) == 0 else
                  "Iteration (optimizer step) of the evaluation point with the minimum "
                  f"validation loss (evaluated every {v('eval_every')} steps); mean ± sd "
                  "over seeds. Rewound tickets count from step 0 of the dense run.")),
        TheoryTable.claims(
            "The lottery-ticket claims, pre-registered and tested", claims,
            test="one-sided paired test over seeds (exact sign-flip test below 8 seeds, "
                 "paired t-test from 8)", kind_col="kind",
            note=("Claims are declared in the sweep config ([[claims]]: conditions, metric, "
                  "direction, density) before the run and recorded in every cell; each is "
                  "judged at the round nearest its declared density, never at a round picked "
                  "after the fact. A claim of the seed article that the cells do not carry "
                  "reads `post hoc`: its numbers are shown, it gets no p-value and no "
                  "verdict. The conditions of a seed share its "
                  "initialisation and data order, so each claim is a one-sided paired test of "
                  "the per-seed differences in the claim's direction (`p_claim`), with Holm "
                  "over the file's claims: ✓ only when it rejects, ✗ when the opposite "
                  "one-sided test (`p_opposite`) rejects, otherwise inconclusive. "
                  "`detectable at 80 % power` = the smallest mean difference these seeds "
                  "would detect (at α / m, m = the file's testable claims); an exact "
                  "sign-flip test over n seeds cannot go below p = 2^-n, so with few seeds "
                  "a claim is inconclusive by design. Dense = the unpruned network of the "
                  "same seed.")),
    ]
    if dataset == "mnist1d":
        out.append(TheoryTable.intervals(
            "MNIST-1D: the published notebook's numbers against our prediction intervals", iv,
            inside_col="inside", level=PUBLISHED_LEVEL, kind_col="kind",
            note=("Published: greydanus/mnist1d lottery notebook, test accuracy of trial 0 / "
                  "trial 1 at its last step (PyTorch default init, all 4,000 training signals "
                  "(no validation split), sequential batches; each round's masks rank the "
                  "step-1000 checkpoint, with a layer's weights and bias against one "
                  "threshold — here `prune_step` = "
                  f"{int(float(v('prune_step') or 0)) or 'end of training'}, `bias_ranking` = "
                  f"{v('bias_ranking')}). A published trial agrees when it lies inside our "
                  f"{100 * PUBLISHED_LEVEL:g} % prediction interval for one new run, mean ± "
                  "t(0.975, n−1) · sd · √(1 + 1/n) over our seeds, at the round whose density "
                  "is nearest (within 20 %) to 1 − sparsity. The published dense runs span "
                  f"{PUBLISHED_DENSE_RANGE[0]}–{PUBLISHED_DENSE_RANGE[1]} %.")))
        out.append(TheoryTable.claims(
            "MNIST-1D: the published pattern (lottery above random), tested on our seeds",
            pattern, test="one-sided paired test over seeds (exact sign-flip test below 8 "
                          "seeds, paired t-test from 8)", kind_col="kind",
            note="Paired by seed at the round of each published sparsity; Holm with the "
                 "file's other claims; `post hoc` where the cells carry no declaration."))
        if equivalence is not None:
            out.append(TheoryTable.claims(
                "MNIST-1D: the reproduction as an equivalence question (TOST)", equivalence,
                test="TOST (two one-sided t-tests) against a fixed reference", kind_col="kind",
                note=("Our mean test accuracy over seeds against the published value taken as "
                      "a fixed reference: the mean of the notebook's two trials (their own "
                      "spread is not part of the test). ✓ = equivalent within the declared "
                      "margin (both one-sided tests of the margin reject: `p_claim` = the "
                      "larger p), ✗ = different by more than the margin (`p_opposite` = "
                      "2 · the smaller one-sided p of lying beyond either edge), "
                      "inconclusive = undecided. Holm with the file's other claims. "
                      "`detectable at 80 % power` = the smallest margin these seeds would show "
                      "equivalent with 80 % power were our mean equal to the published value "
                      "(at the row's sd, α / m): at or below the declared margin the run was "
                      "large enough to decide at a difference of 0, and an undecided row then "
                      "sits near its margin; above it, the row's spread leaves it undecided.")))
    sup = _support_table(c)
    if sup is not None:
        out.append(TheoryTable.descriptive(
            "Planted teacher: ticket support vs the teacher's true support", sup,
            note=("support recall = |M ∩ S| / |S| (fraction of the teacher's support the mask "
                  "keeps), precision = |M ∩ S| / |M|; chance = the expectation for a uniformly "
                  "random mask of the same size (recall |M| / n, precision |S| / n). The "
                  "compressed-sensing view predicts magnitude masks (lottery, rewind, oneshot) "
                  "well above chance; claim (d) tests it at the pre-registered sparse round."
                  + (" M is the path support (the input-output pairs joined by kept weights; "
                     "the mask itself for a student without hidden layers); recall / ceiling "
                     "= recall / min(1, |M| / |S|)." if "recall / ceiling" in sup.columns
                     else ""))))
    return out
