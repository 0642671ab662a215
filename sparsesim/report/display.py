"""Notebook display: theory tables coloured by verdict, figures inline, agreement lines.

IPython shows an object through its ``_repr_html_`` / ``_repr_markdown_``
methods; :class:`~sparsesim.report.TheoryTable`, :class:`sparsesim.api.RunResult`
and :class:`sparsesim.api.Verdict` draw themselves with the functions here.
A table alone is judged alone (its rows one Holm family); in a
:class:`~sparsesim.api.RunResult` every table is shown with the verdicts of its
file, as in ``table.md``.

Examples
--------
>>> import pandas as pd
>>> t = TheoryTable.tests("coin", pd.DataFrame({"p_value": [0.5, 1e-6]}), test="binomial")
>>> html = t._repr_html_()
>>> html.count(f"background:{COLOURS['agree']}"), html.count(f"background:{COLOURS['disagree']}")
(1, 1)
>>> print(t._repr_markdown_())
**coin** (1 of 2 tested rows agree, 1 ✗, 0 inconclusive)
<BLANKLINE>
| p_value | agree |
|---|---|
| 0.5 | ✓ |
| 1e-06 | ✗ |
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from .. import _table
from .._table import TheoryTable
from .tables import QUICK_NOTE, _fmt, display_frame, judge, to_markdown

__all__ = ["COLOURS", "verdict_colour", "table_html", "table_markdown", "figure_html",
           "MAX_ROWS"]

#: Row backgrounds by verdict (light, readable on white and dark themes).
COLOURS = {"agree": "#d4edda", "disagree": "#f8d7da", "inconclusive": "#fff3cd",
           "not testable": "#e2e3e5"}
#: Rows shown per table in a notebook (the rest are counted; ``table_<i>.csv`` has all).
MAX_ROWS = 60


def verdict_colour(verdict: Any) -> str:
    """The background colour of a row with this verdict ("" for a descriptive row)."""
    if verdict is True:
        return COLOURS["agree"]
    if verdict is False:
        return COLOURS["disagree"]
    if verdict == "inconclusive":
        return COLOURS["inconclusive"]
    if isinstance(verdict, str) and verdict.startswith("not testable"):
        return COLOURS["not testable"]
    return ""


def _counts_text(verdicts) -> str:
    judged = [v for v in verdicts if v is True or v is False or v == "inconclusive"]
    if not judged:
        return ""
    agree = sum(v is True for v in judged)
    bad = sum(v is False for v in judged)
    return (f"{agree} of {len(judged)} tested rows agree, {bad} ✗, "
            f"{len(judged) - agree - bad} inconclusive")


def table_html(t: TheoryTable, verdicts=None, *, max_rows: int = MAX_ROWS,
               quick: bool = False) -> str:
    """``t`` as an HTML table, each row coloured by its verdict (judged alone if not given)."""
    if verdicts is None:
        verdicts = judge([t]).verdicts[0]
    frame = display_frame(t, verdicts)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row, v in zip(frame.head(max_rows).itertuples(index=False), verdicts):
        colour = verdict_colour(v)
        style = f' style="background:{colour}"' if colour else ""
        cells = "".join(f"<td>{escape(_fmt(x))}</td>" for x in row)
        body.append(f"<tr{style}>{cells}</tr>")
    more = len(frame) - max_rows
    counts = _counts_text(verdicts)
    parts = [f"<h4>{escape(t.title)}</h4>"]
    if quick:
        parts.append(f"<p><i>{escape(QUICK_NOTE)}</i></p>")
    if counts:
        parts.append(f"<p><b>{escape(counts)}</b></p>")
    if t.note:
        parts.append(f"<p>{escape(t.note)}</p>")
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    if more > 0:
        parts.append(f"<p>… {more} more row{'s' * (more != 1)} (all in the table's CSV)</p>")
    return "<div>" + "".join(parts) + "</div>"


def table_markdown(t: TheoryTable, verdicts=None) -> str:
    """``t`` as Markdown with its verdict column (judged alone if not given)."""
    if verdicts is None:
        verdicts = judge([t]).verdicts[0]
    counts = _counts_text(verdicts)
    title = f"**{t.title}**" + (f" ({counts})" if counts else "")
    return title + "\n\n" + to_markdown(display_frame(t, verdicts))


def figure_html(path: str | Path, *, width: str = "100%") -> str:
    """An ``<img>`` of a figure file: the PNG inline (base64), other files by path."""
    path = Path(path)
    alt = escape(path.stem)
    if path.suffix.lower() == ".png" and path.is_file():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img alt="{alt}" style="max-width:{width}" src="data:image/png;base64,{data}"/>'
    return f'<img alt="{alt}" style="max-width:{width}" src="{escape(path.as_posix())}"/>'


def _render(t: TheoryTable, fmt: str) -> str:
    return table_html(t) if fmt == "html" else table_markdown(t)


_table.set_renderer(_render)
