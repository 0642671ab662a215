"""The support-recovery sweep reads its closed forms through one law object per cell."""

from __future__ import annotations

import importlib
import math

import pandas as pd
import pytest

from sparsesim import theory
from sparsesim.sim.support_recovery import cells as sr_cells
from sparsesim.theory.laws import ExactLaw, GroupLaw, PlantedLaw

# the module (the package's ``tables`` is the function of that name)
sr_tables = importlib.import_module("sparsesim.sim.support_recovery.tables")


def test_every_kind_has_a_law_and_a_layout():
    params = dict(d=40, k=3, g=2, sigma=1.5, mu_over_sigma=2.0)
    made = {kind: sr_cells.support_law(dict(params, kind=kind), 2.0) for kind in sr_cells.MODEL_KINDS}
    assert [type(law) for law in made.values()] == [ExactLaw, GroupLaw, PlantedLaw]
    assert all(law.kind == kind for kind, law in made.items())
    assert set(sr_tables._LAYOUT) == set(sr_cells.MODEL_KINDS)
    assert made["planted"].mu == 3.0 and made["group"].g == 2 and made["group"].k == 3
    with pytest.raises(ValueError, match="kind"):
        sr_cells.support_law(dict(params, kind="other"), 2.0)


@pytest.mark.parametrize("kind", ["exact", "group", "planted"])
def test_expected_hits_is_trials_times_the_recovery_probability(kind):
    p = dict(sr_cells.DEFAULTS, kind=kind, d=64, k=4, g=2 if kind == "group" else 1,
             mu_over_sigma=3.0 if kind == "planted" else 0.0, trials=1000)
    t = sr_cells.rule_threshold(kind, "optimal", 64, 4, p["g"], 1.0)
    log_p = {"exact": lambda: theory.support_recovery_prob(64, 4, t, 1.0, log=True),
             "group": lambda: theory.group_support_recovery_prob(64, 2, 4, t, 1.0, log=True),
             "planted": lambda: theory.planted_recovery_prob(64, 4, 3.0, t, 1.0, log=True)}[kind]
    assert sr_cells.expected_hits(p) == 1000 * math.exp(float(log_p()))


def test_each_row_goes_to_its_table_with_its_label():
    """One cell of each kind: the rows land where the report expects them."""
    rows = []
    for kind, g, mu in (("exact", 1, 0.0), ("group", 3, 0.0), ("planted", 1, 4.0)):
        rows.append(dict(kind=kind, d=8, k=2, g=g, mu_over_sigma=mu, sigma=1.0, t=1.5,
                         t_over_sigma=1.5, t_rule="sigma", n_trials=100, hits=3, topk_hits=2,
                         tp_sum=150, fp_sum=60, size_hist="2:50,3:50", tp_hist="1:50,2:50",
                         fp_hist="0:40,1:60"))
    out = sr_tables._rows(pd.DataFrame(rows))
    assert {k: len(v) for k, v in out.items()} == {
        "exact": 1, "q": 3, "uniform": 1, "size_law": 1, "tpfp": 2, "topk": 1, "group": 5,
        "planted": 4}
    assert [r["variant"].split(":")[0] for r in out["q"]] == ["exact", "group", "planted"]
    assert out["q"][2]["units × trials"] == 6 * 100 and out["q"][2]["survivors"] == 60
    assert [r["check"] for r in out["planted"]] == ["S_hat = S", "TP ~ Bin(k, p_on)",
                                                     "FP ~ Bin(d−k, q)", "top-k = S"]
    assert out["uniform"][0]["trials"] == 50
    assert out["planted"][0]["theory"] == float(theory.planted_recovery_prob(8, 2, 4.0, 1.5))
