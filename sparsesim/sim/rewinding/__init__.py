"""Weight rewinding: the masked Hessian at ``w_τ`` and the ticket rewound to ``τ``.

The seed article suggests that rewinding a ticket to an early iterate
``w_τ`` instead of ``w_0`` helps because a few steps of training move the
weights to where the *masked* Hessian is better behaved (smaller ``λ_max``,
better condition number ``κ = λ_max / λ_min``).  This simulation measures
both sides and reports whether they went together.

Protocol (one batch per configuration, all seeds and rewind points together)
---------------------------------------------------------------------------
1. Dense run: ``S`` models (one per replicate seed) trained for ``steps``
   optimizer steps, keeping snapshots ``w_τ`` for every requested ``τ``
   (:func:`sparsesim.nn.training.train` with ``rewind_steps``).
2. IMP with rewinding (Frankle et al. 2020), for every ``(seed, τ)`` at once:
   round 1 prunes the trained dense weights by magnitude
   (:func:`sparsesim.nn.lottery.magnitude_prune`,
   ``PruningSchedule.fixed_fraction(prune_fraction, rounds, output_rate=...)``,
   layerwise, biases never pruned); each round rewinds the survivors to
   ``w_τ ⊙ m`` and retrains them from step ``τ`` to ``steps`` (fresh optimizer
   state, the data the dense run saw from step ``τ`` on); the next round prunes
   the retrained weights.  ``τ = 0`` is the original lottery ticket.  Each
   ``τ`` has its own mask chain.
3. The final ticket ``(m_τ, w_τ ⊙ m_τ)`` is trained twice from step ``τ``:
   copy A with the dense run's data order (its metrics are the ticket's:
   final test accuracy, test accuracy and iteration at early stopping =
   minimum validation loss), copy B with a different data order.
4. Geometry at the rewind point: the masked Hessian of the training loss
   (first ``n_hessian`` training examples, float64) at ``w_τ ⊙ m_τ`` on the
   kept weights and all biases, by exact Hessian-vector products and Lanczos
   (:func:`sparsesim.geometry.lanczos_extremes`): ``λ_max``, ``λ_min``, the
   number of negative eigenvalues among the ``lanczos_k`` smallest (exact when
   fewer than ``lanczos_k``), a stochastic Lanczos quadrature estimate of the
   number of eigenvalues below ``−slq_rtol · λ_max``
   (:func:`sparsesim.geometry.estimate_negative_count`) and ``κ`` (finite only
   when the restriction is positive definite; NaN when indefinite).
5. Linear mode connectivity (Frankle et al. 2020): test error along
   ``(1 − α) θ_A + α θ_B`` for ``lmc_points`` values of ``α`` in [0, 1];
   barrier = ``max_α err(α) − (err(0) + err(1)) / 2``.

Parameters (``sims/rewinding_geometry.toml``)
-------------------------------------------
``dataset`` (``"mnist1d"`` or ``"teacher"``: the planted sparse ReLU teacher
40-``teacher_width``-10 of density ``teacher_density`` labelling
``n_train`` Gaussian inputs, 500 validation and 1,000 test ones), ``seed``
(replicate), ``tau`` (rewind step, ``0 <= tau < steps``); the student
40-``width``×``depth``-10 (``residual``), ``optimizer``/``lr``/``batch_size``/
``steps``/``eval_every`` and ``dtype`` of training; ``prune_fraction``,
``rounds``, ``output_rate`` of the IMP schedule; ``n_hessian``,
``lanczos_k``, ``lanczos_tol``, ``lanczos_maxiter`` (SciPy: ARPACK restarts),
``slq_probes`` (0 disables), ``slq_steps``, ``slq_rtol`` of the geometry;
``lmc_points`` values of α.

Long runs
---------
In a sweep each finished IMP round of a batch is journaled (round 0: ``w_τ``
of every ticket, the dense accuracies, the round-1 masks; round ``r``: the
masks of round ``r + 1``; the last round: both trained copies and their
accuracies), so an interrupted batch resumes after its last finished round
(:func:`rewinding_study`, ``rounds``; :mod:`sparsesim.sweep.journal`).

One mask shared by every τ
--------------------------
With ``mask_rule = "shared"`` a seed's tickets at every τ share one mask per
density, fixed by an IMP chain that rewinds to no τ (fine-tuning), and the
cells' ``ticket_round`` picks the round (:mod:`.shared`); this is the
protocol of the pre-registered claims (i) some τ > 0 beats τ = 0, (ii) a
smaller ``λ_max`` at ``w_τ`` goes with a better ticket, (iii) a stable τ
(LMC barrier below 2 %) goes with a ticket that matches the dense network
(:mod:`.claims`; ``sims/cpu/rewinding_claims.toml``).

Seeds
-----
Replicate ``seed`` has the root ``SeedSequence([sweep_seed, seed, dataset
code])``; its children (by spawn key) are the initialisation, the data order
and copy B's data order.  The data set (MNIST-1D validation split, planted
teacher) depends on the sweep seed only.  A cell's numbers therefore do not
depend on which other cells share its batch.
"""

from __future__ import annotations

from ...nn.connectivity import error_barrier, interpolation_errors
from .cells import batch_key, run_cell, run_cells, valid_cell
from .claims import check_claims
from .engine import rewinding_study
from .figures import figures
from .params import DATASETS, DEFAULTS, MASK_RULES, NEUTRAL_DEFAULTS, PARAMS
from .shared import shared_mask_study
from .tables import conditioning_vs_tickets, tables

__all__ = [
    "PARAMS",
    "DEFAULTS",
    "DATASETS",
    "MASK_RULES",
    "NEUTRAL_DEFAULTS",
    "check_claims",
    "shared_mask_study",
    "valid_cell",
    "batch_key",
    "run_cell",
    "run_cells",
    "tables",
    "figures",
    "rewinding_study",
    "interpolation_errors",
    "error_barrier",
    "conditioning_vs_tickets",
]
