"""Theory-table reports: verdicts, Markdown, provenance header."""

import numpy as np
import pandas as pd
import pytest

from sparsesim.report import TheoryTable, judge, provenance_header, to_markdown, write_report


def test_judge_holm_across_tables_and_checks():
    # Four p-values across two tables; Holm at alpha = 0.01 rejects only 1e-5
    # (1e-5 * 4 <= 0.01, then 0.004 * 3 = 0.012 > 0.01 stops the step-down).
    t1 = TheoryTable.tests("a", pd.DataFrame({"p": [1e-5, 0.004]}), p_col="p", test="z")
    t2 = TheoryTable.tests("b", pd.DataFrame({"p": [0.5, np.nan, 0.9],
                                             "ok": [True, True, False]}),
                           p_col="p", test="z", check_cols=("ok",))
    j = judge([t1, t2], alpha=0.01)
    assert list(j.verdicts[0]) == [False, True]
    # A row with a p-value fails when its exact check fails; a missing p-value
    # makes the row not testable (never a silent agreement).
    assert list(j.verdicts[1]) == [True, "not testable", False]
    assert (j.agree, j.tested, j.not_testable) == (2, 4, 1)
    assert j.agreement_line() == ("**2 of 4 tested rows agree, 2 ✗, 0 inconclusive** (4 tests; "
                                  "Holm, family-wise α = 0.01); 1 row not testable.")


def test_legacy_p_and_agree_columns():
    # The older convention: rows without a p-value are judged by agree_col
    # (as identities); a row with a p-value and a failing check fails.
    t = TheoryTable("b", pd.DataFrame({"p": [0.5, np.nan, 0.9], "ok": [False, True, True]}),
                    p_col="p", agree_col="ok")
    j = judge([t], alpha=0.01)
    assert list(j.verdicts[0]) == [False, True, True]
    assert (j.agree, j.tested, j.identities, j.identities_hold) == (1, 2, 1, 1)


def test_claims_inconclusive_and_opposite():
    f = pd.DataFrame({"pc": [1e-4, 0.3, 0.9999, 1e-4], "po": [0.9999, 0.7, 1e-4, 0.9999],
                      "ok": [True, True, True, False]})
    t = TheoryTable.claims("c", f, p_col="pc", p_opposite_col="po", test="sign flip",
                           check_cols=("ok",))
    j = judge([t], alpha=0.01)
    assert list(j.verdicts[0]) == [True, "inconclusive", False, False]
    line = j.agreement_line()
    assert line.startswith("**1 of 4 tested rows agree, 2 ✗, 1 inconclusive** (4 tests; Holm")
    assert j.disagree == 2


def test_intervals_identities_descriptive_counts():
    tests = TheoryTable.tests("t", pd.DataFrame({"p_value": [0.5, 0.6]}), test="binomial")
    iv = TheoryTable.intervals("i", pd.DataFrame({"in": [True, False, None]}), inside_col="in",
                               level=0.95)
    ident = TheoryTable.identities("id", pd.DataFrame({"h": [True, True, False]}),
                                   holds_col="h", tolerance="1e-12")
    desc = TheoryTable.descriptive("d", pd.DataFrame({"x": [1, 2]}))
    mixed = TheoryTable("m", pd.DataFrame({"kind": ["descriptive", "not testable: too few"],
                                           "p_value": [np.nan, np.nan]}),
                        p_col="p_value", kind="test", kind_col="kind")
    j = judge([tests, iv, ident, desc, mixed], alpha=0.01)
    assert list(j.verdicts[1]) == [True, False, "not testable"]
    assert list(j.verdicts[4]) == [None, "not testable: too few"]
    assert (j.agree, j.tested, j.identities, j.identities_hold, j.descriptive,
            j.not_testable) == (3, 4, 3, 2, 3, 2)
    line = j.agreement_line()
    assert line.startswith("**3 of 4 tested rows agree, 1 ✗, 0 inconclusive** (2 tests, "
                           "2 intervals; Holm at "
                           "family-wise α = 0.01 over the tests, intervals at 95 % coverage")
    assert "≤ 0.11 (union bound)" in line and "identities: 2 of 3 hold" in line
    assert "3 rows descriptive" in line and "2 rows not testable" in line
    # Intervals alone: the header never mentions a correction that was not applied.
    only = judge([iv]).agreement_line()
    assert "Holm" not in only and "1 of 2 tested rows agree" in only
    # Identities and descriptive rows never enter the agreement line.
    assert judge([ident, desc]).agreement_line() == (
        "**No row of this file is tested against a theory**; identities: 2 of 3 hold; "
        "2 rows descriptive.")


def test_table_declarations_are_checked():
    f = pd.DataFrame({"p": [0.5]})
    with pytest.raises(ValueError, match="kind must be one of"):
        TheoryTable("x", f, kind="exact")
    with pytest.raises(ValueError, match="p_opposite_col"):
        TheoryTable("x", f, p_col="p", kind="claim")
    with pytest.raises(ValueError, match="level in"):
        TheoryTable.intervals("x", pd.DataFrame({"i": [True]}), inside_col="i", level=95)
    with pytest.raises(ValueError, match="check_cols entry 'nope'"):
        TheoryTable.tests("x", f, p_col="p", test="t", check_cols=("nope",))
    with pytest.raises(ValueError, match="kind_col 'k' holds"):
        TheoryTable("x", pd.DataFrame({"k": ["exact"], "p": [0.5]}), p_col="p", kind_col="k")
    with pytest.raises(ValueError, match="alpha must be in"):
        judge([], alpha=1.5)


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
            return [TheoryTable("t", frame[["p"]].rename(columns={"p": "pv"}), p_col="pv"),
                    TheoryTable.identities("sum rule", pd.DataFrame({"h": [True]}),
                                           holds_col="h", tolerance="1e-12 relative")]

        @staticmethod
        def figures(frame, outdir):
            return []

    files = write_report(Module, cells, tmp_path, name="demo", description="desc")
    text = files[0].read_text()
    assert "**2 of 2 tested rows agree, 0 ✗, 0 inconclusive** (2 tests; Holm, family-wise " \
           "α = 0.01)" in text
    assert "desc" in text and "## t" in text
    assert (tmp_path / "table_1.csv").is_file()
    # Identities sit in their own section, after the tested tables.
    assert "identities: 1 of 1 hold" in text and "## Identities: 1 of 1 hold" in text
    assert text.index("## t") < text.index("## Identities") < text.index("### sum rule")


def test_report_without_judged_rows_says_so(tmp_path):
    class Module:
        @staticmethod
        def tables(frame):
            return [TheoryTable("measured only", frame)]

    text = write_report(Module, pd.DataFrame({"x": [1.0]}), tmp_path, name="m")[0].read_text()
    assert "No row of this file is tested against a theory" in text and "0 of 0" not in text
    assert "1 row descriptive" in text
