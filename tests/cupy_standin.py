"""A CPU stand-in for CuPy, for tests only.

``python -m pytest -m gpu`` on a machine without a usable CUDA device
installs this module as ``cupy`` (and a small ``cupyx``) before the backend
first looks for CuPy (see ``tests/conftest.py``), so the package's CuPy code
paths run through :mod:`sparsesim.backend` exactly as on a GPU, but on NumPy
arithmetic.  What it enforces, like CuPy:

* :class:`ndarray` is its own type (``type(x).__module__ == "cupy"``), not a
  NumPy array: ``numpy.asarray(x)`` raises (``__array__`` refuses implicit
  host conversion) and mixing it with NumPy arrays in arithmetic raises;
* reductions return 0-d device arrays, never host scalars;
* ``float() / int() / bool() / .item() / .get() / .tolist()``, ``asnumpy``
  and the operations whose result size depends on the data (boolean-mask
  indexing, ``nonzero``, ``unique``, ...) are *host synchronisations* and
  are counted (:data:`STATS`, :func:`count_syncs`);
* ``random`` is its own stream (Philox), not NumPy's PCG64, so code that
  assumes the two backends draw the same numbers fails here as on a GPU;
* ``cupyx.scipy.sparse.linalg.eigsh`` follows cupyx's thick-restart Lanczos
  conventions: ``maxiter`` counts Lanczos steps (``ncv`` first, then
  ``ncv - k`` per restart), ``tol`` bounds the residual norm, and
  non-convergence is never reported.

What it cannot do: compile or launch CUDA (``RawKernel``,
``ElementwiseKernel`` are absent, CUDA-graph capture raises).  Tests that
need those carry the ``needs_cuda`` marker and are skipped under it.
"""

from __future__ import annotations

import contextlib
import operator
import sys
import types
from dataclasses import dataclass

import numpy as np

__version__ = "0.0+cpu-standin"
STANDIN = True


@dataclass
class _Stats:
    syncs: int = 0
    uploads: int = 0
    last: str = ""

    def sync(self, what: str) -> None:
        self.syncs += 1
        self.last = what


STATS = _Stats()


@contextlib.contextmanager
def count_syncs():
    """Count host synchronisations (and host-to-device uploads) inside a block.

    >>> import cupy_standin as cp
    >>> x = cp.arange(3.0)
    >>> with cp.count_syncs() as c:
    ...     y = (x * 2).sum()          # stays on the device
    >>> c.syncs
    0
    >>> with cp.count_syncs() as c:
    ...     _ = float(y)
    >>> c.syncs
    1
    """
    start = _Stats(STATS.syncs, STATS.uploads)
    out = _Stats()
    try:
        yield out
    finally:
        out.syncs = STATS.syncs - start.syncs
        out.uploads = STATS.uploads - start.uploads
        out.last = STATS.last


# --------------------------------------------------------------------------- the array

def _unwrap(x, *, strict=True):
    """Device arrays -> their NumPy buffer; NumPy arrays refused when ``strict``."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray) and strict:
        raise TypeError(f"Unsupported type {type(x)} (a NumPy array mixed with a device "
                        "array: move it to the device with cupy.asarray first)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, strict=strict) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, strict=strict) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise TypeError("object arrays are not supported on the device")
        return ndarray._from(x)
    if isinstance(x, np.generic):
        return ndarray._from(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _is_bool_mask(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (ndarray, np.ndarray)) and k.dtype == np.bool_ for k in keys)


class ndarray:
    """A device array (a NumPy buffer that refuses to leave the device silently)."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, shape, dtype=float):
        self._a = np.empty(shape, dtype=dtype)

    @classmethod
    def _from(cls, a: np.ndarray) -> "ndarray":
        obj = cls.__new__(cls)
        obj._a = a
        return obj

    # -- refusing implicit conversion
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = _unwrap(inputs)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"])
        res = getattr(ufunc, method)(*args, **kwargs)
        return _wrap(res)

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs)

    # -- explicit host transfers (synchronising)
    def get(self, stream=None, order="C", out=None):
        STATS.sync("get")
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def item(self, *args):
        STATS.sync("item")
        return self._a.item(*args)

    def tolist(self):
        STATS.sync("tolist")
        return self._a.tolist()

    def tobytes(self, order="C"):
        STATS.sync("tobytes")
        return self._a.tobytes(order)

    def __float__(self):
        STATS.sync("float")
        return float(self._a)

    def __int__(self):
        STATS.sync("int")
        return int(self._a)

    def __index__(self):
        STATS.sync("index")
        return operator.index(self._a)

    def __bool__(self):
        STATS.sync("bool")
        return bool(self._a)

    def __complex__(self):
        STATS.sync("complex")
        return complex(self._a)

    def __repr__(self):
        return f"standin.array({np.array2string(self._a)})"

    __str__ = __repr__

    def __format__(self, spec):
        STATS.sync("format")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    # -- metadata (no transfer)
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._from(self._a.T))
    mT = property(lambda self: ndarray._from(self._a.mT))

    @property
    def real(self):
        return ndarray._from(self._a.real)

    @property
    def imag(self):
        return ndarray._from(self._a.imag)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._a.shape[0]):
            yield ndarray._from(self._a[i])

    def __getitem__(self, key):
        if _is_bool_mask(key):
            STATS.sync("boolean-mask indexing")
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        if _is_bool_mask(key):
            STATS.sync("boolean-mask assignment")
        if isinstance(value, np.ndarray):
            STATS.uploads += 1
        self._a[_unwrap(key)] = _unwrap(value, strict=False)

    def __getattr__(self, name):
        # No __array_interface__ / __array_struct__ / buffer: NumPy must not see the data.
        if name.startswith("__") or name in ("ctypes", "tofile", "dump", "dumps"):
            raise AttributeError(f"device arrays have no attribute {name!r} (CPU stand-in)")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
        method.__name__ = name
        return method

    def __reduce__(self):
        raise TypeError("device arrays are not pickled implicitly; call .get() first")

    def __copy__(self):
        return ndarray._from(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._from(self._a.copy())


def _binop(fn):
    def op(self, other):
        return _wrap(fn(self._a, _unwrap(other)))
    return op


def _rbinop(fn):
    def op(self, other):
        return _wrap(fn(_unwrap(other), self._a))
    return op


def _ibinop(fn):
    def op(self, other):
        res = fn(self._a, _unwrap(other))
        if isinstance(res, np.ndarray) and res is not self._a:
            self._a[...] = res
        return self
    return op


for _name, _fn in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow), ("matmul", operator.matmul),
                   ("and", operator.and_), ("or", operator.or_), ("xor", operator.xor),
                   ("lshift", operator.lshift), ("rshift", operator.rshift)]:
    setattr(ndarray, f"__{_name}__", _binop(_fn))
    setattr(ndarray, f"__r{_name}__", _rbinop(_fn))
    setattr(ndarray, f"__i{_name}__", _ibinop(getattr(operator, f"i{_name}")))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binop(getattr(operator, _name)))
for _name, _fn in [("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs),
                   ("invert", operator.invert)]:
    setattr(ndarray, f"__{_name}__", (lambda f: lambda self: _wrap(f(self._a)))(_fn))
ndarray.__hash__ = None  # type: ignore[assignment]
ndarray.__module__ = "cupy"


# --------------------------------------------------------------------------- functions

# Creation functions accept host data (an upload); everything else refuses NumPy arrays.
_UPLOADS = {"asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray"}
# Functions whose output size depends on the data: CuPy reads back a count.
_SYNCING = {"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract",
            "unique_values", "unique_counts", "unique_inverse", "unique_all"}


def _call(func, args, kwargs, name=None):
    name = name or getattr(func, "__name__", "")
    if name in _SYNCING or (name == "where" and len(args) + len(kwargs) == 1):
        STATS.sync(name)
    if name == "bincount":
        # CuPy 14's bincount reads two values back whatever minlength is:
        # ``if (x < 0).any()`` and ``int(cupy.max(x))`` for the output size
        # (counted on an H200: 2 syncs per call beside the read of the result).
        STATS.sync("bincount: (x < 0).any()")
        STATS.sync("bincount: int(max(x))")
    if name == "repeat" and isinstance(args[1] if len(args) > 1 else kwargs.get("repeats"),
                                       ndarray):
        STATS.sync("repeat")
    return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))


def _wrap_function(func, name):
    def f(*args, **kwargs):
        return _call(func, args, kwargs, name)
    f.__name__ = name
    f.__doc__ = getattr(func, "__doc__", None)
    return f


def asarray(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    STATS.uploads += 1
    host = np.array(a, dtype=dtype, order=order or "K", copy=True)
    if host.dtype == object:
        raise ValueError("Unsupported dtype object")
    return ndarray._from(host)


def array(a, dtype=None, copy=True, order="K", ndmin=0, **_):
    if isinstance(a, ndarray):
        out = np.array(a._a, dtype=dtype, copy=True, order=order, ndmin=ndmin)
        return ndarray._from(out)
    STATS.uploads += 1
    return ndarray._from(np.array(a, dtype=dtype, copy=True, order=order, ndmin=ndmin))


asanyarray = asarray


def ascontiguousarray(a, dtype=None):
    return ndarray._from(np.ascontiguousarray(asarray(a, dtype)._a))


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__]


def _module_getattr(ns, name, prefix):
    try:
        attr = getattr(ns, name)
    except AttributeError:
        raise AttributeError(f"module {prefix!r} (CPU stand-in) has no attribute {name!r}") \
            from None
    if isinstance(attr, types.ModuleType):
        return _Namespace(attr, f"{prefix}.{name}")
    if isinstance(attr, type) or not callable(attr):
        return attr
    return _wrap_function(attr, name)


class _Namespace(types.ModuleType):
    """A NumPy submodule (``linalg``, ``fft``) whose functions take device arrays."""

    def __init__(self, ns, name):
        super().__init__(name)
        self._ns = ns

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _module_getattr(self._ns, name, self.__name__)


linalg = _Namespace(np.linalg, "cupy.linalg")
fft = _Namespace(np.fft, "cupy.fft")


def __getattr__(name):  # module-level fallback: NumPy's function, on device arrays
    if name in ("RawKernel", "RawModule", "ElementwiseKernel", "ReductionKernel", "fuse"):
        raise AttributeError(f"the CPU stand-in for CuPy cannot compile CUDA ({name})")
    if name.startswith("__"):
        raise AttributeError(name)
    return _module_getattr(np, name, "cupy")


# --------------------------------------------------------------------------- random

class RandomState:
    """A device generator: Philox, a different stream than NumPy's PCG64 (like cuRAND)."""

    def __init__(self, seed=None):
        self.seed(seed)

    def seed(self, seed=None):
        self._g = np.random.Generator(np.random.Philox(seed))

    def _out(self, x, dtype=None):
        return ndarray._from(np.asarray(x if dtype is None else np.asarray(x).astype(dtype)))

    def standard_normal(self, size=None, dtype=float):
        dt = np.dtype(dtype)
        if dt in (np.float32, np.float64):
            return self._out(self._g.standard_normal(size, dtype=dt))
        return self._out(self._g.standard_normal(size), dt)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return self._out(self._g.normal(_unwrap(loc), _unwrap(scale), size), dtype)

    def random_sample(self, size=None, dtype=float):
        dt = np.dtype(dtype)
        if dt in (np.float32, np.float64):
            return self._out(self._g.random(size, dtype=dt))
        return self._out(self._g.random(size), dt)

    random = random_sample

    def rand(self, *size, dtype=float):
        return self.random_sample(size, dtype)

    def randn(self, *size, dtype=float):
        return self.standard_normal(size, dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return self._out(self._g.uniform(_unwrap(low), _unwrap(high), size), dtype)

    def randint(self, low, high=None, size=None, dtype=int):
        if high is None:
            low, high = 0, low
        return self._out(self._g.integers(low, high, size=size, dtype=np.dtype(dtype)))

    def permutation(self, n):
        if isinstance(n, ndarray):
            return ndarray._from(self._g.permutation(n._a))
        return ndarray._from(self._g.permutation(n))

    def shuffle(self, a):
        self._g.shuffle(_unwrap(a))

    def choice(self, a, size=None, replace=True, p=None):
        return self._out(self._g.choice(_unwrap(a), size=size, replace=replace,
                                        p=_unwrap(p)))


_global_rs = RandomState(0)
random = types.ModuleType("cupy.random")
random.RandomState = RandomState
for _m in ("standard_normal", "normal", "random_sample", "random", "rand", "randn", "uniform",
           "randint", "permutation", "shuffle", "choice"):
    setattr(random, _m, (lambda m: lambda *a, **k: getattr(_global_rs, m)(*a, **k))(_m))
random.seed = lambda seed=None: _global_rs.seed(seed)


# --------------------------------------------------------------------------- cuda

class Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        STATS.sync("stream.synchronize")

    def use(self):
        return self

    # No begin_capture/end_capture: CUDA graphs are not emulated, so code that
    # probes for them (the trainer) takes its plain path.


class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)

    def synchronize(self):
        STATS.sync("device.synchronize")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        return self


class MemoryPool:
    def malloc(self, size):
        return None

    def free_all_blocks(self):
        return None

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0


_runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1,
    getDeviceProperties=lambda i: {"name": b"CPU stand-in for CuPy", "multiProcessorCount": 2,
                                   "totalGlobalMem": 1 << 30, "sharedMemPerBlockOptin": 49152,
                                   "sharedMemPerMultiprocessor": 65536},
    runtimeGetVersion=lambda: 0,
    driverGetVersion=lambda: 0,
    deviceSynchronize=lambda: STATS.sync("deviceSynchronize"),
)
cuda = types.ModuleType("cupy.cuda")
cuda.runtime = _runtime
cuda.Stream = Stream
cuda.Device = Device
cuda.MemoryPool = MemoryPool
cuda.get_current_stream = lambda: Stream()
cuda.using_allocator = lambda allocator=None: contextlib.nullcontext()
cuda.is_available = lambda: True
_default_pool = MemoryPool()
get_default_memory_pool = lambda: _default_pool  # noqa: E731
get_default_pinned_memory_pool = lambda: _default_pool  # noqa: E731


# --------------------------------------------------------------------------- cupyx

class LinearOperator:
    """``cupyx.scipy.sparse.linalg.LinearOperator`` (mat-vec on device arrays)."""

    def __init__(self, shape, matvec, rmatvec=None, matmat=None, dtype=None, **_):
        self.shape = tuple(shape)
        self.ndim = 2
        self._matvec = matvec
        self.dtype = np.dtype(dtype if dtype is not None else np.float64)

    def matvec(self, x):
        return self._matvec(x)

    def __matmul__(self, x):
        return self._matvec(x)

    dot = matvec


def eigsh(a, k=6, *, which="LM", sigma=None, v0=None, ncv=None, maxiter=None, tol=0,
          return_eigenvectors=True):
    """Thick-restart Lanczos with cupyx's conventions (see the module notes).

    ``maxiter`` counts Lanczos steps (default ``10 n``), the loop stops when
    the norm of the ``k`` Ritz residual estimates is at most ``tol`` or the
    step budget is spent; nothing is reported when it did not converge.
    """
    if sigma is not None:
        raise NotImplementedError("shift-invert is not emulated")
    n = a.shape[0]
    if not 0 < k < n:
        raise ValueError(f"k must be in (0, {n})")
    if which not in ("LA", "SA", "LM"):
        raise ValueError(f"which={which!r} is not emulated")
    ncv = min(max(2 * k, k + 32), n - 1) if ncv is None else min(max(ncv, k + 2), n - 1)
    maxiter = 10 * n if maxiter is None else maxiter
    dtype = np.dtype(a.dtype)
    tol = np.finfo(dtype).eps if tol == 0 else tol

    def matvec(x):
        return _unwrap(a.matvec(ndarray._from(x.copy())) if hasattr(a, "matvec")
                       else a @ ndarray._from(x.copy()))

    V = np.zeros((ncv, n), dtype=dtype)
    alpha = np.zeros(ncv, dtype=dtype)
    beta = np.zeros(ncv, dtype=dtype)
    u = (np.random.default_rng(0).random(n).astype(dtype) if v0 is None
         else _unwrap(v0).astype(dtype, copy=True))
    V[0] = u / np.linalg.norm(u)

    def lanczos(start):
        for i in range(start, ncv):
            w = matvec(V[i])
            alpha[i] = V[i] @ w
            w = w - alpha[i] * V[i] - (beta[i - 1] * V[i - 1] if i > 0 else 0)
            c = V[: i + 1] @ w                       # full re-orthogonalisation
            w = w - V[: i + 1].T @ c
            alpha[i] += c[i]
            beta[i] = np.linalg.norm(w)
            if i < ncv - 1:
                V[i + 1] = w / beta[i]
        return w

    def ritz(beta_k):
        t = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
        if beta_k is not None:
            t[k, :k] = beta_k
            t[:k, k] = beta_k
        w, s = np.linalg.eigh(t)
        idx = np.argsort(np.abs(w) if which == "LM" else w)
        idx = idx[:k] if which == "SA" else idx[-k:]
        return w[idx], s[:, idx]

    u = lanczos(0)
    steps = ncv
    w, s = ritz(None)
    x = V.T @ s
    beta_k = beta[-1] * s[-1, :]
    res = np.linalg.norm(beta_k)
    while res > tol and steps < maxiter:
        beta[:k] = 0
        alpha[:k] = w
        V[:k] = x.T
        u = u - V[:k].T @ (V[:k] @ u)
        V[k] = u / np.linalg.norm(u)
        u = matvec(V[k])
        alpha[k] = V[k] @ u
        u = u - alpha[k] * V[k] - V[:k].T @ beta_k
        beta[k] = np.linalg.norm(u)
        V[k + 1] = u / beta[k]
        u = lanczos(k + 1)
        steps += ncv - k
        w, s = ritz(beta_k)
        x = V.T @ s
        beta_k = beta[-1] * s[-1, :]
        res = np.linalg.norm(beta_k)
    if v0 is not None and isinstance(v0, ndarray):
        v0._a[...] = V[0]          # cupyx works in v0's buffer
    order = np.argsort(w)
    if return_eigenvectors:
        return ndarray._from(w[order].copy()), ndarray._from(x[:, order].copy())
    return ndarray._from(np.sort(w))


def install() -> None:
    """Make ``import cupy`` / ``import cupyx.scipy.sparse.linalg`` give this stand-in."""
    me = sys.modules[__name__]
    me.__name__ = "cupy"
    sys.modules["cupy"] = me
    sys.modules["cupy.random"] = random
    sys.modules["cupy.cuda"] = cuda
    sys.modules["cupy.linalg"] = linalg
    cupyx = types.ModuleType("cupyx")
    cupyx.STANDIN = True
    scipy_ = types.ModuleType("cupyx.scipy")
    sparse = types.ModuleType("cupyx.scipy.sparse")
    spla = types.ModuleType("cupyx.scipy.sparse.linalg")
    spla.LinearOperator = LinearOperator
    spla.eigsh = eigsh
    sparse.linalg = spla
    scipy_.sparse = sparse
    cupyx.scipy = scipy_
    cupyx.allow_synchronize = lambda allow: contextlib.nullcontext()
    for name, mod in [("cupyx", cupyx), ("cupyx.scipy", scipy_),
                      ("cupyx.scipy.sparse", sparse), ("cupyx.scipy.sparse.linalg", spla)]:
        sys.modules[name] = mod
