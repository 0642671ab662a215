"""Sweep runner: configs, per-cell seeds, the journal, resuming, the CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sparsesim.cli import main
from sparsesim.sweep import (ConfigError, Journal, JournalError, OutputFolderError, cell_key,
                             cell_seed, load_config, run_sweep)

HERE = Path(__file__).resolve().parent
TOY = HERE / "toysims" / "toy.toml"
ROOT = HERE.parent


def _write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


BASE = """
[sim]
name = "toy"
module = "toysim"
seed = 1
[params]
trials = 10
[grid]
p = [0.5]
"""


# ----------------------------------------------------------------------------- config

def test_grid_expansion_quick_and_valid_cell():
    cfg = load_config(TOY)
    # p = 2.0 is dropped by valid_cell; DEFAULTS fill sleep/rows.
    assert [c["p"] for c in cfg.cells] == [0.1, 0.5, 0.9]
    assert all(c["trials"] == 1000 and c["sleep"] == 0.0 for c in cfg.cells)
    quick = load_config(TOY, quick=True)
    assert [(c["p"], c["trials"]) for c in quick.cells] == [(0.5, 100)]
    assert load_config(TOY, overrides={"trials": 5}).cells[0]["trials"] == 5
    assert load_config(TOY, seed=3).seed == 3


@pytest.mark.parametrize("text, key", [
    (BASE + "bogus = 1\n", "bogus"),                                   # unknown param
    (BASE.replace("trials = 10", "trials = 'ten'"), "params.trials"),  # wrong type
    (BASE.replace("trials = 10", "trials = 1.5"), "params.trials"),    # float for int
    (BASE.replace("p = [0.5]", "p = []"), "grid.p"),                   # empty grid
    (BASE.replace("p = [0.5]", "p = 0.5"), "grid.p"),                  # not a list
    (BASE.replace('module = "toysim"', ""), "sim.module"),             # missing field
    (BASE.replace("[params]", "[parms]"), "parms"),                    # unknown table
    (BASE.replace("seed = 1", "seed = 1\ncolour = 'red'"), "colour"),  # unknown sim key
    (BASE.replace("[grid]\np = [0.5]", ""), "missing parameter 'p'"),  # required param absent
    (BASE.replace("trials = 10", "trials = 10\np = 0.5"), "both"),     # params and grid
    (BASE.replace("p = [0.5]", "p = [3.0]"), "no valid cell"),         # everything invalid
    (BASE.replace('"toysim"', '"no_such_module_x"'), "sim.module"),    # bad module
])
def test_config_errors_name_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError, match=key.replace("(", r"\(").replace(")", r"\)")):
        load_config(_write(tmp_path, text))


def test_override_unknown_param_rejected():
    with pytest.raises(ConfigError, match="nope"):
        load_config(TOY, overrides={"nope": 1})


def test_unknown_simulation_name():
    with pytest.raises(ConfigError, match="unknown simulation"):
        load_config("no_such_sim_anywhere")


# ----------------------------------------------------------------------------- seeds/keys

def test_cell_seed_depends_only_on_own_params():
    a = cell_seed({"p": 0.5, "trials": 10}, 3).generate_state(4)
    b = cell_seed({"trials": 10, "p": 0.5}, 3).generate_state(4)
    c = cell_seed({"p": 0.5, "trials": 11}, 3).generate_state(4)
    d = cell_seed({"p": 0.5, "trials": 10}, 4).generate_state(4)
    assert (a == b).all() and not (a == c).all() and not (a == d).all()
    assert cell_key({"p": 0.5}, 3) != cell_key({"p": 0.5}, 4)


def test_adding_cells_does_not_change_existing_ones(tmp_path):
    small = load_config(_write(tmp_path, BASE.replace("p = [0.5]", "p = [0.5]"), "a.toml"))
    big = load_config(_write(tmp_path, BASE.replace("p = [0.5]", "p = [0.1, 0.5, 0.9]"), "b.toml"))
    fa = run_sweep(small, out=tmp_path / "a", backend="numpy", show_progress=False)
    fb = run_sweep(big, out=tmp_path / "b", backend="numpy", show_progress=False)
    assert int(fa.heads.iloc[0]) == int(fb[fb.p == 0.5].heads.iloc[0])


# ----------------------------------------------------------------------------- journal

def test_journal_roundtrip_dedup_and_torn_tail(tmp_path):
    j = Journal(tmp_path / "j.jsonl")
    j.append("a", {"x": 1}, [{"v": 1.5, "inf": float("inf")}])
    j.append("b", {"x": 2}, [{"v": 2}])
    j.append("a", {"x": 1}, [{"v": 99}])          # duplicate key: first record wins
    with open(j.path, "ab") as f:
        f.write(b'{"key": "c", "rows": [')        # torn last line (crash mid-write)
    done = Journal(j.path).load()
    assert set(done) == {"a", "b"}
    assert done["a"]["rows"][0]["v"] == 1.5 and done["a"]["rows"][0]["inf"] == float("inf")
    j2 = Journal(j.path)
    j2.append("c", {"x": 3}, [{"v": 3}])           # truncates the torn tail first
    lines = j.path.read_bytes().splitlines()
    assert all(json.loads(ln) for ln in lines) and len(lines) == 4
    assert set(Journal(j.path).load()) == {"a", "b", "c"}


def test_journal_damage_in_the_middle_raises(tmp_path):
    p = tmp_path / "j.jsonl"
    p.write_text('{"key": "a", "rows": []}\nGARBAGE\n{"key": "b", "rows": []}\n')
    with pytest.raises(JournalError, match="damaged"):
        Journal(p).load()


# ----------------------------------------------------------------------------- runner

def test_run_writes_provenance_and_resumes(tmp_path):
    cfg = load_config(TOY)
    out = tmp_path / "out"
    full = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    for col in ("sweep_seed", "backend", "device", "version", "git_commit", "config_hash",
                "executor", "cell_key", "elapsed_s", "finished_at"):
        assert col in full.columns, col
    assert (full.backend == "numpy").all() and (full.executor == "local").all()
    # Simulate an interruption: keep only the first journal line, then resume.
    lines = (out / "journal.jsonl").read_text().splitlines(keepends=True)
    (out / "journal.jsonl").write_text(lines[0])
    resumed = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    cols = ["p", "trials", "heads", "cell_key"]
    pd.testing.assert_frame_equal(full[cols], resumed[cols])
    assert len((out / "journal.jsonl").read_text().splitlines()) == 3


def test_cells_with_several_rows(tmp_path):
    cfg = load_config(_write(tmp_path, BASE + "\n[quick.params]\nrows = 3\n"), quick=True)
    frame = run_sweep(cfg, out=tmp_path / "o", backend="numpy", show_progress=False)
    assert list(frame["copy"]) == [0, 1, 2] and frame.cell_key.nunique() == 1


def test_kill_minus_9_then_resume_gives_identical_cells(tmp_path):
    """kill -9 the CLI mid-sweep; re-running must finish with the uninterrupted result.

    The cells wait at a gate the test opens (``$SPARSESIM_TOY_GATE_DIR`` of
    ``toysim_slow``): two are let through, the kill lands while the third waits,
    so exactly two are journaled however loaded the machine is.  Falsified if a
    finished cell is lost, redone with other numbers, or counted twice.
    """
    ps = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    cfg_path = _write(tmp_path, BASE.replace('"toysim"', '"toysim_slow"')
                      .replace("p = [0.5]", f"p = {ps}"))
    gate = tmp_path / "gate"
    gate.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]),
               SPARSESIM_TOY_GATE_DIR=str(gate))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sparsesim.cli", "run", str(cfg_path), "--out", str(out),
           "--backend", "numpy", "--quiet", "--no-report"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for p in ps[:2]:
        (gate / f"go-{p!r}").touch()
    deadline = time.monotonic() + 300  # only a hung run gets here
    while not (gate / f"started-{ps[2]!r}").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the run stopped early"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    journal = out / "journal.jsonl"
    assert journal.read_text().count("\n") == 2
    env.pop("SPARSESIM_TOY_GATE_DIR")
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ref = run_sweep(load_config(cfg_path), out=tmp_path / "ref", backend="numpy",
                    show_progress=False)
    got = pd.read_csv(out / "cells.csv")
    cols = ["p", "heads", "cell_key"]
    pd.testing.assert_frame_equal(ref[cols].reset_index(drop=True), got[cols])
    assert journal.read_text().count("\n") == 6


# ----------------------------------------------------------------------------- CLI

def test_cli_run_report_list(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sims").mkdir()
    (tmp_path / "sims" / "toy.toml").write_text(TOY.read_text())
    assert main(["list"]) == 0
    assert "toy" in capsys.readouterr().out
    assert main(["run", "toy", "--quick", "--backend", "numpy", "--quiet"]) == 0
    out = tmp_path / "results" / "quick" / "toy"
    text = (out / "table.md").read_text()
    assert "1 of 1 tested rows agree" in text and "Produced on cpu" in text
    (out / "table.md").unlink()
    assert main(["report", "toy", "--out", str(out)]) == 0
    assert "rows agree" in (out / "table.md").read_text()


def test_cli_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "sparsesim" in capsys.readouterr().out
    assert main([]) == 0
    assert "sparsesim run all --quick" in capsys.readouterr().out


_EVOLVING = """
from sparsesim.backend import make_rng, to_numpy
PARAMS = {{"p": float, "trials": int{extra_param}}}
DEFAULTS = {{{extra_default}}}
{neutral}
def run_cell(params, ctx):
    rng = make_rng(ctx.seed, ctx.backend)
    return {{"heads": int(to_numpy((rng.uniform(params["trials"]) < params["p"]).sum()))}}
"""

_EVOLVING_TOML = """
[sim]
name = "evolving"
module = "evolving_sim"
seed = 5
[params]
trials = 1000
{mode}
[grid]
p = [0.2, 0.6]
"""


def _evolve(tmp_path, *, with_mode, mode_line=""):
    """(Re)write the simulation module, optionally with a new parameter ``mode``."""
    code = _EVOLVING.format(
        extra_param=', "mode": str' if with_mode else "",
        extra_default='"mode": "old"' if with_mode else "",
        neutral='NEUTRAL_DEFAULTS = {"mode": "old"}' if with_mode else "")
    (tmp_path / "evolving_sim.py").write_text(code)
    sys.modules.pop("evolving_sim", None)
    cfg = tmp_path / "evolving.toml"
    cfg.write_text(_EVOLVING_TOML.format(mode=mode_line))
    return load_config(cfg)


@pytest.mark.parametrize("args, name", [((["p", 1],), "params"), (({"p": 1}, ["p"]), "neutral")])
def test_cell_identity_bad_arguments_name_the_argument(args, name):
    from sparsesim.sweep.provenance import cell_identity
    with pytest.raises(TypeError, match=name):
        cell_identity(*args)


def test_cell_identity_compares_type_and_value():
    from sparsesim.sweep.provenance import cell_identity
    assert cell_identity({"flag": 1, "n": True}, {"flag": True, "n": True}) == {"flag": 1}


def test_a_new_parameter_at_its_neutral_value_keeps_keys_and_seeds(tmp_path, monkeypatch):
    """Falsified if a journal written before a parameter existed stops resuming once the
    simulation gains it at its neutral value, or if its cells' random numbers change; a
    non-neutral value must be a new cell."""
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "o"
    before = run_sweep(_evolve(tmp_path, with_mode=False), out=out, backend="numpy",
                       show_progress=False)
    journal = out / "journal.jsonl"
    n_lines = len(journal.read_text().splitlines())
    after = run_sweep(_evolve(tmp_path, with_mode=True), out=out, backend="numpy",
                      show_progress=False)
    assert len(journal.read_text().splitlines()) == n_lines        # nothing recomputed
    assert list(after.cell_key) == list(before.cell_key)
    # the same cells computed afresh by the new module draw the same numbers
    fresh = run_sweep(_evolve(tmp_path, with_mode=True), out=tmp_path / "fresh",
                      backend="numpy", show_progress=False)
    assert list(fresh.heads) == list(before.heads)
    # A non-neutral value makes other cells: another sweep, refused in this folder.
    with pytest.raises(OutputFolderError, match="2 of its cells are not cells of this sweep"):
        run_sweep(_evolve(tmp_path, with_mode=True, mode_line='mode = "new"'), out=out,
                  backend="numpy", show_progress=False)
    assert len(journal.read_text().splitlines()) == n_lines
    new = run_sweep(_evolve(tmp_path, with_mode=True, mode_line='mode = "new"'),
                    out=tmp_path / "new", backend="numpy", show_progress=False)
    assert not set(new.cell_key) & set(before.cell_key)


def test_python_dash_m_sparsesim_and_a_closed_pipe():
    """`python -m sparsesim` runs the CLI; a reader that closes the pipe early gives no traceback."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, "-m", "sparsesim", "--version"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("sparsesim")
    # The read end is closed before the child writes: its first print gets EPIPE.
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "sparsesim", "list"], env=env, stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_config_error_exit_code(tmp_path, capsys):
    bad = _write(tmp_path, BASE + "bogus = 1\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_union_of_grids_and_quick_overrides(tmp_path):
    text = """
[sim]
name = "toy"
module = "toysim"
[params]
trials = 10
[[grid]]
p = [0.1, 0.2]
[[grid]]
p = [0.7]
rows = [2, 3]
[quick.grid]
p = [0.5]
"""
    cfg = load_config(_write(tmp_path, text))
    assert [(c["p"], c["rows"]) for c in cfg.cells] == [(0.1, 1), (0.2, 1), (0.7, 2), (0.7, 3)]
    quick = load_config(_write(tmp_path, text), quick=True)
    # [quick.grid] replaces p in every product; duplicates collapse.
    assert [(c["p"], c["rows"]) for c in quick.cells] == [(0.5, 1), (0.5, 2), (0.5, 3)]
    listed = text.replace("[quick.grid]", "[[quick.grid]]")
    assert [c["p"] for c in load_config(_write(tmp_path, listed), quick=True).cells] == [0.5]
    with pytest.raises(ConfigError, match=r"grid\[1\].p"):
        load_config(_write(tmp_path, text.replace("p = [0.7]", "p = []")))


@pytest.mark.parametrize("path", sorted((ROOT / "sims").rglob("*.toml")),
                         ids=lambda p: str(p.relative_to(ROOT / "sims")))
def test_every_shipped_config_loads_and_validates(path):
    """Each TOML under sims/ (the CPU-sized ones in sims/cpu/ included) parses, names a
    simulation module, and every cell of its grid (and quick variant) type-checks."""
    cfg = load_config(path)
    assert len(cfg.cells) > 0
    if "quick" not in cfg.raw:  # e.g. the CPU-sized variants: --quick is refused, naming the file
        with pytest.raises(ConfigError, match=rf"{path}: quick \(--quick\) needs a \[quick\]"):
            load_config(path, quick=True)
    for quick in (False, True) if "quick" in cfg.raw else (False,):
        c = load_config(path, quick=quick)
        for cell in c.cells:
            assert set(cell) <= set(c.module.PARAMS)
