"""An output folder belongs to one sweep (sparsesim.sweep.outdir).

Another sweep into it (another simulation, seed, grid or quick variant) is
refused before any work, naming the output option and the two ways on;
nothing in the folder changes.  ``overwrite`` moves the old contents aside.
The folder's own sweep resumes, committed ``results/*`` folders (written
before ``sweep.json`` existed) included.
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sparsesim import api
from sparsesim.cli import main
from sparsesim.sweep import OutputFolderError, load_config, run_sweep
from sparsesim.sweep.outdir import OWNER_FILE, read_owner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOY = HERE / "toysims" / "toy.toml"

TOML = """
[sim]
name = "toy"
module = "toysim"
seed = {seed}
[params]
trials = {trials}
[grid]
p = {grid}
[quick.params]
trials = 50
[quick.grid]
p = [0.5]
"""


def _toml(tmp_path, name="toy.toml", *, seed=1, trials=100, grid="[0.2, 0.5]"):
    path = tmp_path / name
    path.write_text(TOML.format(seed=seed, trials=trials, grid=grid))
    return path


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _run(path, out, **kw):
    return run_sweep(load_config(path, **{k: kw.pop(k) for k in ("quick", "seed") if k in kw}),
                     out=out, backend="numpy", show_progress=False, **kw)


@pytest.mark.parametrize("change, reason", [
    (dict(seed=2), "seed 1, not 2"),
    (dict(trials=200), "of its cells are not cells of this sweep"),
    (dict(quick=True), "a full (not quick) run"),
])
def test_another_sweep_is_refused_and_nothing_changes(tmp_path, change, reason):
    out = tmp_path / "out"
    _run(_toml(tmp_path), out)
    before = _snapshot(out)
    other = _toml(tmp_path, "other.toml", trials=change.get("trials", 100))
    with pytest.raises(OutputFolderError) as exc:
        _run(other, out, **{k: v for k, v in change.items() if k != "trials"})
    text = str(exc.value)
    assert reason in text
    assert f"out {str(out)!r} holds another sweep (toy, seed 1" in text
    assert "give a new out folder, or overwrite=True" in text
    assert _snapshot(out) == before          # journal, cells.csv and sweep.json untouched


def test_another_simulation_into_the_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    _run(_toml(tmp_path), out)
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match="simulation toy, not best_k_term"):
        api.run("best_k_term", quick=True, trials=10, backend="numpy", out=out,
                progress=False)
    assert _snapshot(out) == before


def test_the_same_sweep_resumes_and_an_extended_grid_continues(tmp_path):
    path, out = _toml(tmp_path), tmp_path / "out"
    first = _run(path, out)
    journal = out / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text(lines[0])                      # as if stopped after the first cell
    (out / "cells.csv").unlink()
    again = _run(path, out)
    pd.testing.assert_frame_equal(first[["p", "heads"]], again[["p", "heads"]])
    # Adding a cell keeps the others (per-cell seeds), so the folder takes the larger grid.
    bigger = _run(_toml(tmp_path, grid="[0.2, 0.5, 0.7]"), out)
    assert bigger["p"].tolist() == [0.2, 0.5, 0.7]
    assert bigger["heads"].tolist()[:2] == first["heads"].tolist()
    assert read_owner(out).config_hash == load_config(_toml(tmp_path, grid="[0.2, 0.5, 0.7]")) \
        .config_hash


def test_overwrite_moves_the_old_results_aside(tmp_path):
    out = tmp_path / "out"
    _run(_toml(tmp_path), out)
    (out / "old_figure.png").write_bytes(b"png")       # a file of the old sweep's report
    before = _snapshot(out)
    _run(_toml(tmp_path, "s2.toml", seed=2), out, overwrite=True)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("out.old-")]
    assert len(aside) == 1 and _snapshot(aside[0]) == before
    assert not (out / "old_figure.png").exists()
    assert read_owner(out).seed == 2
    assert set(pd.read_csv(out / "cells.csv")["sweep_seed"]) == {2}
    assert len((out / "journal.jsonl").read_text().splitlines()) == 2


def test_cli_refusal_is_one_line_naming_out_and_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _toml(tmp_path)
    args = ["run", "toy.toml", "--backend", "numpy", "--quiet", "--out", "o"]
    assert main(args) == 0
    capsys.readouterr()
    before = _snapshot(tmp_path / "o")
    assert main(args + ["--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("sparsesim: --out 'o' holds another sweep (toy, seed 1")
    assert "seed 1, not 5" in err and "give a new --out folder, or --overwrite" in err
    assert _snapshot(tmp_path / "o") == before
    assert main(args + ["--seed", "5", "--overwrite"]) == 0
    assert read_owner(tmp_path / "o").seed == 5


def test_bad_overwrite_and_out_arguments(tmp_path):
    with pytest.raises(TypeError, match="overwrite must be a bool"):
        api.run(_toml(tmp_path), out=tmp_path / "o", overwrite="yes", progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        _run(_toml(tmp_path), tmp_path / "file")
    with pytest.raises(OutputFolderError, match="unreadable"):
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / OWNER_FILE).write_text("{not json")
        _run(_toml(tmp_path), tmp_path / "bad")


def test_a_folder_with_no_sweep_in_it_is_free(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "README.txt").write_text("mine")
    _run(_toml(tmp_path), out)
    assert (out / "README.txt").read_text() == "mine" and (out / "cells.csv").is_file()


@pytest.mark.parametrize("folder, config", [
    ("best_k_term", "best_k_term"),                              # the same config hash
    ("lottery_mnist1d", "sims/cpu/lottery_mnist1d.toml"),        # hash changed since; same cells
    ("lottery_teacher", "lottery_teacher"),                      # journal holds an older grid too
])
def test_committed_results_resume_their_own_sweep(folder, config, tmp_path, monkeypatch):
    # Folders written before sweep.json: recognised from cells.csv; every cell is done,
    # so the run only rewrites cells.csv, and another seed is still refused.
    monkeypatch.chdir(ROOT)
    out = tmp_path / folder
    out.mkdir()
    for name in ("cells.csv", "journal.jsonl"):
        shutil.copy(ROOT / "results" / folder / name, out / name)
    committed = pd.read_csv(out / "cells.csv")
    cells = run_sweep(load_config(config), out=out, backend="numpy", show_progress=False)
    assert sorted(cells["cell_key"].unique()) == sorted(committed["cell_key"].unique())
    assert json.loads((out / OWNER_FILE).read_text())["name"] == load_config(config).name
    (out / OWNER_FILE).unlink()
    with pytest.raises(OutputFolderError, match="seed 2026, not 3"):
        run_sweep(load_config(config, seed=3), out=out, backend="numpy", show_progress=False)


def test_journal_only_folder_with_foreign_cells_is_refused(tmp_path):
    out = tmp_path / "out"
    _run(_toml(tmp_path), out)
    (out / "cells.csv").unlink()
    (out / OWNER_FILE).unlink()                 # an interrupted run of an older version
    with pytest.raises(OutputFolderError, match="2 of its cells are not cells of this sweep"):
        _run(_toml(tmp_path, seed=9), out)
    _run(_toml(tmp_path), out)                  # its own sweep resumes


def test_cli_out_at_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _toml(tmp_path)
    (tmp_path / "taken").write_text("mine")
    assert main(["run", "toy.toml", "--backend", "numpy", "--quiet", "--out", "taken"]) == 1
    err = capsys.readouterr().err
    assert err == "sparsesim: out 'taken' is a file, not a folder\n"
    assert (tmp_path / "taken").read_text() == "mine"
