"""Lottery tickets on MNIST-1D and on a planted sparse teacher.

Iterative magnitude pruning and its controls (:mod:`sparsesim.nn.lottery`)
swept over seeds; the tables set our numbers beside the claims of Frankle &
Carbin (2019), of rewinding (Frankle et al. 2020) and beside the published
MNIST-1D lottery-notebook numbers; for the planted teacher they compare the
ticket's support with the teacher's true support (the compressed-sensing
view: does magnitude pruning recover the support?).

Cells and rows
--------------
A cell is one ``(condition, seed)`` pair of an IMP run; the IMP run of a
protocol (all cells that share every other parameter, :func:`batch_key`) is
computed once, all conditions and seeds as one batch per round
(:func:`run_cells`).  **A cell returns a list of rows, one per pruning round**
(``round`` column; ``dense`` has the single round 0).  Row columns:
``round, density`` (fraction of the weights — and biases when they are
pruned — kept), ``target_density``, ``layer_densities`` (per weight matrix),
``test_accuracy`` (after the full budget: the MNIST-1D notebook's number),
``test_accuracy_early_stop`` (at the iteration of minimum validation loss),
``early_stop_iter``, ``train_loss``, ``train_accuracy``, ``val_loss``,
``val_accuracy``, ``val_accuracy_early_stop``, ``test_loss``; for the
planted teacher also ``support_recall`` = |M ∩ S| / |S|,
``support_precision`` = |M ∩ S| / |M| and their chance values for a uniformly
random mask of the same size (``recall_chance`` = |M| / n,
``precision_chance`` = |S| / n).  Accuracies are fractions in [0, 1].

Long runs: in a sweep every finished round of an IMP run (its rows, the next
round's masks; round 0 also the dense and rewind weights) is journaled
beside the cell journal (:mod:`sparsesim.sweep.journal`), so an interrupted
run resumes after its last finished round with the rows an uninterrupted run
gives (:func:`sparsesim.nn.lottery.run_imp`, ``rounds``).

Seeds: replicate ``seed`` of a sweep draws from
``SeedSequence([sweep_seed, seed])`` (initialisation, data order, control
masks; see :mod:`sparsesim.nn.lottery`), so every condition of a replicate
shares its initialisation and its data order.

The support overlap is defined for a student without hidden layers (the
default teacher sweep): hidden units of two networks are only defined up to
permutation, so a hidden layer's support cannot be compared entry by entry
(NaN columns then).
"""

from __future__ import annotations

from .cells import DEFAULTS, NEUTRAL_DEFAULTS, PARAMS, batch_key, protocol_from_params, run_cell, \
    run_cells, schedule_from_params, support_columns, valid_cell
from .claims import check_claims
from .figures import figures
from .published import PUBLISHED_DENSE_RANGE, PUBLISHED_LEVEL, PUBLISHED_MNIST1D
from .tables import tables

__all__ = ["PARAMS", "DEFAULTS", "NEUTRAL_DEFAULTS", "PUBLISHED_MNIST1D", "PUBLISHED_DENSE_RANGE",
           "PUBLISHED_LEVEL", "valid_cell", "batch_key", "run_cells", "run_cell",
           "protocol_from_params", "schedule_from_params", "support_columns", "tables", "figures",
           "check_claims"]
