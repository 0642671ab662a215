"""The theory-table record shared by simulations (lower layer) and reports (upper layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TheoryTable"]


@dataclass
class TheoryTable:
    """One table of a report.

    Parameters
    ----------
    title : str
        Section heading.
    frame : pandas.DataFrame
        The rows (parameters, theory, simulation, intervals, ...).
    p_col : str, optional
        Column of p-values of a test of "simulation agrees with theory"; rows
        with a p-value are judged by Holm's procedure across the whole file.
    agree_col : str, optional
        Column of booleans for rows judged by an exact check instead (rows
        whose p-value is NaN fall back to it).
    note : str
        Markdown shown under the title (what is compared, how, caveats).
    """

    title: str
    frame: Any
    p_col: str | None = None
    agree_col: str | None = None
    note: str = ""
