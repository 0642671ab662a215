"""A light toy simulation for the failure tests: coin flips, optional sleeps and failures.

Imports only NumPy and the backend layer, so that a CLI run starts quickly (the
kill-and-resume tests start it many times).

Parameters beyond the coin flips:

- ``sleep`` (seconds) makes a cell take time, so that a kill lands mid-sweep
  (the cell first sends the status line ``flipping p=<p>``);
- ``die = true`` makes the cell SIGKILL its own Dask worker process the first
  time it runs there (marker files in ``$SPARSESIM_TOY_MARKER_DIR``); run
  outside a Dask worker it never dies;
- ``fail = true`` makes the cell raise ``RuntimeError`` every time.

With ``$SPARSESIM_TOY_GATE_DIR`` set, every cell first creates the file
``started-<p>`` there and then waits until a file ``go-<p>`` exists: a test
releases cells one by one and so knows, without any timing, which cells a
killed run has finished (a cell waits at most ``GATE_TIMEOUT_S``, then fails).

Every attempt of every cell appends one line ``<p>`` to
``$SPARSESIM_TOY_MARKER_DIR/attempts.log`` (when that variable is set), so a
test can count how often a cell was executed.
"""

import os
import signal
import time

from sparsesim.backend import make_rng, to_numpy

PARAMS = {"p": float, "trials": int, "sleep": float, "die": bool, "fail": bool}
DEFAULTS = {"sleep": 0.0, "die": False, "fail": False}
MARKER_ENV = "SPARSESIM_TOY_MARKER_DIR"
GATE_ENV = "SPARSESIM_TOY_GATE_DIR"
GATE_TIMEOUT_S = 300.0


def valid_cell(params):
    return 0.0 <= params["p"] <= 1.0


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker
        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _record_attempt(marker_dir: str, params: dict) -> None:
    fd = os.open(os.path.join(marker_dir, "attempts.log"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{params['p']!r}\n".encode())
    finally:
        os.close(fd)


def _die_once(marker_dir: str, params: dict) -> None:
    marker = os.path.join(marker_dir, f"died-{params['p']!r}")
    try:  # O_EXCL: only the first attempt of this cell creates the marker and dies
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _wait_at_gate(gate_dir: str, params: dict) -> None:
    tag = f"{params['p']!r}"
    os.close(os.open(os.path.join(gate_dir, f"started-{tag}"), os.O_WRONLY | os.O_CREAT, 0o644))
    go = os.path.join(gate_dir, f"go-{tag}")
    deadline = time.monotonic() + GATE_TIMEOUT_S
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise RuntimeError(f"toy cell p={params['p']}: nobody opened the gate {go}")
        time.sleep(0.001)


def run_cell(params, ctx):
    gate_dir = os.environ.get(GATE_ENV)
    if gate_dir:
        _wait_at_gate(gate_dir, params)
    marker_dir = os.environ.get(MARKER_ENV)
    if marker_dir:
        _record_attempt(marker_dir, params)
        if params["die"] and _in_dask_worker():
            _die_once(marker_dir, params)
    if params["fail"]:
        raise RuntimeError(f"toy cell p={params['p']} fails on purpose")
    if params["sleep"]:
        ctx.progress(f"flipping p={params['p']}")
        time.sleep(params["sleep"])
    rng = make_rng(ctx.seed, ctx.backend)
    heads = int(to_numpy((rng.uniform(params["trials"]) < params["p"]).sum()))
    return {"heads": heads, "mean": heads / params["trials"]}
