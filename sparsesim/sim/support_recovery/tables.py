"""Theory tables of the ``support_recovery`` sweep.

Every Monte Carlo counter of a cell is set beside its closed form, read from
the cell's law object (:mod:`sparsesim.theory.laws`: exact, group or planted,
one set of hooks, so one loop serves every model; ``_LAYOUT`` only says which
table each row joins), and tested with :mod:`sparsesim.stats`:

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
from .cells import support_law

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


#: Where each model's rows go: the label of its q row; for each check, the table it
#: joins (a key of ``tables``' row lists) and the label columns it carries there.  The
#: numbers all come from the cell's law (:func:`.cells.support_law`); ``counts`` names
#: the counts (``|Ŝ|``, TP, FP) whose laws are tested, ``uniform`` whether
#: ``P(Ŝ = S | |Ŝ| = k)`` is.
_LAYOUT = {
    "exact": {
        "q": "exact: |Ŝ| ~ Bin(d, q)",
        "recovery": ("exact", {}),
        "uniform": ("uniform", {}),
        "counts": (("size", "size_law", {}),
                   ("tp", "tpfp", {"law": "TP ~ Bin(k, q)"}),
                   ("fp", "tpfp", {"law": "FP ~ Bin(d−k, q)"})),
        "topk": ("topk", {}),
    },
    "group": {
        "q": "group: surviving groups ~ Bin(G, p_g)",
        "recovery": ("group", {"check": "exactly the q groups survive"}),
        "uniform": None,
        "counts": (("size", "group", {"check": "surviving groups ~ Bin(G, p_g)"}),
                   ("tp", "group", {"check": "TP ~ Bin(q, p_g)"}),
                   ("fp", "group", {"check": "FP ~ Bin(G−q, p_g)"})),
        "topk": ("group", {"check": "top-q norms are the q groups"}),
    },
    "planted": {
        "q": "planted: FP ~ Bin(d−k, q)",
        "recovery": ("planted", {"check": "S_hat = S"}),
        "uniform": None,
        "counts": (("tp", "planted", {"check": "TP ~ Bin(k, p_on)"}),
                   ("fp", "planted", {"check": "FP ~ Bin(d−k, q)"})),
        "topk": ("planted", {"check": "top-k = S"}),
    },
}


_PROB_NOTE = ("Theory beside the Monte Carlo estimate with its 99.9% Clopper–Pearson "
              "interval; exact two-sided binomial test (log-space probability).")
_LAW_NOTE = ("Pearson chi-square goodness of fit against the Binomial law (adjacent "
             "cells pooled to expected counts ≥ 5).")
_BINOM = "exact two-sided binomial test (log-space probability)"
_CHI2 = "Pearson chi-square goodness of fit (pooled to expected counts ≥ 5)"

#: The tables, in order: (rows key, title, note, test); a table without rows is left out.
_TABLES = (
    ("exact", "Exact support: P(Ŝ = S) = q^k (1−q)^(d−k)",
     f"q = 2Φ̄(t/σ). {_PROB_NOTE} Rows whose expected number of hits is below "
     f"{MIN_EXPECTED:g} have no power and are descriptive (implied by the tested "
     "laws: the TP/FP binomials, whose product is this probability, and the q rows).", _BINOM),
    ("q", "The survival probability q, estimated from |Ŝ| over all trials",
     "Σ|Ŝ| over the trials ~ Binomial(units × trials, q) with q = `tail_prob` "
     "(groups: p_g; planted: the false positives, q off the support). Estimate with "
     "its 99.9% Clopper–Pearson interval and the exact two-sided binomial test. "
     "These rows test q directly, also at t = t* where P(Ŝ = S) has no power "
     "against an error in q.", "exact two-sided binomial test (counts)"),
    ("uniform", "Ŝ is uniform given |Ŝ| = k: P(Ŝ = S | |Ŝ| = k) = 1/C(d, k)",
     "Here `trials` counts the draws with |Ŝ| = k and "
     f"`successes` those with Ŝ = S. {_PROB_NOTE}", _BINOM),
    ("size_law", "Law of |Ŝ|: Binomial(d, q)", _LAW_NOTE, _CHI2),
    ("tpfp", "True and false positives", _LAW_NOTE, _CHI2),
    ("topk", "Top-k magnitude selection finds S with probability 1/C(d, k)",
     "Exchangeability: the k largest |w_i| form a uniform "
     f"k-subset. {_PROB_NOTE}", _BINOM),
    ("group", "Structured variant: G groups of g, ‖w_G‖²/σ² ~ χ²_g",
     "p_g = χ²_g.sf(τ²/σ²); P(exactly Q survives) = p_g^q (1−p_g)^(G−q); "
     "top-q group norms select Q with probability 1/C(G, q) "
     "(the q largest norms are `group_best_q`'s exact projection). "
     f"{_PROB_NOTE} {_LAW_NOTE}", f"{_BINOM}; {_CHI2}"),
    ("planted", "Planted signal: w = x + σz, |x_i| = μ on S",
     "p_on = Φ̄((t−μ)/σ) + Φ̄((t+μ)/σ) (noncentral folded normal); "
     "P(Ŝ = S) = p_on^k (1−q)^(d−k); top-k recovery is a one-dimensional "
     f"integral. {_PROB_NOTE} {_LAW_NOTE}", f"{_BINOM}; {_CHI2}"),
)


def _rows(cells: pd.DataFrame) -> dict[str, list[dict]]:
    """Every table's rows: one pass over the cells, each judged against its model's law."""
    rows: dict[str, list[dict]] = {key: [] for key, *_ in _TABLES}
    for c in cells.itertuples(index=False):
        n = int(c.n_trials)
        d, k = int(c.d), int(c.k)
        law = support_law({"kind": c.kind, "d": d, "k": k, "g": c.g, "sigma": float(c.sigma),
                           "mu_over_sigma": c.mu_over_sigma}, float(c.t))
        layout = _LAYOUT[c.kind]
        base = _base(c)
        hists = {"size": _hist(c.size_hist, d + 1), "tp": _hist(c.tp_hist, k + 1),
                 "fp": _hist(c.fp_hist, d - k + 1)}
        # q from the total |Ŝ| where every unit survives with q; else from the false
        # positives alone (off the support)
        survivors, units = ((int(c.tp_sum) + int(c.fp_sum), d) if law.homogeneous
                            else (int(c.fp_sum), d - k))
        rows["q"].append({**base, "variant": layout["q"],
                          **_q_row(survivors, units, n, float(law.survival_prob()))})
        where, label = layout["recovery"]
        rows[where].append({**base, **label, **_prob_row(int(c.hits), n,
                                                         float(law.recovery_prob(log=True)))})
        if layout["uniform"] is not None and hists["size"] is not None:
            where, label = layout["uniform"]
            log_u = float(law.conditional_recovery_prob(log=True))
            rows[where].append({**base, **label,
                                **_prob_row(int(c.hits), int(hists["size"][k]), log_u)})
        for count, where, label in layout["counts"]:
            trials, p = law.binomial(count)
            rows[where].append({**base, **label, "trials": n,
                                **_law_row(hists[count], _binom_probs(int(trials), float(p)))})
        where, label = layout["topk"]
        rows[where].append({**base, **label, **_prob_row(int(c.topk_hits), n,
                                                         float(law.topk_recovery_prob(log=True)))})
    return rows


def _frame(rows: list[dict]) -> pd.DataFrame:
    f = pd.DataFrame(rows)
    if "status" in f.columns:
        f["status"] = f["status"].fillna("")
    return f


def tables(cells: pd.DataFrame) -> list[TheoryTable]:
    """The theory tables of a ``support_recovery`` sweep (see the module notes)."""
    rows = _rows(cells)
    return [TheoryTable.tests(title, _frame(rows[key]), test=test, kind_col="kind", note=note)
            for key, title, note, test in _TABLES if rows[key]]
