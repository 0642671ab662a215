"""IMP runs resume round by round: the round journal, kill points, torn sidecars, Dask.

Every test compares a run interrupted at a deterministic point (an exception
or ``kill -9`` right after round ``r`` is journaled) and then resumed with an
uninterrupted run of the same cells: the rows must be equal exactly (same
backend, NumPy), and the resumed run must train only the rounds that were
not journaled.  No statistics here: every assertion is an exact property.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import sparsesim.nn.lottery as L
from sparsesim._rounds import RoundLog, RoundRecord, RoundState
from sparsesim.nn.lottery import CONDITIONS, LotteryProtocol, PruningSchedule, TrainData, run_imp
from sparsesim.sim import rewinding as rw
from sparsesim.sim.rewinding import engine as rw_engine
from sparsesim.sweep import Journal, load_config, run_sweep
from sparsesim.sweep.journal import RoundJournal, round_key
from sparsesim.sweep.progress import Progress
from sparsesim.sweep.provenance import cell_identity, cell_key
from sparsesim.sweep.runner import make_tasks

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT / "results"


class Stop(Exception):
    """The injected failure: raised right after round ``r`` was journaled."""


def stop_after(r, keep=None):
    """A round sink that keeps each record and raises once round ``r`` is kept."""
    def sink(record):
        if keep is not None:
            keep.append(record)
        if record.index == r:
            raise Stop(r)
    return sink


def count_calls(monkeypatch, module, name="train"):
    """Count the calls of ``module.<name>`` (one per trained round)."""
    calls = []
    real = getattr(module, name)

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)
    monkeypatch.setattr(module, name, counted)
    return calls


# --------------------------------------------------------------------------- nn.lottery.run_imp

def _data(seed=0, n=160):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = (np.argmax(X[:, :3] + 0.3 * X[:, 3:6], axis=1)).astype(np.int64)
    return TrainData(X[:100], y[:100], X[100:130], y[100:130], X[130:], y[130:])


def _protocol(**kw):
    base = dict(sizes=(6, 10, 3), residual=False, dtype=np.float64, lr=1e-2, steps=8,
                batch_size=20, eval_every=4, rewind_step=2, synflow_iterations=2,
                schedule=PruningSchedule.fixed_fraction(0.4, 3, output_rate=0.5,
                                                        prune_biases=True))
    base.update(kw)
    return LotteryProtocol(**base)


def _through_disk(tmp_path, records, cells=("c",)):
    """The records written as sidecars and read back (bit-packed masks, JSON rows)."""
    rj = RoundJournal(tmp_path / "rounds")
    for rec in records:
        rj.write("t", list(cells), rec)
    return rj.load("t", list(cells))


@pytest.mark.parametrize("stop", [0, 1, 2, 3])
def test_run_imp_resumed_after_round_r_equals_the_uninterrupted_run(tmp_path, monkeypatch, stop):
    """Every condition, biases pruned, the state through the sidecar files.

    Falsified if a resumed run's rows differ in any column from the
    uninterrupted run's, or if it retrains a journaled round (the dense round
    trains once, each pruning round once: ``3 - stop`` trainings are left).
    """
    kw = dict(conditions=list(CONDITIONS), seeds=[3, 4], backend="numpy")
    ref = run_imp(_data(), _protocol(), **kw)
    kept = []
    with pytest.raises(Stop):
        run_imp(_data(), _protocol(), rounds=RoundLog(backend="numpy",
                                                      sink=stop_after(stop, kept)), **kw)
    assert [r.index for r in kept] == list(range(stop + 1))
    state = _through_disk(tmp_path, kept)
    assert state.done == stop + 1
    calls = count_calls(monkeypatch, L)
    got = run_imp(_data(), _protocol(), rounds=RoundLog(state, backend="numpy"), **kw)
    assert len(calls) == 3 - stop
    assert got == ref


def test_run_imp_round_state_is_compact_and_complete(tmp_path):
    """Round 0 keeps masks, dense and w_tau weights; later rounds only the next masks."""
    kept = []
    run_imp(_data(), _protocol(), conditions=list(CONDITIONS), seeds=[3],
            backend="numpy", rounds=RoundLog(backend="numpy", sink=kept.append))
    assert [r.index for r in kept] == [0, 1, 2, 3] and kept[0].meta["total"] == 4
    names0 = set(kept[0].arrays)
    assert {"mask_W0", "mask_b0", "dense_W0", "dense_b1", "tau_W1", "tau_b0"} <= names0
    assert set(kept[1].arrays) == {"mask_W0", "mask_W1", "mask_b0", "mask_b1"}
    assert kept[3].arrays == {}                         # nothing after the last round
    assert all(a.dtype == bool for k, a in kept[1].arrays.items())
    # two chains (lottery, rewind) x one seed: masks of 2 models
    assert kept[1].arrays["mask_W0"].shape == (2, 6, 10)
    # on disk the masks are bit-packed: 8 entries per byte
    rj = RoundJournal(tmp_path)
    rj.write("t", ["c"], kept[1])
    with np.load(rj.path("t", 1)) as z:
        assert z["mask_W0"].dtype == np.uint8 and z["mask_W0"].size == (2 * 6 * 10 + 7) // 8


def test_run_imp_without_a_log_is_unchanged_and_a_finished_log_trains_nothing(monkeypatch):
    kw = dict(conditions=["dense", "lottery", "oneshot"], seeds=[1], backend="numpy")
    log = RoundLog(backend="numpy")
    ref = run_imp(_data(), _protocol(), rounds=log, **kw)
    assert ref == run_imp(_data(), _protocol(), **kw)
    calls = count_calls(monkeypatch, L)
    assert run_imp(_data(), _protocol(), rounds=RoundLog(log.state), **kw) == ref
    assert calls == []


@pytest.mark.parametrize("conditions", [["dense"], ["oneshot"], ["dense", "rewind"]])
def test_run_imp_resumes_runs_without_the_lottery_chain(conditions):
    kw = dict(conditions=conditions, seeds=[2, 5], backend="numpy")
    ref = run_imp(_data(), _protocol(), **kw)
    kept = []
    with pytest.raises(Stop):
        run_imp(_data(), _protocol(), rounds=RoundLog(backend="numpy",
                                                      sink=stop_after(0, kept)), **kw)
    state = RoundState("numpy")
    for rec in kept:
        state = state.extend(rec)
    assert run_imp(_data(), _protocol(), rounds=RoundLog(state), **kw) == ref


def test_round_log_refuses_out_of_order_rounds_and_bad_arguments():
    log = RoundLog(backend="numpy")
    with pytest.raises(ValueError, match="index must be 0"):
        log.save(1)
    with pytest.raises(TypeError, match="state"):
        RoundLog({"rounds": 1})
    with pytest.raises(TypeError, match="sink"):
        RoundLog(sink=3)
    with pytest.raises(TypeError, match="rounds must be a RoundLog"):
        run_imp(_data(), _protocol(), conditions=["dense"], seeds=[0], rounds=object())
    with pytest.raises(KeyError, match="no array 'x'"):
        log.array("x")
    # a state of another backend is not continued: the run starts afresh
    s = RoundState("cupy").extend(RoundRecord(0, "cupy", {"rows": []}, {"m": np.ones(2, bool)}))
    assert RoundLog(s, backend="numpy").done == 0 and RoundLog(s, backend="cupy").done == 1


# CuPy only (xp_gpu): CuPy resumed vs CuPy uninterrupted (NumPy: test_run_imp_resumed_*).
@pytest.mark.gpu
def test_cupy_run_imp_resumed_equals_its_uninterrupted_run(xp_gpu):
    """On CuPy the state goes to the host (masks, float weights) and back unchanged.

    A resumed CuPy run is compared with an uninterrupted CuPy run (same
    backend, so exactly); a record of the CuPy run holds host arrays.
    """
    kw = dict(conditions=["dense", "lottery", "rewind", "oneshot", "random"], seeds=[3],
              backend="cupy")
    ref = run_imp(_data(), _protocol(), **kw)
    kept = []
    with pytest.raises(Stop):
        run_imp(_data(), _protocol(), rounds=RoundLog(backend="cupy",
                                                      sink=stop_after(1, kept)), **kw)
    assert all(isinstance(a, np.ndarray) for rec in kept for a in rec.arrays.values())
    state = RoundState("cupy")
    for rec in kept:
        state = state.extend(rec)
    assert run_imp(_data(), _protocol(), rounds=RoundLog(state), **kw) == ref


# --------------------------------------------------------------------------- rewinding

TINY_RW = dict(dataset="teacher", width=8, depth=2, residual=True, steps=24,
               batch_size=20, lr=1e-2, optimizer="adam", eval_every=8, prune_fraction=0.5,
               rounds=3, output_rate=0.5, n_hessian=40, lanczos_k=2, lanczos_tol=1e-8,
               lanczos_maxiter=500, lmc_points=5, slq_probes=2, slq_steps=10, slq_rtol=0.01,
               dtype="float64", teacher_width=6, teacher_density=0.3, teacher_noise=0.0,
               n_train=120)


@pytest.mark.parametrize("stop", [0, 1, 3])
def test_rewinding_study_resumed_after_round_r_equals_the_uninterrupted_run(tmp_path,
                                                                            monkeypatch, stop):
    """Rounds 0 (dense), 1 .. 2 (copy A), 3 (copies A and B); geometry after the last.

    Falsified if any row differs, or if a journaled round is trained again.
    """
    seeds, taus = [0, 0, 1], [0, 4, 4]
    ref = rw.rewinding_study(TINY_RW, seeds, taus, sweep_seed=3)
    kept = []
    with pytest.raises(Stop):
        rw.rewinding_study(TINY_RW, seeds, taus, sweep_seed=3,
                           rounds=RoundLog(backend="numpy", sink=stop_after(stop, kept)))
    state = _through_disk(tmp_path, kept)
    calls = count_calls(monkeypatch, rw_engine)
    got = rw.rewinding_study(TINY_RW, seeds, taus, sweep_seed=3,
                             rounds=RoundLog(state, backend="numpy"))
    assert len(calls) == 3 - stop
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(ref), check_exact=True)


# --------------------------------------------------------------------------- the sweep

LOTTERY_TOML = """
[sim]
name = "lottery_tiny"
module = "sparsesim.sim.lottery"
seed = 7
[params]
dataset = "teacher"
n_in = 10
n_out = 3
hidden = ""
teacher_hidden = ""
teacher_density = 0.3
n_train = 120
n_validation = 30
n_test = 40
residual = false
steps = 12
eval_every = 4
batch_size = 20
lr = 0.05
dtype = "float64"
schedule = "fraction"
prune_fraction = 0.4
rounds = 4
prune_biases = false
rewind_step = 2
synflow_iterations = 2
[grid]
condition = ["dense", "lottery", "rewind", "random", "oneshot"]
seed = [0, 1]
{extra}
"""

SCIENCE = ["condition", "seed", "round", "density", "layer_densities", "test_accuracy",
           "test_accuracy_early_stop", "early_stop_iter", "train_loss", "val_loss",
           "support_recall", "support_precision", "cell_key"]


def _lottery_config(tmp_path, extra=""):
    path = tmp_path / "lottery_tiny.toml"
    path.write_text(LOTTERY_TOML.format(extra=extra))
    return path


class Interrupt:
    """Wraps ``RoundJournal.write``: ``KeyboardInterrupt`` once round ``r`` is written the
    ``nth`` time (of any task)."""

    def __init__(self, monkeypatch, r, nth=1):
        self.r, self.seen, self.nth, self.written = r, 0, nth, []
        real = RoundJournal.write

        def write(journal, key, cells, record):
            real(journal, key, cells, record)
            self.written.append((key, record.index))
            if record.index == self.r:
                self.seen += 1
                if self.seen == self.nth:
                    raise KeyboardInterrupt
        monkeypatch.setattr(RoundJournal, "write", write)


@pytest.fixture(scope="module")
def lottery_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    cfg = load_config(_lottery_config(tmp))
    frame = run_sweep(cfg, out=tmp / "ref", backend="numpy", show_progress=False)
    return frame.sort_values(["cell_key", "round"]).reset_index(drop=True)


def _science(frame):
    return frame.sort_values(["cell_key", "round"]).reset_index(drop=True)[SCIENCE]


def test_sweep_interrupted_after_a_round_resumes_there(tmp_path, monkeypatch, lottery_reference):
    """Ctrl-C right after round 2 is journaled: no cell is done, rounds 0-2 are on disk.

    The rerun trains rounds 3 and 4 only, gives the uninterrupted rows, and
    deletes the round folder once the cells are journaled.  Falsified by a
    lost, repeated or changed round.
    """
    cfg = load_config(_lottery_config(tmp_path))
    out = tmp_path / "o"
    hook = Interrupt(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    assert Journal(out / "journal.jsonl").load() == {}
    (task,) = make_tasks(cfg, list(zip(_keys(cfg), cfg.cells)), "numpy")
    folder = out / "rounds" / task.round_key
    assert sorted(p.name for p in folder.iterdir()) == [f"round_{r}.npz" for r in range(3)]
    before = RoundJournal(out / "rounds").load(task.round_key, task.keys).elapsed_s
    calls = count_calls(monkeypatch, L)
    frame = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    assert len(calls) == 2                                        # rounds 3 and 4
    assert [r for _, r in hook.written] == [0, 1, 2, 3, 4]        # each round written once
    pd.testing.assert_frame_equal(_science(frame), lottery_reference[SCIENCE],
                                  check_exact=True)
    assert not (out / "rounds" / task.round_key).exists()
    # a cell's elapsed time (the task's time over its cells) includes the journaled rounds
    per_cell = frame.groupby("cell_key")["elapsed_s"].first()
    assert before > 0 and per_cell.sum() >= before - 1e-5 * len(per_cell)


def _keys(cfg):
    neutral = dict(cfg.simulation.neutral_defaults) or None
    return [cell_key(cell_identity(c, neutral), cfg.seed) for c in cfg.cells]


@pytest.mark.parametrize("damage", ["truncated", "bit_flip", "garbage"])
def test_torn_sidecar_is_ignored_and_its_round_recomputed(tmp_path, monkeypatch,
                                                         lottery_reference, damage):
    """A round file that does not read back whole is a crash mid-write: that round is redone.

    A crash before the rename leaves a temporary file; one after it on a file
    system that lost unflushed data leaves a short or corrupted file.  Either
    way rounds 0-1 are kept, round 2 is trained again and the rows equal the
    uninterrupted run's.
    """
    cfg = load_config(_lottery_config(tmp_path))
    out = tmp_path / "o"
    Interrupt(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    (folder,) = (out / "rounds").iterdir()
    last = folder / "round_2.npz"
    data = last.read_bytes()
    if damage == "truncated":
        last.write_bytes(data[: len(data) // 2])
    elif damage == "bit_flip":
        flipped = bytearray(data)
        flipped[len(data) // 3] ^= 0x10
        last.write_bytes(bytes(flipped))
    else:
        last.write_bytes(b"\0" * len(data))
    (folder / "round_3.npz.tmp-999").write_bytes(data[:100])       # a torn temporary file
    assert RoundJournal(out / "rounds").load(folder.name, _keys(cfg)).done == 2
    calls = count_calls(monkeypatch, L)
    frame = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    assert len(calls) == 3                                        # rounds 2, 3 and 4
    pd.testing.assert_frame_equal(_science(frame), lottery_reference[SCIENCE],
                                  check_exact=True)


def test_round_journal_never_mixes_two_runs(tmp_path):
    """Files of another task or backend, or beyond a rewritten round, are not continued."""
    rj = RoundJournal(tmp_path)
    rec = [RoundRecord(i, "numpy", {"rows": [{"r": i, "x": float("nan")}], "total": 3},
                       {"m": np.arange(5) % (i + 2) == 0, "w": np.full(3, i, np.float32)})
           for i in range(3)]
    for r in rec:
        rj.write("k", ["a", "b"], r)
    state = rj.load("k", ["b", "a"])
    assert state.done == 3 and np.isnan(state.metas[0]["rows"][0]["x"])
    assert state.arrays["w"].dtype == np.float32 and state.arrays["w"].tolist() == [2, 2, 2]
    assert state.arrays["m"].tolist() == (np.arange(5) % 4 == 0).tolist()
    assert rj.load("k", ["a"]) is None                  # files of another task: not continued
    for r in rec:
        rj.write("k", ["a", "b"], r)
    rj.write("k", ["a", "b"], RoundRecord(0, "cupy", {"rows": []}, {}))
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["round_0.npz"]
    assert rj.load("k", ["a", "b"]).backend == "cupy"
    with pytest.raises(ValueError, match="key"):
        rj.task_dir("../x")
    assert round_key(["a", "b"]) == round_key(["b", "a"]) != round_key(["a"])


def test_stale_round_folders_are_removed_when_a_sweep_starts(tmp_path):
    cfg = load_config(_lottery_config(tmp_path))
    out = tmp_path / "o"
    stale = out / "rounds" / "0123456789abcdef0123"
    stale.mkdir(parents=True)
    (stale / "round_0.npz").write_bytes(b"x")
    run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    assert not stale.exists() and not (out / "rounds").exists()


@pytest.mark.slow
def test_kill_minus_9_after_a_round_then_resume(tmp_path, lottery_reference):
    """``kill -9`` the CLI right after round 1 of the first task is journaled, then rerun.

    The kill lands at a deterministic point (the process kills itself once the
    round file is renamed into place), so exactly rounds 0 and 1 survive.
    """
    cfg_path = _lottery_config(tmp_path)
    out = tmp_path / "killed"
    script = tmp_path / "kill_after_round.py"
    script.write_text(f"""
import os, signal, sys
from sparsesim.sweep.journal import RoundJournal
from sparsesim.cli import main
real = RoundJournal.write
def write(self, key, cells, record):
    real(self, key, cells, record)
    if record.index == 1:
        os.kill(os.getpid(), signal.SIGKILL)
RoundJournal.write = write
sys.exit(main(["run", {str(cfg_path)!r}, "--out", {str(out)!r}, "--backend", "numpy",
               "--quiet", "--no-report"]))
""")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    (folder,) = (out / "rounds").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["round_0.npz", "round_1.npz"]
    subprocess.run([sys.executable, "-m", "sparsesim.cli", "run", str(cfg_path), "--out",
                    str(out), "--backend", "numpy", "--quiet", "--no-report"], env=env,
                   check=True, capture_output=True, timeout=600)
    got = pd.read_csv(out / "cells.csv",
                      dtype={"layer_densities": str})
    pd.testing.assert_frame_equal(_science(got), lottery_reference[SCIENCE], check_exact=True)
    assert not (out / "rounds").exists()


def test_seed_batching_off_resumes_each_task_on_its_own(tmp_path, monkeypatch,
                                                       lottery_reference):
    """One IMP run per seed: interrupted in round 3 of the second task, the first task's
    cells are journaled (its round folder gone) and only round 4 of the second is left."""
    path = tmp_path / "split.toml"
    path.write_text(LOTTERY_TOML.format(extra="").replace(
        "synflow_iterations = 2", "synflow_iterations = 2\nseed_batching = false"))
    cfg = load_config(path)
    out = tmp_path / "split"
    Interrupt(monkeypatch, 3, nth=2)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    assert len(Journal(out / "journal.jsonl").load()) == len(cfg.cells) // 2
    (folder,) = (out / "rounds").iterdir()
    assert len(list(folder.iterdir())) == 4
    calls = count_calls(monkeypatch, L)
    frame = run_sweep(cfg, out=out, backend="numpy", show_progress=False)
    assert len(calls) == 1
    a = lottery_reference.sort_values(["condition", "seed", "round"]).reset_index(drop=True)
    b = frame.sort_values(["condition", "seed", "round"]).reset_index(drop=True)
    for col in ("test_accuracy", "val_loss", "density", "early_stop_iter", "layer_densities"):
        assert a[col].tolist() == b[col].tolist(), col


# --------------------------------------------------------------------------- Dask

@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c:
        yield c


@pytest.mark.slow
def test_dask_runs_a_task_per_round_journaled_by_the_client(tmp_path, monkeypatch, cluster,
                                                            lottery_reference):
    """Every round comes back to the client, is journaled there, then the next is sent.

    An interruption after round 2 of a Dask run resumes (on Dask) from the
    client's round files; the rows equal the local uninterrupted run's.
    """
    from sparsesim.sweep.dask_executor import DaskExecutor
    cfg = load_config(_lottery_config(tmp_path))
    out = tmp_path / "d"
    hook = Interrupt(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(cfg, out=out, backend="numpy", show_progress=False,
                  executor=DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy"))
    assert [r for _, r in hook.written] == [0, 1, 2]    # written here, in the client
    (folder,) = (out / "rounds").iterdir()
    assert len(list(folder.iterdir())) == 3
    frame = run_sweep(cfg, out=out, backend="numpy", show_progress=False,
                      executor=DaskExecutor(scheduler=cluster.scheduler_address,
                                            backend="numpy"))
    assert [r for _, r in hook.written] == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(_science(frame), lottery_reference[SCIENCE],
                                  check_exact=True)
    assert (frame.executor == "dask").all()
    assert not (out / "rounds").exists()


@pytest.mark.slow
def test_dask_runs_round_tasks_depth_first(tmp_path, monkeypatch, cluster):
    """Four one-seed tasks on two workers: at most two tasks are ever under way, so the
    first two finish before the last two start (a breadth-first schedule would start all
    four before any finished, and a cut-off run would have no finished cell)."""
    from sparsesim.sweep.dask_executor import DaskExecutor
    path = tmp_path / "four.toml"
    path.write_text(LOTTERY_TOML.format(extra="").replace("seed = [0, 1]", "seed = [0, 1, 2, 3]")
                    .replace("rounds = 4", "rounds = 4\nseed_batching = false"))
    cfg = load_config(path)
    hook = Interrupt(monkeypatch, 99)                      # records, never interrupts
    run_sweep(cfg, out=tmp_path / "o", backend="numpy", show_progress=False,
              executor=DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy"))
    order = [k for k, _ in hook.written]
    tasks = list(dict.fromkeys(order))
    assert len(tasks) == 4
    last_round = {k: max(i for i, x in enumerate(order) if x == k) for k in tasks}
    first_round = {k: order.index(k) for k in tasks}
    under_way = [sum(first_round[k] <= i <= last_round[k] for k in tasks)
                 for i in range(len(order))]
    assert max(under_way) <= 2, order
    assert min(last_round[k] for k in tasks[:2]) < first_round[tasks[3]]


# --------------------------------------------------------------------------- progress

def test_progress_eta_comes_from_measured_round_times():
    """2 tasks x 5 rounds; 2 rounds computed in 10 s: 7 rounds left -> eta 35 s.

    Restored rounds count as done but not in the rate.  Falsified by a
    cell-count ETA (no cell is done yet, so there would be none).
    """
    import io
    now = [100.0]
    out = io.StringIO()
    bar = Progress(4, label="t", stream=out, interval=0.0, clock=lambda: now[0])
    bar.round_done(0, 2, 0, 5, restored=True)            # round 0 of task 1 from the journal
    now[0] += 10.0
    bar.round_done(0, 2, 1, 5, seconds=5.0)
    bar.round_done(0, 2, 2, 5, seconds=5.0)
    assert bar.rounds_left() == 7                         # 2 of task 1, 5 of task 2
    line = out.getvalue().splitlines()[-1]
    assert "round 2/4 of task 1/2" in line and "eta 0:35" in line
    bar.task_done(0)
    assert bar.rounds_left() == 5


# --------------------------------------------------------------------------- committed journals

def _committed_lottery_journals(finished=True):
    """Journals of finished runs (beside their cells.csv) or of runs still in progress."""
    pattern = "lottery_mnist1d*/**/journal.jsonl" if finished else "lottery_*/**/journal.jsonl"
    return sorted(p for p in RESULTS.glob(pattern)
                  if (p.parent / "cells.csv").is_file() == finished)


@pytest.mark.parametrize("journal", _committed_lottery_journals(finished=False) or [
    pytest.param(None, id="none", marks=pytest.mark.skip(
        reason="no lottery run is committed part-way (every committed journal has its cells.csv)"))],
    ids=lambda p: p.parent.relative_to(RESULTS).as_posix())
def test_journals_of_runs_in_progress_hold_only_cells_of_their_config(journal):
    """A run committed part-way (it resumes across sessions): every journaled cell is a
    cell of its config, sims/cpu/<folder>.toml, with its key recomputed from its params."""
    config_file = ROOT / "sims" / "cpu" / f"{journal.parent.name}.toml"
    assert config_file.is_file(), f"{config_file} (the run's config) is gone"
    cfg = load_config(config_file)
    done = Journal(journal).load()
    from sparsesim.sim import lottery as SL
    for key, rec in done.items():
        assert cell_key(cell_identity(rec["params"], dict(SL.NEUTRAL_DEFAULTS)), cfg.seed) == key
    assert set(done) <= set(_keys(cfg))


@pytest.mark.parametrize("journal", _committed_lottery_journals(),
                         ids=lambda p: p.parent.relative_to(RESULTS).as_posix())
def test_committed_lottery_journals_load_and_every_cell_is_finished(journal, tmp_path):
    """The committed journals (written before rounds were journaled) read back as finished.

    Their cell keys are recomputed from their parameters (identity and keys
    unchanged) and the config they were run from finds nothing left to run.
    """
    done = Journal(journal).load()
    assert done
    with open(journal.parent / "cells.csv") as f:
        first = next(csv.DictReader(f))
    seed = int(first["sweep_seed"])
    from sparsesim.sim import lottery as SL
    for key, rec in done.items():
        assert cell_key(cell_identity(rec["params"], dict(SL.NEUTRAL_DEFAULTS)), seed) == key
        assert rec["rows"] and all("round" in r for r in rec["rows"])
    config_file = ROOT / first["config_file"]
    assert config_file.is_file(), f"{first['config_file']} (the sweep's config) is gone"
    cfg = load_config(config_file)
    keys = _keys(cfg)
    assert set(keys) <= set(done), "the committed journal no longer covers its config"
    out = tmp_path / "o"
    out.mkdir()
    (out / "journal.jsonl").write_bytes(journal.read_bytes())
    frame = run_sweep(cfg, out=out, backend="numpy", show_progress=False)   # nothing to run
    assert len(frame) == sum(len(done[k]["rows"]) for k in keys)
    assert not (out / "rounds").exists()
