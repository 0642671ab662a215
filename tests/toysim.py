"""A tiny simulation used by the sweep-runner tests (coin flips with a known law)."""

import time

import numpy as np
import pandas as pd
from scipy import stats as _st

from sparsesim.backend import make_rng, to_numpy
from sparsesim.report import TheoryTable

PARAMS = {"p": float, "trials": int, "sleep": float, "rows": int}
DEFAULTS = {"sleep": 0.0, "rows": 1}


def valid_cell(params):
    return params["p"] <= 1.0


def run_cell(params, ctx):
    if params["sleep"]:
        time.sleep(params["sleep"])
    rng = make_rng(ctx.seed, ctx.backend)
    heads = int(to_numpy((rng.uniform(params["trials"]) < params["p"]).sum()))
    if params["rows"] == 1:
        return {"heads": heads}
    return [{"heads": heads, "copy": i} for i in range(params["rows"])]


def tables(cells):
    frame = cells[["p", "trials", "heads"]].copy()
    frame["p_value"] = [_st.binomtest(int(h), int(n), p).pvalue
                        for h, n, p in zip(frame.heads, frame.trials, frame.p)]
    return [TheoryTable("coin flips", frame, p_col="p_value", note="Binomial(trials, p).")]


def figures(cells, outdir):
    return []
