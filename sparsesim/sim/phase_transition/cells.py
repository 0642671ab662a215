"""The sweep contract of the phase-transition simulation: parameters and one cell.

A cell is one point ``(delta, rho)`` of the phase diagram for one dimension
``d`` and one distribution of the nonzeros: ``m = round(delta d)``
measurements, ``k = round(rho m)`` nonzeros, ``trials`` problems drawn from the
cell's seed (problem ``i`` from its own child seed), each solved by every
algorithm of ``algorithms`` (so the algorithms of a cell are compared on the
same problems).  One result row per algorithm.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..._validation import check_choice, check_int, check_real
from ...backend import to_numpy
from .engine import ALGORITHMS, NONZEROS, SUCCESS_TOL, check_sizes, draw_problems, \
    relative_error, solve

__all__ = ["PARAMS", "DEFAULTS", "NEUTRAL_DEFAULTS", "TIMING_COLUMNS", "LINF_TOL", "sizes", "parse_algorithms",
           "check_cell", "valid_cell", "cell_trials", "run_cell"]

#: Parameters of a ``sims/phase_transition.toml`` cell.
PARAMS: dict[str, type] = {
    "algorithms": str,     # comma-separated subset of ALGORITHMS
    "nonzeros": str,       # "sign" | "gauss"
    "d": int,
    "delta": float,        # m / d in (0, 1)
    "rho": float,          # k / m in (0, 1)
    "trials": int,
    "max_iter": int,
    "step": float,         # fixed IHT step
    "rho_window": float,   # retired (must be 0): a window around rho_W assumed the answer
    "refine_pass": int,    # 0: the declared (coarse) grid; p > 0: added by refine pass p
    "refine_passes": int,  # refinement passes after the coarse grid (0: none); see .refine
    "refine_points": int,  # new rho points per pass and algorithm inside the crossing bracket
    "refine_trials": int,  # problems of a refined cell (0: trials)
}
DEFAULTS: dict[str, Any] = {"max_iter": 1000, "step": 0.65, "rho_window": 0.0,
                            "refine_pass": 0, "refine_passes": 0, "refine_points": 0,
                            "refine_trials": 0}
#: Parameters left out of a cell's identity (and seed) at these values.
NEUTRAL_DEFAULTS: dict[str, Any] = {"rho_window": 0.0, "refine_pass": 0, "refine_passes": 0,
                                    "refine_points": 0, "refine_trials": 0}
#: Row columns that measure time (left out of the determinism checks, sparsesim.testing).
TIMING_COLUMNS = ("alg_seconds",)
#: GAGA's success rule (Blanchard and Tanner): relative l-infinity error below this.
LINF_TOL = 0.01


def sizes(d: int, delta: float, rho: float) -> tuple[int, int]:
    """``m = round(delta d)`` and ``k = round(rho m)`` (halves rounded up).

    Examples
    --------
    >>> sizes(400, 0.5, 0.385)
    (200, 77)
    """
    m = int(math.floor(delta * d + 0.5))
    return m, int(math.floor(rho * m + 0.5))


def parse_algorithms(text: str) -> tuple[str, ...]:
    """``"l1, niht"`` -> ``("l1", "niht")``; each must be one of :data:`ALGORITHMS`.

    Examples
    --------
    >>> parse_algorithms("l1,niht")
    ('l1', 'niht')
    """
    if not isinstance(text, str):
        raise TypeError(f"algorithms must be a comma-separated string; got {type(text).__name__}")
    names = tuple(a.strip() for a in text.split(",") if a.strip())
    if not names:
        raise ValueError("algorithms must name at least one of " + ", ".join(ALGORITHMS))
    for a in names:
        check_choice("algorithms", a, ALGORITHMS)
    if len(set(names)) != len(names):
        raise ValueError(f"algorithms must not repeat a name; got {text!r}")
    return names


def check_cell(params: dict) -> dict:
    """Validate a cell (naming the bad argument) and return it with ``m``, ``k`` added.

    ``delta`` and ``rho`` must lie in the open interval (0, 1), ``d >= 2``,
    ``1 <= k <= m <= d``, ``trials >= 1``, ``max_iter >= 1``, ``step > 0``,
    ``rho_window = 0`` (a grid centred on ``rho_W`` cannot reject it: a real
    transition outside the window came out "not testable"; declare an absolute
    grid and let :mod:`.refine` add points where the data cross 50 %),
    ``0 <= refine_pass <= refine_passes``, ``refine_points >= 0``,
    ``refine_trials >= 0``.

    Examples
    --------
    >>> check_cell({"algorithms": "l1", "nonzeros": "sign", "d": 100, "delta": 1.5,
    ...             "rho": 0.2, "trials": 2})
    Traceback (most recent call last):
    ...
    ValueError: delta must be in (0, 1); got 1.5
    """
    c = _check_params(dict(DEFAULTS, **params))
    m, k = sizes(c["d"], c["delta"], c["rho"])
    check_sizes(c["d"], m, k)
    return dict(c, m=m, k=k)


def _check_params(c: dict) -> dict:
    parse_algorithms(c["algorithms"])
    check_choice("nonzeros", c["nonzeros"], NONZEROS)
    d = check_int("d", c["d"], low=2)
    delta = check_real("delta", c["delta"], low=0.0, high=1.0, low_open=True, high_open=True)
    rho = check_real("rho", c["rho"], low=0.0, high=1.0, low_open=True, high_open=True)
    check_int("trials", c["trials"], low=1)
    check_int("max_iter", c["max_iter"], low=1)
    check_real("step", c["step"], low=0.0, low_open=True)
    if c["rho_window"] != 0:
        raise ValueError(f"rho_window must be 0; got {c['rho_window']!r} (a rho grid centred "
                         "on the theory under test cannot reject it: declare an absolute grid "
                         "with refine_passes / refine_points instead)")
    passes = check_int("refine_passes", c["refine_passes"], low=0)
    check_int("refine_pass", c["refine_pass"], low=0, high=passes)
    check_int("refine_points", c["refine_points"], low=0)
    check_int("refine_trials", c["refine_trials"], low=0)
    return dict(c, d=d, delta=delta, rho=rho)


def valid_cell(params: dict) -> bool:
    """Keep the cells with ``1 <= k <= m <= d``.

    Bad values (``delta`` or ``rho`` outside (0, 1), unknown names, ``step <= 0``,
    ``rho_window != 0``) raise instead of being dropped.  No cell is kept or
    dropped by its distance to the theory under test.

    Examples
    --------
    >>> cell = {"algorithms": "l1", "nonzeros": "sign", "d": 100, "delta": 0.5,
    ...         "rho": 0.005, "trials": 2}
    >>> valid_cell(cell)                      # k = round(0.25) = 0
    False
    >>> valid_cell(dict(cell, rho=0.9))
    True
    """
    c = dict(DEFAULTS, **params)
    _check_params(c)
    m, k = sizes(c["d"], c["delta"], c["rho"])
    return 1 <= k <= m <= c["d"]   # a grid point too small for one nonzero is dropped


def cell_trials(params: dict) -> int:
    """Problems a cell runs: ``refine_trials`` for a refined cell when positive, else
    ``trials``.

    Examples
    --------
    >>> cell_trials({"trials": 20, "refine_pass": 1, "refine_trials": 200})
    200
    """
    c = dict(DEFAULTS, **params)
    if c["refine_pass"] > 0 and c["refine_trials"] > 0:
        return int(c["refine_trials"])
    return int(c["trials"])


def run_cell(params: dict, ctx: Any) -> list[dict]:
    """One cell -> one row per algorithm.

    A refined cell (``refine_pass > 0``) runs ``refine_trials`` problems when
    that is positive, else ``trials``.

    Columns: ``algorithm``, ``m``, ``k``, ``n_trials``, ``successes``
    (``||x_hat - x||_2 / ||x||_2 <= SUCCESS_TOL``), ``successes_linf``
    (GAGA's rule, ``||x_hat - x||_inf / ||x||_inf < LINF_TOL``), ``success_rate``,
    ``success_stderr`` (binomial, ``sqrt(p (1 - p) / n)``),
    ``median_rel_err``, ``max_rel_err_success`` (largest error among the
    successes: how far below the threshold they are), ``mean_iterations``,
    ``solver_failures`` (problems without a solution, NaN rows), ``alg_seconds``.
    """
    c = check_cell(params)
    d, m, k, trials = c["d"], c["m"], c["k"], cell_trials(c)
    A, x, y = draw_problems(ctx.seed, trials, d=d, m=m, k=k, nonzeros=c["nonzeros"],
                            backend=ctx.backend)
    rows = []
    for alg in parse_algorithms(c["algorithms"]):
        ctx.progress(f"{alg} d={d} m={m} k={k}")
        t0 = time.perf_counter()
        res = solve(alg, A, y, k, step=c["step"], max_iter=c["max_iter"])
        err = to_numpy(relative_error(res.x, x))
        xn, xh = to_numpy(x), to_numpy(res.x)
        with np.errstate(invalid="ignore"):
            err_inf = np.abs(xh - xn).max(axis=-1) / np.abs(xn).max(axis=-1)
        seconds = time.perf_counter() - t0
        ok = err <= SUCCESS_TOL            # NaN compares False: a failure
        n_ok = int(ok.sum())
        p = n_ok / trials
        rows.append({
            "algorithm": alg, "m": m, "k": k, "n_trials": trials, "successes": n_ok,
            "successes_linf": int((err_inf < LINF_TOL).sum()),
            "success_rate": p, "success_stderr": math.sqrt(p * (1 - p) / trials),
            "median_rel_err": float(np.nanmedian(err)) if np.isfinite(err).any() else math.nan,
            "max_rel_err_success": float(err[ok].max()) if n_ok else math.nan,
            "mean_iterations": float(np.mean(res.iterations)),
            "solver_failures": int(np.isnan(err).sum()), "alg_seconds": round(seconds, 4),
        })
    return rows
