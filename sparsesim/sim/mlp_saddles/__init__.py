"""Saddles of a trained MLP that a pruning mask turns into minima (seed claim C10).

The seed article ("The Hidden Geometry of Pruning") argues that a pruning mask
removes the curvature of the pruned directions, so that a saddle of the full
network can be a minimum of the pruned one.  :mod:`sparsesim.sim.saddles`
checks the linear algebra on Hessians built for it; this family asks the
question at critical points of real networks.

Protocol (one cell = one replicate ``seed`` and one ``start_step``)
-------------------------------------------------------------------
1. Landscape: a tanh MLP ``40-width×depth-10`` on the first ``n_points``
   MNIST-1D training signals, or (``dataset = "teacher"``) on ``n_points``
   Gaussian inputs labelled by the planted sparse ReLU teacher 40-20-10 of
   density 0.1 (fixed, full batch, float64),
   ``L(θ) = CE + (weight_decay/2)‖θ‖²`` (:class:`sparsesim.nn.critical.MLPLandscape`;
   weight decay gives critical points at finite ``θ``; the smooth activation
   gives them a Hessian — with ReLU, Newton-MR stalls at ``‖∇L‖ ≈ 1e-2`` on the
   kinks of the activation pattern, measured on 40-16-16-10).
2. Start: Kaiming init of the replicate, ``start_step`` full-batch heavy-ball
   steps (``lr``, momentum 0.9).  ``start_step = 0`` starts at the init.
3. Newton-MR on ``½‖∇L‖²`` (:func:`sparsesim.geometry.find_critical_point`,
   ``newton_iters`` steps of at most ``minres_iters`` MINRES iterations): it
   descends the gradient norm, so it reaches saddles as well as minima.
4. The dense Hessian at the end point, column by column from exact
   Hessian-vector products, and its eigendecomposition; Lanczos on the
   Hessian-vector product cross-checks ``λ_min`` and ``λ_max``.  The point is
   classified by :func:`sparsesim.geometry.classify_critical_point`
   (``curvature_rtol``, ``step_rtol``; the rule and its justification are there).
5. At every density of ``densities``: a magnitude mask (largest ``|w*|`` per
   layer, ``keep_count(density, fan_in·fan_out)`` weights, all biases kept)
   and a uniform random mask with the same per-layer counts.  The restricted
   Hessian ``H(w*)[S, S]`` — pruned coordinates *held at their values in w**,
   the landscape an optimiser confined to the kept coordinates sees around
   ``w*``, whose gradient there is the restricted gradient ``(∇L)_S ≈ 0`` —
   is a local minimum of the confined landscape when its ``λ_min ≥ −τ``.
   Also recorded: the mean squared mass of ``H``'s negative eigenvectors on
   the pruned coordinates.

Not the same as zeroing: ``w* ⊙ m`` moves every pruned weight to 0, and is not
a critical point of the confined landscape (its gradient is not ``(∇L(w*))_S``);
the Hessian there says nothing about the saddle ``w*``.  SNIP and GraSP scores
vanish with the gradient and are not defined at a critical point, so they are
not judged here.

The claim (pre-registered by the fixed ``densities`` of ``sparsesim/sims/mlp_saddles.toml``)
-------------------------------------------------------------------------------
Magnitude masks turn saddles into minima more often than random masks of the
same layerwise density: per density, the saddles are the pairs, and the exact
one-sided McNemar test on the discordant pairs judges the claim (kind
"claim"; ✗ when random masks win significantly).

``planted`` (tests only) plants errors that must turn the verdict
(:data:`PLANTED`).
"""

from __future__ import annotations

from .cells import DATASETS, DEFAULTS, NEUTRAL_DEFAULTS, PARAMS, parse_densities, run_cell, valid_cell
from .engine import MASK_KINDS, PLANTED, SOURCES, analyse_point, embedded_start, landscape, \
    layer_masks, restricted_summary, saddle_rows, start_point
from .figures import figures
from .tables import claim_frame, mcnemar_one_sided, point_frame, tables

__all__ = [
    "PARAMS",
    "DATASETS",
    "NEUTRAL_DEFAULTS",
    "figures",
    "DEFAULTS",
    "MASK_KINDS",
    "PLANTED",
    "SOURCES",
    "embedded_start",
    "restricted_summary",
    "valid_cell",
    "run_cell",
    "tables",
    "parse_densities",
    "landscape",
    "start_point",
    "layer_masks",
    "analyse_point",
    "saddle_rows",
    "claim_frame",
    "point_frame",
    "mcnemar_one_sided",
]
