"""The science: batched counts of the supports thresholding finds, on NumPy or CuPy."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..._validation import check_choice, check_int, check_real
from ...backend import (BACKENDS, get_namespace, namespace_of, resolve_backend,
                       seed_sequence, to_numpy)
from ...kernels.philox import philox_key, philox_normals, philox_signs
from ...kernels.support_count import MAX_WEIGHTS_PER_TRIAL
from .._streams import iter_block_rngs
from .results import GroupSupportRecoveryResult, SupportRecoveryResult, freeze

__all__ = ["METHODS", "HISTOGRAM_MAX_UNITS", "DEFAULT_CHUNK_ELEMS", "MAX_TRIALS",
           "MAX_TRIAL_WEIGHTS", "MIN_SCALE", "MAX_SCALE", "support_recovery",
           "support_recovery_grid", "group_support_recovery", "group_support_recovery_grid"]


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
        from ...kernels.support_count import fused_support_counts  # noqa: PLC0415
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

    Parameters stay: those of :func:`support_recovery` with a grid of thresholds, each an
    independent knob of the cell.

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
            topk_hits=totals.topk, tp_hist=freeze(totals.tp_hist[j]),
            fp_sum=totals.fp_sum[j], fp_sumsq=totals.fp_sumsq[j],
            size_hist=freeze(None if totals.size_hist is None else totals.size_hist[j]),
            fp_hist=freeze(None if totals.fp_hist is None else totals.fp_hist[j]),
            seed=seed, backend=backend, method=method)
        for j, t in enumerate(thresholds))


def support_recovery(d: int, k: int, t: float, *, sigma: float = 1.0, mu: float = 0.0,
                     trials: int, seed: Any, backend: str = "auto", method: str = "auto",
                     chunk_elems: int | None = None) -> SupportRecoveryResult:
    """Monte Carlo estimate of ``P(S_hat = S)`` for ``S_hat = {i : |w_i| > t}``.

    Same arguments as :func:`support_recovery_grid` with a single threshold
    ``t >= 0``; the counts equal that threshold's entry of a grid run with the
    same seed.

    Parameters stay: each is an independent knob of one Monte Carlo cell: the model (``d``,
    ``k``, ``t``, ``sigma``, ``mu``), the sample (``trials``, ``seed``) and where it runs
    (``backend``, ``method``, ``chunk_elems``); the sweep's grid names them one for one.

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

    Parameters stay: those of :func:`group_support_recovery` with a grid of thresholds, each
    an independent knob of the cell.

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
            tp_hist=freeze(totals.tp_hist[j]), fp_sum=totals.fp_sum[j],
            fp_sumsq=totals.fp_sumsq[j],
            count_hist=freeze(None if totals.size_hist is None else totals.size_hist[j]),
            fp_hist=freeze(None if totals.fp_hist is None else totals.fp_hist[j]),
            seed=seed, backend=backend, method=method)
        for j, tau in enumerate(thresholds))


def group_support_recovery(n_groups: int, group_size: int, q: int, tau: float, *,
                           sigma: float = 1.0, mu: float = 0.0, trials: int, seed: Any,
                           backend: str = "auto", method: str = "auto",
                           chunk_elems: int | None = None) -> GroupSupportRecoveryResult:
    """Probability that exactly the first ``q`` of ``n_groups`` groups have norm > ``tau``.

    See :func:`group_support_recovery_grid` (one threshold).

    Parameters stay: each is an independent knob of one Monte Carlo cell: the model
    (``n_groups``, ``group_size``, ``q``, ``tau``, ``sigma``, ``mu``), the sample
    (``trials``, ``seed``) and where it runs (``backend``, ``method``, ``chunk_elems``); the
    sweep's grid names them one for one.

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
