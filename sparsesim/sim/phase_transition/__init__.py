"""Recovery of a k-sparse x from Gaussian measurements: the phase diagram.

``y = A x`` with ``A`` of i.i.d. ``N(0, 1/m)`` entries (``m x d``), ``x`` with
``k`` nonzeros (``±1`` or Gaussian) on a random support; ``delta = m/d``,
``rho = k/m``.  Five recovery algorithms, batched over problems on NumPy or
CuPy (:mod:`.engine`): basis pursuit (l1, HiGHS on the CPU), iterative hard
thresholding with a fixed step, normalised IHT, hard thresholding pursuit and
one-shot thresholding of ``A^T y`` -- the projection step of the iterative ones
is magnitude pruning, :func:`sparsesim.best_k_term`.  The sweep contract is in
:mod:`.cells`, the tables (the l1 50 % transition tested against the weak
threshold :func:`sparsesim.theory.l1_phase_transition`) in :mod:`.tables`,
the phase diagrams in :mod:`.figures`.

Examples
--------
>>> from sparsesim.sim import phase_transition as pt
>>> A, x, y = pt.draw_problems(0, 3, d=50, m=25, k=3, backend="numpy")
>>> bool((pt.relative_error(pt.solve("niht", A, y, 3).x, x) <= pt.SUCCESS_TOL).all())
True
"""

from __future__ import annotations

from .cells import DEFAULTS, LINF_TOL, NEUTRAL_DEFAULTS, PARAMS, TIMING_COLUMNS, cell_trials, \
    check_cell, parse_algorithms, run_cell, sizes, valid_cell
from .engine import ALGORITHMS, NONZEROS, SUCCESS_TOL, SolveResult, basis_pursuit, \
    check_sizes, draw_problems, htp, iht, niht, one_shot_thresholding, relative_error, solve
from .figures import figures, phase_diagram
from .pdhg import basis_pursuit_pdhg, pdhg_reference
from .refine import crossing_bracket, refine
from .tables import bootstrap_transition, extrapolations, firth_batch, fit_transition, \
    tables, transitions

__all__ = [
    "PARAMS", "DEFAULTS", "NEUTRAL_DEFAULTS", "TIMING_COLUMNS", "LINF_TOL", "cell_trials", "valid_cell", "run_cell", "check_cell",
    "parse_algorithms", "sizes", "refine", "crossing_bracket",
    "ALGORITHMS", "NONZEROS", "SUCCESS_TOL", "SolveResult", "draw_problems", "relative_error",
    "check_sizes", "iht", "niht", "htp", "one_shot_thresholding", "basis_pursuit", "solve",
    "basis_pursuit_pdhg", "pdhg_reference", "tables", "figures", "phase_diagram", "fit_transition", "transitions", "firth_batch",
    "bootstrap_transition", "extrapolations",
]
