"""sparsesim: a sparse-recovery theory simulator for neural-network pruning.

Every claim about pruning in the seed article (magnitude pruning as the exact
best k-term approximation, the probability that thresholding a Gaussian
initialisation finds a fixed support, saliency scores, lottery tickets, masked
Hessians) becomes a simulation whose output is set beside its closed-form or
published prediction.

>>> import numpy as np, sparsesim as ss
>>> pruned, mask = ss.best_k_term(np.array([0.1, -3.0, 2.0, 0.5]), 2)
>>> pruned
array([ 0., -3.,  2.,  0.])
"""

__version__ = "0.1.0"

from .sparsity import (  # noqa: E402
    apply_mask,
    best_k_term,
    density,
    group_best_q,
    group_labels,
    l0_norm,
    magnitude_threshold,
    neuron_groups,
    prune_to_density,
)

__all__ = [
    "__version__",
    "apply_mask",
    "best_k_term",
    "density",
    "group_best_q",
    "group_labels",
    "l0_norm",
    "magnitude_threshold",
    "neuron_groups",
    "prune_to_density",
]
