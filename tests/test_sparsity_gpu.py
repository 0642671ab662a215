"""NumPy and CuPy give identical projections for identical inputs.

Every test here is marked ``gpu`` and is skipped (by ``tests/conftest.py``)
where CuPy or a usable CUDA device is missing.  CuPy is never imported at
module level: the ``xp_gpu`` fixture provides it.

The contract under test: for the same input values, masks are equal *exactly*
(the tie rule is integer counting, not a sort, so it cannot depend on the
device), pruned values are bitwise equal, results stay on the input's device
and keep its dtype.  Tie-heavy inputs (all-equal, small integers, ±0.0) are
the cases most likely to expose a device-dependent tie break.

Group norms are sums of squares; CuPy may add them in another order than
NumPy (``bincount`` with weights uses atomic adds), so the group tests use
dyadic values whose sums are exact in float64 in any order — then two norms
are equal on one device exactly when they are equal on the other.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sparsesim as ss
from sparsesim.backend import (
    asarray,
    device_name,
    get_namespace,
    is_cupy,
    make_rng,
    namespace_of,
    resolve_backend,
    to_numpy,
)

pytestmark = pytest.mark.gpu

# Function-scoped fixtures inside @given are fine here: xp_gpu only returns the module.
GPU_SETTINGS = settings(max_examples=60, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture])

DTYPES = (np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8)


def _elements(dtype, ties):
    dtype = np.dtype(dtype)
    if ties:
        if dtype.kind == "u":
            return st.integers(0, 2)
        if dtype.kind == "i":
            return st.integers(-2, 2)
        return st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5])
    if dtype.kind == "f":
        return st.floats(width=8 * dtype.itemsize, allow_nan=False, allow_infinity=False)
    info = np.iinfo(dtype)
    return st.integers(0 if dtype.kind == "u" else -int(info.max), int(info.max))


@st.composite
def weight_arrays(draw, max_side=8):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=max_side))
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype, draw(st.booleans()))))


def assert_same(cpu_result, gpu_result, xp_gpu):
    """Pruned values bitwise equal, masks exactly equal, GPU results on the device."""
    cpu_pruned, cpu_mask = cpu_result
    gpu_pruned, gpu_mask = gpu_result
    assert isinstance(gpu_pruned, xp_gpu.ndarray) and isinstance(gpu_mask, xp_gpu.ndarray)
    assert gpu_pruned.dtype == cpu_pruned.dtype and gpu_mask.dtype == np.bool_
    assert gpu_pruned.shape == cpu_pruned.shape and gpu_mask.shape == cpu_mask.shape
    np.testing.assert_array_equal(to_numpy(gpu_mask), cpu_mask)
    assert to_numpy(gpu_pruned).tobytes() == np.ascontiguousarray(cpu_pruned).tobytes()


# --------------------------------------------------------------------------- backend on a device


def test_backend_resolves_to_cupy(xp_gpu):
    assert resolve_backend("cupy") == "cupy"
    assert resolve_backend("auto") == "cupy"
    assert get_namespace("cupy") is xp_gpu
    assert isinstance(device_name("cupy"), str) and device_name("cupy")


def test_namespace_of_and_host_copies(xp_gpu):
    x = xp_gpu.arange(4.0)
    assert is_cupy(x) and namespace_of(x) is xp_gpu
    with pytest.raises(TypeError, match="mixed"):
        namespace_of(x, np.arange(4.0))
    host = to_numpy(x)
    assert isinstance(host, np.ndarray) and host.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert is_cupy(asarray(np.arange(3), "cupy"))
    with pytest.raises(TypeError, match="mixed"):
        ss.apply_mask(x, np.ones(4, dtype=bool))


def test_cupy_rng_is_seeded_and_on_device(xp_gpu):
    a, b = make_rng(7, "cupy"), make_rng(7, "cupy")
    x, y = a.normal((3, 5), dtype=np.float32), b.normal((3, 5), dtype=np.float32)
    assert is_cupy(x) and x.dtype == np.float32 and x.shape == (3, 5)
    np.testing.assert_array_equal(to_numpy(x), to_numpy(y))
    u = make_rng(8, "cupy").uniform(1000)
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    i = make_rng(8, "cupy").integers(3, (1000,))
    assert set(to_numpy(i).tolist()) == {0, 1, 2}
    p = to_numpy(make_rng(9, "cupy").permutation(20))
    assert sorted(p.tolist()) == list(range(20))
    kids = make_rng(7, "cupy").spawn(2)
    assert not np.array_equal(to_numpy(kids[0].normal(16)), to_numpy(kids[1].normal(16)))


# --------------------------------------------------------------------------- best_k_term


@GPU_SETTINGS
@given(w=weight_arrays(), data=st.data())
def test_best_k_term_global_identical(xp_gpu, w, data):
    """axis=None: same mask and values on both devices.

    Falsified by any mask entry or value bit that differs.
    """
    k = data.draw(st.integers(0, w.size))
    assert_same(ss.best_k_term(w, k), ss.best_k_term(xp_gpu.asarray(w), k), xp_gpu)


@GPU_SETTINGS
@given(w=weight_arrays(), data=st.data())
def test_best_k_term_batched_identical(xp_gpu, w, data):
    """Any axis (negative included): same masks and values on both devices.

    Falsified by any mask entry or value bit that differs.
    """
    axis = data.draw(st.integers(-w.ndim, w.ndim - 1))
    k = data.draw(st.integers(0, w.shape[axis]))
    assert_same(ss.best_k_term(w, k, axis=axis),
                ss.best_k_term(xp_gpu.asarray(w), k, axis=axis), xp_gpu)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_best_k_term_heavy_ties_large(xp_gpu, dtype, axis):
    """Large tie-heavy arrays (values in {-2..2} and all-equal rows): identical masks.

    Falsified by a device that breaks ties at the k-th magnitude differently.
    """
    rng = np.random.default_rng(0)
    w = rng.integers(-2, 3, size=(257, 1031)).astype(dtype)
    w[::7] = 1  # some all-equal rows
    n = w.size if axis is None else w.shape[axis]
    for k in (0, 1, n // 3, n // 2, n - 1, n):
        cpu = ss.best_k_term(w, k, axis=axis)
        gpu = ss.best_k_term(xp_gpu.asarray(w), k, axis=axis)
        assert_same(cpu, gpu, xp_gpu)
        per = cpu[1].sum() if axis is None else cpu[1].sum(axis=axis)
        assert np.all(per == k)


def test_best_k_term_signed_zero_ties(xp_gpu):
    w = np.array([[0.0, -0.0, 0.0, 1.0, -0.0], [-0.0] * 5], dtype=np.float32)
    for k in range(6):
        assert_same(ss.best_k_term(w, k, axis=1), ss.best_k_term(xp_gpu.asarray(w), k, axis=1),
                    xp_gpu)


def test_best_k_term_float32_gaussian_large(xp_gpu):
    w = np.random.default_rng(1).standard_normal((512, 2048), dtype=np.float32)
    assert_same(ss.best_k_term(w, 64, axis=1), ss.best_k_term(xp_gpu.asarray(w), 64, axis=1),
                xp_gpu)
    k = int(0.02 * w.size)
    assert_same(ss.best_k_term(w, k), ss.best_k_term(xp_gpu.asarray(w), k), xp_gpu)


# --------------------------------------------------------------------------- other projections


@GPU_SETTINGS
@given(w=weight_arrays(), density=st.floats(0.0, 1.0), data=st.data())
def test_prune_to_density_identical(xp_gpu, w, density, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-w.ndim, w.ndim - 1)))
    assert_same(ss.prune_to_density(w, density, axis=axis),
                ss.prune_to_density(xp_gpu.asarray(w), density, axis=axis), xp_gpu)


@GPU_SETTINGS
@given(w=weight_arrays(), data=st.data())
def test_magnitude_threshold_identical(xp_gpu, w, data):
    """Threshold drawn from the magnitudes present (ties at t) or as a small integer."""
    mags = sorted(set(np.abs(w.astype(np.float64)).ravel().tolist()))
    t = data.draw(st.one_of(st.sampled_from(mags), st.integers(0, 3)))
    assert_same(ss.magnitude_threshold(w, t), ss.magnitude_threshold(xp_gpu.asarray(w), t), xp_gpu)


DYADIC = st.integers(-8, 8).map(lambda v: v / 4)


@GPU_SETTINGS
@given(data=st.data())
def test_group_best_q_identical(xp_gpu, data):
    """Labels shaped like w or like its trailing axes; dyadic values (exact norms)."""
    label_shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
    lead = data.draw(st.sampled_from([(), (3,), (2, 2)]))
    labels = data.draw(hnp.arrays(np.int64, label_shape, elements=st.integers(0, 4)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    w = data.draw(hnp.arrays(dtype, lead + label_shape, elements=DYADIC))
    q = data.draw(st.integers(0, int(labels.max()) + 1))
    assert_same(ss.group_best_q(w, labels, q),
                ss.group_best_q(xp_gpu.asarray(w), xp_gpu.asarray(labels), q), xp_gpu)


@pytest.mark.parametrize("kind", ["out", "in"])
def test_neuron_groups_on_device(xp_gpu, kind):
    rng = np.random.default_rng(2)
    w = (rng.integers(-4, 5, size=(6, 32, 16)) / 4).astype(np.float32)  # ties between neurons
    labels_cpu = ss.neuron_groups(w.shape, kind)
    labels_gpu = ss.neuron_groups(w.shape, kind, backend_like=xp_gpu.zeros(1))
    assert is_cupy(labels_gpu)
    np.testing.assert_array_equal(to_numpy(labels_gpu), labels_cpu)
    units = w.shape[2] if kind == "out" else w.shape[1]
    for q in (0, 1, units // 2, units):
        assert_same(ss.group_best_q(w, labels_cpu, q),
                    ss.group_best_q(xp_gpu.asarray(w), labels_gpu, q), xp_gpu)


def test_basics_on_device(xp_gpu):
    w = np.array([[0.0, 1.5, -2.0], [3.0, 0.0, -0.0]], dtype=np.float32)
    mask = np.array([[1, 0, 1], [1, 1, 0]], dtype=np.int8)
    wg, mg = xp_gpu.asarray(w), xp_gpu.asarray(mask)
    out = ss.apply_mask(wg, mg)
    assert is_cupy(out) and out.dtype == np.float32
    assert to_numpy(out).tobytes() == ss.apply_mask(w, mask).tobytes()
    assert ss.l0_norm(wg) == ss.l0_norm(w) == 3
    np.testing.assert_array_equal(to_numpy(ss.l0_norm(wg, axis=1)), ss.l0_norm(w, axis=1))
    assert ss.density(wg) == ss.density(w)
    labels = ss.group_labels(6, 2, backend_like=wg)
    assert is_cupy(labels)
    np.testing.assert_array_equal(to_numpy(labels), ss.group_labels(6, 2))


def test_validation_on_device(xp_gpu):
    with pytest.raises(ValueError, match=r"^w must not contain NaN or infinity$"):
        ss.best_k_term(xp_gpu.asarray([1.0, float("nan")]), 1)
    with pytest.raises(ValueError, match=r"^k must be in \[0, 2\]; got 3$"):
        ss.best_k_term(xp_gpu.zeros(2), 3)
    with pytest.raises(ValueError, match=r"^mask must be boolean or contain only 0 and 1"):
        ss.apply_mask(xp_gpu.zeros(2), xp_gpu.asarray([0, 2]))
    with pytest.raises(ValueError, match=r"^groups must hold labels >= 0"):
        ss.group_best_q(xp_gpu.ones(2), xp_gpu.asarray([0, -1]), 1)
