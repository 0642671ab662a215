"""Result objects of the support-recovery simulators (counts compared by value)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = ["SupportRecoveryResult", "GroupSupportRecoveryResult", "freeze"]




def _seed_id(seed: Any) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return ("SeedSequence", seed.entropy, tuple(seed.spawn_key))
    return seed


def freeze(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=np.int64)
    a.setflags(write=False)
    return a


class _CountsEq:
    """Field-wise equality for frozen results holding NumPy histograms."""

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "seed":
                if _seed_id(a) != _seed_id(b):
                    return False
            elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def counts(self) -> dict[str, Any]:
        """The random counters only (ints and lists), e.g. to compare methods."""
        out = {}
        for name in self._COUNTERS:  # type: ignore[attr-defined]
            v = getattr(self, name)
            out[name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    @property
    def estimate(self) -> float:
        """Fraction of trials with exact recovery, ``hits / trials``."""
        return self.hits / self.trials  # type: ignore[attr-defined]

    @property
    def fp_mean(self) -> float:
        """Mean number of false positives per trial."""
        return self.fp_sum / self.trials  # type: ignore[attr-defined]

    @property
    def fp_var(self) -> float:
        """Sample variance (ddof=1) of the false-positive count (0 for one trial)."""
        n = self.trials  # type: ignore[attr-defined]
        if n < 2:
            return 0.0
        s, s2 = self.fp_sum, self.fp_sumsq  # type: ignore[attr-defined]
        return (s2 - s * s / n) / (n - 1)


@dataclass(frozen=True, eq=False)
class SupportRecoveryResult(_CountsEq):
    """Counts of one support-recovery Monte Carlo (one threshold).

    Attributes
    ----------
    d, k : int
        Dimension and support size (``S`` = first ``k`` coordinates).
    t, sigma, mu : float
        Threshold, noise scale and planted amplitude (0: pure noise).
    trials : int
    hits : int
        Trials with ``S_hat == S``.
    topk_hits : int
        Trials where the ``k`` largest magnitudes are exactly ``S``
        (independent of ``t``).
    tp_hist : ndarray of int64, shape (k + 1,)
        Histogram of ``|S_hat ∩ S|``.
    fp_sum, fp_sumsq : int
        Sum and sum of squares over trials of ``|S_hat \\ S|``.
    size_hist : ndarray of int64, shape (d + 1,), or None
        Histogram of ``|S_hat|``; ``None`` when ``d > HISTOGRAM_MAX_UNITS``.
    fp_hist : ndarray of int64, shape (d - k + 1,), or None
        Histogram of ``|S_hat \\ S|``; ``None`` when ``d > HISTOGRAM_MAX_UNITS``.
    seed : int or SeedSequence
    backend, method : str
        Where and how the counts were produced (``method`` resolved).
    """

    d: int
    k: int
    t: float
    sigma: float
    mu: float
    trials: int
    hits: int
    topk_hits: int
    tp_hist: np.ndarray = field(repr=False)
    fp_sum: int
    fp_sumsq: int
    size_hist: np.ndarray | None = field(repr=False)
    fp_hist: np.ndarray | None = field(repr=False)
    seed: Any
    backend: str
    method: str

    _COUNTERS = ("trials", "hits", "topk_hits", "tp_hist", "fp_sum", "fp_sumsq",
                 "size_hist", "fp_hist")

    @property
    def tp_sum(self) -> int:
        """Total number of true positives over all trials."""
        return int(np.dot(np.arange(self.k + 1), self.tp_hist))


@dataclass(frozen=True, eq=False)
class GroupSupportRecoveryResult(_CountsEq):
    """Counts of one structured (group) support-recovery Monte Carlo.

    ``n_groups`` groups of ``group_size`` contiguous N(0, sigma^2) weights; the
    support is the first ``q`` groups; a group survives when its ℓ2 norm
    exceeds ``tau``.

    Attributes
    ----------
    hits : int
        Trials in which exactly the first ``q`` groups survive.
    topq_hits : int
        Trials in which the ``q`` largest group norms are the first ``q`` groups.
    count_hist : ndarray (n_groups + 1,) or None
        Histogram of the number of surviving groups (``None`` above
        ``HISTOGRAM_MAX_UNITS`` groups).
    tp_hist : ndarray (q + 1,)
        Histogram of surviving support groups.
    fp_sum, fp_sumsq, fp_hist
        False-positive groups, as in :class:`SupportRecoveryResult`.
    """

    n_groups: int
    group_size: int
    q: int
    tau: float
    sigma: float
    mu: float
    trials: int
    hits: int
    topq_hits: int
    tp_hist: np.ndarray = field(repr=False)
    fp_sum: int
    fp_sumsq: int
    count_hist: np.ndarray | None = field(repr=False)
    fp_hist: np.ndarray | None = field(repr=False)
    seed: Any
    backend: str
    method: str

    _COUNTERS = ("trials", "hits", "topq_hits", "tp_hist", "fp_sum", "fp_sumsq",
                 "count_hist", "fp_hist")
