"""Settings as frozen specs (sparsesim.nn.specs) and the training loop's hooks (TrainLoop).

Tiny float64 networks on NumPy.  A spec and the keyword form must give bit-identical
training; each bad field must be refused naming that field; the hooks must see every step
and every evaluation without changing a number.
"""

import dataclasses

import numpy as np
import pytest

from sparsesim.nn import NetworkSpec, TrainLoop, TrainSpec, train
from sparsesim.nn.lottery import LotteryProtocol, PruningSchedule
from sparsesim.nn.optim import SGD, Adam, make_optimizer
from sparsesim.nn.training import TrainData

SIZES = (6, 10, 10, 3)
NET = NetworkSpec(SIZES, residual=True, dtype=np.float64)


def _data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = ((X[:, 0] > 0).astype(int) + (X[:, 1] * X[:, 2] > 0.3)).astype(np.int64) % 3
    a, b = int(0.6 * n), int(0.8 * n)
    return TrainData(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:])


def _same(r1, r2):
    """Bit-identical results: parameters, curves, early stopping, snapshots."""
    for (W1, b1), (W2, b2) in zip(r1.params, r2.params):
        assert np.array_equal(W1, W2) and np.array_equal(b1, b2)
    for curve in ("train_loss", "val_loss", "test_loss", "train_accuracy", "test_accuracy"):
        assert np.array_equal(getattr(r1, curve), getattr(r2, curve), equal_nan=True), curve
    assert np.array_equal(r1.early_stop_index, r2.early_stop_index)
    assert sorted(r1.rewind_params) == sorted(r2.rewind_params)
    for s in r1.rewind_params:
        for (W1, _), (W2, _) in zip(r1.rewind_params[s], r2.rewind_params[s]):
            assert np.array_equal(W1, W2)


# --------------------------------------------------------------------------- NetworkSpec

@pytest.mark.parametrize("kwargs,err,field", [
    (dict(sizes=(6,)), ValueError, "sizes"),
    (dict(sizes="6-10-3"), TypeError, "sizes"),
    (dict(sizes=(6, 0, 3)), ValueError, "sizes"),
    (dict(residual=(2,)), ValueError, "residual"),
    (dict(residual="yes"), TypeError, "residual"),
    (dict(activation="tanh"), ValueError, "activation"),
    (dict(init="he"), ValueError, "init"),
    (dict(dtype=np.float16), TypeError, "dtype"),
])
def test_network_spec_names_the_bad_field(kwargs, err, field):
    args = dict(sizes=SIZES, residual=True)
    args.update(kwargs)
    with pytest.raises(err, match=field):
        NetworkSpec(**args)


def test_network_spec_is_frozen_and_normalised():
    spec = NetworkSpec([6, 10, 10, 3], residual=[1], dtype="float64")
    assert spec.sizes == SIZES and spec.residual == (1,) and spec.dtype == np.float64
    assert spec.skips == (False, True, False)
    assert hash(spec) == hash(NetworkSpec(SIZES, residual=(1,), dtype=np.float64))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.sizes = (1, 2)
    with pytest.raises(ValueError, match="residual"):
        spec.replace(sizes=(6, 10, 3))          # layer 1 is no longer hidden-to-hidden


def test_network_spec_init_is_init_mlp():
    from sparsesim.nn import init_mlp

    a = NET.init_params(3, seed=5, backend="numpy")
    b = init_mlp(SIZES, 3, seed=5, backend="numpy", dtype=np.float64, residual=True)
    for (Wa, ba), (Wb, bb) in zip(a, b):
        assert np.array_equal(Wa, Wb) and np.array_equal(ba, bb)
    NET.check_params(a)
    with pytest.raises(ValueError, match="dtype"):
        NET.replace(dtype=np.float32).check_params(a)


# --------------------------------------------------------------------------- TrainSpec

@pytest.mark.parametrize("kwargs,err,field", [
    (dict(optimizer="adam"), TypeError, "optimizer"),
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(eval_every=0), ValueError, "eval_every"),
    (dict(loss="hinge"), ValueError, "loss"),
    (dict(temperature=0.0), ValueError, "temperature"),
    (dict(loss="mse", temperature=2.0), ValueError, "temperature"),
    (dict(batch_order="random"), ValueError, "batch_order"),
    (dict(use_graph="yes"), TypeError, "use_graph"),
    (dict(eval_chunk=0), ValueError, "eval_chunk"),
    (dict(tf32=1), TypeError, "tf32"),
])
def test_train_spec_names_the_bad_field(kwargs, err, field):
    args = dict(optimizer=Adam(lr=1e-2), steps=20, batch_size=8)
    args.update(kwargs)
    with pytest.raises(err, match=field):
        TrainSpec(**args)


def test_train_spec_is_frozen_and_replace_validates():
    spec = TrainSpec(SGD(lr=0.1), steps=10, batch_size=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.steps = 11
    assert spec.replace(steps=11).steps == 11 and spec.steps == 10
    with pytest.raises(ValueError, match="steps"):
        spec.replace(steps=-1)
    with pytest.raises(TypeError, match="no field 'step'"):
        spec.replace(step=3)


# --------------------------------------------------------------------------- train(spec)

@pytest.mark.parametrize("opt", [SGD(lr=0.05, momentum=0.9), Adam(lr=1e-2)],
                         ids=["momentum", "adam"])
def test_spec_and_keyword_forms_train_bit_identically(opt):
    """Falsified by any difference between the two call forms (same settings)."""
    params = NET.init_params(3, seed=3, backend="numpy")
    masks = [np.random.default_rng(1).random((3, 6, 10)) < 0.5, None, None]
    common = dict(data_seed=4, masks=masks, residual=True, start_steps=[0, 3, 5],
                  rewind_steps=(2, 7))
    old = train(params, _data(), optimizer=opt, steps=23, batch_size=16, eval_every=5,
                loss="cross_entropy", temperature=2.0, batch_order="shuffled", **common)
    spec = TrainSpec(opt, steps=23, batch_size=16, eval_every=5, temperature=2.0)
    _same(old, train(params, _data(), spec, **common))
    # a keyword beside the spec overrides that field
    _same(old, train(params, _data(), spec.replace(steps=99), steps=23, **common))


def test_train_refuses_bad_settings_naming_them():
    params = NET.init_params(1, seed=0, backend="numpy")
    spec = TrainSpec(Adam(lr=1e-2), steps=5, batch_size=4)
    with pytest.raises(TypeError, match="'stepz'"):
        train(params, _data(), optimizer=Adam(lr=1e-2), stepz=5, batch_size=4, data_seed=0)
    with pytest.raises(TypeError, match="missing steps, batch_size"):
        train(params, _data(), optimizer=Adam(lr=1e-2), data_seed=0)
    with pytest.raises(TypeError, match="spec must be a TrainSpec"):
        train(params, _data(), {"steps": 5}, data_seed=0)
    with pytest.raises(ValueError, match="batch_size"):     # beyond the training set: 72
        train(params, _data(), spec.replace(batch_size=73), data_seed=0, residual=True)
    with pytest.raises(ValueError, match="use_graph"):      # NumPy has no CUDA graphs
        train(params, _data(), spec, data_seed=0, use_graph=True)


# --------------------------------------------------------------------------- TrainLoop hooks

class _Recorder(TrainLoop):
    def on_step(self, s):
        super().on_step(s)
        self.steps_seen.append(s)

    def on_eval(self, j):
        self.evals_seen.append((j, int(self.points[j])))


def test_hooks_see_every_step_and_evaluation_and_change_nothing():
    params = NET.init_params(2, seed=7, backend="numpy")
    spec = TrainSpec(Adam(lr=1e-2), steps=17, batch_size=8, eval_every=5)
    loop = _Recorder(params, _data(), spec, data_seed=1, residual=True, rewind_steps=(0, 6))
    loop.steps_seen, loop.evals_seen = [], []
    res = loop.run()
    assert loop.steps_seen == list(range(18))
    assert loop.evals_seen == [(0, 0), (1, 5), (2, 10), (3, 15), (4, 17)]
    _same(res, train(params, _data(), spec, data_seed=1, residual=True, rewind_steps=(0, 6)))
    assert sorted(res.rewind_params) == [0, 6]


def test_a_hook_can_take_snapshots_the_default_does_not_keep():
    """on_step at s sees the parameters after s updates: equal to the rewind snapshot."""
    params = NET.init_params(2, seed=2, backend="numpy")
    spec = TrainSpec(SGD(lr=0.05), steps=9, batch_size=8, eval_every=3)

    class Every(TrainLoop):
        def on_step(self, s):
            super().on_step(s)
            self.kept[s] = [W.copy() for W, _ in self.work]

    loop = Every(params, _data(), spec, data_seed=0, residual=True)
    loop.kept = {}
    loop.run()
    ref = train(params, _data(), spec, data_seed=0, residual=True, rewind_steps=(4,))
    assert all(np.array_equal(a, W) for a, (W, _) in zip(loop.kept[4], ref.rewind_params[4]))
    assert not np.array_equal(loop.kept[4][0], loop.kept[5][0])


# --------------------------------------------------------------------------- LotteryProtocol

def test_lottery_protocol_splits_into_specs_and_back():
    sched = PruningSchedule.fixed_fraction(0.2, 3)
    proto = LotteryProtocol((6, 10, 10, 3), sched, residual=True, init="glorot_normal",
                            dtype=np.float64, optimizer="sgd", lr=0.05, momentum=0.9,
                            steps=40, batch_size=8, eval_every=10, rewind_step=3,
                            batch_order="sequential", use_graph=False, prune_step=30)
    assert proto.network == NetworkSpec((6, 10, 10, 3), True, init="glorot_normal",
                                        dtype=np.float64)
    spec = proto.training
    assert (spec.optimizer, spec.steps, spec.batch_size, spec.eval_every, spec.batch_order,
            spec.use_graph) == (SGD(lr=0.05, momentum=0.9), 40, 8, 10, "sequential", False)
    back = LotteryProtocol.from_specs(proto.network, spec, sched, rewind_step=3,
                                      prune_step=30)
    assert back == proto


@pytest.mark.parametrize("change,field", [
    (dict(optimizer=Adam(lr=1e-2, beta1=0.5)), "optimizer"),
    (dict(optimizer=Adam(lr=np.array([0.1, 0.2]))), "lr"),
    (dict(temperature=2.0), "temperature"),
    (dict(eval_chunk=16), "eval_chunk"),
])
def test_from_specs_refuses_what_a_protocol_cannot_state(change, field):
    spec = TrainSpec(make_optimizer("adam", 1e-2), steps=10, batch_size=4).replace(**change)
    with pytest.raises(ValueError, match=field):
        LotteryProtocol.from_specs(NET, spec, PruningSchedule.fixed_fraction(0.2, 2))
    with pytest.raises(TypeError, match="rewind_steps"):
        LotteryProtocol.from_specs(NET, spec, PruningSchedule.fixed_fraction(0.2, 2),
                                   rewind_steps=3)
