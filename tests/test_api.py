"""``sparsesim.run`` / ``report`` / ``report_all`` and the CLI shell over them."""

from pathlib import Path

import pandas as pd
import pytest

import sparsesim as ss
from sparsesim import api
from sparsesim.backend import cupy_available
from sparsesim.cli import TRACEBACK_ENV, main

HERE = Path(__file__).resolve().parent
TOY = HERE / "toysims" / "toy.toml"


def _declared_toml(tmp_path, offset=0.0, name="claim.toml"):
    path = tmp_path / name
    path.write_text(f'[sim]\nname = "claim"\nmodule = "toysim_declared"\ndescription = '
                    f'"coins against a claim"\nseed = 4\n[params]\ntrials = 2000\n'
                    f'claim_offset = {offset}\n[grid]\np = [0.2, 0.5]\n')
    return path


def test_run_returns_cells_tables_verdict_and_figures(tmp_path):
    res = ss.run(TOY, quick=True, backend="numpy", out=tmp_path / "o", progress=False)
    assert isinstance(res, api.RunResult) and isinstance(res.cells, pd.DataFrame)
    assert res.cells["p"].tolist() == [0.5] and res.name == "toy"
    assert [t.title for t in res.tables] == ["coin flips"]
    assert (res.verdict.agree, res.verdict.judged, res.verdict.ok) == (1, 1, True)
    assert res.figures == [] and res.files[0] == tmp_path / "o" / "table.md"
    assert res.verdict.line in res.files[0].read_text()
    # The same command again resumes: nothing recomputed, the same rows.
    again = ss.run(TOY, quick=True, backend="numpy", out=tmp_path / "o", progress=False)
    pd.testing.assert_frame_equal(res.cells, again.cells)
    assert "toy" in repr(res) and "1 of 1 tested rows agree" in repr(res)


def test_run_equals_the_cli(tmp_path):
    res = ss.run(TOY, backend="numpy", out=tmp_path / "api", progress=False, seed=11)
    assert main(["run", str(TOY), "--backend", "numpy", "--out", str(tmp_path / "cli"),
                 "--quiet", "--seed", "11"]) == 0
    cli = pd.read_csv(tmp_path / "cli" / "cells.csv")
    cols = ["p", "trials", "heads", "cell_key"]
    pd.testing.assert_frame_equal(res.cells[cols], cli[cols])
    assert (tmp_path / "api" / "table.md").read_text().splitlines()[:3] == \
        (tmp_path / "cli" / "table.md").read_text().splitlines()[:3]


@pytest.mark.parametrize("kwargs, name", [
    (dict(backend="gpu"), "backend"),
    (dict(executor="spark"), "executor"),
    (dict(trials=0), "trials"),
    (dict(trials=2.5), "trials"),
    (dict(seed=-1), "seed"),
    (dict(quick="yes"), "quick"),
    (dict(scheduler="tcp://x:1"), "scheduler"),
])
def test_run_refuses_bad_arguments_before_any_work(tmp_path, kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        ss.run(TOY, out=tmp_path / "o", progress=False, **kwargs)
    assert not (tmp_path / "o").exists()


def test_verdict_counts_and_check_flag(tmp_path, capsys):
    """A claim off by 13 standard deviations disagrees: the verdict says so and
    `run --check` exits 1; without --check, and for an agreeing file, 0."""
    bad = ss.run(_declared_toml(tmp_path, 0.3), backend="numpy", out=tmp_path / "bad",
                 progress=False)
    assert bad.verdict.judged == 2 and bad.verdict.disagree == 2 and not bad.verdict.ok
    args = ["run", str(_declared_toml(tmp_path, 0.3)), "--backend", "numpy", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "bad")]) == 0
    assert main(args + ["--out", str(tmp_path / "bad"), "--check"]) == 1
    err = capsys.readouterr().err
    assert "--check" in err and "claim (2 disagree)" in err
    good = ["run", str(_declared_toml(tmp_path, 0.0, "good.toml")), "--backend", "numpy",
            "--quiet", "--out", str(tmp_path / "good"), "--check"]
    assert main(good) == 0


def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    out = ["--out", str(tmp_path / "o")]
    assert main(["run", str(TOY), "--quick", "--trials", "0", *out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--trials" in err and "no valid cell" not in err
    assert main(["run", "no_such_simulation_x", *out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown simulation" in err
    # An unexpected failure: one line naming the exception, and how to see the traceback.
    monkeypatch.setattr(api, "run", lambda *a, **k: 1 / 0)
    assert main(["run", str(TOY), *out]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ZeroDivisionError" in err and TRACEBACK_ENV in err
    monkeypatch.setenv(TRACEBACK_ENV, "1")
    with pytest.raises(ZeroDivisionError):
        main(["run", str(TOY), *out])


@pytest.mark.skipif(cupy_available(), reason="needs a machine without a usable GPU")
def test_cupy_backend_without_a_gpu_is_one_line(tmp_path, capsys):
    assert main(["run", str(TOY), "--quick", "--backend", "cupy", "--out",
                 str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cupy" in err.lower() and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_report_all_writes_the_results_index(tmp_path, monkeypatch, capsys):
    """`sparsesim report all`: every report rebuilt byte-identical, and results/README.md
    with one section per simulation (agreement line, what it tests, figures)."""
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    ss.run(TOY, backend="numpy", out=results / "toy", progress=False)
    ss.run(_declared_toml(tmp_path, 0.3), backend="numpy", out=results / "claim",
           progress=False)
    ss.run(TOY, quick=True, backend="numpy", out=results / "quick" / "toy", progress=False)
    before = {p: p.read_bytes() for p in results.rglob("table*.*")}
    assert main(["report", "all"]) == 0
    assert {p: p.read_bytes() for p in results.rglob("table*.*")} == before
    index = (results / "README.md").read_text()
    assert "## [toy](toy/table.md)" in index and "## [claim](claim/table.md)" in index
    assert "quick" not in index  # quick runs are not indexed
    assert "**3 of 3 tested rows agree, 0 ✗, 0 inconclusive**." in index
    assert "What it tests: coin flips" in index
    assert "**0 of 2 tested rows agree, 2 ✗, 0 inconclusive**." in index
    n_sims = len({"toy", ss.api.report(out=results / "claim").name})
    assert (f"Over all 2 result folders ({n_sims} simulation{'s' * (n_sims != 1)}): 3 of 5 "
            "tested rows agree, 2 ✗, 0 inconclusive.") in index
    for word in ("**✓**", "**✗**", "**inconclusive**", "**not testable**", "**descriptive**",
                 "**post hoc**"):                   # the glossary explains every verdict word
        assert f"- {word}" in index
    assert "results/README.md" in capsys.readouterr().out.splitlines()


def test_report_rebuilds_from_cells_csv(tmp_path):
    res = ss.run(TOY, backend="numpy", out=tmp_path / "o", progress=False)
    first = (tmp_path / "o" / "table.md").read_bytes()
    rebuilt = api.report("toy", out=tmp_path / "o")
    assert (tmp_path / "o" / "table.md").read_bytes() == first
    assert rebuilt.verdict == res.verdict and rebuilt.description == "coin flips"
    with pytest.raises(FileNotFoundError, match="run `sparsesim run nothing_here` first"):
        api.report("nothing_here", out=tmp_path / "missing")
