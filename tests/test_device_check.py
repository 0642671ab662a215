"""The prepared GPU-check script's plumbing (order, budget, limits, summary) — no GPU needed.

Its steps are run by a stand-in interpreter (``$PYTHON``) so that these tests
time nothing and need no device; what they check is the script's own
bookkeeping, which decides what a scarce GPU session gets back.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_check.sh"
STEPS = ["env", "gpu_tests", "bench_support", "bench_training", "sweep_lottery", "bench_hvp",
         "bench_saliency", "bench_projection", "sweep_rewinding", "sweep_support"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")


def _run(args, tmp_path, **env):
    full = dict(os.environ, WORK_DIR=str(tmp_path / "work"), **env)
    full.pop("OUT", None)
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=tmp_path, env=full,
                          capture_output=True, text=True, timeout=120)


def _fake_python(tmp_path, body):
    exe = tmp_path / "fake_python"
    exe.write_text(f"#!/usr/bin/env bash\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_dry_run_lists_every_step_in_order(tmp_path):
    done = _run(["--dry-run", str(tmp_path / "out")], tmp_path)
    assert done.returncode == 0, done.stderr
    names = [line.split(" ", 1)[0] for line in done.stdout.splitlines()
             if " (limit " in line]
    assert names == STEPS
    assert "--backend cupy" in done.stdout and "pytest -m gpu" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["--budget", "ten"], "--budget must be a whole number"),
    (["--frobnicate"], "unknown option --frobnicate"),
])
def test_bad_options_exit_2_naming_the_option(tmp_path, args, message):
    done = _run(args, tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_exit_codes_are_recorded_and_failures_do_not_stop_the_run(tmp_path):
    out = tmp_path / "out"
    py = _fake_python(tmp_path, 'echo "ran $*"; exit 3')
    done = _run(["--only", "env,bench_support,sweep_support", str(out)], tmp_path, PYTHON=py)
    assert done.returncode == 0, done.stderr
    rows = [r for r in (out / "summary.md").read_text().splitlines() if r.startswith("| ")]
    assert [r.split(" | ")[0][2:] for r in rows[1:]] == ["env", "bench_support", "sweep_support"]
    assert all(r.split(" | ")[1] == "3" for r in rows[1:])
    log = (out / "device_check.log").read_text()
    assert "ran benchmarks/bench_support_recovery.py" in log
    assert "ran -m sparsesim run support_recovery --backend cupy" in log


def test_a_step_past_its_limit_is_stopped_and_later_steps_are_skipped(tmp_path):
    out = tmp_path / "out"
    py = _fake_python(tmp_path, "sleep 30")
    done = _run(["--budget", "2", "--only", "env,gpu_tests", str(out)], tmp_path,
                PYTHON=py, MIN_STEP_SECONDS="1")
    assert done.returncode == 0, done.stderr
    summary = (out / "summary.md").read_text()
    assert "| env | 124 (time limit) |" in summary
    assert "| gpu_tests | skipped |" in summary
