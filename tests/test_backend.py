"""Tests of ``sparsesim.backend``: backend names, namespaces, host copies and seeded RNGs.

These run on every machine.  Where the answer depends on whether a CUDA device
is usable (``"auto"``, ``"cupy"``) the test asserts the branch that applies
here; the CuPy-side behaviour is covered by ``tests/test_sparsity_gpu.py``.
"""

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sparsesim import backend
from sparsesim.backend import (
    BACKENDS,
    Rng,
    asarray,
    cupy_available,
    device_name,
    get_namespace,
    is_cupy,
    make_rng,
    namespace_of,
    resolve_backend,
    seed_sequence,
    to_numpy,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
HAVE_GPU = cupy_available()


class _FakeCupyArray:
    """Stands in for a CuPy array without importing CuPy.

    ``is_cupy`` decides by the defining module's top-level name, so this class
    (declared to live in ``cupy._core.core``) is classified as CuPy.
    """

    __module__ = "cupy._core.core"

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape = self._data.shape
        self.dtype = self._data.dtype
        self.ndim = self._data.ndim

    def get(self):
        return self._data.copy()


# --------------------------------------------------------------------------- names


def test_backend_names():
    assert BACKENDS == ("auto", "numpy", "cupy")


def test_resolve_backend_numpy_is_always_numpy():
    assert resolve_backend("numpy") == "numpy"


def test_resolve_backend_auto_follows_device_availability():
    # Falsified if "auto" picked CuPy without a usable device (or ignored one).
    assert resolve_backend("auto") == ("cupy" if HAVE_GPU else "numpy")
    assert resolve_backend() == resolve_backend("auto")


@pytest.mark.skipif(HAVE_GPU, reason="a CUDA device is usable here")
def test_resolve_backend_cupy_without_device_raises_with_install_hint():
    with pytest.raises(RuntimeError, match=r"backend='cupy'") as info:
        resolve_backend("cupy")
    message = str(info.value)
    assert "pip install sparsesim[gpu]" in message
    assert "backend='numpy'" in message  # says what to use instead


@pytest.mark.skipif(HAVE_GPU, reason="a CUDA device is usable here")
def test_get_namespace_and_make_rng_refuse_cupy_without_device():
    with pytest.raises(RuntimeError, match="CuPy"):
        get_namespace("cupy")
    with pytest.raises(RuntimeError, match="CuPy"):
        make_rng(0, "cupy")


@pytest.mark.parametrize("name", ["tpu", "NumPy", "", "gpus", "cuda"])
def test_resolve_backend_unknown_name_raises_value_error(name):
    with pytest.raises(ValueError, match=rf"^backend must be one of .*; got {name!r}$"):
        resolve_backend(name)


@pytest.mark.parametrize("name", [None, 0, np, b"numpy"])
def test_resolve_backend_non_string_raises_type_error(name):
    with pytest.raises(TypeError, match=r"^backend must be one of "):
        resolve_backend(name)


def test_get_namespace_numpy():
    assert get_namespace("numpy") is np
    assert get_namespace("auto") is (np if not HAVE_GPU else get_namespace("cupy"))


def test_device_name_for_numpy_names_the_cpu():
    name = device_name("numpy")
    assert isinstance(name, str) and name.startswith("cpu")


def test_cupy_available_is_a_cached_bool():
    assert isinstance(cupy_available(), bool)
    assert cupy_available() is cupy_available()


# --------------------------------------------------------------------------- namespaces


def test_is_cupy_classifies_by_module_without_importing_cupy():
    assert not is_cupy(np.zeros(2))
    assert not is_cupy(3.0)
    assert not is_cupy(None)
    assert is_cupy(_FakeCupyArray([1.0]))


def test_namespace_of_numpy_inputs_and_non_arrays():
    assert namespace_of(np.zeros(3)) is np
    assert namespace_of(np.zeros(3), np.ones((2, 2), dtype=np.int8)) is np
    assert namespace_of() is np  # nothing at all: NumPy
    assert namespace_of(None, 2.0, "text", [1, 2]) is np  # non-arrays are ignored
    assert namespace_of(np.float64(1.0)) is np  # a NumPy scalar counts as NumPy


@pytest.mark.parametrize("order", [0, 1])
def test_namespace_of_mixed_backends_raises_type_error(order):
    # Falsified if mixing silently picked one side (a hidden host<->device copy).
    arrays = [np.zeros(3), _FakeCupyArray([0.0, 0.0, 0.0])]
    if order:
        arrays.reverse()
    with pytest.raises(TypeError, match=r"different backends .*NumPy and CuPy.* were mixed"):
        namespace_of(*arrays)
    with pytest.raises(TypeError, match="mixed"):
        namespace_of(arrays[0], None, 3.0, arrays[1])


# --------------------------------------------------------------------------- host copies


def test_to_numpy_passes_numpy_through_without_copy():
    x = np.arange(5.0)
    assert to_numpy(x) is x


def test_to_numpy_converts_scalars_and_lists():
    out = to_numpy([1, 2, 3])
    assert isinstance(out, np.ndarray) and out.tolist() == [1, 2, 3]
    scalar = to_numpy(2.5)
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and float(scalar) == 2.5


def test_to_numpy_copies_device_arrays_with_get():
    fake = _FakeCupyArray([[1.0, 2.0]])
    out = to_numpy(fake)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [[1.0, 2.0]])


def test_asarray_numpy_backend():
    x = np.arange(4, dtype=np.float32)
    assert asarray(x, "numpy") is x  # no copy when nothing changes
    y = asarray([1, 2], "numpy", dtype=np.float64)
    assert y.dtype == np.float64 and y.tolist() == [1.0, 2.0]
    z = asarray(_FakeCupyArray([3.0]), "numpy")  # a device array comes back to the host
    assert isinstance(z, np.ndarray) and z.tolist() == [3.0]


# --------------------------------------------------------------------------- seeds and RNGs


def test_seed_sequence_normalisation():
    ss = np.random.SeedSequence(7)
    assert seed_sequence(ss) is ss
    assert seed_sequence(7).entropy == 7
    assert isinstance(seed_sequence(None), np.random.SeedSequence)


@pytest.mark.parametrize("seed", [-1, 2.0, True, "7"])
def test_bad_seed_is_rejected_naming_seed(seed):
    with pytest.raises((ValueError, TypeError), match=r"^seed must be"):
        make_rng(seed, "numpy")


def test_make_rng_same_seed_same_stream():
    # Falsified if a seed did not determine every draw on the NumPy backend.
    for draw in (lambda r: r.normal((3, 4)), lambda r: r.uniform(7),
                 lambda r: r.integers(10, (5,)), lambda r: r.permutation(9)):
        np.testing.assert_array_equal(draw(make_rng(123, "numpy")), draw(make_rng(123, "numpy")))
    a, b = make_rng(123, "numpy"), make_rng(np.random.SeedSequence(123), "numpy")
    np.testing.assert_array_equal(a.normal(10), b.normal(10))  # int seed == its SeedSequence


def test_make_rng_different_seeds_differ():
    assert not np.array_equal(make_rng(1, "numpy").normal(16), make_rng(2, "numpy").normal(16))


def test_make_rng_matches_pcg64_from_the_seed_sequence():
    # The documented construction: PCG64 seeded from the SeedSequence.
    ref = np.random.Generator(np.random.PCG64(np.random.SeedSequence(99))).standard_normal(8)
    np.testing.assert_array_equal(make_rng(99, "numpy").normal(8), ref)


def test_rng_draws_have_requested_shape_dtype_and_range():
    rng = make_rng(5, "numpy")
    assert isinstance(rng, Rng) and rng.backend == "numpy" and rng.xp is np
    x = rng.normal((2, 3), dtype=np.float32)
    assert x.shape == (2, 3) and x.dtype == np.float32
    u = rng.uniform((1000,), dtype=np.float64)
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0
    i = rng.integers(4, (1000,))
    assert i.dtype == np.int64 and set(np.unique(i).tolist()) == {0, 1, 2, 3}
    p = rng.permutation(50)
    assert sorted(p.tolist()) == list(range(50))


def test_spawn_is_deterministic_and_children_differ():
    kids_a = make_rng(2026, "numpy").spawn(3)
    kids_b = make_rng(2026, "numpy").spawn(3)
    draws_a = [k.normal(64) for k in kids_a]
    draws_b = [k.normal(64) for k in kids_b]
    for x, y in zip(draws_a, draws_b):
        np.testing.assert_array_equal(x, y)  # same seed -> same children
    parent = make_rng(2026, "numpy").normal(64)
    streams = [parent] + draws_a
    for i in range(len(streams)):
        for j in range(i + 1, len(streams)):
            assert not np.array_equal(streams[i], streams[j])
    assert all(k.backend == "numpy" for k in kids_a)


def test_spawned_children_are_uncorrelated():
    """Independence check between spawned streams (and the parent).

    Under independence the sample correlation r of n = 200_000 standard normal
    pairs satisfies sqrt(n) * r ~ N(0, 1) approximately; |z| > 4.89 has
    two-sided probability 1e-6, so the false-alarm rate is at most 6 * 1e-6
    over the 6 pairs (fixed seed, so the outcome is deterministic anyway).
    Falsified by children that share or overlap a stream.
    """
    n = 200_000
    rng = make_rng(11, "numpy")
    kids = rng.spawn(3)
    streams = [rng.normal(n)] + [k.normal(n) for k in kids]
    for i in range(len(streams)):
        for j in range(i + 1, len(streams)):
            r = np.corrcoef(streams[i], streams[j])[0, 1]
            assert abs(math.sqrt(n) * r) < 4.89


# --------------------------------------------------------------------------- lazy CuPy import


def test_import_sparsesim_does_not_import_cupy():
    # Run in a fresh interpreter: this process may already have imported CuPy
    # (conftest asks whether a device is usable).  Falsified by any import of
    # cupy at package import time or during a CPU computation.
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import sparsesim, sparsesim.backend, sparsesim.sparsity
        sparsesim.best_k_term(np.arange(5.0), 2)
        sparsesim.group_best_q(np.arange(4.0), sparsesim.group_labels(4, 2), 1)
        sparsesim.backend.make_rng(0, "numpy").normal(3)
        bad = sorted(m for m in sys.modules if m == "cupy" or m.startswith("cupy.")
                     or m.startswith("cupy_backends"))
        print("IMPORTED:" + ",".join(bad))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "IMPORTED:", result.stdout


def test_backend_is_the_only_module_that_mentions_cupy_imports():
    # Layering: only backend.py may import CuPy.
    package = REPO_ROOT / "sparsesim"
    offenders = []
    for path in package.rglob("*.py"):
        if path.name == "backend.py" and path.parent == package:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import cupy", "from cupy")):
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {stripped}")
    assert not offenders, offenders


def test_backend_module_exports():
    for name in backend.__all__:
        assert hasattr(backend, name), name
