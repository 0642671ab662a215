"""Theory tables of the phase-transition simulation.

For every ``(algorithm, nonzeros, d, delta)`` the success counts over the
``rho`` grid are fitted by a logistic curve ``P(success) = expit(b0 + b1 rho)``
(Firth's penalised likelihood, finite even when the data separate), and the
empirical 50 % transition is ``rho_hat = -b0 / b1`` with a delta-method
standard error from the penalised information.

The standard error printed and used is a parametric bootstrap over cells
(:func:`bootstrap_transition`), not the logistic model's alone (printed
beside it): a transition that falls inside one grid step is known to the
step, whatever the fit says.

The l1 rows are *tests*: (1) per ``(d, delta)``, the finite-``d`` 50 % point
of basis pursuit lies in the band of :func:`sparsesim.theory.l1_transition_band`
(the asymptotic ``rho_W(delta)`` moved by the Amelunxen-Lotz-McCoy-Tropp bound
on the exact statistical dimension, ``2 sqrt(d/k)`` measurements, and one
measurement either way for discreteness); (2) per ``delta`` with two or more
``d``, the 50 % point extrapolated to ``d -> inf`` (:func:`extrapolations`)
equals ``rho_W(delta)``, and the transition width shrinks like ``d^(-1/2)``.
p-values are two-sided normal, Holm-corrected with the file's other tests.
The greedy and one-shot rows are measured only (no published per-delta table
was found), under our success rule and GAGA's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

from ... import theory
from ..._table import TheoryTable
from .engine import ALGORITHMS
from .kinematic import _KIN_FAR, KIN_GROUPS, KIN_SAMPLES, _l1_groups, _near, exact_curve, \
    kinematic_cells

__all__ = ["fit_transition", "firth_batch", "bootstrap_transition", "transitions",
           "extrapolations", "kinematic_transitions", "tables", "FIT_LEVEL", "N_BOOT", "RULES",
           "KIN_SAMPLES", "KIN_GROUPS"]

#: Coverage of the confidence intervals printed for rho_hat.
FIT_LEVEL = 0.95
_MIN_CELLS = 3


def fit_transition(rho: Any, successes: Any, trials: Any) -> dict:
    """Firth-penalised logistic fit of success counts over ``rho``; the 50 % point.

    Returns a dict with ``rho_hat``, ``se``, ``slope`` (``b1``), ``fitted``
    (bool) and ``reason`` (why not, when not fitted).  Not fitted: fewer than
    three ``rho`` values, no point with success rate at or above 1/2 or none
    at or below it (the transition lies outside the grid), or a non-negative
    slope.

    Examples
    --------
    >>> rho = np.linspace(0.2, 0.6, 9)
    >>> n = np.full(9, 400)
    >>> s = np.round(n * special.expit(-40 * (rho - 0.4))).astype(int)
    >>> f = fit_transition(rho, s, n)
    >>> f["fitted"], round(f["rho_hat"], 3)
    (True, 0.4)
    """
    rho = np.asarray(rho, dtype=np.float64)
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    out = {"rho_hat": math.nan, "se": math.nan, "slope": math.nan, "fitted": False,
           "reason": ""}
    if rho.size < _MIN_CELLS:
        out["reason"] = f"fewer than {_MIN_CELLS} ρ values"
        return out
    rate = s / n
    if not (rate >= 0.5).any() or not (rate <= 0.5).any():
        out["reason"] = "transition outside the ρ grid"
        return out
    center, scale = float(rho.mean()), float(rho.std()) or 1.0
    X = np.column_stack([np.ones_like(rho), (rho - center) / scale])
    beta = np.zeros(2)
    info_inv = np.eye(2)
    for _ in range(200):
        p = special.expit(X @ beta)
        w = n * p * (1.0 - p)
        info = X.T @ (w[:, None] * X)
        info_inv = np.linalg.pinv(info)
        h = w * np.einsum("ij,jk,ik->i", X, info_inv, X)
        score = X.T @ (s - n * p + h * (0.5 - p))
        step = info_inv @ score
        norm = float(np.abs(step).max())
        if norm > 5.0:
            step *= 5.0 / norm
        beta = beta + step
        if norm < 1e-10:
            break
    b0, b1 = beta
    if not b1 < 0:
        out["reason"] = "success does not fall with ρ"
        return out
    grad = np.array([-1.0 / b1, b0 / b1 ** 2]) * scale
    var = float(grad @ info_inv @ grad)
    out.update(rho_hat=float(center - scale * b0 / b1), se=math.sqrt(max(var, 0.0)),
               slope=float(b1 / scale), fitted=True)
    return out


#: Parametric-bootstrap replicates behind every standard error of ``rho_hat``.
N_BOOT = 400
#: The success rules a row may count (column, label).
RULES = (("successes", "‖x̂ − x‖₂/‖x‖₂ ≤ 1e-4"),
         ("successes_linf", "GAGA: ‖x̂ − x‖∞/‖x‖∞ < 0.01"))


def firth_batch(rho: Any, successes: Any, trials: Any, *, iters: int = 200) -> dict:
    """Firth-penalised logistic fits of many count vectors over the same ``rho``.

    The batched twin of :func:`fit_transition` (same penalised likelihood,
    same step cap, 2x2 information inverted in closed form): ``successes`` has
    shape ``(B, C)`` for ``C`` cells at ``rho`` (``C``,) with ``trials`` (``C``,)
    problems.  Returns arrays ``rho_hat`` and ``slope`` (``B``,) and ``fitted``
    (the transition lies inside the grid -- some rate at or above 1/2 and some
    at or below -- and the slope is negative).

    Examples
    --------
    >>> rho = np.linspace(0.2, 0.6, 9)
    >>> n = np.full(9, 400)
    >>> s = np.round(n * special.expit(-40 * (rho - 0.4))).astype(int)
    >>> out = firth_batch(rho, s[None, :], n)
    >>> bool(abs(out["rho_hat"][0] - fit_transition(rho, s, n)["rho_hat"]) < 1e-9)
    True
    """
    rho = np.asarray(rho, dtype=np.float64)
    S = np.atleast_2d(np.asarray(successes, dtype=np.float64))
    n = np.asarray(trials, dtype=np.float64)
    center, scale = float(rho.mean()), float(rho.std()) or 1.0
    z = (rho - center) / scale
    B = S.shape[0]
    b0, b1 = np.zeros(B), np.zeros(B)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(iters):
            p = special.expit(b0[:, None] + b1[:, None] * z)
            w = n * p * (1.0 - p)
            a, b, c = w.sum(1), (w * z).sum(1), (w * z * z).sum(1)
            det = a * c - b * b
            ok = det > 0
            det = np.where(ok, det, 1.0)
            i00, i01, i11 = c / det, -b / det, a / det
            h = w * (i00[:, None] + 2.0 * i01[:, None] * z + i11[:, None] * z * z)
            r = S - n * p + h * (0.5 - p)
            g0, g1 = r.sum(1), (r * z).sum(1)
            s0 = np.where(ok, i00 * g0 + i01 * g1, 0.0)
            s1 = np.where(ok, i01 * g0 + i11 * g1, 0.0)
            norm = np.maximum(np.abs(s0), np.abs(s1))
            cap = np.where(norm > 5.0, 5.0 / np.where(norm > 0, norm, 1.0), 1.0)
            b0, b1 = b0 + cap * s0, b1 + cap * s1
            if float(norm.max(initial=0.0)) < 1e-10:
                break
        rate = S / n
        inside = (rate >= 0.5).any(1) & (rate <= 0.5).any(1)
        fitted = inside & (b1 < 0) & np.isfinite(b0) & np.isfinite(b1)
        rho_hat = np.where(fitted, center - scale * b0 / b1, np.nan)
        slope = np.where(fitted, b1 / scale, np.nan)
    return {"rho_hat": rho_hat, "slope": slope, "fitted": fitted}


def bootstrap_transition(rho: Any, successes: Any, trials: Any, *, seed: Any,
                         n_boot: int = N_BOOT) -> dict:
    """Standard errors of ``rho_hat`` and of the width the data support.

    A parametric bootstrap over cells: every cell's count is redrawn from
    ``Binomial(n_i, s_i / n_i)`` (its observed rate) and the Firth fit is
    repeated (:func:`firth_batch`).  Unlike the logistic model's
    own standard error, this does not assume the curve's shape between cells.
    Where the data put the whole transition between two adjacent ``rho``
    values (fewer than two cells with ``0 < s < n``), the 50 % point is known
    only to lie in that step: the standard error is at least the step's
    ``width / sqrt(12)`` (a uniform position in it) and ``resolution_limited``
    is set.

    Returns ``se``, ``width`` (``1 / |slope|``, the logistic scale in ``rho``),
    ``width_se``, ``resolution_limited``, ``step`` (``(lo, hi)`` or None),
    ``unfitted`` (share of replicates without a transition inside the grid).

    Examples
    --------
    >>> rho = np.array([0.1, 0.14, 0.18, 0.22, 0.26, 0.3])
    >>> out = bootstrap_transition(rho, [20, 20, 20, 9, 0, 0], [20] * 6, seed=0)
    >>> out["resolution_limited"], out["step"], out["se"] >= 0.04 / 12 ** 0.5
    (True, (0.18, 0.22), True)
    """
    rho = np.asarray(rho, dtype=np.float64)
    s = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    rng = np.random.default_rng(seed)
    S = rng.binomial(n, s / n, size=(n_boot, rho.size))
    fits = firth_batch(rho, S, n)
    ok = fits["fitted"]
    se = float(np.std(fits["rho_hat"][ok], ddof=1)) if ok.sum() > 2 else math.nan
    width = 1.0 / np.abs(fits["slope"][ok])
    width_se = float(np.std(width, ddof=1)) if ok.sum() > 2 else math.nan
    informative = int(((s > 0) & (s < n)).sum())
    step = _crossing_step(rho, s / n)
    limited = informative < 2 and step is not None
    if limited:
        se = max(se, (step[1] - step[0]) / math.sqrt(12.0)) if math.isfinite(se) \
            else (step[1] - step[0]) / math.sqrt(12.0)
    return {"se": se, "width_se": width_se, "resolution_limited": bool(limited), "step": step,
            "unfitted": float(1.0 - ok.mean())}


def _crossing_step(rho: np.ndarray, rate: np.ndarray) -> tuple[float, float] | None:
    """The ``rho`` range holding every crossing of 1/2 (see :func:`.refine.crossing_bracket`)."""
    order = np.argsort(rho)
    rho, rate = rho[order], rate[order]
    above, below = np.flatnonzero(rate >= 0.5), np.flatnonzero(rate < 0.5)
    if not above.size or not below.size:
        return None
    lo, hi = max(int(below[0]) - 1, 0), min(int(above[-1]) + 1, rho.size - 1)
    return float(rho[lo]), float(rho[hi])


_ALG_INDEX = {a: i for i, a in enumerate(ALGORITHMS)}


def transitions(cells, success_col: str = "successes") -> Any:
    """One row per ``(algorithm, nonzeros, d, delta)``: ``rho_hat``, its SEs and CI.

    ``rho`` is the realised ``k/m`` of each cell (cells with the same ``k`` are
    pooled).  ``se_model`` is the Firth fit's delta-method standard error,
    ``se`` the parametric bootstrap's (:func:`bootstrap_transition`; seeded by
    the row's identity, so a table rebuilds identically); the CI uses ``se``.
    ``success_col`` picks the success rule (:data:`RULES`).
    """
    import pandas as pd  # noqa: PLC0415

    z = stats.norm.isf((1.0 - FIT_LEVEL) / 2.0)
    rows = []
    rule = [c for c, _ in RULES].index(success_col)
    for (alg, nz, d, delta), sub in cells.groupby(["algorithm", "nonzeros", "d", "delta"],
                                                  sort=True):
        m = int(sub.m.iloc[0])
        by_k = sub.groupby("k")[[success_col, "n_trials"]].sum().sort_index()
        rho = by_k.index.to_numpy() / m
        s, n = by_k[success_col].to_numpy(), by_k.n_trials.to_numpy()
        fit = fit_transition(rho, s, n)
        seed = [int(d), int(round(float(delta) * 1e6)), _ALG_INDEX.get(alg, 99),
                int(nz == "gauss"), rule]
        boot = bootstrap_transition(rho, s, n, seed=seed)
        se = boot["se"] if fit["fitted"] else math.nan
        reason = fit["reason"]
        if fit["fitted"] and boot["resolution_limited"]:
            lo, hi = boot["step"]
            reason = (f"transition within one grid step (ρ {lo:.3f} to {hi:.3f}): SE is the "
                      "step's; refine the grid there")
        rows.append({"algorithm": alg, "nonzeros": nz, "d": int(d), "delta": float(delta),
                     "m": m, "cells": len(by_k), "problems": int(n.sum()),
                     "rho_hat": fit["rho_hat"], "se_model": fit["se"], "se": se,
                     "ci_lo": fit["rho_hat"] - z * se, "ci_hi": fit["rho_hat"] + z * se,
                     "width": 1.0 / abs(fit["slope"]) if fit["fitted"] else math.nan,
                     "width_se": boot["width_se"] if fit["fitted"] else math.nan,
                     "fitted": fit["fitted"], "resolution_limited": boot["resolution_limited"],
                     "reason": reason})
    return pd.DataFrame(rows)


def _order(frame):
    rank = {a: i for i, a in enumerate(ALGORITHMS)}
    return frame.assign(_r=frame.algorithm.map(rank)).sort_values(
        ["_r", "nonzeros", "d", "delta"]).drop(columns="_r")


def _wls(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> dict:
    """Weighted least squares ``y = a + b x`` (weights ``1/se^2``): intercept, slope, their
    standard errors (scaled up by ``sqrt(chi2/dof)`` when that exceeds 1), chi2, dof."""
    w = 1.0 / se ** 2
    X = np.column_stack([np.ones_like(x), x])
    info = X.T @ (w[:, None] * X)
    cov = np.linalg.inv(info)
    beta = cov @ (X.T @ (w * y))
    resid = y - X @ beta
    dof = len(x) - 2
    chi2 = float(np.sum(w * resid ** 2)) if dof > 0 else math.nan   # no residual to judge
    if dof > 0 and chi2 / dof > 1.0:
        cov = cov * (chi2 / dof)
    return {"a": float(beta[0]), "b": float(beta[1]), "se_a": math.sqrt(cov[0, 0]),
            "se_b": math.sqrt(cov[1, 1]), "chi2": chi2, "dof": dof,
            "p_fit": float(stats.chi2.sf(chi2, dof)) if dof > 0 else math.nan}


def extrapolations(l1) -> Any:
    """Per ``delta``: the 50 % point extrapolated in ``d`` and the width's exponent in ``d``.

    ``l1`` holds the fitted l1 rows of :func:`transitions` (one per ``d``).  The
    drift model is ``rho_hat(d) = rho_inf + c / d`` (the exact statistical
    dimension differs from ``d psi(k/d)`` by ``O(sqrt(d/k)) = O(1)`` measurements,
    ALMT 2014 Prop. 4.5, i.e. ``O(1/d)`` in ``delta`` and ``rho``), fitted by
    weighted least squares on the bootstrap SEs; ``rho_inf`` under ``c / sqrt(d)``
    is printed beside it, with both fits' chi-square, so the data can speak
    to the form.  The width ``w(d)`` (logistic scale) is fitted as ``log w = a +
    beta log d``; the claim is ``beta = -1/2`` (ALMT: the spread of the
    statistical dimension is ``O(sqrt d)`` measurements).
    """
    import pandas as pd  # noqa: PLC0415

    rows = []
    for (nz, delta), sub in l1.groupby(["nonzeros", "delta"], sort=True):
        sub = sub[sub.fitted & np.isfinite(sub.se) & (sub.se > 0)].sort_values("d")
        if sub.d.nunique() < 2:
            continue
        d = sub.d.to_numpy(dtype=float)
        y, se = sub.rho_hat.to_numpy(), sub.se.to_numpy()
        inv = _wls(1.0 / d, y, se)
        sqrt = _wls(1.0 / np.sqrt(d), y, se)
        ok_w = np.isfinite(sub.width_se.to_numpy()) & (sub.width_se.to_numpy() > 0)
        wd = sub[ok_w]
        width = (_wls(np.log(wd.d.to_numpy(dtype=float)), np.log(wd.width.to_numpy()),
                      (wd.width_se / wd.width).to_numpy()) if len(wd) >= 2 else None)
        rows.append({"nonzeros": nz, "delta": float(delta),
                     "ds": ", ".join(str(int(v)) for v in d), "problems": int(sub.problems.sum()),
                     "rho_inf": inv["a"], "se": inv["se_a"], "c": inv["b"],
                     "chi2_inv_d": inv["chi2"], "dof": inv["dof"], "p_fit_inv_d": inv["p_fit"],
                     "rho_inf_sqrt": sqrt["a"], "se_sqrt": sqrt["se_a"],
                     "chi2_inv_sqrt_d": sqrt["chi2"],
                     "width_exponent": width["b"] if width else math.nan,
                     "width_exponent_se": width["se_b"] if width else math.nan})
    return pd.DataFrame(rows, columns=_EXTRAPOLATION_COLUMNS)


_EXTRAPOLATION_COLUMNS = ["nonzeros", "delta", "ds", "problems", "rho_inf", "se", "c",
                          "chi2_inv_d", "dof", "p_fit_inv_d", "rho_inf_sqrt", "se_sqrt",
                          "chi2_inv_sqrt_d", "width_exponent", "width_exponent_se"]


def kinematic_transitions(l1, cells, *, n_samples: int | None = None,
                          groups: int | None = None) -> Any:
    """Per fitted l1 row: the exact finite-``d`` law's 50 % point on the row's own cells.

    The success probability of every cell's ``(d, m, k)`` comes from
    :func:`sparsesim.theory.l1_kinematic_prob` (the Crofton formula with the
    intrinsic volumes of the descent cone sampled; ``n_samples`` draws per
    ``(d, m)``, shared by the row's ``k``), and the same Firth fit as the data
    is run on the expected counts ``n p`` at the same ``rho`` and trials, so
    ``rho_kin`` is what the estimator gives on the exact law and the data's
    ``rho_hat`` is compared with it like for like.  Its Monte Carlo standard
    error is the batch-means one over ``groups`` batches of the draws.  Also
    returned: the chi-square of the counts against the exact law over the
    cells expecting 5 or more successes and failures (descriptive), and
    ``rho_lim``, the law's limit
    in ``d``, :func:`sparsesim.theory.l1_phase_transition_quadrature` (the
    quadrature twin: not the function under test).
    """
    import pandas as pd  # noqa: PLC0415

    n_samples = KIN_SAMPLES if n_samples is None else n_samples
    groups = KIN_GROUPS if groups is None else groups
    rows = []
    lim = {}
    groups_by_row = {key: (m, ks, s, n) for key, m, ks, s, n in _l1_groups(cells)}
    for r in l1.itertuples(index=False):
        if not r.fitted:
            continue
        d = int(r.d)
        m, ks, s, n = groups_by_row[(r.nonzeros, d, float(r.delta))]
        approx, near = _near(d, m, ks, s, n)
        p = np.round(approx)
        per = np.tile(p, (groups, 1))
        if near.any():
            p_near, _, per_near = exact_curve(theory.l1_kinematic_prob, d, m, ks[near],
                                              n_samples=n_samples, groups=groups)
            p[near] = np.clip(p_near, 0.0, 1.0)
            per[:, near] = np.clip(per_near, 0.0, 1.0)
        rho = ks / m
        fit = fit_transition(rho, p * n, n)
        boot = firth_batch(rho, per * n, n)
        ok = boot["fitted"]
        se_kin = (float(np.std(boot["rho_hat"][ok], ddof=1)) / math.sqrt(ok.sum())
                  if ok.sum() > 2 else math.nan)
        mid = near & (n * p >= 5.0) & (n * (1.0 - p) >= 5.0)
        chi2 = float(np.sum((s[mid] - n[mid] * p[mid]) ** 2 / (n[mid] * p[mid] * (1.0 - p[mid]))))
        if r.delta not in lim:
            lim[r.delta] = float(theory.l1_phase_transition_quadrature(float(r.delta)))
        rows.append({"nonzeros": r.nonzeros, "d": d, "delta": float(r.delta), "m": m,
                     "problems": int(r.problems), "rho_hat": float(r.rho_hat), "se": float(r.se),
                     "rho_kin": fit["rho_hat"] if fit["fitted"] else math.nan,
                     "se_kin": se_kin, "chi2": chi2, "chi2_cells": int(mid.sum()),
                     "p_chi2": float(stats.chi2.sf(chi2, mid.sum())) if mid.any() else math.nan,
                     "rho_lim": lim[r.delta]})
    return pd.DataFrame(rows)


def _kinematic_extrapolations(kin) -> Any:
    """Per ``delta``: ``rho_inf`` with the finite-d drift of the exact law removed.

    Each ``d`` gives ``rho_hat(d) - (rho_kin(d) - rho_lim)``; they are combined
    by inverse-variance weights (data and Monte Carlo variance), the SE scaled
    by ``sqrt(chi2/dof)`` when that exceeds 1 (``chi2`` of the ``d`` values about
    their mean: whether the exact law's drift is the data's).
    """
    import pandas as pd  # noqa: PLC0415

    rows = []
    for (nz, delta), sub in kin.groupby(["nonzeros", "delta"], sort=True):
        sub = sub[np.isfinite(sub.rho_kin) & np.isfinite(sub.se_kin) & (sub.se > 0)]
        if not len(sub):
            continue
        y = (sub.rho_hat - sub.rho_kin + sub.rho_lim).to_numpy()
        w = 1.0 / (sub.se.to_numpy() ** 2 + sub.se_kin.to_numpy() ** 2)
        est = float(np.sum(w * y) / np.sum(w))
        se = math.sqrt(1.0 / float(np.sum(w)))
        dof = len(sub) - 1
        chi2 = float(np.sum(w * (y - est) ** 2)) if dof > 0 else math.nan
        if dof > 0 and chi2 / dof > 1.0:
            se *= math.sqrt(chi2 / dof)
        rows.append({"nonzeros": nz, "delta": float(delta), "rho_inf_kin": est,
                     "se_kin_inf": se, "chi2_kin": chi2, "dof_kin": dof,
                     "n_d": len(sub), "ds_kin": ", ".join(str(int(v)) for v in sub.d)})
    return pd.DataFrame(rows)


def _grid_note(cells) -> str:
    """How the l1 cells' rho grid was chosen (read from the cells)."""
    c = cells[cells.algorithm == "l1"]
    if "rho_window" in c.columns and (c.rho_window.fillna(0) > 0).any():
        w = float(c.rho_window.max())
        return (f"These cells were run on a grid within ±{w:g} of ρ_W(δ) (a rule since retired: "
                "a transition outside the window could only come out \"not testable\", never "
                "✗).")
    if "refine_passes" in c.columns and (c.refine_passes.fillna(0) > 0).any():
        return ("The ρ grid is absolute and refined where the data cross 50 % (never placed "
                "around ρ_W), so a transition away from ρ_W is measured, not cut off.")
    return "The ρ grid is the TOML's, fixed in absolute terms."


def tables(cells) -> list:
    """The l1 test tables (per d against its band; extrapolated in d against rho_W;
    the width's exponent in d), the measured greedy / one-shot transitions under
    each success rule, and the measured l1 success probabilities beside the
    normal approximation."""
    import pandas as pd  # noqa: PLC0415

    out = []
    tr = _order(transitions(cells))
    pct = f"{100 * FIT_LEVEL:g} %"
    se_note = ("SE: parametric bootstrap over cells (each cell redrawn from Binomial(n, s/n), "
               f"{N_BOOT} refits; at least the grid step / √12 where the whole "
               "transition falls in one step); SE (logistic): the Firth fit's own, for "
               "comparison.")
    l1 = tr[tr.algorithm == "l1"]
    if len(l1):
        rho_w = np.asarray(theory.l1_phase_transition(l1.delta.to_numpy()), dtype=float)
        lo, hi = theory.l1_transition_band(l1.d.to_numpy(), l1.m.to_numpy())
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        est, se = l1.rho_hat.to_numpy(), l1.se.to_numpy()
        dist = np.maximum(0.0, np.maximum(lo - est, est - hi))
        with np.errstate(divide="ignore", invalid="ignore"):
            zval = np.where(dist > 0, dist / se, 0.0)
        p = np.where(l1.fitted.to_numpy(), np.minimum(1.0, 2.0 * stats.norm.sf(zval)), np.nan)
        frame = pd.DataFrame({
            "nonzeros": l1.nonzeros.to_numpy(), "d": l1.d.to_numpy(),
            "δ": l1.delta.to_numpy(), "m": l1.m.to_numpy(), "cells": l1.cells.to_numpy(),
            "problems": l1.problems.to_numpy(), "ρ̂ (50 %)": est, "SE": se,
            "SE (logistic)": l1.se_model.to_numpy(),
            f"{pct} CI lo": l1.ci_lo.to_numpy(), f"{pct} CI hi": l1.ci_hi.to_numpy(),
            "ρ_W(δ)": rho_w, "band lo": lo, "band hi": hi,
            "(ρ̂ − ρ_W)/SE": (est - rho_w) / se, "z to band": zval, "p_value": p,
            "note": l1.reason.to_numpy()})
        out.append(TheoryTable(
            "ℓ1 (basis pursuit): empirical 50 % transition against the weak threshold ρ_W(δ)",
            frame, p_col="p_value",
            note=("ρ̂: 50 % point of a Firth-penalised logistic fit of the success counts over "
                  f"ρ = k/m at fixed δ = m/d. {se_note} ρ_W(δ): the asymptotic "
                  "weak threshold from the statistical dimension of the ℓ1 descent cone "
                  "(Amelunxen–Lotz–McCoy–Tropp 2014). Finite-size correction: the exact "
                  "statistical dimension δ(C) lies in [dψ(k/d) − 2√(d/k), dψ(k/d)] (their "
                  "Prop. 4.5) and failure ≈ P(V > m) for V centred at δ(C); with one "
                  "measurement either way for discreteness, the finite-d 50 % point is in "
                  "[band lo, band hi]. Test: the distance from ρ̂ to the band in SEs, "
                  "two-sided normal p-value (1 inside the band), Holm across the file. Basis "
                  "pursuit's success depends only on the support and signs of x, so only ±1 "
                  f"nonzeros are run for ℓ1. {_grid_note(cells)}")))
        kin = kinematic_transitions(l1, cells)
        if len(kin):
            zk = (kin.rho_hat - kin.rho_kin).to_numpy() / np.sqrt(
                kin.se.to_numpy() ** 2 + kin.se_kin.to_numpy() ** 2)
            frame = pd.DataFrame({
                "nonzeros": kin.nonzeros.to_numpy(), "d": kin.d.to_numpy(),
                "δ": kin.delta.to_numpy(), "m": kin.m.to_numpy(),
                "problems": kin.problems.to_numpy(), "ρ̂ (50 %)": kin.rho_hat.to_numpy(),
                "SE": kin.se.to_numpy(), "ρ_kin(d)": kin.rho_kin.to_numpy(),
                "SE (Monte Carlo)": kin.se_kin.to_numpy(), "z": zk,
                "χ² (cells)": kin.chi2.to_numpy(), "cells in χ²": kin.chi2_cells.to_numpy(),
                "p (χ², descriptive)": kin.p_chi2.to_numpy(),
                "p_value": 2.0 * stats.norm.sf(np.abs(zk))})
            out.append(TheoryTable(
                "ℓ1 against the exact finite-d law: measured 50 % point beside the kinematic "
                "formula's", frame, p_col="p_value",
                note=("ρ_kin(d): the exact finite-d law of basis pursuit, P(success) = 1 − "
                      "2(v_{m+1} + v_{m+3} + …) (Crofton formula; v_j the intrinsic volumes of "
                      "the ℓ1 descent cone, sampled as the dimension of the face that holds "
                      f"the projection of a Gaussian vector, {KIN_SAMPLES} draws per (d, m) "
                      "shared by every k, `sparsesim.theory.l1_kinematic_prob`), put through "
                      "the same Firth fit as the data at the same cells and trials, so the "
                      "two 50 % points are the same estimator. SE (Monte Carlo): batch means "
                      f"over {KIN_GROUPS} batches of the draws. Test: z = (ρ̂ − ρ_kin)/√(SE² + "
                      "SE_MC²), two-sided normal, Holm across the file. The law does not use "
                      "ρ_W(δ): these rows check the solver and the success rule against an "
                      "exact finite-d prediction. χ²: the cell counts against the law over "
                      "the cells expecting at least 5 successes and 5 failures (shown, not "
                      "judged); cells several widths "
                      f"from the transition (normal approximation within {_KIN_FAR:g} of 0 or "
                      "1, no success and no failure seen) take 0 or 1.")))
            kx = _kinematic_extrapolations(kin)
            ext = extrapolations(l1)
            if len(kx):
                kx = kx.merge(ext, on=["nonzeros", "delta"], how="left")
                rw = np.asarray(theory.l1_phase_transition(kx.delta.to_numpy()), dtype=float)
                zx = (kx.rho_inf_kin.to_numpy() - rw) / kx.se_kin_inf.to_numpy()
                frame = pd.DataFrame({
                    "nonzeros": kx.nonzeros.to_numpy(), "δ": kx.delta.to_numpy(),
                    "d values": kx.ds_kin.to_numpy(),
                    "problems": kin.groupby(["nonzeros", "delta"]).problems.sum().reindex(
                        list(zip(kx.nonzeros, kx.delta))).to_numpy(),
                    "check": "ρ_∞ = ρ_W(δ)", "estimate": kx.rho_inf_kin.to_numpy(),
                    "SE": kx.se_kin_inf.to_numpy(), "theory": rw, "z": zx,
                    "error seen at 80 % power (%)": 100.0 * 2.8 * kx.se_kin_inf.to_numpy() / rw,
                    "χ² (exact drift)": kx.chi2_kin.to_numpy(), "dof": kx.dof_kin.to_numpy(),
                    "ρ_∞ (c/d)": kx.rho_inf.to_numpy(), "SE (c/d)": kx.se.to_numpy(),
                    "c (of c/d)": kx.c.to_numpy(), "χ² (c/d)": kx.chi2_inv_d.to_numpy(),
                    "ρ_∞ (c/√d)": kx.rho_inf_sqrt.to_numpy(),
                    "χ² (c/√d)": kx.chi2_inv_sqrt_d.to_numpy(),
                    "p_value": 2.0 * stats.norm.sf(np.abs(zx))})
                ext = ext[np.isfinite(ext.width_exponent_se.to_numpy(dtype=float))]
                parts = [frame]
                if len(ext):
                    zw = ((ext.width_exponent.to_numpy(dtype=float) + 0.5)
                          / ext.width_exponent_se.to_numpy(dtype=float))
                    parts.append(pd.DataFrame({
                        "nonzeros": ext.nonzeros.to_numpy(), "δ": ext.delta.to_numpy(),
                        "d values": ext.ds.to_numpy(), "problems": ext.problems.to_numpy(),
                        "check": "width ∝ d^β, β = −1/2",
                        "estimate": ext.width_exponent.to_numpy(dtype=float),
                        "SE": ext.width_exponent_se.to_numpy(dtype=float), "theory": -0.5,
                        "z": zw, "p_value": 2.0 * stats.norm.sf(np.abs(zw))}))
                out.append(TheoryTable(
                    "ℓ1: the 50 % point extrapolated to d → ∞ against ρ_W(δ), and the "
                    "transition width's exponent in d",
                    pd.concat(parts, ignore_index=True), p_col="p_value",
                    note=("Per δ, the ℓ1 rows above at every d measured. Drift model: the "
                          "exact law's, ρ̂(d) = ρ_∞ + (ρ_kin(d) − ρ_kin(∞)), with ρ_kin(d) from "
                          "the table above and its limit ρ_kin(∞) the weak threshold computed "
                          "by quadrature (`sparsesim.theory.l1_phase_transition_quadrature`, a "
                          "code path of its own: the function under test, "
                          "`l1_phase_transition`, gives only the theory column). Each d gives "
                          "ρ̂(d) − ρ_kin(d) + ρ_kin(∞); they are combined by inverse-variance "
                          "weights (data and Monte Carlo), the SE scaled by √(χ²/dof) when that "
                          "exceeds 1; χ² (exact drift) says whether the data drift as the law "
                          "does. One free parameter, so a single d gives a row and the SE is "
                          "not inflated by a fitted drift. Beside it, for comparison (not "
                          "judged): the fitted drift ρ_∞ + c/d (the exact statistical dimension "
                          "differs from dψ(k/d) by O(1) measurements, ALMT 2014 Prop. 4.5) and "
                          "ρ_∞ under c/√d, where two or more d exist. Test: (ρ_∞ − ρ_W)/SE, "
                          "two-sided normal; 'error seen at 80 % power' is 2.8 SE as a "
                          "percentage of ρ_W (the relative error in ρ_W these data detect four "
                          "times in five at α = 0.05, before Holm). Width: the logistic scale "
                          "1/|slope| in ρ at each d (bootstrap SE), log w = a + β log d by "
                          "weighted least squares; the claim β = −1/2 (the statistical "
                          "dimension's spread is O(√d) measurements) is tested the same way.")))
    greedy = tr[tr.algorithm != "l1"]
    if len(greedy):
        frames = []
        for col, label in RULES:
            if col not in cells.columns or cells[col].isna().any():
                continue
            g = greedy if col == "successes" else _order(
                transitions(cells[cells.algorithm != "l1"], success_col=col))
            rho_w = np.asarray(theory.l1_phase_transition(g.delta.to_numpy()), dtype=float)
            frames.append(pd.DataFrame({
                "success rule": label,
                "algorithm": g.algorithm.to_numpy(), "nonzeros": g.nonzeros.to_numpy(),
                "d": g.d.to_numpy(), "δ": g.delta.to_numpy(), "m": g.m.to_numpy(),
                "cells": g.cells.to_numpy(), "problems": g.problems.to_numpy(),
                "ρ̂ (50 %)": g.rho_hat.to_numpy(), "SE": g.se.to_numpy(),
                "SE (logistic)": g.se_model.to_numpy(),
                f"{pct} CI lo": g.ci_lo.to_numpy(), f"{pct} CI hi": g.ci_hi.to_numpy(),
                "ρ_W(δ) (ℓ1, for reference)": rho_w, "note": g.reason.to_numpy()}))
        out.append(TheoryTable(
            "IHT, NIHT, HTP and one-shot thresholding: empirical 50 % transitions (measured)",
            pd.concat(frames, ignore_index=True),
            note=("Measured only: these algorithms have no closed-form transition and no "
                  "published per-δ table was found. Setups follow published protocols where "
                  "one matches, so a reader can compare: GAGA (Blanchard and Tanner): ±1 "
                  "nonzeros, success ‖x̂ − x‖∞/‖x‖∞ < 0.01, logistic fit (the GAGA rows); "
                  "Magni: N = 800, ±1 coefficients, error < 1e-4, logistic fit, ρ₅₀ = −b₀/b₁ "
                  "(the d = 800 rows under the ‖·‖₂ rule). IHT uses the fixed step of the "
                  "config; NIHT the adaptive step of Blumensath and Davies (2010); HTP "
                  f"Foucart's (2011) least-squares step; thresholding keeps the k largest |Aᵀy| "
                  f"and solves least squares on them. {se_note}")))
    cl1 = cells[cells.algorithm == "l1"]
    if len(cl1):
        pred = np.asarray(theory.l1_recovery_prob(cl1.d.to_numpy(), cl1.m.to_numpy(),
                                                  cl1.k.to_numpy()), dtype=float)
        meas = cl1.success_rate.to_numpy()
        near = ((pred > 0.01) & (pred < 0.99)) | ((meas > 0) & (meas < 1))
        sub, pred = cl1[near], pred[near]
        frame = pd.DataFrame({
            "d": sub.d.to_numpy(), "δ": sub.delta.to_numpy(), "m": sub.m.to_numpy(),
            "k": sub.k.to_numpy(), "ρ = k/m": (sub.k / sub.m).to_numpy(),
            "problems": sub.n_trials.to_numpy(), "P(success) measured": sub.success_rate.to_numpy(),
            "SE": sub.success_stderr.to_numpy(), "normal approximation": pred,
            "measured − approx.": sub.success_rate.to_numpy() - pred})
        out.append(TheoryTable(
            "ℓ1 near the curve: measured success probability beside the kinematic normal "
            "approximation", frame.sort_values(["d", "δ", "k"]),
            note=("Normal approximation Φ((m − dψ(k/d))/σ) of the kinematic formula, σ² = "
                  "Var‖Π_C(g)‖² − 2δ(C) (McCoy–Tropp) with the variance of the sum at the "
                  "minimising τ (first order), from `sparsesim.theory.l1_recovery_prob`. "
                  "Descriptive: the approximation ignores the O(√(d/k)) gap between dψ and the "
                  "exact statistical dimension (which makes it pessimistic by up to a few "
                  "measurements), so its rows are shown, not judged.")))
    return out
