"""``sparsesim plan``: the seeds a sweep's pre-registered claims need, planned before the run.

For every claim a sweep declares (``[[claims]]`` in its TOML) the plan
gives

* the paired standard deviation a pilot run shows for it (``pilot``: a
  ``cells.csv`` of an earlier run; the values are picked exactly as the
  tables pick them: the lottery round nearest the declared density, the
  seeds both conditions share); for an equivalence (TOST) claim the sd of
  the condition's values;
* the seeds needed to detect an effect of 1 and 2 units (points of
  accuracy) with the asked power, at Holm's first-step level ``alpha / m``
  over the file's ``m`` claims (:func:`sparsesim.stats.seeds_for_paired_claim`,
  :func:`sparsesim.stats.seeds_for_equivalence`: for TOST the "effect" is the
  equivalence margin, at a true difference of 0);
* the effect the sweep's own seed count detects with that power;
* the run's time on this machine, estimated from a short calibration: a
  few training steps of the sweep's network under its protocol, scaled to
  the sweep's trainings (per seed: one dense network plus one per round and
  non-dense condition, each ``steps`` long).

Without a pilot the sd is unknown: the seeds are given for effects of 0.5
and 1 standard deviation instead.

Examples
--------
>>> import pandas as pd
>>> tmp = getfixture("tmp_path")
>>> _ = (tmp / "s.toml").write_text('''
... [sim]
... name = "lottery_mnist1d"
... module = "sparsesim.sim.lottery"
... [params]
... schedule = "densities"
... densities = "0.5,0.2"
... [grid]
... condition = ["dense", "lottery"]
... seed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
... [[claims]]
... id = "a"
... x = "lottery"
... y = "dense"
... metric = "test_accuracy"
... direction = "greater"
... density = 0.2
... ''')
>>> p = plan(tmp / "s.toml", calibrate=False)
>>> p.table[["claim", "sweep seeds", "seeds for 0.5 sd", "seeds for 1 sd"]].values.tolist()
[['a', 10, 43, 13]]
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._table import FAMILY_ALPHA
from ._validation import check_bool, check_int, check_real
from .stats import (
    EXACT_BELOW,
    equivalence_min_margin,
    equivalence_power,
    paired_min_detectable,
    seeds_for_equivalence,
    seeds_for_paired_claim,
    sign_flip_floor,
)

__all__ = ["Plan", "Timing", "plan", "LOTTERY_MODULE"]

#: The simulation whose claims, pilots and training protocol the planner reads.
LOTTERY_MODULE = "sparsesim.sim.lottery"


@dataclass(frozen=True)
class Timing:
    """The run's estimated time from a calibration (seconds, on this machine).

    ``seconds_per_step`` is one model's training step (evaluations included
    at the sweep's rate) as measured; ``trainings`` counts the networks the
    sweep trains, each ``steps`` long; ``tasks`` the independent tasks an
    executor may run at once (one per seed unless seeds are batched).
    """

    seconds_per_step: float
    trainings: int
    steps: int
    tasks: int
    calibration_steps: int
    blas_threads: str
    load: str = ""

    @property
    def total_s(self) -> float:
        """Estimated time for one worker process."""
        return self.seconds_per_step * self.trainings * self.steps

    def with_workers(self, workers: int) -> float:
        """Estimated time for ``workers`` processes on as many free cores (ideal split)."""
        return self.total_s / max(1, min(int(workers), self.tasks))


@dataclass(frozen=True)
class Plan:
    """A power plan: one row per pre-registered claim, and how the figures were made."""

    name: str
    table: Any                          # pandas.DataFrame
    alpha: float
    power: float
    m: int
    n_seeds: int
    pilot: str | None
    notes: tuple[str, ...] = ()
    timing: Timing | None = None
    workers: int = 1
    effects: tuple[float, ...] = field(default=(1.0, 2.0))

    def __str__(self) -> str:
        level = self.alpha / self.m
        floor = sign_flip_floor(self.alpha, self.m)
        lines = [
            f"power plan for {self.name}: {self.m} pre-registered claim(s), {self.n_seeds} seeds "
            f"in the sweep",
            f"  each claim tested one-sided at alpha/m = {self.alpha:g}/{self.m} = {level:.3g} "
            f"(Holm's first step, the conservative bound), power {self.power:g}",
            f"  paired claims: exact sign-flip test below {EXACT_BELOW} seeds, which can reject "
            f"only from n = {floor} seeds (2^-n <= alpha/m)"
            + (f", so fewer than {EXACT_BELOW} seeds decide nothing" if floor >= EXACT_BELOW
               else "") + f"; paired t-test (noncentral t) from {EXACT_BELOW} seeds",
            "  TOST claims: two one-sided t-tests; the effect is read as the equivalence margin "
            "at a true difference of 0 (seeds to show equivalence within ±1, ±2; detectable: "
            "the smallest margin the sweep's seeds show)",
            "  pilot: " + (self.pilot if self.pilot else
                           "none: the sd is unknown, seeds are given per unit of sd "
                           "(effect/sd = 0.5, 1)"),
        ]
        lines += [f"  note: {n}" for n in self.notes]
        lines += ["", self.table.to_string(index=False), ""]
        t = self.timing
        if t is None:
            lines.append("run time: not calibrated (--no-calibrate)")
        else:
            lines.append(
                f"run time (an estimate from {t.calibration_steps} calibration steps on this "
                f"machine, {t.seconds_per_step * 1e3:.3g} ms per model and step, BLAS threads "
                f"{t.blas_threads}{t.load}): {t.trainings} trainings x {t.steps} steps = "
                f"{_duration(t.total_s)} for 1 worker process; "
                f"{_duration(t.with_workers(self.workers))} for {self.workers} worker processes on {self.workers} free cores "
                f"({t.tasks} independent tasks); slower where the machine is shared")
            if t.blas_threads == "library default":
                lines.append("  (BLAS used its default threads; with several worker processes "
                             "run and calibrate with OPENBLAS_NUM_THREADS=1, or the threads "
                             "oversubscribe the cores and the steps measure slow)")
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _fmt(x: float) -> str:
    return "none" if math.isinf(x) else f"{x:.3g}"


def _pilot_frame(pilot: Any):
    import pandas as pd  # noqa: PLC0415

    from .sim.lottery.summary import prep_cells  # noqa: PLC0415

    if isinstance(pilot, pd.DataFrame):
        c = pilot
    else:
        path = Path(pilot)
        if not path.is_file():
            raise FileNotFoundError(f"pilot: no such file {str(path)!r} (a cells.csv of an "
                                    "earlier run)")
        c = pd.read_csv(path)
    missing = [k for k in ("condition", "seed", "round", "density") if k not in c.columns]
    if missing:
        raise ValueError(f"pilot: not a lottery cells table; missing column {missing[0]!r}")
    c = c.copy()
    for col in ("test_accuracy", "test_accuracy_early_stop", "early_stop_iter"):
        if col not in c.columns:        # a metric the pilot lacks reads "no such column"
            c[col] = float("nan")
    return prep_cells(c)


def _pilot_sd(c, claim: dict, es_reason) -> tuple[float | None, int, float | None, str]:
    """(sd in the claim's unit, pilot seeds, pilot density, why none) for one claim."""
    from .sim.lottery.claims import METRICS  # noqa: PLC0415
    from .sim.lottery.tables import _metric_values, _paired_row, _where  # noqa: PLC0415

    if claim["test"] == "paired":
        row = _paired_row(c, claim["id"], claim, "—", es_reason)
        if row["kind"] != "claim":
            why = row["kind"].removeprefix("not testable: ").replace("the sweep has", "the "
                                                                        "pilot has")
            return None, int(row["n_seeds"]), None, why
        return float(row["_sd"]), int(row["n_seeds"]), float(row["density"]), ""
    w = _where(c, claim["density"])
    if isinstance(w, str):
        return None, 0, None, w
    vals = _metric_values(c, claim["x"], w[0], claim["metric"], None)
    if isinstance(vals, str):
        return None, 0, None, vals
    if len(vals) < 2:
        return None, len(vals), w[1], f"{len(vals)} pilot seed(s); an sd needs 2"
    scale = METRICS.get(claim["metric"], (1.0, ""))[0]
    return float(vals.std(ddof=1)) * scale, int(len(vals)), w[1], ""


def _normalised(i: int, claim: dict) -> dict:
    """A claim with its test named; a test the planner does not know is an error."""
    cl = dict(claim, test=claim.get("test", "paired"))
    if cl["test"] not in ("paired", "tost"):
        raise ValueError(f"claims[{i}] ({cl.get('id')!r}): the planner knows the tests "
                         f"'paired' and 'tost'; got test = {cl['test']!r}")
    if cl["test"] == "tost" and "margin" not in cl:
        raise ValueError(f"claims[{i}] ({cl.get('id')!r}): a 'tost' claim needs a margin")
    cl.setdefault("density", float("nan"))
    return cl


def _unit(metric: Any) -> str:
    from .sim.lottery.claims import METRICS  # noqa: PLC0415

    return METRICS.get(metric, (1.0, ""))[1]


def _claim_seeds(cells: tuple[dict, ...], claim: dict) -> int:
    """Seeds the sweep runs for the claim's conditions (both of a paired claim)."""
    def seeds(cond):
        return {int(c["seed"]) for c in cells if c.get("condition") == cond}
    s = seeds(claim.get("x"))
    if claim["test"] == "paired":
        s &= seeds(claim.get("y"))
    return len(s)


def _paired_detectable(sd: float, n: int, level: float, power: float) -> float:
    """The effect :func:`~sparsesim.stats.paired_claim_power` reaches ``power`` at (inf: none)."""
    from scipy import special  # noqa: PLC0415

    if n >= EXACT_BELOW:
        return paired_min_detectable(sd, n, level, power=power)
    if math.floor(math.ldexp(level, n)) < 1:
        return math.inf                 # below the sign-flip floor: nothing is significant
    return sd * float(special.ndtri(power ** (1.0 / n)))     # Phi(effect/sd)**n = power


def _tost_detectable(sd: float, n: int, alpha: float, m: int, power: float) -> float:
    """Smallest margin TOST shows with ``power`` for ``n`` runs at a true difference of 0."""
    return equivalence_min_margin(sd, n, alpha, m, power)


def _needed(claim: dict, effect: float, sd: float, alpha: float, m: int, power: float) -> int:
    if claim["test"] == "paired":
        return seeds_for_paired_claim(effect, sd, alpha, m, power)
    return seeds_for_equivalence(effect, sd, alpha, m, power)


def _blas_threads() -> str:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            return f"{var}={os.environ[var]}"
    return "library default"


def _load() -> str:
    """The machine's load while calibrating (a loaded machine measures slow steps)."""
    try:
        one = os.getloadavg()[0]
    except (AttributeError, OSError):       # pragma: no cover - platforms without it
        return ""
    return f", load average {one:.1f} on {os.cpu_count() or 1} cores"


def _seconds_per_step(params: dict, steps: int) -> float:
    """One model's training step of the cell's protocol on this machine (NumPy), measured."""
    import numpy as np  # noqa: PLC0415

    from .nn.mlp import init_mlp  # noqa: PLC0415
    from .nn.training import train  # noqa: PLC0415
    from .sim.lottery.cells import _dataset, _full, protocol_from_params  # noqa: PLC0415

    p = _full(params)
    proto = protocol_from_params(p)
    data = _dataset(p, "numpy", proto.dtype)
    w = init_mlp(proto.sizes, 1, seed=0, init=proto.init, backend="numpy", dtype=proto.dtype,
                 residual=proto.residual)
    masks = [(np.ones_like(W), np.ones_like(b)) for W, b in w]   # trainings are masked
    spec = proto.training.replace(use_graph=None)
    kw = dict(data_seed=0, masks=masks, residual=proto.residual)
    train(w, data, spec.replace(steps=2), **kw)                 # warm-up (allocation, caches)
    k = min(steps, proto.steps)
    t0 = time.perf_counter()
    train(w, data, spec.replace(steps=k), **kw)
    return (time.perf_counter() - t0) / k


def _timing(cells: tuple[dict, ...], calibration_steps: int) -> Timing:
    """Calibrate each distinct protocol of the sweep once; sum its trainings."""
    from .sim.lottery.cells import batch_key, protocol_from_params  # noqa: PLC0415

    groups: dict[tuple, list[dict]] = {}
    for c in cells:
        key = tuple(sorted((k, str(v)) for k, v in c.items()
                           if k not in ("condition", "seed", "claims")))
        groups.setdefault(key, []).append(c)
    total = 0.0
    trainings = steps_sum = 0
    tasks = len({batch_key({k: v for k, v in c.items() if k != "claims"}) for c in cells})
    measured: dict[tuple, float] = {}
    for group in groups.values():
        proto = protocol_from_params(group[0])
        seeds = {int(c["seed"]) for c in group}
        non_dense = {c["condition"] for c in group} - {"dense"}
        n_train = len(seeds) * (1 + proto.schedule.rounds * len(non_dense))
        key = tuple(sorted((k, str(v)) for k, v in group[0].items()
                           if k in ("dataset", "hidden", "residual", "dtype", "optimizer",
                                    "batch_size", "eval_every", "batch_order", "n_validation",
                                    "n_in", "n_out", "n_train", "n_test", "teacher_hidden")))
        if key not in measured:
            measured[key] = _seconds_per_step(group[0], calibration_steps)
        total += measured[key] * n_train * proto.steps
        trainings += n_train
        steps_sum += n_train * proto.steps
    per_step = total / steps_sum
    return Timing(seconds_per_step=per_step, trainings=trainings,
                  steps=round(steps_sum / trainings), tasks=tasks,
                  calibration_steps=calibration_steps, blas_threads=_blas_threads(),
                  load=_load())


def plan(name_or_toml: str | Path, *, pilot: Any = None, alpha: float = FAMILY_ALPHA,
         power: float = 0.8, calibrate: bool = True, workers: int | None = None,
         effects: tuple[float, float] = (1.0, 2.0), calibration_steps: int = 200) -> Plan:
    """Plan the seeds of a sweep's pre-registered claims (see the module notes).

    Parameters
    ----------
    name_or_toml : str or Path
        A sweep name or TOML path (as for :func:`sparsesim.run`).
    pilot : str, Path or pandas.DataFrame, optional
        An earlier run's ``cells.csv``: the paired sd of every claim.
    alpha : float, optional
        Family-wise level of the file's claims (default the tables' 0.01).
    power : float, optional
        Target power in ``(0, 1)``.
    calibrate : bool, optional
        Time a few training steps to estimate the run's duration.
    workers : int, optional
        Worker processes the time estimate is also given for (default: the
        machine's cores).
    effects : pair of float, optional
        Effects, in the claims' unit (points of accuracy), to plan for.
    calibration_steps : int, optional
        Training steps timed per protocol.

    Returns
    -------
    Plan
        ``str(plan)`` is the printed report; ``plan.table`` its rows.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError
        A malformed argument (named), a sweep without claims, a pilot that
        is not a lottery cells table.
    """
    import pandas as pd  # noqa: PLC0415

    from .sweep import load_config  # noqa: PLC0415

    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    power = check_real("power", power, low=0.0, high=1.0, low_open=True, high_open=True)
    calibrate = check_bool("calibrate", calibrate)
    workers = check_int("workers", (os.cpu_count() or 1) if workers is None else workers,
                        low=1)
    calibration_steps = check_int("calibration_steps", calibration_steps, low=1)
    if not (isinstance(effects, (tuple, list)) and len(effects) == 2):
        raise TypeError(f"effects must be a pair of numbers; got {effects!r}")
    effects = tuple(check_real("effects", e, low=0.0, low_open=True) for e in effects)

    cfg = load_config(name_or_toml)
    claims = [_normalised(i, cl) for i, cl in enumerate(cfg.claims)]
    if not claims:
        raise ValueError(f"{cfg.name}: the sweep declares no pre-registered claims "
                         "([[claims]] tables); there is nothing to plan")
    lottery = cfg.module_name == LOTTERY_MODULE
    if pilot is not None and not lottery:
        raise ValueError(f"pilot: reading a pilot's values is implemented for the lottery "
                         f"simulations ({LOTTERY_MODULE}); {cfg.name} is {cfg.module_name}")
    m = len(claims)
    level = alpha / m
    n_sweep = len({int(c["seed"]) for c in cfg.cells if "seed" in c})
    notes: list[str] = []

    # ---- the pilot's sd per claim (None: no pilot, or no data for this claim)
    sds: list[float | None] = [None] * m
    info: list[tuple[int, float | None, str]] = [(0, None, "")] * m
    pilot_name = None
    if pilot is not None:
        from .sim.lottery.tables import _es_reason  # noqa: PLC0415

        c = _pilot_frame(pilot)
        pilot_name = str(pilot) if not isinstance(pilot, pd.DataFrame) else "a DataFrame"
        es = _es_reason(c)
        for i, cl in enumerate(claims):
            sd, n_p, dens, why = _pilot_sd(c, cl, es)
            if sd is not None and not sd > 0:
                sd, why = None, "the pilot's values do not vary (sd 0)"
            sds[i], info[i] = sd, (n_p, dens, why)

    rows = []
    for i, cl in enumerate(claims):
        unit = _unit(cl.get("metric")) if lottery else ""
        n_claim = _claim_seeds(cfg.cells, cl) or n_sweep
        row = {"claim": cl["id"], "test": cl["test"],
               "compares": (f"{cl.get('x')} {'>' if cl.get('direction') == 'greater' else '<'} "
                            f"{cl.get('y')}" if cl["test"] == "paired"
                            else f"{cl.get('x')} = published ±{cl['margin']:g}"),
               "density": cl["density"]}
        if pilot is None:
            for z in (0.5, 1.0):
                row[f"seeds for {z:g} sd"] = _needed(cl, z, 1.0, alpha, m, power)
            row["sweep seeds"] = n_claim
            det = (_paired_detectable(1.0, n_claim, level, power) if cl["test"] == "paired"
                   else _tost_detectable(1.0, n_claim, alpha, m, power))
            row["detectable at sweep seeds (sd)"] = _fmt(det)
            rows.append(row)
            continue
        n_p, dens, why = info[i]
        sd = sds[i]
        source = "pilot"
        if sd is None:
            same = [s for j, s in enumerate(sds) if s is not None
                    and claims[j]["test"] == cl["test"]]
            others = same or [s for s in sds if s is not None]
            if not others:
                raise ValueError(f"pilot: no claim has pilot data ({cl['id']}: {why})")
            sd = max(others)
            source = "fallback"
            notes.append(f"{cl['id']}: no pilot data ({why}); the largest pilot sd of the "
                         f"other {cl['test']} claims, {sd:.3g}, stands in for it")
        row["pilot seeds"] = n_p
        row["pilot density"] = round(dens, 4) if dens is not None else float("nan")
        row["sd"] = round(sd, 3)
        row["sd from"] = source
        for e in effects:
            head = f"seeds for {e:g} ({unit})" if unit else f"seeds for {e:g}"
            row[head] = _needed(cl, e, sd, alpha, m, power)
        row["sweep seeds"] = n_claim
        det = (_paired_detectable(sd, n_claim, level, power) if cl["test"] == "paired"
               else _tost_detectable(sd, n_claim, alpha, m, power))
        head = f"detectable at sweep seeds ({unit})" if unit else "detectable at sweep seeds"
        row[head] = _fmt(det)
        if cl["test"] == "tost":
            row["power at its margin"] = round(
                equivalence_power(cl["margin"], sd, n_claim, alpha, m), 3)
        else:
            row["power at its margin"] = "—"
        rows.append(row)
    table = pd.DataFrame(rows)
    if "power at its margin" in table.columns and (table["power at its margin"] == "—").all():
        table = table.drop(columns=["power at its margin"])
    if pilot is not None:
        notes.insert(0, "sd: paired sd of x − y over the pilot's seeds at the lottery round "
                        "nearest the declared density (TOST: sd of x's values), in the "
                        "claim's unit")

    timing = None
    if calibrate:
        if lottery:
            timing = _timing(cfg.cells, calibration_steps)
        else:
            notes.append(f"no time estimate: calibration is implemented for the lottery "
                         f"simulations only ({cfg.module_name})")
    return Plan(name=cfg.name, table=table, alpha=alpha, power=power, m=m, n_seeds=n_sweep,
                pilot=pilot_name, notes=tuple(notes), timing=timing, workers=workers,
                effects=effects)
