"""Fused CuPy kernel: Gaussian weights -> magnitude threshold -> support counts.

One CUDA thread simulates one trial at a time (grid-stride over trials).  It
generates the ``d = n_units * group_size`` weights of its trial in registers
from the Philox stream of :mod:`sparsesim.kernels.philox` (counter = trial
index and element block, key = seed words), forms the unit magnitudes
(``|w_i|`` for ``group_size == 1``, the group norm ``||w_G||_2`` otherwise),
compares them with a small vector of thresholds and keeps per trial, for every
threshold: the true positives (units of the support ``S`` = the first
``n_support`` units that survive), the false positives, the exact-recovery hit
and, once per trial, the top-k hit (``min_S m > max_{S^c} m``).  The weights
are never written to memory.

Per-thread totals stay in registers across the thread's trials and are
summed over each warp with shuffles before one ``atomicAdd`` per warp; the
histograms are accumulated in shared memory (32-bit counters) when they fit
and flushed once per block with 64-bit ``atomicAdd``.

The float64 reference of exactly this computation is
``sparsesim.sim.support_recovery`` with ``method="philox"``: same stream, same
order of operations (``w = sigma*z (+ sign*mu)``, group sums of squares added
left to right, ``sqrt``), so counts agree exactly except when a magnitude lies
within a few ulps of a threshold (the kernel's ``log``/``cos``/``sin`` may
differ from NumPy's in the last bits).

CuPy is reached through :func:`sparsesim.backend.get_namespace`; nothing here
imports it, and the kernel is compiled lazily on first use (and cached per
configuration).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..backend import get_namespace
from .philox import PHILOX_CUDA_SOURCE, PHILOX_DEBUG_SOURCE

__all__ = [
    "SUPPORT_COUNT_CUDA_SOURCE",
    "MAX_THRESHOLDS_PER_LAUNCH",
    "MAX_TRIALS_PER_LAUNCH",
    "MAX_WEIGHTS_PER_TRIAL",
    "THREADS_PER_BLOCK",
    "MIN_BLOCKS_PER_SM",
    "REGISTER_BUDGET",
    "NVCC_OPTIONS",
    "histogram_plan",
    "launch_shape",
    "kernel_configurations",
    "FusedCounts",
    "kernel_source",
    "fused_support_counts",
    "gpu_philox4x32_10",
    "gpu_philox_normals",
]

#: Thresholds handled by one compiled kernel (more are split over launches;
#: every launch regenerates the same counter-based samples).
MAX_THRESHOLDS_PER_LAUNCH = 8
#: Trials per launch: keeps the 32-bit shared-memory counters far from overflow.
MAX_TRIALS_PER_LAUNCH = 1 << 26
#: Weights per trial the kernel indexes (32-bit unsigned element counter; the
#: support-recovery simulator validates ``d`` against this same limit).
MAX_WEIGHTS_PER_TRIAL = 1 << 31
#: Threads per block of the fused kernel.
THREADS_PER_BLOCK = 256
#: Resident blocks per SM the kernel is compiled for (``__launch_bounds__``):
#: ptxas keeps the registers per thread at most ``65536 / (256 * 2) = 128``,
#: so two blocks (16 warps, 25 % occupancy) share an SM where the unbounded
#: build needed 140-166 registers and allowed one.  ``tests/test_cuda_compile``
#: holds the register count and checks that nothing spills.
MIN_BLOCKS_PER_SM = 2
#: Registers per thread available to each resident thread at that occupancy.
REGISTER_BUDGET = 65536 // (THREADS_PER_BLOCK * MIN_BLOCKS_PER_SM)
#: Dynamic shared memory a block may use without the opt-in attribute.
DEFAULT_SHARED_BYTES = 48 * 1024
#: The compile flags of every kernel of this package (NVRTC / cupy.RawKernel).
NVCC_OPTIONS = ("--fmad=false",)

SUPPORT_COUNT_CUDA_SOURCE = r"""
/* Compile-time configuration (prepended as #defines by kernel_source()):
 *   NT           thresholds per launch (1..8)
 *   GROUP_SIZE   weights per unit (1: units are single weights, |w|)
 *   FULL_HIST    1: also |S_hat| and FP histograms (n_units small enough)
 *   SHARED_HIST  0: every histogram in global memory (64-bit atomics)
 *                1: the TP histogram in shared memory, |S_hat| / FP in global
 *                2: all histograms in shared memory
 *   THREADS      threads per block (the launch uses exactly this)
 *   MIN_BLOCKS   resident blocks per SM asked of ptxas (__launch_bounds__)
 * Indices are 32-bit unsigned: d = n_units * GROUP_SIZE <= 2**31 weights.
 */
extern __shared__ unsigned int shared_hist[];

struct trial_state {
    u32 tp[NT];
    u32 fp[NT];
    double min_in;
    double max_out;
};

__device__ __forceinline__ void count_unit(trial_state& s, const double* t, const u32 unit,
                                           const u32 n_support, const double m)
{
    if (unit < n_support) {
        s.min_in = fmin(s.min_in, m);
#pragma unroll
        for (int j = 0; j < NT; ++j) s.tp[j] += (m > t[j]) ? 1u : 0u;
    } else {
        s.max_out = fmax(s.max_out, m);
#pragma unroll
        for (int j = 0; j < NT; ++j) s.fp[j] += (m > t[j]) ? 1u : 0u;
    }
}

/* One count into a histogram bin: shared (32-bit) when in_shared, else global (64-bit). */
__device__ __forceinline__ void hist_add(const bool in_shared, u64* global_row,
                                         const u32 shared_offset, const u32 index)
{
    if (in_shared) atomicAdd(&shared_hist[shared_offset + index], 1u);
    else atomicAdd(&global_row[index], 1ull);
}

__device__ __forceinline__ u64 warp_sum(u64 v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

extern "C" __global__ void __launch_bounds__(THREADS, MIN_BLOCKS) support_count(
    const double* __restrict__ thresholds,      /* NT */
    const u64 first_trial, const u64 n_trials,
    const u32 key0, const u32 key1,
    const u32 n_units, const u32 n_support,
    const double sigma, const double mu,
    u64* __restrict__ hits,                      /* NT */
    u64* __restrict__ topk_hits,                 /* 1 */
    u64* __restrict__ fp_sum,                    /* NT */
    u64* __restrict__ fp_sumsq,                  /* NT */
    u64* __restrict__ tp_hist,                   /* NT * (n_support + 1) */
    u64* __restrict__ size_hist,                 /* NT * (n_units + 1), FULL_HIST only */
    u64* __restrict__ fp_hist)                   /* NT * (n_units - n_support + 1), FULL_HIST */
{
    const u32 tp_bins = n_support + 1u;
#if FULL_HIST
    const u32 size_bins = n_units + 1u;
    const u32 fp_bins = n_units - n_support + 1u;
    const u32 size_base = NT * tp_bins;
    const u32 fp_base = size_base + NT * size_bins;
#endif
#if SHARED_HIST
#if SHARED_HIST == 2 && FULL_HIST
    const u32 shared_bins = fp_base + NT * fp_bins;
#else
    const u32 shared_bins = NT * tp_bins;
#endif
    for (u32 i = threadIdx.x; i < shared_bins; i += blockDim.x) shared_hist[i] = 0u;
    __syncthreads();
#endif

    double t[NT];
#pragma unroll
    for (int j = 0; j < NT; ++j) t[j] = thresholds[j];

    /* Per-thread totals.  Hits and false-positive sums fit 32 bits: the host
     * launches at most MAX_TRIALS_PER_LAUNCH (2**26) trials and at most
     * floor((2**32 - 1) / n_units) trials per thread, so sum(fp) < 2**32.
     * (Registers decide occupancy: 64-bit totals here would spill at NT = 8.) */
    u32 my_hits[NT], my_fp[NT];
    u64 my_fpsq[NT];
#pragma unroll
    for (int j = 0; j < NT; ++j) { my_hits[j] = 0u; my_fp[j] = 0u; my_fpsq[j] = 0ull; }
    u64 my_topk = 0ull;

    const u32 d = n_units * (u32)GROUP_SIZE;
    const u32 d_support = n_support * (u32)GROUP_SIZE;
    const double inf = __longlong_as_double(0x7ff0000000000000LL);
    const u64 stride = (u64)gridDim.x * blockDim.x;

    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n_trials; i += stride) {
        const u64 trial = first_trial + i;
        const u32 c0 = (u32)trial;
        const u32 c1 = (u32)(trial >> 32);
        trial_state s;
#pragma unroll
        for (int j = 0; j < NT; ++j) { s.tp[j] = 0u; s.fp[j] = 0u; }
        s.min_in = inf;
        s.max_out = -1.0;
        philox_ctr sign_bits;
        sign_bits.x = 0u; sign_bits.y = 0u; sign_bits.z = 0u; sign_bits.w = 0u;
#if GROUP_SIZE != 1
        double acc = 0.0;
#endif

        for (u32 e0 = 0u; e0 < d; e0 += 2u) {    /* d <= 2**31: e0 + 2 cannot wrap */
            philox_ctr c;
            c.x = c0; c.y = c1; c.z = e0 >> 1; c.w = 0u;
            double z[2];
            philox_box_muller(philox4x32_10(c, key0, key1), &z[0], &z[1]);
#pragma unroll
            for (u32 h = 0u; h < 2u; ++h) {
                const u32 e = e0 + h;
                if (e < d) {
                    double w = __dmul_rn(sigma, z[h]);
                    if (mu != 0.0 && e < d_support) {
                        if ((e & 127u) == 0u) {
                            philox_ctr sc;
                            sc.x = c0; sc.y = c1; sc.z = e >> 7; sc.w = 1u;
                            sign_bits = philox4x32_10(sc, key0, key1);
                        }
                        const u32 word_index = (e >> 5) & 3u;
                        const u32 word = word_index == 0u ? sign_bits.x
                                       : word_index == 1u ? sign_bits.y
                                       : word_index == 2u ? sign_bits.z : sign_bits.w;
                        w = __dadd_rn(w, ((word >> (e & 31u)) & 1u) ? -mu : mu);
                    }
#if GROUP_SIZE == 1
                    count_unit(s, t, e, n_support, fabs(w));
#else
                    acc = __dadd_rn(acc, __dmul_rn(w, w));
                    if (e % GROUP_SIZE == GROUP_SIZE - 1) {
                        count_unit(s, t, e / GROUP_SIZE, n_support, sqrt(acc));
                        acc = 0.0;
                    }
#endif
                }
            }
        }

        my_topk += (s.min_in > s.max_out) ? 1ull : 0ull;
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            const u32 tp = s.tp[j];
            const u32 fp = s.fp[j];
            my_hits[j] += (tp == n_support && fp == 0u) ? 1u : 0u;
            my_fp[j] += fp;
            my_fpsq[j] += (u64)fp * (u64)fp;
            /* 64-bit row offsets: NT * (n_support + 1) may exceed 2**31 */
            hist_add(SHARED_HIST >= 1, tp_hist + (u64)j * tp_bins, j * tp_bins, tp);
#if FULL_HIST
            hist_add(SHARED_HIST == 2, size_hist + (u64)j * size_bins, size_base + j * size_bins,
                     tp + fp);
            hist_add(SHARED_HIST == 2, fp_hist + (u64)j * fp_bins, fp_base + j * fp_bins, fp);
#endif
        }
    }

    /* Warp sums, then one atomic per warp (blockDim.x is a multiple of 32). */
    const bool lane0 = (threadIdx.x & 31) == 0;
    const u64 topk = warp_sum(my_topk);
    if (lane0 && topk) atomicAdd(topk_hits, topk);
#pragma unroll
    for (int j = 0; j < NT; ++j) {
        const u64 h = warp_sum((u64)my_hits[j]);
        const u64 f = warp_sum((u64)my_fp[j]);
        const u64 f2 = warp_sum(my_fpsq[j]);
        if (lane0) {
            if (h) atomicAdd(&hits[j], h);
            if (f) atomicAdd(&fp_sum[j], f);
            if (f2) atomicAdd(&fp_sumsq[j], f2);
        }
    }

#if SHARED_HIST
    __syncthreads();
    for (u32 i = threadIdx.x; i < shared_bins; i += blockDim.x) {
        const unsigned int v = shared_hist[i];
        if (v == 0u) continue;
        u64* target = tp_hist + i;
#if SHARED_HIST == 2 && FULL_HIST
        if (i >= fp_base) target = fp_hist + (i - fp_base);
        else if (i >= size_base) target = size_hist + (i - size_base);
#endif
        atomicAdd(target, (u64)v);
    }
#endif
}
"""


def _shared_mode(shared_hist) -> int:
    if shared_hist is True or shared_hist is False:
        return 2 if shared_hist else 0
    return check_int("shared_hist", shared_hist, low=0, high=2)


def kernel_source(n_thresholds: int, group_size: int, full_hist: bool, shared_hist=True) -> str:
    """The complete CUDA source of one kernel configuration (for NVRTC).

    ``shared_hist``: 0 (or ``False``) keeps every histogram in global
    memory, 1 only the true-positive histogram in shared memory, 2 (or
    ``True``) all of them (see :func:`histogram_plan`).  Compile it with
    :data:`NVCC_OPTIONS`; nothing here needs CuPy or a device.

    Examples
    --------
    >>> src = kernel_source(2, 1, True, True)
    >>> "#define NT 2" in src and "philox4x32_10" in src and "support_count" in src
    True
    >>> "#define SHARED_HIST 1" in kernel_source(8, 4, True, 1)
    True
    """
    n_thresholds = check_int("n_thresholds", n_thresholds, low=1, high=MAX_THRESHOLDS_PER_LAUNCH)
    group_size = check_int("group_size", group_size, low=1, high=MAX_WEIGHTS_PER_TRIAL)
    header = (f"#define NT {n_thresholds}\n#define GROUP_SIZE {group_size}u\n"
              f"#define FULL_HIST {int(bool(full_hist))}\n"
              f"#define SHARED_HIST {min(_shared_mode(shared_hist), 2 if full_hist else 1)}\n"
              f"#define THREADS {THREADS_PER_BLOCK}\n#define MIN_BLOCKS {MIN_BLOCKS_PER_SM}\n")
    return header + PHILOX_CUDA_SOURCE + SUPPORT_COUNT_CUDA_SOURCE


def kernel_configurations() -> list[tuple[int, int, bool, int]]:
    """One ``(n_thresholds, group_size, full_hist, shared_hist)`` per compiled code path.

    Every thresholds count (1..8) with single weights and with groups, with
    and without the full histograms, in each histogram placement the launcher
    can choose (the compile test builds all of them).

    Examples
    --------
    >>> len(kernel_configurations())
    80
    """
    out = []
    for nt in range(1, MAX_THRESHOLDS_PER_LAUNCH + 1):
        for g in (1, 4):
            for full in (True, False):
                for shared in ((0, 1, 2) if full else (0, 1)):
                    out.append((nt, g, full, shared))
    return out


def _hist_bins(n_units: int, n_support: int, n_thresholds: int, full_hist: bool) -> int:
    bins = n_support + 1
    if full_hist:
        bins += (n_units + 1) + (n_units - n_support + 1)
    return n_thresholds * bins


def histogram_plan(n_units: int, n_support: int, n_thresholds: int, full_hist: bool,
                   budget_bytes: int = DEFAULT_SHARED_BYTES) -> tuple[int, int]:
    """Where the per-block histograms live: ``(shared_hist mode, shared bytes)``.

    All of them in shared memory (32-bit counters) when they fit in
    ``budget_bytes``; else the true-positive histogram alone (the hot one:
    ``|S ∩ S_hat|`` piles up near ``k``) when it fits; else none (64-bit
    global atomics).  On a device the budget is its opt-in shared memory per
    block shared among :data:`MIN_BLOCKS_PER_SM` blocks.

    Examples
    --------
    >>> histogram_plan(500, 10, 8, True)            # 8 * (11 + 501 + 491) bins * 4 B
    (2, 32096)
    >>> histogram_plan(4000, 10, 8, True)           # too big: TP histogram only
    (1, 352)
    >>> histogram_plan(1400, 10, 8, True, budget_bytes=113 * 1024)   # an H100/H200 block
    (2, 89696)
    """
    budget_bytes = check_int("budget_bytes", budget_bytes, low=0)
    full = 4 * _hist_bins(n_units, n_support, n_thresholds, full_hist)
    if full <= budget_bytes:
        return 2 if full_hist else 1, full
    tp = 4 * _hist_bins(n_units, n_support, n_thresholds, False)
    if tp <= budget_bytes:
        return 1, tp
    return 0, 0


def launch_shape(remaining: int, n_units: int, sm_count: int) -> tuple[int, int]:
    """``(blocks, trials)`` of the next launch.

    At most :data:`MAX_TRIALS_PER_LAUNCH` trials (32-bit shared counters), and
    at most ``floor((2**32 - 1) / n_units)`` trials per thread, which keeps the
    kernel's 32-bit per-thread false-positive sums exact.

    Examples
    --------
    >>> launch_shape(10**9, 64, 132)            # 8 blocks per SM, 2**26 trials
    (1056, 67108864)
    >>> launch_shape(10**9, 2**31, 132)         # one trial per thread at the largest d
    (1056, 270336)
    >>> launch_shape(100, 5, 132)
    (1, 100)
    """
    remaining = check_int("remaining", remaining, low=1)
    n_units = check_int("n_units", n_units, low=1, high=MAX_WEIGHTS_PER_TRIAL)
    blocks = max(1, min(-(-remaining // THREADS_PER_BLOCK), 4 * MIN_BLOCKS_PER_SM * sm_count))
    per_thread = (2 ** 32 - 1) // n_units
    n = min(MAX_TRIALS_PER_LAUNCH, remaining, blocks * THREADS_PER_BLOCK * per_thread)
    return blocks, n


@functools.lru_cache(maxsize=128)
def _compiled(n_thresholds: int, group_size: int, full_hist: bool, shared_hist: int):
    cp = get_namespace("cupy")
    src = kernel_source(n_thresholds, group_size, full_hist, shared_hist)
    return cp.RawKernel(src, "support_count", options=NVCC_OPTIONS)


@functools.lru_cache(maxsize=4)
def _debug_kernel(name: str):
    cp = get_namespace("cupy")
    return cp.RawKernel(PHILOX_DEBUG_SOURCE, name, options=NVCC_OPTIONS)


def _device_props() -> dict:
    cp = get_namespace("cupy")
    return cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)


@functools.lru_cache(maxsize=1)
def _sm_count() -> int:
    return int(_device_props()["multiProcessorCount"])


@functools.lru_cache(maxsize=1)
def _shared_budget() -> int:
    """Shared bytes per block: the opt-in maximum, split among MIN_BLOCKS_PER_SM blocks."""
    props = _device_props()
    optin = int(props.get("sharedMemPerBlockOptin", DEFAULT_SHARED_BYTES))
    per_sm = int(props.get("sharedMemPerMultiprocessor", DEFAULT_SHARED_BYTES))
    # 1 KiB per block is reserved by the driver on recent architectures.
    return max(DEFAULT_SHARED_BYTES, min(optin, per_sm // MIN_BLOCKS_PER_SM - 1024))


@dataclass(frozen=True)
class FusedCounts:
    """Raw totals of one fused run, one entry per threshold (host NumPy int64)."""

    trials: int
    hits: np.ndarray          # (T,)
    topk_hits: int
    fp_sum: np.ndarray        # (T,)
    fp_sumsq: np.ndarray      # (T,)
    tp_hist: np.ndarray       # (T, n_support + 1)
    size_hist: np.ndarray | None   # (T, n_units + 1)
    fp_hist: np.ndarray | None     # (T, n_units - n_support + 1)


def fused_support_counts(n_units: int, n_support: int, thresholds, *, trials: int,
                         key: tuple[int, int], group_size: int = 1, sigma: float = 1.0,
                         mu: float = 0.0, full_hist: bool = True,
                         first_trial: int = 0) -> FusedCounts:
    """Run the fused kernel for ``trials`` trials and return the totals.

    Low-level entry point (validated, but callers normally go through
    :func:`sparsesim.sim.support_recovery.support_recovery_grid` with
    ``backend="cupy"``).  Needs CuPy and a CUDA device.

    Parameters stay: the launch of one fused kernel: the model (``n_units``, ``n_support``,
    ``group_size``, ``sigma``, ``mu``, ``thresholds``) and the counter-based stream
    (``trials``, ``key``, ``first_trial``), each read by the kernel; ``full_hist`` chooses
    its output.

    Parameters
    ----------
    n_units, n_support : int
        Units per trial and the size of the support (the first units).
    thresholds : sequence of float
        Thresholds on the unit magnitudes; any number (split into launches of
        :data:`MAX_THRESHOLDS_PER_LAUNCH`).
    trials : int
    key : (int, int)
        Philox key words.
    group_size : int
        Weights per unit.
    sigma, mu : float
        Noise scale and planted amplitude on the support's weights.
    full_hist : bool
        Also count the |S_hat| and false-positive histograms.
    first_trial : int
        Index of the first trial (the counter offset).
    """
    n_units = check_int("n_units", n_units, low=1)
    n_support = check_int("n_support", n_support, low=0, high=n_units)
    group_size = check_int("group_size", group_size, low=1)
    trials = check_int("trials", trials, low=1)
    first_trial = check_int("first_trial", first_trial, low=0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    mu = check_real("mu", mu, low=0.0)
    thr = np.asarray([check_real(f"thresholds[{i}]", x, low=0.0)
                      for i, x in enumerate(thresholds)], dtype=np.float64)
    if thr.size < 1:
        raise ValueError("thresholds must hold at least one value")
    if n_units * group_size > MAX_WEIGHTS_PER_TRIAL:
        raise ValueError(f"n_units * group_size must be at most {MAX_WEIGHTS_PER_TRIAL} "
                         f"(MAX_WEIGHTS_PER_TRIAL) for the fused kernel; "
                         f"got {n_units * group_size}")
    cp = get_namespace("cupy")
    n_t = thr.size
    out_hits = np.zeros(n_t, np.int64)
    out_fp = np.zeros(n_t, np.int64)
    out_fpsq = np.zeros(n_t, np.int64)
    out_tp = np.zeros((n_t, n_support + 1), np.int64)
    out_size = np.zeros((n_t, n_units + 1), np.int64) if full_hist else None
    out_fph = np.zeros((n_t, n_units - n_support + 1), np.int64) if full_hist else None
    topk_total = None
    for lo in range(0, n_t, MAX_THRESHOLDS_PER_LAUNCH):
        part = thr[lo:lo + MAX_THRESHOLDS_PER_LAUNCH]
        nt = part.size
        mode, shared_bytes = histogram_plan(n_units, n_support, nt, bool(full_hist),
                                            _shared_budget())
        kernel = _compiled(nt, group_size, bool(full_hist), mode)
        if shared_bytes > DEFAULT_SHARED_BYTES:
            kernel.max_dynamic_shared_size_bytes = shared_bytes
        d_thr = cp.asarray(part)
        hits = cp.zeros(nt, cp.uint64)
        topk = cp.zeros(1, cp.uint64)
        fps = cp.zeros(nt, cp.uint64)
        fpsq = cp.zeros(nt, cp.uint64)
        tph = cp.zeros(nt * (n_support + 1), cp.uint64)
        sizeh = cp.zeros(nt * (n_units + 1) if full_hist else 1, cp.uint64)
        fph = cp.zeros(nt * (n_units - n_support + 1) if full_hist else 1, cp.uint64)
        done = 0
        while done < trials:
            blocks, n = launch_shape(trials - done, n_units, _sm_count())
            kernel((blocks,), (THREADS_PER_BLOCK,),
                   (d_thr, np.uint64(first_trial + done), np.uint64(n),
                    np.uint32(key[0]), np.uint32(key[1]),
                    np.uint32(n_units), np.uint32(n_support),
                    np.float64(sigma), np.float64(mu),
                    hits, topk, fps, fpsq, tph, sizeh, fph),
                   shared_mem=shared_bytes)
            done += n
        sl = slice(lo, lo + nt)
        out_hits[sl] = hits.get().astype(np.int64)
        out_fp[sl] = fps.get().astype(np.int64)
        out_fpsq[sl] = fpsq.get().astype(np.int64)
        out_tp[sl] = tph.get().astype(np.int64).reshape(nt, n_support + 1)
        if full_hist:
            out_size[sl] = sizeh.get().astype(np.int64).reshape(nt, n_units + 1)
            out_fph[sl] = fph.get().astype(np.int64).reshape(nt, n_units - n_support + 1)
        if topk_total is None:
            topk_total = int(topk.get()[0])
    return FusedCounts(trials=trials, hits=out_hits, topk_hits=topk_total, fp_sum=out_fp,
                       fp_sumsq=out_fpsq, tp_hist=out_tp, size_hist=out_size, fp_hist=out_fph)


def gpu_philox4x32_10(counter, key):
    """Philox4x32-10 blocks computed by the CUDA code (test hook; needs a GPU).

    ``counter``: uint32 array (n, 4); ``key``: uint32 array (n, 2).  Returns a
    NumPy uint32 array (n, 4) to compare with :func:`philox4x32_10`.
    """
    cp = get_namespace("cupy")
    ctr = cp.ascontiguousarray(cp.asarray(counter, dtype=cp.uint32))
    k = cp.ascontiguousarray(cp.asarray(key, dtype=cp.uint32))
    n = ctr.shape[0]
    out = cp.zeros((n, 4), dtype=cp.uint32)
    _debug_kernel("philox4x32_10_raw")(((n + 255) // 256,), (256,), (ctr, k, out, np.uint64(n)))
    return out.get()


def gpu_philox_normals(n_trials: int, d: int, key: tuple[int, int], first_trial: int = 0):
    """The kernel's normal stream written to memory (test hook; needs a GPU).

    Returns a NumPy float64 array (n_trials, d) to compare with
    :func:`sparsesim.kernels.philox.philox_normals`.
    """
    cp = get_namespace("cupy")
    n_trials = check_int("n_trials", n_trials, low=1)
    d = check_int("d", d, low=1)
    out = cp.zeros((n_trials, d), dtype=cp.float64)
    _debug_kernel("philox_normals_kernel")(
        ((n_trials + 255) // 256,), (256,),
        (np.uint64(first_trial), np.uint64(n_trials), np.int32(d),
         np.uint32(key[0]), np.uint32(key[1]), out))
    return out.get()
