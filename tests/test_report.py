"""Theory-table reports: verdicts, Markdown, provenance header."""

import numpy as np
import pandas as pd

from sparsesim.report import TheoryTable, judge, provenance_header, to_markdown, write_report


def test_judge_holm_across_tables_and_exact_checks():
    # Four p-values across two tables; Holm at alpha = 0.01 rejects only 1e-5
    # (1e-5 * 4 <= 0.01, then 0.004 * 3 = 0.012 > 0.01 stops the step-down).
    t1 = TheoryTable("a", pd.DataFrame({"p": [1e-5, 0.004]}), p_col="p")
    t2 = TheoryTable("b", pd.DataFrame({"p": [0.5, np.nan, 0.9], "ok": [None, True, False]}),
                     p_col="p", agree_col="ok")
    verdicts, agree, judged = judge([t1, t2], alpha=0.01)
    assert list(verdicts[0]) == [False, True]
    # NaN p-value falls back to the exact check; a row with a p-value ignores it.
    assert list(verdicts[1]) == [True, True, True]
    assert (agree, judged) == (4, 5)


def test_judge_untested_rows_are_not_counted():
    t = TheoryTable("c", pd.DataFrame({"x": [1, 2]}))
    verdicts, agree, judged = judge([t])
    assert (agree, judged) == (0, 0) and list(verdicts[0]) == [None, None]


def test_markdown_formatting():
    md = to_markdown(pd.DataFrame({"n": [3], "x": [0.000123456], "ok": [True], "s": ["a|b"],
                                   "z": [float("nan")], "i": [float("inf")]}))
    lines = md.splitlines()
    assert lines[0] == "| n | x | ok | s | z | i |"
    assert lines[2] == "| 3 | 0.0001235 | ✓ | a\\|b | — | ∞ |"


def test_provenance_header_and_write_report(tmp_path):
    cells = pd.DataFrame({"device": ["cpu (x86_64)"] * 2, "backend": ["numpy"] * 2,
                          "version": ["0.1.0"] * 2, "git_commit": ["abc"] * 2,
                          "executor": ["local"] * 2, "finished_at": ["2026-01-01T00:00:00+00:00",
                                                                     "2026-01-01T00:01:00+00:00"],
                          "elapsed_s": [1.0, 2.5], "cell_key": ["a", "b"], "sweep_seed": [1, 1],
                          "config_hash": ["h", "h"], "p": [0.2, 0.9]})
    head = provenance_header(cells)
    assert "cpu (x86_64)" in head and "2 cells, 3.5 s" in head and "– 2026-01-01T00:01" in head
    # A cell with several rows (one per pruning round) counts its time once.
    twice = pd.concat([cells, cells.iloc[[1]]], ignore_index=True)
    assert "2 cells, 3.5 s" in provenance_header(twice)

    class Module:
        @staticmethod
        def tables(frame):
            return [TheoryTable("t", frame[["p"]].rename(columns={"p": "pv"}), p_col="pv")]

        @staticmethod
        def figures(frame, outdir):
            return []

    files = write_report(Module, cells, tmp_path, name="demo", description="desc")
    text = files[0].read_text()
    assert "**2 of 2 rows agree**" in text and "desc" in text and "## t" in text
    assert (tmp_path / "table_1.csv").is_file()


def test_report_without_judged_rows_says_so(tmp_path):
    class Module:
        @staticmethod
        def tables(frame):
            return [TheoryTable("measured only", frame)]

    text = write_report(Module, pd.DataFrame({"x": [1.0]}), tmp_path, name="m")[0].read_text()
    assert "No row of this file is judged against a theory" in text and "0 of 0" not in text
