"""Every committed report rebuilds from its committed ``cells.csv``.

A refactor of a simulation's tables (or of the report writer) that changes a
single character of a committed ``table.md`` fails here; a change made on
purpose rebuilds the files (``sparsesim report all``) and commits them with
the change.

The ``table_<i>.csv`` files hold every number at full float64 precision
(``repr``).  Their text is compared token by token: every non-numeric token,
the header and the shape exactly, every number to a relative 1e-9.  The
last bits of a mean, a standard deviation or a SciPy closed form move with
the installed NumPy/pandas/SciPy (summation order; e.g. 0.5733133173884625
against ...626, or a standard deviation of 20 values differing at 1e-12
between pandas releases), which is not a change of sparsesim's behaviour; a
real change moves a number by far more than 1e-9 (see
``test_csv_comparison_catches_a_changed_number``).
"""

import csv
import math
import shutil
from pathlib import Path

import pytest

from sparsesim import api

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DIRS = sorted(p.parent for p in RESULTS.rglob("cells.csv")
              if p.relative_to(RESULTS).parts[0] != "quick" and (p.parent / "table.md").is_file())


#: Relative tolerance for a number in a table CSV (float64 rounding of a different
#: summation order is ~1e-13; a behaviour change is many orders larger).
CSV_RTOL = 1e-9


def _as_number(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def csv_differences(a: Path, b: Path) -> list[str]:
    """Where two table CSVs differ beyond float rounding (empty when they agree)."""
    rows_a = list(csv.reader(a.read_text().splitlines()))
    rows_b = list(csv.reader(b.read_text().splitlines()))
    if len(rows_a) != len(rows_b):
        return [f"{len(rows_a)} rows against {len(rows_b)}"]
    out = []
    for i, (ra, rb) in enumerate(zip(rows_a, rows_b)):
        if len(ra) != len(rb) or (i == 0 and ra != rb):
            out.append(f"row {i}: {ra} against {rb}")
            continue
        for j, (ta, tb) in enumerate(zip(ra, rb)):
            if ta == tb:
                continue
            xa, xb = _as_number(ta), _as_number(tb)
            if xa is None or xb is None or not math.isclose(xa, xb, rel_tol=CSV_RTOL, abs_tol=0.0):
                out.append(f"row {i}, column {rows_a[0][j]!r}: {ta} against {tb}")
    return out


def test_csv_comparison_catches_a_changed_number(tmp_path):
    # Falsified by a comparison that lets a real change through or flags float rounding.
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("kind,x,ok\ngauss,0.5733133173884625,True\n")
    b.write_text("kind,x,ok\ngauss,0.5733133173884626,True\n")
    assert csv_differences(a, b) == []                          # one ulp: rounding
    for changed in ("gauss,0.5733139,True", "sign,0.5733133173884625,True",
                    "gauss,0.5733133173884625,False", "gauss,0.5733133173884625,True,1"):
        b.write_text(f"kind,x,ok\n{changed}\n")
        assert csv_differences(a, b), changed
    b.write_text("kind,x,ok\ngauss,0.5733133173884625,True\ngauss,1.0,True\n")
    assert csv_differences(a, b) == ["2 rows against 3"]
    b.write_text("kind,y,ok\ngauss,0.5733133173884625,True\n")
    assert csv_differences(a, b)                                # a renamed column


def test_there_are_committed_reports_to_check():
    assert len(DIRS) >= 8, [str(d) for d in DIRS]


@pytest.mark.slow
@pytest.mark.parametrize("committed", DIRS, ids=[d.relative_to(RESULTS).as_posix() for d in DIRS])
def test_committed_report_rebuilds(committed, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)          # cells record their TOML relative to the repository root
    out = tmp_path / committed.name
    out.mkdir()
    shutil.copy(committed / "cells.csv", out / "cells.csv")
    result = api.report(out=out)
    assert (out / "table.md").read_bytes() == (committed / "table.md").read_bytes(), \
        f"{committed.relative_to(ROOT)}/table.md changed; rebuild with `sparsesim report all`"
    for table_csv in sorted(committed.glob("table_*.csv")):
        diff = csv_differences(out / table_csv.name, table_csv)
        assert not diff, f"{table_csv.relative_to(ROOT)}: {diff[:5]}"
    assert sorted(p.name for p in out.glob("table_*.csv")) == \
        sorted(p.name for p in committed.glob("table_*.csv"))
    assert {Path(f).name for f in result.figures} == {p.name for p in committed.glob("*.png")}
