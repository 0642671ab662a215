"""The Dask executor: same cells as the local executor, retries, worker deaths, provenance."""

import importlib
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from sparsesim.backend import device_name  # noqa: E402
from sparsesim.cli import main  # noqa: E402
from sparsesim.sweep import Journal, load_config, run_sweep  # noqa: E402
from sparsesim.sweep.provenance import git_commit  # noqa: E402
from sparsesim.sweep.runner import make_tasks  # noqa: E402
from sparsesim.sweep.dask_executor import DaskExecutor, local_cluster  # noqa: E402

HERE = Path(__file__).resolve().parent
TOY = HERE / "toysims" / "toy.toml"
MARKER_ENV = "SPARSESIM_TOY_MARKER_DIR"

SCIENCE = ["p", "trials", "heads", "cell_key"]

SLOW_TOY = """
[sim]
name = "toy_slow"
module = "toysim_slow"
seed = 11
[params]
trials = 500
sleep = {sleep}
[grid]
p = {ps}
{extra}
"""


def _slow_config(tmp_path, ps, *, sleep=0.0, extra="", name="c.toml"):
    path = tmp_path / name
    path.write_text(SLOW_TOY.format(ps=list(ps), sleep=sleep, extra=extra))
    return load_config(path)


def _attempts(marker_dir):
    log = Path(marker_dir) / "attempts.log"
    lines = log.read_text().split() if log.exists() else []
    return pd.Series([float(x) for x in lines], dtype=float).value_counts().to_dict()


@pytest.fixture(scope="module")
def marker_dir(tmp_path_factory):
    """Attempt log shared with the workers of ``cluster`` (set before they are spawned)."""
    d = tmp_path_factory.mktemp("markers")
    old = os.environ.get(MARKER_ENV)
    os.environ[MARKER_ENV] = str(d)
    yield d
    if old is None:
        os.environ.pop(MARKER_ENV, None)
    else:
        os.environ[MARKER_ENV] = old


@pytest.fixture(scope="module")
def cluster(marker_dir):
    """Two single-threaded worker processes, shared by the tests of this module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c:
        yield c


def test_same_seed_same_cells_as_local_executor(tmp_path, cluster):
    """Falsified if any cell's numbers depend on where (or in which order) it ran."""
    cfg = load_config(TOY)
    local = run_sweep(cfg, out=tmp_path / "local", backend="numpy", show_progress=False)
    ex = DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy")
    dask = run_sweep(cfg, out=tmp_path / "dask", backend="numpy", executor=ex,
                     show_progress=False)
    assert ex.client is None  # closed by run_sweep
    pd.testing.assert_frame_equal(local[SCIENCE], dask[SCIENCE])
    assert list(local.columns) == list(dask.columns)
    # Provenance: every row says it ran on Dask, on the worker's device.
    assert (dask.executor == "dask").all() and (local.executor == "local").all()
    assert (dask.device == device_name("numpy")).all() and (dask.backend == "numpy").all()
    for col in ("sweep_seed", "version", "config_hash"):
        assert dask[col].tolist() == local[col].tolist(), col
    # Each process records the tree as it first saw it: the local rows this
    # process's commit, the Dask rows their worker's (the same tree on a quiet
    # checkout; asked of the workers so that a commit landing mid-suite cannot
    # make the comparison flaky).
    assert (local.git_commit == git_commit()).all()
    with distributed.Client(cluster.scheduler_address) as client:
        seen = set(client.run(git_commit).values())
    assert set(dask.git_commit) <= seen and "unknown" not in seen
    # The journal itself records the executor (so a later resume keeps it).
    journal = Journal(tmp_path / "dask" / "journal.jsonl").load()
    assert {row["executor"] for rec in journal.values() for row in rec["rows"]} == {"dask"}


def test_many_cells_stream_back_in_any_order(tmp_path, cluster):
    """40 cells over 2 workers: each cell exactly once in the journal, numbers equal local's."""
    cfg = _slow_config(tmp_path, [i / 40 for i in range(40)])
    ex = DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy")
    got = run_sweep(cfg, out=tmp_path / "d", backend="numpy", executor=ex, show_progress=False)
    ref = run_sweep(cfg, out=tmp_path / "l", backend="numpy", show_progress=False)
    cols = ["p", "heads", "mean", "cell_key"]
    pd.testing.assert_frame_equal(ref[cols], got[cols])
    lines = (tmp_path / "d" / "journal.jsonl").read_text().splitlines()
    assert len(lines) == 40  # nothing journaled twice


def test_failing_cell_is_retried_then_reported_and_others_are_kept(tmp_path, cluster,
                                                                   marker_dir):
    """A cell that always raises runs 1 + retries times; the other cells still reach the journal.

    Falsified if Dask's retries are not used (1 attempt), if they are used more
    often than asked, or if one bad cell throws the finished ones away.
    """
    extra = "[[include]]\np = 0.777\nfail = true\n"
    cfg = _slow_config(tmp_path, [0.11, 0.12, 0.13], extra=extra)
    ex = DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy", retries=1)
    with pytest.raises(RuntimeError, match="fails on purpose") as info:
        run_sweep(cfg, out=tmp_path / "o", backend="numpy", executor=ex, show_progress=False)
    assert any("1 of 4 dask tasks failed" in n for n in getattr(info.value, "__notes__", []))
    attempts = _attempts(marker_dir)
    assert attempts[0.777] == 2
    assert all(attempts[p] == 1 for p in (0.11, 0.12, 0.13))
    done = Journal(tmp_path / "o" / "journal.jsonl").load()
    assert sorted(r["params"]["p"] for r in done.values()) == [0.11, 0.12, 0.13]


def test_worker_killed_mid_task_cell_is_rerun_and_nothing_lost(tmp_path, monkeypatch):
    """SIGKILL a worker process while it runs a cell (2-worker LocalCluster started by the executor).

    The dying cell kills its own worker the first time it runs (a marker file
    makes it survive the second time).  Falsified if the cell is lost, counted
    twice, run more than twice, or if any cell's numbers differ from a local run.
    """
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv(MARKER_ENV, str(markers))  # before the workers are spawned
    extra = "[[include]]\np = 0.555\ndie = true\n"
    cfg = _slow_config(tmp_path, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], sleep=0.05, extra=extra)
    ex = DaskExecutor(backend="numpy", n_workers=2)
    got = run_sweep(cfg, out=tmp_path / "d", backend="numpy", executor=ex, show_progress=False)
    assert (markers / "died-0.555").exists()  # the worker really died mid-cell
    attempts = _attempts(markers)
    assert attempts[0.555] == 2
    lines = (tmp_path / "d" / "journal.jsonl").read_text().splitlines()
    assert len(lines) == len(cfg.cells) == 7
    monkeypatch.delenv(MARKER_ENV)
    ref = run_sweep(cfg, out=tmp_path / "l", backend="numpy", show_progress=False)
    cols = ["p", "heads", "mean", "cell_key"]
    pd.testing.assert_frame_equal(ref[cols], got[cols])
    assert (got.executor == "dask").all()


def test_status_lines_from_inside_tasks_reach_the_client(tmp_path, cluster):
    """A cell's ``ctx.progress`` text on a worker arrives at the client's progress callable."""
    cfg = _slow_config(tmp_path, [0.25, 0.75], sleep=2.0)
    seen: list[str] = []
    ex = DaskExecutor(scheduler=cluster.scheduler_address, backend="numpy")
    try:
        tasks = make_tasks(cfg, [("a", cfg.cells[0]), ("b", cfg.cells[1])], "numpy")
        results = list(ex.run(tasks, seen.append))
    finally:
        ex.close()
    assert sorted(key for res in results for key, _, _ in res) == ["a", "b"]
    assert seen[0].startswith("dask: 2 tasks on 2 workers")
    assert sorted(s for s in seen if s.startswith("task")) == [
        "task 1/2: flipping p=0.25", "task 2/2: flipping p=0.75"]


def test_cli_executor_dask_starts_a_local_cluster(tmp_path, capsys):
    """`sparsesim run <toml> --executor dask` (no address): LocalCluster, rows say 'dask'."""
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(SLOW_TOY.format(ps=[0.25, 0.75], sleep=0.0, extra=""))
    out = tmp_path / "o"
    assert main(["run", str(cfg_path), "--out", str(out), "--backend", "numpy",
                 "--executor", "dask", "--no-report", "--quiet"]) == 0
    cells = pd.read_csv(out / "cells.csv")
    assert list(cells.p) == [0.25, 0.75] and set(cells.executor) == {"dask"}


def test_cli_executor_dask_with_scheduler_address(tmp_path, cluster):
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(SLOW_TOY.format(ps=[0.5], sleep=0.0, extra=""))
    out = tmp_path / "o"
    assert main(["run", str(cfg_path), "--out", str(out), "--executor", "dask",
                 "--scheduler", cluster.scheduler_address, "--no-report", "--quiet"]) == 0
    cells = pd.read_csv(out / "cells.csv")
    # backend 'auto' is resolved by the worker (no GPU here: numpy).
    assert list(cells.executor) == ["dask"] and list(cells.backend) == ["numpy"]


def _worker_env(ex, *names):
    return list(ex._connect().run(lambda: tuple(os.environ.get(n) for n in names)).values())


@pytest.mark.parametrize("exported", [None, "131072"])
def test_local_cluster_workers_keep_glibc_malloc_defaults(monkeypatch, exported):
    """Falsified if Dask's MALLOC_TRIM_THRESHOLD_=65536 reaches the executor's own workers.

    That setting switches off glibc's dynamic mmap threshold and made NumPy
    MLP training 3-4x slower on a worker; Dask's single-threaded BLAS default
    must still apply, and a value the user exported must still be inherited.
    """
    if exported is None:
        monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    else:
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", exported)
    with DaskExecutor(backend="numpy", n_workers=1) as ex:
        env = _worker_env(ex, "MALLOC_TRIM_THRESHOLD_", "OPENBLAS_NUM_THREADS")
    assert env == [(exported, "1")]
    import dask  # noqa: PLC0415
    assert dask.config.get("distributed.nanny.pre-spawn-environ")["MALLOC_TRIM_THRESHOLD_"] == 65536


def test_no_pending_cells_starts_no_cluster(tmp_path, cluster):
    cfg = _slow_config(tmp_path, [0.5])
    run_sweep(cfg, out=tmp_path / "o", backend="numpy", show_progress=False)
    ex = DaskExecutor(backend="numpy", n_workers=1)
    frame = run_sweep(cfg, out=tmp_path / "o", backend="numpy", executor=ex,
                      show_progress=False)
    assert ex.cluster is None and ex.client is None and len(frame) == 1


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"scheduler": 8786}, TypeError, "scheduler"),
    ({"scheduler": "  "}, ValueError, "scheduler"),
    ({"backend": "tpu"}, ValueError, "backend"),
    ({"retries": -1}, ValueError, "retries"),
    ({"retries": 1.5}, TypeError, "retries"),
    ({"n_workers": 0}, ValueError, "n_workers"),
])
def test_bad_arguments_name_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        DaskExecutor(**kwargs)


@pytest.mark.parametrize("kwargs, exc, name", [
    ({"backend": "auto"}, ValueError, "backend"),
    ({"backend": 3}, TypeError, "backend"),
    ({"n_workers": 0}, ValueError, "n_workers"),
    ({"n_workers": 2.0}, TypeError, "n_workers"),
])
def test_local_cluster_bad_arguments_name_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        local_cluster(**kwargs)


def test_unreachable_scheduler_names_the_address(tmp_path):
    import dask

    cfg = _slow_config(tmp_path, [0.5])
    ex = DaskExecutor(scheduler="tcp://127.0.0.1:9", backend="numpy")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(RuntimeError, match=r"tcp://127\.0\.0\.1:9"):
            run_sweep(cfg, out=tmp_path / "o", backend="numpy", executor=ex,
                      show_progress=False)


def test_missing_dask_says_how_to_install(monkeypatch, tmp_path, capsys):
    """Without dask.distributed the import error (and the CLI) tell the user what to install."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    monkeypatch.delitem(sys.modules, "sparsesim.sweep.dask_executor")
    with pytest.raises(ImportError, match=r"pip install 'sparsesim\[dask\]'"):
        importlib.import_module("sparsesim.sweep.dask_executor")
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(SLOW_TOY.format(ps=[0.5], sleep=0.0, extra=""))
    with pytest.raises(SystemExit, match=r"sparsesim\[dask\]"):
        main(["run", str(cfg_path), "--out", str(tmp_path / "o"), "--executor", "dask"])


@pytest.mark.gpu
@pytest.mark.needs_cuda  # worker processes import the real CuPy
def test_gpu_cluster_records_the_worker_gpu(tmp_path):
    """On a GPU machine: cells run on a GPU worker (LocalCUDACluster with dask-cuda) and
    the rows name the GPU, with the same numbers as the local executor on CuPy."""
    cfg = load_config(TOY)
    ex = DaskExecutor(backend="cupy")
    got = run_sweep(cfg, out=tmp_path / "d", backend="cupy", executor=ex, show_progress=False)
    ref = run_sweep(cfg, out=tmp_path / "l", backend="cupy", show_progress=False)
    pd.testing.assert_frame_equal(ref[SCIENCE], got[SCIENCE])
    assert (got.backend == "cupy").all() and (got.device == device_name("cupy")).all()
