"""Theory tables: simulation beside prediction, judged, written as Markdown and CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from .._figure import stamp_figure
from .._table import FAMILY_ALPHA, TheoryTable
from ..sim import Simulation, report_hooks
from ..stats import holm

__all__ = ["TheoryTable", "Judgement", "FAMILY_ALPHA", "QUICK_NOTE", "judge", "to_markdown",
           "write_report", "provenance_header", "caps_note", "is_quick", "display_frame"]



@dataclass
class Judgement:
    """The verdicts of a file's rows and their counts by kind (:func:`judge`).

    ``verdicts[i][r]`` is ``True`` (✓), ``False`` (✗), ``"inconclusive"``,
    ``"not testable: ..."`` or ``None`` (descriptive) for row ``r`` of table
    ``i``; ``kinds[i][r]`` its kind.
    """

    verdicts: list
    kinds: list
    alpha: float
    n_tests: int = 0
    n_intervals: int = 0
    agree: int = 0
    inconclusive: int = 0
    identities: int = 0
    identities_hold: int = 0
    descriptive: int = 0
    not_testable: int = 0
    post_hoc: int = 0
    interval_levels: list = field(default_factory=list)
    test_names: list = field(default_factory=list)

    @property
    def tested(self) -> int:
        """Rows in the agreement line (tests, claims and intervals with a verdict)."""
        return self.n_tests + self.n_intervals

    @property
    def disagree(self) -> int:
        """Tested rows marked ✗ (neither agreeing nor inconclusive)."""
        return self.tested - self.agree - self.inconclusive

    def interval_budget(self) -> float:
        """Σ (1 − level) over the interval rows: their share of the file's error budget."""
        return float(sum(1.0 - lv for lv in self.interval_levels))

    def agreement_line(self) -> str:
        """The line under a file's title: ✓, ✗ and inconclusive counts, the kinds, the rest."""
        parts = []
        if self.tested:
            kinds = []
            if self.n_tests:
                kinds.append(f"{self.n_tests} test{'s' * (self.n_tests != 1)}")
            if self.n_intervals:
                kinds.append(f"{self.n_intervals} interval{'s' * (self.n_intervals != 1)}")
            how = ", ".join(kinds)
            if self.n_tests and not self.n_intervals:
                how += f"; Holm, family-wise α = {self.alpha:g}"
            elif self.n_intervals:
                levels = sorted({round(lv, 6) for lv in self.interval_levels})
                lv = " / ".join(f"{100 * v:g} %" for v in levels)
                budget = self.interval_budget() + (self.alpha if self.n_tests else 0.0)
                how += (f"; Holm at family-wise α = {self.alpha:g} over the tests, "
                        if self.n_tests else "; ") + (
                    f"intervals at {lv} coverage; chance of any false ✗ in this file "
                    f"≤ {budget:.3g} (union bound)")
            parts.append(f"**{self.agree} of {self.tested} tested rows agree, {self.disagree} ✗, "
                         f"{self.inconclusive} inconclusive** ({how})")
        else:
            parts.append("**No row of this file is tested against a theory**")
        if self.identities:
            parts.append(f"identities: {self.identities_hold} of {self.identities} hold")
        if self.not_testable:
            parts.append(f"{self.not_testable} row{'s' * (self.not_testable != 1)} "
                         "not testable")
        if self.post_hoc:
            parts.append(f"{self.post_hoc} claim row{'s' * (self.post_hoc != 1)} post hoc "
                         "(not declared before the run: no verdict)")
        if self.descriptive:
            parts.append(f"{self.descriptive} row{'s' * (self.descriptive != 1)} descriptive")
        return "; ".join(parts) + "."


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(float(v)))


def _bool_col(t: TheoryTable, col: str | None) -> list:
    if col is None:
        return [None] * len(t.frame)
    out = []
    for v in t.frame[col].to_numpy():
        if _is_missing(v) or (isinstance(v, str) and v.strip() in ("", "nan", "None")):
            out.append(None)
        elif isinstance(v, str):
            out.append(v.strip().lower() in ("true", "1", "✓"))
        else:
            out.append(bool(v))
    return out


def _num_col(t: TheoryTable, col: str | None) -> np.ndarray:
    if col is None:
        return np.full(len(t.frame), np.nan)
    return pd.to_numeric(t.frame[col], errors="coerce").to_numpy(dtype=float)


def judge(tables: list[TheoryTable], alpha: float = FAMILY_ALPHA) -> Judgement:
    """Verdict of every row of a file by its kind (:mod:`sparsesim._table`).

    Test and claim p-values from all tables form one Holm family at
    family-wise ``alpha``; a claim is ✓ when Holm rejects its one-sided
    p-value, ✗ when Holm (the same family, the claim's p-value replaced by the
    opposite one-sided p-value) rejects the opposite direction, else
    ``"inconclusive"``.  Any failing check (``agree_col`` of a test row,
    ``check_cols``) makes a row ✗.

    Examples
    --------
    >>> import pandas as pd
    >>> t = TheoryTable.tests("t", pd.DataFrame({"p_value": [1e-5, 0.4]}), test="z-test")
    >>> j = judge([t], alpha=0.01)
    >>> list(j.verdicts[0]), j.agreement_line()
    ([False, True], '**1 of 2 tested rows agree, 1 ✗, 0 inconclusive** (2 tests; Holm, family-wise α = 0.01).')
    """

    if not (isinstance(alpha, (int, float)) and 0.0 < float(alpha) < 1.0):
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    kinds = [t.row_kinds() for t in tables]
    p_main = [_num_col(t, t.p_col) for t in tables]
    p_opp = [_num_col(t, t.p_opposite_col) for t in tables]
    flags = [_bool_col(t, t.agree_col) for t in tables]
    checks = [[_bool_col(t, c) for c in t.check_cols] for t in tables]
    reasons = [_bool_col(t, None) if t.reason_col is None else
               [None if _is_missing(v) else str(v) for v in t.frame[t.reason_col]]
               for t in tables]

    where, p1, p2 = [], [], []
    for ti, t in enumerate(tables):
        for ri, k in enumerate(kinds[ti]):
            if k in ("test", "claim") and not math.isnan(p_main[ti][ri]) and (
                    k == "test" or not math.isnan(p_opp[ti][ri])):
                where.append((ti, ri))
                p1.append(p_main[ti][ri])
                p2.append(p_opp[ti][ri] if k == "claim" else p_main[ti][ri])
    rej1 = holm(np.asarray(p1, float), alpha) if p1 else np.zeros(0, bool)
    rej2 = holm(np.asarray(p2, float), alpha) if p2 else np.zeros(0, bool)
    rejected = {w: (bool(a), bool(b)) for w, a, b in zip(where, rej1, rej2)}

    j = Judgement(verdicts=[np.full(len(t.frame), None, dtype=object) for t in tables],
                  kinds=kinds, alpha=float(alpha))
    names = []
    for ti, t in enumerate(tables):
        for ri, k in enumerate(kinds[ti]):
            failed_check = any(c[ri] is False for c in checks[ti])
            reason = reasons[ti][ri]
            untestable = "not testable" + (f": {reason}" if reason else "")
            if k.startswith(("not testable", "post hoc")):
                v = k
            elif k == "descriptive":
                v = None
            elif k == "test":
                if (ti, ri) not in rejected:
                    v = untestable
                else:
                    v = (not rejected[(ti, ri)][0]) and flags[ti][ri] is not False \
                        and not failed_check
            elif k == "claim":
                if (ti, ri) not in rejected:
                    v = untestable
                elif failed_check or flags[ti][ri] is False:
                    v = False
                else:
                    yes, no = rejected[(ti, ri)]
                    v = True if yes else False if no else "inconclusive"
            else:   # interval, identity
                v = untestable if flags[ti][ri] is None else (
                    bool(flags[ti][ri]) and not failed_check)
            j.verdicts[ti][ri] = v
            if v is None:
                j.descriptive += 1
            elif isinstance(v, str) and v.startswith("not testable"):
                j.not_testable += 1
            elif isinstance(v, str) and v.startswith("post hoc"):
                j.post_hoc += 1
            elif k == "identity":
                j.identities += 1
                j.identities_hold += v is True
            else:
                if k == "interval":
                    j.n_intervals += 1
                    j.interval_levels.append(float(t.level))
                else:
                    j.n_tests += 1
                    for name in (t.test.split("; ") if t.test else []):
                        if name not in names:
                            names.append(name)
                j.agree += v is True
                j.inconclusive += v == "inconclusive"
    j.test_names = names
    return j


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


#: What a quick run's report and figures say (they are small, not the published sweep).
QUICK_NOTE = "quick run: small networks/trials; not comparable with published numbers"


def is_quick(cells: pd.DataFrame) -> bool:
    """Whether ``cells`` come from a ``--quick`` run (their ``quick`` column)."""
    if "quick" not in cells.columns or not len(cells):
        return False
    return any(str(v).strip().lower() in ("true", "1") for v in cells["quick"].dropna())


def caps_note(cells: pd.DataFrame) -> str:
    """The header line stating the parameters a simulation capped (``<name>_requested`` columns).

    >>> cells = pd.DataFrame({"trials": [262, 2621, 500], "trials_requested": [200000] * 2 + [500],
    ...                       "cell_key": ["a", "b", "c"]})
    >>> caps_note(cells)
    'Capped: trials run 262 to 2621 where 200000 was requested (2 of 3 cells; cells.csv has the value run under trials and the request in trials_requested).'
    """
    per_cell = cells.drop_duplicates("cell_key") if "cell_key" in cells.columns else cells
    parts = []
    for col in per_cell.columns:
        name = str(col).removesuffix("_requested")
        if not str(col).endswith("_requested") or name not in per_cell.columns:
            continue
        run, req = per_cell[name], per_cell[col]
        differ = run.astype(str) != req.astype(str)
        if not differ.any():
            continue

        def span(values) -> str:
            vals = sorted(set(values.tolist()))
            return f"{_fmt(vals[0])}" if len(vals) == 1 else f"{_fmt(vals[0])} to {_fmt(vals[-1])}"

        was = "was" if req[differ].nunique() == 1 else "were"
        parts.append(f"{name} run {span(run[differ])} where {span(req[differ])} {was} requested "
                     f"({int(differ.sum())} of {len(per_cell)} cells; cells.csv has the value "
                     f"run under {name} and the request in {col})")
    return ("Capped: " + "; ".join(parts) + ".") if parts else ""


def _verdict_text(v) -> Any:
    if v is True or v is False or v is None:
        return v
    return str(v)


def display_frame(t: TheoryTable, verdicts) -> pd.DataFrame:
    """The rows of ``t`` as a report shows them: the verdict in an ``agree`` column."""
    frame = t.frame.copy()
    if t.kind != "descriptive" or t.kind_col is not None:
        frame = frame.drop(columns=[t.agree_col]) if t.agree_col is not None else frame
        frame["agree"] = [_verdict_text(x) for x in verdicts]
        if t.kind_col is not None:   # the reason is in the verdict column
            frame[t.kind_col] = ["not testable" if str(k).startswith("not testable")
                                 else "post hoc" if str(k).startswith("post hoc")
                                 else k for k in frame[t.kind_col]]
    return frame


def write_report(module: Simulation | ModuleType, cells: pd.DataFrame, outdir: str | Path, *,
                 name: str,
                 description: str = "", alpha: float = FAMILY_ALPHA) -> list[Path]:
    """Write ``table.md``, one CSV per table and the module's figures into ``outdir``.

    The file opens with :meth:`Judgement.agreement_line`; identity tables are
    shown in their own section at the end ("Identities: N of N hold").
    """
    tables_of, figures_of = report_hooks(module)  # checked before any work
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    tables: list[TheoryTable] = list(tables_of(cells)) if tables_of is not None else []
    j = judge(tables, alpha)
    quick = is_quick(cells)
    note = QUICK_NOTE[0].upper() + QUICK_NOTE[1:]
    banner = [f"**{note}** (the `[quick]` variant of the sweep; run it without `--quick` for "
              "the full one).", ""] if quick else []
    quick_line = [f"*{note}.*", ""] if quick else []    # under every table's heading
    parts = [f"# {name}", ""] + banner
    if description:
        parts += [description, ""]
    parts += [j.agreement_line(), ""]
    if j.test_names:
        parts += ["Tests: " + "; ".join(j.test_names) + ".", ""]
    parts += [provenance_header(cells), ""]
    capped = caps_note(cells)
    if capped:
        parts += [capped, ""]
    written, identity_parts = [], []
    for i, (t, v) in enumerate(zip(tables, j.verdicts)):
        frame = display_frame(t, v)
        heading = [f"## {t.title}", ""] + quick_line
        if t.note:
            heading += [t.note, ""]
        if t.kind == "identity" and t.kind_col is None:
            held = sum(x is True for x in v)
            identity_parts += [f"### {t.title}", ""] + quick_line + [
                f"{held} of {len(v)} hold (tolerance: {t.tolerance or 'exact'}).", ""]
            identity_parts += ([t.note, ""] if t.note else []) + [to_markdown(frame), ""]
        else:
            parts += heading + [to_markdown(frame), ""]
        csv = outdir / f"table_{i + 1}.csv"
        frame.to_csv(csv, index=False)
        written.append(csv)
    if identity_parts:
        parts += [f"## Identities: {j.identities_hold} of {j.identities} hold", "",
                  "Mathematical identities and inequalities checked to the stated tolerance; "
                  "they guard the implementation and are not counted among the tested rows.",
                  ""] + identity_parts
    figs = list(figures_of(cells, outdir)) if figures_of is not None else []
    if quick:
        for f in figs:
            stamp_figure(f, QUICK_NOTE)
    if figs:
        parts += ["## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figs] + [""]
    md = outdir / "table.md"
    md.write_text("\n".join(parts))
    return [md, *written, *map(Path, figs)]
