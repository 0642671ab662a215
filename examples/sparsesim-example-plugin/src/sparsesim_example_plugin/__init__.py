"""Coin flips beside their binomial law: a sparsesim simulation published as a plugin.

A cell flips ``trials`` coins with probability ``p`` of heads; its row holds the
number of heads.  The theory table sets each count beside the Binomial(trials, p)
law with a two-sided exact binomial test (Holm across the file).

The distribution publishes :data:`SIMULATION` in the entry-point group
``sparsesim.simulations`` (see ``pyproject.toml``) and ships its default sweep,
``coin_flips.toml``, as package data.

Examples
--------
>>> import numpy as np
>>> from sparsesim.sweep import CellContext
>>> ctx = CellContext(seed=np.random.SeedSequence(0), sweep_seed=0, backend="numpy")
>>> row = run_cell({"p": 0.5, "trials": 100}, ctx)
>>> sorted(row), 0 <= row["heads"] <= 100
(['frequency', 'heads'], True)
"""

from __future__ import annotations

import pandas as pd
from scipy import stats

from sparsesim.backend import make_rng, to_numpy
from sparsesim.report import TheoryTable
from sparsesim.sim import Invalid, Simulation

__all__ = ["SIMULATION", "valid_cell", "run_cell", "tables"]


def valid_cell(params: dict) -> bool | Invalid:
    """Keep cells with ``0 <= p <= 1`` and at least one trial."""
    if not 0.0 <= params["p"] <= 1.0:
        return Invalid("p is not a probability")
    if params["trials"] < 1:
        return Invalid("trials < 1")
    return True


def run_cell(params: dict, ctx) -> dict:
    """Flip ``trials`` coins on the cell's backend, seeded by the cell's seed alone."""
    rng = make_rng(ctx.seed, ctx.backend)
    heads = int(to_numpy((rng.uniform(params["trials"]) < params["p"]).sum()))
    return {"heads": heads, "frequency": heads / params["trials"]}


def tables(cells: pd.DataFrame) -> list[TheoryTable]:
    """One row per cell: the count of heads and its two-sided exact binomial p-value."""
    frame = cells[["p", "trials", "heads", "frequency"]].copy()
    frame["p_value"] = [stats.binomtest(int(h), int(n), float(p)).pvalue
                        for h, n, p in zip(frame["heads"], frame["trials"], frame["p"])]
    return [TheoryTable.tests("Heads against Binomial(trials, p)", frame,
                              test="two-sided exact binomial test",
                              note="The number of heads of each cell against its binomial law.")]


SIMULATION = Simulation(
    name="coin_flips",
    params={"p": float, "trials": int},
    defaults={"trials": 1000},
    valid_cell=valid_cell,
    run_cell=run_cell,
    tables=tables,
    module=__name__,
    description="Coin flips: the number of heads against its Binomial(trials, p) law",
    config="sparsesim_example_plugin:coin_flips.toml",
)
