"""A toy simulation declared with ``SIMULATION = Simulation(...)`` (the new shape).

Coin flips whose table tests the heads against ``p + claim_offset``: with the
default offset 0 every row agrees (a false ✗ has the file's family-wise
chance, 1 %); with ``claim_offset = 0.3`` and 2000 trials the claimed law is
off by more than 13 standard deviations, so the row disagrees.
"""

from scipy import stats as _st

from sparsesim.backend import make_rng, to_numpy
from sparsesim.report import TheoryTable
from sparsesim.sim import Simulation


def _run_cell(params, ctx):
    rng = make_rng(ctx.seed, ctx.backend)
    return {"heads": int(to_numpy((rng.uniform(params["trials"]) < params["p"]).sum()))}


def _tables(cells):
    frame = cells[["p", "claim_offset", "trials", "heads"]].copy()
    frame["p_value"] = [_st.binomtest(int(h), int(n), min(1.0, p + off)).pvalue
                        for h, n, p, off in zip(frame.heads, frame.trials, frame.p,
                                                frame.claim_offset)]
    return [TheoryTable("coin flips against a claimed law", frame, p_col="p_value",
                        note="Binomial(trials, p + claim_offset).")]


SIMULATION = Simulation(
    name="toy_declared",
    params={"p": float, "trials": int, "claim_offset": float},
    defaults={"claim_offset": 0.0},
    valid_cell=lambda params: 0.0 <= params["p"] <= 1.0,
    run_cell=_run_cell,
    tables=_tables,
    description="coin flips against a claimed law",
)
