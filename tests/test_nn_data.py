"""Tests of the data sets: MNIST-1D (generated offline) and the planted sparse teacher."""

import random
import sys

import numpy as np
import pytest

from backends import backend_of, both_backends
from sparsesim.backend import to_numpy
from sparsesim.nn import data as data_mod
from sparsesim.nn import forward, mnist1d, planted_teacher


# --------------------------------------------------------------------------- MNIST-1D

def test_mnist1d_generation_restores_global_rngs_and_has_the_standard_shape():
    # make_dataset seeds numpy's and Python's global generators with args.seed = 42;
    # falsified if either global state differs after the call.
    data_mod._mnist1d_arrays.cache_clear()
    np.random.seed(123)
    random.seed(456)
    np_before, py_before = np.random.get_state(), random.getstate()
    d = mnist1d(seed=0, n_validation=500, backend="numpy")
    np_after, py_after = np.random.get_state(), random.getstate()
    assert py_before == py_after
    assert np_before[0] == np_after[0] and np.array_equal(np_before[1], np_after[1])
    assert np_before[2:] == np_after[2:]
    assert d.x_train.shape == (3500, 40) and d.x_val.shape == (500, 40)
    assert d.x_test.shape == (1000, 40) and d.y_test.shape == (1000,)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.n_classes == 10 and d.name == "mnist1d"
    for y in (d.y_train, d.y_val, d.y_test):
        assert y.min() >= 0 and y.max() <= 9
    # the standard data set: every class present, roughly balanced (500 per class in all)
    counts = np.bincount(np.concatenate([d.y_train, d.y_val, d.y_test]), minlength=10)
    np.testing.assert_array_equal(counts, np.full(10, 500))


def test_mnist1d_split_partitions_the_training_set_deterministically():
    x, y, x_test, y_test = data_mod._mnist1d_arrays()
    a = mnist1d(seed=3, n_validation=700, backend="numpy", dtype=np.float64)
    b = mnist1d(seed=3, n_validation=700, backend="numpy", dtype=np.float64)
    c = mnist1d(seed=4, n_validation=700, backend="numpy", dtype=np.float64)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.x_val, c.x_val)
    # train ∪ val is exactly the generated training set, each row once, order kept
    rows = np.concatenate([a.x_train, a.x_val])
    labels = np.concatenate([a.y_train, a.y_val])
    order = np.lexsort(rows.T[::-1])
    ref = np.lexsort(x.T[::-1])
    np.testing.assert_array_equal(rows[order], x[ref])
    np.testing.assert_array_equal(labels[order], y[ref])
    np.testing.assert_array_equal(a.x_test, x_test)
    assert mnist1d(seed=0, n_validation=0, backend="numpy").x_val.shape == (0, 40)


def test_mnist1d_without_validation_is_the_notebooks_training_set_in_its_order():
    """n_validation = 0 (the lottery notebook's protocol): all 4,000 training signals in the
    generated order, whatever the seed, so sequential batches read the notebook's batches;
    float32 inputs are the float64 signals rounded, as torch.Tensor(dataset['x']) does."""
    x, y, _, _ = data_mod._mnist1d_arrays()
    for seed in (0, 5):
        d = mnist1d(seed=seed, n_validation=0, backend="numpy", dtype=np.float64)
        np.testing.assert_array_equal(d.x_train, x)
        np.testing.assert_array_equal(d.y_train, y)
    f32 = mnist1d(seed=0, n_validation=0, backend="numpy")
    assert f32.x_train.dtype == np.float32 and f32.y_val.shape == (0,)
    np.testing.assert_array_equal(f32.x_train, x.astype(np.float32))


def test_mnist1d_without_the_package_explains_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install sparsesim\[data\]"):
        data_mod._mnist1d_arrays.__wrapped__()


def test_mnist1d_bad_arguments():
    with pytest.raises(ValueError, match="n_validation must be in"):
        mnist1d(n_validation=4000, backend="numpy")
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        mnist1d(dtype=np.int16, backend="numpy")


# --------------------------------------------------------------------------- planted teacher

def test_planted_teacher_labels_come_from_the_teacher():
    d = planted_teacher(n_in=10, hidden=(12, 8), n_out=4, density=0.3, n_train=200, n_val=50,
                        n_test=60, seed=7, backend="numpy", dtype=np.float64)
    assert d.x_train.shape == (200, 10) and d.x_val.shape == (50, 10) and d.x_test.shape == (60, 10)
    assert [tuple(W.shape) for W, _ in d.teacher_params] == [(1, 10, 12), (1, 12, 8), (1, 8, 4)]
    for (W, b), m, (fi, fo) in zip(d.teacher_params, d.teacher_masks, [(10, 12), (12, 8), (8, 4)]):
        assert m.dtype == bool and int(m.sum()) == int(np.floor(0.3 * fi * fo + 0.5))
        assert not W[~m].any() and np.all(W[m] != 0) and not b.any()
    for X, y in ((d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test)):
        np.testing.assert_array_equal(forward(d.teacher_params, X, d.teacher_masks)[0].argmax(1), y)
    assert d.n_classes == 4 and d.task == "classification"
    assert len(np.unique(d.y_train)) >= 2  # the teacher does not collapse to one class


def test_planted_teacher_determinism_noise_and_regression():
    kw = dict(n_in=6, hidden=10, n_out=3, density=0.5, n_train=300, n_val=0, n_test=10,
              backend="numpy", dtype=np.float64)
    a, b, c = (planted_teacher(seed=1, **kw), planted_teacher(seed=1, **kw),
               planted_teacher(seed=2, **kw))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.teacher_masks[0], b.teacher_masks[0])
    assert not np.array_equal(a.teacher_masks[0], c.teacher_masks[0])
    noisy = planted_teacher(seed=1, noise=1.0, **kw)
    np.testing.assert_array_equal(noisy.x_train, a.x_train)  # same inputs and teacher
    flips = (noisy.y_train != a.y_train).mean()
    assert 0.0 < flips < 1.0
    reg = planted_teacher(seed=1, task="regression", **kw)
    z = forward(reg.teacher_params, reg.x_train, reg.teacher_masks)[0]
    np.testing.assert_allclose(reg.y_train, z, rtol=1e-12)
    assert reg.y_train.shape == (300, 3) and reg.n_classes == 0
    f32 = planted_teacher(seed=1, **{**kw, "dtype": np.float32})
    assert f32.x_train.dtype == np.float32 and f32.teacher_params[0][0].dtype == np.float32


def test_planted_teacher_bad_arguments():
    kw = dict(n_in=6, hidden=10, n_out=3, density=0.5, n_train=30, n_val=0, n_test=10,
              seed=0, backend="numpy")
    with pytest.raises(ValueError, match="leaves no weight in teacher layer"):
        planted_teacher(**{**kw, "density": 1e-4})
    with pytest.raises(ValueError, match="density must be in"):
        planted_teacher(**{**kw, "density": 0.0})
    with pytest.raises(ValueError, match="task must be one of"):
        planted_teacher(**{**kw, "task": "ranking"})
    with pytest.raises(ValueError, match="n_out must be >= 2"):
        planted_teacher(**{**kw, "n_out": 1})
    with pytest.raises(ValueError, match="noise must be in"):
        planted_teacher(**{**kw, "noise": -1.0})
    with pytest.raises(TypeError, match="hidden must be"):
        planted_teacher(**{**kw, "hidden": 2.5})


@both_backends
def test_data_sets_are_the_same_arrays_on_each_backend(xp):
    """A seed is one data set: on either backend its arrays live there and equal the
    NumPy ones, and the teacher's labels are its own network's argmax on the inputs."""
    kw = dict(n_in=6, hidden=10, n_out=3, density=0.5, n_train=30, n_val=5, n_test=10, seed=0)
    a = planted_teacher(backend="numpy", **kw)
    g = planted_teacher(backend=backend_of(xp), **kw)
    assert type(g.x_train).__module__.split(".")[0] == xp.__name__
    np.testing.assert_array_equal(to_numpy(g.x_train), a.x_train)
    np.testing.assert_array_equal(to_numpy(g.y_train), a.y_train)
    d = mnist1d(seed=0, backend=backend_of(xp))
    np.testing.assert_array_equal(to_numpy(d.x_val), mnist1d(seed=0, backend="numpy").x_val)


# --------------------------------------------------------------------------- argument checks

_TEACHER = dict(n_in=8, hidden=16, n_out=3, density=0.25, n_train=20, n_val=5, n_test=5,
                seed=0, backend="numpy")


@pytest.mark.parametrize("change, name", [
    ({"hidden": 0}, "hidden"),
    ({"hidden": [16, 0]}, r"hidden\[1\]"),
    ({"hidden": [16, 2.5]}, r"hidden\[1\]"),
    ({"n_in": 10 ** 18}, "n_in"),
    ({"hidden": 2 ** 40}, "hidden"),
    ({"n_in": 2 ** 20, "hidden": 2 ** 12}, r"n_in \* hidden\[0\]"),
    ({"n_train": 2 ** 31}, "n_train"),
    ({"noise": 1.7e308}, "noise"),
    ({"noise": 1e300, "task": "regression"}, "noise"),
])
def test_planted_teacher_names_the_bad_argument(change, name):
    # Falsified by a message naming an internal argument (sizes[1]) or by an
    # unnamed NumPy error / MemoryError / RuntimeWarning.
    with pytest.raises((TypeError, ValueError), match=name):
        planted_teacher(**{**_TEACHER, **change})


def test_the_former_capital_names_still_read_with_a_deprecation_warning():
    # Falsified if Dataset and TrainData disagree on the names, or the old ones break.
    from sparsesim.nn import TrainData

    d = planted_teacher(n_in=4, hidden=8, n_out=2, density=0.5, n_train=20, n_val=5,
                        n_test=6, seed=0, backend="numpy")
    for name in ("train", "val", "test"):
        with pytest.warns(DeprecationWarning, match=f"Dataset.X_{name} is deprecated; use "
                                                     f"Dataset.x_{name}"):
            assert getattr(d, f"X_{name}") is getattr(d, f"x_{name}")
    data = TrainData.from_dataset(d)
    assert data.x_train is d.x_train and data.x_test is d.x_test
    assert repr(d) == "PlantedTeacher('planted_teacher': train 20x4, val 5x4, test 6x4, 2 classes)"
