"""Train a batch of B models together: minibatch SGD / Adam, masks, early stopping.

Every model of the batch advances one step at a time with all the others; each
has its own initialisation (its slice of ``params``), its own data order (its
own seed), optionally its own learning rate, mask and starting step.

Protocol
--------
Data order
    ``batch_order="shuffled"`` (default): model ``i`` draws its minibatches
    from its own generator (PCG64 seeded by
    child ``i`` of ``data_seed``, see :func:`sparsesim.nn.model_seeds`): the
    training set is visited in consecutive random permutations (epochs without
    replacement; a minibatch may straddle two epochs), so the order of model
    ``i`` does not depend on the other models.  The index stream is generated
    on the host with NumPy and uploaded once per evaluation window (in
    segments of at most ``MAX_ORDER_ENTRIES`` indices), so a data
    seed gives the same order on NumPy and CuPy.  Step ``s`` of every model
    reads position ``s`` of its stream (also a model that starts late).
    ``batch_order="sequential"``: every model reads the training set in its
    stored order, cycled — step ``s`` (0-based) takes the examples
    ``(s·batch + j) mod n_train``, ``j < batch`` — the same order for every
    model, every epoch and every call, whatever ``data_seed`` (the MNIST-1D
    notebook's ``bix = (step·batch) mod n_train``, which it equals when the
    batch size divides ``n_train``).
Masks
    Enforced at every step: the gradient is zeroed on pruned entries (so the
    optimizer's moments stay 0 there) and the mask is re-applied after the
    update, so a pruned weight is exactly 0 after every step, under SGD,
    momentum and Adam alike.  The starting parameters are masked too.
Evaluation
    At steps ``0, e, 2e, ...`` and at the last step (``e = eval_every``; step
    ``s`` = after ``s`` updates): loss and accuracy of every model on the
    whole training set, the validation split and the test set.  Metrics stay
    on the device until the end of training.
Early stopping
    ``early_stop_iter`` is the evaluation step with the minimum validation
    loss (Frankle & Carbin 2019; the first such step on ties; a NaN loss
    counts as +inf).  A model that starts at step ``tau`` only counts the
    evaluation points ``>= tau``.  Without a validation split (``x_val``
    with 0 rows: every training signal is trained on) early stopping is off:
    the validation curves are NaN and ``early_stop_iter`` is the last step.
Test accuracy
    ``final_test_accuracy`` is the test accuracy at the last step — the
    "test_accuracy" of the MNIST-1D lottery notebook (which trains for a fixed
    budget); ``early_stop_test_accuracy`` is the test accuracy at the
    early-stopping step (the Frankle & Carbin reading).
Late start (rewinding)
    ``start_steps[i] = tau`` freezes model ``i`` until global step ``tau``:
    it is trained from step ``tau`` to ``steps`` with the data it would have
    seen in that stretch, with a fresh optimizer state (weights are rewound,
    optimizer state is not, as in OpenLTH).
Rewind snapshots
    ``rewind_steps=(tau, ...)`` returns copies of every model's parameters
    after ``tau`` updates.

Devices
-------
On NumPy the *plain path* runs: one Python call per step.  On CuPy,
``use_graph=True`` captures one training step — gather the minibatch through
a device-side step counter, forward, backward, optimizer update, counter
increments — in a CUDA graph (``Stream.begin_capture`` / ``end_capture``) and
replays it with ``graph.launch``; every buffer is allocated before the
capture and updated in place, the capture's temporaries come from a private
memory pool that nothing else uses, and nothing reads a device value on the
host until training ends.  The first step runs uncaptured (it compiles the
kernels and fills the pool).  The step's matrix products go through cuBLAS,
and CuPy 14 refuses any cuBLAS call while a stream is capturing
(``NotImplementedError``, seen on an H200 with CuPy 14.2 / CUDA 13), so the
default ``use_graph=None`` asks :func:`cuda_graph_support` once per process
and takes the graph path only where a capture of a matrix product works;
elsewhere it runs the plain path, and ``use_graph=True`` raises at once with
CuPy's reason.  Both paths give the same results where both run (GPU tests).

Every step writes into arrays allocated before the first one (activations,
gates, gradients; :class:`sparsesim.nn.passes.StepBuffers`), and the
evaluation reuses three activation arrays.  On a CUDA device the element-wise
work runs in the kernels of :mod:`sparsesim.kernels.trainer`: a layer's
``+ b``, ReLU and residual in one launch, and Adam over every tensor in one
launch (unless ``Adam(fused=False)``).  They round every operation as the
array code does, so they change the launch count, not the numbers.  On NumPy
the same array code runs in place (Adam by cache-sized blocks); the results
are bit-identical to the code with fresh temporaries
(``tests/test_train_bitexact.py``).  ``tf32=True`` (CuPy, float32; off by
default) runs the matrix products on TF32 tensor cores, which does change
the numbers; :attr:`TrainResult.tf32` records it.

Examples
--------
>>> import numpy as np
>>> from sparsesim.nn import init_mlp
>>> from sparsesim.nn.optim import Adam
>>> from sparsesim.nn import TrainData, TrainSpec, train
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5)); y = (X[:, 0] > 0).astype(int)
>>> data = TrainData(X[:40], y[:40], X[40:50], y[40:50], X[50:], y[50:])
>>> params = init_mlp((5, 8, 2), 3, seed=1, backend="numpy", dtype=np.float64)
>>> spec = TrainSpec(Adam(lr=1e-2), steps=20, batch_size=10, eval_every=10)
>>> res = train(params, data, spec, data_seed=2)
>>> res.eval_steps.tolist(), res.val_loss.shape, res.early_stop_iter.shape
([0, 10, 20], (3, 3), (3,))

The keyword form gives the same run:

>>> same = train(params, data, optimizer=Adam(lr=1e-2), steps=20, batch_size=10,
...              eval_every=10, data_seed=2)
>>> bool((same.val_loss == res.val_loss).all())
True
"""

from __future__ import annotations

import contextlib
import numbers
import types
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._validation import check_array, check_choice, check_int, short_repr
from ..backend import namespace_of, to_numpy
from ..kernels import trainer as _trainer_kernels
from . import mlp as _mlp
from . import passes as _passes
from .optim import float_masks
from .specs import BATCH_ORDERS, MAX_STEPS, TrainSpec

__all__ = ["TrainData", "TrainResult", "TrainLoop", "TrainSpec", "train", "cuda_graph_support",
           "data_order", "eval_points", "early_stopping", "BATCH_ORDERS", "MAX_STEPS",
           "MAX_EVALS", "MAX_ORDER_ENTRIES"]

#: Most evaluation points a run may ask for.
MAX_EVALS = 1_000_000
#: Most minibatch indices :func:`data_order` materialises at once.
MAX_ORDER_ENTRIES = 1 << 26


# --------------------------------------------------------------------------- data

@dataclass(frozen=True)
class TrainData:
    """Training, validation and test splits (arrays on one backend).

    Parameters
    ----------
    x_train, x_val, x_test : arrays ``(n, n_in)``
    y_train, y_val, y_test : arrays
        Integer class ids ``(n,)`` (cross-entropy) or float targets
        ``(n, n_out)`` (MSE).  The validation split may have 0 rows (no
        validation split: early stopping is then off, see
        :func:`train`); the training and test splits need at least one.

    Examples
    --------
    >>> d = TrainData(np.zeros((4, 2)), np.zeros(4, int), np.zeros((2, 2)), np.zeros(2, int),
    ...               np.zeros((2, 2)), np.zeros(2, int))
    >>> d.n_train, d.n_in
    (4, 2)
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any
    y_test: Any

    def __post_init__(self):
        n_in = None
        y_kind = None
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            min_size = 0 if split == "val" else 1
            check_array(f"x_{split}", x, ndim=2, min_size=min_size, kinds="iuf")
            if n_in is None:
                n_in = int(x.shape[1])
            elif x.shape[1] != n_in:
                raise ValueError(f"x_{split} must have the {n_in} features of x_train; "
                                 f"got shape {tuple(x.shape)}")
            check_array(f"y_{split}", y, finite=True, min_size=min_size, kinds="iuf")
            kind = "labels" if (y.ndim == 1 and y.dtype.kind in "iu") else "targets"
            if kind == "targets" and not (y.ndim == 2 and y.dtype.kind == "f"):
                raise ValueError(f"y_{split} must hold integer class ids (n,) or float targets "
                                 f"(n, n_out); got dtype {y.dtype}, shape {tuple(y.shape)}")
            if y.shape[0] != x.shape[0]:
                raise ValueError(f"y_{split} must have one row per row of x_{split} "
                                 f"({x.shape[0]}); got shape {tuple(y.shape)}")
            if y_kind is None:
                y_kind = (kind, None if kind == "labels" else int(y.shape[1]))
            elif y_kind != (kind, None if kind == "labels" else int(y.shape[1])):
                raise ValueError(f"y_{split} must be of the same kind as y_train "
                                 f"({y_kind[0]}); got dtype {y.dtype}, shape {tuple(y.shape)}")

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.x_train.shape[1])

    def splits(self) -> dict[str, tuple[Any, Any]]:
        """``{"train": (x, y), "val": (x, y), "test": (x, y)}``."""
        return {"train": (self.x_train, self.y_train), "val": (self.x_val, self.y_val),
                "test": (self.x_test, self.y_test)}

    @classmethod
    def from_dataset(cls, dataset: Any) -> "TrainData":
        """From a :class:`sparsesim.nn.data.Dataset` (``x_train, y_train, ...``)."""
        if isinstance(dataset, cls):
            return dataset
        try:
            return cls(dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val,
                       dataset.x_test, dataset.y_test)
        except AttributeError:
            raise TypeError(f"data must be a TrainData or a sparsesim.nn.data.Dataset; "
                            f"got {type(dataset).__name__}") from None

    def to(self, xp, dtype) -> "TrainData":
        """The same splits as ``xp`` arrays, inputs (and float targets) cast to ``dtype``."""
        def conv(a, is_x):
            a = a if namespace_of(a) is xp else (to_numpy(a) if xp is np else xp.asarray(a))
            if is_x or a.dtype.kind == "f":
                return a.astype(dtype, copy=False)
            return a
        return TrainData(conv(self.x_train, True), conv(self.y_train, False),
                         conv(self.x_val, True), conv(self.y_val, False),
                         conv(self.x_test, True), conv(self.y_test, False))


def check_data(data: Any, sizes: tuple[int, ...], loss: str) -> None:
    """Check every split of ``data`` against the network widths ``sizes`` and the loss.

    Raises ``ValueError`` naming the split (``data.x_val``, ``data.y_test``, ...).

    Examples
    --------
    >>> d = TrainData(*[np.ones((4, 3)), np.zeros(4, int)] * 3)
    >>> check_data(d, (3, 5, 2), "cross_entropy")
    >>> check_data(d, (2, 5, 2), "cross_entropy")
    Traceback (most recent call last):
    ...
    ValueError: data.x_train must have n_in=2 features (the network's input width); got shape (4, 3)
    """
    n_in, n_out = sizes[0], sizes[-1]
    for split, (x, y) in data.splits().items():
        if x.shape[1] != n_in:
            raise ValueError(f"data.x_{split} must have n_in={n_in} features (the network's "
                             f"input width); got shape {tuple(x.shape)}")
        if loss == "cross_entropy":
            if y.ndim != 1:
                raise ValueError(f"data.y_{split} must hold integer class ids for "
                                 f"loss='cross_entropy'; got shape {tuple(y.shape)}")
            if y.shape[0] == 0:
                continue
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= n_out:
                raise ValueError(f"data.y_{split} must hold class ids in [0, {n_out - 1}]; "
                                 f"got values in [{lo}, {hi}]")
        else:
            if tuple(y.shape) != (x.shape[0], n_out) or y.ndim != 2:
                raise ValueError(f"data.y_{split} must have shape ({x.shape[0]}, {n_out}); "
                                 f"got {tuple(y.shape)}")


# --------------------------------------------------------------------------- schedule helpers

def eval_points(steps: int, eval_every: int) -> np.ndarray:
    """Evaluation steps: ``0, e, 2e, ...`` and always the last step.

    Examples
    --------
    >>> eval_points(10, 4).tolist()
    [0, 4, 8, 10]
    """
    steps = check_int("steps", steps, low=1, high=MAX_STEPS)
    eval_every = check_int("eval_every", eval_every, low=1)
    if steps // eval_every + 2 > MAX_EVALS:
        raise ValueError(f"steps={steps} with eval_every={eval_every} asks for more than "
                         f"{MAX_EVALS} evaluation points; raise eval_every")
    pts = list(range(0, steps + 1, eval_every))
    if pts[-1] != steps:
        pts.append(steps)
    return np.asarray(pts, dtype=np.int64)


class _DataOrder:
    """Per-model minibatch index streams (host side, one PCG64 per model)."""

    def __init__(self, seeds: Sequence[np.random.SeedSequence], n_train: int, batch_size: int,
                 batch_order: str = "shuffled"):
        self.gens = [np.random.Generator(np.random.PCG64(s)) for s in seeds]
        self.n_train = n_train
        self.batch_size = batch_size
        self.buffers = [np.zeros(0, dtype=np.int64) for _ in seeds]
        self.sequential = batch_order == "sequential"
        self.position = 0          # entries of the sequential stream already taken

    def take(self, n_steps: int) -> np.ndarray:
        """Indices of the next ``n_steps`` minibatches, shape ``(n_steps, B, batch)``."""
        need = n_steps * self.batch_size
        if self.sequential:
            idx = (self.position + np.arange(need, dtype=np.int64)) % self.n_train
            self.position = (self.position + need) % self.n_train
            return np.broadcast_to(idx.reshape(n_steps, 1, self.batch_size),
                                   (n_steps, len(self.gens), self.batch_size)).copy()
        out = np.empty((len(self.gens), need), dtype=np.int64)
        for i, gen in enumerate(self.gens):
            buf = self.buffers[i]
            parts = [buf]
            have = buf.size
            while have < need:
                perm = gen.permutation(self.n_train)
                parts.append(perm)
                have += perm.size
            buf = np.concatenate(parts) if len(parts) > 1 else buf
            out[i] = buf[:need]
            self.buffers[i] = buf[need:]
        return out.reshape(len(self.gens), n_steps, self.batch_size).transpose(1, 0, 2)


def data_order(data_seed: Any, n_models: int, n_train: int, batch_size: int,
               steps: int, batch_order: str = "shuffled") -> np.ndarray:
    """The minibatch indices every model sees, shape ``(steps, n_models, batch_size)``.

    The same streams :func:`train` uses (see the module notes); with
    ``batch_order="sequential"`` the seed is not used.

    Examples
    --------
    >>> idx = data_order(0, 2, 10, 5, 4)
    >>> idx.shape, sorted(idx[:2, 0].ravel().tolist()) == list(range(10))
    ((4, 2, 5), True)
    >>> data_order(0, 1, 10, 4, 3, batch_order="sequential")[:, 0].tolist()
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    """
    check_choice("batch_order", batch_order, BATCH_ORDERS)
    n_models = check_int("n_models", n_models, low=1)
    n_train = check_int("n_train", n_train, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    steps = check_int("steps", steps, low=1)
    if n_models * max(n_train, steps * batch_size) > MAX_ORDER_ENTRIES:
        raise ValueError(f"n_models={n_models} x max(n_train={n_train}, steps={steps} x "
                         f"batch_size={batch_size}) indices exceed {MAX_ORDER_ENTRIES} "
                         "(materialised at once); ask for fewer steps or models")
    seeds = _data_seeds(data_seed, n_models)
    return _DataOrder(seeds, n_train, batch_size, batch_order).take(steps)


def early_stopping(val_loss: np.ndarray, eval_steps: np.ndarray,
                   start_steps: np.ndarray | None = None) -> np.ndarray:
    """Index of the evaluation point of minimum validation loss, per model.

    NaN counts as +inf; ties go to the earliest point; points before a
    model's start step are ignored.

    Examples
    --------
    >>> early_stopping(np.array([[3.0, 1.0, 1.0, 2.0], [np.nan, 5.0, 4.0, 4.5]]),
    ...                np.array([0, 10, 20, 30])).tolist()
    [1, 2]
    """
    check_array("val_loss", val_loss, finite=False, ndim=2, kinds="iuf")
    check_array("eval_steps", eval_steps, ndim=1, min_size=1, kinds="iu")
    if val_loss.shape[1] != eval_steps.shape[0]:
        raise ValueError(f"val_loss must have one column per entry of eval_steps "
                         f"({eval_steps.shape[0]}); got shape {tuple(val_loss.shape)}")
    v = to_numpy(val_loss).astype(np.float64)
    v = np.where(np.isnan(v), np.inf, v)
    if start_steps is not None:
        check_array("start_steps", start_steps, ndim=1, kinds="iu")
        if start_steps.shape[0] != v.shape[0]:
            raise ValueError(f"start_steps must have one entry per model ({v.shape[0]}); "
                             f"got shape {tuple(start_steps.shape)}")
        late = to_numpy(eval_steps)[None, :] < to_numpy(start_steps)[:, None]
        v = np.where(late, np.inf, v)
    return np.argmin(v, axis=1)


# --------------------------------------------------------------------------- result

@dataclass
class TrainResult:
    """What :func:`train` returns (curves as NumPy arrays ``(B, n_evals)``).

    Attributes
    ----------
    params : list of (W, b)
        Final parameters (on the training backend; pruned entries exactly 0).
    eval_steps : ndarray ``(n_evals,)``
        Steps at which the curves were evaluated.
    train_loss, train_accuracy, val_loss, val_accuracy, test_loss, test_accuracy : ndarray
        Curves, shape ``(B, n_evals)``; accuracies are NaN for MSE.  Points
        before a model's start step are NaN.
    early_stop_index : ndarray ``(B,)``
        Index into ``eval_steps`` of the minimum validation loss (the last
        point when the validation split is empty: early stopping off).
    early_stop_iter : ndarray ``(B,)``
        ``eval_steps[early_stop_index]`` (iterations, i.e. optimizer steps).
    start_steps : ndarray ``(B,)``
    rewind_params : dict of int -> list of (W, b)
        Parameters after ``tau`` updates, for each requested ``tau``.
    used_graph : bool
        Whether the CUDA-graph path ran.
    tf32 : bool
        Whether the float32 matrix products ran on TF32 tensor cores
        (``train(..., tf32=True)``; never by default).
    """

    params: list
    eval_steps: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    early_stop_index: np.ndarray
    start_steps: np.ndarray
    rewind_params: dict = field(default_factory=dict)
    used_graph: bool = False
    tf32: bool = False

    @property
    def early_stop_iter(self) -> np.ndarray:
        return self.eval_steps[self.early_stop_index]

    def at_stop(self, curve: np.ndarray) -> np.ndarray:
        """Each model's value of a ``(B, n_evals)`` curve at its early-stopping evaluation."""
        return curve[np.arange(curve.shape[0]), self.early_stop_index]

    @property
    def final_test_accuracy(self) -> np.ndarray:
        """Test accuracy after the last step (the MNIST-1D notebook's number)."""
        return self.test_accuracy[:, -1]

    @property
    def early_stop_test_accuracy(self) -> np.ndarray:
        """Test accuracy at the early-stopping step (Frankle & Carbin's reading)."""
        return self.at_stop(self.test_accuracy)

    @property
    def early_stop_val_loss(self) -> np.ndarray:
        return self.at_stop(self.val_loss)

    @property
    def final_train_loss(self) -> np.ndarray:
        return self.train_loss[:, -1]

    @property
    def final_val_accuracy(self) -> np.ndarray:
        return self.val_accuracy[:, -1]

    @property
    def n_models(self) -> int:
        return int(self.train_loss.shape[0])

    # ------------------------------------------------------------- display (notebooks)
    def summary(self) -> list[tuple[str, np.ndarray]]:
        """``(what, per-model values)`` for the numbers a reader looks at first."""
        out = [("final train loss", self.final_train_loss),
               ("final val accuracy", self.final_val_accuracy),
               ("final test accuracy", self.final_test_accuracy),
               ("early-stop iteration", self.early_stop_iter.astype(float)),
               ("early-stop test accuracy", self.early_stop_test_accuracy)]
        return [(name, np.asarray(v, float)) for name, v in out
                if np.isfinite(np.asarray(v, float)).any()]

    def _summary_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for name, v in self.summary():
            f = v[np.isfinite(v)]
            sd = f"{f.std(ddof=1):.4g}" if f.size > 1 else "—"
            rows.append((name, f"{f.mean():.4g}", sd, f"{f.min():.4g} to {f.max():.4g}"))
        return rows

    def _headline(self) -> str:
        steps = self.eval_steps
        last = int(steps[-1]) if steps.size else 0
        return (f"TrainResult: {self.n_models} model{'s' * (self.n_models != 1)}, {last} steps, "
                f"{steps.size} evaluations" + (", CUDA graph" if self.used_graph else "")
                + (f", rewind points {sorted(self.rewind_params)}" if self.rewind_params else ""))

    def __repr__(self) -> str:
        parts = [f"{name} {mean} ± {sd}" for name, mean, sd, _ in self._summary_rows()[:3]]
        return f"<{self._headline()}; " + "; ".join(parts) + ">"

    def _repr_markdown_(self) -> str:
        lines = [f"**{self._headline()}**", "", "| | mean | sd | range over models |",
                 "|---|---|---|---|"]
        lines += [f"| {name} | {mean} | {sd} | {rng} |"
                  for name, mean, sd, rng in self._summary_rows()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape  # noqa: PLC0415 - only for notebooks

        rows = "".join(f"<tr><td>{escape(name)}</td><td>{mean}</td><td>{sd}</td>"
                       f"<td>{escape(rng)}</td></tr>"
                       for name, mean, sd, rng in self._summary_rows())
        return (f"<div><b>{escape(self._headline())}</b><table><thead><tr><th></th>"
                "<th>mean</th><th>sd</th><th>range over models</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")


# --------------------------------------------------------------------------- evaluation

def _split_metrics(params, x, y, *, loss, temperature, residual, chunk, flat=None):
    """Per-model (loss, accuracy) over a whole split, in chunks of examples.

    ``flat``: three reused 1-D arrays of at least ``B · chunk · max(width)``
    elements for the forward pass (:func:`sparsesim.nn.passes.logits_`);
    ``None`` computes it with :func:`sparsesim.nn.mlp.forward` (the same
    numbers, with fresh temporaries).
    """
    xp = namespace_of(params[0][0])
    n = int(x.shape[0])
    n_models = int(params[0][0].shape[0])
    dtype = params[0][0].dtype
    loss_sum = xp.zeros((n_models,), dtype=dtype)
    correct = xp.zeros((n_models,), dtype=dtype)
    if flat is not None:
        res = _mlp.residual_layers(_mlp.layer_sizes(params), residual)
        Ws = [W for W, _ in params]
        bs = [b for _, b in params]
    for c0 in range(0, n, chunk):
        xc, yc = x[c0:c0 + chunk], y[c0:c0 + chunk]
        if flat is None:
            z = _mlp.forward(params, xc, None, residual=residual, check_values=False)
        else:
            z = _passes.logits_(xp, Ws, bs, xc, res, flat)
        if loss == "cross_entropy":
            s = z / temperature if temperature != 1.0 else z
            smax = s.max(axis=2, keepdims=True)
            lse = xp.log(xp.exp(s - smax).sum(axis=2)) + smax[:, :, 0]
            s_y = xp.take_along_axis(s, xp.broadcast_to(yc[None, :, None],
                                                        (n_models, yc.shape[0], 1)),
                                     axis=2)[:, :, 0]
            loss_sum += (lse - s_y).sum(axis=1)
            correct += (z.argmax(axis=2) == yc[None, :]).sum(axis=1).astype(dtype)
        else:
            d = z - yc[None]
            loss_sum += 0.5 * (d * d).sum(axis=(1, 2))
    acc = correct / n if loss == "cross_entropy" else xp.full((n_models,), xp.nan, dtype=dtype)
    return loss_sum / n, acc


# --------------------------------------------------------------------------- the step

class _PlainStep:
    """The reference path: the step function called from Python every step."""

    used_graph = False

    def __init__(self, fn):
        self.fn = fn

    def __call__(self):
        self.fn()

    def close(self):
        return None


class _CudaGraphStep:  # pragma: no cover - needs a CUDA device
    """Replays one captured training step (see the module notes).

    The first call runs the step for real (compiling kernels and filling the
    private memory pool), then captures it; every later call launches the
    graph.  All work runs on ``self.stream``; the caller enters it.
    """

    used_graph = True

    def __init__(self, xp, fn):
        self.xp = xp
        self.fn = fn
        self.stream = xp.cuda.Stream(non_blocking=True)
        self.pool = xp.cuda.MemoryPool()
        self.graph = None

    def __call__(self):
        if self.graph is not None:
            self.graph.launch(stream=self.stream)
            return
        with self.xp.cuda.using_allocator(self.pool.malloc):
            self.fn()                      # the real step (warm-up)
            self.stream.begin_capture()
            try:
                self.fn()                  # recorded, not executed
            except Exception as exc:
                try:
                    self.stream.end_capture()
                except Exception:
                    pass
                raise RuntimeError(
                    "capturing the training step in a CUDA graph failed (an operation in the "
                    "step synchronised with the host or is not capturable); train with "
                    f"use_graph=False: {exc}") from exc
            self.graph = self.stream.end_capture()

    def close(self):
        # Launches may still be pending when training raised: wait for them
        # before the pool's blocks are handed back.
        self.stream.synchronize()
        self.graph = None
        self.pool.free_all_blocks()


_GRAPH_SUPPORT: dict[int, tuple[bool, str]] = {}


def cuda_graph_support(xp: Any) -> tuple[bool, str]:
    """Whether this array module can capture a training step in a CUDA graph, and why not.

    Captures one small matrix product (the cuBLAS call every training step
    makes) on a private stream and memory pool; the answer is cached per
    module.  NumPy and modules without ``cuda.Stream.begin_capture`` answer
    ``(False, reason)`` without running anything.

    Examples
    --------
    >>> import numpy as np
    >>> cuda_graph_support(np)
    (False, 'numpy has no CUDA graphs (cuda.Stream.begin_capture)')
    """
    if not isinstance(xp, types.ModuleType):
        raise TypeError(f"xp must be an array module (numpy or cupy); got {short_repr(xp)}")
    stream_cls = getattr(getattr(xp, "cuda", None), "Stream", None)
    if not hasattr(stream_cls, "begin_capture"):
        name = getattr(xp, "__name__", xp)
        return False, f"{name} has no CUDA graphs (cuda.Stream.begin_capture)"
    key = id(xp)
    if key not in _GRAPH_SUPPORT:  # pragma: no cover - needs a CUDA device
        _GRAPH_SUPPORT[key] = _probe_graph_capture(xp)
    return _GRAPH_SUPPORT[key]


def _probe_graph_capture(xp: Any) -> tuple[bool, str]:
    stream = xp.cuda.Stream(non_blocking=True)
    pool = xp.cuda.MemoryPool()
    try:
        with xp.cuda.using_allocator(pool.malloc), stream:
            a = xp.ones((8, 8), dtype=xp.float32)
            a @ a                                     # uncaptured: loads the handle
            stream.begin_capture()
            try:
                a @ a
            except Exception as exc:  # noqa: BLE001 - any refusal means "no graph"
                try:
                    stream.end_capture()
                except Exception:  # noqa: BLE001
                    pass
                return False, f"{type(exc).__name__}: {exc}"
            stream.end_capture()
            stream.synchronize()
        return True, ""
    finally:
        pool.free_all_blocks()


# --------------------------------------------------------------------------- train

def _data_seeds(data_seed: Any, n_models: int) -> list[np.random.SeedSequence]:
    """Per-model data-order seeds (see :func:`sparsesim.nn.model_seeds`), errors naming data_seed."""
    if isinstance(data_seed, (list, tuple)) and len(data_seed) != n_models:
        raise ValueError(f"data_seed given per model must hold {n_models} seeds (one per "
                         f"model); got {len(data_seed)}")
    try:
        return _mlp.model_seeds(data_seed, n_models)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"data_seed: {exc}") from None


def _check_steps_list(name: str, values: Any, steps: int, *, high: int) -> tuple[int, ...]:
    if isinstance(values, numbers.Integral) or isinstance(values, (str, bytes)) \
            or not isinstance(values, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of step numbers; got {values!r}")
    out = []
    for v in list(values):
        v = check_int(f"{name} entry", v, low=0)
        if v > high:
            raise ValueError(f"{name} entry must be in [0, {high}] (the training budget is "
                             f"steps={steps}); got {v}")
        out.append(v)
    return tuple(out)


def train(params: Any, data: TrainData, spec: TrainSpec | None = None, *, data_seed: Any,
          masks: Any = None, residual: Any = False, start_steps: Any = None,
          rewind_steps: Sequence[int] = (), **settings: Any) -> TrainResult:
    """Train B models together for a fixed number of steps (see the module notes).

    The training settings come as a :class:`~sparsesim.nn.specs.TrainSpec`
    (``spec``) or, in the keyword form, as its fields by name
    (``optimizer=``, ``steps=``, ``batch_size=``, ...); a field given by
    keyword beside ``spec`` overrides it.  The loop itself is
    :class:`TrainLoop` (``train(...)`` is ``TrainLoop(...).run()``).

    Parameters
    ----------
    params : list of (W, b)
        Starting parameters of the B models (not modified; a masked copy is
        trained).
    data : TrainData or sparsesim.nn.data.Dataset
        Training, validation and test splits (moved to the parameters'
        backend and dtype).
    spec : TrainSpec, optional
        The optimizer, step budget, batch size, evaluation interval, loss,
        temperature, batch order, CUDA-graph, evaluation chunk and TF32
        settings (see :class:`~sparsesim.nn.specs.TrainSpec`).  ``None``:
        made from ``settings``, which must then give at least
        ``optimizer``, ``steps`` and ``batch_size``.
    data_seed : int, SeedSequence or sequence of B of them
        Data-order seeds (model ``i`` uses child ``i``, or entry ``i`` of a
        sequence), independent of the initialisation seed; validated but
        unused with ``batch_order="sequential"``.
    masks : None or list
        Pruning masks in any form of :func:`sparsesim.nn.mask_pairs`.
    residual : bool or tuple of int
        The network's skips, as in :func:`sparsesim.nn.loss_and_grad`
        (:attr:`sparsesim.nn.specs.NetworkSpec.residual`).
    start_steps : None or sequence/array of B ints
        Step at which each model starts training (``0 .. steps-1``).
    rewind_steps : sequence of int
        Steps ``0 .. steps`` at which to keep a copy of the parameters.
    **settings
        Fields of :class:`~sparsesim.nn.specs.TrainSpec` by name (the
        keyword form): ``optimizer`` (SGD or Adam from
        :mod:`sparsesim.nn.optim`; a per-model ``lr`` array must have shape
        ``(B,)``), ``steps`` (``>= 1``), ``batch_size`` (``1 .. n_train``),
        ``eval_every`` (default 100), ``loss`` and ``temperature`` (as in
        :func:`sparsesim.nn.loss_and_grad`), ``batch_order``
        (``"shuffled"``: per-model random epochs from ``data_seed``;
        ``"sequential"``: the stored order, cycled, identical for every
        model and call), ``use_graph`` (``None``: the CUDA-graph path where
        :func:`cuda_graph_support` says a capture works — never on NumPy, not
        on CuPy 14, whose cuBLAS refuses stream capture; ``True`` on NumPy,
        or where capture does not work, is an error), ``eval_chunk``
        (examples per forward pass at evaluation; default: a chunk of about
        2**24 activations across the batch) and ``tf32`` (float32 matrix
        products on TF32 tensor cores, CuPy only; no longer the float32
        results; recorded in :attr:`TrainResult.tf32`).

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError, ValueError
        Before any training: malformed parameters, masks or data, labels out
        of range, batch larger than the training set, a rewind or start step
        beyond the budget, a per-model lr of the wrong length, a keyword
        that is not a ``TrainSpec`` field.
    """
    return TrainLoop(params, data, spec, data_seed=data_seed, masks=masks, residual=residual,
                     start_steps=start_steps, rewind_steps=rewind_steps, **settings).run()


class TrainLoop:
    """One training run of :func:`train`, one method per part of the loop.

    Made with the arguments of :func:`train` (everything is validated and
    every buffer allocated before :meth:`run`); :meth:`run` trains and
    returns the :class:`TrainResult`.  The loop is::

        on_step(0); evaluate(0); on_eval(0)
        for each evaluation point j = 1 ..:
            for each step s of the window (minibatch indices uploaded by segment):
                step(); on_step(s + 1)
            evaluate(j); on_eval(j)

    The hooks a subclass may override are :meth:`on_step` (called with the
    number of updates done, 0 before the first; the default keeps the rewind
    snapshots) and :meth:`on_eval` (after evaluation ``j``; the default does
    nothing).  :meth:`step` is the training step itself (what the CUDA graph
    captures): its arithmetic is :func:`sparsesim.nn.loss_and_grad`'s bit
    for bit, into preallocated buffers.  On the graph path nothing may read a
    device value on the host inside the loop, so a hook that does forfeits
    the graph's benefit (and inside :meth:`step` breaks the capture).

    Examples
    --------
    >>> from sparsesim.nn import init_mlp
    >>> from sparsesim.nn.optim import SGD
    >>> from sparsesim.nn.specs import TrainSpec
    >>> class Norms(TrainLoop):
    ...     def on_step(self, s):
    ...         super().on_step(s)
    ...         self.norms.append(float(abs(self.work[0][0]).sum()))
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 3)); y = (X[:, 0] > 0).astype(int)
    >>> data = TrainData(X[:20], y[:20], X[20:25], y[20:25], X[25:], y[25:])
    >>> params = init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> loop = Norms(params, data, TrainSpec(SGD(lr=0.1), steps=5, batch_size=4), data_seed=0)
    >>> loop.norms = []
    >>> res = loop.run()
    >>> len(loop.norms), res.eval_steps.tolist()
    (6, [0, 5])
    """

    def __init__(self, params: Any, data: TrainData, spec: TrainSpec | None = None, *,
                 data_seed: Any, masks: Any = None, residual: Any = False,
                 start_steps: Any = None, rewind_steps: Sequence[int] = (), **settings: Any):
        # ---- validation (everything before the first step)
        xp, n_models, dtype = _mlp.check_params(params, check_values=True)
        sizes = _mlp.layer_sizes(params)
        _mlp.residual_layers(sizes, residual)
        spec = TrainSpec.from_settings(spec, settings)
        steps = spec.steps
        data = TrainData.from_dataset(data)
        check_data(data, sizes, spec.loss)
        check_int("batch_size", spec.batch_size, low=1, high=data.n_train)
        seeds = _data_seeds(data_seed, n_models)
        self.rewind_steps = _check_steps_list("rewind_steps", rewind_steps, steps, high=steps)
        self.starts = _check_starts(start_steps, n_models, steps)
        self.pairs = float_masks(masks, params, check_values=True)
        self.use_graph = _check_graph(xp, spec.use_graph)
        if spec.tf32 and np.dtype(dtype) != np.float32:
            raise ValueError(f"tf32=True applies to float32 parameters; got {np.dtype(dtype)}")
        if spec.tf32 and not _trainer_kernels.has_cuda_kernels(xp):
            raise ValueError(f"tf32=True needs CuPy arrays on a CUDA device (TF32 tensor cores); "
                             f"{getattr(xp, '__name__', xp)} arrays cannot run CUDA kernels here")
        eval_chunk = spec.eval_chunk
        if eval_chunk is None:
            eval_chunk = max(1, (1 << 24) // (n_models * max(sizes)))
        self.state = spec.optimizer.init(params)     # validates a per-model lr against B

        self.xp, self.n_models, self.dtype, self.sizes = xp, n_models, dtype, sizes
        self.spec, self.residual, self.eval_chunk = spec, residual, eval_chunk
        self._buffers(params, data, seeds)

    def _buffers(self, params: Any, data: TrainData, seeds: list) -> None:
        """Every buffer of the loop, allocated before the first step and updated in place."""
        xp, n_models, dtype, spec = self.xp, self.n_models, self.dtype, self.spec
        self.data = data.to(xp, dtype)
        self.work = [(W.copy(), b.copy()) for W, b in params]
        for (W, b), (mW, mb) in zip(self.work, self.pairs):
            if mW is not None:
                W *= mW
            if mb is not None:
                b *= mb
        self.points = eval_points(spec.steps, spec.eval_every)
        self.curves = xp.full((6, n_models, len(self.points)), xp.nan, dtype=dtype)
        window = int(np.diff(self.points).max())
        # minibatch indices are uploaded in segments of at most seg_len steps
        self.seg_len = max(1, min(window, MAX_ORDER_ENTRIES // (n_models * spec.batch_size)))
        self.idx_buf = xp.zeros((self.seg_len, n_models, spec.batch_size), dtype=xp.int64)
        self.pos = xp.zeros((), dtype=xp.int64)          # step within the current segment
        self.step_dev = xp.zeros((), dtype=xp.int64)     # global step
        self.gated = bool(self.starts.max() > 0)
        self.start_dev = xp.asarray(self.starts)
        self.order = _DataOrder(seeds, self.data.n_train, spec.batch_size, spec.batch_order)
        self.res = _mlp.residual_layers(self.sizes, self.residual)
        self.bufs = _passes.StepBuffers(xp, n_models, spec.batch_size, self.sizes, dtype)
        self.grads = list(zip(self.bufs.gW, self.bufs.gb))
        self.Ws = [W for W, _ in self.work]
        self.bs = [b for _, b in self.work]
        self.eval_flat: list = []   # the evaluation's three activation arrays, made at first use
        # Adam on a CUDA device: one multi-tensor kernel over these fixed buffers
        self.opt_table = spec.optimizer.table(self.work, self.grads, self.state, self.pairs)
        self.snapshots: dict[int, list] = {}

    # ------------------------------------------------------------------ the parts of the loop
    def step(self) -> None:
        """One optimizer step of every model (the minibatch at ``pos`` of the index buffer)."""
        # The arithmetic of sparsesim.nn.mlp.loss_and_grad (forward, loss head,
        # reverse pass), bit for bit, into the preallocated buffers.
        xp, spec, bufs = self.xp, self.spec, self.bufs
        idx = xp.take(self.idx_buf, self.pos, axis=0)                # (B, batch)
        xb = xp.take(self.data.x_train, idx, axis=0)                 # (B, batch, n_in)
        yb = xp.take(self.data.y_train, idx, axis=0)
        acts, z = _passes.forward_pass_(xp, self.Ws, self.bs, xb, self.res, bufs)
        _, dout, _ = _passes.loss_head(xp, z, yb, spec.loss, spec.temperature)
        _passes.backward_pass_(xp, self.Ws, acts, dout, self.res, bufs)
        active = (self.step_dev >= self.start_dev).astype(self.dtype) if self.gated else None
        spec.optimizer.apply_table_(self.work, self.grads, self.state, self.pairs, active,
                                    self.opt_table)
        xp.add(self.pos, 1, out=self.pos)
        xp.add(self.step_dev, 1, out=self.step_dev)

    def evaluate(self, j: int) -> None:
        """Loss and accuracy of every model on every split, into column ``j`` of the curves."""
        xp, data = self.xp, self.data
        if not self.eval_flat:
            longest = max(min(self.eval_chunk, int(x.shape[0]))
                          for x, _ in data.splits().values())
            self.eval_flat.extend(xp.empty(self.n_models * longest * max(self.sizes[1:]),
                                           dtype=self.dtype) for _ in range(3))
        for k, split in enumerate(("train", "val", "test")):
            x, y = data.splits()[split]
            if int(x.shape[0]) == 0:
                continue            # no validation split: its curves stay NaN
            lv, av = _split_metrics(self.work, x, y, loss=self.spec.loss,
                                    temperature=self.spec.temperature, residual=self.residual,
                                    chunk=self.eval_chunk, flat=self.eval_flat)
            self.curves[2 * k, :, j] = lv
            self.curves[2 * k + 1, :, j] = av

    def on_step(self, s: int) -> None:
        """Hook after ``s`` updates (``s = 0``: before the first); keeps the rewind snapshots."""
        if s in self.rewind_steps and s not in self.snapshots:
            self.snapshots[s] = [(W.copy(), b.copy()) for W, b in self.work]

    def on_eval(self, j: int) -> None:
        """Hook after evaluation ``j`` (at step ``points[j]``); does nothing by default."""

    def segments(self, j: int):
        """The steps of evaluation window ``j``, uploading their minibatch indices by segment."""
        for c0 in range(int(self.points[j - 1]), int(self.points[j]), self.seg_len):
            c1 = min(int(self.points[j]), c0 + self.seg_len)
            self.idx_buf[: c1 - c0] = self.xp.asarray(self.order.take(c1 - c0))
            self.pos.fill(0)
            yield from range(c0, c1)

    # ------------------------------------------------------------------ the loop
    def run(self) -> TrainResult:
        """Train (see the class notes) and return the :class:`TrainResult`."""
        xp = self.xp
        runner = _CudaGraphStep(xp, self.step) if self.use_graph else _PlainStep(self.step)
        ctx = runner.stream if self.use_graph else None
        math_mode = (_trainer_kernels.tf32_matmul(xp) if self.spec.tf32
                     else contextlib.nullcontext())
        if ctx is not None:  # pragma: no cover - GPU only
            xp.cuda.get_current_stream().synchronize()   # inputs written on another stream
            ctx.__enter__()
        math_mode.__enter__()
        try:
            self.on_step(0)
            self.evaluate(0)
            self.on_eval(0)
            for j in range(1, len(self.points)):
                for s in self.segments(j):
                    runner()
                    self.on_step(s + 1)
                self.evaluate(j)
                self.on_eval(j)
            if ctx is not None:  # pragma: no cover - GPU only
                ctx.synchronize()
        finally:
            math_mode.__exit__(None, None, None)
            if ctx is not None:  # pragma: no cover - GPU only
                ctx.__exit__(None, None, None)
            runner.close()
        return self.result(runner.used_graph)

    def result(self, used_graph: bool) -> TrainResult:
        """The curves on the host, the early-stopping points and the final parameters."""
        points, starts = self.points, self.starts
        host = to_numpy(self.curves).astype(np.float64)
        before = points[None, :] < starts[:, None]
        host[:, before] = np.nan
        if int(self.data.x_val.shape[0]) == 0:
            stop = np.full(self.n_models, len(points) - 1, dtype=np.int64)  # early stopping off
        else:
            stop = early_stopping(host[2], points, starts)
        return TrainResult(params=self.work, eval_steps=points, train_loss=host[0],
                           train_accuracy=host[1], val_loss=host[2], val_accuracy=host[3],
                           test_loss=host[4], test_accuracy=host[5], early_stop_index=stop,
                           start_steps=starts, rewind_params=self.snapshots,
                           used_graph=used_graph, tf32=self.spec.tf32)


def _check_starts(start_steps: Any, n_models: int, steps: int) -> np.ndarray:
    """``start_steps`` as int64 ``(B,)`` in ``[0, steps - 1]`` (zeros for ``None``)."""
    if start_steps is None:
        return np.zeros(n_models, dtype=np.int64)
    starts = np.asarray(to_numpy(start_steps))
    if starts.ndim != 1 or starts.shape[0] != n_models or starts.dtype.kind not in "iu":
        raise ValueError(f"start_steps must be {n_models} integers (one per model); "
                         f"got {start_steps!r}")
    if starts.min() < 0 or starts.max() >= steps:
        raise ValueError(f"start_steps must be in [0, {steps - 1}] (the training budget is "
                         f"steps={steps}); got values in [{starts.min()}, {starts.max()}]")
    return starts.astype(np.int64)


def _check_graph(xp: Any, use_graph: bool | None) -> bool:
    """Whether the CUDA-graph path runs (``use_graph`` of :class:`TrainSpec` on ``xp``)."""
    has_graph_api = hasattr(getattr(getattr(xp, "cuda", None), "Stream", None), "begin_capture")
    if use_graph and not has_graph_api:
        raise ValueError("use_graph=True needs CuPy arrays (CUDA graphs); on NumPy use "
                         "use_graph=None or False")
    if use_graph is not False and has_graph_api:
        capturable, why = cuda_graph_support(xp)
        if use_graph and not capturable:
            raise RuntimeError("use_graph=True: this CuPy cannot capture a training step in a "
                               f"CUDA graph ({why}); use use_graph=None or False")
        use_graph = capturable
    return bool(use_graph)
