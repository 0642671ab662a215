"""Theory tables: simulation beside prediction, judged, written as Markdown and CSV."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from .._table import TheoryTable

__all__ = ["TheoryTable", "FAMILY_ALPHA", "judge", "to_markdown", "write_report",
           "provenance_header"]

#: Family-wise error rate of the agreement line of every ``table.md``: the
#: chance that at least one row of a file is marked ✗ although the simulation
#: and the theory agree (Holm's step-down correction across the file's rows).
FAMILY_ALPHA = 0.01


def judge(tables: list[TheoryTable], alpha: float = FAMILY_ALPHA) -> tuple[list[np.ndarray], int, int]:
    """Verdict per row of every table (``True`` agree, ``False`` disagree, ``None`` untested).

    P-values from all tables are corrected together (Holm, family-wise
    ``alpha``); rows without a p-value use their ``agree_col``.
    Returns (verdicts per table, rows agreeing, rows judged).
    """
    from ..stats import holm  # noqa: PLC0415

    pvals, where = [], []
    for ti, t in enumerate(tables):
        if t.p_col is not None:
            col = pd.to_numeric(t.frame[t.p_col], errors="coerce").to_numpy(dtype=float)
            for ri, p in enumerate(col):
                if not math.isnan(p):
                    pvals.append(p)
                    where.append((ti, ri))
    reject = holm(np.asarray(pvals, dtype=float), alpha) if pvals else np.zeros(0, bool)
    verdicts = [np.full(len(t.frame), None, dtype=object) for t in tables]
    for (ti, ri), rej in zip(where, reject):
        verdicts[ti][ri] = not bool(rej)
    for ti, t in enumerate(tables):
        if t.agree_col is not None:
            col = t.frame[t.agree_col].to_numpy()
            for ri, ok in enumerate(col):
                if verdicts[ti][ri] is None and ok is not None and not (
                        isinstance(ok, float) and math.isnan(ok)):
                    verdicts[ti][ri] = bool(ok)
    judged = sum(int(sum(v is not None for v in vs)) for vs in verdicts)
    agree = sum(int(sum(v is True for v in vs)) for vs in verdicts)
    return verdicts, agree, judged


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else "✗"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "—"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v == 0:
            return "0"
        if v == int(v) and abs(v) < 1e9:
            return str(int(v))
        if 1e-3 <= abs(v) < 1e5:
            return f"{v:.4g}"
        return f"{v:.4g}"
    return str(value).replace("|", "\\|")


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (4 significant digits for floats)."""
    cols = [str(c).replace("|", "\\|") for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def provenance_header(cells: pd.DataFrame) -> str:
    """Where, when and with what the numbers of ``cells`` were produced."""
    def uniq(col: str) -> str:
        if col not in cells.columns:
            return "unknown"
        vals = sorted({str(v) for v in cells[col].dropna()})
        return ", ".join(vals) if vals else "unknown"

    when = "unknown"
    if "finished_at" in cells.columns and len(cells):
        stamps = sorted(str(v) for v in cells["finished_at"].dropna())
        if stamps:
            when = stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]} – {stamps[-1]}"
    per_cell = cells.drop_duplicates("cell_key") if "cell_key" in cells.columns else cells
    cell_time = float(pd.to_numeric(per_cell.get("elapsed_s", pd.Series(dtype=float)),
                                    errors="coerce").fillna(0).sum()) if len(cells) else 0.0
    n_cells = len(per_cell)
    return (f"Produced on {uniq('device')} (backend {uniq('backend')}), sparsesim "
            f"{uniq('version')} at commit {uniq('git_commit')}, executor {uniq('executor')}; "
            f"cells finished {when} (UTC); {n_cells} cells, {cell_time:.1f} s of cell time; "
            f"sweep seed {uniq('sweep_seed')}, config {uniq('config_file')} "
            f"(hash {uniq('config_hash')}).")


def write_report(module: ModuleType, cells: pd.DataFrame, outdir: str | Path, *, name: str,
                 description: str = "", alpha: float = FAMILY_ALPHA) -> list[Path]:
    """Write ``table.md``, one CSV per table and the module's figures into ``outdir``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    tables: list[TheoryTable] = list(module.tables(cells)) if hasattr(module, "tables") else []
    verdicts, agree, judged = judge(tables, alpha)
    parts = [f"# {name}", ""]
    if description:
        parts += [description, ""]
    if judged:
        parts += [f"**{agree} of {judged} rows agree** (family-wise α = {alpha:g}, Holm "
                  "correction across every tested row of this file; rows with an exact check "
                  "are judged by it).", ""]
    else:
        parts += ["**No row of this file is judged against a theory**: its tables are "
                  "measurements and associations, read them as such.", ""]
    parts += [provenance_header(cells), ""]
    written = []
    for i, (t, v) in enumerate(zip(tables, verdicts)):
        frame = t.frame.copy()
        if t.p_col is not None or t.agree_col is not None:
            frame["agree"] = list(v)
            if t.agree_col is not None and t.agree_col != "agree":
                frame = frame.drop(columns=[t.agree_col])
        parts += [f"## {t.title}", ""]
        if t.note:
            parts += [t.note, ""]
        parts += [to_markdown(frame), ""]
        csv = outdir / f"table_{i + 1}.csv"
        frame.to_csv(csv, index=False)
        written.append(csv)
    figs = list(module.figures(cells, outdir)) if hasattr(module, "figures") else []
    if figs:
        parts += ["## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figs] + [""]
    md = outdir / "table.md"
    md.write_text("\n".join(parts))
    return [md, *written, *map(Path, figs)]
