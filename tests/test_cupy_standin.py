"""The CPU stand-in for CuPy behaves like CuPy where the package's tests rely on it.

Runs in the normal suite (the stand-in is imported directly, not installed):
if it silently converted to NumPy, returned host scalars from reductions,
shared NumPy's random stream or miscounted host reads, the gpu-marked tests
run through it (``python -m pytest -m gpu``) would prove nothing.
"""

import numpy as np
import pytest

import cupy_standin as cp
from sparsesim.backend import is_cupy


def test_device_arrays_refuse_implicit_host_conversion():
    x = cp.arange(4.0)
    assert is_cupy(x) and isinstance(x, cp.ndarray) and not isinstance(x, np.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError, match="NumPy array mixed"):
        x + np.ones(4)
    with pytest.raises(TypeError):
        cp.concatenate([x, np.ones(2)])
    np.testing.assert_array_equal(x.get(), np.arange(4.0))


def test_reductions_stay_on_the_device_and_reads_are_counted():
    x = cp.asarray(np.arange(6.0).reshape(2, 3))
    with cp.count_syncs() as c:
        s = x.sum()
        m = cp.max(x, axis=1)
        y = cp.where(x > 2, x, 0.0) * 2 + cp.exp(x)
        x[0, 0] = 5.0
    assert c.syncs == 0
    assert isinstance(s, cp.ndarray) and s.shape == () and isinstance(m, cp.ndarray)
    assert isinstance(y, cp.ndarray)
    with cp.count_syncs() as c:
        float(s); int(s); bool(s > 0); s.item(); m.get(); cp.asnumpy(y)
        x[x > 2]                    # boolean-mask indexing reads a count back
        cp.nonzero(x)
    assert c.syncs == 8


def test_random_stream_differs_from_numpy_for_the_same_seed():
    a = cp.random.RandomState(7).standard_normal(5).get()
    b = np.random.Generator(np.random.PCG64(7)).standard_normal(5)
    assert not np.allclose(a, b)
    again = cp.random.RandomState(7).standard_normal(5).get()
    np.testing.assert_array_equal(a, again)


def test_no_cuda_compilation():
    for name in ("RawKernel", "ElementwiseKernel"):
        assert not hasattr(cp, name)
    assert not hasattr(cp.cuda.Stream(), "begin_capture")


def test_eigsh_counts_maxiter_in_lanczos_steps_and_never_complains():
    # cupyx semantics: maxiter = Lanczos steps; after them the current Ritz
    # values come back without any error, converged or not.
    rng = np.random.default_rng(0)
    m = 300
    ev = np.concatenate([1 - 1e-3 * np.arange(4), np.linspace(-0.9, 0.9, m - 4)])
    Q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    A = cp.asarray((Q * ev) @ Q.T)
    op = cp.LinearOperator((m, m), matvec=lambda v: A @ v, dtype=np.float64)
    v0 = cp.asarray(rng.standard_normal(m))
    quick = cp.eigsh(op, k=2, which="LA", ncv=8, maxiter=8, tol=1e-12, v0=v0.copy(),
                     return_eigenvectors=False).get()
    full = cp.eigsh(op, k=2, which="LA", ncv=8, tol=1e-12, v0=v0.copy(),
                    return_eigenvectors=False).get()
    np.testing.assert_allclose(full, [1 - 1e-3, 1.0], atol=1e-10)
    assert np.abs(quick - [1 - 1e-3, 1.0]).max() > 1e-6     # one cycle: not converged
