"""The science: random saddle Hessians, masks, and the batched local-minimum test."""

from __future__ import annotations

import math
from typing import Any

import numpy as np  # noqa: F401 - the doctests use it

from ..._validation import check_choice, check_int, check_real
from ...backend import child_seed, get_namespace, make_rng, resolve_backend, seed_sequence
from ...geometry import masked_hessian
from ...sparsity import best_k_term, keep_count
from ...theory import SADDLE_MAX_D, SADDLE_MAX_SCALE, SADDLE_MIN_SCALE, \
    prob_magnitude_mask_avoids, prob_random_mask_avoids

__all__ = ["GEOMETRIES", "MASK_KINDS", "MAX_D", "MAX_TRIALS", "MIN_SCALE", "MAX_SCALE",
           "prob_random_mask_avoids", "prob_magnitude_mask_avoids", "local_min_theory",
           "saddle_hessians", "draw_masks", "simulate_saddles"]

GEOMETRIES = ("confined", "spread")
MASK_KINDS = ("random", "magnitude")

# Bytes of float64 d x d matrices per stream block (see simulate_saddles).
_BLOCK_BYTES = 8 * 2**20
#: Largest dimension ``d`` (theory and simulation).
MAX_D = SADDLE_MAX_D
#: Largest number of trials of one simulation.
MAX_TRIALS = 10 ** 15
#: Range of ``off_scale`` and ``neg_strength``.
MIN_SCALE, MAX_SCALE = SADDLE_MIN_SCALE, SADDLE_MAX_SCALE


def _check_d(d: Any) -> int:
    return check_int("d", d, low=1, high=MAX_D)


def _check_scale(name: str, value: Any) -> float:
    return check_real(name, value, low=MIN_SCALE, high=MAX_SCALE)

# --------------------------------------------------------------------------- theory

def local_min_theory(d: int, n_neg: int, m: int, geometry: str, mask: str,
                     off_scale: float = 1.0) -> float:
    """Exact P(restricted Hessian ⪰ 0) where known, ``nan`` otherwise (spread geometry).

    The arguments are checked for every geometry (``1 <= d <= MAX_D``,
    ``0 <= n_neg, m <= d``, ``off_scale`` in ``[MIN_SCALE, MAX_SCALE]``).

    Examples
    --------
    >>> local_min_theory(8, 2, 4, "confined", "random")
    0.21428571428571427
    >>> local_min_theory(8, 2, 4, "spread", "random")
    nan
    """
    check_choice("geometry", geometry, GEOMETRIES)
    check_choice("mask", mask, MASK_KINDS)
    d = _check_d(d)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    m = check_int("m", m, low=0, high=d)
    off_scale = _check_scale("off_scale", off_scale)
    if geometry == "spread":
        return float("nan")
    if mask == "random":
        return prob_random_mask_avoids(d, n_neg, m)
    return prob_magnitude_mask_avoids(d, n_neg, m, off_scale)


# --------------------------------------------------------------------------- simulation

def _haar_orthogonal(rng, trials: int, n: int, xp) -> Any:
    """Haar-distributed orthogonal matrices, (trials, n, n), by QR with sign fix."""
    if n == 0:
        return xp.zeros((trials, 0, 0))
    g = rng.normal((trials, n, n))
    q, r = xp.linalg.qr(g)
    signs = xp.sign(xp.diagonal(r, axis1=-2, axis2=-1))
    signs = xp.where(signs == 0, 1.0, signs)
    return q * signs[:, None, :]


def _spectral_matrix(q, ev, xp) -> Any:
    h = (q * ev[:, None, :]) @ xp.swapaxes(q, -1, -2)
    return 0.5 * h + 0.5 * xp.swapaxes(h, -1, -2)  # (h + hᵀ)/2 without overflow


def saddle_hessians(rng, trials: int, d: int, n_neg: int, geometry: str,
                    neg_strength: float = 1.0) -> tuple[Any, Any]:
    """Random saddle Hessians and their exact eigenvalues.

    Parameters
    ----------
    rng : sparsesim.backend.Rng
    trials, d, n_neg : int
    geometry : {"confined", "spread"}
        See the module notes (``N`` = the first ``n_neg`` coordinates).
    neg_strength : float
        Scale of the negative eigenvalues.

    Returns
    -------
    H : array (trials, d, d)
    eigenvalues : array (trials, d)
        The eigenvalues of each ``H``, ascending (known by construction).

    Examples
    --------
    >>> from sparsesim.backend import make_rng
    >>> H, ev = saddle_hessians(make_rng(0, "numpy"), 3, 5, 2, "confined")
    >>> H.shape, bool((ev[:, :2] < 0).all() and (ev[:, 2:] > 0).all())
    ((3, 5, 5), True)
    >>> bool(np.allclose(np.linalg.eigvalsh(H), ev))
    True
    """
    trials = check_int("trials", trials, low=1, high=MAX_TRIALS)
    d = _check_d(d)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    check_choice("geometry", geometry, GEOMETRIES)
    neg_strength = _check_scale("neg_strength", neg_strength)
    xp = rng.xp
    neg = -neg_strength * (0.5 + rng.uniform((trials, n_neg)))
    pos = 0.5 + rng.uniform((trials, d - n_neg))
    if geometry == "spread":
        q = _haar_orthogonal(rng, trials, d, xp)
        H = _spectral_matrix(q, xp.concatenate([neg, pos], axis=1), xp)
    else:
        H = xp.zeros((trials, d, d))
        if n_neg:
            H[:, :n_neg, :n_neg] = _spectral_matrix(_haar_orthogonal(rng, trials, n_neg, xp),
                                                     neg, xp)
        if d - n_neg:
            H[:, n_neg:, n_neg:] = _spectral_matrix(
                _haar_orthogonal(rng, trials, d - n_neg, xp), pos, xp)
    return H, xp.sort(xp.concatenate([neg, pos], axis=1), axis=1)


def draw_masks(rng, trials: int, d: int, n_neg: int, m: int, mask: str,
               off_scale: float = 1.0) -> Any:
    """Masks keeping exactly ``m`` of ``d`` coordinates, (trials, d) bool.

    ``mask="random"``: uniform ``m``-subsets (the top ``m`` of i.i.d. uniform
    keys).  ``mask="magnitude"``: :func:`sparsesim.best_k_term` of the planted
    weights (``N(0, 1)`` on the first ``n_neg`` coordinates, ``N(0, off_scale²)``
    elsewhere).

    Examples
    --------
    >>> from sparsesim.backend import make_rng
    >>> masks = draw_masks(make_rng(0, "numpy"), 4, 6, 2, 3, "magnitude", 2.0)
    >>> masks.shape, masks.sum(axis=1).tolist()
    ((4, 6), [3, 3, 3, 3])
    """
    check_choice("mask", mask, MASK_KINDS)
    off_scale = _check_scale("off_scale", off_scale)
    xp = rng.xp
    if mask == "random":
        keys = rng.uniform((trials, d))
    else:
        scale = xp.full(d, off_scale)
        scale[:n_neg] = 1.0
        keys = rng.normal((trials, d)) * scale
    return best_k_term(keys, m, axis=1)[1]


def simulate_saddles(d: int, n_neg: int, density: float, *, geometry: str = "confined",
                     mask: str = "random", off_scale: float = 1.0, neg_strength: float = 1.0,
                     trials: int = 1000, tol: float = 1e-9, seed: Any = 0,
                     backend: str = "numpy") -> dict:
    """Monte Carlo counts for one cell (see the module notes).

    Parameters stay: each is an independent knob of one cell of the sweep (dimension,
    negative directions, density, geometry, mask rule, the two scales, trials, tolerance,
    seed, backend); the grid names them one for one.

    Parameters
    ----------
    d, n_neg : int
        Dimension and number of negative eigenvalues, ``1 <= d <= MAX_D``,
        ``0 <= n_neg <= d``.
    density : float
        In (0, 1]; the mask keeps ``m = keep_count(density, d) >= 1`` coordinates.
    geometry, mask, off_scale, neg_strength
        See the module notes.
    trials : int
        Independent (H, mask) draws, ``1 <= trials <= MAX_TRIALS``.
    tol : float
        Relative tolerance of the PSD test and of the interlacing checks.
    seed : int or SeedSequence
        Trials are cut into stream blocks of ``max(1, 8 MiB // (8 d²))``
        trials; block ``b`` draws from child ``b`` of ``seed`` and is
        decomposed as one batched stack, so a result depends only on the
        seed, the parameters and the backend.
    backend : {"numpy", "cupy", "auto"}

    Returns
    -------
    dict
        ``m``, ``n_local_min`` (trials with ``H[S, S] ⪰ 0``),
        ``interlacing_failures``, ``count_bound_failures``,
        ``overlap_mismatches`` (confined only: restricted negative count !=
        ``|S ∩ N|``), ``mean_n_neg_restricted``, ``mean_overlap``,
        ``mean_lambda_min_restricted``, ``min_margin_lambda_min`` (smallest
        ``λ_min(H[S,S]) - λ_min(H)`` over trials, >= 0 by interlacing).

    Raises
    ------
    ValueError
        Densities outside (0, 1], ``n_neg > d``, a density that keeps no
        coordinate, magnitude masks with the spread geometry, or a size or
        scale outside the limits of the module notes.

    Examples
    --------
    >>> r = simulate_saddles(6, 1, 0.5, trials=200, seed=1)
    >>> r["m"], r["interlacing_failures"], r["overlap_mismatches"]
    (3, 0, 0)
    """
    d = _check_d(d)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    density = check_real("density", density, low=0.0, high=1.0, low_open=True)
    check_choice("geometry", geometry, GEOMETRIES)
    check_choice("mask", mask, MASK_KINDS)
    off_scale = _check_scale("off_scale", off_scale)
    neg_strength = _check_scale("neg_strength", neg_strength)
    trials = check_int("trials", trials, low=1, high=MAX_TRIALS)
    tol = check_real("tol", tol, low=0.0, high=1e-3)
    if geometry == "spread" and mask == "magnitude":
        raise ValueError("mask='magnitude' needs geometry='confined' (a spread H has no "
                         "coordinate set N for the planted weights to favour)")
    m = keep_count(density, d)
    if m < 1:
        raise ValueError(f"density={density} keeps no coordinate of d={d}; "
                         f"density must be at least {0.5 / d:.3g}")
    block = max(1, _BLOCK_BYTES // (8 * d * d))
    root = seed_sequence(seed)
    backend = resolve_backend(backend)
    xp = get_namespace(backend)

    n_local = n_interlace = n_bounds = n_overlap = 0
    sum_neg = sum_overlap = 0
    sum_lmin = 0.0
    min_margin = math.inf
    lo_bound, hi_bound = max(0, n_neg - (d - m)), n_neg
    for b, done in enumerate(range(0, trials, block)):
        t = min(block, trials - done)
        rng = make_rng(child_seed(root, b), backend)
        H, lam = saddle_hessians(rng, t, d, n_neg, geometry, neg_strength)
        masks = draw_masks(rng, t, d, n_neg, m, mask, off_scale)
        mu = xp.linalg.eigvalsh(masked_hessian(H, masks))          # (t, m) ascending
        scale = xp.maximum(xp.abs(lam[:, :1]), xp.abs(lam[:, -1:]))  # spectral radius of H
        zero = tol * scale
        local = mu[:, 0] >= -tol * xp.maximum(xp.abs(mu[:, 0]), xp.abs(mu[:, -1]))
        idx = xp.arange(m)
        inter_ok = xp.all((mu >= lam[:, idx] - zero) & (mu <= lam[:, idx + d - m] + zero), axis=1)
        n_neg_r = xp.sum(mu < -zero, axis=1)
        bounds_ok = (n_neg_r >= lo_bound) & (n_neg_r <= hi_bound)
        overlap = xp.sum(masks[:, :n_neg], axis=1)
        n_local += int(xp.sum(local))
        n_interlace += int(t - xp.sum(inter_ok))
        n_bounds += int(t - xp.sum(bounds_ok))
        if geometry == "confined":
            n_overlap += int(xp.sum(n_neg_r != overlap))
            sum_overlap += int(xp.sum(overlap))
        sum_neg += int(xp.sum(n_neg_r))
        sum_lmin += float(xp.sum(mu[:, 0]))
        min_margin = min(min_margin, float(xp.min(mu[:, 0] - lam[:, 0])))
    return {
        "m": m,
        "n_local_min": n_local,
        "interlacing_failures": n_interlace,
        "count_bound_failures": n_bounds,
        "overlap_mismatches": n_overlap,
        "mean_n_neg_restricted": sum_neg / trials,
        "mean_overlap": sum_overlap / trials if geometry == "confined" else float("nan"),
        "mean_lambda_min_restricted": sum_lmin / trials,
        "min_margin_lambda_min": min_margin,
    }
