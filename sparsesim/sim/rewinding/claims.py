"""Pre-registered claims of the rewinding sweeps (the seed's C11), judged over seeds.

A rewinding sweep with one mask per seed and density (``mask_rule =
"shared"``) declares its claims before the run, one ``[[claims]]`` table
each, judged at the ticket round whose nominal density is nearest
``density``::

    [[claims]]                     # (i) some τ > 0 beats τ = 0
    id = "i_rewind_04"
    test = "rewind_beats_zero"
    metric = "test_accuracy"
    density = 0.044
    margin = 1.0                   # points: ✗ when every τ > 0 is shown below τ = 0 + margin

    [[claims]]                     # (ii) smaller λ_max at w_τ goes with better tickets
    id = "ii_lambda_max_04"
    test = "rank"
    x = "lambda_max"
    direction = "less"             # the sign of the within-seed rank correlation claimed
    density = 0.044
    margin = 0.3                   # ✗ when the mean correlation is shown above −0.3

    [[claims]]                     # (iii) stable τ goes with a ticket that matches dense
    id = "iii_stable_04"
    test = "stable_matches_dense"
    density = 0.044
    barrier = 0.02                 # "stable": LMC error barrier below 2 %
    margin = 1.0                   # points below dense still "matching"

The tests (one-sided, seeds the unit of replication; each claim one row of
the file's Holm family, :mod:`sparsesim._table`):

``rewind_beats_zero``
    For each τ > 0 the paired difference ``acc(τ) − acc(0)`` over seeds.  The
    claim's p-value is Holm's first step over the τ values (the smallest
    one-sided p-value in the claim's direction times their number): some τ is
    better.  The opposite p-value is the intersection–union test that *every*
    τ is below ``τ = 0`` by less than ``margin`` (the largest of the τ's
    one-sided p-values for ``mean < margin``).
``rank``
    Per seed, Spearman's ρ between ``x`` at ``w_τ`` and the ticket's test
    accuracy across the τ values; the claim is that the mean ρ has the sign
    of ``direction`` (``"less"``: negative — a smaller ``x`` goes with a
    better ticket).  The opposite p-value tests that the mean ρ lies on the
    other side of ``∓margin`` (no association as strong as ``margin``).
``stable_matches_dense``
    Per seed, the mean over its stable τ (barrier below ``barrier``) of
    ``acc(τ) − acc(dense)``; the claim is non-inferiority, a mean above
    ``−margin`` points; the opposite p-value tests a mean below ``−margin``.
    Seeds without a stable τ do not count; fewer than 3 such seeds leave the
    claim not testable, saying so.

Every paired test is :func:`sparsesim.stats.paired_test` (the exact
sign-flip test below 8 seeds, the paired t-test above).

Examples
--------
>>> cells = [{"mask_rule": "shared", "tau": t, "ticket_round": r, "seed": 0,
...           "prune_fraction": 0.2, "rounds": 14, "output_rate": 0.5}
...          for t in (0, 5, 20) for r in (7, 14)]
>>> check_claims([{"id": "i", "test": "rewind_beats_zero", "metric": "test_accuracy",
...                "density": 0.044, "margin": 1.0}], cells)[0]["ticket_round"]
14
>>> check_claims([{"id": "i", "test": "rewind_beats_zero", "metric": "test_accuracy",
...                "density": 0.5, "margin": 1.0}], cells)
Traceback (most recent call last):
...
ValueError: claims[0] ('i'): density = 0.5 is not a ticket round of the sweep (ticket rounds 7, 14 at nominal densities 0.21, 0.044; a claim is judged at a round within a factor 1.5 of it)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._claims import declared_claims
from ...nn.lottery import PruningSchedule
from ...stats import paired_min_detectable, paired_test, spearman
from .params import full_params, ticket_round_of

__all__ = ["TESTS", "METRICS", "RANK_X", "check_claims", "declared_claims", "judge_claims"]

#: The claim tests (module notes).
TESTS = ("rewind_beats_zero", "rank", "stable_matches_dense")
#: Ticket metrics a claim may compare (row column → scale to points).
METRICS = {"test_accuracy": 100.0, "test_accuracy_early_stop": 100.0}
#: Geometry at ``w_τ`` a rank claim may name.
RANK_X = ("lambda_max", "neg_mass_slq", "neg_ratio", "lmc_barrier")
#: A claim's density must be within this factor of a ticket round's nominal density.
REACH_FACTOR = 1.5
_DIRECTIONS = ("less", "greater")
_KEYS = {"rewind_beats_zero": {"id", "test", "metric", "density", "margin"},
         "rank": {"id", "test", "x", "metric", "direction", "density", "margin"},
         "stable_matches_dense": {"id", "test", "metric", "density", "barrier", "margin"}}
_MIN_SEEDS = 3


def _num(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number; got {value!r}")
    return float(value)


def _ticket_rounds(cells: list[dict]) -> dict[int, float]:
    """Ticket round → its nominal density (the fixed-fraction schedule's)."""
    out = {}
    for c in cells:
        p = full_params(c)
        sched = PruningSchedule.fixed_fraction(p["prune_fraction"], p["rounds"],
                                               output_rate=p["output_rate"])
        r = ticket_round_of(p)
        out[r] = float(sched.densities[r - 1])
    return dict(sorted(out.items()))


def check_claims(claims: list[dict], cells: list[dict]) -> list[dict]:
    """Validate and normalise pre-registered rewinding claims against the sweep's cells.

    Raises ``ValueError`` naming the claim (index and id) and the key: cells
    not of ``mask_rule = "shared"`` (the claims compare rewind points under one
    mask), an unknown test or key, a density that no ticket round reaches,
    τ = 0 missing (test ``rewind_beats_zero``), fewer than 3 rewind points
    (``rank``), a margin or barrier out of range.  The normalised claim
    records the ``ticket_round`` it is judged at.
    """
    rules = {full_params(c)["mask_rule"] for c in cells}
    if rules != {"shared"}:
        raise ValueError("claims need mask_rule = 'shared' in every cell (one mask per seed and "
                         f"density, shared by every tau); the sweep has {sorted(rules)}")
    rounds = _ticket_rounds(cells)
    out = []
    for i, raw in enumerate(claims):
        where = f"claims[{i}] ({raw.get('id')!r})"
        test = raw.get("test")
        if test not in TESTS:
            raise ValueError(f"{where}: test must be one of {TESTS}; got {test!r}")
        unknown = sorted(set(raw) - _KEYS[test])
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} for test {test!r} "
                             f"(keys: {sorted(_KEYS[test])})")
        for key in sorted(_KEYS[test] - {"id", "metric"}):
            if key not in raw:
                raise ValueError(f"{where}: missing key {key!r}")
        density = _num(where, "density", raw["density"])
        if not 0.0 < density < 1.0:
            raise ValueError(f"{where}: density must be in (0, 1); got {density!r}")
        near = min(rounds, key=lambda r: abs(math.log(rounds[r] / density)))
        if abs(math.log(rounds[near] / density)) > math.log(REACH_FACTOR):
            raise ValueError(
                f"{where}: density = {density:g} is not a ticket round of the sweep (ticket "
                f"rounds {', '.join(str(r) for r in rounds)} at nominal densities "
                f"{', '.join(f'{d:.2g}' for d in rounds.values())}; a claim is judged at a round "
                f"within a factor {REACH_FACTOR:g} of it)")
        taus = sorted({int(c["tau"]) for c in cells if ticket_round_of(full_params(c)) == near})
        metric = raw.get("metric", "test_accuracy")
        if metric not in METRICS:
            raise ValueError(f"{where}: metric must be one of {sorted(METRICS)}; got {metric!r}")
        margin = _num(where, "margin", raw["margin"])
        if margin <= 0:
            raise ValueError(f"{where}: margin must be > 0; got {margin!r}")
        c = {"id": str(raw["id"]), "test": test, "metric": metric, "density": density,
             "ticket_round": near, "margin": margin}
        if test == "rewind_beats_zero":
            if 0 not in taus or len(taus) < 2:
                raise ValueError(f"{where}: needs tau = 0 and at least one tau > 0 at ticket "
                                 f"round {near}; the sweep has tau = {taus}")
        elif test == "rank":
            if raw["x"] not in RANK_X:
                raise ValueError(f"{where}: x must be one of {RANK_X}; got {raw['x']!r}")
            if raw["direction"] not in _DIRECTIONS:
                raise ValueError(f"{where}: direction must be one of {_DIRECTIONS}; "
                                 f"got {raw['direction']!r}")
            if margin > 1:
                raise ValueError(f"{where}: margin is a rank correlation, in (0, 1]; "
                                 f"got {margin!r}")
            if len(taus) < 3:
                raise ValueError(f"{where}: a rank claim needs at least 3 rewind points at "
                                 f"ticket round {near}; the sweep has tau = {taus}")
            c.update(x=raw["x"], direction=raw["direction"])
        else:
            barrier = _num(where, "barrier", raw["barrier"])
            if not 0.0 < barrier < 1.0:
                raise ValueError(f"{where}: barrier must be in (0, 1) (an error rate); "
                                 f"got {barrier!r}")
            c["barrier"] = barrier
        out.append(c)
    return out


def _ci(d: np.ndarray) -> tuple[float, float]:
    """95 % t interval of the mean of ``d``."""
    from scipy import stats as sst  # noqa: PLC0415

    if d.size < 2:
        return math.nan, math.nan
    h = sst.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean() - h), float(d.mean() + h)


def _pivot(g, col: str):
    return g.pivot_table(index="seed", columns="tau", values=col, aggfunc="first")


def _judge_one(c: dict, g, alpha: float) -> dict:
    """One claim's row: effect, CI, the claim's and the opposite p-value (module notes)."""
    test, margin = c["test"], c["margin"]
    scale = METRICS[c["metric"]]
    row = {"claim": c["id"], "test": test, "density": c["density"],
           "ticket_round": c["ticket_round"], "margin": margin}
    if test == "rewind_beats_zero":
        acc = _pivot(g, c["metric"]).dropna() * scale
        taus = [t for t in acc.columns if t != 0]
        diffs = {t: (acc[t] - acc[0]).to_numpy() for t in taus}
        p_up = {t: paired_test(diffs[t], np.zeros_like(diffs[t]), "greater")[0] for t in taus}
        p_below = {t: paired_test(diffs[t] - margin, np.zeros_like(diffs[t]), "less")[0]
                   for t in taus}
        best = min(taus, key=lambda t: (p_up[t], -diffs[t].mean()))
        d = diffs[best]
        row.update(statistic=f"best τ = {best}: acc(τ) − acc(0)", effect=float(d.mean()),
                   p_claim=min(1.0, len(taus) * p_up[best]),
                   p_opposite=max(p_below.values()), seeds=int(d.size))
        name = paired_test(d, np.zeros_like(d))[1]
    elif test == "rank":
        x, acc = _pivot(g, c["x"]), _pivot(g, c["metric"])
        rhos = []
        for s in acc.index:
            r, _p, n = spearman(x.loc[s].to_numpy(float), acc.loc[s].to_numpy(float))
            if n >= 3 and not math.isnan(r):
                rhos.append(r)
        d = np.asarray(rhos, dtype=float)
        sign = -1.0 if c["direction"] == "less" else 1.0
        row.update(statistic=f"mean within-seed Spearman ρ({c['x']}, accuracy) across τ",
                   effect=float(d.mean()) if d.size else math.nan, seeds=int(d.size))
        if d.size < _MIN_SEEDS:
            row.update(p_claim=math.nan, p_opposite=math.nan,
                       reason=f"only {d.size} seeds with a finite correlation")
            return row
        z = np.zeros_like(d)
        alt, opp = ("less", "greater") if sign < 0 else ("greater", "less")
        row.update(p_claim=paired_test(d, z, alt)[0],
                   p_opposite=paired_test(d - sign * margin, z, opp)[0])
        name = paired_test(d, z)[1]
    else:
        acc, bar = _pivot(g, c["metric"]) * scale, _pivot(g, "lmc_barrier")
        dense = g.groupby("seed")["dense_test_accuracy"].first() * scale
        per_seed, n_stable = [], 0
        for s in acc.index:
            stable = bar.loc[s] < c["barrier"]
            n_stable += int(stable.sum())
            if stable.any():
                per_seed.append(float((acc.loc[s][stable] - dense.loc[s]).mean()))
        d = np.asarray(per_seed, dtype=float)
        row.update(statistic=(f"acc(stable τ) − acc(dense), {n_stable} stable of "
                              f"{int(bar.notna().to_numpy().sum())} tickets"),
                   effect=float(d.mean()) if d.size else math.nan, seeds=int(d.size))
        if d.size < _MIN_SEEDS:
            row.update(p_claim=math.nan, p_opposite=math.nan,
                       reason=(f"only {d.size} seeds have a stable τ (barrier < "
                               f"{c['barrier']:g}); at least {_MIN_SEEDS} are needed"))
            return row
        z = np.zeros_like(d)
        row.update(p_claim=paired_test(d + margin, z, "greater")[0],
                   p_opposite=paired_test(d + margin, z, "less")[0])
        name = paired_test(d, z)[1]
    lo, hi = _ci(d)
    sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
    row.update(ci_low=lo, ci_high=hi, sd=sd, test_name=name,
               detectable=paired_min_detectable(sd, int(d.size), alpha)
               if d.size > 1 and sd > 0 else math.nan)
    return row


def judge_claims(cells, alpha: float) -> list[dict]:
    """One row per declared claim (empty when the cells carry none).

    ``alpha`` is the per-claim level used for the detectable effect (the
    file's family-wise α over its number of claims: Holm's first step).
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    claims, _why = declared_claims(cells)
    if not claims:
        return []
    shared = cells[cells["mask_rule"] == "shared"] if "mask_rule" in cells else cells
    out = []
    for c in claims:
        g = shared[shared["prune_round"] == c["ticket_round"]]
        out.append(_judge_one(c, g, alpha))
    return out
