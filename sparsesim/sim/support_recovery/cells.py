"""The sweep contract of the support-recovery simulation: parameters, thresholds, one cell."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._deprecation import renamed_names
from ...theory import laws
from ..._validation import check_choice, check_int, check_real

from ..._codec import hist_to_str
from .. import Invalid
from .engine import MAX_TRIAL_WEIGHTS, METHODS, group_support_recovery, support_recovery

__all__ = ["PARAMS", "DEFAULTS", "MODEL_KINDS", "T_RULES", "rule_threshold", "valid_cell",
           "run_cell", "cell_trials", "expected_hits", "caps", "support_law"]


PARAMS: dict[str, type] = {
    "kind": str,            # "exact" | "group" | "planted"
    "d": int,               # coordinates (exact, planted) or groups G (group)
    "k": int,               # support size: coordinates, or groups q
    "g": int,               # group size; 1 unless kind = "group"
    "mu_over_sigma": float,  # planted amplitude / sigma; 0 unless kind = "planted"
    "sigma": float,
    "t_rule": str,          # "optimal" | "universal" | "sigma"
    "t_scale": float,       # threshold = t_scale * (the rule's threshold)
    "trials": int,          # trials per cell (upper bound, see max_samples)
    "max_samples": int,     # cap on trials * d * g per cell (0: no cap)
    "method": str,          # "auto" | "array" | "philox" | "fused"
}
DEFAULTS: dict[str, Any] = {"kind": "exact", "g": 1, "mu_over_sigma": 0.0, "sigma": 1.0,
                            "t_rule": "optimal", "t_scale": 1.0, "max_samples": 0,
                            "method": "auto"}
#: The models of a cell's ``kind`` (``KINDS`` alone names the verdict kinds of
#: :mod:`sparsesim._table`).
MODEL_KINDS = ("exact", "group", "planted")
T_RULES = ("optimal", "universal", "sigma")

#: The closed-form law of each kind (:mod:`sparsesim.theory.laws`) from a cell's
#: parameters and its threshold ``t``; ``d`` and ``k`` count groups for ``"group"``.
_LAWS = {
    "exact": lambda p, t: laws.ExactLaw(p["d"], p["k"], t, p["sigma"]),
    "group": lambda p, t: laws.GroupLaw(p["d"], p["g"], p["k"], t, p["sigma"]),
    "planted": lambda p, t: laws.PlantedLaw(p["d"], p["k"], p["mu_over_sigma"] * p["sigma"], t,
                                            p["sigma"]),
}


def support_law(params: dict, t: float) -> laws.SupportLaw:
    """The law of ``S_hat`` of a cell's model (``params["kind"]``) at the threshold ``t``.

    Examples
    --------
    >>> support_law(dict(kind="group", d=10, k=2, g=4, sigma=1.0), 3.0)
    GroupLaw(G=10, g=4, q=2, tau=3.0, sigma=1.0)
    """
    return _LAWS[check_choice("kind", params["kind"], MODEL_KINDS)](params, t)


def rule_threshold(kind: str, t_rule: str, d: int, k: int, g: int = 1,
                   sigma: float = 1.0) -> float:
    """The base threshold of a rule (before ``t_scale``).

    * ``"optimal"``: maximiser of ``P(S_hat = S)`` for pure noise — for single
      weights ``sigma * Phi^-1(1 - k / (2 d))`` (selection probability
      ``k / d``); for groups ``sigma * sqrt(chi2_g.isf(q / G))``.
    * ``"universal"``: Donoho–Johnstone ``sigma * sqrt(2 log d)`` (single
      weights only).
    * ``"sigma"``: ``sigma`` itself (so ``t_scale`` is ``t / sigma``).

    ``d`` (coordinates, or groups for ``kind="group"``) and ``g`` are in
    ``[1, MAX_TRIAL_WEIGHTS]``, ``0 <= k <= d``, ``sigma > 0``.

    Raises
    ------
    TypeError, ValueError
        Invalid arguments (named in the message), a rule that does not apply,
        or a threshold beyond the float range (``sigma`` too large).

    Examples
    --------
    >>> round(rule_threshold("exact", "optimal", 16, 1), 6)   # Phi^-1(1 - 1/32)
    1.862732
    >>> round(rule_threshold("exact", "universal", 100, 1), 6)
    3.034854
    """
    from scipy import special, stats  # noqa: PLC0415

    check_choice("kind", kind, MODEL_KINDS)
    check_choice("t_rule", t_rule, T_RULES)
    d = check_int("d", d, low=1, high=MAX_TRIAL_WEIGHTS)
    k = check_int("k", k, low=0, high=d)
    g = check_int("g", g, low=1, high=MAX_TRIAL_WEIGHTS)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    if t_rule == "sigma":
        return sigma
    if t_rule == "universal":
        if g != 1:
            raise ValueError("t_rule='universal' is defined for single weights (g = 1) only")
        base = math.sqrt(2.0 * math.log(d))
    elif not 1 <= k <= d:
        raise ValueError(f"t_rule='optimal' needs 1 <= k <= d; got k={k}, d={d}")
    elif g == 1:
        base = float(-special.ndtri(k / (2.0 * d)))
    else:
        base = math.sqrt(float(stats.chi2.isf(k / d, g)))
    t = sigma * base
    if not math.isfinite(t):
        raise ValueError(f"sigma={sigma} is too large: the threshold sigma * {base:.6g} "
                         "overflows")
    return t


def valid_cell(params: dict) -> bool:
    """Keep the meaningful combinations of a cartesian grid.

    Unknown ``kind``/``t_rule``/``method`` names raise ``ValueError`` (a typo
    must not silently empty the sweep).  Dropped: ``k > d``; ``g > 1`` unless
    ``kind == "group"`` (and ``g == 1`` for it); ``mu_over_sigma > 0`` unless
    ``kind == "planted"`` (and ``0`` for it); ``t_rule="universal"`` for groups;
    ``t_rule="optimal"`` for planted cells or ``k == 0``.

    Examples
    --------
    >>> base = dict(DEFAULTS, d=16, k=2, trials=10)
    >>> valid_cell(base), valid_cell(dict(base, k=17)), valid_cell(dict(base, g=4))
    (True, Invalid('k > d'), Invalid('g > 1 applies to group cells only'))
    """
    p = dict(DEFAULTS, **params)
    check_choice("kind", p["kind"], MODEL_KINDS)
    check_choice("t_rule", p["t_rule"], T_RULES)
    check_choice("method", p["method"], METHODS)
    d, k, g, mu = p["d"], p["k"], p["g"], p["mu_over_sigma"]
    if k > d:
        return Invalid("k > d")
    if d < 1 or k < 0 or g < 1 or p["trials"] < 1:
        return Invalid("out of range: needs d >= 1, k >= 0, g >= 1, trials >= 1")
    kind, rule = p["kind"], p["t_rule"]
    if (kind == "group") != (g > 1):
        return Invalid("g > 1 applies to group cells only" if g > 1 else
                       "group cells need g > 1")
    if (kind == "planted") != (mu > 0):
        return Invalid("mu_over_sigma > 0 applies to planted cells only" if mu > 0 else
                       "planted cells need mu_over_sigma > 0")
    if rule == "universal" and kind == "group":
        return Invalid("t_rule 'universal' is not defined for group cells")
    if rule == "optimal" and (kind == "planted" or k == 0):
        return Invalid("t_rule 'optimal' needs an unplanted cell with k >= 1")
    return True


def cell_trials(params: dict) -> int:
    """The trials a cell runs: ``min(trials, max_samples // (d g))`` (at least 1), or
    ``trials`` when ``max_samples`` is 0.

    Examples
    --------
    >>> cell_trials(dict(DEFAULTS, d=1024, k=1, trials=10**9, max_samples=2**34))
    16777216
    """
    p = dict(DEFAULTS, **params)
    trials = int(p["trials"])
    if p["max_samples"] > 0:
        trials = max(1, min(trials, int(p["max_samples"]) // (int(p["d"]) * int(p["g"]))))
    return trials


def expected_hits(params: dict) -> float:
    """Expected number of trials with ``S_hat = S`` in a cell, from the closed forms.

    ``cell_trials(params) * P(S_hat = S)`` (exact, group or planted law at the
    cell's threshold): a power plan for the exact-set rows, which are tested
    directly only where this is at least
    :data:`sparsesim.sim.support_recovery.tables.MIN_EXPECTED`.

    Examples
    --------
    >>> round(expected_hits(dict(DEFAULTS, d=10000, k=1, trials=10**9, max_samples=2**34)), 1)
    63.2
    """
    p = dict(DEFAULTS, **params)
    kind, d, k, g, sigma = p["kind"], p["d"], p["k"], p["g"], p["sigma"]
    t = p["t_scale"] * rule_threshold(kind, p["t_rule"], d, k, g, sigma)
    log_p = support_law(p, t).recovery_prob(log=True)
    return cell_trials(p) * math.exp(float(log_p))


def caps(params: dict) -> dict:
    """The capped parameters of a cell: ``{"trials": (run, why)}`` when capped, else ``{}``."""
    run = cell_trials(params)
    return {"trials": (run, "max_samples // (d g)")} if run != params["trials"] else {}


def run_cell(params: dict, ctx: Any) -> dict:
    """One sweep cell -> one flat row of counts (see ``sims/support_recovery.toml``).

    Row columns: ``t`` and ``t_over_sigma`` (the threshold used), ``n_trials``
    (after the ``max_samples`` cap), ``hits``, ``topk_hits``, ``tp_sum``,
    ``fp_sum``, ``fp_sumsq``, ``size_hist``/``tp_hist``/``fp_hist`` (sparse
    ``"value:count"`` strings; for groups ``size_hist`` counts surviving
    groups), ``method_used``.
    """
    p = dict(DEFAULTS, **params)
    kind, d, k, g = p["kind"], p["d"], p["k"], p["g"]
    sigma = p["sigma"]
    t = p["t_scale"] * rule_threshold(kind, p["t_rule"], d, k, g, sigma)
    trials = cell_trials(p)
    common = dict(sigma=sigma, mu=p["mu_over_sigma"] * sigma, trials=trials, seed=ctx.seed,
                  backend=ctx.backend, method=p["method"])
    if kind == "group":
        r = group_support_recovery(d, g, k, t, **common)
        topk, size_hist = r.topq_hits, r.count_hist
    else:
        r = support_recovery(d, k, t, **common)
        topk, size_hist = r.topk_hits, r.size_hist
    tp_sum = int(np.dot(np.arange(k + 1), r.tp_hist))
    return {
        "t": t, "t_over_sigma": t / sigma, "n_trials": r.trials, "hits": r.hits,
        "topk_hits": topk, "tp_sum": tp_sum, "fp_sum": r.fp_sum, "fp_sumsq": r.fp_sumsq,
        "size_hist": hist_to_str(size_hist), "tp_hist": hist_to_str(r.tp_hist),
        "fp_hist": hist_to_str(r.fp_hist), "method_used": r.method,
    }


__getattr__ = renamed_names(__name__, {"KINDS": ("sparsesim.sim.support_recovery.MODEL_KINDS", MODEL_KINDS)})
