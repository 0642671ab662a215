"""Array backends: NumPy everywhere, CuPy where a CUDA device is usable.

This is the only module that decides which array library is in use, and the
only one that imports CuPy (lazily, so that ``import sparsesim`` and the CPU
test-suite work on machines without CuPy or without a GPU).

Science code obtains its namespace from its inputs::

    xp = namespace_of(w)          # numpy or cupy
    mask = xp.abs(w) > t

or, when it creates arrays from nothing, from a ``backend=`` name::

    xp = get_namespace("auto")    # cupy if a GPU is usable, else numpy
    rng = make_rng(seed, "auto")

Seeds
-----
``make_rng`` accepts an int, a :class:`numpy.random.SeedSequence` or ``None``
(fresh entropy).  On NumPy the bit generator is PCG64 seeded from the
SeedSequence; on CuPy a 64-bit seed is drawn from the same SeedSequence.  A
seed therefore fixes a result *on a given backend*; NumPy and CuPy streams
differ.

Every derived seed in the package comes from :func:`child_seed`: child
``keys`` of a root SeedSequence, computed without spawning (stateless,
repeatable, the same as ``root.spawn`` would give for a single key).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._validation import check_choice, check_int

__all__ = [
    "BACKENDS",
    "cupy_available",
    "cupy_unusable_reason",
    "resolve_backend",
    "get_namespace",
    "namespace_of",
    "is_cupy",
    "to_numpy",
    "host_array",
    "asarray",
    "make_rng",
    "Rng",
    "seed_sequence",
    "child_seed",
    "device_name",
]

BACKENDS = ("auto", "numpy", "cupy")


_UNUSABLE_REASON: dict[str, str] = {}


def _versions(cupy) -> str:
    """Driver / runtime / NVRTC / CuPy versions, as far as they can be read."""
    parts = [f"CuPy {getattr(cupy, '__version__', '?')}"]
    for label, get in (("driver", lambda: cupy.cuda.runtime.driverGetVersion()),
                       ("runtime", lambda: cupy.cuda.runtime.runtimeGetVersion()),
                       ("NVRTC", lambda: ".".join(map(str, cupy.cuda.nvrtc.getVersion())))):
        try:
            parts.append(f"{label} {get()}")
        except Exception as exc:  # noqa: BLE001 - a report, never fatal
            parts.append(f"{label} unknown ({type(exc).__name__})")
    return ", ".join(parts)


@functools.lru_cache(maxsize=1)
def _cupy_or_none():
    """Import CuPy and check that a CUDA device answers; ``None`` otherwise.

    The reason CuPy is unusable is kept for :func:`cupy_unusable_reason`.
    """
    _UNUSABLE_REASON.clear()
    try:
        import cupy  # noqa: PLC0415 - deliberately lazy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        _UNUSABLE_REASON["why"] = f"CuPy does not import: {type(exc).__name__}: {exc}"
        return None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
        if n < 1:
            _UNUSABLE_REASON["why"] = f"CuPy sees no CUDA device ({_versions(cupy)})"
            return None
        cupy.zeros(1).sum()  # a real round trip: driver, context, kernel launch
    except Exception as exc:
        _UNUSABLE_REASON["why"] = (f"cupy.zeros(1).sum() failed: {type(exc).__name__}: "
                                   f"{exc} ({_versions(cupy)})")
        return None
    return cupy


def cupy_available() -> bool:
    """True when CuPy imports and a CUDA device can run a kernel.

    Examples
    --------
    >>> isinstance(cupy_available(), bool)
    True
    """
    return _cupy_or_none() is not None


def cupy_unusable_reason() -> str | None:
    """Why CuPy cannot be used (the import or device error, with versions); ``None`` if usable.

    Examples
    --------
    >>> cupy_available() or "CuPy" in cupy_unusable_reason()
    True
    """
    if _cupy_or_none() is not None:
        return None
    return _UNUSABLE_REASON.get("why", "CuPy is unusable (reason not recorded)")


def resolve_backend(backend: str = "auto") -> str:
    """Turn ``"auto"``/``"numpy"``/``"cupy"`` into the concrete backend name.

    ``"auto"`` gives ``"cupy"`` when :func:`cupy_available`, else ``"numpy"``.
    ``"cupy"`` without a usable device raises ``RuntimeError`` explaining why.

    Examples
    --------
    >>> resolve_backend("numpy")
    'numpy'
    >>> resolve_backend("tpu")
    Traceback (most recent call last):
    ...
    ValueError: backend must be one of ('auto', 'numpy', 'cupy'); got 'tpu'
    """
    check_choice("backend", backend, BACKENDS)
    if backend == "numpy":
        return "numpy"
    if backend == "auto":
        return "cupy" if cupy_available() else "numpy"
    if not cupy_available():
        raise RuntimeError(
            "backend='cupy' needs CuPy and a usable CUDA device, and none was "
            f"found ({cupy_unusable_reason()}; install the extra with "
            "`pip install sparsesim[gpu]` on a machine with an NVIDIA GPU, or use "
            "backend='numpy' / 'auto')")
    return "cupy"


def get_namespace(backend: str = "auto"):
    """The array module (``numpy`` or ``cupy``) for a backend name.

    Examples
    --------
    >>> get_namespace("numpy").__name__
    'numpy'
    """
    return np if resolve_backend(backend) == "numpy" else _cupy_or_none()


def is_cupy(x: Any) -> bool:
    """True when ``x`` is a CuPy array (checked without importing CuPy)."""
    return type(x).__module__.split(".")[0] == "cupy"


def namespace_of(*arrays: Any):
    """The array module of the given arrays; all must share one backend.

    Non-array arguments (Python scalars, ``None``) are ignored; with no array
    at all NumPy is returned.

    Examples
    --------
    >>> namespace_of(np.zeros(3), 2.0).__name__
    'numpy'
    """
    kinds = {is_cupy(a) for a in arrays if hasattr(a, "dtype") and hasattr(a, "shape")}
    if len(kinds) > 1:
        raise TypeError("arrays from different backends (NumPy and CuPy) were mixed; "
                        "move them to one device first (sparsesim.backend.asarray)")
    if kinds == {True}:
        cp = _cupy_or_none()
        if cp is None:  # pragma: no cover - a CuPy array implies CuPy works
            import cupy as cp  # noqa: PLC0415
        return cp
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Copy a CuPy array to the host; NumPy arrays and scalars pass through.

    Examples
    --------
    >>> to_numpy(np.arange(3))
    array([0, 1, 2])
    """
    if is_cupy(x):
        return x.get()
    return np.asarray(x)


def host_array(name: str, value: Any, what: str) -> np.ndarray:
    """``value`` as a host NumPy array, or a ``TypeError`` saying ``{name} must be {what}``.

    Strings and bytes are refused (NumPy would make them 0-d arrays), as is
    anything :func:`to_numpy` cannot convert.

    Examples
    --------
    >>> host_array("errors", [0.1, 0.2], "an array of error rates").tolist()
    [0.1, 0.2]
    >>> host_array("errors", "0.1", "an array of error rates")
    Traceback (most recent call last):
    ...
    TypeError: errors must be an array of error rates; got str
    """
    if not isinstance(value, (str, bytes)):
        try:
            return to_numpy(value)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{name} must be {what}; got {type(value).__name__}")


def asarray(x: Any, backend: str = "auto", dtype: Any = None):
    """Put ``x`` on the given backend (a copy only when needed)."""
    xp = get_namespace(backend)
    if xp is np:
        return np.asarray(to_numpy(x), dtype=dtype)
    return xp.asarray(x, dtype=dtype)


def seed_sequence(seed: Any) -> np.random.SeedSequence:
    """Normalise ``seed`` (int >= 0, SeedSequence or None) to a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    return np.random.SeedSequence(check_int("seed", seed, low=0))


class Rng:
    """A seeded random generator on one backend, with one small API.

    Wraps :class:`numpy.random.Generator` (PCG64) or CuPy's
    ``cupy.random.RandomState`` so that science code draws random numbers the
    same way on both devices.

    Examples
    --------
    >>> rng = make_rng(0, "numpy")
    >>> rng.normal((2, 3)).shape
    (2, 3)
    >>> bool((make_rng(5, "numpy").normal(4) == make_rng(5, "numpy").normal(4)).all())
    True
    """

    def __init__(self, seed: Any, backend: str):
        self.backend = resolve_backend(backend)
        self.seed_seq = seed_sequence(seed)
        self.xp = get_namespace(self.backend)
        if self.backend == "numpy":
            self._gen = np.random.Generator(np.random.PCG64(self.seed_seq))
        else:  # pragma: no cover - GPU only
            s = int(self.seed_seq.generate_state(1, np.uint64)[0])
            self._gen = self.xp.random.RandomState(s)

    def normal(self, shape, dtype=np.float64):
        """Standard normal samples of the given shape."""
        if self.backend == "numpy":
            return self._gen.standard_normal(shape, dtype=dtype)
        return self._gen.standard_normal(shape, dtype=dtype)  # pragma: no cover

    def uniform(self, shape, dtype=np.float64):
        """Uniform samples on [0, 1)."""
        if self.backend == "numpy":
            return self._gen.random(shape, dtype=dtype)
        return self._gen.random_sample(shape, dtype=dtype)  # pragma: no cover

    def integers(self, high: int, shape, dtype=np.int64):
        """Uniform integers on ``[0, high)``."""
        if self.backend == "numpy":
            return self._gen.integers(0, high, size=shape, dtype=dtype)
        return self._gen.randint(0, high, size=shape, dtype=dtype)  # pragma: no cover

    def permutation(self, n: int):
        """A uniformly random permutation of ``range(n)``."""
        return self._gen.permutation(n)

    def spawn(self, n: int) -> list["Rng"]:
        """``n`` independent child generators on the same backend."""
        return [Rng(s, self.backend) for s in self.seed_seq.spawn(n)]


def child_seed(root: np.random.SeedSequence, *keys: int) -> np.random.SeedSequence:
    """The child of ``root`` addressed by ``keys``, ``root`` left unchanged.

    ``child_seed(root, i)`` is what ``root.spawn(i + 1)[i]`` gives on a fresh
    ``root``; more keys address grandchildren (``child_seed(child_seed(r, i), j)
    == child_seed(r, i, j)``).  The pool size is kept.

    Examples
    --------
    >>> root = np.random.SeedSequence(5)
    >>> bool((child_seed(root, 1).generate_state(2) == root.spawn(2)[1].generate_state(2)).all())
    True
    >>> child_seed(root, 1, 2).spawn_key == child_seed(child_seed(root, 1), 2).spawn_key
    True
    >>> child_seed(root, -1)
    Traceback (most recent call last):
    ...
    ValueError: child_seed keys must be ints >= 0; got (-1,)
    """
    if not isinstance(root, np.random.SeedSequence):
        raise TypeError(f"child_seed root must be a numpy.random.SeedSequence; "
                        f"got {type(root).__name__}")
    if not keys or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0
                       for k in keys):
        raise ValueError(f"child_seed keys must be ints >= 0; got {keys!r}")
    return np.random.SeedSequence(root.entropy,
                                  spawn_key=tuple(root.spawn_key) + tuple(int(k) for k in keys),
                                  pool_size=root.pool_size)


def make_rng(seed: Any = None, backend: str = "auto") -> Rng:
    """A seeded :class:`Rng` on ``backend`` (see the module notes on seeds)."""
    return Rng(seed, backend)


def device_name(backend: str = "auto") -> str:
    """A human-readable name of the device a backend computes on."""
    if resolve_backend(backend) == "numpy":
        import platform  # noqa: PLC0415
        return f"cpu ({platform.machine() or 'unknown'})"
    cp = _cupy_or_none()  # pragma: no cover - GPU only
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)
