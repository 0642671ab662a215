"""Monte Carlo of support recovery by magnitude thresholding a Gaussian init.

Setting (the seed article's compressed-sensing view): ``w ~ N(0, sigma^2 I_d)``,
a fixed support ``S`` = the first ``k`` coordinates (without loss of generality:
the coordinates are exchangeable), a threshold ``t`` and the selected set
``S_hat = {i : |w_i| > t}``.  The simulation draws the weights and thresholds
them — it never takes a shortcut through the normal CDF — and counts, over
``trials`` independent draws:

* ``hits``: trials with ``S_hat == S`` exactly;
* ``topk_hits``: trials where the ``k`` largest ``|w_i|`` are exactly ``S``
  (``min_{i in S} |w_i| > max_{i not in S} |w_i|``; always a hit for ``k = 0``
  or ``k = d``; an exact tie counts as a miss);
* the histograms of ``|S_hat|``, of the true positives ``|S_hat ∩ S|`` and of
  the false positives ``|S_hat \\ S|``, and the sum and sum of squares of the
  false-positive counts.

Two variants share the engine:

* **planted signal** (``mu > 0``): ``w = x + sigma z`` with ``x_i = ±mu`` (random
  signs) on ``S`` and 0 elsewhere;
* **structured** (:func:`group_support_recovery`): ``d = G g`` weights in ``G``
  groups of ``g`` contiguous coordinates, the support is the first ``q``
  groups, a group survives when ``||w_G||_2 > tau``.

Methods and streams
-------------------
``method="array"`` (the default on NumPy) is plain array code on either
backend: weights of a ``(rows, d)`` chunk from :func:`sparsesim.backend.make_rng`,
compare, reduce.  Trials are cut into *stream blocks* of
``max(1, BLOCK_ELEMS[backend] // d)`` trials; block ``b`` draws from its own
generator seeded with the child ``b`` of the seed's SeedSequence.  The counts
therefore depend on (seed, d, trials, backend) only — **not** on
``chunk_elems`` (a chunk is a whole number of blocks; it only bounds memory).

``method="philox"`` draws the same weights as the fused kernel, with the
float64 NumPy/CuPy twin :func:`sparsesim.kernels.philox.philox_normals`
(counter = trial index, so counts do not depend on ``chunk_elems`` either),
and counts them with the same array code (group norms summed left to right,
in the kernel's order): the CPU reference of the kernel.

``method="fused"`` (the default on CuPy) runs
:func:`sparsesim.kernels.support_count.fused_support_counts`: weights are
generated and counted in registers, never stored.  Its counts equal the
``"philox"`` counts for the same seed, except for magnitudes within a few ulps
of a threshold.

Threshold grids
---------------
:func:`support_recovery_grid` evaluates many thresholds on the **same**
samples in one pass (cheap: one comparison per weight and threshold), so the
counts of one grid are correlated across thresholds — fine for drawing a
curve ``p(t)``, wrong for treating the points as independent experiments.

Memory and limits
-----------------
NumPy peak memory is a few times ``chunk_elems * 8`` bytes (default
``2**18`` weights per chunk: a few MiB), whatever ``trials`` is: 10^8 trials
at ``d = 64`` run in constant memory.  One trial's weights are held at once,
so ``d`` (``n_groups * group_size`` for groups) is at most
``MAX_TRIAL_WEIGHTS = 2**31``; ``trials`` is at most ``MAX_TRIALS = 10**15``
(already a run of weeks on a GPU at small ``d``): larger values are refused
with a ``ValueError`` rather than left to run for ever.  ``sigma`` is in
``[MIN_SCALE, MAX_SCALE] = [1e-100, 1e100]`` and ``mu`` at most ``MAX_SCALE``,
so that weights and their squares (group norms) stay inside the float64 range.  Histograms of ``|S_hat|`` and of the
false positives are kept only for ``d <= HISTOGRAM_MAX_UNITS`` (65,536 units);
above that those fields are ``None``.

Examples
--------
>>> r = support_recovery(8, 1, 1.5, trials=20000, seed=0, backend="numpy")
>>> r.trials, r.method
(20000, 'array')
>>> int(r.size_hist.sum()) == r.trials == int(r.tp_hist.sum())
True
>>> 0.0 < r.estimate < 1.0
True
"""

from __future__ import annotations

from ..._deprecation import renamed_names
from ..._codec import hist_from_str, hist_to_str
from .._streams import BLOCK_ELEMS
from .cells import DEFAULTS, MODEL_KINDS, PARAMS, T_RULES, caps, cell_trials, expected_hits, \
    rule_threshold, run_cell, valid_cell
from .engine import DEFAULT_CHUNK_ELEMS, HISTOGRAM_MAX_UNITS, MAX_SCALE, MAX_TRIAL_WEIGHTS, \
    MAX_TRIALS, METHODS, MIN_SCALE, group_support_recovery, group_support_recovery_grid, \
    support_recovery, support_recovery_grid
from .figures import figures
from .results import GroupSupportRecoveryResult, SupportRecoveryResult
from .tables import tables

__all__ = [
    "SupportRecoveryResult",
    "GroupSupportRecoveryResult",
    "support_recovery",
    "support_recovery_grid",
    "group_support_recovery",
    "group_support_recovery_grid",
    "METHODS",
    "HISTOGRAM_MAX_UNITS",
    "BLOCK_ELEMS",
    "DEFAULT_CHUNK_ELEMS",
    "MAX_TRIALS",
    "MAX_TRIAL_WEIGHTS",
    "MIN_SCALE",
    "MAX_SCALE",
    "hist_to_str",
    "hist_from_str",
    "rule_threshold",
    "MODEL_KINDS",
    "T_RULES",
    "PARAMS",
    "DEFAULTS",
    "valid_cell",
    "caps",
    "run_cell",
    "cell_trials",
    "expected_hits",
    "tables",
    "figures",
]


__getattr__ = renamed_names(__name__, {"KINDS": ("sparsesim.sim.support_recovery.MODEL_KINDS", MODEL_KINDS)})
