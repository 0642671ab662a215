"""NumPy and CuPy give identical projections for identical inputs.

The projection tests run on NumPy and on CuPy (``@both_backends``, tests/backends.py)
and compare each backend with a slow NumPy reference computed exactly (a stable sort
of the magnitudes in the input's own dtype, Python comparisons for thresholds, float64
group norms of dyadic values); the tests of CuPy itself (backend resolution, device
arrays, the device generator, errors on device arrays) are marked ``gpu`` and use the
``xp_gpu`` fixture.  A ``gpu`` case is skipped (by ``tests/conftest.py``) where CuPy or
a usable CUDA device is missing.  CuPy is never imported at module level.

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
from backends import both_backends
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
from sparsesim.sparsity import keep_count

# Function-scoped fixtures inside @given are fine here: xp only returns the module.
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


def assert_same(cpu_result, gpu_result, xp):
    """Pruned values bitwise equal, masks exactly equal, results on ``xp``'s device."""
    cpu_pruned, cpu_mask = cpu_result
    gpu_pruned, gpu_mask = gpu_result
    assert isinstance(gpu_pruned, xp.ndarray) and isinstance(gpu_mask, xp.ndarray)
    assert gpu_pruned.dtype == cpu_pruned.dtype and gpu_mask.dtype == np.bool_
    assert gpu_pruned.shape == cpu_pruned.shape and gpu_mask.shape == cpu_mask.shape
    np.testing.assert_array_equal(to_numpy(gpu_mask), cpu_mask)
    assert to_numpy(gpu_pruned).tobytes() == np.ascontiguousarray(cpu_pruned).tobytes()


def _pruned(w, mask):
    return np.where(mask, w, w.dtype.type(0)), mask


def best_k_term_reference(w, k, axis=None):
    """Slow twin of ``best_k_term``: order by magnitude descending, ties to the lower
    index (a stable sort of the reversed magnitudes, exact in ``w``'s own dtype: signed
    integers are drawn from ``[-max, max]``), keep the first ``k``."""
    a = np.abs(w)
    moved = a.reshape(1, -1) if axis is None else np.moveaxis(a, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    n = rows.shape[1]
    order = n - 1 - np.argsort(rows[:, ::-1], axis=1, kind="stable")[:, ::-1]
    keep = np.zeros(rows.shape, bool)
    np.put_along_axis(keep, order[:, :k], True, axis=1)
    keep = keep.reshape(moved.shape)
    return _pruned(w, keep.reshape(w.shape) if axis is None else np.moveaxis(keep, -1, axis))


def threshold_reference(w, t):
    """Slow twin of ``magnitude_threshold``: ``|w| > t`` by exact Python comparison."""
    mag = (lambda v: abs(int(v))) if w.dtype.kind in "iu" else (lambda v: abs(float(v)))
    return _pruned(w, np.array([mag(v) > t for v in w.ravel()], bool).reshape(w.shape))


def group_best_q_reference(w, labels, q):
    """Slow twin of ``group_best_q``: every problem (index of the leading axes) keeps
    the labels of the ``q`` largest float64 group norms, ties to the lower label."""
    flat = labels.ravel()
    n_groups = int(flat.max()) + 1
    rows = []
    for row in np.asarray(w, np.float64).reshape(-1, flat.size):
        norms = np.bincount(flat, weights=row ** 2, minlength=n_groups)
        rows.append(np.isin(flat, np.lexsort((np.arange(n_groups), -norms))[:q]))
    return _pruned(w, np.array(rows).reshape(w.shape))


# --------------------------------------------------------------------------- backend on a device

# CuPy only (xp_gpu, this section): backend resolution, device arrays and the
# device generator have no NumPy counterpart to compare with.
@pytest.mark.gpu

def test_backend_resolves_to_cupy(xp_gpu):
    assert resolve_backend("cupy") == "cupy"
    assert resolve_backend("auto") == "cupy"
    assert get_namespace("cupy") is xp_gpu
    assert isinstance(device_name("cupy"), str) and device_name("cupy")


@pytest.mark.gpu
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


@pytest.mark.gpu
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


@both_backends
@GPU_SETTINGS
@given(w=weight_arrays(), data=st.data())
def test_best_k_term_global_identical(xp, w, data):
    """axis=None: same mask and values on both devices.

    Falsified by any mask entry or value bit that differs.
    """
    k = data.draw(st.integers(0, w.size))
    assert_same(best_k_term_reference(w, k), ss.best_k_term(xp.asarray(w), k), xp)


@both_backends
@GPU_SETTINGS
@given(w=weight_arrays(), data=st.data())
def test_best_k_term_batched_identical(xp, w, data):
    """Any axis (negative included): same masks and values on both devices.

    Falsified by any mask entry or value bit that differs.
    """
    axis = data.draw(st.integers(-w.ndim, w.ndim - 1))
    k = data.draw(st.integers(0, w.shape[axis]))
    assert_same(best_k_term_reference(w, k, axis=axis),
                ss.best_k_term(xp.asarray(w), k, axis=axis), xp)


@both_backends
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_best_k_term_heavy_ties_large(xp, dtype, axis):
    """Large tie-heavy arrays (values in {-2..2} and all-equal rows): identical masks.

    Falsified by a device that breaks ties at the k-th magnitude differently.
    """
    rng = np.random.default_rng(0)
    w = rng.integers(-2, 3, size=(257, 1031)).astype(dtype)
    w[::7] = 1  # some all-equal rows
    n = w.size if axis is None else w.shape[axis]
    for k in (0, 1, n // 3, n // 2, n - 1, n):
        cpu = best_k_term_reference(w, k, axis=axis)
        gpu = ss.best_k_term(xp.asarray(w), k, axis=axis)
        assert_same(cpu, gpu, xp)
        per = cpu[1].sum() if axis is None else cpu[1].sum(axis=axis)
        assert np.all(per == k)


@both_backends
def test_best_k_term_signed_zero_ties(xp):
    w = np.array([[0.0, -0.0, 0.0, 1.0, -0.0], [-0.0] * 5], dtype=np.float32)
    for k in range(6):
        assert_same(best_k_term_reference(w, k, axis=1),
                    ss.best_k_term(xp.asarray(w), k, axis=1), xp)


@both_backends
def test_best_k_term_float32_gaussian_large(xp):
    w = np.random.default_rng(1).standard_normal((512, 2048), dtype=np.float32)
    assert_same(best_k_term_reference(w, 64, axis=1),
                ss.best_k_term(xp.asarray(w), 64, axis=1), xp)
    k = int(0.02 * w.size)
    assert_same(best_k_term_reference(w, k), ss.best_k_term(xp.asarray(w), k), xp)


# --------------------------------------------------------------------------- other projections


@both_backends
@GPU_SETTINGS
@given(w=weight_arrays(), density=st.floats(0.0, 1.0), data=st.data())
def test_prune_to_density_identical(xp, w, density, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-w.ndim, w.ndim - 1)))
    n = w.size if axis is None else w.shape[axis]
    assert_same(best_k_term_reference(w, keep_count(density, n), axis=axis),
                ss.prune_to_density(xp.asarray(w), density, axis=axis), xp)


@both_backends
@GPU_SETTINGS
@given(w=weight_arrays(), data=st.data())
def test_magnitude_threshold_identical(xp, w, data):
    """Threshold drawn from the magnitudes present (ties at t) or as a small integer."""
    mags = sorted(set(np.abs(w.astype(np.float64)).ravel().tolist()))
    t = data.draw(st.one_of(st.sampled_from(mags), st.integers(0, 3)))
    assert_same(threshold_reference(w, t), ss.magnitude_threshold(xp.asarray(w), t), xp)


DYADIC = st.integers(-8, 8).map(lambda v: v / 4)


@both_backends
@GPU_SETTINGS
@given(data=st.data())
def test_group_best_q_identical(xp, data):
    """Labels shaped like w or like its trailing axes; dyadic values (exact norms)."""
    label_shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
    lead = data.draw(st.sampled_from([(), (3,), (2, 2)]))
    labels = data.draw(hnp.arrays(np.int64, label_shape, elements=st.integers(0, 4)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    w = data.draw(hnp.arrays(dtype, lead + label_shape, elements=DYADIC))
    q = data.draw(st.integers(0, int(labels.max()) + 1))
    assert_same(group_best_q_reference(w, labels, q),
                ss.group_best_q(xp.asarray(w), xp.asarray(labels), q), xp)


@both_backends
@pytest.mark.parametrize("kind", ["out", "in"])
def test_neuron_groups_on_device(xp, kind):
    rng = np.random.default_rng(2)
    w = (rng.integers(-4, 5, size=(6, 32, 16)) / 4).astype(np.float32)  # ties between neurons
    labels_cpu = ss.neuron_groups(w.shape, kind)
    labels_gpu = ss.neuron_groups(w.shape, kind, backend_like=xp.zeros(1))
    assert isinstance(labels_gpu, xp.ndarray)
    np.testing.assert_array_equal(to_numpy(labels_gpu), labels_cpu)
    units = w.shape[2] if kind == "out" else w.shape[1]
    for q in (0, 1, units // 2, units):
        assert_same(group_best_q_reference(w, labels_cpu, q),
                    ss.group_best_q(xp.asarray(w), labels_gpu, q), xp)


@both_backends
def test_basics_on_device(xp):
    w = np.array([[0.0, 1.5, -2.0], [3.0, 0.0, -0.0]], dtype=np.float32)
    mask = np.array([[1, 0, 1], [1, 1, 0]], dtype=np.int8)
    wg, mg = xp.asarray(w), xp.asarray(mask)
    out = ss.apply_mask(wg, mg)
    assert isinstance(out, xp.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(to_numpy(out), [[0.0, 0.0, -2.0], [3.0, 0.0, 0.0]])
    assert to_numpy(out).tobytes() == ss.apply_mask(w, mask).tobytes()
    assert ss.l0_norm(wg) == ss.l0_norm(w) == 3
    np.testing.assert_array_equal(to_numpy(ss.l0_norm(wg, axis=1)), ss.l0_norm(w, axis=1))
    assert ss.density(wg) == ss.density(w)
    labels = ss.group_labels(6, 2, backend_like=wg)
    assert isinstance(labels, xp.ndarray)
    np.testing.assert_array_equal(to_numpy(labels), ss.group_labels(6, 2))


# CuPy only (xp_gpu): errors raised for device arrays (NumPy's: test_sparsity.py).
@pytest.mark.gpu
def test_validation_on_device(xp_gpu):
    with pytest.raises(ValueError, match=r"^w must not contain NaN or infinity$"):
        ss.best_k_term(xp_gpu.asarray([1.0, float("nan")]), 1)
    with pytest.raises(ValueError, match=r"^k must be in \[0, 2\]; got 3$"):
        ss.best_k_term(xp_gpu.zeros(2), 3)
    with pytest.raises(ValueError, match=r"^mask must be boolean or contain only 0 and 1"):
        ss.apply_mask(xp_gpu.zeros(2), xp_gpu.asarray([0, 2]))
    with pytest.raises(ValueError, match=r"^groups must hold labels >= 0"):
        ss.group_best_q(xp_gpu.ones(2), xp_gpu.asarray([0, -1]), 1)
