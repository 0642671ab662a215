"""Failure semantics of sweeps: kill -9 at random points, torn journal lines, duplicates,
reports rebuilt from ``cells.csv`` alone."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sparsesim.cli import main
from sparsesim.sweep import Journal, load_config, run_sweep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOY = HERE / "toysims" / "toy.toml"
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
ENV.pop("SPARSESIM_TOY_MARKER_DIR", None)

SCIENCE = ["p", "trials", "heads", "mean", "cell_key"]


def _config_file(tmp_path, n_cells, sleep, name="c.toml"):
    path = tmp_path / name
    ps = [round(i / n_cells, 6) for i in range(n_cells)]
    path.write_text(f"""
[sim]
name = "toy_slow"
module = "toysim_slow"
seed = 5
[params]
trials = 200
sleep = {sleep}
[grid]
p = {ps}
""")
    return path


def _cli(cfg_path, out, *extra):
    return [sys.executable, "-m", "sparsesim.cli", "run", str(cfg_path), "--out", str(out),
            "--backend", "numpy", "--quiet", "--no-report", *extra]


def _lines(journal: Path) -> int:
    return journal.read_bytes().count(b"\n") if journal.exists() else 0


def _wait_until(done, proc, what, timeout=300.0):
    """Poll ``done()`` while ``proc`` runs; a generous timeout only catches a hung run."""
    deadline = time.monotonic() + timeout
    while not done():
        assert proc.poll() is None, f"the run exited before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


class Gate:
    """The toy cells' gate (``$SPARSESIM_TOY_GATE_DIR``): a cell runs once its go-file exists."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.env = dict(ENV, SPARSESIM_TOY_GATE_DIR=str(path))

    def open(self, *ps: float) -> None:
        for p in ps:
            (self.path / f"go-{p!r}").touch()

    def started(self, p: float) -> bool:
        return (self.path / f"started-{p!r}").exists()

    def close_all(self) -> None:
        """Every gate shut again and every start forgotten (before a new run)."""
        for f in [*self.path.glob("started-*"), *self.path.glob("go-*")]:
            f.unlink()


def _journaled_ps(journal: Path) -> set:
    return {r["params"]["p"] for r in Journal(journal).load().values()} if journal.exists() \
        else set()


@pytest.mark.slow
def test_kill9_at_random_points_then_resume_equals_uninterrupted(tmp_path):
    """SIGKILL `sparsesim run` 20 times at seeded random points; the final cells.csv must
    equal an uninterrupted run's (scientific columns and cell keys).

    Each run's cells wait at a gate (a file per cell) that the test opens, so the
    kill points are drawn, not timed: for a draw ``grow`` of 1-3 the test opens
    the gates of the next ``grow`` pending cells, waits until the cell after them
    has started (so those are journaled and the run is inside a cell) and kills
    it there; for ``grow = 0`` it kills at a random time after the start
    (imports, config, journal load, the first gate, possibly mid-append of one
    released cell); once every remaining gate is open, at a random time in the
    rest of the run (the last cells, their appends, the cells.csv write).
    Falsified if a finished cell is lost, recomputed with other numbers or
    journaled twice, if a torn line breaks the resume, or if a half-written
    cells.csv is ever visible.  No outcome depends on how loaded the machine is.
    """
    n_cells = 24
    cfg_path = _config_file(tmp_path, n_cells, sleep=0.0)
    ps = [round(i / n_cells, 6) for i in range(n_cells)]
    ref_out = tmp_path / "ref"
    subprocess.run(_cli(cfg_path, ref_out), env=ENV, check=True, capture_output=True)
    ref = pd.read_csv(ref_out / "cells.csv")
    # Random kill times are scaled by a run with nothing left to do (start-up +
    # cells.csv) and by one cell's time; they choose where a kill lands, never
    # whether the test passes.
    t0 = time.monotonic()
    subprocess.run(_cli(cfg_path, ref_out), env=ENV, check=True, capture_output=True)
    t_start = time.monotonic() - t0
    cell_time = float(ref.elapsed_s.mean()) + 0.002

    rng = random.Random(20260611)
    out = tmp_path / "killed"
    journal = out / "journal.jsonl"
    gate = Gate(tmp_path / "gate")
    mid_sweep_kills = 0
    for _ in range(20):
        before = _lines(journal)
        pending = [p for p in ps if p not in _journaled_ps(journal)]
        gate.close_all()
        grow = rng.randint(0, 3)
        proc = subprocess.Popen(_cli(cfg_path, out), env=gate.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if 0 < grow < len(pending):  # deterministic: inside cell pending[grow], `grow` journaled
            gate.open(*pending[:grow])
            _wait_until(lambda: gate.started(pending[grow]), proc,
                        f"cell p={pending[grow]} started")
        elif grow == 0:
            if pending and rng.random() < 0.5:
                gate.open(pending[0])
            time.sleep(rng.uniform(0.0, t_start + cell_time))
        else:
            gate.open(*pending)
            time.sleep(rng.uniform(0.0, t_start + len(pending) * cell_time))
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = _lines(journal)
        if 0 < grow < len(pending):
            assert killed and after == before + grow
        mid_sweep_kills += killed and before < after < n_cells
        # Whatever a kill leaves behind reads back: the journal without error and
        # without losing a recorded cell; cells.csv complete or absent.
        assert len(Journal(journal).load()) == min(after, n_cells) >= min(before, n_cells)
        if (out / "cells.csv").exists():
            assert len(pd.read_csv(out / "cells.csv")) == n_cells
    assert mid_sweep_kills >= 5, "too few kills landed mid-sweep to test anything"

    subprocess.run(_cli(cfg_path, out), env=ENV, check=True, capture_output=True)
    got = pd.read_csv(out / "cells.csv")
    pd.testing.assert_frame_equal(ref[SCIENCE], got[SCIENCE])
    records = [json.loads(ln) for ln in journal.read_text().splitlines()]
    assert len(records) == n_cells == len({r["key"] for r in records})  # nothing twice


def test_torn_last_line_and_duplicated_cells_are_handled(tmp_path):
    """A journal with a duplicated cell (other numbers, appended later) and a torn tail.

    Falsified if the torn line is parsed, if it blocks the resume, if the duplicate
    replaces the first record, or if a cell appears twice in cells.csv.
    """
    cfg = load_config(_config_file(tmp_path, 6, sleep=0.0))
    ref = run_sweep(cfg, out=tmp_path / "ref", backend="numpy", show_progress=False)
    lines = (tmp_path / "ref" / "journal.jsonl").read_text().splitlines(keepends=True)
    dup = json.loads(lines[1])
    dup["rows"][0]["heads"] = -1  # a later record of the same cell must not win
    out = tmp_path / "o"
    out.mkdir()
    torn = lines[3][: len(lines[3]) // 2]
    (out / "journal.jsonl").write_text("".join(lines[:3]) + json.dumps(dup) + "\n" + torn)
    assert set(Journal(out / "journal.jsonl").load()) == {json.loads(ln)["key"]
                                                        for ln in lines[:3]}
    got = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    pd.testing.assert_frame_equal(ref[SCIENCE], got[SCIENCE])
    assert got.cell_key.is_unique
    after = (out / "journal.jsonl").read_text().splitlines()
    assert len(after) == 7 and all(json.loads(ln) for ln in after)  # torn tail truncated


@pytest.mark.slow
def test_kill9_client_of_a_dask_run_then_resume(tmp_path):
    """kill -9 the client of a `--executor dask` run mid-sweep, re-run it: same cells.

    Falsified if the resumed Dask run loses, repeats or changes a cell.
    """
    pytest.importorskip("distributed")
    cfg_path = _config_file(tmp_path, 12, sleep=0.0)
    ps = [round(i / 12, 6) for i in range(12)]
    out = tmp_path / "o"
    journal = out / "journal.jsonl"
    cmd = _cli(cfg_path, out, "--executor", "dask")
    gate = Gate(tmp_path / "gate")  # cells run only once the test opens their gate
    proc = subprocess.Popen(cmd, env=gate.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        gate.open(*ps[:3])
        _wait_until(lambda: _lines(journal) >= 3, proc, "3 cells journaled")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        gate.open(*ps)  # let orphaned workers of the killed client finish at once
    assert _lines(journal) == 3  # every other cell was held at its gate
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=300)
    ref = run_sweep(load_config(cfg_path), out=tmp_path / "ref", backend="numpy",
                    show_progress=False)
    got = pd.read_csv(out / "cells.csv")
    pd.testing.assert_frame_equal(ref[SCIENCE], got[SCIENCE])
    assert _lines(journal) == 12


def test_report_is_rebuilt_from_cells_csv_alone(tmp_path, monkeypatch, capsys):
    """`sparsesim report` needs nothing but cells.csv: no journal, no TOML, other cwd.

    Falsified if the rebuilt tables differ from the run's, or if the header loses
    where/when the numbers were produced.
    """
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sims").mkdir()
    (tmp_path / "sims" / "toy.toml").write_text(TOY.read_text())
    assert main(["run", "toy", "--backend", "numpy", "--quiet"]) == 0
    out = tmp_path / "results" / "toy"
    first_md = (out / "table.md").read_text()
    first_csv = (out / "table_1.csv").read_text()
    for f in out.iterdir():
        if f.name != "cells.csv":
            f.unlink()
    (tmp_path / "sims" / "toy.toml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["report", "toy", "--out", str(out)]) == 0
    md = (out / "table.md").read_text()
    assert (out / "table_1.csv").read_text() == first_csv
    cells = pd.read_csv(out / "cells.csv")
    header = next(ln for ln in md.splitlines() if ln.startswith("Produced on"))
    assert header in first_md  # same provenance line as the run wrote
    for col in ("device", "backend", "version", "git_commit", "executor", "config_hash"):
        assert str(cells[col].iloc[0]) in header, col
    assert str(cells["finished_at"].min()) in header and "(UTC)" in header
    assert "3 of 3 tested rows agree" in md


def test_every_row_carries_provenance(tmp_path):
    """seed, backend, device, version, git commit, config hash and executor, on every row."""
    cfg = load_config(_config_file(tmp_path, 3, sleep=0.0))
    frame = run_sweep(cfg, out=tmp_path / "o", backend="numpy", show_progress=False)
    cols = ["sweep_seed", "backend", "device", "version", "git_commit", "config_hash",
            "executor", "cell_key", "finished_at"]
    assert frame[cols].notna().all().all()
    assert (frame.sweep_seed == 5).all() and (frame.config_hash == cfg.config_hash).all()
    assert frame.git_commit.str.len().gt(0).all()


def test_resumed_rows_keep_the_provenance_of_the_run_that_made_them(tmp_path, monkeypatch):
    """Rows journaled by an earlier run (another executor, another commit) keep theirs.

    Falsified if the current run's executor or commit is stamped on resumed rows.
    """
    import sparsesim.sweep.runner as runner

    cfg = load_config(_config_file(tmp_path, 2, sleep=0.0))
    out = tmp_path / "o"
    monkeypatch.setattr(runner, "git_commit", lambda: "commit-a")
    run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    lines = (out / "journal.jsonl").read_text().splitlines(keepends=True)
    (out / "journal.jsonl").write_text(lines[0])  # the second cell is redone later

    class OtherExecutor(runner.LocalExecutor):
        name = "other"

    monkeypatch.setattr(runner, "git_commit", lambda: "commit-b")
    frame = run_sweep(cfg, out=out, backend="numpy", executor=OtherExecutor(),
                      show_progress=False)
    assert list(frame.executor) == ["local", "other"]
    assert list(frame.git_commit) == ["commit-a", "commit-b"]
