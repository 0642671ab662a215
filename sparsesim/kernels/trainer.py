"""CUDA kernels of the batched trainer's step, and their array twins.

Two hand-written kernels take the element-wise work of a training step off
CuPy's one-operation-per-launch path:

* ``sparsesim_bias_relu`` -- the epilogue of a layer's matrix product:
  ``z += b``, then (hidden layers) ``gate = [z > 0]``, ``z *= gate`` and the
  residual ``z += a``, one launch per layer instead of four (and one read and
  write of ``z`` instead of four);
* ``sparsesim_adam_multi`` -- masked Adam over every tensor of the network
  in one launch (the multi-tensor form of PyTorch's fused Adam): gradient
  mask, both moments, the bias-corrected step and the weight mask for all
  ``2 L`` tensors, through a device table of their addresses.

Both are compiled with the package's flags (``--fmad=false``: no
multiply-add contraction) and use only IEEE-rounded ``+ - * /`` and
``sqrt``, each operation in the order of its twin, so a kernel and its twin
(:func:`bias_relu_twin_`, :func:`adam_multi_twin_`; plain array code, NumPy
or CuPy) give bit-identical results on the same inputs -- on the device the
tests compare them with ``tobytes()``.

The launchers (:func:`bias_relu_`, :func:`adam_multi_`) use the kernel where
the array module compiles CUDA (``RawKernel``, real CuPy) and the operands
are C-contiguous, and the twin elsewhere (NumPy, the CPU stand-in for CuPy),
so the calling code is one path for both devices.  Nothing here imports CuPy.

:func:`tf32_matmul` switches CuPy's float32 matrix products to TF32 tensor
cores (``cupy._core.set_compute_type``) for the length of a ``with`` block:
faster, with a 10-bit mantissa in the products; off unless asked for.

Examples
--------
>>> import numpy as np
>>> z = np.array([[[-1.0, 2.0]]]); gate = np.empty_like(z)
>>> bias_relu_(np, z, gate, np.array([[0.5, 0.5]]), None, relu=True)
>>> z.tolist(), gate.tolist()
([[[-0.0, 2.5]]], [[[0.0, 1.0]]])
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import numpy as np

from .support_count import NVCC_OPTIONS

__all__ = ["BIAS_RELU_SOURCE", "ADAM_MULTI_SOURCE", "THREADS", "kernel_source",
           "bias_relu_", "bias_relu_twin_", "adam_multi_", "adam_multi_twin_", "AdamTable",
           "tf32_matmul", "has_cuda_kernels"]

#: Threads per block of both kernels.
THREADS = 256
#: Most blocks of one launch (grid-stride loops cover the rest).
MAX_BLOCKS = 8192

BIAS_RELU_SOURCE = r"""
typedef CTYPE T;
/* z (B, n, w), gate (B, n, w), b (B, w), a (B, n, w): all C-contiguous.
   z <- z + b; with flags & 1 (a hidden layer): g = [z > 0], z <- z * g, then
   z <- z + a with flags & 4 (residual) and gate <- g with flags & 2 (gate and a
   are not read otherwise). */
extern "C" __global__ void __launch_bounds__(256)
sparsesim_bias_relu(T* __restrict__ z, T* __restrict__ gate, const T* __restrict__ b,
                    const T* __restrict__ a, const long long total, const long long per_model,
                    const long long width, const int flags)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        const long long model = i / per_model;
        T v = z[i] + b[model * width + i % width];
        if (flags & 1) {
            const T g = v > (T)0 ? (T)1 : (T)0;
            v = v * g;
            if (flags & 4) {
                v = v + a[i];
            }
            if (flags & 2) {
                gate[i] = g;
            }
        }
        z[i] = v;
    }
}
"""

ADAM_MULTI_SOURCE = r"""
typedef CTYPE T;
/* Masked Adam over n_tensors tensors in one launch.  table[5 t .. 5 t + 4] hold the
   addresses of tensor t's p, g, m, v and mask (0: unmasked); tensor t has per[t]
   entries per model and starts at flat index start[t] (start[n_tensors] = total).
   Per model: step_size, sqrt_bc2 and, when gated != 0, act (0/1; else every model
   is active and act is not read). */
extern "C" __global__ void __launch_bounds__(256)
sparsesim_adam_multi(const unsigned long long* __restrict__ table,
                     const long long* __restrict__ per, const long long* __restrict__ start,
                     const int n_tensors, const long long total,
                     const T* __restrict__ step_size, const T* __restrict__ sqrt_bc2,
                     const T* __restrict__ act, const int gated, const T b1, const T c1,
                     const T b2, const T c2, const T eps)
{
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int t = 0;
        while (t + 1 < n_tensors && start[t + 1] <= i) {
            ++t;
        }
        const long long j = i - start[t];
        const long long model = j / per[t];
        T* p = (T*)table[5 * t];
        const T* g = (const T*)table[5 * t + 1];
        T* m = (T*)table[5 * t + 2];
        T* v = (T*)table[5 * t + 3];
        const T* mask = (const T*)table[5 * t + 4];
        const T gm = mask != 0 ? g[j] * mask[j] : g[j];
        T pj = p[j];
        if (!gated || act[model] > (T)0) {
            const T mj = b1 * m[j] + c1 * gm;
            const T vj = b2 * v[j] + c2 * (gm * gm);
            m[j] = mj;             /* stored before the division: nothing spills */
            v[j] = vj;             /* around its double-precision slow path */
            const T denom = sqrt(vj) / sqrt_bc2[model] + eps;
            pj = pj - step_size[model] * (mj / denom);
        }
        if (mask != 0) {
            pj = pj * mask[j];
        }
        p[j] = pj;
    }
}
"""

_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def kernel_source(source: str, dtype: Any) -> str:
    """``source`` for ``dtype`` (float32 -> ``float``, float64 -> ``double``).

    Examples
    --------
    >>> kernel_source(BIAS_RELU_SOURCE, np.float32).lstrip().splitlines()[0]
    'typedef float T;'
    """
    dt = np.dtype(dtype)
    if dt not in _CTYPES:
        raise TypeError(f"dtype must be float32 or float64; got {dt}")
    return source.replace("CTYPE", _CTYPES[dt], 1)


def has_cuda_kernels(xp: Any) -> bool:
    """Whether ``xp`` compiles and launches CUDA kernels (real CuPy; not NumPy or a stand-in).

    Examples
    --------
    >>> has_cuda_kernels(np)
    False
    """
    return hasattr(xp, "RawKernel") and hasattr(getattr(xp, "cuda", None), "Stream")


@functools.lru_cache(maxsize=None)
def _kernel(xp: Any, source_name: str, dtype_str: str):
    source = {"bias_relu": BIAS_RELU_SOURCE, "adam_multi": ADAM_MULTI_SOURCE}[source_name]
    return xp.RawKernel(kernel_source(source, dtype_str), f"sparsesim_{source_name}",
                        options=NVCC_OPTIONS)


def _grid(total: int) -> tuple[int]:
    return (max(1, min(MAX_BLOCKS, -(-total // THREADS))),)


def _contiguous(*arrays) -> bool:
    return all(a is None or a.flags.c_contiguous for a in arrays)


# --------------------------------------------------------------------------- bias + ReLU

def bias_relu_twin_(xp: Any, z: Any, gate: Any, b: Any, a: Any, *, relu: bool) -> None:
    """Plain array twin of ``sparsesim_bias_relu`` (the reference), in place.

    ``z += b`` (``b`` per model, broadcast over the rows); with ``relu``:
    ``gate = [z > 0]`` (1/0 in ``z``'s dtype; ``gate`` may be None when not
    needed), ``z *= gate``, and ``z += a`` when ``a`` (the residual input) is
    given.
    """
    xp.add(z, b[:, None, :], out=z)
    if not relu:
        return
    if gate is None:
        gate = z > 0
    else:
        xp.greater(z, 0, out=gate)
    xp.multiply(z, gate, out=z)
    if a is not None:
        xp.add(z, a, out=z)


def bias_relu_(xp: Any, z: Any, gate: Any, b: Any, a: Any, *, relu: bool) -> None:
    """The layer epilogue in place: the kernel where ``xp`` has CUDA, else the twin.

    Arguments as :func:`bias_relu_twin_`; ``z`` is ``(B, n, w)``, ``b``
    ``(B, w)``, ``gate`` and ``a`` shaped like ``z`` (or None).
    """
    if not (has_cuda_kernels(xp) and _contiguous(z, gate, b, a)):
        bias_relu_twin_(xp, z, gate, b, a, relu=relu)
        return
    total = int(z.size)
    if total == 0:
        return
    n_models, _, width = (int(s) for s in z.shape)
    kernel = _kernel(xp, "bias_relu", z.dtype.str)
    flags = (1 if relu else 0) | (2 if relu and gate is not None else 0) \
        | (4 if relu and a is not None else 0)
    kernel(_grid(total), (THREADS,),
           (z, z if gate is None else gate, b, z if a is None else a, np.int64(total),
            np.int64(total // n_models), np.int64(width), np.int32(flags)))


# --------------------------------------------------------------------------- Adam

def adam_multi_twin_(xp: Any, params: list, grads: list, ms: list, vs: list, masks: list,
                     active: Any, step_size: Any, sqrt_bc2: Any, b1: float, b2: float,
                     eps: float) -> None:
    """Plain array twin of ``sparsesim_adam_multi``: masked Adam of every tensor, in place.

    Lists of tensors ``(B, ...)`` (``masks`` entries may be None); ``active``
    None or 0/1 ``(B,)``; ``step_size``, ``sqrt_bc2`` ``(B,)``.  The
    arithmetic of :func:`sparsesim.nn.optim._adam_plain_`, per element:
    ``g·mask``, ``b1·m + (1 - b1)·g``, ``b2·v + (1 - b2)·(g·g)``,
    ``p - step_size·(m / (sqrt(v) / sqrt_bc2 + eps))`` for active models, then
    ``p·mask``.

    Parameters stay: the operands of :func:`adam_multi_`, which this twin mirrors one for
    one (the tests compare the two call by call).
    """
    dtype = params[0].dtype.type
    c1, c2 = dtype(1 - b1), dtype(1 - b2)
    b1, b2, eps = dtype(b1), dtype(b2), dtype(eps)
    for p, g, m, v, mask in zip(params, grads, ms, vs, masks):
        shape = (p.shape[0],) + (1,) * (p.ndim - 1)
        ss, sb = step_size.reshape(shape), sqrt_bc2.reshape(shape)
        gm = g if mask is None else g * mask
        new_m = b1 * m + c1 * gm
        new_v = b2 * v + c2 * (gm * gm)
        new_p = p - ss * (new_m / (xp.sqrt(new_v) / sb + eps))
        if active is None:
            m[...], v[...], p[...] = new_m, new_v, new_p
        else:
            on = active.reshape(shape) > 0
            m[...] = xp.where(on, new_m, m)
            v[...] = xp.where(on, new_v, v)
            p[...] = xp.where(on, new_p, p)
        if mask is not None:
            p *= mask


class AdamTable:
    """The device table of one network's Adam operands (addresses, sizes, offsets).

    Built once, before training (an upload), and reused by every launch, so
    a step -- and a CUDA graph of it -- reads no host data.
    """

    def __init__(self, xp: Any, params: list, grads: list, ms: list, vs: list, masks: list):
        n_models = int(params[0].shape[0])
        addresses, per, start = [], [], [0]
        for p, g, m, v, mask in zip(params, grads, ms, vs, masks):
            addresses += [p.data.ptr, g.data.ptr, m.data.ptr, v.data.ptr,
                          0 if mask is None else mask.data.ptr]
            per.append(int(p.size) // n_models)
            start.append(start[-1] + int(p.size))
        self.table = xp.asarray(np.asarray(addresses, dtype=np.uint64))
        self.per = xp.asarray(np.asarray(per, dtype=np.int64))
        self.start = xp.asarray(np.asarray(start, dtype=np.int64))
        self.n_tensors = len(per)
        self.total = start[-1]
        self.keep = (params, grads, ms, vs, masks)     # the table's arrays stay alive
        self.dtype = params[0].dtype


def adam_multi_(xp: Any, table: AdamTable | None, params: list, grads: list, ms: list,
                vs: list, masks: list, active: Any, step_size: Any, sqrt_bc2: Any, b1: float,
                b2: float, eps: float) -> None:
    """Masked Adam of every tensor: one kernel launch where ``table`` is given (CuPy).

    ``table`` None (or an array module without CUDA) runs
    :func:`adam_multi_twin_`; arguments as there.

    Parameters stay: the operands of one kernel launch (the tensors, the per-model step
    scalars, the Adam constants), handed through unchanged from the trainer's step, which
    runs inside a CUDA graph: a bundle would be one more object to build in the hot loop for
    no new meaning.
    """
    if table is None or not has_cuda_kernels(xp):
        adam_multi_twin_(xp, params, grads, ms, vs, masks, active, step_size, sqrt_bc2,
                         b1, b2, eps)
        return
    dtype = table.dtype.type
    kernel = _kernel(xp, "adam_multi", table.dtype.str)
    kernel(_grid(table.total), (THREADS,),
           (table.table, table.per, table.start, np.int32(table.n_tensors),
            np.int64(table.total), step_size, sqrt_bc2,
            step_size if active is None else active, np.int32(active is not None),
            dtype(b1), dtype(1 - b1), dtype(b2), dtype(1 - b2), dtype(eps)))


# --------------------------------------------------------------------------- TF32

@contextlib.contextmanager
def tf32_matmul(xp: Any):
    """CuPy's float32 matrix products on TF32 tensor cores inside the block (restored after).

    Raises ``ValueError`` for an array module without CuPy's compute types
    (NumPy, the CPU stand-in).

    Examples
    --------
    >>> with tf32_matmul(np):
    ...     pass
    Traceback (most recent call last):
    ...
    ValueError: tf32=True needs CuPy (cupy._core.set_compute_type); numpy has no TF32 mode
    """
    core = getattr(xp, "_core", None)
    linalg = getattr(core, "_routines_linalg", None)
    mode = getattr(linalg, "COMPUTE_TYPE_TF32", None)
    if core is None or mode is None or not hasattr(core, "set_compute_type"):
        raise ValueError("tf32=True needs CuPy (cupy._core.set_compute_type); "
                         f"{getattr(xp, '__name__', xp)} has no TF32 mode")
    old = core.get_compute_type(np.float32)
    core.set_compute_type(np.float32, mode)
    try:
        yield
    finally:
        core.set_compute_type(np.float32, old)
