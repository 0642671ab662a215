"""Lists of per-layer pairs along the model axis: select and concatenate models.

A *tree* here is what :mod:`sparsesim.nn` passes around for a batch of
networks: a list with one ``(W, b)`` pair per layer (parameters, masks,
gradients), every array carrying the models on its leading axis; a part may
be ``None`` (an unmasked bias), and stays ``None``.  These helpers are used
by the lottery and the rewinding simulations alike; they know nothing of
either.

Examples
--------
>>> import numpy as np
>>> tree = [(np.arange(6).reshape(3, 2), None)]
>>> both = concat_models([take_models(tree, slice(0, 1)), take_models(tree, slice(2, 3))])
>>> both[0][0].tolist(), both[0][1]
([[0, 1], [4, 5]], None)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np  # noqa: F401 - the doctests' namespace

from ..backend import namespace_of

__all__ = ["take_models", "concat_models"]


def take_models(tree: Sequence, idx: Any) -> list:
    """Select models (leading-axis index or slice) from a list of per-layer pairs.

    ``None`` entries (e.g. an unmasked bias) stay ``None``.

    Examples
    --------
    >>> tree = [(np.arange(6).reshape(3, 2), None)]
    >>> take_models(tree, slice(1, 3))[0][0].tolist(), take_models(tree, 0)[0][1]
    ([[2, 3], [4, 5]], None)
    """
    return [tuple(None if a is None else a[idx] for a in pair) for pair in tree]


def concat_models(trees: Sequence) -> list:
    """Concatenate lists of per-layer pairs along the model axis (``None`` stays ``None``).

    Examples
    --------
    >>> a = [(np.zeros((1, 2)), None)]
    >>> concat_models([a, a, a])[0][0].shape
    (3, 2)
    """
    xp = namespace_of(trees[0][0][0])
    out = []
    for l in range(len(trees[0])):
        pair = []
        for part in range(2):
            arrs = [t[l][part] for t in trees]
            pair.append(None if arrs[0] is None else xp.concatenate(arrs, axis=0))
        out.append(tuple(pair))
    return out
