"""Settings as frozen specs: a network (:class:`NetworkSpec`) and its training (:class:`TrainSpec`).

A spec is a frozen dataclass whose fields are the settings that fix one part
of an experiment.  It is validated once, when it is made: a bad field raises
``TypeError`` / ``ValueError`` naming the field, before any array is
allocated.  Functions take a spec where they took a run of keywords:
``train(params, data, spec, data_seed=...)``; the former keyword form
(``train(params, data, optimizer=..., steps=..., ...)``) still works, and a
keyword given beside a spec overrides that field (:meth:`TrainSpec.replace`).
:class:`sparsesim.nn.lottery.LotteryProtocol` (an IMP experiment) gives its
two parts as :attr:`~sparsesim.nn.lottery.LotteryProtocol.network` and
:attr:`~sparsesim.nn.lottery.LotteryProtocol.training`.

Settings that depend on the arrays (a batch size beyond the training set,
``use_graph=True`` or ``tf32=True`` on NumPy, a per-model learning rate of the
wrong length) are checked where the arrays are known, by :func:`train`.

Examples
--------
>>> import numpy as np
>>> from sparsesim.nn import TrainData, train
>>> from sparsesim.nn.optim import Adam
>>> from sparsesim.nn.specs import NetworkSpec, TrainSpec
>>> net = NetworkSpec((5, 8, 8, 2), residual=True, dtype=np.float64)
>>> params = net.init_params(3, seed=1, backend="numpy")
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(60, 5)); y = (X[:, 0] > 0).astype(int)
>>> data = TrainData(X[:40], y[:40], X[40:50], y[40:50], X[50:], y[50:])
>>> spec = TrainSpec(Adam(lr=1e-2), steps=20, batch_size=10, eval_every=10)
>>> res = train(params, data, spec, data_seed=2, residual=net.residual)
>>> res.eval_steps.tolist()
[0, 10, 20]
>>> old = train(params, data, optimizer=Adam(lr=1e-2), steps=20, batch_size=10,
...             eval_every=10, data_seed=2, residual=True)
>>> bool((old.val_loss == res.val_loss).all())
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, short_repr
from . import mlp as _mlp
from .optim import Optimizer

__all__ = ["NetworkSpec", "TrainSpec", "ACTIVATIONS", "BATCH_ORDERS", "MAX_STEPS"]

#: Hidden-layer activations of :class:`NetworkSpec` (the engine computes ReLU networks).
ACTIVATIONS = ("relu",)
#: Minibatch orders of :func:`sparsesim.nn.train` (see :mod:`sparsesim.nn.training`).
BATCH_ORDERS = ("shuffled", "sequential")
#: Largest step budget (keeps every step count inside int64 arithmetic).
MAX_STEPS = 10 ** 12


def _flag(name: str, value: Any, allow_none: bool = False) -> bool | None:
    if allow_none and value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        allowed = "None, True or False" if allow_none else "True or False"
        raise TypeError(f"{name} must be {allowed}; got {short_repr(value)}")
    return bool(value)


@dataclass(frozen=True)
class NetworkSpec:
    """The architecture of a batch of MLPs: widths, skips, activation, initialisation, dtype.

    Parameters
    ----------
    sizes : sequence of int
        ``(n_in, h_1, ..., n_out)``, at least two widths (stored as a tuple).
    residual : bool or sequence of int
        Identity skips, as in :func:`sparsesim.nn.residual_layers` (a
        sequence is stored as a tuple).
    activation : {"relu"}
        The hidden-layer activation (the only one the engine computes).
    init : {"kaiming_normal", "glorot_normal", "torch_uniform"}
        As in :func:`sparsesim.nn.init_mlp`.
    dtype : float32 or float64
        Stored as a :class:`numpy.dtype`.

    Examples
    --------
    >>> spec = NetworkSpec((40, 500, 500, 10), residual=True)
    >>> spec.skips, spec.n_layers, spec.dtype
    ((False, True, False), 3, dtype('float32'))
    >>> [tuple(W.shape) for W, _ in spec.init_params(2, seed=0, backend="numpy")]
    [(2, 40, 500), (2, 500, 500), (2, 500, 10)]
    >>> NetworkSpec((4, 8, 2), init="he")
    Traceback (most recent call last):
    ...
    ValueError: init must be one of ('kaiming_normal', 'glorot_normal', 'torch_uniform'); got 'he'
    """

    sizes: tuple
    residual: Any = False
    activation: str = "relu"
    init: str = "kaiming_normal"
    dtype: Any = np.float32

    def __post_init__(self):
        sizes = _mlp.check_sizes(self.sizes)
        object.__setattr__(self, "sizes", sizes)
        residual = self.residual
        if isinstance(residual, (bool, np.bool_)):
            residual = bool(residual)
        elif isinstance(residual, (list, tuple)):
            residual = tuple(residual)
        _mlp.residual_layers(sizes, residual)
        object.__setattr__(self, "residual", residual)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("init", self.init, _mlp.INITS)
        object.__setattr__(self, "dtype", _mlp.check_float_dtype(self.dtype))

    @property
    def n_layers(self) -> int:
        """Number of weight layers, ``len(sizes) - 1``."""
        return len(self.sizes) - 1

    @property
    def skips(self) -> tuple[bool, ...]:
        """One flag per layer: whether it carries an identity skip."""
        return _mlp.residual_layers(self.sizes, self.residual)

    def init_params(self, n_models: int, *, seed: Any, backend: str = "auto") -> list:
        """``n_models`` networks of this architecture (:func:`sparsesim.nn.init_mlp`)."""
        return _mlp.init_mlp(self.sizes, n_models, seed=seed, init=self.init, backend=backend,
                             dtype=self.dtype, residual=self.residual)

    def check_params(self, params: Any) -> None:
        """``ValueError`` unless ``params`` have this spec's widths and dtype.

        Examples
        --------
        >>> spec = NetworkSpec((3, 4, 2), dtype=np.float64)
        >>> spec.check_params(spec.init_params(1, seed=0, backend="numpy"))
        >>> spec.check_params(NetworkSpec((3, 5, 2)).init_params(1, seed=0, backend="numpy"))
        Traceback (most recent call last):
        ...
        ValueError: params must have the widths (3, 4, 2) of the NetworkSpec; got (3, 5, 2)
        """
        _, _, dtype = _mlp.check_params(params, check_values=False)
        sizes = _mlp.layer_sizes(params)
        if sizes != self.sizes:
            raise ValueError(f"params must have the widths {self.sizes} of the NetworkSpec; "
                             f"got {sizes}")
        if np.dtype(dtype) != self.dtype:
            raise ValueError(f"params must have the dtype {self.dtype} of the NetworkSpec; "
                             f"got {np.dtype(dtype)}")

    def replace(self, **changes: Any) -> "NetworkSpec":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainSpec:
    """How a batch of models is trained by :func:`sparsesim.nn.train`.

    Everything but the run's own inputs (parameters, data, data seeds, masks,
    the network's skips, late starts and rewind points).

    Parameters
    ----------
    optimizer : SGD or Adam
        From :mod:`sparsesim.nn.optim` (a per-model ``lr`` array is checked
        against the batch by :func:`~sparsesim.nn.train`).
    steps : int
        Optimizer steps, ``1 .. MAX_STEPS``.
    batch_size : int
        Minibatch size, ``>= 1`` (at most ``n_train``, checked by
        :func:`~sparsesim.nn.train`).
    eval_every : int
        Steps between evaluations (the last step is always evaluated), ``>= 1``.
    loss : {"cross_entropy", "mse"}
    temperature : float
        Cross-entropy logit temperature (1 for ``"mse"``).
    batch_order : {"shuffled", "sequential"}
        See :mod:`sparsesim.nn.training`.
    use_graph : bool or None
        The CUDA-graph path (``None``: where a capture works).
    eval_chunk : int or None
        Examples per forward pass at evaluation (``None``: about 2**24
        activations across the batch).
    tf32 : bool
        TF32 matrix products (CuPy, float32 only); changes the numbers.

    Examples
    --------
    >>> from sparsesim.nn.optim import Adam, SGD
    >>> spec = TrainSpec(Adam(lr=2e-2), steps=1501, batch_size=100)
    >>> spec.eval_every, spec.loss, spec.batch_order
    (100, 'cross_entropy', 'shuffled')
    >>> spec.replace(steps=10).steps
    10
    >>> TrainSpec(SGD(lr=0.1), steps=10, batch_size=0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be in [1, inf]; got 0
    >>> TrainSpec("adam", steps=10, batch_size=4)
    Traceback (most recent call last):
    ...
    TypeError: optimizer must be an SGD or Adam instance from sparsesim.nn.optim; got str
    """

    optimizer: Optimizer
    steps: int
    batch_size: int
    eval_every: int = 100
    loss: str = "cross_entropy"
    temperature: float = 1.0
    batch_order: str = "shuffled"
    use_graph: bool | None = None
    eval_chunk: int | None = None
    tf32: bool = False

    def __post_init__(self):
        if not isinstance(self.optimizer, Optimizer):
            raise TypeError(f"optimizer must be an SGD or Adam instance from sparsesim.nn.optim; "
                            f"got {type(self.optimizer).__name__}")
        object.__setattr__(self, "steps", check_int("steps", self.steps, low=1, high=MAX_STEPS))
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, low=1))
        object.__setattr__(self, "eval_every", check_int("eval_every", self.eval_every, low=1))
        check_choice("loss", self.loss, _mlp.LOSSES)
        object.__setattr__(self, "temperature", _mlp.check_loss(self.loss, self.temperature))
        check_choice("batch_order", self.batch_order, BATCH_ORDERS)
        object.__setattr__(self, "use_graph", _flag("use_graph", self.use_graph, True))
        if self.eval_chunk is not None:
            object.__setattr__(self, "eval_chunk", check_int("eval_chunk", self.eval_chunk,
                                                             low=1))
        object.__setattr__(self, "tf32", _flag("tf32", self.tf32))

    def replace(self, **changes: Any) -> "TrainSpec":
        """A copy with ``changes`` applied (validated again); an unknown name is a ``TypeError``.

        Examples
        --------
        >>> from sparsesim.nn.optim import Adam
        >>> TrainSpec(Adam(), steps=5, batch_size=2).replace(step=6)
        Traceback (most recent call last):
        ...
        TypeError: TrainSpec has no field 'step'; its fields are optimizer, steps, batch_size, eval_every, loss, temperature, batch_order, use_graph, eval_chunk, tf32
        """
        fields = [f.name for f in dataclasses.fields(self)]
        for name in changes:
            if name not in fields:
                raise TypeError(f"TrainSpec has no field {name!r}; its fields are "
                                f"{', '.join(fields)}")
        return dataclasses.replace(self, **changes) if changes else self

    @classmethod
    def from_settings(cls, spec: "TrainSpec | None", settings: dict, *,
                      where: str = "train()") -> "TrainSpec":
        """``spec`` with ``settings`` (field names) applied, or a spec made from ``settings``.

        The former keyword form of :func:`sparsesim.nn.train` goes through
        here: ``train(p, d, optimizer=..., steps=..., batch_size=...)``.

        Examples
        --------
        >>> from sparsesim.nn.optim import Adam
        >>> TrainSpec.from_settings(None, dict(optimizer=Adam(), steps=3, batch_size=2)).steps
        3
        >>> TrainSpec.from_settings(None, dict(steps=3))
        Traceback (most recent call last):
        ...
        TypeError: train() needs spec=TrainSpec(...) or the keywords optimizer=, steps=, batch_size=; missing optimizer, batch_size
        """
        if spec is not None:
            if not isinstance(spec, cls):
                raise TypeError(f"spec must be a {cls.__name__}; got {type(spec).__name__}")
            return spec.replace(**settings)
        fields = [f.name for f in dataclasses.fields(cls)]
        for name in settings:
            if name not in fields:
                raise TypeError(f"{where} got an unexpected keyword argument {name!r} (the "
                                f"training settings are the {cls.__name__} fields "
                                f"{', '.join(fields)})")
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in settings]
        if missing:
            raise TypeError(f"{where} needs spec={cls.__name__}(...) or the keywords "
                            f"{', '.join(n + '=' for n in required)}; missing "
                            f"{', '.join(missing)}")
        return cls(**settings)
