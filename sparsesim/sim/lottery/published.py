"""Published numbers the lottery tables are judged against (MNIST-1D lottery notebook)."""

from __future__ import annotations

__all__ = ["PUBLISHED_MNIST1D", "PUBLISHED_DENSE_RANGE", "PUBLISHED_LEVEL"]





#: Published test accuracy (%) of the MNIST-1D lottery notebook (trial 0, trial 1).
PUBLISHED_MNIST1D = {
    0.92: {"random": (60.6, 61.8), "lottery": (75.6, 74.4)},
    0.95: {"random": (55.9, 54.6), "lottery": (69.2, 70.5)},
    0.98: {"random": (34.6, 27.2), "lottery": (63.0, 63.8)},
    0.99: {"random": (16.7, 15.4), "lottery": (41.9, 41.5)},
}
#: Published test accuracy (%) range of the notebook's dense runs.
PUBLISHED_DENSE_RANGE = (60.6, 66.4)

#: Coverage of the prediction intervals that published numbers are judged by.
PUBLISHED_LEVEL = 0.95
