#!/usr/bin/env bash
# Every GPU check of sparsesim in one prepared, time-boxed run that fails loudly.
#
# GPU time is scarce (about 15 minutes a session, one command at most 10), so
# this script runs the checks in order of importance, each under its own time
# limit and all of them under one overall budget (default 540 s: one command);
# a step that no longer fits is skipped and listed as such.  Order:
#   1. env              the device gate: CuPy must import and cupy.zeros(1).sum()
#                       must run; otherwise the script STOPS AT ONCE, printing
#                       the error and the driver / runtime / NVRTC / CuPy versions
#   2. gpu_tests        python -m pytest -m gpu (fused kernel vs its Philox twin,
#                       CUDA-graph trainer vs the plain step, NumPy vs CuPy, ...);
#                       any skipped gpu test is an error here (a GPU is present),
#                       and each test has a time limit ($TEST_TIMEOUT, default 60 s)
#   3. bench_support    fused Philox kernel vs plain CuPy vs NumPy, samples/s
#   4. bench_training   batched trainer at B = 1, 16, 256: graph/plain paths, the fused
#                       trainer kernels vs unfused Adam vs TF32, each beside batched
#                       PyTorch (FP32 and TF32) and a one-model PyTorch loop (2 repeats)
#   5. bench_hvp        HVP / gradient cost and Lanczos spectrum on CuPy
#   6. bench_saliency   SNIP / GraSP on CuPy
#   7. bench_projection best_k_term, NumPy vs CuPy
#   8. bench_phase      batched NIHT vs a loop over single problems, NumPy and CuPy
#   9. sweep_lottery    the default lottery_mnist1d sweep on CuPy (timed)
#  10. sweep_rewinding  the default rewinding_geometry sweep on CuPy
#  11. sweep_support    the default support_recovery sweep on CuPy
# The exit status is 0 only when every step that ran exited 0; a failed step
# does not stop the later ones (except env), and its status is never lost to
# the log's tee.  Sweeps write to a fresh folder per simulation under
# $WORK_DIR (never over the committed results/) and journal every finished
# cell, so a sweep stopped by its limit keeps its finished cells: copy the
# folder's journal.jsonl into results/<sim>/ (or pass --out to a later run)
# and the same command resumes.
#
# Usage (from the repository root):
#   bash benchmarks/device_check.sh [--budget SECONDS] [--only STEP[,STEP...]] [--quick]
#                                   [--dry-run] [OUTDIR]
# OUTDIR defaults to $OUT (the device tool's output folder) or
# scratch/device_check.  It receives at most five files: device_check.log (all
# output), summary.md (one line per step: exit code, seconds), junit.xml (the
# GPU tests), results.tgz (the sweeps' folders) and pip.log when wheels were
# installed.  --quick runs the sweeps' quick variants and small benchmarks (a
# smoke test of this script; on a CPU machine it stops at the env gate and
# exits 3, naming CuPy).  --budget defaults to 540 s; a step is skipped once
# less than $MIN_STEP_SECONDS (default 20) of it is left.  --only still runs
# the env gate first.  $PYTHON (default python3) runs every step; $BACKEND
# (default cupy) is the sweeps' backend.
#
# mnist1d on the device machine (no package index there): it travels as a
# wheel in .whl/, which is git-ignored, so name it in the device tool's
# `carry` list.  Here, once:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp -d .whl mnist1d
# then run with carry [".whl"], e.g.
#   run(command="bash benchmarks/device_check.sh", carry=[".whl"], timeout_s=600)
# This script installs every .whl/*.whl into a private folder before it starts.
set -uo pipefail
cd "$(dirname "$0")/.."

budget=540
only=""
quick=0
dry=0
outdir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) budget=$2; shift 2 ;;
    --only) only=",$2,"; shift 2 ;;
    --quick) quick=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,55p' "$0"; exit 0 ;;
    -*) echo "device_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) outdir=$1; shift ;;
  esac
done
case "$budget" in
  ''|*[!0-9]*) echo "device_check.sh: --budget must be a whole number of seconds; got '$budget'" >&2
               exit 2 ;;
esac
outdir=${outdir:-${OUT:-scratch/device_check}}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
WORK_DIR=${WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sparsesim_check.XXXXXX")}
log=$outdir/device_check.log
summary=$outdir/summary.md
: >"$log"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

if ls .whl/*.whl >/dev/null 2>&1 && [ "$dry" -eq 0 ]; then
  site=$WORK_DIR/site
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
       --target "$site" .whl/*.whl >"$outdir/pip.log" 2>&1; then
    export PYTHONPATH=$PYTHONPATH:$site
  else
    echo "device_check.sh: installing .whl/*.whl failed (see pip.log); going on without" | tee -a "$log"
  fi
fi

start=$(date +%s)
{
  echo "# device check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), budget ${budget} s"
  echo
  echo "| step | exit | seconds | limit | command |"
  echo "|---|---|---|---|---|"
} >"$summary"

failed=""
last_rc=0

# step NAME LIMIT COMMAND...: run COMMAND under min(LIMIT, budget left), log it;
# a non-zero exit is recorded in $failed (and in $last_rc).
step() {
  local name=$1 limit=$2
  shift 2
  last_rc=0
  if [ -n "$only" ] && [ "$name" != env ] && [[ "$only" != *",${name%_none_skipped},"* ]]; then
    return 0
  fi
  local left=$(( budget - ($(date +%s) - start) ))
  local cmd="$*"
  [[ "$cmd" == *$'\n'* ]] && cmd="${cmd%%$'\n'*} …"   # one line in the summary
  if [ "$dry" -eq 1 ]; then
    echo "$name (limit ${limit} s): $cmd"
    return 0
  fi
  if [ "$left" -lt "${MIN_STEP_SECONDS:-20}" ]; then
    echo "| $name | skipped | 0 | $limit | $cmd (budget spent) |" >>"$summary"
    echo "== $name: skipped, ${left} s of the budget left" | tee -a "$log"
    return 0
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "== $name (limit ${limit} s): $cmd" | tee -a "$log"
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  local dt=$(( $(date +%s) - t0 ))
  last_rc=$rc
  [ "$rc" -ne 0 ] && failed="$failed $name"
  [ "$rc" -eq 124 ] && rc="124 (time limit)"
  echo "| $name | $rc | $dt | $limit | \`$cmd\` |" >>"$summary"
  echo "== $name: exit $rc after ${dt} s" | tee -a "$log"
}

sweep() {  # sweep NAME LIMIT SIM: the default (or quick) sweep of SIM on CuPy, timed
  local name=$1 limit=$2 sim=$3 extra=()
  [ "$quick" -eq 1 ] && extra=(--quick)
  step "$name" "$limit" "$PY" -m sparsesim run "$sim" --backend "${BACKEND:-cupy}" \
       --out "$WORK_DIR/results/$sim" "${extra[@]}"
}

if [ "$quick" -eq 1 ]; then
  sr_args=(--d 64 --gpu-samples 16777216 --numpy-samples 1048576 --philox-samples 65536 --repeats 1)
  tr_args=(--models 1,4 --steps 6 --base-steps 2 --repeat 1)
  hvp_args=(--examples 200 --repeats 1 --no-lanczos)
  sal_args=(--models 1 --repeats 1)
  proj_args=(--rows 512 --cols 512 --repeats 1 --warmup 1)
  phase_args=(--problems 8 --repeats 1)
else
  sr_args=(--repeats 3)
  tr_args=(--models 1,16,256 --repeat 2 --gpu-variants fused,unfused,tf32)
  hvp_args=(--repeats 3)
  sal_args=(--repeats 3)
  proj_args=(--repeats 5)
  phase_args=(--problems 48 --repeats 1)
fi

finish() {  # the summary, the sweeps' results and the exit status (non-zero if any step failed)
  if [ -d "$WORK_DIR/results" ]; then
    tar -czf "$outdir/results.tgz" -C "$WORK_DIR" results
  fi
  echo "== done in $(( $(date +%s) - start )) s; summary:" | tee -a "$log"
  tee -a "$log" <"$summary" >/dev/null
  cat "$summary"
  if [ -n "$failed" ]; then
    echo "device_check.sh: FAILED steps:$failed" | tee -a "$log" >&2
    exit "${1:-1}"
  fi
  exit 0
}

# The gate: CuPy imports, sees a device and runs a kernel -- or stop here, loudly.
step env 60 "$PY" -c "
import platform, shutil, subprocess, sys
import sparsesim
from sparsesim.backend import cupy_available, cupy_unusable_reason, device_name
print('sparsesim', sparsesim.__version__, 'python', platform.python_version())
for name in ('cupy', 'torch', 'mnist1d', 'distributed'):
    try:
        mod = __import__(name)
        print(name, getattr(mod, '__version__', '?'))
    except Exception as exc:
        print(name, 'missing:', type(exc).__name__, exc)
if shutil.which('nvidia-smi'):
    q = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version', '--format=csv,noheader'],
                       capture_output=True, text=True)
    print('nvidia-smi:', (q.stdout or q.stderr).strip())
else:
    print('nvidia-smi: not found')
if not cupy_available():
    print('device_check: CuPy is not usable, so no GPU check can run:', cupy_unusable_reason(),
          file=sys.stderr)
    sys.exit(3)
import cupy
print('cupy usable:', device_name('cupy'), '| CuPy', cupy.__version__,
      '| driver', cupy.cuda.runtime.driverGetVersion(),
      '| runtime', cupy.cuda.runtime.runtimeGetVersion(),
      '| NVRTC', '.'.join(map(str, cupy.cuda.nvrtc.getVersion())))
"
if [ "$dry" -eq 0 ] && [ "$last_rc" -ne 0 ]; then
  echo "device_check.sh: the env gate failed (exit $last_rc): stopping before any GPU step" \
    | tee -a "$log" >&2
  finish "$last_rc"
fi
# Every gpu-marked test must run: a skip on a GPU machine is an error.
step gpu_tests 200 env SPARSESIM_TEST_TIMEOUT="${TEST_TIMEOUT:-60}" SPARSESIM_CUPY_STANDIN=0 \
  "$PY" -m pytest -m gpu -q -rs -p no:cacheprovider --junitxml="$outdir/junit.xml" tests
if [ "$dry" -eq 0 ] && [ "$last_rc" -eq 0 ] && [ -f "$outdir/junit.xml" ]; then
  step gpu_tests_none_skipped 10 "$PY" -c "
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter('testcase')
skipped = [c.get('classname', '') + '::' + c.get('name', '') for c in cases
           if c.find('skipped') is not None]
for name in skipped:
    print('skipped on a GPU machine:', name)
sys.exit(1 if skipped else 0)
" "$outdir/junit.xml"
fi
step bench_support 60 "$PY" benchmarks/bench_support_recovery.py --require-gpu "${sr_args[@]}"
step bench_training 150 "$PY" benchmarks/bench_training.py --backends cupy "${tr_args[@]}"
step bench_hvp 45 "$PY" benchmarks/bench_hvp.py --backends cupy "${hvp_args[@]}"
step bench_saliency 30 "$PY" benchmarks/bench_saliency.py --backends cupy "${sal_args[@]}"
step bench_projection 30 "$PY" benchmarks/bench_projection.py "${proj_args[@]}"
step bench_phase 45 "$PY" benchmarks/bench_phase_transition.py "${phase_args[@]}"
sweep sweep_lottery 240 lottery_mnist1d
sweep sweep_rewinding 240 rewinding_geometry
sweep sweep_support 120 support_recovery

[ "$dry" -eq 1 ] && exit 0
finish 1
