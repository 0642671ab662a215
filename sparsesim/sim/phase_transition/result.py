"""The result record every phase-transition solver returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SolveResult"]


@dataclass
class SolveResult:
    """Estimates of one batch: ``x`` (T, d) and the iterations each problem ran."""

    x: Any
    iterations: Any
