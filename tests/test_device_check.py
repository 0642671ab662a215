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
# gpu tests -> fused kernel -> trainer -> HVP / saliency / projection / NIHT -> sweeps
STEPS = ["env", "gpu_tests", "bench_support", "bench_training", "bench_hvp", "bench_saliency",
         "bench_projection", "bench_phase", "sweep_lottery", "sweep_rewinding", "sweep_support"]

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


# A stand-in interpreter whose env gate passes (``-c`` code exits 0) and whose
# other steps exit with the given status.
_GATE_OK = 'if [ "$1" = -c ]; then echo "gate ok"; exit 0; fi\n'


def test_exit_codes_are_recorded_and_a_failure_makes_the_script_fail(tmp_path):
    out = tmp_path / "out"
    py = _fake_python(tmp_path, _GATE_OK + 'echo "ran $*"; exit 3')
    done = _run(["--only", "bench_support,sweep_support", str(out)], tmp_path, PYTHON=py)
    assert done.returncode == 1, done.stderr           # not lost to the log's tee
    assert "FAILED steps: bench_support sweep_support" in done.stderr
    rows = [r for r in (out / "summary.md").read_text().splitlines() if r.startswith("| ")]
    assert [r.split(" | ")[0][2:] for r in rows[1:]] == ["env", "bench_support", "sweep_support"]
    assert [r.split(" | ")[1] for r in rows[1:]] == ["0", "3", "3"]
    log = (out / "device_check.log").read_text()
    assert "ran benchmarks/bench_support_recovery.py" in log   # the failure did not stop it
    assert "ran -m sparsesim run support_recovery --backend cupy" in log


def test_all_steps_passing_exit_0(tmp_path):
    py = _fake_python(tmp_path, _GATE_OK + 'echo "ran $*"; exit 0')
    done = _run(["--only", "bench_support,bench_hvp", str(tmp_path / "out")], tmp_path,
                PYTHON=py)
    assert done.returncode == 0, done.stderr


def test_a_failed_env_gate_stops_at_once(tmp_path):
    out = tmp_path / "out"
    py = _fake_python(tmp_path, 'echo "cupy: broken driver" >&2; exit 3')
    done = _run([str(out)], tmp_path, PYTHON=py)
    assert done.returncode == 3
    assert "env gate failed" in done.stderr
    summary = (out / "summary.md").read_text()
    assert "| env | 3 |" in summary and "gpu_tests" not in summary


def test_a_step_past_its_limit_is_stopped_and_later_steps_are_skipped(tmp_path):
    out = tmp_path / "out"
    py = _fake_python(tmp_path, _GATE_OK + "sleep 30")
    done = _run(["--budget", "3", "--only", "bench_support,bench_hvp", str(out)], tmp_path,
                PYTHON=py, MIN_STEP_SECONDS="1")
    assert done.returncode == 1, done.stderr
    summary = (out / "summary.md").read_text()
    assert "| bench_support | 124 (time limit) |" in summary
    assert "| bench_hvp | skipped |" in summary


def test_on_a_cpu_machine_the_quick_run_fails_naming_cupy(tmp_path):
    # The real interpreter of this test session, without a usable GPU: the
    # script must exit non-zero at the gate and say that CuPy is the problem
    # (a broken GPU must never look like success).
    from sparsesim.backend import cupy_available
    if cupy_available():
        pytest.skip("CuPy is usable here: the gate passes")
    import sys
    done = _run(["--quick", str(tmp_path / "out")], tmp_path, PYTHON=sys.executable,
                PYTHONPATH=str(ROOT))
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "CuPy is not usable" in said and "env gate failed" in done.stderr
    assert "gpu_tests" not in (tmp_path / "out" / "summary.md").read_text()


def test_skipped_gpu_tests_fail_the_check(tmp_path):
    # gpu_tests_none_skipped reads junit.xml: one skipped test case -> exit 1.
    out = tmp_path / "out"
    out.mkdir()
    body = 'case "$2" in *xml.etree*) exec python3 "$@";; esac\n' + _GATE_OK + (
        'for a in "$@"; do case "$a" in --junitxml=*) f=${a#--junitxml=};'
        ' echo \'<testsuite><testcase classname="t" name="a"><skipped/></testcase>'
        '</testsuite>\' > "$f";; esac; done\n'
        'if [ "$1" = -m ] && [ "$2" = pytest ]; then exit 0; fi\n'
        'exec python3 "$@"')
    py = _fake_python(tmp_path, body)
    done = _run(["--only", "gpu_tests", str(out)], tmp_path, PYTHON=py)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped on a GPU machine: t::a" in (out / "device_check.log").read_text()
    assert "| gpu_tests_none_skipped | 1 |" in (out / "summary.md").read_text()


def test_per_test_timeout_fails_a_hung_test(tmp_path):
    # SPARSESIM_TEST_TIMEOUT (set by the gpu_tests step) turns a test that runs
    # past its limit into a failure naming the limit, and the next test still runs.
    import sys
    (tmp_path / "test_hang.py").write_text(
        "import time\n\ndef test_hangs():\n    time.sleep(30)\n\ndef test_after():\n    pass\n")
    env = dict(os.environ, SPARSESIM_TEST_TIMEOUT="1", PYTHONPATH=str(ROOT / "tests"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "-c", os.devnull, str(tmp_path / "test_hang.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "per-test limit of 1 s" in done.stdout and "1 failed, 1 passed" in done.stdout
