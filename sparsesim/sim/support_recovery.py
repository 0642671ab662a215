"""Monte Carlo of support recovery by magnitude thresholding a Gaussian init.

Setting (the seed article's compressed-sensing view): ``w ~ N(0, sigma^2 I_d)``,
a fixed support ``S`` = the first ``k`` coordinates (without loss of generality:
the coordinates are exchangeable), a threshold ``t`` and the selected set
``S_hat = {i : |w_i| > t}``.  The simulation draws the weights and thresholds
them — it never takes a shortcut through the normal CDF — and counts, over
``trials`` independent draws:

* ``hits``: trials with ``S_hat == S`` exactly;
* ``topk_hits``: trials where the ``k`` largest ``|w_i|`` are exactly ``S``
  (``min_{i in S} |w_i| > max_{i not in S} |w_i|``; always a hit for ``k = 0``
  or ``k = d``; an exact tie counts as a miss);
* the histograms of ``|S_hat|``, of the true positives ``|S_hat ∩ S|`` and of
  the false positives ``|S_hat \\ S|``, and the sum and sum of squares of the
  false-positive counts.

Two variants share the engine:

* **planted signal** (``mu > 0``): ``w = x + sigma z`` with ``x_i = ±mu`` (random
  signs) on ``S`` and 0 elsewhere;
* **structured** (:func:`group_support_recovery`): ``d = G g`` weights in ``G``
  groups of ``g`` contiguous coordinates, the support is the first ``q``
  groups, a group survives when ``||w_G||_2 > tau``.

Methods and streams
-------------------
``method="array"`` (the default on NumPy) is plain array code on either
backend: weights of a ``(rows, d)`` chunk from :func:`sparsesim.backend.make_rng`,
compare, reduce.  Trials are cut into *stream blocks* of
``max(1, BLOCK_ELEMS[backend] // d)`` trials; block ``b`` draws from its own
generator seeded with the child ``b`` of the seed's SeedSequence.  The counts
therefore depend on (seed, d, trials, backend) only — **not** on
``chunk_elems`` (a chunk is a whole number of blocks; it only bounds memory).

``method="philox"`` draws the same weights as the fused kernel, with the
float64 NumPy/CuPy twin :func:`sparsesim.kernels.philox.philox_normals`
(counter = trial index, so counts do not depend on ``chunk_elems`` either),
and counts them with the same array code (group norms summed left to right,
in the kernel's order): the CPU reference of the kernel.

``method="fused"`` (the default on CuPy) runs
:func:`sparsesim.kernels.support_count.fused_support_counts`: weights are
generated and counted in registers, never stored.  Its counts equal the
``"philox"`` counts for the same seed, except for magnitudes within a few ulps
of a threshold.

Threshold grids
---------------
:func:`support_recovery_grid` evaluates many thresholds on the **same**
samples in one pass (cheap: one comparison per weight and threshold), so the
counts of one grid are correlated across thresholds — fine for drawing a
curve ``p(t)``, wrong for treating the points as independent experiments.

Memory and limits
-----------------
NumPy peak memory is a few times ``chunk_elems * 8`` bytes (default
``2**18`` weights per chunk: a few MiB), whatever ``trials`` is: 10^8 trials
at ``d = 64`` run in constant memory.  One trial's weights are held at once,
so ``d`` (``n_groups * group_size`` for groups) is at most
``MAX_TRIAL_WEIGHTS = 2**31``; ``trials`` is at most ``MAX_TRIALS = 10**15``
(already a run of weeks on a GPU at small ``d``): larger values are refused
with a ``ValueError`` rather than left to run for ever.  ``sigma`` is in
``[MIN_SCALE, MAX_SCALE] = [1e-100, 1e100]`` and ``mu`` at most ``MAX_SCALE``,
so that weights and their squares (group norms) stay inside the float64 range.  Histograms of ``|S_hat|`` and of the
false positives are kept only for ``d <= HISTOGRAM_MAX_UNITS`` (65,536 units);
above that those fields are ``None``.

Examples
--------
>>> r = support_recovery(8, 1, 1.5, trials=20000, seed=0, backend="numpy")
>>> r.trials, r.method
(20000, 'array')
>>> int(r.size_hist.sum()) == r.trials == int(r.tp_hist.sum())
True
>>> 0.0 < r.estimate < 1.0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Sequence

import numpy as np

from .._validation import check_choice, check_int, check_real
from ..backend import (BACKENDS, get_namespace, namespace_of, resolve_backend,
                       seed_sequence, to_numpy)
from ..kernels.philox import philox_key, philox_normals, philox_signs
from ..kernels.support_count import MAX_WEIGHTS_PER_TRIAL
from ._streams import BLOCK_ELEMS, iter_block_rngs

__all__ = [
    "SupportRecoveryResult",
    "GroupSupportRecoveryResult",
    "support_recovery",
    "support_recovery_grid",
    "group_support_recovery",
    "group_support_recovery_grid",
    "METHODS",
    "HISTOGRAM_MAX_UNITS",
    "BLOCK_ELEMS",
    "DEFAULT_CHUNK_ELEMS",
    "MAX_TRIALS",
    "MAX_TRIAL_WEIGHTS",
    "MIN_SCALE",
    "MAX_SCALE",
    "hist_to_str",
    "hist_from_str",
    "rule_threshold",
    "PARAMS",
    "DEFAULTS",
    "valid_cell",
    "run_cell",
    "tables",
    "figures",
]

METHODS = ("auto", "array", "philox", "fused")
#: Largest number of units for which |S_hat| and FP histograms are kept.
HISTOGRAM_MAX_UNITS = 1 << 16
#: Default weights per chunk (bounds memory); rounded to whole stream blocks.
DEFAULT_CHUNK_ELEMS = {"numpy": 1 << 18, "cupy": 1 << 24}
#: Largest number of trials of one call (larger counts are taken as a mistake).
MAX_TRIALS = 10 ** 15
#: Largest number of weights of one trial (``d``, or ``n_groups * group_size``):
#: the fused kernel's limit (32-bit element index), so that every method
#: accepts the same sizes.
MAX_TRIAL_WEIGHTS = MAX_WEIGHTS_PER_TRIAL
#: Range of ``sigma`` (and largest ``mu``): squared weights stay finite and normal.
MIN_SCALE, MAX_SCALE = 1e-100, 1e100


# --------------------------------------------------------------------------- results

def _seed_id(seed: Any) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return ("SeedSequence", seed.entropy, tuple(seed.spawn_key))
    return seed


def _freeze(a: np.ndarray | None) -> np.ndarray | None:
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


# --------------------------------------------------------------------------- engine

class _Totals:
    """Running totals for a list of thresholds (host-side Python ints / int64)."""

    def __init__(self, n_units: int, n_support: int, n_thresholds: int, full_hist: bool):
        self.n_units, self.n_support, self.full_hist = n_units, n_support, full_hist
        self.trials = 0
        self.topk = 0
        self.hits = [0] * n_thresholds
        self.fp_sum = [0] * n_thresholds
        self.fp_sumsq = [0] * n_thresholds
        self.tp_hist = np.zeros((n_thresholds, n_support + 1), np.int64)
        self.size_hist = np.zeros((n_thresholds, n_units + 1), np.int64) if full_hist else None
        self.fp_hist = (np.zeros((n_thresholds, n_units - n_support + 1), np.int64)
                        if full_hist else None)

    def add_magnitudes(self, mag: Any, thresholds: Sequence[float]) -> None:
        """Count one chunk of unit magnitudes, shape (rows, n_units)."""
        xp = namespace_of(mag)
        rows, n_units = mag.shape
        q = self.n_support
        inside, outside = mag[:, :q], mag[:, q:]
        self.trials += rows
        if 0 < q < n_units:
            self.topk += int(xp.count_nonzero(inside.min(axis=1) > outside.max(axis=1)))
        else:
            self.topk += rows
        for j, t in enumerate(thresholds):
            tp = xp.count_nonzero(inside > t, axis=1).astype(xp.int64)
            fp = xp.count_nonzero(outside > t, axis=1).astype(xp.int64)
            self.hits[j] += int(xp.count_nonzero((tp == q) & (fp == 0)))
            self.fp_sum[j] += int(fp.sum())
            self.fp_sumsq[j] += int((fp * fp).sum())
            self.tp_hist[j] += to_numpy(xp.bincount(tp, minlength=q + 1))
            if self.full_hist:
                self.size_hist[j] += to_numpy(xp.bincount(tp + fp, minlength=n_units + 1))
                self.fp_hist[j] += to_numpy(xp.bincount(fp, minlength=n_units - q + 1))

    def add_fused(self, counts) -> None:
        self.trials += counts.trials
        self.topk += counts.topk_hits
        for j in range(len(self.hits)):
            self.hits[j] += int(counts.hits[j])
            self.fp_sum[j] += int(counts.fp_sum[j])
            self.fp_sumsq[j] += int(counts.fp_sumsq[j])
        self.tp_hist += counts.tp_hist
        if self.full_hist:
            self.size_hist += counts.size_hist
            self.fp_hist += counts.fp_hist


def _unit_magnitudes(w: Any, group_size: int, *, kernel_order: bool = False) -> Any:
    """|w| (group_size 1) or group ℓ2 norms of a (rows, d) batch.

    With ``kernel_order`` the squares are added left to right, one rounded
    addition at a time, exactly as the fused kernel does (the reference path);
    otherwise NumPy/CuPy's own (pairwise) summation is used.
    """
    xp = namespace_of(w)
    if group_size == 1:
        return xp.abs(w)
    rows, d = w.shape
    parts = w.reshape(rows, d // group_size, group_size)
    if not kernel_order:
        return xp.sqrt(xp.sum(parts * parts, axis=-1))
    acc = parts[:, :, 0] * parts[:, :, 0]
    for i in range(1, group_size):  # a loop over the group's positions, not over trials
        acc = acc + parts[:, :, i] * parts[:, :, i]
    return xp.sqrt(acc)


def _array_chunks(d: int, d_support: int, sigma: float, mu: float, trials: int,
                  root: np.random.SeedSequence, backend: str, chunk_elems: int):
    """Weights (rows, d), chunk by chunk, from per-block generators."""
    xp = get_namespace(backend)
    for blocks in iter_block_rngs(root, trials, d, backend, chunk_elems):
        parts = []
        for rng, rows in blocks:
            w = rng.normal((rows, d))
            if sigma != 1.0:
                w *= sigma
            if mu != 0.0 and d_support:
                signs = 1.0 - 2.0 * rng.integers(2, (rows, d_support)).astype(xp.float64)
                w[:, :d_support] += mu * signs
            parts.append(w)
        yield parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=0)


def _philox_chunks(d: int, d_support: int, sigma: float, mu: float, trials: int,
                   key: tuple[int, int], backend: str, chunk_elems: int):
    """Weights of the Philox stream (bitwise the fused kernel's), chunk by chunk."""
    rows_per_chunk = max(1, chunk_elems // d)
    for first in range(0, trials, rows_per_chunk):
        rows = min(rows_per_chunk, trials - first)
        w = philox_normals(rows, d, key=key, first_trial=first, backend=backend)
        w = sigma * w  # one rounded product per weight, as __dmul_rn(sigma, z)
        if mu != 0.0 and d_support:
            signs = philox_signs(rows, d_support, key=key, first_trial=first, backend=backend)
            w[:, :d_support] = w[:, :d_support] + mu * signs
        yield w


def _resolve_method(method: str, backend: str) -> str:
    if method == "auto":
        return "fused" if backend == "cupy" else "array"
    if method == "fused" and backend != "cupy":
        raise ValueError("method='fused' needs backend='cupy' (a CUDA device); "
                         "use method='philox' for its NumPy twin")
    return method


def _check_thresholds(name: str, values: Any) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of thresholds; got {type(values).__name__}")
    vals = tuple(check_real(f"{name}[{i}]", v, low=0.0) for i, v in enumerate(values))
    if not vals:
        raise ValueError(f"{name} must hold at least one threshold")
    return vals


def _check_common(sigma, mu, trials, seed, backend, method, chunk_elems):
    sigma = check_real("sigma", sigma, low=MIN_SCALE, high=MAX_SCALE)
    mu = check_real("mu", mu, low=0.0, high=MAX_SCALE)
    trials = check_int("trials", trials, low=1, high=MAX_TRIALS)
    check_choice("backend", backend, BACKENDS)
    check_choice("method", method, METHODS)
    if chunk_elems is not None:
        chunk_elems = check_int("chunk_elems", chunk_elems, low=1)
    seed_seq = seed_sequence(seed)
    return sigma, mu, trials, seed_seq, chunk_elems


def _simulate(n_units, n_support, group_size, thresholds, sigma, mu, trials, seed_seq,
              backend, method, chunk_elems):
    """Validated inputs -> (_Totals, backend, method)."""
    backend = resolve_backend(backend)
    method = _resolve_method(method, backend)
    d = n_units * group_size
    d_support = n_support * group_size
    full_hist = n_units <= HISTOGRAM_MAX_UNITS
    totals = _Totals(n_units, n_support, len(thresholds), full_hist)
    if method == "fused":
        from ..kernels.support_count import fused_support_counts  # noqa: PLC0415
        totals.add_fused(fused_support_counts(
            n_units, n_support, thresholds, trials=trials, key=philox_key(seed_seq),
            group_size=group_size, sigma=sigma, mu=mu, full_hist=full_hist))
        return totals, backend, method
    chunk = chunk_elems if chunk_elems is not None else DEFAULT_CHUNK_ELEMS[backend]
    if method == "array":
        chunks = _array_chunks(d, d_support, sigma, mu, trials, seed_seq, backend, chunk)
    else:
        chunks = _philox_chunks(d, d_support, sigma, mu, trials, philox_key(seed_seq),
                                backend, chunk)
    for w in chunks:
        totals.add_magnitudes(_unit_magnitudes(w, group_size, kernel_order=method == "philox"),
                              thresholds)
    return totals, backend, method


# --------------------------------------------------------------------------- public API

def support_recovery_grid(d: int, k: int, t_values: Sequence[float], *, sigma: float = 1.0,
                          mu: float = 0.0, trials: int, seed: Any, backend: str = "auto",
                          method: str = "auto",
                          chunk_elems: int | None = None) -> tuple[SupportRecoveryResult, ...]:
    """Support-recovery counts for several thresholds on the same samples.

    Parameters
    ----------
    d : int
        Dimension, ``1 <= d <= MAX_TRIAL_WEIGHTS`` (``2**31``).
    k : int
        Support size, ``0 <= k <= d``; the support is the first ``k`` coordinates.
    t_values : sequence of float
        Thresholds ``t >= 0`` (any order, repeats allowed); ``S_hat = {|w_i| > t}``.
    sigma : float
        Standard deviation of the Gaussian weights, in ``[1e-100, 1e100]``.
    mu : float
        Planted amplitude in ``[0, 1e100]``: ``w_i = ±mu + sigma z_i`` on the
        support (random signs); 0 for pure noise.
    trials : int
        Number of independent draws, ``1 <= trials <= MAX_TRIALS`` (``10**15``).
    seed : int or numpy.random.SeedSequence
        Fixes the counts on a given backend and method.
    backend : {"auto", "numpy", "cupy"}
    method : {"auto", "array", "philox", "fused"}
        See the module notes; ``"auto"`` is ``"fused"`` on CuPy and
        ``"array"`` on NumPy.
    chunk_elems : int, optional
        Weights held in memory per step (default ``DEFAULT_CHUNK_ELEMS``);
        does not change the counts.  Unused by ``method="fused"``, which
        stores no weights.

    Returns
    -------
    tuple of SupportRecoveryResult
        One per threshold, in the order of ``t_values``.  All come from the
        same samples, so they are correlated.

    Raises
    ------
    TypeError
        Non-integer ``d``/``k``/``trials``/``chunk_elems``, non-real thresholds.
    ValueError
        Any argument out of range (before any sampling).
    RuntimeError
        ``backend="cupy"`` without a usable GPU.

    Examples
    --------
    >>> lo, hi = support_recovery_grid(16, 2, [0.5, 2.0], trials=5000, seed=1,
    ...                                backend="numpy")
    >>> lo.topk_hits == hi.topk_hits and lo.fp_sum > hi.fp_sum
    True
    """
    d = check_int("d", d, low=1, high=MAX_TRIAL_WEIGHTS)
    k = check_int("k", k, low=0, high=d)
    thresholds = _check_thresholds("t_values", t_values)
    sigma, mu, trials, seed_seq, chunk_elems = _check_common(
        sigma, mu, trials, seed, backend, method, chunk_elems)
    totals, backend, method = _simulate(d, k, 1, thresholds, sigma, mu, trials, seed_seq,
                                        backend, method, chunk_elems)
    return tuple(
        SupportRecoveryResult(
            d=d, k=k, t=t, sigma=sigma, mu=mu, trials=totals.trials, hits=totals.hits[j],
            topk_hits=totals.topk, tp_hist=_freeze(totals.tp_hist[j]),
            fp_sum=totals.fp_sum[j], fp_sumsq=totals.fp_sumsq[j],
            size_hist=_freeze(None if totals.size_hist is None else totals.size_hist[j]),
            fp_hist=_freeze(None if totals.fp_hist is None else totals.fp_hist[j]),
            seed=seed, backend=backend, method=method)
        for j, t in enumerate(thresholds))


def support_recovery(d: int, k: int, t: float, *, sigma: float = 1.0, mu: float = 0.0,
                     trials: int, seed: Any, backend: str = "auto", method: str = "auto",
                     chunk_elems: int | None = None) -> SupportRecoveryResult:
    """Monte Carlo estimate of ``P(S_hat = S)`` for ``S_hat = {i : |w_i| > t}``.

    Same arguments as :func:`support_recovery_grid` with a single threshold
    ``t >= 0``; the counts equal that threshold's entry of a grid run with the
    same seed.

    Returns
    -------
    SupportRecoveryResult
        ``.estimate`` is ``hits / trials``; compare with the closed form
        ``q^k (1 - q)^(d - k)``, ``q = erfc(t / (sigma sqrt 2))`` (for ``mu = 0``).

    Examples
    --------
    >>> r = support_recovery(4, 1, 1.0, trials=1000, seed=3, backend="numpy")
    >>> r == support_recovery(4, 1, 1.0, trials=1000, seed=3, backend="numpy")
    True
    >>> support_recovery(4, 5, 1.0, trials=10, seed=0)
    Traceback (most recent call last):
    ...
    ValueError: k must be in [0, 4]; got 5
    """
    t = check_real("t", t, low=0.0)
    return support_recovery_grid(d, k, [t], sigma=sigma, mu=mu, trials=trials, seed=seed,
                                 backend=backend, method=method, chunk_elems=chunk_elems)[0]


def group_support_recovery_grid(n_groups: int, group_size: int, q: int,
                                tau_values: Sequence[float], *, sigma: float = 1.0,
                                mu: float = 0.0, trials: int, seed: Any, backend: str = "auto",
                                method: str = "auto", chunk_elems: int | None = None
                                ) -> tuple[GroupSupportRecoveryResult, ...]:
    """Structured support recovery for several group thresholds, same samples.

    ``d = n_groups * group_size`` weights ``N(0, sigma^2)`` (plus ``±mu`` on
    every weight of the first ``q`` groups when ``mu > 0``) are cut into
    contiguous groups; group ``j`` survives when ``||w_{G_j}||_2 > tau``.

    Parameters
    ----------
    n_groups : int
        Number of groups ``G >= 1``.
    group_size : int
        Weights per group ``g >= 1``; ``G * g <= MAX_TRIAL_WEIGHTS`` (``2**31``).
    q : int
        Support groups, ``0 <= q <= G`` (the first ``q``).
    tau_values : sequence of float
        Thresholds on the group norms, ``>= 0``.
    sigma, mu, trials, seed, backend, method, chunk_elems
        As in :func:`support_recovery_grid`.

    Returns
    -------
    tuple of GroupSupportRecoveryResult
        One per threshold (correlated: same samples).  Compare ``hits`` with
        ``chi2(g).sf(tau^2/sigma^2)^q * chi2(g).cdf(tau^2/sigma^2)^(G-q)``.

    Examples
    --------
    >>> (r,) = group_support_recovery_grid(6, 3, 2, [2.0], trials=2000, seed=0,
    ...                                    backend="numpy")
    >>> r.count_hist.shape, r.tp_hist.shape
    ((7,), (3,))
    """
    n_groups = check_int("n_groups", n_groups, low=1, high=MAX_TRIAL_WEIGHTS)
    group_size = check_int("group_size", group_size, low=1, high=MAX_TRIAL_WEIGHTS)
    if n_groups * group_size > MAX_TRIAL_WEIGHTS:
        raise ValueError(f"n_groups * group_size (the weights of one trial) must be at most "
                         f"{MAX_TRIAL_WEIGHTS}; got n_groups={n_groups}, group_size={group_size}")
    q = check_int("q", q, low=0, high=n_groups)
    thresholds = _check_thresholds("tau_values", tau_values)
    sigma, mu, trials, seed_seq, chunk_elems = _check_common(
        sigma, mu, trials, seed, backend, method, chunk_elems)
    totals, backend, method = _simulate(n_groups, q, group_size, thresholds, sigma, mu, trials,
                                        seed_seq, backend, method, chunk_elems)
    return tuple(
        GroupSupportRecoveryResult(
            n_groups=n_groups, group_size=group_size, q=q, tau=tau, sigma=sigma, mu=mu,
            trials=totals.trials, hits=totals.hits[j], topq_hits=totals.topk,
            tp_hist=_freeze(totals.tp_hist[j]), fp_sum=totals.fp_sum[j],
            fp_sumsq=totals.fp_sumsq[j],
            count_hist=_freeze(None if totals.size_hist is None else totals.size_hist[j]),
            fp_hist=_freeze(None if totals.fp_hist is None else totals.fp_hist[j]),
            seed=seed, backend=backend, method=method)
        for j, tau in enumerate(thresholds))


def group_support_recovery(n_groups: int, group_size: int, q: int, tau: float, *,
                           sigma: float = 1.0, mu: float = 0.0, trials: int, seed: Any,
                           backend: str = "auto", method: str = "auto",
                           chunk_elems: int | None = None) -> GroupSupportRecoveryResult:
    """Probability that exactly the first ``q`` of ``n_groups`` groups have norm > ``tau``.

    See :func:`group_support_recovery_grid` (one threshold).

    Examples
    --------
    >>> r = group_support_recovery(4, 2, 1, 2.0, trials=1000, seed=0, backend="numpy")
    >>> 0 <= r.hits <= r.trials and r.topq_hits <= r.trials
    True
    """
    tau = check_real("tau", tau, low=0.0)
    return group_support_recovery_grid(n_groups, group_size, q, [tau], sigma=sigma, mu=mu,
                                       trials=trials, seed=seed, backend=backend,
                                       method=method, chunk_elems=chunk_elems)[0]


# --------------------------------------------------------------------------- sweep contract

def hist_to_str(hist: Any) -> str:
    """Sparse text form of a histogram: ``"value:count,..."`` for non-zero counts.

    Examples
    --------
    >>> hist_to_str(np.array([0, 12, 0, 3]))
    '1:12,3:3'
    >>> hist_from_str('1:12,3:3', 5).tolist()
    [0, 12, 0, 3, 0]
    """
    if hist is None:
        return ""
    h = _check_hist(hist)
    return ",".join(f"{i}:{int(h[i])}" for i in np.flatnonzero(h))


def _check_hist(hist: Any) -> np.ndarray:
    """``hist`` as a 1-D host array of non-negative integral counts."""
    if isinstance(hist, (str, bytes)):
        raise TypeError(f"hist must be None or a 1-D array of counts; got {type(hist).__name__}")
    try:
        h = to_numpy(hist)
    except (TypeError, ValueError):
        raise TypeError(f"hist must be None or a 1-D array of counts; "
                        f"got {type(hist).__name__}") from None
    if h.dtype.kind not in "biuf":
        raise TypeError(f"hist must hold integer counts; got dtype {h.dtype}")
    if h.ndim != 1:
        raise ValueError(f"hist must be 1-D (one count per value); got shape {h.shape}")
    if h.dtype.kind == "f" and not (np.isfinite(h).all() and (h == np.floor(h)).all()):
        raise ValueError("hist must hold whole, finite counts")
    if h.size and (h < 0).any():
        raise ValueError("hist must hold counts >= 0")
    return h


def hist_from_str(text: str, length: int) -> np.ndarray:
    """Inverse of :func:`hist_to_str` (``length`` bins, int64).

    ``text`` is ``""`` (all zeros) or comma-separated ``value:count`` items with
    distinct values in ``[0, length)`` and counts ``>= 0``;
    ``0 <= length <= MAX_TRIAL_WEIGHTS + 1``.

    Raises
    ------
    TypeError, ValueError
        ``text`` not a string or malformed, or a value outside the ``length``
        bins (the message names the argument).
    """
    length = check_int("length", length, low=0, high=MAX_TRIAL_WEIGHTS + 1)
    if not isinstance(text, str):
        raise TypeError(f"text must be a string of value:count items; got {type(text).__name__}")
    out = np.zeros(length, np.int64)
    if not text:
        return out
    seen = set()
    for item in text.split(","):
        parts = item.split(":")
        try:
            i, c = (int(x) for x in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            i = c = None
        if i is None:
            raise ValueError(f"text must hold comma-separated value:count items of integers; "
                             f"got the item {item!r}")
        if not 0 <= i < length:
            raise ValueError(f"text holds the value {i}, outside the bins [0, length) of "
                             f"length={length}")
        if c < 0 or c >= 2 ** 63:
            raise ValueError(f"text holds the count {c} for value {i}; counts must be in "
                             "[0, 2**63)")
        if i in seen:
            raise ValueError(f"text holds the value {i} twice")
        seen.add(i)
        out[i] = c
    return out


#: Parameters of a ``sims/support_recovery.toml`` cell.
PARAMS: dict[str, type] = {
    "kind": str,            # "exact" | "group" | "planted"
    "d": int,               # coordinates (exact, planted) or groups G (group)
    "k": int,               # support size: coordinates, or groups q
    "g": int,               # group size; 1 unless kind = "group"
    "mu_over_sigma": float,  # planted amplitude / sigma; 0 unless kind = "planted"
    "sigma": float,
    "t_rule": str,          # "optimal" | "universal" | "sigma"
    "t_scale": float,       # threshold = t_scale * (the rule's threshold)
    "trials": int,          # trials per cell (upper bound, see max_samples)
    "max_samples": int,     # cap on trials * d * g per cell (0: no cap)
    "method": str,          # "auto" | "array" | "philox" | "fused"
}
DEFAULTS: dict[str, Any] = {"kind": "exact", "g": 1, "mu_over_sigma": 0.0, "sigma": 1.0,
                            "t_rule": "optimal", "t_scale": 1.0, "max_samples": 0,
                            "method": "auto"}
KINDS = ("exact", "group", "planted")
T_RULES = ("optimal", "universal", "sigma")


def rule_threshold(kind: str, t_rule: str, d: int, k: int, g: int = 1,
                   sigma: float = 1.0) -> float:
    """The base threshold of a rule (before ``t_scale``).

    * ``"optimal"``: maximiser of ``P(S_hat = S)`` for pure noise — for single
      weights ``sigma * Phi^-1(1 - k / (2 d))`` (selection probability
      ``k / d``); for groups ``sigma * sqrt(chi2_g.isf(q / G))``.
    * ``"universal"``: Donoho–Johnstone ``sigma * sqrt(2 log d)`` (single
      weights only).
    * ``"sigma"``: ``sigma`` itself (so ``t_scale`` is ``t / sigma``).

    ``d`` (coordinates, or groups for ``kind="group"``) and ``g`` are in
    ``[1, MAX_TRIAL_WEIGHTS]``, ``0 <= k <= d``, ``sigma > 0``.

    Raises
    ------
    TypeError, ValueError
        Invalid arguments (named in the message), a rule that does not apply,
        or a threshold beyond the float range (``sigma`` too large).

    Examples
    --------
    >>> round(rule_threshold("exact", "optimal", 16, 1), 6)   # Phi^-1(1 - 1/32)
    1.862732
    >>> round(rule_threshold("exact", "universal", 100, 1), 6)
    3.034854
    """
    from scipy import special, stats  # noqa: PLC0415

    check_choice("kind", kind, KINDS)
    check_choice("t_rule", t_rule, T_RULES)
    d = check_int("d", d, low=1, high=MAX_TRIAL_WEIGHTS)
    k = check_int("k", k, low=0, high=d)
    g = check_int("g", g, low=1, high=MAX_TRIAL_WEIGHTS)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    if t_rule == "sigma":
        return sigma
    if t_rule == "universal":
        if g != 1:
            raise ValueError("t_rule='universal' is defined for single weights (g = 1) only")
        base = math.sqrt(2.0 * math.log(d))
    elif not 1 <= k <= d:
        raise ValueError(f"t_rule='optimal' needs 1 <= k <= d; got k={k}, d={d}")
    elif g == 1:
        base = float(-special.ndtri(k / (2.0 * d)))
    else:
        base = math.sqrt(float(stats.chi2.isf(k / d, g)))
    t = sigma * base
    if not math.isfinite(t):
        raise ValueError(f"sigma={sigma} is too large: the threshold sigma * {base:.6g} "
                         "overflows")
    return t


def valid_cell(params: dict) -> bool:
    """Keep the meaningful combinations of a cartesian grid.

    Unknown ``kind``/``t_rule``/``method`` names raise ``ValueError`` (a typo
    must not silently empty the sweep).  Dropped: ``k > d``; ``g > 1`` unless
    ``kind == "group"`` (and ``g == 1`` for it); ``mu_over_sigma > 0`` unless
    ``kind == "planted"`` (and ``0`` for it); ``t_rule="universal"`` for groups;
    ``t_rule="optimal"`` for planted cells or ``k == 0``.

    Examples
    --------
    >>> base = dict(DEFAULTS, d=16, k=2, trials=10)
    >>> valid_cell(base), valid_cell(dict(base, k=17)), valid_cell(dict(base, g=4))
    (True, False, False)
    """
    p = dict(DEFAULTS, **params)
    check_choice("kind", p["kind"], KINDS)
    check_choice("t_rule", p["t_rule"], T_RULES)
    check_choice("method", p["method"], METHODS)
    d, k, g, mu = p["d"], p["k"], p["g"], p["mu_over_sigma"]
    if d < 1 or k < 0 or k > d or g < 1 or p["trials"] < 1:
        return False
    kind, rule = p["kind"], p["t_rule"]
    if (kind == "group") != (g > 1) or (kind == "planted") != (mu > 0):
        return False
    if rule == "universal" and kind == "group":
        return False
    if rule == "optimal" and (kind == "planted" or k == 0):
        return False
    return True


def run_cell(params: dict, ctx: Any) -> dict:
    """One sweep cell -> one flat row of counts (see ``sims/support_recovery.toml``).

    Row columns: ``t`` and ``t_over_sigma`` (the threshold used), ``n_trials``
    (after the ``max_samples`` cap), ``hits``, ``topk_hits``, ``tp_sum``,
    ``fp_sum``, ``fp_sumsq``, ``size_hist``/``tp_hist``/``fp_hist`` (sparse
    ``"value:count"`` strings; for groups ``size_hist`` counts surviving
    groups), ``method_used``.
    """
    p = dict(DEFAULTS, **params)
    kind, d, k, g = p["kind"], p["d"], p["k"], p["g"]
    sigma = p["sigma"]
    t = p["t_scale"] * rule_threshold(kind, p["t_rule"], d, k, g, sigma)
    n_weights = d * g
    trials = p["trials"]
    if p["max_samples"] > 0:
        trials = max(1, min(trials, p["max_samples"] // n_weights))
    common = dict(sigma=sigma, mu=p["mu_over_sigma"] * sigma, trials=trials, seed=ctx.seed,
                  backend=ctx.backend, method=p["method"])
    if kind == "group":
        r = group_support_recovery(d, g, k, t, **common)
        topk, size_hist = r.topq_hits, r.count_hist
    else:
        r = support_recovery(d, k, t, **common)
        topk, size_hist = r.topk_hits, r.size_hist
    tp_sum = int(np.dot(np.arange(k + 1), r.tp_hist))
    return {
        "t": t, "t_over_sigma": t / sigma, "n_trials": r.trials, "hits": r.hits,
        "topk_hits": topk, "tp_sum": tp_sum, "fp_sum": r.fp_sum, "fp_sumsq": r.fp_sumsq,
        "size_hist": hist_to_str(size_hist), "tp_hist": hist_to_str(r.tp_hist),
        "fp_hist": hist_to_str(r.fp_hist), "method_used": r.method,
    }


def tables(cells):
    """Theory tables of a sweep (see :mod:`sparsesim.sim._support_report`)."""
    from ._support_report import support_tables  # noqa: PLC0415

    return support_tables(cells)


def figures(cells, outdir):
    """Figures of a sweep: p against t/σ, planted recovery against μ/σ."""
    from ._support_report import support_figures  # noqa: PLC0415

    return support_figures(cells, outdir)
