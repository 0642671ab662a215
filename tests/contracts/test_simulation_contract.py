"""Every built-in simulation keeps the plugin contract of sparsesim.testing (quick grids).

The lottery and rewinding sweeps (and the longer quick grids) are cut to a few cells so
that the contract costs seconds, not minutes: one IMP run of two conditions still journals
rounds, so the resume check interrupts it after a round.
"""

from sparsesim.testing import parametrize_with_checks


def _one_imp_run(cells):
    """The lottery ticket and its random control, seed 0: one IMP run with rounds."""
    return [c for c in cells if c["seed"] == 0 and c["condition"] in ("lottery", "random")]


BUILTIN = [
    "best_k_term",
    "support_recovery",
    "masked_hessian_saddles",
    ("phase_transition", {"subset": 4}),
    ("mlp_saddles", {"subset": 2}),
    ("lottery_teacher", {"subset": _one_imp_run}),
    ("lottery_mnist1d", {"subset": _one_imp_run}),
    ("rewinding_geometry", {"subset": 1}),
]


@parametrize_with_checks(BUILTIN)
def test_builtin_simulation_keeps_the_contract(simulation, check):
    check(simulation)
