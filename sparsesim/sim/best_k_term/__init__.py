"""Relative error of the exact sparse projections on random vectors.

For a batch of vectors ``w`` (a ``(trials, n)`` array, one vector per row) the
simulation applies the *real* projection of :mod:`sparsesim.sparsity` and
measures the relative error ``||w - P(w)||_2^2 / ||w||_2^2`` of every vector:

* ``kind="gaussian"``: ``w ~ N(0, I_n)``, ``P = best_k_term(w, k, axis=-1)``
  with ``k = keep_count(density, n)`` (round half up);
* ``kind="group"``: the same Gaussian vectors in ``G = n / group_size``
  contiguous groups, ``P = group_best_q`` keeping ``q = keep_count(density, G)``
  groups;
* ``kind="compressible"``: ``|x|_(i) = i^(-1/p)`` (deterministic magnitudes) in
  a uniformly random order with random signs.  Besides the relative error the
  simulation measures ``sigma_s(x)_2 = ||x - P_s(x)||_2`` and its ratio to the
  bound ``||x||_1 / (2 sqrt(s))`` (Cohen–Dahmen–DeVore; the ratio must never
  exceed 1).

Trials are drawn in stream blocks (:mod:`sparsesim.sim._streams`), so a seed
fixes the result on a backend independently of ``chunk_elems``.

Examples
--------
>>> r = best_k_term_error("gaussian", 100, 0.1, trials=200, seed=0, backend="numpy")
>>> r.kept, r.trials
(10, 200)
>>> 0.0 < r.mean < 1.0
True
"""

from __future__ import annotations

from ..._deprecation import renamed_names
from .cells import DEFAULTS, PARAMS, caps, run_cell, valid_cell
from .engine import MAX_N, MAX_TRIALS, SIGNAL_KINDS, BestKTermErrorResult, best_k_term_error, \
    compressible_magnitudes, expected_relative_error, relative_errors
from .figures import figures
from .tables import tables

__all__ = [
    "SIGNAL_KINDS", "MAX_N", "MAX_TRIALS", "BestKTermErrorResult", "best_k_term_error",
    "relative_errors", "compressible_magnitudes", "expected_relative_error",
    "PARAMS", "DEFAULTS", "valid_cell", "caps", "run_cell", "tables", "figures",
]


__getattr__ = renamed_names(__name__, {"KINDS": ("sparsesim.sim.best_k_term.SIGNAL_KINDS", SIGNAL_KINDS)})
