"""Theory tables of the ``support_recovery`` sweep.

Every Monte Carlo counter of a cell is set beside its closed form from
:mod:`sparsesim.theory` and tested with :mod:`sparsesim.stats`:

* exact-set probability ``P(S_hat = S)``: exact two-sided binomial test on
  ``hits`` (log-space probability, so tiny ``p`` never underflows);
* uniformity of ``S_hat`` given ``|S_hat| = k``: ``hits`` out of the trials
  with ``|S_hat| = k`` against ``1/C(d, k)``;
* the laws of ``|S_hat|``, of true and of false positives: Pearson chi-square
  goodness of fit of the histograms against the Binomial laws (adjacent cells
  pooled to expected counts >= 5);
* top-k selection against ``1/C(d, k)`` (exchangeability);
* the structured (group) and planted-signal variants likewise.

* the survival probability ``q`` itself, estimated from the total of
  ``|S_hat|`` over the trials (``Binomial(d · trials, q)``): exact binomial
  test against ``tail_prob``.  This row has power against an error in ``q``
  where ``P(S_hat = S)`` has none (at ``t = t*``, ``q = k/d``, the derivative
  of ``log P`` in ``log q`` vanishes).

A probability is *tested directly* only where the expected number of
successes is at least ``MIN_EXPECTED``; below that the row is descriptive,
"implied by the tested laws" (the TP and FP binomials, whose product is
``P(S_hat = S)``, and the ``q`` rows).  Each file's test rows are judged
together with Holm's correction (family-wise α of
:data:`sparsesim.report.FAMILY_ALPHA`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ... import stats, theory
from ..._codec import hist_from_str
from ..._table import TheoryTable

__all__ = ["tables", "MIN_EXPECTED", "CONFIDENCE"]

#: Smallest expected count of successes for which a probability is tested directly.
MIN_EXPECTED = 10.0
CONFIDENCE = 0.999


def _hist(text, length: int) -> np.ndarray | None:
    if not isinstance(text, str) or not text:
        return None
    return hist_from_str(text, length)


def _prob_row(successes: int, trials: int, log_p: float) -> dict:
    """Theory, estimate, 99.9% Clopper–Pearson interval, p-value (or why not tested)."""
    p = math.exp(log_p) if log_p > -745 else 0.0
    expected = trials * p
    lo, hi = stats.clopper_pearson(successes, trials, confidence=CONFIDENCE) if trials else (np.nan, np.nan)
    row = {"theory": p, "log10_theory": log_p / math.log(10), "trials": trials,
           "successes": successes, "estimate": successes / trials if trials else np.nan,
           "ci_low": float(lo), "ci_high": float(hi), "expected": expected}
    if trials and expected >= MIN_EXPECTED:
        row["p_value"] = float(stats.binom_test_log(successes, trials, log_p))
        row["kind"] = "test"
    else:
        row["p_value"] = np.nan
        row["kind"] = "descriptive"
        row["status"] = (f"implied by the tested laws (expected {expected:.2g} successes "
                         f"< {MIN_EXPECTED:g}: no power here)")
    return row


def _q_row(survivors: int, units: int, trials: int, q: float) -> dict:
    """The survival probability from the total |Ŝ|: estimate, interval, exact test."""
    n = units * trials
    lo, hi = stats.clopper_pearson(survivors, n, confidence=CONFIDENCE)
    return {"q theory": q, "units × trials": n, "survivors": survivors,
            "q estimate": survivors / n, "ci_low": float(lo), "ci_high": float(hi),
            "rel. error": survivors / n / q - 1.0 if q > 0 else np.nan,
            "p_value": float(stats.binom_test_two_sided(survivors, n, q)), "kind": "test"}


def _law_row(observed: np.ndarray | None, probs: np.ndarray) -> dict:
    if observed is None:
        return {"chi2": np.nan, "dof": 0, "p_value": np.nan,
                "kind": "not testable: histogram not kept"}
    stat, dof, pv = stats.chisquare_gof(observed, probs)
    if math.isnan(pv):
        return {"chi2": stat, "dof": dof, "p_value": pv, "kind": "descriptive",
                "status": "all mass in one pooled cell"}
    return {"chi2": stat, "dof": dof, "p_value": pv, "kind": "test"}


def _binom_probs(n: int, p: float) -> np.ndarray:
    j = np.arange(n + 1)
    probs = np.exp(theory.binom_logpmf(j, n, p)) if n else np.ones(1)
    return probs / probs.sum()  # remove the last-ulp drift so probabilities sum to 1


def _base(c) -> dict:
    out = {"d": int(c.d), "k": int(c.k)}
    if c.kind == "group":
        out = {"G": int(c.d), "g": int(c.g), "q": int(c.k)}
    if c.kind == "planted":
        out["mu/σ"] = float(c.mu_over_sigma)
    out.update({"t_rule": c.t_rule, "t/σ": float(c.t_over_sigma)})
    return out


def tables(cells: pd.DataFrame) -> list[TheoryTable]:
    """The theory tables of a ``support_recovery`` sweep (see the module notes)."""
    exact, uniform, size_law, tpfp, topk, group, planted, qrows = ([] for _ in range(8))
    for c in cells.itertuples(index=False):
        n = int(c.n_trials)
        d, k, sigma = int(c.d), int(c.k), float(c.sigma)
        t = float(c.t)
        base = _base(c)
        if c.kind == "exact":
            q = float(theory.tail_prob(t, sigma))
            log_p = float(theory.support_recovery_prob(d, k, t, sigma, log=True))
            exact.append({**base, **_prob_row(int(c.hits), n, log_p)})
            qrows.append({**base, "variant": "exact: |Ŝ| ~ Bin(d, q)",
                          **_q_row(int(c.tp_sum) + int(c.fp_sum), d, n, q)})
            size_hist = _hist(c.size_hist, d + 1)
            if size_hist is not None:
                log_u = float(theory.topk_selection_prob(d, k, log=True))
                uniform.append({**base, **_prob_row(int(c.hits), int(size_hist[k]), log_u)})
            size_law.append({**base, "trials": n,
                             **_law_row(size_hist, _binom_probs(d, q))})
            for name, m, hist in (("TP ~ Bin(k, q)", k, _hist(c.tp_hist, k + 1)),
                                  ("FP ~ Bin(d−k, q)", d - k, _hist(c.fp_hist, d - k + 1))):
                tpfp.append({**base, "law": name, "trials": n,
                             **_law_row(hist, _binom_probs(m, q))})
            log_top = float(theory.topk_selection_prob(d, k, log=True))
            topk.append({**base, **_prob_row(int(c.topk_hits), n, log_top)})
        elif c.kind == "group":
            g = int(c.g)
            tail = float(theory.group_tail_prob(g, t, sigma))
            log_p = float(theory.group_support_recovery_prob(d, g, k, t, sigma, log=True))
            qrows.append({**base, "variant": "group: surviving groups ~ Bin(G, p_g)",
                          **_q_row(int(c.tp_sum) + int(c.fp_sum), d, n, tail)})
            group.append({**base, "check": "exactly the q groups survive",
                          **_prob_row(int(c.hits), n, log_p)})
            for name, m, hist in (("surviving groups ~ Bin(G, p_g)", d, _hist(c.size_hist, d + 1)),
                                  ("TP ~ Bin(q, p_g)", k, _hist(c.tp_hist, k + 1)),
                                  ("FP ~ Bin(G−q, p_g)", d - k, _hist(c.fp_hist, d - k + 1))):
                group.append({**base, "check": name, "trials": n,
                              **_law_row(hist, _binom_probs(m, tail))})
            log_top = float(theory.group_topq_selection_prob(d, k, log=True))
            group.append({**base, "check": "top-q norms are the q groups",
                          **_prob_row(int(c.topk_hits), n, log_top)})
        elif c.kind == "planted":
            mu = float(c.mu_over_sigma) * sigma
            q = float(theory.tail_prob(t, sigma))
            p_on = float(theory.planted_tail_prob(mu, t, sigma))
            log_p = float(theory.planted_recovery_prob(d, k, mu, t, sigma, log=True))
            qrows.append({**base, "variant": "planted: FP ~ Bin(d−k, q)",
                          **_q_row(int(c.fp_sum), d - k, n, q)})
            planted.append({**base, "check": "S_hat = S",
                            **_prob_row(int(c.hits), n, log_p)})
            for name, m, pr, hist in (("TP ~ Bin(k, p_on)", k, p_on, _hist(c.tp_hist, k + 1)),
                                      ("FP ~ Bin(d−k, q)", d - k, q, _hist(c.fp_hist, d - k + 1))):
                planted.append({**base, "check": name, "trials": n,
                                **_law_row(hist, _binom_probs(m, pr))})
            log_top = float(theory.planted_topk_recovery_prob(d, k, mu, sigma, log=True))
            planted.append({**base, "check": "top-k = S",
                            **_prob_row(int(c.topk_hits), n, log_top)})

    def frame(rows, drop=()):
        f = pd.DataFrame(rows)
        if "status" in f.columns:
            f["status"] = f["status"].fillna("")
        return f.drop(columns=[c for c in drop if c in f.columns])

    def table(title, rows, note, test):
        return TheoryTable.tests(title, frame(rows), test=test, kind_col="kind", note=note)

    prob_note = ("Theory beside the Monte Carlo estimate with its 99.9% Clopper–Pearson "
                 "interval; exact two-sided binomial test (log-space probability).")
    law_note = ("Pearson chi-square goodness of fit against the Binomial law (adjacent "
                "cells pooled to expected counts ≥ 5).")
    binom = "exact two-sided binomial test (log-space probability)"
    chi2 = "Pearson chi-square goodness of fit (pooled to expected counts ≥ 5)"
    out = []
    if exact:
        out.append(table(
            "Exact support: P(Ŝ = S) = q^k (1−q)^(d−k)", exact,
            f"q = 2Φ̄(t/σ). {prob_note} Rows whose expected number of hits is below "
            f"{MIN_EXPECTED:g} have no power and are descriptive (implied by the tested "
            "laws: the TP/FP binomials, whose product is this probability, and the q rows).",
            binom))
    if qrows:
        out.append(table(
            "The survival probability q, estimated from |Ŝ| over all trials", qrows,
            "Σ|Ŝ| over the trials ~ Binomial(units × trials, q) with q = `tail_prob` "
            "(groups: p_g; planted: the false positives, q off the support). Estimate with "
            "its 99.9% Clopper–Pearson interval and the exact two-sided binomial test. "
            "These rows test q directly, also at t = t* where P(Ŝ = S) has no power "
            "against an error in q.", "exact two-sided binomial test (counts)"))
    if uniform:
        out.append(table(
            "Ŝ is uniform given |Ŝ| = k: P(Ŝ = S | |Ŝ| = k) = 1/C(d, k)", uniform,
            "Here `trials` counts the draws with |Ŝ| = k and "
            f"`successes` those with Ŝ = S. {prob_note}", binom))
    if size_law:
        out.append(table("Law of |Ŝ|: Binomial(d, q)", size_law, law_note, chi2))
    if tpfp:
        out.append(table("True and false positives", tpfp, law_note, chi2))
    if topk:
        out.append(table(
            "Top-k magnitude selection finds S with probability 1/C(d, k)", topk,
            "Exchangeability: the k largest |w_i| form a uniform "
            f"k-subset. {prob_note}", binom))
    if group:
        out.append(table(
            "Structured variant: G groups of g, ‖w_G‖²/σ² ~ χ²_g", group,
            "p_g = χ²_g.sf(τ²/σ²); P(exactly Q survives) = p_g^q (1−p_g)^(G−q); "
                 "top-q group norms select Q with probability 1/C(G, q) "
                 "(the q largest norms are `group_best_q`'s exact projection). "
                 f"{prob_note} {law_note}", f"{binom}; {chi2}"))
    if planted:
        out.append(table(
            "Planted signal: w = x + σz, |x_i| = μ on S", planted,
            "p_on = Φ̄((t−μ)/σ) + Φ̄((t+μ)/σ) (noncentral folded normal); "
                 "P(Ŝ = S) = p_on^k (1−q)^(d−k); top-k recovery is a one-dimensional "
                 f"integral. {prob_note} {law_note}", f"{binom}; {chi2}"))
    return out
