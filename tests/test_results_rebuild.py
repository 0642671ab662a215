"""Every committed report rebuilds byte-identical from its committed ``cells.csv``.

A refactor of a simulation's tables (or of the report writer) that changes a
single character of a committed ``table.md`` or ``table_<i>.csv`` fails here;
a change made on purpose rebuilds the files (``sparsesim report all``) and
commits them with the change.
"""

import shutil
from pathlib import Path

import pytest

from sparsesim import api

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DIRS = sorted(p.parent for p in RESULTS.rglob("cells.csv")
              if p.relative_to(RESULTS).parts[0] != "quick" and (p.parent / "table.md").is_file())


def test_there_are_committed_reports_to_check():
    assert len(DIRS) >= 8, [str(d) for d in DIRS]


@pytest.mark.slow
@pytest.mark.parametrize("committed", DIRS, ids=[d.relative_to(RESULTS).as_posix() for d in DIRS])
def test_committed_report_rebuilds_byte_identical(committed, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)          # cells record their TOML relative to the repository root
    out = tmp_path / committed.name
    out.mkdir()
    shutil.copy(committed / "cells.csv", out / "cells.csv")
    result = api.report(out=out)
    assert (out / "table.md").read_bytes() == (committed / "table.md").read_bytes(), \
        f"{committed.relative_to(ROOT)}/table.md changed; rebuild with `sparsesim report all`"
    for csv in sorted(committed.glob("table_*.csv")):
        assert (out / csv.name).read_bytes() == csv.read_bytes(), csv.name
    assert sorted(p.name for p in out.glob("table_*.csv")) == \
        sorted(p.name for p in committed.glob("table_*.csv"))
    assert {Path(f).name for f in result.figures} == {p.name for p in committed.glob("*.png")}
