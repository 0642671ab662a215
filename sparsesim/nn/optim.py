"""Optimizers for batches of models: SGD (with momentum) and Adam.

Functional in spirit: an optimizer is a small immutable description of the
hyperparameters, its state is a plain :class:`OptState` of arrays shaped like
the parameters (batched over the model axis B), and one update is a function
of ``(params, grads, state)``.  Two entry points do the same arithmetic:

- :meth:`Adam.step` / :meth:`SGD.step` return new parameters and a new state
  and leave their inputs untouched (the reference);
- :meth:`Adam.step_` / :meth:`SGD.step_` update ``params`` and ``state`` in
  place, allocating only temporaries — the form the trainer uses and the one
  a CUDA graph can capture (every buffer keeps its device address).

Per-model hyperparameters
    ``lr`` is a float or a 1-D array of shape ``(B,)`` (one learning rate per
    model, e.g. a learning-rate sweep in one batch).  It is stored in the state
    as a device array, so the update never reads host values.
Masks
    ``masks`` follows :func:`sparsesim.nn.mlp.mask_pairs` (an array shaped
    like ``W`` per layer, or ``(mW, mb)`` pairs, or ``None``).  A masked update
    zeroes the gradient first (so momentum and Adam's moments of a pruned
    weight stay exactly 0) **and** multiplies the parameter by the mask after
    the update, so pruned weights are exactly 0 after every step whatever the
    optimizer state held before.
Gating
    ``active`` (optional, shape ``(B,)``, 0/1) freezes the models whose entry
    is 0: their parameters, moments and step counts are left unchanged.  The
    trainer uses it for models that join a run late (rewound tickets start at
    step tau).
Step count
    ``state.step`` counts each model's updates (float array ``(B,)``); Adam's
    bias corrections ``1 - beta^t`` are computed from it on the device.

Adam follows Kingma & Ba (2015) with the bias-corrected step written as in
PyTorch's ``torch.optim.Adam``: ``p -= (lr / (1 - b1^t)) * m / (sqrt(v) /
sqrt(1 - b2^t) + eps)``.  SGD with momentum ``mu`` follows PyTorch's
convention (no dampening): ``buf = mu * buf + g; p -= lr * buf``.

On CuPy the Adam update of each tensor is one fused elementwise kernel
(:func:`_adam_kernel`); its plain-array twin :func:`_adam_plain_` is the
reference it is tested against (``fused=False`` selects it on any backend).
The trainer goes further: :meth:`Adam.table` / :meth:`Adam.apply_table_`
update every tensor in one launch (:mod:`sparsesim.kernels.trainer`,
bit-identical to the twin).  On NumPy the update runs in place by blocks
(:func:`_adam_inplace_`), bit-identical to :func:`_adam_plain_` too.

Examples
--------
>>> import numpy as np
>>> from sparsesim.nn.optim import Adam
>>> params = [(np.ones((2, 3, 1)), np.zeros((2, 1)))]
>>> grads = [(np.full((2, 3, 1), 0.5), np.zeros((2, 1)))]
>>> opt = Adam(lr=0.1)
>>> state = opt.init(params)
>>> new_params, state = opt.step(params, grads, state)
>>> np.round(new_params[0][0][0, :, 0], 6)        # first Adam step moves by lr
array([0.9, 0.9, 0.9])
>>> state.step
array([1., 1.])
"""

from __future__ import annotations

import functools
import numbers
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_array, check_choice, check_real
from ..backend import namespace_of, to_numpy
from ..kernels import trainer as _trainer_kernels
from .mlp import check_params, mask_pairs

__all__ = ["OptState", "Optimizer", "SGD", "Adam", "make_optimizer", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam")


# --------------------------------------------------------------------------- state

@dataclass
class OptState:
    """Optimizer state of a batch of models.

    Attributes
    ----------
    step : array, shape ``(B,)``
        Number of updates each model has taken (float, in the parameters'
        dtype, on their device).
    lr : array, shape ``(B,)``
        Learning rate of each model (on the device).
    slots : dict of str -> list of (array, array)
        Per-parameter buffers shaped like ``params``: ``"momentum"`` for SGD
        with momentum, ``"m"`` and ``"v"`` for Adam.
    """

    step: Any
    lr: Any
    slots: dict = field(default_factory=dict)

    def copy(self) -> "OptState":
        """A deep copy (new arrays)."""
        return OptState(self.step.copy(), self.lr.copy(),
                        {k: [(a.copy(), b.copy()) for a, b in v] for k, v in self.slots.items()})


def _check_lr(lr: Any) -> Any:
    if isinstance(lr, numbers.Real) and not isinstance(lr, (bool, np.bool_)):
        return check_real("lr", lr, low=0.0, low_open=True)
    check_array("lr", lr, ndim=1, min_size=1, kinds="iuf")
    xp = namespace_of(lr)
    if not bool(xp.all(lr > 0)):
        raise ValueError(f"lr must be > 0 for every model; got minimum {float(lr.min())}")
    return lr


def _lr_array(lr: Any, n_models: int, xp, dtype) -> Any:
    if isinstance(lr, float):
        return xp.full((n_models,), lr, dtype=dtype)
    if lr.shape[0] != n_models:
        raise ValueError(f"lr given per model must have shape ({n_models},) (one per model); "
                         f"got {tuple(lr.shape)}")
    return xp.asarray(lr if namespace_of(lr) is xp else to_numpy(lr), dtype=dtype).copy()


def _bcast(a: Any, ndim: int) -> Any:
    """Reshape a per-model ``(B,)`` array to broadcast against a ``ndim`` tensor."""
    return a.reshape(a.shape + (1,) * (ndim - 1))


def float_masks(masks: Any, params: Any, *, check_values: bool) -> list[tuple[Any, Any]]:
    """Masks as ``(mW, mb)`` pairs in the parameters' dtype (``None`` = unmasked).

    The form :meth:`Optimizer.apply_` takes (see :func:`sparsesim.nn.mlp.mask_pairs`).

    Examples
    --------
    >>> params = [(np.ones((1, 2, 1)), np.zeros((1, 1)))]
    >>> float_masks([np.array([[[True], [False]]])], params, check_values=True)[0][0].dtype
    dtype('float64')
    """
    if masks is None:
        return [(None, None)] * len(params)
    pairs = mask_pairs(masks, params, check_values=check_values)
    dtype = params[0][0].dtype
    return [(None if mW is None else mW.astype(dtype, copy=False),
             None if mb is None else mb.astype(dtype, copy=False)) for mW, mb in pairs]


def _check_grads(grads: Any, params: Any) -> None:
    if not isinstance(grads, (list, tuple)) or len(grads) != len(params):
        raise TypeError(f"grads must be a list of {len(params)} (gW, gb) pairs shaped like "
                        f"params; got {type(grads).__name__}")
    for l, (pair, (W, b)) in enumerate(zip(grads, params)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"grads[{l}] must be a (gW, gb) pair; got {type(pair).__name__}")
        for part, ref, what in ((pair[0], W, "gW"), (pair[1], b, "gb")):
            check_array(f"grads[{l}] {what}", part, finite=False, kinds="f")
            if tuple(part.shape) != tuple(ref.shape):
                raise ValueError(f"grads[{l}] {what} must have the shape {tuple(ref.shape)} "
                                 f"of params[{l}]; got {tuple(part.shape)}")


def _check_active(active: Any, n_models: int) -> Any:
    if active is None:
        return None
    check_array("active", active, ndim=1, kinds="biuf")
    if active.shape[0] != n_models:
        raise ValueError(f"active must have shape ({n_models},) (one flag per model); "
                         f"got {tuple(active.shape)}")
    return active


class Optimizer:
    """Base class of :class:`SGD` and :class:`Adam`: the validated entry points.

    Subclasses implement :meth:`apply_` (the unchecked in-place update) and
    the names of their state slots.
    """

    name = ""

    def init(self, params: Any) -> OptState:
        """A fresh state for ``params`` (zero buffers, zero step counts)."""
        xp, n_models, dtype = check_params(params, check_values=False)
        return OptState(step=xp.zeros((n_models,), dtype=dtype),
                        lr=_lr_array(self.lr, n_models, xp, dtype),
                        slots={k: [(xp.zeros_like(W), xp.zeros_like(b)) for W, b in params]
                               for k in self._slot_names()})

    def _slot_names(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_(self, params: Any, grads: Any, state: OptState, pairs: Any,
               active: Any) -> None:  # pragma: no cover - abstract
        """The in-place update without validation (the trainer's hot loop).

        ``pairs`` are the masks from :func:`float_masks`; ``active`` is
        ``None`` or a 0/1 array ``(B,)`` in the parameters' dtype.  Use
        :meth:`step_` for validated input.
        """
        raise NotImplementedError

    def table(self, params: Any, grads: Any, state: OptState, pairs: Any) -> Any:
        """A prepared device form of these operands for :meth:`apply_table_` (None: none).

        The trainer builds it once, before the first step; the base class
        has none.
        """
        return None

    def apply_table_(self, params: Any, grads: Any, state: OptState, pairs: Any, active: Any,
                     table: Any) -> None:
        """:meth:`apply_` through a table from :meth:`table` (the base class: ``apply_``)."""
        self.apply_(params, grads, state, pairs, active)

    def _validate(self, params, grads, state, masks, active):
        xp, n_models, _ = check_params(params, check_values=False)
        _check_grads(grads, params)
        if not isinstance(state, OptState) or set(state.slots) != set(self._slot_names()):
            raise TypeError(f"state must be an OptState from {type(self).__name__}.init")
        if tuple(state.step.shape) != (n_models,):
            raise ValueError(f"state belongs to {state.step.shape[0]} models; params hold "
                             f"{n_models}")
        for k, buf in state.slots.items():
            for l, ((a, c), (W, b)) in enumerate(zip(buf, params)):
                if tuple(a.shape) != tuple(W.shape) or tuple(c.shape) != tuple(b.shape):
                    raise ValueError(f"state slot {k!r} layer {l} does not match params' shapes")
        pairs = float_masks(masks, params, check_values=True)
        return pairs, _check_active(active, n_models)

    def step_(self, params: Any, grads: Any, state: OptState, *, masks: Any = None,
              active: Any = None) -> None:
        """Update ``params`` and ``state`` in place (see the module notes).

        Parameters
        ----------
        params : list of (W, b)
            Updated in place.
        grads : list of (gW, gb)
            Shaped like ``params``; not modified.
        state : OptState
            From :meth:`init`; updated in place.
        masks : None or list
            Pruning masks (see the module notes).
        active : array of shape ``(B,)``, optional
            0/1 per model; models with 0 are left unchanged.

        Raises
        ------
        TypeError, ValueError
            Mismatched structures or shapes, naming the argument.
        """
        pairs, active = self._validate(params, grads, state, masks, active)
        self.apply_(params, grads, state, pairs, active)

    def step(self, params: Any, grads: Any, state: OptState, *, masks: Any = None,
             active: Any = None) -> tuple[list, OptState]:
        """Functional update: new ``(params, state)``; the inputs are unchanged."""
        pairs, active = self._validate(params, grads, state, masks, active)
        new_params = [(W.copy(), b.copy()) for W, b in params]
        new_state = state.copy()
        self.apply_(new_params, grads, new_state, pairs, active)
        return new_params, new_state


def _masked_grad(g, m):
    return g if m is None else g * m


def _reapply_mask_(p, m):
    if m is not None:
        p *= m


def _advance_step_(state: OptState, active) -> None:
    if active is None:
        state.step += 1
    else:
        state.step += active.astype(state.step.dtype, copy=False)


# --------------------------------------------------------------------------- SGD

@dataclass(frozen=True)
class SGD(Optimizer):
    """Minibatch SGD, optionally with (heavy-ball) momentum.

    Parameters
    ----------
    lr : float or array of shape ``(B,)``
        Learning rate(s), > 0.
    momentum : float
        In ``[0, 1)``; 0 is plain SGD.

    Examples
    --------
    >>> params = [(np.ones((1, 2, 1)), np.zeros((1, 1)))]
    >>> grads = [(np.ones((1, 2, 1)), np.ones((1, 1)))]
    >>> opt = SGD(lr=0.5)
    >>> p, s = opt.step(params, grads, opt.init(params), masks=[np.array([[[1], [0]]])])
    >>> p[0][0][0, :, 0], p[0][1]
    (array([0.5, 0. ]), array([[-0.5]]))
    """

    lr: Any = 0.1
    momentum: float = 0.0
    name = "sgd"

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        object.__setattr__(self, "momentum", check_real("momentum", self.momentum, low=0.0,
                                                        high=1.0, high_open=True))

    def _slot_names(self) -> tuple[str, ...]:
        return ("momentum",) if self.momentum > 0 else ()

    def apply_(self, params, grads, state, pairs, active) -> None:
        _advance_step_(state, active)
        bufs = state.slots.get("momentum")
        for l, ((W, b), (gW, gb), (mW, mb)) in enumerate(zip(params, grads, pairs)):
            for i, (p, g, m) in enumerate(((W, gW, mW), (b, gb, mb))):
                g = _masked_grad(g, m)
                if bufs is not None:
                    buf = bufs[l][i]
                    new = self.momentum * buf + g
                    if active is None:
                        buf[...] = new
                    else:
                        buf[...] = namespace_of(p).where(_bcast(active, p.ndim) > 0, new, buf)
                    g = buf
                if active is None:
                    p -= _bcast(state.lr, p.ndim) * g
                else:
                    new_p = p - _bcast(state.lr, p.ndim) * g
                    p[...] = namespace_of(p).where(_bcast(active, p.ndim) > 0, new_p, p)
                _reapply_mask_(p, m)


# --------------------------------------------------------------------------- Adam

#: The fused Adam update as CuPy ``ElementwiseKernel`` arguments
#: ``(in_params, out_params, operation, name)``; pure data, so that the CUDA
#: code can be compiled and checked without a device (``tests/test_cuda_compile``).
ADAM_KERNEL_SPEC = (
    "T g, T mask, T act, T step_size, T sqrt_bc2, T b1, T b2, T eps",
    "T p, T m, T v",
    """
    T gm = g * mask;
    if (act != (T)0) {
        m = b1 * m + ((T)1 - b1) * gm;
        v = b2 * v + ((T)1 - b2) * (gm * gm);
        T denom = sqrt(v) / sqrt_bc2 + eps;
        p = p - step_size * (m / denom);
    }
    p = p * mask;
    """,
    "sparsesim_adam_update",
)


@functools.lru_cache(maxsize=None)
def _adam_kernel(xp):
    """The fused Adam update of one tensor (CuPy ``ElementwiseKernel``).

    One pass over ``p, g, m, v`` instead of about a dozen elementwise kernels;
    arithmetic in the same order as :func:`_adam_plain_` (its twin).
    """
    return xp.ElementwiseKernel(*ADAM_KERNEL_SPEC)


def _adam_plain_(p, g, m, v, mask, act, step_size, sqrt_bc2, b1, b2, eps) -> None:
    """Plain-array Adam update of one tensor, in place (reference of the fused kernel).

    ``act``, ``step_size``, ``sqrt_bc2`` are per-model arrays already shaped to
    broadcast against ``p`` (``act`` may be ``None``: every model active).
    """
    xp = namespace_of(p)
    g = _masked_grad(g, mask)
    new_m = b1 * m + (1 - b1) * g
    new_v = b2 * v + (1 - b2) * (g * g)
    new_p = p - step_size * (new_m / (xp.sqrt(new_v) / sqrt_bc2 + eps))
    if act is None:
        m[...] = new_m
        v[...] = new_v
        p[...] = new_p
    else:
        on = act > 0
        m[...] = xp.where(on, new_m, m)
        v[...] = xp.where(on, new_v, v)
        p[...] = xp.where(on, new_p, p)
    _reapply_mask_(p, mask)


#: Elements per block of the in-place NumPy Adam update (:func:`_adam_inplace_`):
#: the block's slices of ``p, g, m, v, mask`` and two scratch arrays stay in
#: the CPU caches while the fifteen element-wise operations run over them.
ADAM_BLOCK = 1 << 16

_SCRATCH = threading.local()


def _scratch(xp, dtype, n: int) -> tuple[Any, Any]:
    """Two scratch vectors of ``n`` elements, reused across calls (one pair per thread)."""
    key = (id(xp), np.dtype(dtype).str, n)
    cache = getattr(_SCRATCH, "cache", None)
    if cache is None or cache[0] != key:
        cache = (key, xp.empty(n, dtype=dtype), xp.empty(n, dtype=dtype))
        _SCRATCH.cache = cache
    return cache[1], cache[2]


def _runs(on) -> list[tuple[int, int, bool]]:
    """``(start, stop, value)`` of the runs of equal entries of a 1-D bool host array."""
    out = []
    start = 0
    for i in range(1, len(on) + 1):
        if i == len(on) or on[i] != on[start]:
            out.append((start, i, bool(on[start])))
            start = i
    return out


def _adam_inplace_(p, g, m, v, mask, active, step_size, sqrt_bc2, b1, b2, eps,
                   block: int | None = None) -> None:
    """:func:`_adam_plain_` in place and by blocks, bit-identical to it (NumPy).

    ``p, g, m, v`` (and ``mask`` when given) are C-contiguous ``(B, ...)``
    arrays; ``active`` is ``None`` or a 0/1 host array ``(B,)``; ``step_size``
    and ``sqrt_bc2`` are ``(B,)``.  Every element gets the operations of
    :func:`_adam_plain_` in its order (``g·mask``, ``b1·m + (1 - b1)·g``,
    ``b2·v + (1 - b2)·(g·g)``, ``sqrt(v) / sqrt_bc2 + eps``,
    ``p - step_size·(m / denom)``, ``p·mask``), each rounded once to the
    dtype, so only the temporaries differ: the work is done on blocks of about
    ``block`` elements (whole models, or a slice of one model's entries) with
    two reused scratch arrays, instead of a dozen passes over full-size
    temporaries (``block=None``: :data:`ADAM_BLOCK`).  A frozen model
    (``active`` 0) keeps ``m, v, p``; its ``p`` is multiplied by the mask, as
    in the twin.  ``g`` is not modified.

    Examples
    --------
    The first step of model 0 moves by ``lr = 0.1``; model 1 is frozen:

    >>> p, g = np.ones((2, 3)), np.full((2, 3), 0.5)
    >>> m, v = np.zeros((2, 3)), np.zeros((2, 3))
    >>> step_size, sqrt_bc2 = np.full(2, 0.1 / (1 - 0.9)), np.full(2, np.sqrt(1 - 0.999))
    >>> _adam_inplace_(p, g, m, v, None, np.array([1.0, 0.0]), step_size, sqrt_bc2,
    ...                0.9, 0.999, 1e-8)
    >>> p.round(6).tolist()
    [[0.9, 0.9, 0.9], [1.0, 1.0, 1.0]]
    """
    xp = np
    block = ADAM_BLOCK if block is None else int(block)
    n_models = p.shape[0]
    n = p.size // n_models if n_models else 0
    P, G, M, V = (a.reshape(n_models, n) for a in (p, g, m, v))
    MK = None if mask is None else mask.reshape(n_models, n)
    ss = step_size.reshape(n_models, 1)
    sb = sqrt_bc2.reshape(n_models, 1)
    c1, c2 = 1 - b1, 1 - b2
    t1_all, t2_all = _scratch(xp, p.dtype, block)
    runs = [(0, n_models, True)] if active is None else _runs(np.asarray(active) > 0)
    for r0, r1, on in runs:
        if not on:
            if MK is not None:
                xp.multiply(P[r0:r1], MK[r0:r1], out=P[r0:r1])
            continue
        rows = max(1, block // max(n, 1))
        if rows > 1 or n <= block:
            slices = [(slice(i, min(i + rows, r1)), slice(None)) for i in range(r0, r1, rows)]
        else:
            slices = [(slice(i, i + 1), slice(j, min(j + block, n)))
                      for i in range(r0, r1) for j in range(0, n, block)]
        for rs, cs in slices:
            pp, gg, mm, vv = P[rs, cs], G[rs, cs], M[rs, cs], V[rs, cs]
            size = pp.size
            t1 = t1_all[:size].reshape(pp.shape)
            t2 = t2_all[:size].reshape(pp.shape)
            mk = None if MK is None else MK[rs, cs]
            gm = gg if mk is None else xp.multiply(gg, mk, out=t1)
            xp.multiply(mm, b1, out=mm)
            xp.multiply(gm, c1, out=t2)
            xp.add(mm, t2, out=mm)                       # b1·m + (1 - b1)·g
            xp.multiply(gm, gm, out=t2)
            xp.multiply(t2, c2, out=t2)
            xp.multiply(vv, b2, out=vv)
            xp.add(vv, t2, out=vv)                       # b2·v + (1 - b2)·(g·g)
            xp.sqrt(vv, out=t2)
            xp.divide(t2, sb[rs], out=t2)
            xp.add(t2, eps, out=t2)                      # sqrt(v) / sqrt_bc2 + eps
            xp.divide(mm, t2, out=t2)
            xp.multiply(t2, ss[rs], out=t2)
            xp.subtract(pp, t2, out=pp)                  # p - step_size·(m / denom)
            if mk is not None:
                xp.multiply(pp, mk, out=pp)


def _inplace_ok(*arrays) -> bool:
    """Whether :func:`_adam_inplace_` may run: NumPy arrays, C-contiguous, one dtype."""
    dt = arrays[0].dtype
    return all(a is None or (type(a) is np.ndarray and a.flags.c_contiguous and a.dtype == dt)
               for a in arrays)


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), batched over models.

    Parameters
    ----------
    lr : float or array of shape ``(B,)``
        Learning rate(s), > 0.
    beta1, beta2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        > 0, added to the bias-corrected ``sqrt(v)``.
    fused : bool or None
        Use the fused kernels where the backend has them (CuPy): one
        elementwise kernel per tensor in :meth:`step_`, one launch for every
        tensor in the trainer.  ``None`` (default) = fused on CuPy; ``False``
        forces the plain-array path (the reference; on NumPy the plain
        arithmetic runs in place).

    Examples
    --------
    >>> opt = Adam(lr=2e-2)
    >>> opt.beta1, opt.beta2, opt.eps
    (0.9, 0.999, 1e-08)
    >>> Adam(lr=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be in (0, inf); got -1.0
    """

    lr: Any = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    fused: bool | None = None
    name = "adam"

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_lr(self.lr))
        for nm in ("beta1", "beta2"):
            object.__setattr__(self, nm, check_real(nm, getattr(self, nm), low=0.0, high=1.0,
                                                    high_open=True))
        object.__setattr__(self, "eps", check_real("eps", self.eps, low=0.0, low_open=True))
        if self.fused not in (None, True, False):
            raise TypeError(f"fused must be None, True or False; got {self.fused!r}")

    def _slot_names(self) -> tuple[str, ...]:
        return ("m", "v")

    def _schedule_(self, state, active):
        """Advance the step counts; the per-model ``(step_size, sqrt_bc2)`` of this step."""
        xp = namespace_of(state.step)
        _advance_step_(state, active)
        t = xp.maximum(state.step, 1)          # a frozen model (t = 0) must not divide by 0
        step_size = state.lr / (1 - xp.power(self.beta1, t))
        sqrt_bc2 = xp.sqrt(1 - xp.power(self.beta2, t))
        return step_size, sqrt_bc2

    def table(self, params, grads, state, pairs):
        """The device table of :meth:`apply_table_` for these arrays, or None.

        ``None`` (use :meth:`apply_`) unless the arrays are CuPy arrays of a
        device that compiles kernels, ``fused`` is not ``False`` and every
        array is C-contiguous.  Built once before training (it uploads the
        arrays' addresses); the arrays must then stay the same objects.
        """
        xp = namespace_of(state.step)
        if self.fused is False or not _trainer_kernels.has_cuda_kernels(xp):
            return None
        tensors = _flat_operands(params, grads, state, pairs)
        if not all(a is None or a.flags.c_contiguous for group in tensors for a in group):
            return None
        return _trainer_kernels.AdamTable(xp, *tensors)

    def apply_table_(self, params, grads, state, pairs, active, table) -> None:
        """:meth:`apply_` as one multi-tensor kernel launch (``table`` from :meth:`table`).

        Bit-identical to the plain-array update (``fused=False``): the kernel
        rounds every operation as the array code does (see
        :mod:`sparsesim.kernels.trainer`).  ``table=None`` runs :meth:`apply_`.
        """
        if table is None:
            self.apply_(params, grads, state, pairs, active)
            return
        xp = namespace_of(state.step)
        dtype = state.step.dtype
        step_size, sqrt_bc2 = (a.astype(dtype, copy=False) for a in self._schedule_(state, active))
        act = None if active is None else active.astype(dtype, copy=False)
        _trainer_kernels.adam_multi_(xp, table, *_flat_operands(params, grads, state, pairs),
                                     act, step_size, sqrt_bc2, self.beta1, self.beta2,
                                     self.eps)

    def apply_(self, params, grads, state, pairs, active) -> None:
        xp = namespace_of(state.step)
        step_size, sqrt_bc2 = self._schedule_(state, active)
        dtype = state.step.dtype
        fused = self.fused if self.fused is not None else hasattr(xp, "ElementwiseKernel")
        if fused and not hasattr(xp, "ElementwiseKernel"):
            raise ValueError("fused=True needs a backend with elementwise kernels (CuPy); "
                             "use fused=None or False on NumPy")
        kernel = _adam_kernel(xp) if fused else None
        one = xp.ones((), dtype=dtype) if fused else None
        act_full = (xp.ones_like(state.step) if active is None
                    else active.astype(dtype, copy=False)) if fused else None
        for (W, b), (gW, gb), (mW, mb), (mWb, mbb), (vWb, vbb) in zip(
                params, grads, pairs, state.slots["m"], state.slots["v"]):
            for p, g, mask, m, v in ((W, gW, mW, mWb, vWb), (b, gb, mb, mbb, vbb)):
                nd = p.ndim
                if kernel is not None:
                    kernel(g, one if mask is None else mask, _bcast(act_full, nd),
                           _bcast(step_size, nd), _bcast(sqrt_bc2, nd),
                           dtype.type(self.beta1), dtype.type(self.beta2),
                           dtype.type(self.eps), p, m, v)
                elif _inplace_ok(p, g, m, v, mask, step_size, sqrt_bc2) and (
                        active is None or type(active) is np.ndarray):
                    _adam_inplace_(p, g, m, v, mask, active, step_size, sqrt_bc2,
                                   self.beta1, self.beta2, self.eps)
                else:
                    _adam_plain_(p, g, m, v, mask,
                                 None if active is None else _bcast(active, nd),
                                 _bcast(step_size, nd), _bcast(sqrt_bc2, nd),
                                 self.beta1, self.beta2, self.eps)


def _flat_operands(params, grads, state, pairs):
    """``(p, g, m, v, mask)`` lists over every tensor (W then b of each layer)."""
    out = ([], [], [], [], [])
    for (W, b), (gW, gb), (mW, mb), (mWb, mbb), (vWb, vbb) in zip(
            params, grads, pairs, state.slots["m"], state.slots["v"]):
        for row in ((W, gW, mWb, vWb, mW), (b, gb, mbb, vbb, mb)):
            for lst, a in zip(out, row):
                lst.append(a)
    return out


def make_optimizer(name: str, lr: Any, *, momentum: float = 0.0, **kwargs: Any) -> Optimizer:
    """An optimizer by name: ``"sgd"`` (with ``momentum``) or ``"adam"``.

    Examples
    --------
    >>> make_optimizer("adam", 2e-2).name, make_optimizer("sgd", 0.1, momentum=0.9).momentum
    ('adam', 0.9)
    """
    check_choice("name (the optimizer)", name, OPTIMIZERS)
    momentum = check_real("momentum", momentum, low=0.0, high=1.0, high_open=True)
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum, **kwargs)
    if momentum:
        raise ValueError(f"momentum applies to optimizer='sgd' only; got momentum={momentum} "
                         "with optimizer='adam' (use beta1)")
    return Adam(lr=lr, **kwargs)
