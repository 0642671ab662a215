"""Saddles that a pruning mask turns into minima.

The seed article ("The Hidden Geometry of Pruning") argues that a mask acts as
a projection: negative-curvature directions of a saddle that lie in the pruned
subspace vanish from the restricted landscape, because
``vᵀ (P_m H P_m) v = (P_m v)ᵀ H (P_m v) = 0`` for ``v`` supported on pruned
coordinates.  This simulation measures how often a random mask does that.

Model
-----
``H`` is a random symmetric ``d x d`` matrix with ``n_neg`` negative
eigenvalues, ``-neg_strength * U[0.5, 1.5]``, and ``d - n_neg`` positive ones,
``U[0.5, 1.5]``, drawn afresh for every trial:

* ``geometry="confined"``: ``H = blockdiag(B_N, A)`` where ``N`` is the first
  ``n_neg`` coordinates, ``B_N = Q_1 diag(neg) Q_1ᵀ`` is negative definite and
  ``A = Q_2 diag(pos) Q_2ᵀ`` positive definite (``Q_i`` Haar orthogonal): the
  negative curvature lives exactly on the coordinates ``N``.
* ``geometry="spread"``: ``H = Q diag(neg, pos) Qᵀ`` with ``Q`` Haar
  orthogonal ``d x d``: negative curvature along dense random directions.

A mask keeps exactly ``m = keep_count(density, d) = floor(density·d + 0.5)``
coordinates, chosen

* ``mask="random"``: uniformly among the ``C(d, m)`` subsets;
* ``mask="magnitude"``: the ``m`` largest ``|w_i|`` of a planted weight vector
  with ``w_i ~ N(0, 1)`` on ``N`` and ``N(0, off_scale²)`` off ``N``
  (``off_scale > 1``: magnitude pruning tends to remove ``N``;
  ``< 1``: tends to keep it; ``= 1``: a uniform random mask).  Confined
  geometry only (a spread ``H`` has no coordinate set ``N``).

The restricted problem is a local minimum when ``H[S, S] ⪰ 0``, decided by
``eigvalsh`` on the ``(trials, m, m)`` stack (batched, no loop over trials):
``λ_min(H[S, S]) >= -tol · max|λ(H[S, S])|``.

Theory
------
* Confined, random mask: principal submatrices of a positive (negative)
  definite block are positive (negative) definite, so ``H[S, S] ⪰ 0`` exactly
  when ``S ∩ N = ∅`` and the number of negative restricted eigenvalues is
  exactly ``|S ∩ N|``.  P(local min) = ``C(d - n_neg, m) / C(d, m)``
  (hypergeometric).
* Confined, magnitude mask: the mask avoids ``N`` when the largest of the
  ``n_neg`` on-``N`` magnitudes falls below the ``m``-th largest of the
  ``d - n_neg`` off-``N`` magnitudes ``T``; with ``U = G(T) ~ Beta(d - n_neg - m + 1, m)``
  (``G`` the law of ``|N(0, off_scale²)|``),
  ``P = E[ erf(off_scale · Φ⁻¹((1 + U)/2) / √2)^n_neg ]``, one quadrature.
* Spread: no exact law is known to this package; the measured probability is
  reported with its 95% Clopper-Pearson interval and *no* theory.  Cauchy
  interlacing must hold in every trial: ``λ_i(H) <= μ_i <= λ_{i+d-m}(H)``,
  hence ``λ_min(H[S, S]) >= λ_min(H)`` and
  ``max(0, n_neg - (d - m)) <= n_neg(H[S, S]) <= n_neg``; these are checked
  trial by trial for both geometries (exact checks, ``agree`` rows).

Each cell compares the Monte Carlo count with the theory by a two-sided exact
binomial test (``scipy.stats.binomtest``).

Limits
------
``1 <= d <= MAX_D`` (4096: the simulation holds ``d x d`` float64 matrices,
128 MiB each at the cap), ``1 <= trials <= MAX_TRIALS`` (``10**15``), and
``off_scale`` and ``neg_strength`` in ``[MIN_SCALE, MAX_SCALE]``
(``[1e-100, 1e100]``: far beyond any ratio the tolerances can resolve, and
safe from overflow).  Larger or smaller values raise ``ValueError`` naming
the argument.
"""

from __future__ import annotations

from .cells import DEFAULTS, PARAMS, run_cell, valid_cell
from .engine import GEOMETRIES, MASK_KINDS, MAX_D, MAX_SCALE, MAX_TRIALS, MIN_SCALE, draw_masks, \
    local_min_theory, prob_magnitude_mask_avoids, prob_random_mask_avoids, saddle_hessians, \
    simulate_saddles
from .figures import figures
from .tables import tables

__all__ = [
    "PARAMS",
    "DEFAULTS",
    "GEOMETRIES",
    "MASK_KINDS",
    "valid_cell",
    "run_cell",
    "tables",
    "figures",
    "saddle_hessians",
    "draw_masks",
    "simulate_saddles",
    "prob_random_mask_avoids",
    "prob_magnitude_mask_avoids",
    "local_min_theory",
    "MAX_D",
    "MAX_TRIALS",
    "MIN_SCALE",
    "MAX_SCALE",
]
