"""Data sets for the network studies: MNIST-1D and a planted sparse teacher.

Both are deterministic for a seed and identical on every backend: they are
generated on the host with NumPy and then moved to the requested backend.

- :func:`mnist1d` — the MNIST-1D data set (Greydanus 2020), generated offline
  with the ``mnist1d`` package (``pip install sparsesim[data]``) from its
  default arguments: 4,000 training and 1,000 test signals of length 40, 10
  classes.  Nothing is downloaded.
- :func:`planted_teacher` — a sparse ReLU teacher network with a known support
  labels Gaussian inputs, so that a pruned student's mask can be compared with
  the teacher's support.
"""

from __future__ import annotations

import functools
import math
import random
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._validation import check_choice, check_int, check_real
from ..backend import asarray, resolve_backend
from ..sparsity import keep_count
from . import mlp as _mlp

__all__ = ["Dataset", "PlantedTeacher", "mnist1d", "planted_teacher"]


def _deprecated_alias(new: str) -> property:
    """A read-only ``X_*`` alias of ``x_*`` that warns (the inputs are ``x_*`` everywhere)."""
    old = "X" + new[1:]

    def get(self):
        warnings.warn(f"Dataset.{old} is deprecated; use Dataset.{new} (the name TrainData "
                      "uses)", DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of :attr:`{new}`.")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train / validation / test splits as backend arrays.

    ``x_*`` have shape ``(n, n_features)`` and the parameters' dtype; ``y_*``
    are int64 class ids ``(n,)`` (classification) or float targets
    ``(n, n_out)`` (regression).  ``n_classes`` is 0 for regression.  The
    names are those of :class:`sparsesim.nn.training.TrainData`; the former
    ``X_train``, ``X_val``, ``X_test`` still read (with a
    ``DeprecationWarning``).
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any
    y_test: Any
    n_classes: int
    name: str

    X_train = _deprecated_alias("x_train")
    X_val = _deprecated_alias("x_val")
    X_test = _deprecated_alias("x_test")

    def __repr__(self) -> str:
        shape = lambda a: "x".join(map(str, getattr(a, "shape", ())))  # noqa: E731
        return (f"{type(self).__name__}({self.name!r}: train {shape(self.x_train)}, "
                f"val {shape(self.x_val)}, test {shape(self.x_test)}, "
                f"{self.n_classes or 'regression'}{' classes' if self.n_classes else ''})")


@dataclass(frozen=True, eq=False, repr=False)
class PlantedTeacher(Dataset):
    """A :class:`Dataset` labelled by a known sparse teacher network.

    ``teacher_params`` (one model: leading axis of length 1) and
    ``teacher_masks`` (bool, shaped like each ``W``) are on the data's
    backend; ``task`` is ``"classification"`` or ``"regression"``.
    """

    teacher_params: list = None  # type: ignore[assignment]
    teacher_masks: list = None  # type: ignore[assignment]
    task: str = "classification"


# --------------------------------------------------------------------------- MNIST-1D

@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Generate MNIST-1D once per process (a few seconds); read-only copies."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset  # noqa: PLC0415
    except ImportError as exc:
        raise ImportError("the MNIST-1D data set needs the optional package 'mnist1d': "
                          "pip install sparsesim[data]") from exc
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        data = make_dataset(get_dataset_args())  # seeds the global RNGs with args.seed
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    out = (np.array(data["x"], dtype=np.float64), np.array(data["y"], dtype=np.int64),
           np.array(data["x_test"], dtype=np.float64), np.array(data["y_test"], dtype=np.int64))
    for a in out:
        a.flags.writeable = False
    return out


def mnist1d(*, seed: Any = 0, n_validation: int = 500, backend: str = "auto",
            dtype: Any = np.float32) -> Dataset:
    """The MNIST-1D data set with a validation split taken from the training set.

    Parameters
    ----------
    seed : int or SeedSequence
        Chooses which ``n_validation`` of the 4,000 training signals form the
        validation set (the signals themselves are the standard data set,
        generated with the package's default arguments, ``args.seed = 42``).
    n_validation : int
        Size of the validation split, ``0 <= n_validation < 4000``.
    backend : {"auto", "numpy", "cupy"}
    dtype : float32 or float64
        dtype of the inputs; labels are int64.

    Returns
    -------
    Dataset
        ``x_train (4000 - n_validation, 40)``, ``x_val (n_validation, 40)``,
        ``x_test (1000, 40)`` and int64 labels in ``0..9``; each split keeps
        the order of the generated data set.

    Raises
    ------
    ImportError
        Without the optional ``mnist1d`` package (``pip install sparsesim[data]``).

    Notes
    -----
    ``mnist1d.data.make_dataset`` seeds NumPy's and Python's global random
    generators; their states are saved and restored around it.  The generated
    arrays are cached for the life of the process.

    Examples
    --------
    >>> d = mnist1d(seed=0, n_validation=500, backend="numpy")   # doctest: +SKIP
    >>> d.x_train.shape, d.x_val.shape, d.x_test.shape           # doctest: +SKIP
    ((3500, 40), (500, 40), (1000, 40))
    """
    n_validation = check_int("n_validation", n_validation, low=0, high=3999)
    dt = _mlp.check_float_dtype(dtype)
    backend = resolve_backend(backend)
    x, y, x_test, y_test = _mnist1d_arrays()
    n = x.shape[0]
    if n_validation >= n:  # pragma: no cover - the default data set has 4000
        raise ValueError(f"n_validation must be < {n}; got {n_validation}")
    rng = np.random.default_rng(_mlp.model_seeds(seed, 1)[0])
    perm = rng.permutation(n)
    val_idx = np.sort(perm[:n_validation])
    train_idx = np.sort(perm[n_validation:])
    put = lambda a, d=None: asarray(a, backend, d)  # noqa: E731
    return Dataset(x_train=put(x[train_idx], dt), y_train=put(y[train_idx]),
                   x_val=put(x[val_idx], dt), y_val=put(y[val_idx]),
                   x_test=put(x_test, dt), y_test=put(y_test),
                   n_classes=10, name="mnist1d")


# --------------------------------------------------------------------------- planted teacher

def planted_teacher(*, n_in: int, hidden: int | Sequence[int], n_out: int, density: float,
                    n_train: int, n_val: int, n_test: int, seed: Any, noise: float = 0.0,
                    task: str = "classification", backend: str = "auto",
                    dtype: Any = np.float32) -> PlantedTeacher:
    """Gaussian inputs labelled by a random sparse ReLU teacher with a known support.

    The teacher has widths ``(n_in, *hidden, n_out)``.  In each layer exactly
    ``k = floor(density·fan_in·fan_out + 0.5)`` weights (``k >= 1`` required)
    form its support, a uniformly random set; their values are
    ``N(0, 2·fan_out/k)`` (He scaling on the mean fan-in ``k/fan_out`` of the
    support); biases are 0.  Inputs are i.i.d. ``N(0, 1)``.

    Labels: ``task="classification"`` — the class is ``argmax(z + noise·ε)``
    with teacher logits ``z`` and i.i.d. ``ε ~ N(0, 1)`` per logit
    (``noise = 0``: the teacher's own decision); ``task="regression"`` —
    targets ``z + noise·ε``.

    Parameters stay: each is an independent knob of the planted model (widths, teacher
    density, the three split sizes, label noise, task) or of where it lives (seed, backend,
    dtype); all are keyword-only and the model's are required, so a call states every one.

    Parameters
    ----------
    n_in, n_out : int
    hidden : int or sequence of int
        Hidden widths (an empty sequence gives a linear teacher).
    density : float
        Fraction of each layer's weights in the support, ``0 < density <= 1``.
    n_train, n_val, n_test : int
        Split sizes (``n_train >= 1``).
    seed : int or SeedSequence
        Fixes teacher, inputs and noise (identical on every backend).
    noise : float
        Label / target noise standard deviation, ``>= 0``; regression targets
        must stay inside the range of ``dtype``.
    task : {"classification", "regression"}
    backend : {"auto", "numpy", "cupy"}
    dtype : float32 or float64

    Returns
    -------
    PlantedTeacher
        The splits plus ``teacher_params`` (one model, ``(1, fan_in, fan_out)``)
        and ``teacher_masks`` (bool, the support).

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range, named in the message.
        Every width and split size, each layer's ``fan_in * fan_out`` and the
        data's ``(n_train + n_val + n_test) * max(n_in, n_out)`` are at most
        :data:`sparsesim.nn.mlp.MAX_ELEMENTS` (``2**31``).

    Examples
    --------
    >>> d = planted_teacher(n_in=8, hidden=16, n_out=3, density=0.25, n_train=50,
    ...                     n_val=10, n_test=20, seed=0, backend="numpy")
    >>> d.x_train.shape, d.y_train.shape, int(d.teacher_masks[0].sum())
    ((50, 8), (50,), 32)
    """
    big = _mlp.MAX_ELEMENTS
    n_in = check_int("n_in", n_in, low=1, high=big)
    n_out = check_int("n_out", n_out, low=1, high=big)
    if isinstance(hidden, (bool, np.bool_)) or isinstance(hidden, (str, bytes)) \
            or not isinstance(hidden, (int, np.integer, Sequence)):
        raise TypeError(f"hidden must be an int or a sequence of ints; got {type(hidden).__name__}")
    if isinstance(hidden, (int, np.integer)):
        hidden = (check_int("hidden", hidden, low=1, high=big),)
    else:
        hidden = tuple(check_int(f"hidden[{i}]", h, low=1, high=big)
                       for i, h in enumerate(hidden))
    sizes = (n_in, *hidden, n_out)
    names = ["n_in"] + [f"hidden[{i}]" for i in range(len(hidden))] + ["n_out"]
    for (fi, fo), (a, b) in zip(zip(sizes[:-1], sizes[1:]), zip(names[:-1], names[1:])):
        if fi * fo > big:
            raise ValueError(f"{a} * {b} (the weights of one teacher layer) must be at most "
                             f"{big}; got {fi} * {fo}")
    density = check_real("density", density, low=0.0, high=1.0, low_open=True)
    n_train = check_int("n_train", n_train, low=1, high=big)
    n_val = check_int("n_val", n_val, low=0, high=big)
    n_test = check_int("n_test", n_test, low=0, high=big)
    if (n_train + n_val + n_test) * max(n_in, n_out) > big:
        raise ValueError(f"(n_train + n_val + n_test) * max(n_in, n_out) (the entries of the "
                         f"inputs or targets) must be at most {big}; got "
                         f"({n_train} + {n_val} + {n_test}) * {max(n_in, n_out)}")
    noise = check_real("noise", noise, low=0.0)
    check_choice("task", task, ("classification", "regression"))
    if task == "classification" and n_out < 2:
        raise ValueError(f"n_out must be >= 2 for task='classification'; got {n_out}")
    dt = _mlp.check_float_dtype(dtype)
    backend = resolve_backend(backend)

    teacher_seed, input_seed, noise_seed = _mlp.model_seeds(seed, 3)
    rng = np.random.default_rng(teacher_seed)
    params64, masks = [], []
    for l, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
        k = keep_count(density, fi * fo)
        if k < 1:
            raise ValueError(f"density={density} leaves no weight in teacher layer {l} "
                             f"({fi}x{fo}); raise the density")
        support = np.zeros(fi * fo, dtype=bool)
        support[rng.permutation(fi * fo)[:k]] = True
        support = support.reshape(1, fi, fo)
        W = rng.standard_normal((1, fi, fo)) * np.sqrt(2.0 * fo / k) * support
        params64.append((W, np.zeros((1, fo))))
        masks.append(support)

    n_total = n_train + n_val + n_test
    X = np.random.default_rng(input_seed).standard_normal((n_total, n_in))
    z = _mlp.forward(params64, X, masks)[0]
    eps = np.random.default_rng(noise_seed).standard_normal(z.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        target = z + noise * eps
    limit = float(np.finfo(dt).max) if task == "regression" else math.inf
    if not np.isfinite(target).all() or float(np.abs(target).max(initial=0.0)) > limit:
        raise ValueError(f"noise={noise} is too large: the noisy teacher outputs leave the "
                         f"range of {'float64' if task == 'classification' else dt}")
    y = target.argmax(axis=1).astype(np.int64) if task == "classification" else target

    cuts = np.cumsum([0, n_train, n_val, n_test])
    put = lambda a, d=None: asarray(a, backend, d)  # noqa: E731
    ydt = None if task == "classification" else dt
    split = lambda a, i, d: put(a[cuts[i]:cuts[i + 1]], d)  # noqa: E731
    return PlantedTeacher(
        x_train=split(X, 0, dt), y_train=split(y, 0, ydt),
        x_val=split(X, 1, dt), y_val=split(y, 1, ydt),
        x_test=split(X, 2, dt), y_test=split(y, 2, ydt),
        n_classes=n_out if task == "classification" else 0, name="planted_teacher",
        teacher_params=[(put(W, dt), put(b, dt)) for W, b in params64],
        teacher_masks=[put(m) for m in masks], task=task)
