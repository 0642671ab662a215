"""Where the phase-transition sweep adds cells: a ρ grid refined from the data.

The grid a TOML declares is the *coarse pass* (``refine_pass = 0``): a ρ grid
per δ fixed in absolute terms, wide enough for any plausible transition, never
placed around the theory under test.  When a cell declares ``refine_passes =
P > 0`` and ``refine_points = r``, the sweep (through the :func:`refine` hook)
adds, after each pass ``p < P`` of its *column* (the cells that differ only in
``rho`` and ``refine_pass``), the cells of pass ``p + 1``:

1. for every algorithm of the column, its success rates over the distinct
   ``k`` measured so far (all passes);
2. the *crossing bracket*: from the ``k`` just below the first ``k`` whose
   rate is under 1/2 to the ``k`` just above the last ``k`` whose rate is at
   least 1/2 (so it holds every place where the measured rate crosses 1/2);
   no bracket when the rate never reaches 1/2, or never falls below it (the
   transition is outside the grid: nothing is added, and the tables say so);
3. up to ``r`` new integer ``k`` evenly spread strictly inside each bracket
   (the ``linspace`` of the bracket's ends, rounded), leaving out the ``k``
   already measured; the column's new cells are the union over algorithms,
   with ``rho = k / m`` and ``refine_pass = p + 1``.

A pass adds nothing once the brackets hold no unmeasured ``k``.  The rule reads
the rows only (never ``rho_W``), refined cells are keyed and seeded by their
parameters like every other cell, and a resumed sweep repeats the passes from
its journal (the same rows give the same cells).

Examples
--------
>>> import pandas as pd
>>> base = dict(algorithms="l1", nonzeros="sign", d=100, delta=0.5, trials=10,
...             max_iter=1000, step=0.65, rho_window=0.0, refine_passes=1, refine_points=3)
>>> rows = pd.DataFrame([dict(base, rho=k / 50, refine_pass=0, algorithm="l1", m=50, k=k,
...                           n_trials=10, successes=s)
...                      for k, s in ((5, 10), (10, 10), (15, 9), (20, 2), (25, 0))])
>>> sorted(c["rho"] * 50 for c in refine(rows))    # bracket [15, 20]: k = 16, 18, 19
[16.0, 18.0, 19.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cells import DEFAULTS, PARAMS, parse_algorithms

__all__ = ["refine", "crossing_bracket", "new_ks", "column_key"]

#: Parameters that vary inside one column (the rest identify it).
_INSIDE = ("rho", "refine_pass")


def column_key(params: dict) -> tuple:
    """The parameters that identify a cell's column (all but ``rho`` and ``refine_pass``)."""
    p = dict(DEFAULTS, **params)
    return tuple((name, p[name]) for name in sorted(PARAMS) if name not in _INSIDE)


def crossing_bracket(k: Any, rate: Any) -> tuple[int, int] | None:
    """``(k_lo, k_hi)`` holding every crossing of 1/2 by ``rate`` over sorted ``k``.

    ``None`` when the rate is never at least 1/2 or never below it.

    Examples
    --------
    >>> crossing_bracket([1, 2, 3, 4, 5], [1.0, 0.9, 0.4, 0.6, 0.0])
    (2, 5)
    >>> crossing_bracket([1, 2, 3], [0.2, 0.1, 0.0]) is None
    True
    """
    k = np.asarray(k)
    rate = np.asarray(rate, dtype=float)
    order = np.argsort(k)
    k, rate = k[order], rate[order]
    above = np.flatnonzero(rate >= 0.5)
    below = np.flatnonzero(rate < 0.5)
    if not above.size or not below.size:
        return None
    first_below, last_above = int(below[0]), int(above[-1])
    lo = max(first_below - 1, 0)
    hi = min(last_above + 1, k.size - 1)
    return int(k[lo]), int(k[hi])


def new_ks(bracket: tuple[int, int], points: int, known: set) -> list[int]:
    """Up to ``points`` integers evenly spread strictly inside ``bracket``, minus ``known``.

    Examples
    --------
    >>> new_ks((10, 20), 4, {14})
    [12, 16, 18]
    """
    lo, hi = bracket
    if hi - lo < 2 or points < 1:
        return []
    grid = np.rint(np.linspace(lo, hi, points + 2)[1:-1]).astype(int)
    return sorted({int(k) for k in grid if lo < k < hi and int(k) not in known})


def refine(cells) -> list[dict]:
    """The cells of the next pass of every column (the sweep's ``refine`` hook).

    ``cells`` holds the rows so far (parameters, ``algorithm``, ``m``, ``k``,
    ``n_trials``, ``successes``); see the module notes for the rule.
    """
    if cells is None or len(cells) == 0 or "refine_passes" not in cells.columns:
        return []
    out: list[dict] = []
    params = [p for p in PARAMS if p in cells.columns]
    for _, col in cells.groupby([p for p in params if p not in _INSIDE], sort=True,
                                dropna=False):
        first = dict(DEFAULTS, **{p: col[p].iloc[0] for p in params})
        passes, points = int(first["refine_passes"]), int(first["refine_points"])
        done_pass = int(col["refine_pass"].max())
        if passes < 1 or points < 1 or done_pass >= passes:
            continue
        m = int(col["m"].iloc[0])
        known = {int(k) for k in col["k"]}
        ks: set[int] = set()
        for alg in parse_algorithms(str(first["algorithms"])):
            rows = col[col["algorithm"] == alg]
            if not len(rows):
                continue
            by_k = rows.groupby("k")[["successes", "n_trials"]].sum()
            bracket = crossing_bracket(by_k.index.to_numpy(),
                                       (by_k.successes / by_k.n_trials).to_numpy())
            if bracket is not None:
                ks.update(new_ks(bracket, points, known))
        for k in sorted(ks):
            cell = {p: _plain(first[p]) for p in params}
            cell.update(rho=k / m, refine_pass=done_pass + 1)
            out.append(cell)
    return out


def _plain(value: Any) -> Any:
    """NumPy scalars from a DataFrame as Python ones (cells are plain dicts)."""
    return value.item() if isinstance(value, np.generic) else value
