"""The science: critical points of a trained MLP and the masks that confine them."""

from __future__ import annotations

import numpy as np

from ...geometry import classify_critical_point, lanczos_extremes
from ...nn import data as nn_data
from ...nn.critical import MLPLandscape
from ...sparsity import keep_count

__all__ = ["MASK_KINDS", "PLANTED", "SOURCES", "embedded_start", "landscape", "start_point",
           "layer_masks",
           "restricted_summary", "analyse_point", "saddle_rows"]

#: The two mask families judged at every saddle.
MASK_KINDS = ("magnitude", "random")
#: Where a cell's start point comes from (package notes).
SOURCES = ("trained", "embedded")
#: Planted errors (for the tests of the verdicts; ``"none"`` in every real run):
#: ``"swap"`` records the random mask as magnitude and vice versa;
#: ``"oracle"`` replaces the magnitude mask by one that prunes, layer by layer,
#: the weights carrying the most negative-eigenvector mass (same counts);
#: ``"anti_oracle"`` puts that oracle mask in the random column instead.
PLANTED = ("none", "swap", "oracle", "anti_oracle")


def landscape(p: dict, sweep_seed: int, width: int | None = None) -> MLPLandscape:
    """The fixed full-batch landscape of a cell: ``n_points`` training examples of ``dataset``.

    ``width`` overrides the first hidden layer's width (the narrower network of
    an embedded saddle).
    """
    n = int(p["n_points"])
    if p.get("dataset", "mnist1d") == "teacher":
        ds = nn_data.planted_teacher(n_in=40, hidden=20, n_out=10, density=0.1, n_train=n,
                                     n_val=1, n_test=1,
                                     seed=np.random.SeedSequence([int(sweep_seed), 7919, 2]),
                                     backend="numpy", dtype=np.float64)
    else:
        ds = nn_data.mnist1d(seed=np.random.SeedSequence([int(sweep_seed), 7919]),
                             n_validation=500, backend="numpy", dtype=np.float64)
    hidden = [int(p["width"])] * int(p["depth"])
    if width is not None:
        hidden[0] = int(width)
    sizes = (40, *hidden, 10)
    return MLPLandscape(sizes, ds.x_train[:n], ds.y_train[:n],
                        weight_decay=float(p["weight_decay"]), activation="tanh")


def embedded_start(land: MLPLandscape, p: dict, sweep_seed: int, seed: int) -> tuple:
    """A symmetry-induced critical point: a minimum of the narrower network plus a zero unit.

    The network with ``width − 1`` units in its first hidden layer is trained
    to a minimum (L-BFGS on ``L``, ``gtol``-accurate); a unit with zero
    incoming weights, zero bias and zero outgoing weights is appended to that
    layer.  Every partial derivative of the new unit's coordinates vanishes
    there (``tanh(0) = 0`` and its outgoing weights are 0) and the old
    coordinates see the narrower network unchanged, so the point is a critical
    point of the wider landscape exactly when the narrower one's is
    (Fukumizu and Amari, 2000).  Its Hessian couples the new unit's incoming
    weights and bias to its outgoing weights; eigenvalues ``wd ± σ_i`` of that
    block make it a saddle when a singular value ``σ_i`` of the coupling
    exceeds the weight decay.  Returns ``(theta, base_grad_norm)``.
    """
    from scipy.optimize import minimize  # noqa: PLC0415

    w = int(p["width"])
    if w < 2:
        raise ValueError(f"width must be >= 2 for an embedded saddle; got {w}")
    small = landscape(p, sweep_seed, width=w - 1)
    th = small.init(seed=np.random.SeedSequence([int(sweep_seed), int(seed), 3]))
    res = minimize(small.loss, th, jac=small.grad, method="L-BFGS-B",
                   options={"maxiter": 20000, "gtol": 1e-13, "ftol": 0.0, "maxcor": 30})
    th = res.x
    base = small.unflatten(th)
    big = land.unflatten(np.zeros(land.dim))
    for li, ((Wb, bb), (Ws, bs)) in enumerate(zip(big, base)):
        if li == 0:
            Wb[0, :, :w - 1] = Ws[0]
            bb[0, :w - 1] = bs[0]
        elif li == 1:
            Wb[0, :w - 1, :] = Ws[0]
            bb[0] = bs[0]
        else:
            Wb[0] = Ws[0]
            bb[0] = bs[0]
    theta = land.flatten(big)
    return theta, float(np.linalg.norm(small.grad(th)))


def start_point(land: MLPLandscape, p: dict, sweep_seed: int, seed: int,
                start_step: int) -> np.ndarray:
    """Kaiming init of replicate ``seed``, then ``start_step`` full-batch heavy-ball steps."""
    theta = land.init(seed=np.random.SeedSequence([int(sweep_seed), int(seed), 1]))
    vel = np.zeros_like(theta)
    for _ in range(int(start_step)):
        vel = 0.9 * vel - float(p["lr"]) * land.grad(theta)
        theta = theta + vel
    return theta


def layer_masks(land: MLPLandscape, theta: np.ndarray, density: float, kind: str,
                rng: np.random.Generator | None = None,
                score: np.ndarray | None = None) -> np.ndarray:
    """Flat boolean keep-mask: ``keep_count(density, fan_in·fan_out)`` weights a layer, all biases.

    ``kind="magnitude"`` keeps the largest ``|θ_i|`` of each layer (ties to the
    lower index, stable sort); ``"random"`` a uniform subset of the same size
    per layer (``rng``); ``"score"`` the largest ``score_i`` per layer.
    """
    keep = ~land.weight_mask()                  # biases always kept
    for li in range(len(land.shapes)):
        lo, hi = land.offsets[2 * li], land.offsets[2 * li + 1]
        k = keep_count(density, hi - lo)
        if kind == "magnitude":
            order = np.argsort(-np.abs(theta[lo:hi]), kind="stable")
        elif kind == "random":
            order = rng.permutation(hi - lo)
        elif kind == "score":
            order = np.argsort(-score[lo:hi], kind="stable")
        else:
            raise ValueError(f"kind must be 'magnitude', 'random' or 'score'; got {kind!r}")
        keep[lo + order[:k]] = True
    return keep


def restricted_summary(H: np.ndarray, keep: np.ndarray, tau: float, lam_min_full: float,
                       neg_vecs: np.ndarray) -> dict:
    """Spectrum of ``H[S, S]`` (``S`` = kept) and where ``H``'s negative eigenvectors live."""
    idx = np.flatnonzero(keep)
    ev = np.linalg.eigvalsh(H[np.ix_(idx, idx)])
    pruned_mass = (neg_vecs[~keep] ** 2).sum(axis=0) if neg_vecs.shape[1] else np.zeros(0)
    return {
        "lambda_min": float(ev[0]),
        "n_negative": int((ev < -tau).sum()),
        "is_min": bool(ev[0] >= -tau),
        # Cauchy interlacing: λ_min(H[S,S]) ≥ λ_min(H) (to rounding)
        "interlacing_ok": bool(ev[0] >= lam_min_full - 1e-9 * max(1.0, abs(lam_min_full))),
        "neg_mass_pruned": float(pruned_mass.mean()) if pruned_mass.size else float("nan"),
        "active_dim": int(idx.size),
    }


def analyse_point(land: MLPLandscape, theta0: np.ndarray, p: dict) -> dict:
    """Newton-MR from ``theta0``; the dense Hessian there; its classification."""
    cp = land.critical_point(theta0, gtol=float(p["gtol"]), max_iter=int(p["newton_iters"]),
                             minres_maxiter=int(p["minres_iters"]))
    x = cp.x
    H = land.dense_hessian(x)
    ev, vecs = np.linalg.eigh(H)
    lam_min, lam_max = float(ev[0]), float(ev[-1])
    tau = float(p["curvature_rtol"]) * max(abs(lam_min), abs(lam_max))
    ell = land.length_scale(x)
    label = classify_critical_point(cp.grad_norm, lam_min, lam_max, ell,
                                    curvature_rtol=float(p["curvature_rtol"]),
                                    step_rtol=float(p["step_rtol"]))
    lz = lanczos_extremes(land.restricted_operator(x), k=1, tol=1e-10, maxiter=5000, seed=0,
                          allow_unconverged=True)
    scale = max(abs(lam_min), abs(lam_max))
    # Where the remaining gradient lives: its share on near-zero curvature (|λ| <= τ).
    # Close to 1 at a "gradient-flat" point (Frye et al. 2021), where Newton-type
    # methods stall with ∇L ≠ 0 because ∇L lies in the near-null space of H.
    gc = vecs.T @ land.grad(x)
    flat = float((gc[np.abs(ev) <= tau] ** 2).sum() / max(float(gc @ gc), 1e-300))
    return {
        "x": x, "H": H, "eigenvalues": ev, "eigenvectors": vecs, "tau": tau,
        "row": {
            "classification": label,
            "is_saddle": label == "saddle",
            "grad_norm": cp.grad_norm,
            "grad_norm_start": cp.history[0],
            "newton_steps": cp.n_iter,
            "hvps": cp.n_hvp,
            "length_scale": ell,
            "newton_step_ratio": cp.grad_norm / (max(abs(lam_min), tau) * ell),
            "loss": land.loss(x),
            "distance_moved": float(np.linalg.norm(x - theta0)),
            "lambda_min": lam_min,
            "lambda_max": lam_max,
            "n_negative": int((ev < -tau).sum()),
            "tau": tau,
            "grad_flat_fraction": flat,
            "lambda_min_lanczos": float(lz.lambda_min),
            "lambda_max_lanczos": float(lz.lambda_max),
            "lanczos_agree": bool(abs(lz.lambda_min - lam_min) <= 1e-6 * scale
                                  and abs(lz.lambda_max - lam_max) <= 1e-6 * scale),
            "dim": land.dim,
        },
    }


def saddle_rows(p: dict, sweep_seed: int, seed: int, start_step: int,
                densities: list[float]) -> list[dict]:
    """One row per density for the critical point reached from the cell's start."""
    land = landscape(p, sweep_seed)
    base_gn = float("nan")
    if p["source"] == "embedded":
        theta0, base_gn = embedded_start(land, p, sweep_seed, seed)
    else:
        theta0 = start_point(land, p, sweep_seed, seed, start_step)
    a = analyse_point(land, theta0, p)
    base = {"source": p["source"], "seed": int(seed), "start_step": int(start_step),
            "base_grad_norm": base_gn, **a["row"]}
    ev, vecs, tau, x, H = a["eigenvalues"], a["eigenvectors"], a["tau"], a["x"], a["H"]
    neg_vecs = vecs[:, ev < -tau]
    neg_weight_mass = (neg_vecs ** 2).sum(axis=1)     # per coordinate
    wmask = land.weight_mask()
    base["neg_mass_on_biases"] = (float((neg_vecs[~wmask] ** 2).sum(axis=0).mean())
                                  if neg_vecs.shape[1] else float("nan"))
    planted = p["planted"]
    rows = []
    for di, d in enumerate(densities):
        rng = np.random.default_rng(np.random.SeedSequence(
            [int(sweep_seed), int(seed), int(start_step), di, 2]))
        masks = {"magnitude": layer_masks(land, x, d, "magnitude"),
                 "random": layer_masks(land, x, d, "random", rng)}
        if planted != "none":
            oracle = layer_masks(land, x, d, "score", score=-neg_weight_mass)
            if planted == "swap":
                masks = {"magnitude": masks["random"], "random": masks["magnitude"]}
            elif planted == "oracle":
                masks["magnitude"] = oracle
            else:
                masks["random"] = oracle
        row = {**base, "density": float(d)}
        for kind in MASK_KINDS:
            s = restricted_summary(H, masks[kind], tau, float(ev[0]), neg_vecs)
            row.update({f"{kind}_{k}": v for k, v in s.items()})
        row["masks_overlap"] = float((masks["magnitude"] & masks["random"] & wmask).sum()
                                     / max(1, (masks["magnitude"] & wmask).sum()))
        rows.append(row)
    return rows
