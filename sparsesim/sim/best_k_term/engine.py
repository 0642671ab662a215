"""The science: batched relative errors of the real projections on random vectors."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._deprecation import renamed_names
from ..._validation import check_array, check_choice, check_int, check_real
from ...backend import (BACKENDS, get_namespace, namespace_of, resolve_backend, seed_sequence,
                       to_numpy)
from ...sparsity import best_k_term, group_best_q, group_labels, keep_count
from ...theory import best_k_relative_error_exact as expected_relative_error
from .._streams import iter_block_rngs

__all__ = ["SIGNAL_KINDS", "MAX_N", "MAX_TRIALS", "BestKTermErrorResult", "best_k_term_error",
           "relative_errors", "compressible_magnitudes", "expected_relative_error"]


#: The signal models of a cell's ``kind`` (``KINDS`` alone names the verdict kinds of
#: :mod:`sparsesim._table`).
SIGNAL_KINDS = ("gaussian", "compressible", "group")
_DEFAULT_CHUNK_ELEMS = {"numpy": 1 << 18, "cupy": 1 << 24}
#: Largest vector length (one vector is held in memory at once).
MAX_N = 1 << 31
#: Largest number of vectors of one call (larger counts are taken as a mistake).
MAX_TRIALS = 10 ** 15


@dataclass(frozen=True)
class BestKTermErrorResult:
    """Summary of the relative errors of one batch of projections.

    Attributes
    ----------
    kind : str
    n : int
        Vector length.
    density : float
    units, kept : int
        Units that can be kept (``n``, or ``G`` groups) and units kept
        (``k``, or ``q``).
    trials : int
    mean, sd, stderr, min, max : float
        Of the per-vector relative error ``||w - P(w)||^2 / ||w||^2``
        (``sd`` with ddof=1; 0 for one trial).
    p : float or None
        Compressibility exponent (``kind="compressible"``).
    group_size : int or None
        (``kind="group"``).
    sigma_s_mean, sigma_s_max : float or None
        Measured ``sigma_s(x)_2`` (compressible only; identical across trials
        up to rounding, the magnitudes being fixed).
    sigma_s_sorted : float or None
        ``sqrt`` of the sum of the ``n - s`` smallest squared magnitudes,
        computed from the sorted magnitudes (the value the projection must hit).
    bound : float or None
        ``||x||_1 / (2 sqrt(s))``.
    ratio_mean, ratio_max : float or None
        ``sigma_s / bound`` over trials (must be ``<= 1``).
    seed, backend
    """

    kind: str
    n: int
    density: float
    units: int
    kept: int
    trials: int
    mean: float
    sd: float
    stderr: float
    min: float
    max: float
    p: float | None
    group_size: int | None
    sigma_s_mean: float | None
    sigma_s_max: float | None
    sigma_s_sorted: float | None
    bound: float | None
    ratio_mean: float | None
    ratio_max: float | None
    seed: Any
    backend: str


def compressible_magnitudes(n: int, p: float, *, backend: str = "numpy") -> Any:
    """The magnitudes ``i^(-1/p)``, ``i = 1..n``, float64 (decreasing).

    ``1 <= n <= MAX_N``, ``p > 0``.

    Examples
    --------
    >>> compressible_magnitudes(4, 1.0)
    array([1.        , 0.5       , 0.33333333, 0.25      ])
    """
    n = check_int("n", n, low=1, high=MAX_N)
    p = check_real("p", p, low=0.0, low_open=True)
    xp = get_namespace(backend)
    return xp.arange(1, n + 1, dtype=xp.float64) ** (-1.0 / p)


def relative_errors(w: Any, kept: int, *, group_size: int | None = None) -> tuple[Any, Any]:
    """Per-row ``||w - P(w)||^2 / ||w||^2`` and ``||w - P(w)||_2`` of a 2-D batch.

    ``P`` is ``best_k_term(w, kept, axis=-1)``, or with ``group_size`` the
    group projection keeping ``kept`` contiguous groups per row.  Every row
    needs a non-zero squared norm within the float range (``ValueError``
    otherwise).

    Parameters
    ----------
    w : array, shape (..., n)
        Real vectors along the last axis (typically ``(trials, n)``); integer
        arrays are computed in float64, float16 in float32.
    kept : int
        Entries (or groups) kept per row, ``0 <= kept <= n`` (``n / group_size``).
    group_size : int, optional
        Contiguous group size, ``>= 1`` and dividing ``n``.

    Raises
    ------
    TypeError, ValueError
        Invalid arguments (named in the message), or a row whose squared norm
        is zero or beyond the float range.

    Examples
    --------
    >>> rel, err = relative_errors(np.array([[3.0, -4.0, 0.0]]), 1)
    >>> rel, err
    (array([0.36]), array([3.]))
    """
    check_array("w", w, finite=True, min_ndim=1, min_size=1, kinds="iuf")
    xp = namespace_of(w)
    if w.dtype.kind != "f":
        w = w.astype(xp.float64)
    elif w.dtype.itemsize < 4:  # float16: squares overflow above 256
        w = w.astype(xp.float32)
    n = int(w.shape[-1])
    if group_size is None:
        units = n
    else:
        group_size = check_int("group_size", group_size, low=1, high=n)
        if n % group_size:
            raise ValueError(f"group_size must divide the row length n={n} of w; "
                             f"got group_size={group_size}")
        units = n // group_size
    kept = check_int("kept", kept, low=0, high=units)
    if group_size is None:
        pruned, _ = best_k_term(w, kept, axis=-1)
    else:
        pruned, _ = group_best_q(w, group_labels(n, group_size, backend_like=w), kept)
    with np.errstate(over="ignore"):  # checked below
        resid = w - pruned
        err2 = xp.sum(resid * resid, axis=-1)
        total = xp.sum(w * w, axis=-1)
    if bool((total == 0).any()):
        raise ValueError("every row of w must have a non-zero squared norm "
                         "(a zero or underflowing row has no relative error)")
    if not bool(xp.isfinite(total).all()):
        raise ValueError(f"every row of w must have a squared norm within the range of "
                         f"{w.dtype} (an overflowing row has no relative error)")
    return err2 / total, xp.sqrt(err2)


class _Moments:
    """Streaming count, mean, M2 (Chan et al. merge), min, max."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.min, self.max = math.inf, -math.inf

    def add(self, x: np.ndarray) -> None:
        nb = x.size
        if nb == 0:
            return
        mb = float(x.mean())
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))

    @property
    def sd(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0


def best_k_term_error(kind: str, n: int, density: float, *, trials: int, seed: Any,
                      backend: str = "auto", p: float | None = None,
                      group_size: int | None = None,
                      chunk_elems: int | None = None) -> BestKTermErrorResult:
    """Monte Carlo of the relative error of best k-term / best q-group projections.

    Parameters stay: each is an independent knob of one Monte Carlo cell: the signal
    (``kind``, ``n``, ``density``, ``p``, ``group_size``), the sample (``trials``, ``seed``)
    and where it runs (``backend``, ``chunk_elems``); the sweep's grid names them one for
    one.

    Parameters
    ----------
    kind : {"gaussian", "compressible", "group"}
    n : int
        Vector length, ``1 <= n <= MAX_N`` (``2**31``).
    density : float
        Fraction kept, in ``[0, 1]``: ``k = keep_count(density, n)`` entries,
        or ``q = keep_count(density, n / group_size)`` groups.
        ``kind="compressible"`` needs ``k >= 1`` (the bound divides by sqrt(k)).
    trials : int
        Number of vectors, ``1 <= trials <= MAX_TRIALS`` (``10**15``).
    seed : int or numpy.random.SeedSequence
    backend : {"auto", "numpy", "cupy"}
    p : float, optional
        Compressibility exponent ``> 0``; required for (and only for)
        ``kind="compressible"``.
    group_size : int, optional
        Group size ``>= 1`` dividing ``n``; required for (and only for)
        ``kind="group"``.
    chunk_elems : int, optional
        Values held in memory per step; does not change the result.

    Returns
    -------
    BestKTermErrorResult

    Raises
    ------
    TypeError, ValueError
        Invalid arguments (named in the message), before any sampling.

    Examples
    --------
    >>> r = best_k_term_error("compressible", 64, 0.125, p=1.0, trials=50, seed=0,
    ...                       backend="numpy")
    >>> r.ratio_max <= 1.0 and abs(r.sigma_s_mean - r.sigma_s_sorted) < 1e-12
    True
    """
    check_choice("kind", kind, SIGNAL_KINDS)
    n = check_int("n", n, low=1, high=MAX_N)
    density = check_real("density", density, low=0.0, high=1.0)
    trials = check_int("trials", trials, low=1, high=MAX_TRIALS)
    check_choice("backend", backend, BACKENDS)
    if kind == "compressible":
        if p is None:
            raise ValueError("p is required for kind='compressible'")
        p = check_real("p", p, low=0.0, low_open=True)
    elif p is not None:
        raise ValueError(f"p applies to kind='compressible' only; got p={p!r} for kind={kind!r}")
    if kind == "group":
        if group_size is None:
            raise ValueError("group_size is required for kind='group'")
        group_size = check_int("group_size", group_size, low=1, high=n)
        if n % group_size:
            raise ValueError(f"n must be a multiple of group_size={group_size}; got n={n}")
        units = n // group_size
    else:
        if group_size is not None:
            raise ValueError(f"group_size applies to kind='group' only; got "
                             f"group_size={group_size!r} for kind={kind!r}")
        units = n
    kept = keep_count(density, units)
    if kind == "compressible" and kept < 1:
        raise ValueError(f"density must keep at least one entry for kind='compressible' "
                         f"(the bound divides by sqrt(k)); got density={density} with n={n}")
    if chunk_elems is not None:
        chunk_elems = check_int("chunk_elems", chunk_elems, low=1)
    seed_seq = seed_sequence(seed)

    backend = resolve_backend(backend)
    xp = get_namespace(backend)
    chunk = chunk_elems if chunk_elems is not None else _DEFAULT_CHUNK_ELEMS[backend]
    rel_stats, sig_stats, ratio_stats = _Moments(), _Moments(), _Moments()
    mags = bound = sigma_sorted = None
    if kind == "compressible":
        mags = compressible_magnitudes(n, p, backend=backend)
        host = to_numpy(mags)
        bound = float(host.sum()) / (2.0 * math.sqrt(kept))
        sigma_sorted = float(math.sqrt(float(np.sum(np.sort(host * host)[: n - kept]))))
    for blocks in iter_block_rngs(seed_seq, trials, n, backend, chunk):
        parts = []
        for rng, rows in blocks:
            if kind == "compressible":
                order = xp.argsort(rng.uniform((rows, n)), axis=1)
                signs = 1.0 - 2.0 * rng.integers(2, (rows, n)).astype(xp.float64)
                parts.append(mags[order] * signs)
            else:
                parts.append(rng.normal((rows, n)))
        w = parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=0)
        rel, err = relative_errors(w, kept, group_size=group_size if kind == "group" else None)
        rel_stats.add(to_numpy(rel))
        if kind == "compressible":
            err = to_numpy(err)
            sig_stats.add(err)
            ratio_stats.add(err / bound)
    comp = kind == "compressible"
    return BestKTermErrorResult(
        kind=kind, n=n, density=density, units=units, kept=kept, trials=rel_stats.n,
        mean=rel_stats.mean, sd=rel_stats.sd, stderr=rel_stats.sd / math.sqrt(rel_stats.n),
        min=rel_stats.min, max=rel_stats.max, p=p if comp else None,
        group_size=group_size if kind == "group" else None,
        sigma_s_mean=sig_stats.mean if comp else None, sigma_s_max=sig_stats.max if comp else None,
        sigma_s_sorted=sigma_sorted, bound=bound,
        ratio_mean=ratio_stats.mean if comp else None, ratio_max=ratio_stats.max if comp else None,
        seed=seed, backend=backend)


__getattr__ = renamed_names(__name__, {"KINDS": ("sparsesim.sim.best_k_term.SIGNAL_KINDS", SIGNAL_KINDS)})
