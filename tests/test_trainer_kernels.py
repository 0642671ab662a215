"""The trainer's CUDA kernels (sparsesim.kernels.trainer): compile, twins, device checks.

* Both kernel sources compile under NVRTC for sm_90 in float and double with
  the package's flags, without warnings, spills or local memory, within the
  small-kernel register budget (skipped only where NVRTC is absent);
* the array twins equal the reference arithmetic bit for bit on NumPy in
  float64 and float32 (:func:`adam_multi_twin_` against the optimizer's
  ``_adam_plain_``; :func:`bias_relu_twin_` against ``forward_pass``'s
  expressions);
* on a CUDA device (``gpu`` + ``needs_cuda``): each kernel against its twin
  with ``tobytes()``, the trainer with the multi-tensor Adam against
  ``Adam(fused=False)`` bit for bit, and ``tf32=True`` recorded in the result;
* without one (NumPy, the CuPy stand-in) ``tf32=True`` is refused with a
  clear error and the launchers fall back to their twins.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim.kernels import trainer as tk
from sparsesim.nn import init_mlp
from sparsesim.nn import optim as _optim
from sparsesim.nn.optim import Adam
from sparsesim.nn.training import TrainData, train
from test_cuda_compile import SMALL_KERNEL_REGISTERS, compile_checked, nvrtc  # noqa: F401


# --------------------------------------------------------------------------- NVRTC

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["bias_relu", "adam_multi"])
def test_trainer_kernels_compile_clean(nvrtc, name, dtype):  # noqa: F811
    source = {"bias_relu": tk.BIAS_RELU_SOURCE, "adam_multi": tk.ADAM_MULTI_SOURCE}[name]
    src = tk.kernel_source(source, dtype)
    assert "CTYPE" not in src
    compile_checked(nvrtc, src, {f"sparsesim_{name}": SMALL_KERNEL_REGISTERS})


def test_kernel_source_refuses_other_dtypes():
    with pytest.raises(TypeError, match="float32 or float64"):
        tk.kernel_source(tk.BIAS_RELU_SOURCE, np.float16)


# --------------------------------------------------------------------------- twins

def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), dtype=st.sampled_from([np.float64, np.float32]),
       n_models=st.integers(1, 4), gating=st.booleans(), masked=st.booleans())
def test_adam_multi_twin_equals_the_plain_update(seed, dtype, n_models, gating, masked):
    rng = np.random.default_rng(seed)
    shapes = [(n_models, 3, 5), (n_models, 5), (n_models, 5, 2), (n_models, 2)]

    def arr(s, positive=False):
        a = rng.random(s) if positive else rng.normal(size=s)
        return a.astype(dtype)

    ps, gs = [arr(s) for s in shapes], [arr(s) for s in shapes]
    ms, vs = [arr(s) for s in shapes], [arr(s, True) for s in shapes]
    masks = [(rng.random(s) < 0.5).astype(dtype) if masked and k % 2 == 0 else None
             for k, s in enumerate(shapes)]
    active = (rng.random(n_models) < 0.5).astype(dtype) if gating else None
    step_size = arr(n_models, True) / 10
    sqrt_bc2 = arr(n_models, True) + dtype(0.1)
    ref = [[a.copy() for a in group] for group in (ps, ms, vs)]
    for k in range(len(shapes)):
        bc = (n_models,) + (1,) * (len(shapes[k]) - 1)
        _optim._adam_plain_(ref[0][k], gs[k], ref[1][k], ref[2][k], masks[k],
                            None if active is None else active.reshape(bc),
                            step_size.reshape(bc), sqrt_bc2.reshape(bc), 0.9, 0.999, 1e-8)
    tk.adam_multi_(np, None, ps, gs, ms, vs, masks, active, step_size, sqrt_bc2,
                   0.9, 0.999, 1e-8)
    for got, want in zip((ps, ms, vs), ref):
        assert all(_same(a, b) for a, b in zip(got, want))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bias_relu_twin_equals_the_forward_expressions(dtype):
    rng = np.random.default_rng(4)
    z0 = rng.normal(size=(3, 7, 5)).astype(dtype)
    b = rng.normal(size=(3, 5)).astype(dtype)
    a = rng.normal(size=(3, 7, 5)).astype(dtype)
    for relu, res in ((False, False), (True, False), (True, True)):
        want = z0 + b[:, None, :]
        if relu:
            gate_ref = want > 0
            want = want * gate_ref
            if res:
                want = want + a
        z, gate = z0.copy(), np.empty_like(z0)
        tk.bias_relu_(np, z, gate if relu else None, b, a if res else None, relu=relu)
        assert _same(z, want)
        if relu:
            assert _same(gate, gate_ref.astype(dtype))
    z = z0.copy()                               # no gate array: a temporary one
    tk.bias_relu_(np, z, None, b, None, relu=True)
    assert _same(z, (z0 + b[:, None, :]) * (z0 + b[:, None, :] > 0))


def test_no_cuda_kernels_on_numpy_or_the_standin():
    assert not tk.has_cuda_kernels(np)


def _problem(B=3, dtype=np.float32, backend="numpy"):
    rng = np.random.default_rng(0)
    parts = []
    for n in (60, 20, 20):
        parts += [rng.normal(size=(n, 6)).astype(dtype), rng.integers(0, 3, size=n)]
    params = init_mlp((6, 9, 9, 3), B, seed=1, backend=backend, dtype=dtype, residual=True)
    return TrainData(*parts), params


def test_tf32_is_refused_without_cupy_and_for_float64():
    data, params = _problem()
    kw = dict(optimizer=Adam(lr=1e-2), steps=2, batch_size=10, data_seed=0, residual=True)
    with pytest.raises(ValueError, match="tf32=True needs CuPy"):
        train(params, data, tf32=True, **kw)
    data64, params64 = _problem(dtype=np.float64)
    with pytest.raises(ValueError, match="float32"):
        train(params64, data64, tf32=True, **kw)
    with pytest.raises(TypeError, match="tf32"):
        train(params, data, tf32="yes", **kw)
    assert train(params, data, **kw).tf32 is False
    with pytest.raises(ValueError, match="no TF32 mode"):
        with tk.tf32_matmul(np):
            pass


# CuPy only (xp_gpu): TF32 and the kernel launchers exist only on CuPy (NumPy's refusal: above).
@pytest.mark.gpu
def test_standin_runs_the_twins_and_refuses_tf32(xp_gpu):
    """Under the CPU stand-in (no kernels) the launchers take the twins; on a
    real device tf32=True runs and is recorded."""
    cp = xp_gpu
    data, params = _problem(backend="cupy")
    data = TrainData(*(cp.asarray(a) for a in (data.x_train, data.y_train, data.x_val,
                                               data.y_val, data.x_test, data.y_test)))
    kw = dict(optimizer=Adam(lr=1e-2), steps=3, batch_size=10, data_seed=0, residual=True)
    if tk.has_cuda_kernels(cp):  # pragma: no cover - GPU only
        assert train(params, data, tf32=True, **kw).tf32 is True
    else:
        with pytest.raises(ValueError, match="tf32=True needs CuPy"):
            train(params, data, tf32=True, **kw)
        assert train(params, data, **kw).tf32 is False


# --------------------------------------------------------------------------- device

# CuPy only (xp_gpu): RawKernel launches against their twins; NumPy has no kernels.
@pytest.mark.gpu
@pytest.mark.needs_cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gpu_kernels_equal_their_twins_bit_for_bit(xp_gpu, dtype):  # pragma: no cover
    cp = xp_gpu
    rng = np.random.default_rng(2)
    z0 = cp.asarray(rng.normal(size=(4, 33, 17)).astype(dtype))
    b = cp.asarray(rng.normal(size=(4, 17)).astype(dtype))
    a = cp.asarray(rng.normal(size=(4, 33, 17)).astype(dtype))
    for relu, res in ((False, False), (True, False), (True, True)):
        outs = []
        for fn in (tk.bias_relu_, tk.bias_relu_twin_):
            z, gate = z0.copy(), cp.empty_like(z0)
            fn(cp, z, gate if relu else None, b, a if res else None, relu=relu)
            outs.append((cp.asnumpy(z), cp.asnumpy(gate) if relu else None))
        assert _same(outs[0][0], outs[1][0])
        if relu:
            assert _same(outs[0][1], outs[1][1])
    shapes = [(4, 40, 30), (4, 30), (4, 30, 3), (4, 3)]
    base = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(3)]
    vs0 = [np.abs(rng.normal(size=s)).astype(dtype) for s in shapes]
    masks = [cp.asarray((rng.random(s) < 0.4).astype(dtype)) if k != 1 else None
             for k, s in enumerate(shapes)]
    step_size = cp.asarray(np.array([1e-2, 2e-2, 0.0, 5e-3], dtype))
    sqrt_bc2 = cp.asarray(np.array([0.03, 0.05, 0.1, 0.2], dtype))
    for active in (None, cp.asarray(np.array([1, 0, 1, 1], dtype))):
        results = []
        for use_kernel in (True, False):
            ps, gs, ms = ([cp.asarray(x) for x in group] for group in base)
            vs = [cp.asarray(x) for x in vs0]
            table = tk.AdamTable(cp, ps, gs, ms, vs, masks) if use_kernel else None
            tk.adam_multi_(cp, table, ps, gs, ms, vs, masks, active, step_size, sqrt_bc2,
                           0.9, 0.999, 1e-8)
            results.append([cp.asnumpy(x) for x in ps + ms + vs])
        assert all(_same(x, y) for x, y in zip(*results))


# CuPy only (xp_gpu): the multi-tensor Adam kernel in the trainer; NumPy has no kernels.
@pytest.mark.gpu
@pytest.mark.needs_cuda
def test_gpu_trainer_multi_tensor_adam_equals_plain(xp_gpu):  # pragma: no cover
    cp = xp_gpu
    data, params = _problem(B=4, dtype=np.float32, backend="cupy")
    data = TrainData(*(cp.asarray(a) for a in (data.x_train, data.y_train, data.x_val,
                                               data.y_val, data.x_test, data.y_test)))
    rng = np.random.default_rng(5)
    masks = [cp.asarray(rng.random(W.shape) < 0.5) for W, _ in params]
    kw = dict(steps=17, batch_size=10, data_seed=0, residual=True, masks=masks,
              start_steps=[0, 2, 0, 5], eval_every=5, use_graph=False)
    fused = train(params, data, optimizer=Adam(lr=1e-2), **kw)
    plain = train(params, data, optimizer=Adam(lr=1e-2, fused=False), **kw)
    for (W, b), (W2, b2) in zip(fused.params, plain.params):
        assert _same(cp.asnumpy(W), cp.asnumpy(W2)) and _same(cp.asnumpy(b), cp.asnumpy(b2))
    assert _same(fused.val_loss, plain.val_loss)
    tf = train(params, data, optimizer=Adam(lr=1e-2), tf32=True, **kw)
    assert tf.tf32 and not fused.tf32
    np.testing.assert_allclose(tf.train_loss, fused.train_loss, rtol=0.05)
