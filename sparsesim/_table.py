"""The theory-table record shared by simulations (lower layer) and reports (upper layer).

The verdict model
-----------------
Every row of a theory table is exactly one *kind*:

``"test"``
    The row carries the p-value of a named test (``p_col``, ``test``) of the
    null hypothesis "simulation agrees with theory".  All test rows of a file
    are corrected together with Holm's step-down procedure at the file's
    family-wise α; the row agrees (✓) unless Holm rejects it.
``"claim"``
    A test whose *alternative* is the claim (a published effect: "lottery
    tickets beat reinitialised ones").  ``p_col`` holds the one-sided p-value
    in the claim's direction, ``p_opposite_col`` the one-sided p-value in the
    opposite direction.  ✓ only when Holm (with the file's other tests)
    rejects in the claim's direction, ✗ when it rejects in the opposite
    direction, otherwise ``"inconclusive"`` (counted as tested, not agreeing).
``"interval"``
    A predicted or published value that must lie inside a stated interval of
    our data (``inside_col``: booleans, ``level``: the interval's coverage).
    Each interval spends ``1 − level`` of the file's error budget (union bound),
    and the report states the total.
``"identity"``
    A mathematical identity or inequality checked to a stated ``tolerance``
    (``holds_col``: booleans).  Reported in its own count ("identities: N of N
    hold") and never in the agreement line.
``"descriptive"``
    Numbers without a verdict.

A row may additionally carry exact checks (``check_cols``, booleans): the row
fails when *any* of its checks fails, whatever its p-value.  A row whose
p-value (or interval / identity flag) is missing is ``"not testable"``; a
per-row ``reason_col`` says why.  Tables whose rows are of different kinds
name the kind of each row in ``kind_col`` (values: the kinds above,
``"not testable: <why>"``, or ``"post hoc: <why>"`` for a claim that was not
declared before its cells ran: its numbers are shown, it never gets a verdict).

Declare tables with the constructors, which check that the columns they name
exist:

>>> import pandas as pd
>>> t = TheoryTable.tests("P(hit)", pd.DataFrame({"p_value": [0.3, 0.02]}),
...                       test="two-sided exact binomial test")
>>> t.kind, t.p_col
('test', 'p_value')
>>> TheoryTable.identities("sum rule", pd.DataFrame({"ok": [True]}), holds_col="ok",
...                        tolerance="1e-12 relative").kind
'identity'
>>> TheoryTable.tests("bad", pd.DataFrame({"p": [0.5]}), test="t-test")
Traceback (most recent call last):
...
ValueError: TheoryTable 'bad': p_col 'p_value' is not a column of the frame (columns: ['p'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TheoryTable", "KINDS", "FAMILY_ALPHA"]

#: Family-wise error rate of the tests of every ``table.md``: the chance that
#: at least one test row of a file is marked ✗ although simulation and theory
#: agree (Holm's step-down correction across the file's test and claim rows).
FAMILY_ALPHA = 0.01

#: The row kinds of the verdict model (module docstring).
KINDS = ("test", "claim", "interval", "identity", "descriptive")


@dataclass
class TheoryTable:
    """One table of a report (see the module docstring for the verdict model).

    Parameters
    ----------
    title : str
        Section heading.
    frame : pandas.DataFrame
        The rows (parameters, theory, simulation, intervals, ...).
    p_col : str, optional
        Column of p-values: of the goodness-of-fit test (kind ``"test"``) or of
        the one-sided test in the claim's direction (kind ``"claim"``).
    agree_col : str, optional
        Column of booleans.  For kind ``"identity"`` the identity holds; for
        ``"interval"`` the value lies inside the interval; for ``"test"`` /
        ``"claim"`` an extra exact check (a row fails when it is ``False``).
        Without an explicit ``kind``, a table with ``p_col`` is a test table
        and rows whose p-value is missing are judged as identities by it (the
        older convention); a table with only ``agree_col`` is an identity table.
    note : str
        Markdown shown under the title (what is compared, how, caveats).
    kind : str, optional
        The kind of every row (one of :data:`KINDS`); inferred when omitted.
    kind_col : str, optional
        Per-row kinds, overriding ``kind`` (``"not testable: why"`` allowed).
    test : str
        Name of the test behind ``p_col`` (shown in the header).
    level : float, optional
        Coverage of the intervals of an ``"interval"`` table (e.g. 0.95).
    tolerance : str
        The tolerance of an ``"identity"`` table, in words ("1e-12 relative").
    check_cols : tuple of str
        Further boolean columns: a row fails when any is ``False``.
    p_opposite_col : str, optional
        Kind ``"claim"``: the one-sided p-value against the claim.
    reason_col : str, optional
        Why a row is not testable (shown in its verdict).
    """

    title: str
    frame: Any
    p_col: str | None = None
    agree_col: str | None = None
    note: str = ""
    kind: str | None = None
    kind_col: str | None = None
    test: str = ""
    level: float | None = None
    tolerance: str = ""
    check_cols: tuple[str, ...] = field(default_factory=tuple)
    p_opposite_col: str | None = None
    reason_col: str | None = None

    def __post_init__(self):
        if self.kind is None and self.p_col is not None and self.agree_col is not None:
            # Older convention: rows without a p-value are judged by agree_col.
            import pandas as pd  # noqa: PLC0415
            p = pd.to_numeric(self.frame[self.p_col], errors="coerce")
            self.frame = self.frame.assign(kind=["test" if pv == pv else "identity" for pv in p])
            self.kind_col, self.check_cols = "kind", ()
            self.kind = "test"
        if self.kind is None:
            self.kind = ("test" if self.p_col is not None else
                         "identity" if self.agree_col is not None else "descriptive")
        if self.kind not in KINDS:
            raise ValueError(f"TheoryTable {self.title!r}: kind must be one of {KINDS}; "
                             f"got {self.kind!r}")
        cols = list(getattr(self.frame, "columns", []))
        for name in ("p_col", "agree_col", "kind_col", "p_opposite_col", "reason_col"):
            col = getattr(self, name)
            if col is not None and col not in cols:
                raise ValueError(f"TheoryTable {self.title!r}: {name} {col!r} is not a column "
                                 f"of the frame (columns: {cols})")
        self.check_cols = tuple(self.check_cols)
        for col in self.check_cols:
            if col not in cols:
                raise ValueError(f"TheoryTable {self.title!r}: check_cols entry {col!r} is not "
                                 f"a column of the frame (columns: {cols})")
        kinds = {self.kind}
        if self.kind_col is not None:
            kinds |= {str(k) for k in self.frame[self.kind_col] if not str(k).startswith(
                ("not testable", "post hoc"))}
            bad = kinds - set(KINDS)
            if bad:
                raise ValueError(f"TheoryTable {self.title!r}: kind_col {self.kind_col!r} "
                                 f"holds {sorted(bad)}; allowed: {KINDS}, 'not testable: why' "
                                 "or 'post hoc: why'")
        if kinds & {"test", "claim"} and self.p_col is None:
            raise ValueError(f"TheoryTable {self.title!r}: test and claim rows need p_col")
        if "claim" in kinds and self.p_opposite_col is None:
            raise ValueError(f"TheoryTable {self.title!r}: claim rows need p_opposite_col "
                             "(the one-sided p-value against the claim)")
        if kinds & {"interval", "identity"} and self.agree_col is None:
            raise ValueError(f"TheoryTable {self.title!r}: interval and identity rows need "
                             "agree_col (the inside / holds booleans)")
        if "interval" in kinds and not (self.level is not None and 0.0 < self.level < 1.0):
            raise ValueError(f"TheoryTable {self.title!r}: interval rows need level in (0, 1) "
                             f"(the coverage of the interval); got {self.level!r}")

    # ----------------------------------------------------------------- constructors
    @classmethod
    def tests(cls, title: str, frame: Any, *, test: str, p_col: str = "p_value",
              note: str = "", check_cols: tuple[str, ...] = (), kind_col: str | None = None,
              reason_col: str | None = None, **kw) -> TheoryTable:
        """Rows judged by the p-value of ``test`` (Holm across the file)."""
        return cls(title, frame, p_col=p_col, note=note, kind="test", test=test,
                   check_cols=check_cols, kind_col=kind_col, reason_col=reason_col, **kw)

    @classmethod
    def claims(cls, title: str, frame: Any, *, test: str, p_col: str = "p_claim",
               p_opposite_col: str = "p_opposite", note: str = "",
               reason_col: str | None = None, kind_col: str | None = None,
               **kw) -> TheoryTable:
        """Rows whose claim is the alternative of a one-sided ``test``."""
        return cls(title, frame, p_col=p_col, p_opposite_col=p_opposite_col, note=note,
                   kind="claim", test=test, reason_col=reason_col, kind_col=kind_col, **kw)

    @classmethod
    def intervals(cls, title: str, frame: Any, *, inside_col: str, level: float,
                  note: str = "", reason_col: str | None = None, kind_col: str | None = None,
                  **kw) -> TheoryTable:
        """Rows judged by "the value lies inside our interval at coverage ``level``"."""
        return cls(title, frame, agree_col=inside_col, note=note, kind="interval", level=level,
                   reason_col=reason_col, kind_col=kind_col, **kw)

    @classmethod
    def identities(cls, title: str, frame: Any, *, holds_col: str, tolerance: str,
                   note: str = "", **kw) -> TheoryTable:
        """Identity / inequality rows (their own count, not in the agreement line)."""
        return cls(title, frame, agree_col=holds_col, note=note, kind="identity",
                   tolerance=tolerance, **kw)

    @classmethod
    def descriptive(cls, title: str, frame: Any, *, note: str = "") -> TheoryTable:
        """Numbers without a verdict."""
        return cls(title, frame, note=note, kind="descriptive")

    # ----------------------------------------------------------------- per-row kinds
    def row_kinds(self) -> list[str]:
        """The kind of each row (``"not testable: ..."`` where a row says so)."""
        n = len(self.frame)
        if self.kind_col is None:
            return [self.kind] * n
        return [str(k) for k in self.frame[self.kind_col]]

    # ----------------------------------------------------------------- display (notebooks)
    def __repr__(self) -> str:
        cols = list(getattr(self.frame, "columns", []))
        return (f"TheoryTable({self.title!r}: {len(self.frame)} rows of kind {self.kind!r}, "
                f"columns {cols})")

    def _repr_html_(self) -> str:
        return _render(self, "html")

    def _repr_markdown_(self) -> str:
        return _render(self, "markdown")


#: The notebook renderer of theory tables, ``render(table, fmt) -> str``: installed by
#: :mod:`sparsesim.report` (which judges the rows and colours them by verdict); this
#: layer, below the statistics, only falls back to the plain frame.
_RENDERER: Any = None


def set_renderer(render: Any) -> None:
    """Install the function that draws a :class:`TheoryTable` in a notebook."""
    global _RENDERER
    if render is not None and not callable(render):
        raise TypeError(f"render must be callable or None; got {type(render).__name__}")
    _RENDERER = render


def _render(table: TheoryTable, fmt: str) -> str:
    if _RENDERER is not None:
        return _RENDERER(table, fmt)
    if fmt == "html":  # pragma: no cover - sparsesim.report installs the renderer
        from html import escape  # noqa: PLC0415 - only for notebooks

        return f"<b>{escape(table.title)}</b>" + table.frame.to_html(index=False)
    return f"**{table.title}**\n\n" + table.frame.to_string(index=False)

