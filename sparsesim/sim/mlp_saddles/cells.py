"""The sweep contract of the MLP-saddles simulation: parameters and one cell."""

from __future__ import annotations

from typing import Any

from ..._validation import check_choice, check_int, check_real
from .engine import PLANTED, SOURCES, saddle_rows

__all__ = ["PARAMS", "DEFAULTS", "NEUTRAL_DEFAULTS", "DATASETS", "valid_cell", "run_cell",
           "parse_densities"]

#: ``mnist1d``: the first ``n_points`` MNIST-1D training signals; ``teacher``: ``n_points``
#: Gaussian inputs labelled by the planted sparse ReLU teacher 40-20-10 of density 0.1
#: (:func:`sparsesim.nn.data.planted_teacher`, the hidden-layer teacher of the lottery claims).
DATASETS = ("mnist1d", "teacher")

PARAMS: dict[str, type] = {
    "source": str,
    "seed": int,
    "start_step": int,
    "width": int,
    "depth": int,
    "n_points": int,
    "weight_decay": float,
    "lr": float,
    "newton_iters": int,
    "minres_iters": int,
    "gtol": float,
    "curvature_rtol": float,
    "step_rtol": float,
    "densities": str,
    "planted": str,
    "dataset": str,
}

DEFAULTS: dict[str, Any] = {
    "source": "trained",
    "start_step": 0,
    "width": 8,
    "depth": 2,
    "n_points": 128,
    "weight_decay": 1e-2,
    "lr": 0.05,
    "newton_iters": 100,
    "minres_iters": 200,
    "gtol": 1e-12,
    "curvature_rtol": 1e-3,
    "step_rtol": 1e-3,
    "densities": "0.5,0.2,0.1",
    "planted": "none",
    "dataset": "mnist1d",
}

#: Parameters added after the first committed runs, at the value those runs used.
NEUTRAL_DEFAULTS: dict[str, Any] = {"dataset": "mnist1d"}


def parse_densities(text: str) -> list[float]:
    """``"0.5,0.2"`` -> ``[0.5, 0.2]``; each in (0, 1].

    >>> parse_densities("0.5, 0.1")
    [0.5, 0.1]
    >>> parse_densities("0.5,2")
    Traceback (most recent call last):
    ...
    ValueError: densities must be in (0, 1]; got 2.0
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"densities must be a comma-separated list of floats; got {text!r}")
    out = []
    for part in text.split(","):
        d = float(part)
        if not 0.0 < d <= 1.0:
            raise ValueError(f"densities must be in (0, 1]; got {d}")
        out.append(d)
    return out


def _cell(params: dict) -> dict:
    p = {**DEFAULTS, **params}
    check_int("seed", p["seed"], low=0)
    check_choice("dataset", p["dataset"], DATASETS)
    check_int("start_step", p["start_step"], low=0)
    check_int("width", p["width"], low=1, high=256)
    check_int("depth", p["depth"], low=1, high=4)
    check_int("n_points", p["n_points"], low=1, high=3500)
    check_real("weight_decay", p["weight_decay"], low=0.0)
    check_real("lr", p["lr"], low=0.0, low_open=True)
    check_int("newton_iters", p["newton_iters"], low=0)
    check_int("minres_iters", p["minres_iters"], low=1)
    check_real("gtol", p["gtol"], low=0.0)
    check_real("curvature_rtol", p["curvature_rtol"], low=0.0, high=1.0, low_open=True,
               high_open=True)
    check_real("step_rtol", p["step_rtol"], low=0.0, high=1.0, low_open=True, high_open=True)
    check_choice("planted", p["planted"], PLANTED)
    check_choice("source", p["source"], SOURCES)
    if p["source"] == "embedded" and p["width"] < 2:
        raise ValueError(f"width must be >= 2 for source='embedded'; got {p['width']}")
    parse_densities(p["densities"])
    return p


def valid_cell(params: dict) -> bool:
    """Drop embedded cells with ``start_step != 0`` (an embedded start does not train).

    A parameter out of range raises ``ValueError`` naming it, before any work.
    """
    p = _cell(params)
    return not (p["source"] == "embedded" and p["start_step"] != 0)


def run_cell(params: dict, ctx) -> list[dict]:
    """One ``(seed, start_step)`` cell -> one row per density (see the package notes)."""
    p = _cell(params)
    return saddle_rows(p, ctx.sweep_seed, p["seed"], p["start_step"],
                       parse_densities(p["densities"]))
