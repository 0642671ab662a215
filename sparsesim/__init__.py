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

The layers are subpackages imported on first use (``import sparsesim`` itself
stays light: no CuPy, pandas, matplotlib or Dask), and a sweep runs from
Python with :func:`sparsesim.run`:

>>> ss.theory.__name__, ss.nn.__name__
('sparsesim.theory', 'sparsesim.nn')
"""

import importlib as _importlib

__version__ = "0.1.0"

#: Subpackages and modules reachable as ``sparsesim.<name>`` without an import.
_LAZY = ("api", "backend", "cli", "geometry", "kernels", "nn", "report", "sim", "sparsity",
         "stats", "sweep", "theory")

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


def __getattr__(name: str):
    """PEP 562: ``sparsesim.nn``, ``sparsesim.theory``, ... import on first access;
    ``sparsesim.run`` is :func:`sparsesim.api.run`."""
    if name in _LAZY:
        return _importlib.import_module(f"{__name__}.{name}")
    if name in ("run", "RunResult", "Verdict"):
        return getattr(_importlib.import_module(f"{__name__}.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"run", "RunResult", "Verdict"})


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
