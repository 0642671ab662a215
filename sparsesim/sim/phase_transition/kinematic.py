"""The exact finite-d law of basis pursuit at the cells of a sweep, with a stored cache.

:func:`sparsesim.theory.l1_kinematic_prob` samples the law; at the tables'
precision (20,000 Gaussian draws per ``(d, m)``) the committed sweeps need a
few hundred ``(d, m, k)`` values, a minute or more of CPU.  Each value is a
deterministic function of ``(d, m, k)``, the number of draws, the batches and
the seed ``[d, m, 20261207]`` (the draws do not depend on which other ``k`` are
asked for), so the values the committed results use are stored in
``kinematic_cache.json`` beside this module and read back instead of being
sampled again; anything not stored is sampled.  The store is a cache, not data:
``tests/test_kinematic_law.py`` samples stored entries again and requires them
equal up to the last bits a float reduction may change between CPUs, and a law
other than :func:`sparsesim.theory.l1_kinematic_prob` (a planted error in a
test) never reads it.  Refresh it after a sweep with::

    python -m sparsesim.sim.phase_transition.kinematic_refresh results/phase_transition_l1

Examples
--------
>>> p, se, per = exact_curve(theory.l1_kinematic_prob, 100, 50, (10, 30), n_samples=2000,
...                          groups=4)
>>> bool(p[0] > 0.99 and p[1] < 0.01), per.shape
(True, (4, 2))
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ... import theory

__all__ = ["CACHE_PATH", "SEED_TAG", "KIN_SAMPLES", "KIN_GROUPS", "exact_curve", "cached_keys",
           "kinematic_cells", "update_cache", "main"]

#: The stored values (package data).
CACHE_PATH = Path(__file__).with_name("kinematic_cache.json")
#: Last element of every seed, ``[d, m, SEED_TAG]``.
SEED_TAG = 20261207

#: Gaussian draws per ``(d, m)`` behind the exact finite-d law of an l1 row.
KIN_SAMPLES = 20000
#: Batches of those draws for the Monte Carlo standard error of ``rho_kin`` (batch means).
KIN_GROUPS = 20
#: Cells whose normal-approximation probability lies within this of 0 or 1 take that
#: value instead of a Monte Carlo estimate (several widths from the transition, where
#: the exact law is 0 or 1 to more digits than the counts can show).
_KIN_FAR = 1e-6


def _l1_groups(cells):
    """``((nonzeros, d, delta), m, k, successes, trials)`` per l1 row, cells pooled by ``k``."""
    c = cells[cells.algorithm == "l1"]
    for (nz, d, delta), sub in c.groupby(["nonzeros", "d", "delta"], sort=True):
        by_k = sub.groupby("k")[["successes", "n_trials"]].sum().sort_index()
        yield ((nz, int(d), float(delta)), int(sub.m.iloc[0]),
               by_k.index.to_numpy(dtype=np.int64), by_k.successes.to_numpy(),
               by_k.n_trials.to_numpy())


def _near(d: int, m: int, ks: np.ndarray, s: np.ndarray, n: np.ndarray) -> tuple:
    """(normal approximation, cells that need the exact law)."""
    approx = np.asarray(theory.l1_recovery_prob(d, m, ks), dtype=float)
    return approx, ((approx > _KIN_FAR) & (approx < 1.0 - _KIN_FAR)) | ((s > 0) & (s < n))


def kinematic_cells(cells) -> list[tuple[int, int, list[int]]]:
    """``(d, m, ks)``: where the tables (:func:`.tables.kinematic_transitions`) read the
    exact law for ``cells``."""
    out = []
    for (_, d, _), m, ks, s, n in _l1_groups(cells):
        near = _near(d, m, ks, s, n)[1]
        if near.any():
            out.append((d, m, [int(k) for k in ks[near]]))
    return out


_MEMO: dict[tuple, tuple] = {}
_STORE: dict[str, list] | None = None


def _key(d: int, m: int, k: int, n_samples: int, groups: int) -> str:
    return f"{d},{m},{k},{n_samples},{groups}"


def _store() -> dict[str, list]:
    global _STORE
    if _STORE is None:
        _STORE = (json.loads(CACHE_PATH.read_text())["entries"] if CACHE_PATH.is_file() else {})
    return _STORE


def cached_keys() -> list[str]:
    """The stored ``"d,m,k,n_samples,groups"`` keys."""
    return sorted(_store())


def exact_curve(law: Any, d: int, m: int, ks: Any, *, n_samples: int,
                groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p, se, per_group)`` of the exact law at ``ks`` (see the module docstring).

    ``law`` is the sampler to use; only :func:`sparsesim.theory.l1_kinematic_prob`
    itself reads the stored values, so a patched law is always sampled.
    """
    ks = [int(k) for k in np.atleast_1d(ks)]
    trusted = law is _ORIGINAL
    found: dict[int, tuple] = {}
    for k in ks:
        key = (law, d, m, k, n_samples, groups)
        if key in _MEMO:
            found[k] = _MEMO[key]
        elif trusted and _key(d, m, k, n_samples, groups) in _store():
            p, se, per = _store()[_key(d, m, k, n_samples, groups)]
            found[k] = _MEMO[key] = (float(p), float(se), np.asarray(per, dtype=np.float64))
    missing = [k for k in ks if k not in found]
    if missing:
        p, se, per = law(d, m, np.asarray(missing, dtype=np.int64), n_samples=n_samples,
                         seed=[d, m, SEED_TAG], groups=groups)
        for i, k in enumerate(missing):
            found[k] = _MEMO[(law, d, m, k, n_samples, groups)] = (
                float(p[i]), float(se[i]), np.asarray(per[:, i], dtype=np.float64))
    return (np.array([found[k][0] for k in ks]), np.array([found[k][1] for k in ks]),
            np.stack([found[k][2] for k in ks], axis=1))


_ORIGINAL = theory.l1_kinematic_prob


def update_cache(folders: list[str | Path]) -> int:
    """Sample and store every value the tables of ``folders`` read; the count added."""
    import pandas as pd  # noqa: PLC0415

    store = dict(_store())
    added = 0
    for folder in folders:
        cells = pd.read_csv(Path(folder) / "cells.csv")
        for d, m, ks in kinematic_cells(cells):
            new = [k for k in ks if _key(d, m, k, KIN_SAMPLES, KIN_GROUPS) not in store]
            if not new:
                continue
            print(f"exact law: d = {d}, m = {m}, {len(new)} values of k", file=sys.stderr,
                  flush=True)
            p, se, per = exact_curve(_ORIGINAL, d, m, new, n_samples=KIN_SAMPLES,
                                     groups=KIN_GROUPS)
            for i, k in enumerate(new):
                store[_key(d, m, k, KIN_SAMPLES, KIN_GROUPS)] = [
                    float(p[i]), float(se[i]), [float(v) for v in per[:, i]]]
                added += 1
    entries = dict(sorted(store.items()))
    CACHE_PATH.write_text(json.dumps({"about": "sparsesim.sim.phase_transition.kinematic",
                                      "seed": ["d", "m", SEED_TAG], "entries": entries},
                                     indent=0, sort_keys=True) + "\n")
    global _STORE
    _STORE = None
    return added


def main(argv: list[str] | None = None) -> int:
    """``python -m sparsesim.sim.phase_transition.kinematic_refresh FOLDER [FOLDER ...]``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or any(a.startswith("-") for a in args):
        print("usage: python -m sparsesim.sim.phase_transition.kinematic_refresh FOLDER [FOLDER ...]"
              "  (folders holding a phase_transition cells.csv)", file=sys.stderr)
        return 2
    print(f"{update_cache(args)} values added to {CACHE_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
