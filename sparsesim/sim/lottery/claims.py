"""Pre-registered claims of the lottery sweeps: declared in the TOML, recorded in every cell.

A lottery sweep declares its claims before the run, one ``[[claims]]`` table
each::

    [[claims]]
    id = "a_accuracy_21"        # unique within the file
    x = "lottery"               # the condition the claim is about
    y = "dense"                 # its paired comparison (same seed)
    metric = "test_accuracy"    # a row column (see METRICS)
    direction = "greater"       # the sign of mean(x − y) under the claim
    density = 0.21              # judged at the round nearest this density

    [[claims]]                  # an equivalence question (TOST)
    id = "repro_lottery_092"
    test = "tost"
    x = "lottery"
    y = "published"             # the published value: mean of the notebook's two trials
    metric = "test_accuracy"
    density = 0.08              # = 1 − the published sparsity 0.92
    margin = 2.0                # points

:func:`check_claims` validates them against the expanded cells (conditions
present, density reached by the pruning schedule, a published value where
one is asked for) and returns them normalised; the sweep records their
canonical JSON in every cell (parameter ``claims``), so they are part of each
cell's identity and of the config hash.  :func:`declared_claims` reads them
back from the cells; the tables judge only those.  A claim of the seed
article that the cells do not carry (an older run, or one declared after its
cells ran) is shown as "post hoc", with its numbers and no verdict.

Examples
--------
>>> cells = [{"condition": c, "seed": 0, "schedule": "densities",
...           "densities": "0.5,0.2,0.05"} for c in ("dense", "lottery")]
>>> out = check_claims([{"id": "a", "x": "lottery", "y": "dense", "metric": "test_accuracy",
...                      "direction": "greater", "density": 0.21}], cells)
>>> out[0]["test"], out[0]["density"]
('paired', 0.21)
>>> check_claims([{"id": "b", "x": "reinit", "y": "dense", "metric": "test_accuracy",
...                "direction": "greater", "density": 0.21}], cells)
Traceback (most recent call last):
...
ValueError: claims[0] ('b'): x = 'reinit' is not a condition of the sweep (conditions: dense, lottery)
"""

from __future__ import annotations

import math
from typing import Any

from .._claims import declared_claims
from ...nn.lottery import ordered_conditions
from .cells import REACH_FACTOR, schedule_from_params
from .published import PUBLISHED_MNIST1D

__all__ = ["METRICS", "TESTS", "check_claims", "declared_claims", "published_reference"]

#: Metrics a claim may name: column → (scale to the reported unit, unit).
METRICS: dict[str, tuple[float, str]] = {
    "test_accuracy": (100.0, "points"),
    "test_accuracy_early_stop": (100.0, "points"),
    "val_accuracy_early_stop": (100.0, "points"),
    "early_stop_iter": (1.0, "steps"),
    "support_recall": (1.0, ""),
    "support_recall_normalised": (1.0, ""),
    "recall_chance": (1.0, ""),
}
#: ``paired``: one-sided paired test over seeds; ``tost``: equivalence with a published value.
TESTS = ("paired", "tost")
_KEYS = {"id", "x", "y", "metric", "y_metric", "direction", "density", "test", "margin"}
_DIRECTIONS = ("greater", "less")


def published_reference(condition: str, density: float) -> float | None:
    """The published value (%) at ``density`` = 1 − sparsity: mean of the two trials.

    >>> published_reference("lottery", 0.08)
    75.0
    >>> published_reference("lottery", 0.3) is None
    True
    """
    for sp, pub in PUBLISHED_MNIST1D.items():
        if abs((1.0 - sp) - density) <= 1e-9 and condition in pub:
            vals = pub[condition]
            return float(sum(vals) / len(vals))
    return None


def _num(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number; got {value!r}")
    return float(value)


def _reached(cells: list[dict]) -> tuple[float, ...]:
    """Round densities of the sweep's pruning schedule (the first non-dense cell's)."""
    for c in cells:
        if c.get("condition") != "dense":
            return tuple(schedule_from_params(c).densities)
    return tuple(schedule_from_params(cells[0]).densities) if cells else ()


def check_claims(claims: list[dict], cells: list[dict]) -> list[dict]:
    """Validate and normalise pre-registered claims against the sweep's cells.

    Raises ``ValueError`` naming the claim (index and id) and the key for an
    unknown key, a condition the sweep does not run, an unknown metric or
    direction, a density outside (0, 1) or not reached (within a factor
    ``REACH_FACTOR``) by the pruning schedule, or a TOST claim without a
    published value or a positive margin.
    """
    conds = list(ordered_conditions(str(c.get("condition")) for c in cells))
    reached = _reached(cells)
    datasets = {c.get("dataset", "mnist1d") for c in cells}
    out = []
    for i, raw in enumerate(claims):
        where = f"claims[{i}] ({raw.get('id')!r})"
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (keys: {sorted(_KEYS)})")
        test = raw.get("test", "paired")
        if test not in TESTS:
            raise ValueError(f"{where}: test must be one of {TESTS}; got {test!r}")
        for key in ("x", "y", "metric", "density"):
            if key not in raw:
                raise ValueError(f"{where}: missing key {key!r}")
        metric = raw["metric"]
        if metric not in METRICS:
            raise ValueError(f"{where}: metric must be one of {sorted(METRICS)}; got {metric!r}")
        x, y = raw["x"], raw["y"]
        if x not in conds:
            raise ValueError(f"{where}: x = {x!r} is not a condition of the sweep "
                             f"(conditions: {', '.join(conds)})")
        density = _num(where, "density", raw["density"])
        if not 0.0 < density < 1.0:
            raise ValueError(f"{where}: density must be in (0, 1) (the fraction of weights "
                             f"remaining); got {density!r}")
        near = min(reached, key=lambda d: abs(math.log(d / density))) if reached else math.nan
        if not reached or not abs(math.log(near / density)) <= math.log(REACH_FACTOR):
            raise ValueError(f"{where}: density = {density:g} is never reached by the pruning "
                             f"schedule (nearest round density {near:.3g}; a claim is judged "
                             f"at a round within a factor {REACH_FACTOR:g} of it)")
        c = {"id": str(raw["id"]), "test": test, "x": x, "y": y, "metric": metric,
             "density": density}
        if test == "paired":
            if y not in conds:
                raise ValueError(f"{where}: y = {y!r} is not a condition of the sweep "
                                 f"(conditions: {', '.join(conds)})")
            direction = raw.get("direction")
            if direction not in _DIRECTIONS:
                raise ValueError(f"{where}: direction must be one of {_DIRECTIONS}; "
                                 f"got {direction!r}")
            c["direction"] = direction
            y_metric = raw.get("y_metric", metric)
            if y_metric not in METRICS:
                raise ValueError(f"{where}: y_metric must be one of {sorted(METRICS)}; "
                                 f"got {y_metric!r}")
            if y_metric != metric:
                c["y_metric"] = y_metric
            if x == y and y_metric == metric:
                raise ValueError(f"{where}: x and y are the same condition and metric")
            if "margin" in raw:
                raise ValueError(f"{where}: margin is for test = 'tost' only")
        else:
            if y != "published":
                raise ValueError(f"{where}: a 'tost' claim compares with y = 'published'; "
                                 f"got y = {y!r}")
            if datasets != {"mnist1d"} or metric != "test_accuracy":
                raise ValueError(f"{where}: published values exist for test_accuracy on "
                                 "mnist1d only")
            if published_reference(x, density) is None:
                pub = ", ".join(f"{1 - sp:.2g}" for sp in PUBLISHED_MNIST1D)
                raise ValueError(f"{where}: no published value for {x!r} at density "
                                 f"{density:g} (published densities: {pub})")
            if "direction" in raw or "y_metric" in raw:
                raise ValueError(f"{where}: a 'tost' claim takes no direction or y_metric")
            if "margin" not in raw:
                raise ValueError(f"{where}: missing key 'margin' (the equivalence margin, "
                                 f"in {METRICS[metric][1]})")
            margin = _num(where, "margin", raw["margin"])
            if margin <= 0:
                raise ValueError(f"{where}: margin must be > 0; got {margin!r}")
            c["margin"] = margin
        out.append(c)
    return out
