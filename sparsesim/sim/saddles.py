"""Saddles that a pruning mask turns into minima.

The seed article ("The Hidden Geometry of Pruning") argues that a mask acts as
a projection: negative-curvature directions of a saddle that lie in the pruned
subspace vanish from the restricted landscape, because
``vᵀ (P_m H P_m) v = (P_m v)ᵀ H (P_m v) = 0`` for ``v`` supported on pruned
coordinates.  This simulation measures how often a random mask does that.

Model
-----
``H`` is a random symmetric ``d x d`` matrix with ``n_neg`` negative
eigenvalues, ``-neg_strength * U[0.5, 1.5]``, and ``d - n_neg`` positive ones,
``U[0.5, 1.5]``, drawn afresh for every trial:

* ``geometry="confined"``: ``H = blockdiag(B_N, A)`` where ``N`` is the first
  ``n_neg`` coordinates, ``B_N = Q_1 diag(neg) Q_1ᵀ`` is negative definite and
  ``A = Q_2 diag(pos) Q_2ᵀ`` positive definite (``Q_i`` Haar orthogonal): the
  negative curvature lives exactly on the coordinates ``N``.
* ``geometry="spread"``: ``H = Q diag(neg, pos) Qᵀ`` with ``Q`` Haar
  orthogonal ``d x d``: negative curvature along dense random directions.

A mask keeps exactly ``m = keep_count(density, d) = floor(density·d + 0.5)``
coordinates, chosen

* ``mask="random"``: uniformly among the ``C(d, m)`` subsets;
* ``mask="magnitude"``: the ``m`` largest ``|w_i|`` of a planted weight vector
  with ``w_i ~ N(0, 1)`` on ``N`` and ``N(0, off_scale²)`` off ``N``
  (``off_scale > 1``: magnitude pruning tends to remove ``N``;
  ``< 1``: tends to keep it; ``= 1``: a uniform random mask).  Confined
  geometry only (a spread ``H`` has no coordinate set ``N``).

The restricted problem is a local minimum when ``H[S, S] ⪰ 0``, decided by
``eigvalsh`` on the ``(trials, m, m)`` stack (batched, no loop over trials):
``λ_min(H[S, S]) >= -tol · max|λ(H[S, S])|``.

Theory
------
* Confined, random mask: principal submatrices of a positive (negative)
  definite block are positive (negative) definite, so ``H[S, S] ⪰ 0`` exactly
  when ``S ∩ N = ∅`` and the number of negative restricted eigenvalues is
  exactly ``|S ∩ N|``.  P(local min) = ``C(d - n_neg, m) / C(d, m)``
  (hypergeometric).
* Confined, magnitude mask: the mask avoids ``N`` when the largest of the
  ``n_neg`` on-``N`` magnitudes falls below the ``m``-th largest of the
  ``d - n_neg`` off-``N`` magnitudes ``T``; with ``U = G(T) ~ Beta(d - n_neg - m + 1, m)``
  (``G`` the law of ``|N(0, off_scale²)|``),
  ``P = E[ erf(off_scale · Φ⁻¹((1 + U)/2) / √2)^n_neg ]``, one quadrature.
* Spread: no exact law is known to this package; the measured probability is
  reported with its 95% Clopper-Pearson interval and *no* theory.  Cauchy
  interlacing must hold in every trial: ``λ_i(H) <= μ_i <= λ_{i+d-m}(H)``,
  hence ``λ_min(H[S, S]) >= λ_min(H)`` and
  ``max(0, n_neg - (d - m)) <= n_neg(H[S, S]) <= n_neg``; these are checked
  trial by trial for both geometries (exact checks, ``agree`` rows).

Each cell compares the Monte Carlo count with the theory by a two-sided exact
binomial test (``scipy.stats.binomtest``).

Limits
------
``1 <= d <= MAX_D`` (4096: the simulation holds ``d x d`` float64 matrices,
128 MiB each at the cap), ``1 <= trials <= MAX_TRIALS`` (``10**15``), and
``off_scale`` and ``neg_strength`` in ``[MIN_SCALE, MAX_SCALE]``
(``[1e-100, 1e100]``: far beyond any ratio the tolerances can resolve, and
safe from overflow).  Larger or smaller values raise ``ValueError`` naming
the argument.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np  # noqa: F401 - the doctests use it

from .._validation import check_choice, check_int, check_real
from ..backend import child_seed, get_namespace, make_rng, resolve_backend, seed_sequence
from ..geometry import masked_hessian
from ..sparsity import best_k_term, keep_count

__all__ = [
    "PARAMS",
    "DEFAULTS",
    "GEOMETRIES",
    "MASK_KINDS",
    "valid_cell",
    "run_cell",
    "tables",
    "figures",
    "saddle_hessians",
    "draw_masks",
    "simulate_saddles",
    "prob_random_mask_avoids",
    "prob_magnitude_mask_avoids",
    "local_min_theory",
    "MAX_D",
    "MAX_TRIALS",
    "MIN_SCALE",
    "MAX_SCALE",
]

GEOMETRIES = ("confined", "spread")
MASK_KINDS = ("random", "magnitude")

PARAMS: dict[str, type] = {
    "d": int,
    "n_neg": int,
    "density": float,
    "geometry": str,
    "mask": str,
    "off_scale": float,
    "neg_strength": float,
    "trials": int,
    "tol": float,
}

DEFAULTS: dict[str, Any] = {
    "geometry": "confined",
    "mask": "random",
    "off_scale": 1.0,
    "neg_strength": 1.0,
    "tol": 1e-9,
}

# Bytes of float64 d x d matrices per stream block (see simulate_saddles).
_BLOCK_BYTES = 8 * 2**20
#: Largest dimension ``d`` (theory and simulation).
MAX_D = 1 << 12
#: Largest number of trials of one simulation.
MAX_TRIALS = 10 ** 15
#: Range of ``off_scale`` and ``neg_strength``.
MIN_SCALE, MAX_SCALE = 1e-100, 1e100


def _check_d(d: Any) -> int:
    return check_int("d", d, low=1, high=MAX_D)


def _check_scale(name: str, value: Any) -> float:
    return check_real(name, value, low=MIN_SCALE, high=MAX_SCALE)


# --------------------------------------------------------------------------- theory

def prob_random_mask_avoids(d: int, n_neg: int, m: int) -> float:
    """``C(d - n_neg, m) / C(d, m)``: a uniform ``m``-subset of ``d`` misses a fixed ``n_neg``-set.

    Exact rational arithmetic, rounded once to float.

    Examples
    --------
    >>> prob_random_mask_avoids(4, 1, 2)
    0.5
    >>> prob_random_mask_avoids(4, 3, 2)
    0.0
    """
    d = _check_d(d)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    m = check_int("m", m, low=0, high=d)
    return float(Fraction(math.comb(d - n_neg, m), math.comb(d, m)))


def prob_magnitude_mask_avoids(d: int, n_neg: int, m: int, off_scale: float) -> float:
    """P(the ``m`` largest ``|w_i|`` all lie off ``N``) for the planted weights.

    ``w_i ~ N(0, 1)`` on ``N`` (``|N| = n_neg``), ``N(0, off_scale²)`` on the
    other ``d - n_neg`` coordinates, all independent.  Computed as
    ``E[erf(off_scale · Φ⁻¹((1 + U)/2) / √2)^n_neg]`` with
    ``U ~ Beta(d - n_neg - m + 1, m)`` by adaptive quadrature
    (``scipy.integrate.quad``); absolute error below ``1e-10``.
    ``off_scale`` in ``[MIN_SCALE, MAX_SCALE]``.

    Examples
    --------
    >>> round(prob_magnitude_mask_avoids(4, 1, 2, 1.0), 10)   # = C(3,2)/C(4,2)
    0.5
    >>> prob_magnitude_mask_avoids(6, 2, 2, 3.0) > 0.5
    True
    """
    from scipy import integrate, special, stats  # noqa: PLC0415

    d = _check_d(d)
    n_neg = check_int("n_neg", n_neg, low=0, high=d)
    m = check_int("m", m, low=0, high=d)
    s = _check_scale("off_scale", off_scale)
    n_off = d - n_neg
    if n_neg == 0 or m == 0:
        return 1.0
    if m > n_off:
        return 0.0
    a, b = n_off - m + 1, m
    dist = stats.beta(a, b)

    def integrand(u: float) -> float:
        t = s * special.ndtri(0.5 * (1.0 + u))
        return math.exp(n_neg * math.log(max(special.erf(t / math.sqrt(2.0)), 1e-300))
                        + dist.logpdf(u)) if 0.0 < u < 1.0 else 0.0

    lo, hi = dist.ppf(1e-14), dist.ppf(1.0 - 1e-14)
    points = [float(dist.ppf(q)) for q in (0.001, 0.1, 0.5, 0.9, 0.999)]
    val, _ = integrate.quad(integrand, lo, hi, points=points, limit=400,
                            epsabs=1e-12, epsrel=1e-10)
    return float(min(max(val, 0.0), 1.0))


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


# --------------------------------------------------------------------------- sweep contract

def _cell(params: dict) -> dict:
    return {**DEFAULTS, **params}


def valid_cell(params: dict) -> bool:
    """Drop impossible or duplicate cells.

    Dropped: ``n_neg > d``; densities keeping no coordinate; magnitude masks
    with the spread geometry; random masks with ``off_scale != 1`` (the planted
    weights play no role there, so those cells would repeat ``off_scale = 1``).
    """
    p = _cell(params)
    if p["n_neg"] > p["d"] or not (0.0 < p["density"] <= 1.0):
        return False
    if keep_count(p["density"], p["d"]) < 1:
        return False
    if p["geometry"] == "spread" and p["mask"] == "magnitude":
        return False
    if p["mask"] == "random" and p["off_scale"] != 1.0:
        return False
    return True


def _binom_p(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value; degenerate ``p`` in {0, 1} handled exactly."""
    from scipy import stats  # noqa: PLC0415

    if math.isnan(p):
        return float("nan")
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    return float(stats.binomtest(k, n, p).pvalue)


def run_cell(params: dict, ctx) -> dict:
    """One cell of ``sims/masked_hessian_saddles.toml`` -> one row."""
    from scipy import stats  # noqa: PLC0415

    p = _cell(params)
    r = simulate_saddles(p["d"], p["n_neg"], p["density"], geometry=p["geometry"],
                         mask=p["mask"], off_scale=p["off_scale"],
                         neg_strength=p["neg_strength"], trials=p["trials"], tol=p["tol"],
                         seed=ctx.seed, backend=ctx.backend)
    trials = p["trials"]
    theory = local_min_theory(p["d"], p["n_neg"], r["m"], p["geometry"], p["mask"],
                              p["off_scale"])
    ci = stats.binomtest(r["n_local_min"], trials).proportion_ci(0.95, method="exact")
    row = dict(r)
    row.update({
        "p_local_min": r["n_local_min"] / trials,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "p_theory": theory,
        "p_value": _binom_p(r["n_local_min"], trials, theory),
    })
    return row


def tables(cells):
    """Theory tables: P(local min) vs exact law; interlacing checks; spread (measured only)."""
    import pandas as pd  # noqa: PLC0415

    from .._table import TheoryTable  # noqa: PLC0415

    c = cells.copy()
    for k, v in DEFAULTS.items():
        if k not in c.columns:
            c[k] = v
    out = []
    conf = c[c["geometry"] == "confined"]
    if len(conf):
        f = conf[["d", "n_neg", "m", "mask", "off_scale", "trials", "n_local_min",
                  "p_local_min"]].reset_index(drop=True)
        # The report recomputes the theory and the test from the counts (the values
        # a cell recorded are not trusted).
        f["p_theory"] = [local_min_theory(int(r.d), int(r.n_neg), int(r.m), "confined",
                                          str(r.mask), float(r.off_scale))
                         for r in f.itertuples(index=False)]
        f["p_value"] = [_binom_p(int(k), int(n), float(pt))
                        for k, n, pt in zip(f["n_local_min"], f["trials"], f["p_theory"])]
        # P = 0 or 1 exactly (the mask must hit N, or N is empty): no randomness is
        # left, so the row is an identity ("every trial / no trial is PSD").
        sure = (f["p_theory"] == 0.0) | (f["p_theory"] == 1.0)
        f = f.assign(kind=np.where(sure, "identity", "test"),
                     holds=[bool(pl == pt) if s_ else None
                            for pl, pt, s_ in zip(f["p_local_min"], f["p_theory"], sure)])
        f.loc[sure, "p_value"] = np.nan
        out.append(TheoryTable(
            "Confined negative curvature: P(restricted Hessian ⪰ 0) vs exact law", f,
            p_col="p_value", agree_col="holds", kind="test", kind_col="kind",
            test="two-sided exact binomial test (P(restricted Hessian ⪰ 0))",
            tolerance="exact count",
            note=("H = blockdiag(B_N, A), B_N negative definite on the n_neg coordinates N, "
                  "A positive definite: the restriction is PSD exactly when the mask avoids N. "
                  "Theory: C(d−n_neg, m)/C(d, m) for uniform masks; for magnitude masks of "
                  "planted weights (N(0,1) on N, N(0, off_scale²) off N) one quadrature "
                  "(module notes). p_value: two-sided exact binomial test of the Monte Carlo "
                  "count against the theory. Rows whose theory is exactly 0 or 1 (PSD never "
                  "or always, by construction) are identities: every trial must agree.")))
    checks = c.assign(
        all_checks_ok=(c["interlacing_failures"] == 0) & (c["count_bound_failures"] == 0)
        & (c["overlap_mismatches"] == 0))
    f = checks[["geometry", "mask", "d", "n_neg", "m", "off_scale", "trials",
                "interlacing_failures", "count_bound_failures", "overlap_mismatches",
                "min_margin_lambda_min", "all_checks_ok"]].reset_index(drop=True)
    out.append(TheoryTable.identities(
        "Cauchy interlacing, checked in every trial", f, holds_col="all_checks_ok",
        tolerance="relative tol of the sweep (default 1e-9) on the eigenvalue comparisons",
        note=("Exact checks, trial by trial (counts of failing trials): "
              "λ_i(H) ≤ μ_i ≤ λ_{i+d−m}(H) for the restricted eigenvalues μ; "
              "max(0, n_neg−(d−m)) ≤ #negative μ ≤ n_neg; and, for the confined geometry, "
              "#negative μ = |S ∩ N|. min_margin_lambda_min = min over trials of "
              "λ_min(H[S,S]) − λ_min(H) (≥ 0 by interlacing).")))
    spread = c[c["geometry"] == "spread"]
    if len(spread):
        f = spread[["d", "n_neg", "m", "trials", "p_local_min", "ci_low", "ci_high",
                    "mean_n_neg_restricted", "mean_lambda_min_restricted"]].reset_index(drop=True)
        f = f.assign(n_neg_lower_bound=(f["n_neg"] - (f["d"] - f["m"])).clip(lower=0))
        out.append(TheoryTable.descriptive(
            "Spread negative curvature: measured P(restricted Hessian ⪰ 0) (no exact theory)",
            pd.DataFrame(f),
            note=("H = Q diag(λ) Qᵀ with Q Haar orthogonal: the negative curvature is along "
                  "dense random directions, so no mask removes it by avoiding coordinates. "
                  "No exact law is known to this package: the probability is measured only "
                  "(95% Clopper–Pearson interval); interlacing bounds are checked in the "
                  "table above. A restriction is PSD only when m ≤ d − n_neg is possible "
                  "(lower bound column > 0 forces a negative eigenvalue).")))
    return out


def figures(cells, outdir: Path) -> list[Path]:
    """P(local min) against density: simulation (markers) and theory (lines)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    c = cells.copy()
    for k, v in DEFAULTS.items():
        if k not in c.columns:
            c[k] = v
    panels = [("confined", "random", None)]
    mags = c[(c["geometry"] == "confined") & (c["mask"] == "magnitude")]
    panels += [("confined", "magnitude", s) for s in sorted(mags["off_scale"].unique())]
    panels += [("spread", "random", None)]

    def select(geo, mk, s):
        sel = (c["geometry"] == geo) & (c["mask"] == mk)
        return c[sel & (c["off_scale"] == s)] if s is not None else c[sel]

    panels = [pm for pm in panels if len(select(*pm))]
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for ax, (geo, mk, s) in zip(axes[0], panels):
        sub = select(geo, mk, s)
        for i, (key, g) in enumerate(sub.groupby(["d", "n_neg"])):
            g = g.sort_values("density")
            color = f"C{i % 10}"
            ax.plot(g["density"], g["p_local_min"], "o" if geo == "confined" else "o:",
                    ms=4, color=color, label=f"d={key[0]}, n_neg={key[1]}")
            if geo == "confined":
                ax.plot(g["density"], g["p_theory"], "-", color=color, lw=1)
        title = f"{geo} curvature, {mk} masks"
        if s is not None:
            title += f", off_scale={s:g}"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("density ρ (kept fraction)")
        ax.set_ylabel("P(restricted Hessian ⪰ 0)")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=6)
    fig.suptitle("Masks that turn a saddle into a minimum (markers: simulation, solid lines: "
                 "exact law; spread: measured only)")
    fig.tight_layout()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "local_min_probability.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
