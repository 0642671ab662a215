"""Provenance: where, when and from what code a result was produced."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["git_commit", "cell_key", "cell_seed", "cell_identity"]


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The source tree's git commit (with ``+dirty`` when modified), or ``"unknown"``."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)
        commit = out.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no", "--", "sparsesim"],
                               capture_output=True, text=True, timeout=10, check=True)
        return commit + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def cell_identity(params: dict[str, Any], neutral: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parameters that identify a cell: ``params`` less those at a neutral value.

    A simulation that gains a parameter lists it in its module's
    ``NEUTRAL_DEFAULTS`` with the value that reproduces its earlier behaviour;
    a cell whose value equals it (same type, same value) is keyed and seeded
    without it, so journals written before the parameter existed still resume
    and their cells keep their random numbers.  Any other value is part of
    the identity.

    Examples
    --------
    >>> cell_identity({"d": 4, "mode": "old"}, {"mode": "old"})
    {'d': 4}
    >>> cell_identity({"d": 4, "mode": "new"}, {"mode": "old"})
    {'d': 4, 'mode': 'new'}
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of cell parameters; got {type(params).__name__}")
    if neutral is not None and not isinstance(neutral, dict):
        raise TypeError(f"neutral must be a dict of parameter values or None; "
                        f"got {type(neutral).__name__}")
    if not neutral:
        return dict(params)
    return {k: v for k, v in params.items()
            if not (k in neutral and type(v) is type(neutral[k]) and v == neutral[k])}


def cell_key(params: dict[str, Any], sweep_seed: int) -> str:
    """Stable identity of a cell: a hash of its parameters and the sweep seed.

    Examples
    --------
    >>> cell_key({"d": 16, "k": 2}, 0) == cell_key({"k": 2, "d": 16}, 0)
    True
    """
    blob = f"{sweep_seed}|{_canonical(params)}".encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def cell_seed(params: dict[str, Any], sweep_seed: int) -> np.random.SeedSequence:
    """Per-cell seed: the sweep seed's sequence, keyed by the cell's parameters.

    Depends only on the sweep seed and this cell's parameters, so adding or
    removing other cells never changes a cell's random numbers.
    """
    digest = hashlib.sha256(_canonical(params).encode()).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    return np.random.SeedSequence(entropy=sweep_seed, spawn_key=words)
