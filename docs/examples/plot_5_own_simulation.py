"""
Writing your own simulation
===========================

A simulation is a :class:`sparsesim.sim.Simulation`: its parameters with their
types, a ``run_cell(params, ctx)`` that turns one parameter dict into a result
row, and optionally ``tables(cells)`` that sets the rows beside theory as
:class:`sparsesim.report.TheoryTable` objects. Built in place, as here, it runs
through :func:`sparsesim.run` with a sweep TOML; the sweep brings the grid, the
per-cell seeds, the journal (an interrupted run resumes), provenance, Holm's
correction and ``table.md``.

This one checks ``P(|w| > t) = 2(1 − Φ(t))`` (:func:`sparsesim.theory.tail_prob`)
with an exact binomial test per cell.
"""

import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

import sparsesim as ss
from sparsesim import stats, theory
from sparsesim.report import TheoryTable
from sparsesim.sim import Simulation


def run_cell(params, ctx):
    """One cell: ``trials`` Gaussian draws from the cell's own seed, thresholded at ``t``."""
    rng = np.random.default_rng(ctx.seed)
    w = rng.standard_normal(params["trials"])
    return {"hits": int(np.sum(np.abs(w) > params["t"]))}


def tables(cells):
    """The theory table: each cell's count against the exact tail probability."""
    q = theory.tail_prob(cells["t"].to_numpy())
    frame = pd.DataFrame({
        "t": cells["t"], "trials": cells["trials"],
        "measured": cells["hits"] / cells["trials"], "theory": q,
        "p_value": stats.binom_test_two_sided(cells["hits"].to_numpy(),
                                              cells["trials"].to_numpy(), q),
    })
    return [TheoryTable.tests("P(|w| > t) = 2(1 − Φ(t))", frame,
                              test="two-sided exact binomial test")]


tail = Simulation(name="gaussian_tail", params={"t": float, "trials": int},
                  defaults={"trials": 10_000}, run_cell=run_cell, tables=tables,
                  description="Tail of a standard Gaussian against 2(1 − Φ(t))")

# %%
# The sweep: a grid over ``t`` and a quick variant with fewer trials.
tmp = Path(tempfile.mkdtemp())
toml = tmp / "gaussian_tail.toml"
toml.write_text("""
[sim]
name = "gaussian_tail"
description = "Tail of a standard Gaussian against 2(1 − Φ(t))"
seed = 7

[params]
trials = 50000

[grid]
t = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]

[quick.params]
trials = 5000
""")

res = ss.run(toml, simulation=tail, backend="numpy", out=tmp / "out", progress=False)
print(res.verdict)
res.cells[["t", "trials", "hits"]]

# %%
# The report it wrote, ``table.md``, with the agreement line first:
for line in (tmp / "out" / "table.md").read_text().splitlines():
    print(line if line.startswith("|") else textwrap.fill(line, 88))

# %%
# Running the same command again finds every cell in ``journal.jsonl`` and runs
# none of them.
again = ss.run(toml, simulation=tail, backend="numpy", out=tmp / "out", progress=False)
print(len(again.cells), "cells,", f"{again.elapsed_s:.2f} s")
