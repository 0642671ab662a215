"""Philox4x32-10, the counter-based generator behind the fused kernels.

Philox4x32-R (Salmon, Moraes, Dror & Shaw, SC'11; the Random123 library) maps
a 128-bit *counter* and a 64-bit *key* to 128 random bits through R rounds of
two 32x32->64-bit multiplications.  Because every output block is a pure
function of (counter, key), a GPU thread can generate the random numbers of
trial ``n`` on its own, in registers, without any generator state in memory.

This module holds the generator twice:

* ``PHILOX_CUDA_SOURCE`` — CUDA C device functions, pasted into the
  ``cupy.RawKernel`` sources of :mod:`sparsesim.kernels.support_count`;
* :func:`philox4x32` / :func:`philox4x32_10` — a vectorised NumPy (or CuPy)
  twin in uint64 arithmetic, bit-for-bit equal to the CUDA code and checked
  against the Random123 known-answer vectors in the test-suite.

The normal stream
-----------------
:func:`philox_normals` defines the standard normals used by the fused
support-recovery kernel.  Element ``e`` (``0 <= e < d``) of trial ``n`` comes
from block ``j = e // 2`` of the counter

    ``(n mod 2**32, n // 2**32, j, 0)`` under the key ``(key0, key1)``,

whose four output words ``x0..x3`` give two uniforms with 53 random bits,

    ``u1 = ((x0 << 21 | x1 >> 11) + 1) * 2**-53``,
    ``u2 = ((x2 << 21 | x3 >> 11) + 1) * 2**-53``      (both in (0, 1]),

and the Box–Muller pair, in float64,

    ``r = sqrt(-2 log u1)``, ``theta = 2 pi u2``,
    ``z[2j] = r cos theta``, ``z[2j+1] = r sin theta``

(for odd ``d`` the last sine is dropped).  Uniforms are never 0, so the
logarithm is always finite; the largest magnitude the stream can produce is
``sqrt(2 * 53 * log 2) = 8.57`` (a tail probability of 1e-17 is cut off).
All arithmetic is float64; the CUDA code uses ``__dmul_rn`` and no fused
multiply-adds, so GPU and NumPy samples differ only by the last-bit
differences of the ``log``/``cos``/``sin`` implementations (a few ulps).

Counter tag 1 carries random signs: bit ``b`` of block ``j`` (word ``b // 32``,
bit ``b % 32``) is the sign of element ``128 j + b`` (set = negative); see
:func:`philox_signs`.

Keys come from a seed through :func:`philox_key`
(``SeedSequence(seed).generate_state(2, uint32)``).

Examples
--------
>>> [hex(x) for x in philox4x32_10([0, 0, 0, 0], [0, 0])]
['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
>>> z = philox_normals(2, 3, seed=7)
>>> z.shape, z.dtype
((2, 3), dtype('float64'))
>>> bool((philox_normals(1, 3, seed=7, first_trial=1) == z[1:]).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_int
from ..backend import get_namespace, namespace_of, seed_sequence

__all__ = [
    "PHILOX_M4x32",
    "PHILOX_W32",
    "PHILOX_CUDA_SOURCE",
    "PHILOX_DEBUG_SOURCE",
    "TAG_NORMALS",
    "TAG_SIGNS",
    "philox4x32",
    "philox4x32_10",
    "philox_key",
    "uniforms_from_words",
    "philox_normals",
    "philox_signs",
]

#: Multipliers of the two Philox4x32 S-boxes (Random123 ``PHILOX_M4x32_0/1``).
PHILOX_M4x32 = (0xD2511F53, 0xCD9E8D57)
#: Weyl key increments (Random123 ``PHILOX_W32_0/1``: golden ratio, sqrt(3) - 1).
PHILOX_W32 = (0x9E3779B9, 0xBB67AE85)
#: Counter word 3 of the normal stream and of the sign stream.
TAG_NORMALS = 0
TAG_SIGNS = 1

_MASK32 = 0xFFFFFFFF
_TWO_PI = 2.0 * math.pi              # the double nearest 2*pi, as in the CUDA source
_TWO_POW_M53 = 2.0 ** -53

PHILOX_CUDA_SOURCE = r"""
typedef unsigned int u32;
typedef unsigned long long u64;

struct philox_ctr { u32 x, y, z, w; };

/* Philox4x32-10 (Random123): ten rounds, key bumped before rounds 2..10. */
__device__ __forceinline__ philox_ctr philox4x32_10(philox_ctr c, u32 k0, u32 k1)
{
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        const u32 hi0 = __umulhi(0xD2511F53u, c.x);
        const u32 lo0 = 0xD2511F53u * c.x;
        const u32 hi1 = __umulhi(0xCD9E8D57u, c.z);
        const u32 lo1 = 0xCD9E8D57u * c.z;
        philox_ctr o;
        o.x = hi1 ^ c.y ^ k0;
        o.y = lo1;
        o.z = hi0 ^ c.w ^ k1;
        o.w = lo0;
        c = o;
    }
    return c;
}

/* 53 random bits (hi: 32, lo: top 21) -> a double in (0, 1], exactly. */
__device__ __forceinline__ double philox_u53(u32 hi, u32 lo)
{
    const u64 m = ((u64)hi << 21) | (u64)(lo >> 11);
    return __dmul_rn((double)(m + 1ull), 1.1102230246251565404236316680908203125e-16);
}

/* Box-Muller on one Philox block: two standard normals, float64. */
__device__ __forceinline__ void philox_box_muller(philox_ctr x, double* z0, double* z1)
{
    const double u1 = philox_u53(x.x, x.y);
    const double u2 = philox_u53(x.z, x.w);
    const double r = sqrt(__dmul_rn(-2.0, log(u1)));
    const double th = __dmul_rn(6.283185307179586, u2);
    *z0 = __dmul_rn(r, cos(th));
    *z1 = __dmul_rn(r, sin(th));
}

"""

#: ``PHILOX_CUDA_SOURCE`` plus two test kernels (raw blocks, the normal stream)
#: that write the device's numbers to memory for comparison with the twin.
PHILOX_DEBUG_SOURCE = PHILOX_CUDA_SOURCE + r"""
/* Debug/test kernel: raw Philox blocks for n (counter, key) pairs. */
extern "C" __global__ void philox4x32_10_raw(const u32* __restrict__ ctr,
                                             const u32* __restrict__ key,
                                             u32* __restrict__ out,
                                             const u64 n)
{
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    philox_ctr c;
    c.x = ctr[4 * i]; c.y = ctr[4 * i + 1]; c.z = ctr[4 * i + 2]; c.w = ctr[4 * i + 3];
    c = philox4x32_10(c, key[2 * i], key[2 * i + 1]);
    out[4 * i] = c.x; out[4 * i + 1] = c.y; out[4 * i + 2] = c.z; out[4 * i + 3] = c.w;
}

/* Debug/test kernel: the normal stream of philox_normals(), one thread per trial. */
extern "C" __global__ void philox_normals_kernel(const u64 first_trial, const u64 n_trials,
                                                 const int d, const u32 k0, const u32 k1,
                                                 double* __restrict__ out)
{
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_trials) return;
    const u64 trial = first_trial + i;
    for (int j = 0; 2 * j < d; ++j) {
        philox_ctr c;
        c.x = (u32)trial; c.y = (u32)(trial >> 32); c.z = (u32)j; c.w = 0u;
        double z0, z1;
        philox_box_muller(philox4x32_10(c, k0, k1), &z0, &z1);
        out[i * (u64)d + 2 * j] = z0;
        if (2 * j + 1 < d) out[i * (u64)d + 2 * j + 1] = z1;
    }
}
"""


def _as_words(name: str, value: Any, n_words: int, xp) -> Any:
    """Integer array with trailing axis ``n_words``, values in [0, 2**32), as uint64."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            raise TypeError(f"{name} must hold integers; got {value!r}")
        arr = np.asarray([int(v) for v in value], dtype=object)
        if arr.size and (min(arr) < 0 or max(arr) > _MASK32):
            raise ValueError(f"{name} words must be in [0, 2**32 - 1]; got {value!r}")
        arr = xp.asarray(np.asarray(arr, dtype=np.uint64))
    else:
        if not (hasattr(value, "dtype") and hasattr(value, "shape")):
            raise TypeError(f"{name} must be a sequence or an integer array; "
                            f"got {type(value).__name__}")
        if value.dtype.kind not in "iu":
            raise TypeError(f"{name} must have an integer dtype; got {value.dtype}")
        if value.size and (int(value.min()) < 0 or int(value.max()) > _MASK32):
            raise ValueError(f"{name} words must be in [0, 2**32 - 1]")
        arr = value.astype(xp.uint64)
    if arr.ndim == 0 or arr.shape[-1] != n_words:
        raise ValueError(f"{name} must have a trailing axis of length {n_words}; "
                         f"got shape {tuple(arr.shape)}")
    return arr


def _philox_rounds(c0, c1, c2, c3, k0, k1, rounds: int, xp):
    """The Philox4x32 rounds on uint64 arrays holding 32-bit words."""
    m0 = xp.uint64(PHILOX_M4x32[0])
    m1 = xp.uint64(PHILOX_M4x32[1])
    w0 = xp.uint64(PHILOX_W32[0])
    w1 = xp.uint64(PHILOX_W32[1])
    mask = xp.uint64(_MASK32)
    s32 = xp.uint64(32)
    for r in range(rounds):
        if r > 0:
            k0 = (k0 + w0) & mask
            k1 = (k1 + w1) & mask
        p0 = c0 * m0          # < 2**64: exact in uint64
        p1 = c2 * m1
        c0, c1, c2, c3 = ((p1 >> s32) ^ c1 ^ k0, p1 & mask,
                          (p0 >> s32) ^ c3 ^ k1, p0 & mask)
    return c0, c1, c2, c3


def philox4x32(counter: Any, key: Any, rounds: int = 10) -> Any:
    """Philox4x32-R blocks, vectorised: the reference twin of the CUDA code.

    Parameters
    ----------
    counter : sequence of 4 ints, or integer array of shape (..., 4)
        Counter words, each in ``[0, 2**32)``.
    key : sequence of 2 ints, or integer array of shape (..., 2)
        Key words; broadcast against ``counter``'s leading axes.
    rounds : int
        Number of rounds (10 is the standard Philox4x32-10; 7 is the
        shortest variant Random123 publishes answers for).

    Returns
    -------
    numpy.ndarray or cupy.ndarray of uint32, shape (..., 4)
        The output words, on the device of ``counter`` (NumPy for sequences).

    Raises
    ------
    TypeError, ValueError
        For non-integer input, words outside ``[0, 2**32)`` or a wrong
        trailing length.

    Examples
    --------
    >>> [hex(x) for x in philox4x32([0xffffffff] * 4, [0xffffffff] * 2)]
    ['0x408f276d', '0x41c83b0e', '0xa20bc7c6', '0x6d5451fd']
    """
    rounds = check_int("rounds", rounds, low=1, high=64)
    xp = namespace_of(counter, key)
    c = _as_words("counter", counter, 4, xp)
    k = _as_words("key", key, 2, xp)
    out = _philox_rounds(c[..., 0], c[..., 1], c[..., 2], c[..., 3],
                         k[..., 0], k[..., 1], rounds, xp)
    shape = np.broadcast_shapes(*(tuple(o.shape) for o in out))
    return xp.stack([xp.broadcast_to(o, shape) for o in out], axis=-1).astype(xp.uint32)


def philox4x32_10(counter: Any, key: Any) -> Any:
    """Philox4x32-10 (ten rounds): see :func:`philox4x32`.

    Examples
    --------
    >>> out = philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    ...                     [0xa4093822, 0x299f31d0])
    >>> [hex(x) for x in out]
    ['0xd16cfe09', '0x94fdcceb', '0x5001e420', '0x24126ea1']
    """
    return philox4x32(counter, key, 10)


def philox_key(seed: Any) -> tuple[int, int]:
    """The two 32-bit key words derived from a seed (int >= 0 or SeedSequence).

    ``SeedSequence(seed).generate_state(2, uint32)``; the SeedSequence is not
    modified, so the same seed always gives the same key.

    Examples
    --------
    >>> philox_key(0) == philox_key(0)
    True
    >>> philox_key(0) != philox_key(1)
    True
    """
    words = seed_sequence(seed).generate_state(2, dtype=np.uint32)
    return int(words[0]), int(words[1])


def uniforms_from_words(hi: Any, lo: Any) -> Any:
    """Doubles in (0, 1] from 53 bits: ``((hi << 21 | lo >> 11) + 1) * 2**-53``.

    ``hi``/``lo`` are integer arrays of 32-bit words.  The map is exact in
    float64; it gives ``2**-53`` for zero words and ``1.0`` for all-ones.

    Examples
    --------
    >>> uniforms_from_words(np.array([0, 0xffffffff]), np.array([0, 0xffffffff]))
    array([1.11022302e-16, 1.00000000e+00])
    """
    xp = namespace_of(hi, lo)
    hi = hi.astype(xp.uint64)
    lo = lo.astype(xp.uint64)
    m = (hi << xp.uint64(21)) | (lo >> xp.uint64(11))
    return (m + xp.uint64(1)).astype(xp.float64) * _TWO_POW_M53


def _trial_words(first_trial: int, n_trials: int, xp):
    trials = xp.uint64(first_trial) + xp.arange(n_trials, dtype=xp.uint64)
    return (trials & xp.uint64(_MASK32))[:, None], (trials >> xp.uint64(32))[:, None]


def _check_stream_args(n_trials, d, first_trial):
    n_trials = check_int("n_trials", n_trials, low=0)
    d = check_int("d", d, low=0)
    first_trial = check_int("first_trial", first_trial, low=0, high=2 ** 64 - 1)
    if first_trial + n_trials > 2 ** 64:
        raise ValueError(f"first_trial + n_trials must be <= 2**64; got "
                         f"{first_trial} + {n_trials}")
    if (d + 1) // 2 > 2 ** 32:
        raise ValueError(f"d must be <= 2**33; got {d}")
    return n_trials, d, first_trial


def philox_normals(n_trials: int, d: int, seed: Any = None, *, key: tuple[int, int] | None = None,
                   first_trial: int = 0, backend: str = "numpy") -> Any:
    """Standard normals of the Philox stream (module notes), shape ``(n_trials, d)``.

    This is the float64 twin of what the fused kernel generates in registers:
    row ``i`` holds trial ``first_trial + i``.  Rows depend only on the key and
    the trial index, so any split of the trials into calls gives the same
    numbers.

    Parameters
    ----------
    n_trials, d : int
        Output shape.
    seed : int or SeedSequence, optional
        Source of the key (:func:`philox_key`); ignored when ``key`` is given.
    key : (int, int), optional
        The key words directly.
    first_trial : int
        Index of the first trial (counter words 0 and 1).
    backend : str
        ``"numpy"`` (default) or ``"cupy"``/``"auto"``: where the twin runs.

    Returns
    -------
    array of float64, shape (n_trials, d)

    Examples
    --------
    >>> z = philox_normals(1000, 64, seed=1)
    >>> abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01
    True
    """
    n_trials, d, first_trial = _check_stream_args(n_trials, d, first_trial)
    xp = get_namespace(backend)
    k0, k1 = philox_key(seed) if key is None else (check_int("key[0]", key[0], low=0, high=_MASK32),
                                                   check_int("key[1]", key[1], low=0, high=_MASK32))
    n_blocks = (d + 1) // 2
    c0, c1 = _trial_words(first_trial, n_trials, xp)
    c2 = xp.arange(n_blocks, dtype=xp.uint64)[None, :]
    c3 = xp.zeros((1, 1), dtype=xp.uint64) + xp.uint64(TAG_NORMALS)
    x0, x1, x2, x3 = _philox_rounds(c0, c1, c2, c3, xp.uint64(k0), xp.uint64(k1), 10, xp)
    x0, x1, x2, x3 = (xp.broadcast_to(x, (n_trials, n_blocks)) for x in (x0, x1, x2, x3))
    u1 = uniforms_from_words(x0, x1)
    u2 = uniforms_from_words(x2, x3)
    r = xp.sqrt(-2.0 * xp.log(u1))
    theta = _TWO_PI * u2
    out = xp.empty((n_trials, 2 * n_blocks), dtype=xp.float64)
    out[:, 0::2] = r * xp.cos(theta)
    out[:, 1::2] = r * xp.sin(theta)
    return out[:, :d] if d % 2 else out


def philox_signs(n_trials: int, n: int, seed: Any = None, *, key: tuple[int, int] | None = None,
                 first_trial: int = 0, backend: str = "numpy") -> Any:
    """Random signs (+1.0 / -1.0) of the Philox sign stream (counter tag 1).

    Element ``e`` of trial ``first_trial + i`` is ``-1`` when bit ``e % 32`` of
    word ``(e // 32) % 4`` of block ``e // 128`` is set.

    Examples
    --------
    >>> s = philox_signs(3, 5, seed=0)
    >>> s.shape, sorted(set(s.ravel().tolist())) <= [-1.0, 1.0]
    ((3, 5), True)
    """
    n_trials, n, first_trial = _check_stream_args(n_trials, n, first_trial)
    xp = get_namespace(backend)
    k0, k1 = philox_key(seed) if key is None else (check_int("key[0]", key[0], low=0, high=_MASK32),
                                                   check_int("key[1]", key[1], low=0, high=_MASK32))
    n_blocks = (n + 127) // 128
    c0, c1 = _trial_words(first_trial, n_trials, xp)
    c2 = xp.arange(n_blocks, dtype=xp.uint64)[None, :]
    c3 = xp.zeros((1, 1), dtype=xp.uint64) + xp.uint64(TAG_SIGNS)
    words = _philox_rounds(c0, c1, c2, c3, xp.uint64(k0), xp.uint64(k1), 10, xp)
    words = xp.stack([xp.broadcast_to(w, (n_trials, n_blocks)) for w in words], axis=-1)
    words = words.reshape(n_trials, 4 * n_blocks)              # word index = e // 32
    e = xp.arange(n, dtype=xp.uint64)
    bits = (words[:, (e >> xp.uint64(5)).astype(xp.int64)] >> (e & xp.uint64(31))) & xp.uint64(1)
    return 1.0 - 2.0 * bits.astype(xp.float64)
