"""Batched MLP engine: parameters, exact derivatives, saliency, data, compaction.

- :mod:`sparsesim.nn.mlp` — B independent ReLU networks in one set of batched
  matrix products; ``forward``, ``loss_and_grad`` and exact Hessian-vector
  products ``hvp`` (Pearlmutter's R-operator), with masks.
- :mod:`sparsesim.nn.saliency` — magnitude, random, SNIP, GraSP and SynFlow
  scores; top-k masks per model (global or layerwise); shuffle / reinitialise
  ablations.
- :mod:`sparsesim.nn.data` — MNIST-1D (offline) and a planted sparse teacher.
- :mod:`sparsesim.nn.compact` — structured compaction of dead neurons.
- :mod:`sparsesim.nn.optim`, :mod:`sparsesim.nn.training` — batched SGD/Adam
  with masks enforced every step, evaluation and the early-stopping iteration
  (a CUDA-graph step on CuPy where a capture works): ``sparsesim.nn.train``
  is the training function (``from sparsesim.nn import train``).  The module
  was ``sparsesim.nn.train`` before; ``from sparsesim.nn.train import ...``
  still works, with a ``DeprecationWarning``.
- :mod:`sparsesim.nn.specs` — settings as frozen, validated specs:
  :class:`NetworkSpec` (widths, skips, activation, initialisation, dtype) and
  :class:`TrainSpec` (optimizer, steps, batch size, evaluation, loss, batch
  order, ...); ``train(params, data, spec, data_seed=...)``, whose loop is
  :class:`TrainLoop` (the step, evaluation and hooks as methods).
- :mod:`sparsesim.nn.lottery` — iterative magnitude pruning with reset or
  rewinding and its controls (reinit, random, shuffled, SNIP, GraSP, SynFlow,
  one-shot).
- :mod:`sparsesim.nn.tree` — selecting and concatenating models of per-layer
  ``(W, b)`` lists along the model axis (``take_models``, ``concat_models``).

Saliency criteria and lottery controls are open registries:
:func:`register_saliency` and :func:`register_condition` add names from
outside the package; ``SALIENCY_METHODS`` and
:func:`condition_names` are derived from them.

Examples
--------
>>> import numpy as np
>>> from sparsesim.nn import init_mlp, saliency_masks, loss_and_grad
>>> params = init_mlp((4, 16, 3), 2, seed=0, backend="numpy", dtype=np.float64)
>>> X, y = np.ones((8, 4)), np.arange(8) % 3
>>> masks = saliency_masks("snip", params, 0.25, X, y)
>>> loss, grads = loss_and_grad(params, X, y, masks)
>>> loss.shape
(2,)
"""

from .compact import Compacted, compact, gather_compact, live_neurons
from .connectivity import error_barrier, interpolation_errors
from .data import Dataset, PlantedTeacher, mnist1d, planted_teacher
from .mlp import (
    INITS,
    LOSSES,
    accuracy,
    effective_params,
    forward,
    hvp,
    init_mlp,
    layer_sizes,
    loss_and_grad,
    loss_value,
    mask_pairs,
    model_seeds,
    predict,
    residual_layers,
)
from .hessian import mlp_masked_hessian_operator
from .lottery import (
    LotteryProtocol,
    PruningSchedule,
    condition_names,
    register_condition,
    run_imp,
    unregister_condition,
)
from .optim import SGD, Adam, make_optimizer
from .saliency import (
    GRASP_RULES,
    SaliencyCriterion,
    ScoreInputs,
    Selection,
    grasp_scores,
    layerwise_densities,
    magnitude_scores,
    random_scores,
    register_saliency,
    reinitialize,
    saliency_criterion,
    saliency_masks,
    saliency_methods,
    select_mask,
    shuffle_masks,
    snip_scores,
    synflow_scores,
    unregister_saliency,
)
from . import train as _train_module  # noqa: F401 - the former module path, registered first
from .specs import NetworkSpec, TrainSpec
from .training import TrainData, TrainLoop, TrainResult, train  # ``sparsesim.nn.train`` is the function

__all__ = [
    # mlp
    "INITS", "LOSSES", "init_mlp", "model_seeds", "residual_layers", "layer_sizes",
    "mask_pairs", "effective_params", "forward", "loss_value", "loss_and_grad", "hvp",
    "accuracy", "predict",
    # saliency
    "SALIENCY_METHODS", "GRASP_RULES", "magnitude_scores", "random_scores", "snip_scores",
    "grasp_scores", "synflow_scores", "select_mask", "layerwise_densities", "shuffle_masks",
    "reinitialize", "saliency_masks", "ScoreInputs", "Selection", "SaliencyCriterion",
    "register_saliency", "unregister_saliency", "saliency_criterion", "saliency_methods",
    # data
    "Dataset", "PlantedTeacher", "mnist1d", "planted_teacher",
    # connectivity and the masked Hessian
    "interpolation_errors", "error_barrier", "mlp_masked_hessian_operator",
    # compact
    "Compacted", "compact", "gather_compact", "live_neurons",
    # training and lottery tickets
    "SGD", "Adam", "make_optimizer", "TrainData", "TrainResult", "train", "TrainLoop",
    # settings as specs
    "NetworkSpec", "TrainSpec",
    "LotteryProtocol", "PruningSchedule", "run_imp", "register_condition",
    "unregister_condition", "condition_names",
]


def __getattr__(name: str):
    if name == "SALIENCY_METHODS":  # derived from the registry on every access
        return saliency_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
