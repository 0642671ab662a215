"""Philox4x32-10 twin, the normal/sign streams and the fused support-count kernel.

CPU part: the NumPy twin against Random123's known answers and an independent
scalar implementation; the Box–Muller stream against N(0, 1); the CUDA source
compiled for sm_90 with nvcc (when installed) and *executed on the host* with
g++ through a small shim (when installed), its counts compared exactly with
the NumPy reference (``method="philox"``).

GPU part (``@pytest.mark.gpu``, skipped without CuPy and a device): kernel
Philox bits == twin; kernel normals == twin within a few ulps; fused counts ==
``method="philox"`` counts; fused vs the plain CuPy array path and vs the
Binomial law.

Statistical tests use fixed seeds; each states its false-alarm rate.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from sparsesim.stats import chisquare_gof
from sparsesim.kernels.philox import (
    PHILOX_CUDA_SOURCE,
    philox4x32,
    philox4x32_10,
    philox_key,
    philox_normals,
    philox_signs,
    uniforms_from_words,
)
from sparsesim.kernels.support_count import kernel_source
from sparsesim.sim.support_recovery import group_support_recovery_grid, support_recovery_grid
from sparsesim.sim.support_recovery.engine import _Totals, _unit_magnitudes

ALPHA = 1e-4  # per statistical test: false-alarm rate 1e-4

# Random123 kat_vectors, "philox4x32 R ctr[4] key[2] -> out[4]" lines.
KAT_10 = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
KAT_7 = [
    ((0, 0, 0, 0), (0, 0), (0x5F6FB709, 0x0D893F64, 0x4F121F81, 0x4F730A48)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x5207DDC2, 0x45165E59, 0x4D8EE751, 0x8C52F662)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0x4DFCCABA, 0x190A87F0, 0xC47362BA, 0xB6B5242A)),
]


def scalar_philox(ctr, key, rounds=10):
    """Independent Python-int Philox4x32 (the published round function)."""
    c, (k0, k1) = list(ctr), key
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & 0xFFFFFFFF, (p0 >> 32) ^ c[3] ^ k1, p0 & 0xFFFFFFFF]
    return tuple(c)


# --------------------------------------------------------------------------- Philox twin

@pytest.mark.parametrize("ctr,key,expected", KAT_10)
def test_philox4x32_10_known_answers(ctr, key, expected):
    # Falsified by any error in the multipliers, the round wiring or the key schedule.
    assert tuple(int(x) for x in philox4x32_10(list(ctr), list(key))) == expected


@pytest.mark.parametrize("ctr,key,expected", KAT_7)
def test_philox4x32_7_known_answers(ctr, key, expected):
    # The 7-round answers pin the key schedule independently of the 10-round ones.
    assert tuple(int(x) for x in philox4x32(list(ctr), list(key), rounds=7)) == expected


def test_scalar_reference_reproduces_known_answers():
    # The scalar reference used by the property test below is itself correct.
    for ctr, key, expected in KAT_10:
        assert scalar_philox(ctr, key) == expected


words = st.integers(0, 2 ** 32 - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(words, words, words, words, words, words), min_size=1, max_size=20))
def test_vectorised_twin_equals_scalar_reference(rows):
    # Vectorised uint64 arithmetic == Python-int arithmetic for arbitrary words
    # (a lost carry or a wrong mask would show up on random inputs).
    ctr = np.array([r[:4] for r in rows], dtype=np.uint32)
    key = np.array([r[4:] for r in rows], dtype=np.uint32)
    got = philox4x32_10(ctr, key)
    assert got.dtype == np.uint32 and got.shape == (len(rows), 4)
    for i, r in enumerate(rows):
        assert tuple(int(x) for x in got[i]) == scalar_philox(r[:4], r[4:])


def test_key_broadcasts_over_counters():
    ctr = np.arange(40, dtype=np.uint32).reshape(10, 4)
    one = philox4x32_10(ctr, [1, 2])
    many = philox4x32_10(ctr, np.tile(np.array([1, 2], dtype=np.uint32), (10, 1)))
    assert np.array_equal(one, many)


@pytest.mark.parametrize("ctr,key,exc", [
    ([0, 0, 0], [0, 0], ValueError),               # 3 counter words
    ([0, 0, 0, 0], [0], ValueError),               # 1 key word
    ([0, 0, 0, 2 ** 32], [0, 0], ValueError),      # word out of range
    ([0, 0, 0, -1], [0, 0], ValueError),
    ([0, 0, 0, 0.5], [0, 0], TypeError),
    (np.zeros(4), [0, 0], TypeError),              # float array
])
def test_philox_rejects_bad_words(ctr, key, exc):
    with pytest.raises(exc):
        philox4x32_10(ctr, key)


def test_philox_key_is_deterministic_and_does_not_mutate_seed_sequence():
    ss = np.random.SeedSequence(42)
    assert philox_key(ss) == philox_key(42) == philox_key(ss)
    assert ss.n_children_spawned == 0
    assert philox_key(42) != philox_key(43)


# --------------------------------------------------------------------------- streams

def test_uniforms_are_exact_and_in_half_open_unit_interval():
    rng = np.random.default_rng(0)
    hi = rng.integers(0, 2 ** 32, 1000, dtype=np.uint64)
    lo = rng.integers(0, 2 ** 32, 1000, dtype=np.uint64)
    u = uniforms_from_words(hi, lo)
    expected = [((int(h) << 21 | int(l) >> 11) + 1) / 2 ** 53 for h, l in zip(hi, lo)]
    assert u.tolist() == expected  # exact: every (m + 1) * 2**-53 is a double
    extremes = uniforms_from_words(np.array([0, 2 ** 32 - 1]), np.array([0, 2 ** 32 - 1]))
    assert extremes.tolist() == [2.0 ** -53, 1.0]  # never 0: log(u) is finite


def test_normals_follow_the_documented_box_muller_map():
    # Recompute a few normals by hand from raw Philox blocks (element layout,
    # tag 0, trial words, odd d): falsified by any layout change.
    seed, d, first = 9, 7, 2 ** 32 + 5  # trial index above 2**32 uses counter word 1
    key = philox_key(seed)
    z = philox_normals(3, d, seed, first_trial=first)
    assert z.shape == (3, d)
    for i in range(3):
        trial = first + i
        for e in range(d):
            x = scalar_philox((trial & 0xFFFFFFFF, trial >> 32, e // 2, 0), key)
            u1 = ((x[0] << 21 | x[1] >> 11) + 1) / 2 ** 53
            u2 = ((x[2] << 21 | x[3] >> 11) + 1) / 2 ** 53
            r = math.sqrt(-2.0 * math.log(u1))
            th = 2.0 * math.pi * u2
            ref = r * (math.cos(th) if e % 2 == 0 else math.sin(th))
            # NumPy's vectorised log/cos/sin may differ from libm's by an ulp or two.
            assert z[i, e] == pytest.approx(ref, rel=1e-14, abs=1e-15)


def test_normal_rows_depend_only_on_trial_index():
    full = philox_normals(50, 9, 3)
    assert np.array_equal(philox_normals(20, 9, 3, first_trial=30), full[30:])
    assert np.array_equal(philox_normals(50, 8, 3), full[:, :8])  # d only truncates
    assert np.array_equal(philox_normals(5, 9, key=philox_key(3)), full[:5])
    assert not np.array_equal(philox_normals(50, 9, 4), full)


def test_normal_stream_is_standard_normal():
    # KS test of 200,000 samples (false alarm 1e-4) plus the maximal magnitude
    # the 53-bit uniforms allow (sqrt(2 * 53 log 2) = 8.57).
    z = philox_normals(2000, 100, seed=2026).ravel()
    assert stats.kstest(z, "norm").pvalue > ALPHA
    assert np.abs(z).max() <= math.sqrt(2 * 53 * math.log(2))
    # Even and odd elements (cos and sin halves) separately: same law.
    assert stats.kstest(z.reshape(-1, 2)[:, 1], "norm").pvalue > ALPHA
    # No correlation between the two halves of a Box-Muller pair: |r| sqrt(n) ~ N(0,1),
    # two-sided z-test at 1e-4.
    pair = z.reshape(-1, 2)
    r = np.corrcoef(pair[:, 0], pair[:, 1])[0, 1]
    assert abs(r) * math.sqrt(pair.shape[0]) < stats.norm.isf(ALPHA / 2)


def test_sign_stream_layout_and_balance():
    key = philox_key(5)
    s = philox_signs(4, 300, 5, first_trial=7)
    for i in range(4):
        for e in (0, 31, 32, 127, 128, 299):
            x = scalar_philox((7 + i, 0, e // 128, 1), key)
            bit = (x[(e // 32) % 4] >> (e % 32)) & 1
            assert s[i, e] == (-1.0 if bit else 1.0)
    many = philox_signs(1000, 200, 6)
    neg = int((many < 0).sum())
    assert stats.binomtest(neg, many.size, 0.5).pvalue > ALPHA  # false alarm 1e-4


# --------------------------------------------------------------------------- CUDA source, host run

_SHIM = r"""
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
struct emu_dim3 { unsigned int x, y, z; };
static emu_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(threads, blocks)
#define __shared__
#define __restrict__ __restrict
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * (unsigned long long)b) >> 32); }
static inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }
static inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
static inline void __syncthreads() {}
/* blocks of one thread: the other lanes of a "warp" contribute nothing */
template <class T> static inline T __shfl_down_sync(unsigned int, T, int) { return T(0); }
static inline unsigned int atomicAdd(unsigned int* p, unsigned int v) {
    unsigned int o = *p; *p += v; return o; }
static inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    unsigned long long o = *p; *p += v; return o; }
"""

_MAIN = r"""
unsigned int shared_hist[1 << 20];
int main(int argc, char** argv) {
    unsigned long long first = strtoull(argv[1], 0, 10), n = strtoull(argv[2], 0, 10);
    unsigned int k0 = strtoul(argv[3], 0, 10), k1 = strtoul(argv[4], 0, 10);
    int nu = atoi(argv[5]), ns = atoi(argv[6]);
    double sigma = strtod(argv[7], 0), mu = strtod(argv[8], 0);
    unsigned int nb = strtoul(argv[9], 0, 10);
    double thr[NT];
    for (int j = 0; j < NT; ++j) thr[j] = strtod(argv[10 + j], 0);
    unsigned long long hits[NT] = {0}, topk = 0, fps[NT] = {0}, fpsq[NT] = {0};
    unsigned long long* tph = (unsigned long long*)calloc(NT * (ns + 1), 8);
    unsigned long long* sh = (unsigned long long*)calloc(NT * (nu + 1), 8);
    unsigned long long* fph = (unsigned long long*)calloc(NT * (nu - ns + 1), 8);
    blockDim.x = 1; gridDim.x = nb; threadIdx.x = 0;
    for (unsigned int b = 0; b < nb; ++b) {
        blockIdx.x = b;
        support_count(thr, first, n, k0, k1, nu, ns, sigma, mu, hits, &topk, fps, fpsq,
                      tph, sh, fph);
    }
    printf("%llu\n", topk);
    for (int j = 0; j < NT; ++j) {
        printf("%llu %llu %llu\n", hits[j], fps[j], fpsq[j]);
        for (int i = 0; i <= ns; ++i) printf("%llu ", tph[j * (ns + 1) + i]);
        printf("\n");
        for (int i = 0; i <= nu; ++i) printf("%llu ", sh[j * (nu + 1) + i]);
        printf("\n");
        for (int i = 0; i <= nu - ns; ++i) printf("%llu ", fph[j * (nu - ns + 1) + i]);
        printf("\n");
    }
    return 0;
}
"""


def _emulate(tmp_path, *, thresholds, n_units, n_support, group_size, full_hist, shared_hist,
             key, trials, sigma=1.0, mu=0.0, first_trial=0, n_blocks=3):
    """Compile the kernel source for the host (blocks of one thread) and run it."""
    src = _SHIM + kernel_source(len(thresholds), group_size, full_hist, shared_hist) + _MAIN
    cpp, exe = tmp_path / "k.cpp", tmp_path / "k"
    cpp.write_text(src)
    subprocess.run(["g++", "-O1", "-ffp-contract=off", "-w", "-o", str(exe), str(cpp)],
                   check=True, capture_output=True)
    args = [first_trial, trials, key[0], key[1], n_units, n_support, repr(sigma), repr(mu),
            n_blocks] + [repr(float(t)) for t in thresholds]
    lines = subprocess.run([str(exe)] + [str(a) for a in args], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    out = {"topk_hits": int(lines[0]), "per_t": []}
    for j in range(len(thresholds)):
        h, f, f2 = (int(x) for x in lines[1 + 4 * j].split())
        hist = [[int(x) for x in lines[2 + 4 * j + i].split()] for i in range(3)]
        out["per_t"].append({"hits": h, "fp_sum": f, "fp_sumsq": f2, "tp_hist": hist[0],
                             "size_hist": hist[1] if full_hist else None,
                             "fp_hist": hist[2] if full_hist else None})
    return out


def _min_gap(n_trials, n_units, group_size, thresholds, key, sigma, mu, n_support, first_trial=0):
    """Smallest |magnitude - threshold| of the twin's samples (boundary-flip guard)."""
    d = n_units * group_size
    w = sigma * philox_normals(n_trials, d, key=key, first_trial=first_trial)
    if mu:
        s = philox_signs(n_trials, n_support * group_size, key=key, first_trial=first_trial)
        w[:, :n_support * group_size] = w[:, :n_support * group_size] + mu * s
    mag = _unit_magnitudes(w, group_size, kernel_order=True)
    return min(float(np.abs(mag - t).min()) for t in thresholds), mag


EMU_CASES = [
    # n_units, n_support, group_size, thresholds, mu, full_hist, shared_hist
    (16, 3, 1, (0.5, 1.5, 2.2), 0.0, True, True),
    (17, 0, 1, (1.0,), 0.0, True, False),            # odd d, empty support
    (9, 9, 1, (0.3, 2.0), 0.0, True, True),          # support = everything
    (6, 2, 3, (1.5, 2.5, 3.5, 4.5), 0.0, True, False),   # groups, global histograms
    (40, 5, 1, (2.0, 2.5), 1.7, False, True),        # planted signal, no full histograms
    (10, 3, 5, (2.0, 3.0), 0.8, True, True),         # planted groups
    (150, 140, 1, (0.1,), 2.5, True, False),         # signs past one 128-bit block
    (20, 4, 1, (0.7, 1.9), 0.9, True, 1),            # TP histogram shared, the others global
    (8, 2, 2, (1.0, 2.0, 3.0), 0.0, True, 1),        # the same with groups
]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler")
@pytest.mark.parametrize("case", EMU_CASES)
def test_kernel_source_on_host_equals_numpy_reference(tmp_path, case):
    # The CUDA kernel's own source, run on the CPU, must reproduce the counts of
    # the NumPy reference (method="philox") exactly.  Falsified by any slip in
    # the kernel's stream layout, sign handling, group sums, histogram offsets,
    # shared-memory flush or per-thread accumulation.  Boundary flips (libm vs
    # NumPy log/cos/sin differing in the last bit right at a threshold) are
    # ruled out first: every magnitude is at least 1e-9 away from every threshold.
    n_units, n_support, g, thresholds, mu, full, shared = case
    seed, trials, sigma = 1234, 700, 1.3
    key = philox_key(seed)
    gap, _ = _min_gap(trials, n_units, g, thresholds, key, sigma, mu, n_support)
    assert gap > 1e-9
    got = _emulate(tmp_path, thresholds=thresholds, n_units=n_units, n_support=n_support,
                   group_size=g, full_hist=full, shared_hist=shared, key=key, trials=trials,
                   sigma=sigma, mu=mu)
    if g == 1:
        ref = support_recovery_grid(n_units, n_support, thresholds, sigma=sigma, mu=mu,
                                    trials=trials, seed=seed, backend="numpy", method="philox")
        ref_topk = ref[0].topk_hits
        sizes = [r.size_hist for r in ref]
    else:
        ref = group_support_recovery_grid(n_units, g, n_support, thresholds, sigma=sigma, mu=mu,
                                          trials=trials, seed=seed, backend="numpy",
                                          method="philox")
        ref_topk = ref[0].topq_hits
        sizes = [r.count_hist for r in ref]
    assert got["topk_hits"] == ref_topk
    for j, r in enumerate(ref):
        e = got["per_t"][j]
        assert (e["hits"], e["fp_sum"], e["fp_sumsq"]) == (r.hits, r.fp_sum, r.fp_sumsq)
        assert e["tp_hist"] == r.tp_hist.tolist()
        if full:
            assert e["size_hist"] == sizes[j].tolist()
            assert e["fp_hist"] == r.fp_hist.tolist()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler")
def test_kernel_source_on_host_honours_first_trial(tmp_path):
    # Counter offset: trials first..first+n of the kernel == twin rows from first.
    key, first, trials, thresholds = philox_key(77), 2 ** 32 - 100, 300, (1.2, 2.4)
    gap, mag = _min_gap(trials, 12, 1, thresholds, key, 1.0, 0.0, 2, first_trial=first)
    assert gap > 1e-9
    totals = _Totals(12, 2, len(thresholds), True)
    totals.add_magnitudes(mag, thresholds)
    got = _emulate(tmp_path, thresholds=thresholds, n_units=12, n_support=2, group_size=1,
                   full_hist=True, shared_hist=True, key=key, trials=trials, first_trial=first)
    assert got["topk_hits"] == totals.topk
    for j in range(len(thresholds)):
        assert got["per_t"][j]["hits"] == totals.hits[j]
        assert got["per_t"][j]["size_hist"] == totals.size_hist[j].tolist()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs the CUDA compiler")
@pytest.mark.parametrize("config", [(1, 1, True, True), (8, 1, True, False), (3, 4, False, True)])
def test_kernel_source_compiles_for_hopper(tmp_path, config):
    # The same text NVRTC gets must compile for sm_90 (H100) without errors.
    cu = tmp_path / "k.cu"
    cu.write_text(kernel_source(*config))
    res = subprocess.run(["nvcc", "-arch=sm_90", "-cubin", "--fmad=false", "-o",
                          str(tmp_path / "k.cubin"), str(cu)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_kernel_source_configuration():
    src = kernel_source(3, 4, False, True)
    assert "#define NT 3" in src and "#define GROUP_SIZE 4" in src
    assert "#define FULL_HIST 0" in src and "#define SHARED_HIST 1" in src
    assert PHILOX_CUDA_SOURCE in src
    with pytest.raises(ValueError, match="n_thresholds"):
        kernel_source(9, 1, True, True)


# --------------------------------------------------------------------------- GPU

def _chisq_pvalue(observed, probs, min_expected=5.0):
    """Chi-square goodness of fit (sparsesim.stats, pooled to expected >= 5); 1.0 if untestable."""
    probs = np.asarray(probs, dtype=float)
    _, _, pv = chisquare_gof(np.asarray(observed), probs / probs.sum(), min_expected=min_expected)
    return 1.0 if np.isnan(pv) else float(pv)


@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_philox_bits_equal_twin():
    from sparsesim.kernels.support_count import gpu_philox4x32_10
    rng = np.random.default_rng(0)
    ctr = rng.integers(0, 2 ** 32, (100_000, 4), dtype=np.uint64).astype(np.uint32)
    key = rng.integers(0, 2 ** 32, (100_000, 2), dtype=np.uint64).astype(np.uint32)
    ctr[:3] = [c for c, _, _ in KAT_10]
    key[:3] = [k for _, k, _ in KAT_10]
    got = gpu_philox4x32_10(ctr, key)
    assert np.array_equal(got, philox4x32_10(ctr, key))  # bit for bit
    assert [tuple(int(x) for x in row) for row in got[:3]] == [e for _, _, e in KAT_10]


@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_normals_equal_twin_within_ulps():
    # Same integer bits and the same float64 operations; only CUDA's log/cos/sin
    # may differ from NumPy's in the last bits (documented <= 2 ulp each), so a
    # relative tolerance of 1e-13 (~450 ulp) with 1e-15 absolute near zero is
    # generous for rounding yet falsified by any real stream difference.
    from sparsesim.kernels.support_count import gpu_philox_normals
    key = philox_key(99)
    for d, first in ((7, 0), (64, 2 ** 32 - 3)):
        got = gpu_philox_normals(5000, d, key, first_trial=first)
        ref = philox_normals(5000, d, key=key, first_trial=first)
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.gpu
@pytest.mark.needs_cuda
@pytest.mark.parametrize("case", EMU_CASES)
def test_gpu_fused_counts_equal_philox_method(case):
    # Exact equality with the NumPy reference for the same seed, after ruling
    # out boundary flips (no magnitude within 1e-9 of a threshold).
    n_units, n_support, g, thresholds, mu, _, _ = case
    seed, trials, sigma = 4321, 3000, 0.9
    gap, _ = _min_gap(trials, n_units, g, thresholds, philox_key(seed), sigma, mu, n_support)
    assert gap > 1e-9
    kw = dict(sigma=sigma, mu=mu, trials=trials, seed=seed)
    if g == 1:
        fused = support_recovery_grid(n_units, n_support, thresholds, backend="cupy",
                                      method="fused", **kw)
        ref = support_recovery_grid(n_units, n_support, thresholds, backend="numpy",
                                    method="philox", **kw)
    else:
        fused = group_support_recovery_grid(n_units, g, n_support, thresholds, backend="cupy",
                                            method="fused", **kw)
        ref = group_support_recovery_grid(n_units, g, n_support, thresholds, backend="numpy",
                                          method="philox", **kw)
    for a, b in zip(fused, ref):
        assert a.method == "fused" and b.method == "philox"
        assert a.counts() == b.counts()


@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_fused_splits_thresholds_and_launches_consistently(monkeypatch):
    # More thresholds than one launch holds, and trials split over several
    # launches, must give the counts of one launch (counter-based stream).
    import sparsesim.kernels.support_count as sc
    ts = [0.2 * i for i in range(1, 12)]  # 11 > MAX_THRESHOLDS_PER_LAUNCH
    whole = support_recovery_grid(32, 3, ts, trials=20_000, seed=5, backend="cupy")
    monkeypatch.setattr(sc, "MAX_TRIALS_PER_LAUNCH", 3_001)
    split = support_recovery_grid(32, 3, ts, trials=20_000, seed=5, backend="cupy")
    singles = [support_recovery_grid(32, 3, [t], trials=20_000, seed=5, backend="cupy")[0]
               for t in ts[::5]]
    assert [r.counts() for r in whole] == [r.counts() for r in split]
    assert [r.counts() for r in whole[::5]] == [r.counts() for r in singles]


@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_fused_without_full_histograms_matches_philox():
    # d above HISTOGRAM_MAX_UNITS: no |S_hat| / FP histograms, other counts exact.
    d, t = 70_000, 3.0
    gap, _ = _min_gap(40, d, 1, (t,), philox_key(8), 1.0, 0.0, 2)
    assert gap > 1e-9
    a = support_recovery_grid(d, 2, [t], trials=40, seed=8, backend="cupy", method="fused")[0]
    b = support_recovery_grid(d, 2, [t], trials=40, seed=8, backend="numpy", method="philox")[0]
    assert a.size_hist is None and a.fp_hist is None
    assert a.counts() == b.counts()


@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_fused_agrees_with_array_path_statistically():
    # Two independent samples (fused kernel vs plain CuPy array path) of the
    # |S_hat| law at d=64, t=2: chi-square homogeneity test at 1e-4, and a
    # two-proportion z-test on the hit counts at 1e-4 (false alarm 2e-4 total).
    d, k, t, n = 64, 2, 2.0, 2_000_000
    fused = support_recovery_grid(d, k, [t], trials=n, seed=1, backend="cupy", method="fused")[0]
    plain = support_recovery_grid(d, k, [t], trials=n, seed=2, backend="cupy", method="array")[0]
    table = np.vstack([fused.size_hist, plain.size_hist]).astype(float)
    keep = table.sum(axis=0) >= 10
    table = np.hstack([table[:, keep], table[:, ~keep].sum(axis=1, keepdims=True)])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > ALPHA
    p1, p2 = fused.hits / n, plain.hits / n
    pooled = (fused.hits + plain.hits) / (2 * n)
    z = (p1 - p2) / math.sqrt(max(pooled * (1 - pooled) * 2 / n, 1e-300))
    assert abs(z) < stats.norm.isf(ALPHA / 2)


@pytest.mark.gpu
@pytest.mark.needs_cuda
@pytest.mark.parametrize("d,k,t", [(16, 1, 1.86), (64, 2, 2.0), (1024, 4, 3.0)])
def test_gpu_fused_follows_binomial_laws(d, k, t):
    # |S_hat| ~ Binomial(d, q), TP ~ Binomial(k, q), FP ~ Binomial(d-k, q) with
    # q = erfc(t/sqrt 2) (chi-square at 1e-4 each), hits ~ Binomial(n, q^k (1-q)^(d-k))
    # (exact binomial test at 1e-4): false alarm <= 4e-4 per case.
    n = 1_000_000
    r = support_recovery_grid(d, k, [t], trials=n, seed=11, backend="cupy")[0]
    assert r.method == "fused"
    q = float(special.erfc(t / math.sqrt(2)))
    assert _chisq_pvalue(r.size_hist, stats.binom(d, q).pmf(np.arange(d + 1))) > ALPHA
    assert _chisq_pvalue(r.tp_hist, stats.binom(k, q).pmf(np.arange(k + 1))) > ALPHA
    assert _chisq_pvalue(r.fp_hist, stats.binom(d - k, q).pmf(np.arange(d - k + 1))) > ALPHA
    p_hit = q ** k * (1 - q) ** (d - k)
    assert stats.binomtest(r.hits, n, p_hit).pvalue > ALPHA


# --------------------------------------------------------------------------- launch planning (CPU)

def test_one_limit_for_weights_per_trial():
    # Validation and the kernel accept the same d: a size the simulator takes
    # must not fail only on the GPU.
    from sparsesim.kernels.support_count import MAX_WEIGHTS_PER_TRIAL, fused_support_counts
    from sparsesim.sim.support_recovery import MAX_TRIAL_WEIGHTS
    assert MAX_TRIAL_WEIGHTS == MAX_WEIGHTS_PER_TRIAL == 2 ** 31
    with pytest.raises(ValueError, match="MAX_WEIGHTS_PER_TRIAL"):
        fused_support_counts(2 ** 30 + 1, 1, [1.0], trials=1, key=(0, 0), group_size=2)


@pytest.mark.parametrize("remaining", [1, 255, 257, 10 ** 6, 10 ** 12])
@pytest.mark.parametrize("n_units", [1, 7, 4096, 2 ** 20 + 3, 2 ** 31])
def test_launch_shape_keeps_32_bit_thread_totals_exact(remaining, n_units):
    # The kernel sums false positives per thread in 32 bits: trials per thread
    # times n_units must stay below 2**32, and a launch never exceeds the shared
    # counters' trial cap nor the work left.
    from sparsesim.kernels.support_count import (MAX_TRIALS_PER_LAUNCH, THREADS_PER_BLOCK,
                                                 launch_shape)
    blocks, n = launch_shape(remaining, n_units, 132)
    threads = blocks * THREADS_PER_BLOCK
    assert 1 <= n <= min(remaining, MAX_TRIALS_PER_LAUNCH)
    assert -(-n // threads) * n_units <= 2 ** 32 - 1
    assert blocks <= 8 * 132


def test_histogram_plan_prefers_shared_memory_where_it_fits():
    from sparsesim.kernels.support_count import histogram_plan
    # everything fits: all three histograms shared; bytes = 4 * NT * bins
    assert histogram_plan(100, 5, 8, True, budget_bytes=48 * 1024) == (2, 4 * 8 * (6 + 101 + 96))
    # too big for all three: the TP histogram (the hot bins) alone
    assert histogram_plan(3000, 5, 8, True, budget_bytes=48 * 1024) == (1, 4 * 8 * 6)
    # a larger (opt-in) budget holds the full histograms again
    assert histogram_plan(3000, 5, 8, True, budget_bytes=200 * 1024)[0] == 2
    # nothing fits: global atomics only
    assert histogram_plan(10 ** 6, 10 ** 5, 8, False, budget_bytes=48 * 1024) == (0, 0)
    assert histogram_plan(100, 5, 8, False)[0] == 1
