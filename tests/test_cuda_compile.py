"""Every CUDA source the package can launch, compiled for sm_90 on the CPU.

NVRTC (the ``nvidia-cuda-nvrtc`` wheel of the ``test`` extra, loaded through
ctypes; no GPU and no CuPy needed) compiles each source with the package's
own flags (:data:`sparsesim.kernels.support_count.NVCC_OPTIONS`) for
``sm_90`` (H100/H200) with ``--ptxas-options=-v``; the ptxas report in the
program log gives registers, stack frame and spills of every entry function.

Asserted for every source:

* it compiles, the log holds no warning, and NVRTC returns a cubin (ELF);
* no register spill (``0 bytes spill stores, 0 bytes spill loads``);
* the only local memory is the 40-byte stack frame of CUDA's ``cos``/``sin``
  argument reduction for huge arguments (``__internal_trig_reduction_slowpathd``;
  the kernels' angles are below 2 pi, so it is never taken);
* registers per thread within the stated budget: the fused support-count
  kernel at most ``REGISTER_BUDGET`` = 65536 / (256 threads x 2 blocks) = 128,
  so two 256-thread blocks are resident per SM (``__launch_bounds__``); the
  Philox debug kernels and the fused Adam update at most 64.

The fused kernel is compiled in every configuration class the launcher can
pick: thresholds per launch 1 and 8 (registers grow with it), single
weights and groups, with and without the full histograms, and each histogram
placement (global, TP histogram shared, all shared).  ``SPARSESIM_NVRTC_ALL=1``
compiles all 80 configurations.

Skipped, with the reason, only where the NVRTC library is absent.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import re

import pytest

from sparsesim.kernels.philox import PHILOX_DEBUG_SOURCE
from sparsesim.kernels.support_count import (
    MAX_THRESHOLDS_PER_LAUNCH,
    MIN_BLOCKS_PER_SM,
    NVCC_OPTIONS,
    REGISTER_BUDGET,
    THREADS_PER_BLOCK,
    kernel_configurations,
    kernel_source,
)
from sparsesim.nn.optim import ADAM_KERNEL_SPEC

ARCH = "sm_90"
#: Registers per SM of every architecture since Kepler (sm_90 included).
REGISTERS_PER_SM = 65536
SMALL_KERNEL_REGISTERS = 64
#: The stack frame of CUDA's slow-path trig argument reduction.
TRIG_STACK_BYTES = 40


def _find_nvrtc() -> str | None:
    spec = importlib.util.find_spec("nvidia")
    roots = list(spec.submodule_search_locations) if spec and spec.submodule_search_locations else []
    for root in roots:
        for lib in sorted(glob.glob(os.path.join(root, "*", "lib", "libnvrtc.so*"))):
            if "builtins" not in os.path.basename(lib):
                return lib
    return None


_LIB_PATH = _find_nvrtc()
pytestmark = pytest.mark.skipif(
    _LIB_PATH is None,
    reason="the NVRTC library is absent (pip install nvidia-cuda-nvrtc, part of the test extra)")


class _Nvrtc:
    def __init__(self, path: str):
        self.lib = ctypes.CDLL(path)
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
        self.version = (major.value, minor.value)

    def compile(self, source: str, options) -> tuple[int, str, bytes]:
        lib = self.lib
        prog = ctypes.c_void_p()
        rc = lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"kernel.cu", 0,
                                    None, None)
        assert rc == 0, f"nvrtcCreateProgram failed ({rc})"
        try:
            opts = [o.encode() for o in options]
            arr = (ctypes.c_char_p * len(opts))(*opts)
            rc = lib.nvrtcCompileProgram(prog, len(opts), arr)
            size = ctypes.c_size_t()
            lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetProgramLog(prog, log)
            cubin = b""
            if rc == 0:
                lib.nvrtcGetCUBINSize(prog, ctypes.byref(size))
                buf = ctypes.create_string_buffer(size.value)
                lib.nvrtcGetCUBIN(prog, buf)
                cubin = buf.raw
            return rc, log.value.decode(errors="replace"), cubin
        finally:
            lib.nvrtcDestroyProgram(ctypes.byref(prog))


@pytest.fixture(scope="module")
def nvrtc():
    return _Nvrtc(_LIB_PATH)


_FUNC = re.compile(
    r"Compiling entry function '(\w+)' for '(\w+)'.*?"
    r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads.*?"
    r"Used (\d+) registers", re.S)


def ptxas_report(log: str) -> dict[str, dict[str, int]]:
    """Per entry function: registers, stack frame, spill stores/loads (from ``-v``)."""
    out = {}
    for m in _FUNC.finditer(log):
        name, arch, stack, st, ld, regs = m.groups()
        assert arch == ARCH
        out[name] = {"registers": int(regs), "stack": int(stack), "spill_stores": int(st),
                     "spill_loads": int(ld)}
    return out


def compile_checked(nvrtc, source: str, entries: dict[str, int]) -> dict[str, dict[str, int]]:
    """Compile with the project's flags; check errors, warnings, cubin, spills, registers."""
    options = [f"--gpu-architecture={ARCH}", *NVCC_OPTIONS, "--ptxas-options=-v"]
    rc, log, cubin = nvrtc.compile(source, options)
    assert rc == 0, f"NVRTC {nvrtc.version} failed:\n{log}"
    assert "warning" not in log.lower(), f"NVRTC warned:\n{log}"
    assert cubin[:4] == b"\x7fELF", "NVRTC returned no cubin"
    report = ptxas_report(log)
    for name, budget in entries.items():
        assert name in report, f"no ptxas report for {name}:\n{log}"
        r = report[name]
        assert r["spill_stores"] == 0 and r["spill_loads"] == 0, (name, r)
        assert r["stack"] <= TRIG_STACK_BYTES, (name, r)
        assert r["registers"] <= budget, (name, r, budget)
    return report


def _configs():
    if os.environ.get("SPARSESIM_NVRTC_ALL") == "1":
        return kernel_configurations()
    classes = {1, MAX_THRESHOLDS_PER_LAUNCH}
    return [c for c in kernel_configurations() if c[0] in classes]


def test_the_configuration_classes_cover_every_code_path():
    # Every (group_size class, full_hist, shared placement) combination appears
    # at the smallest and the largest thresholds count.
    seen = {(c[0], c[1] > 1, c[2], c[3]) for c in _configs()}
    for nt in (1, MAX_THRESHOLDS_PER_LAUNCH):
        for grouped in (False, True):
            for full, modes in ((True, (0, 1, 2)), (False, (0, 1))):
                for mode in modes:
                    assert (nt, grouped, full, mode) in seen


def test_register_budget_gives_two_blocks_per_sm():
    assert THREADS_PER_BLOCK * MIN_BLOCKS_PER_SM * REGISTER_BUDGET <= REGISTERS_PER_SM
    assert THREADS_PER_BLOCK % 32 == 0


@pytest.mark.parametrize("config", _configs(), ids=lambda c: "nt{}-g{}-full{}-shared{}".format(*c))
def test_fused_support_count_kernel_compiles_clean(nvrtc, config):
    src = kernel_source(*config)
    assert f"__launch_bounds__(THREADS, MIN_BLOCKS)" in src
    report = compile_checked(nvrtc, src, {"support_count": REGISTER_BUDGET})
    # the bound is what holds the registers: a two-block-per-SM kernel
    regs = report["support_count"]["registers"]
    assert regs * THREADS_PER_BLOCK * MIN_BLOCKS_PER_SM <= REGISTERS_PER_SM


def test_philox_debug_kernels_compile_clean(nvrtc):
    compile_checked(nvrtc, PHILOX_DEBUG_SOURCE, {"philox4x32_10_raw": SMALL_KERNEL_REGISTERS,
                                                "philox_normals_kernel": SMALL_KERNEL_REGISTERS})


def _elementwise_source(spec, ctype: str) -> str:
    """The CUDA code CuPy's ElementwiseKernel builds, for contiguous operands.

    CuPy adds broadcasting indexers around the same loop; the operation body,
    the parameter types and their uses are exactly the package's.
    """
    in_params, out_params, body, name = spec
    params, loads = [], []
    for kind, decl in (("in", in_params), ("out", out_params)):
        for p in decl.split(","):
            _, pname = p.split()
            if kind == "in":
                params.append(f"const T* __restrict__ _raw_{pname}")
                loads.append(f"const T {pname} = _raw_{pname}[i];")
            else:
                params.append(f"T* __restrict__ _raw_{pname}")
                loads.append(f"T& {pname} = _raw_{pname}[i];")
    return (f"typedef {ctype} T;\n"
            f"extern \"C\" __global__ void {name}({', '.join(params)}, const long long n)\n"
            "{\n"
            "  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
            "       i += (long long)blockDim.x * gridDim.x) {\n    "
            + "\n    ".join(loads) + "\n" + body + "\n  }\n}\n")


@pytest.mark.parametrize("ctype", ["float", "double"])
def test_fused_adam_kernel_compiles_clean(nvrtc, ctype):
    src = _elementwise_source(ADAM_KERNEL_SPEC, ctype)
    compile_checked(nvrtc, src, {ADAM_KERNEL_SPEC[3]: SMALL_KERNEL_REGISTERS})


def test_a_spilling_or_warning_kernel_is_caught(nvrtc):
    # The checks themselves: an unused variable is a warning, a huge local
    # array under a tight register bound spills; both must fail the check.
    warn = 'extern "C" __global__ void k(float* x) { int unused = 3; x[0] = 1.f; }'
    with pytest.raises(AssertionError, match="warned"):
        compile_checked(nvrtc, warn, {"k": 64})
    heavy = ('extern "C" __global__ void __launch_bounds__(1024, 2) k(double* x, int n) {'
             ' double a[64]; for (int i = 0; i < 64; ++i) a[i] = x[i * n];'
             ' double s = 0; for (int r = 0; r < n; ++r) for (int i = 0; i < 64; ++i)'
             ' s += a[(i * r) & 63] * a[i]; x[threadIdx.x] = s; }')
    with pytest.raises(AssertionError):
        compile_checked(nvrtc, heavy, {"k": 32})
