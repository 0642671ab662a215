"""Deprecated module path of :mod:`sparsesim.nn.training` (the batched trainer).

``sparsesim.nn.train`` is the training function (``from sparsesim.nn import
train``; the module it lived in is :mod:`sparsesim.nn.training`).  This module
keeps the former imports working: ``from sparsesim.nn.train import TrainData,
train`` still gives the objects of :mod:`sparsesim.nn.training`, with a
``DeprecationWarning`` when imported from outside the package.

>>> import warnings
>>> from sparsesim.nn import train, training
>>> train is training.train
True
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     from sparsesim.nn.train import TrainData
>>> TrainData is training.TrainData, caught[0].category.__name__
(True, 'DeprecationWarning')
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from . import training as _training

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        value = getattr(_training, name)
    except AttributeError:
        raise AttributeError(f"module 'sparsesim.nn.train' (now sparsesim.nn.training) has no "
                             f"attribute {name!r}") from None
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller == __name__ or not caller.startswith("sparsesim."):
        warnings.warn(f"sparsesim.nn.train.{name} is deprecated: import it from "
                      "sparsesim.nn.training (sparsesim.nn.train is now the training function)",
                      DeprecationWarning, stacklevel=2)
    return value
