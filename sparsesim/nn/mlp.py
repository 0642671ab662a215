"""Batched fully connected ReLU networks with exact first and second derivatives.

A *batch of models* is B independent networks of one architecture (different
seeds, masks or hyperparameters) evaluated together: every layer is one batched
matrix product ``(B, n, fan_in) @ (B, fan_in, fan_out)``.

Conventions
-----------
Parameters
    A list with one ``(W, b)`` tuple per layer; ``W`` has shape
    ``(B, fan_in, fan_out)`` and ``b`` shape ``(B, fan_out)``.  A layer maps
    ``a -> a @ W + b`` (row vectors).  Every array shares one dtype (float32 or
    float64) and one backend (NumPy or CuPy).
Architecture
    ``sizes = (n_in, h_1, ..., n_out)``; ReLU after every layer but the last.
    ``residual`` adds identity skips between equal-width hidden layers:
    layer ``l`` with a skip computes ``a_{l+1} = relu(a_l W_l + b_l) + a_l``.
    ``residual=True`` puts a skip on every hidden-to-hidden layer (layer index
    ``1 .. L-2``) whose fan-in equals its fan-out — for ``40-500-500-10`` that
    is layer 1, the MNIST-1D reference model ``h2 = relu(h1 W2 + b2) + h1``;
    a tuple of layer indices (each in ``1 .. L-2``, equal widths) names them
    explicitly; ``False`` (default) means none.  The architecture is given by
    keyword arguments (``residual=``, ``loss=``, ``temperature=``) to every
    function, so the same ``residual`` value must be passed consistently.
Masks
    ``None`` (nothing masked) or a list with one entry per layer, each entry
    one of: ``None`` (layer unmasked); an array shaped like ``W`` (weights
    masked, bias unmasked — the default case); or a pair ``(mW, mb)`` with
    ``mW`` shaped like ``W`` or ``None`` and ``mb`` shaped like ``b`` or
    ``None`` (to prune biases too).  Mask entries are bool or 0/1 of any real
    dtype.  The network computes with the *effective* parameters ``W ⊙ mW``,
    ``b ⊙ mb``; gradients are ``m ⊙ ∂L/∂(effective)``, so masked entries get
    exactly zero gradient, and :func:`hvp` returns ``P H P v`` with
    ``P = diag(m)``.
Data
    ``X`` is ``(n, n_in)`` (shared by all models) or ``(B, n, n_in)``; it is
    cast to the parameters' dtype.  Cross-entropy labels are integer class ids
    ``(n,)`` or ``(B, n)``; MSE targets are floats ``(n, n_out)`` or
    ``(B, n, n_out)``.
Losses (one value per model, shape ``(B,)``)
    ``"cross_entropy"``: ``mean_i [logsumexp(z_i / T) - z_{i,y_i} / T]`` with
    logits ``z`` and temperature ``T > 0`` (stable log-softmax).
    ``"mse"``: ``mean_i ½‖z_i − y_i‖²`` (half the squared Euclidean error,
    averaged over samples, summed over outputs); ``temperature`` must be 1.
Validation
    Structure (shapes, dtypes, backends) is always checked.  Value checks
    (finiteness of parameters/data/vectors, labels in range, masks 0/1) need a
    full pass over the data and, on a GPU, a device synchronisation; pass
    ``check_values=False`` in hot loops once the inputs are known to be good.
    With value checks on, a result that overflows the dtype's range (finite
    but huge weights or data, a tiny temperature) raises ``ValueError``
    instead of returning inf/NaN; with ``check_values=False`` the numbers are
    returned as computed.
Limits
    Parameters are float32 or float64 (float16 is refused: its range is
    exceeded by ordinary activations).  At most ``MAX_MODELS`` models per
    batch and ``MAX_ELEMENTS`` entries per weight array are created, and the
    cross-entropy temperature is at least ``MIN_TEMPERATURE``: beyond these,
    a count or scale is taken as a mistake (``ValueError`` naming it).

Derivatives are written once against the array namespace: a reverse pass for
gradients and Pearlmutter's R-operator (forward-over-reverse) for exact
Hessian-vector products, in :mod:`sparsesim.nn.passes`; no automatic
differentiation library is used.  The ReLU derivative at 0 is taken as 0.

Examples
--------
>>> import numpy as np
>>> from sparsesim.nn import init_mlp, forward, loss_and_grad
>>> params = init_mlp((4, 8, 3), 2, seed=0, backend="numpy", dtype=np.float64)
>>> X = np.ones((5, 4)); y = np.array([0, 1, 2, 0, 1])
>>> forward(params, X).shape
(2, 5, 3)
>>> loss, grads = loss_and_grad(params, X, y)
>>> loss.shape, grads[0][0].shape
((2,), (2, 4, 8))
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Sequence

import numpy as np

from .._validation import check_array, check_choice, check_int, check_real
from ..backend import child_seed, get_namespace, make_rng, namespace_of, resolve_backend
from .passes import backward_pass, forward_pass, loss_head, masked_grads, multiply_mask, r_pass

__all__ = [
    "LOSSES",
    "INITS",
    "init_mlp",
    "model_seeds",
    "residual_layers",
    "layer_sizes",
    "mask_pairs",
    "effective_params",
    "forward",
    "loss_value",
    "loss_and_grad",
    "hvp",
    "accuracy",
    "predict",
]

LOSSES = ("cross_entropy", "mse")
INITS = ("kaiming_normal", "glorot_normal", "torch_uniform")
#: Largest number of models in one batch (:func:`model_seeds`, :func:`init_mlp`).
MAX_MODELS = 1 << 20
#: Largest number of entries of one array created here (a layer width too).
MAX_ELEMENTS = 1 << 31
#: Smallest cross-entropy temperature: below it ``logits / T`` overflows for
#: ordinary logits.
MIN_TEMPERATURE = 1e-8


# --------------------------------------------------------------------------- architecture

def check_sizes(sizes: Any) -> tuple[int, ...]:
    """Layer widths ``(n_in, h_1, ..., n_out)`` as a tuple of ints (``TypeError`` /
    ``ValueError`` naming ``sizes`` otherwise).

    Examples
    --------
    >>> check_sizes([40, 100, 10])
    (40, 100, 10)
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of layer widths; got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least 2 widths (n_in, n_out); got {tuple(sizes)}")
    return tuple(check_int(f"sizes[{i}]", s, low=1, high=MAX_ELEMENTS)
                 for i, s in enumerate(sizes))


def residual_layers(sizes: Sequence[int], residual: Any = False) -> tuple[bool, ...]:
    """Which layers carry an identity skip, as one flag per layer.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(n_in, h_1, ..., n_out)``.
    residual : bool or sequence of int
        ``False``: no skip.  ``True``: every layer ``l`` in ``1 .. L-2`` with
        ``sizes[l] == sizes[l+1]``.  A sequence: exactly those layer indices,
        each in ``1 .. L-2`` with equal fan-in and fan-out.

    Returns
    -------
    tuple of bool
        Length ``L = len(sizes) - 1``.

    Raises
    ------
    ValueError
        If a named layer is not a hidden-to-hidden layer of equal widths.

    Examples
    --------
    >>> residual_layers((40, 500, 500, 10), True)
    (False, True, False)
    >>> residual_layers((40, 500, 500, 10), (1,))
    (False, True, False)
    """
    sizes = check_sizes(sizes)
    n_layers = len(sizes) - 1
    if isinstance(residual, (bool, np.bool_)):
        if not residual:
            return (False,) * n_layers
        return tuple(1 <= l <= n_layers - 2 and sizes[l] == sizes[l + 1] for l in range(n_layers))
    if isinstance(residual, (str, bytes)) or not isinstance(residual, Sequence):
        raise TypeError(f"residual must be a bool or a sequence of layer indices; "
                        f"got {type(residual).__name__}")
    flags = [False] * n_layers
    for l in residual:
        l = check_int("residual layer index", l, low=1, high=max(1, n_layers - 2))
        if l > n_layers - 2:
            raise ValueError(f"residual layer index must be a hidden-to-hidden layer in "
                             f"[1, {n_layers - 2}]; got {l}")
        if sizes[l] != sizes[l + 1]:
            raise ValueError(f"residual layer {l} needs equal fan-in and fan-out; got "
                             f"{sizes[l]} -> {sizes[l + 1]}")
        flags[l] = True
    return tuple(flags)


def model_seeds(seed: Any, n_models: int) -> list[np.random.SeedSequence]:
    """One independent :class:`numpy.random.SeedSequence` per model.

    ``seed`` is an int >= 0 or a SeedSequence: model ``i`` gets child ``i`` of
    ``SeedSequence(seed).spawn(n_models)`` (computed without advancing the
    caller's SeedSequence, so a call is repeatable), hence model ``i`` does not
    depend on ``n_models``.  ``seed`` may also be a sequence of ``n_models``
    ints/SeedSequences, used one per model as given (to rebuild model ``i`` of a
    batch alone: ``seed=[np.random.SeedSequence(s).spawn(n)[i]]``).
    ``1 <= n_models <= MAX_MODELS``.

    Examples
    --------
    >>> a = model_seeds(7, 3)[2]; b = np.random.SeedSequence(7).spawn(3)[2]
    >>> bool((a.generate_state(4) == b.generate_state(4)).all())
    True
    """
    n_models = check_int("n_models", n_models, low=1, high=MAX_MODELS)
    if isinstance(seed, (list, tuple)):
        if len(seed) != n_models:
            raise ValueError(f"seed given as a sequence must hold n_models={n_models} "
                             f"seeds; got {len(seed)}")
        return [s if isinstance(s, np.random.SeedSequence)
                else np.random.SeedSequence(check_int(f"seed[{i}]", s, low=0))
                for i, s in enumerate(seed)]
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    elif seed is None:
        raise TypeError("seed must be an int >= 0, a SeedSequence or a sequence of them; got None")
    else:
        root = np.random.SeedSequence(check_int("seed", seed, low=0))
    start = root.n_children_spawned
    return [child_seed(root, start + i) for i in range(n_models)]


def check_float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy float32 or float64 dtype (``TypeError`` naming ``dtype``).

    Examples
    --------
    >>> check_float_dtype("float64")
    dtype('float64')
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64; got {dtype!r}") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64; got {dt}")
    return dt


def init_mlp(sizes: Sequence[int], n_models: int, *, seed: Any, init: str = "kaiming_normal",
             backend: str = "auto", dtype: Any = np.float32,
             residual: Any = False) -> list[tuple[Any, Any]]:
    """Initialise ``n_models`` independent ReLU networks of widths ``sizes``.

    Parameters
    ----------
    sizes : sequence of int
        ``(n_in, h_1, ..., n_out)``, at least two widths.
    n_models : int
        Number B of independent models on the leading axis,
        ``1 <= B <= MAX_MODELS``; each weight array holds at most
        ``MAX_ELEMENTS`` entries (``B * fan_in * fan_out``).
    seed : int, SeedSequence or sequence of them
        See :func:`model_seeds`: model ``i`` draws from its own stream, child
        ``i`` of ``SeedSequence(seed)``, so model ``i`` of a batch equals the
        same model initialised alone.  The draws are made on the host (NumPy)
        and uploaded, so a seed gives the same network on every backend.
    init : {"kaiming_normal", "glorot_normal", "torch_uniform"}
        Weights ``N(0, 2/fan_in)`` (He et al. 2015) or
        ``N(0, 2/(fan_in + fan_out))`` (Glorot & Bengio 2010), biases 0; or
        PyTorch's ``nn.Linear`` default, weights and biases
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (the MNIST-1D lottery
        notebook's initialisation).
    backend : {"auto", "numpy", "cupy"}
    dtype : float32 or float64
    residual : bool or sequence of int
        Only validated here (a skip has no parameters); see
        :func:`residual_layers`.

    Returns
    -------
    list of (W, b)
        ``W`` of shape ``(n_models, fan_in, fan_out)``, ``b`` of shape
        ``(n_models, fan_out)``.

    Examples
    --------
    >>> p = init_mlp((3, 5, 2), 4, seed=1, backend="numpy")
    >>> [tuple(W.shape) for W, b in p], p[0][0].dtype
    ([(4, 3, 5), (4, 5, 2)], dtype('float32'))
    >>> alone = init_mlp((3, 5, 2), 1, seed=1, backend="numpy")
    >>> bool((alone[1][0][0] == p[1][0][0]).all())
    True
    """
    sizes = check_sizes(sizes)
    n_models = check_int("n_models", n_models, low=1, high=MAX_MODELS)
    for fi, fo in zip(sizes[:-1], sizes[1:]):
        if n_models * fi * fo > MAX_ELEMENTS:
            raise ValueError(f"n_models * fan_in * fan_out must be at most {MAX_ELEMENTS} per "
                             f"layer; got n_models={n_models} and sizes {sizes} "
                             f"(a {fi} x {fo} layer)")
    check_choice("init", init, INITS)
    dt = check_float_dtype(dtype)
    residual_layers(sizes, residual)
    backend = resolve_backend(backend)
    xp = get_namespace(backend)
    seeds = model_seeds(seed, n_models)
    shapes = list(zip(sizes[:-1], sizes[1:]))
    stds = [math.sqrt(2.0 / fi) if init == "kaiming_normal" else math.sqrt(2.0 / (fi + fo))
            for fi, fo in shapes]
    per_layer: list[list[Any]] = [[] for _ in shapes]
    per_bias: list[list[Any]] = [[] for _ in shapes]
    # Drawn on the host from NumPy streams on every backend, then uploaded once:
    # a seed gives the same initial network on NumPy and CuPy (a device
    # generator would draw another stream), and B models cost one transfer per
    # layer instead of B device generators.
    for s in seeds:  # one stream per model: initialisation only, not a hot path
        rng = make_rng(s, "numpy")
        for l, (fi, fo) in enumerate(shapes):
            if init == "torch_uniform":
                bound = dt.type(1.0 / math.sqrt(fi))
                per_layer[l].append((rng.uniform((fi, fo), dtype=dt) * 2 - 1) * bound)
                per_bias[l].append((rng.uniform((fo,), dtype=dt) * 2 - 1) * bound)
            else:
                per_layer[l].append(rng.normal((fi, fo), dtype=dt) * dt.type(stds[l]))
                per_bias[l].append(np.zeros((fo,), dtype=dt))
    return [(xp.asarray(np.stack(ws).astype(dt, copy=False)),
             xp.asarray(np.stack(bs).astype(dt, copy=False)))
            for ws, bs in zip(per_layer, per_bias)]


# --------------------------------------------------------------------------- validation

def layer_sizes(params: Any) -> tuple[int, ...]:
    """Widths ``(n_in, h_1, ..., n_out)`` of a parameter list (validated).

    Examples
    --------
    >>> layer_sizes(init_mlp((3, 5, 2), 1, seed=0, backend="numpy"))
    (3, 5, 2)
    """
    check_params(params, check_values=False)
    return (int(params[0][0].shape[1]),) + tuple(int(W.shape[2]) for W, _ in params)


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_params(params: Any, *, check_values: bool, name: str = "params") -> tuple[Any, int, np.dtype]:
    """Validate a parameter list; return its ``(namespace, n_models, dtype)``.

    ``check_values`` also checks finiteness; ``name`` is the argument named in
    the error messages.

    Examples
    --------
    >>> xp, B, dt = check_params(init_mlp((3, 2), 4, seed=0, backend="numpy"), check_values=True)
    >>> xp.__name__, B, dt
    ('numpy', 4, dtype('float32'))
    """
    if not isinstance(params, (list, tuple)) or len(params) == 0:
        raise TypeError(f"{name} must be a non-empty list of (W, b) pairs; "
                        f"got {type(params).__name__}")
    n_models = None
    dtype = None
    prev_out = None
    for l, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise TypeError(f"{name}[{l}] must be a (W, b) pair; got {type(layer).__name__}")
        W, b = layer
        check_array(f"{name}[{l}] W", W, finite=check_values, ndim=3, min_size=1, kinds="f")
        check_array(f"{name}[{l}] b", b, finite=check_values, ndim=2, kinds="f")
        if W.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{name}[{l}] W must have dtype float32 or float64; got {W.dtype}")
        if n_models is None:
            n_models, dtype = int(W.shape[0]), W.dtype
        if W.shape[0] != n_models:
            raise ValueError(f"{name}[{l}] W must have n_models={n_models} on axis 0; "
                             f"got shape {tuple(W.shape)}")
        if W.dtype != dtype or b.dtype != dtype:
            raise TypeError(f"{name}[{l}] must have the dtype {dtype} of {name}[0] W; "
                            f"got W {W.dtype}, b {b.dtype}")
        if tuple(b.shape) != (n_models, W.shape[2]):
            raise ValueError(f"{name}[{l}] b must have shape {(n_models, int(W.shape[2]))}; "
                             f"got {tuple(b.shape)}")
        if prev_out is not None and W.shape[1] != prev_out:
            raise ValueError(f"{name}[{l}] W fan_in {int(W.shape[1])} does not match the "
                             f"fan_out {prev_out} of {name}[{l - 1}]")
        prev_out = int(W.shape[2])
    xp = namespace_of(*[a for layer in params for a in layer])
    return xp, n_models, dtype


def _check_mask_array(name: str, m: Any, ref: Any, check_values: bool) -> Any:
    check_array(name, m, finite=check_values, kinds="biuf")
    if tuple(m.shape) != tuple(ref.shape):
        raise ValueError(f"{name} must have the shape {tuple(ref.shape)} of the "
                         f"parameter it masks; got {tuple(m.shape)}")
    if check_values and m.dtype.kind != "b" and m.size:
        xp = namespace_of(m)
        if not bool(xp.all((m == 0) | (m == 1))):
            raise ValueError(f"{name} must be boolean or contain only 0 and 1")
    return m


def mask_pairs(masks: Any, params: Any, *, check_values: bool = True) -> list[tuple[Any, Any]]:
    """Normalise masks to one ``(mW or None, mb or None)`` pair per layer.

    Accepts every form described in the module notes (``None``, a list of
    arrays / ``None`` / pairs) and checks each array against ``params``.

    Examples
    --------
    >>> p = init_mlp((3, 4, 2), 1, seed=0, backend="numpy")
    >>> pairs = mask_pairs([np.ones((1, 3, 4), bool), None], p)
    >>> pairs[0][0].shape, pairs[0][1], pairs[1]
    ((1, 3, 4), None, (None, None))
    """
    check_params(params, check_values=False)
    n_layers = len(params)
    if masks is None:
        return [(None, None)] * n_layers
    if not isinstance(masks, (list, tuple)):
        raise TypeError(f"masks must be None or a list with one entry per layer; "
                        f"got {type(masks).__name__}")
    if len(masks) != n_layers:
        raise ValueError(f"masks must hold one entry per layer ({n_layers}); got {len(masks)}")
    pairs = []
    for l, (entry, (W, b)) in enumerate(zip(masks, params)):
        if entry is None:
            pairs.append((None, None))
            continue
        if isinstance(entry, (list, tuple)):
            if len(entry) != 2:
                raise ValueError(f"masks[{l}] given as a sequence must be a (mW, mb) pair; "
                                 f"got length {len(entry)}")
            mW, mb = entry
        else:
            mW, mb = entry, None
        if mW is not None:
            _check_mask_array(f"masks[{l}] (weights)", mW, W, check_values)
        if mb is not None:
            _check_mask_array(f"masks[{l}] (bias)", mb, b, check_values)
        pairs.append((mW, mb))
    xp_masks = [m for pair in pairs for m in pair if m is not None]
    namespace_of(params[0][0], *xp_masks)  # raises on mixed backends
    return pairs


def effective_params(params: Any, masks: Any = None, *,
                     check_values: bool = True) -> list[tuple[Any, Any]]:
    """The parameters the network computes with: ``(W ⊙ mW, b ⊙ mb)`` per layer.

    ``check_values`` checks that the parameters are finite and the masks hold
    only 0 and 1, as everywhere in this module (see the module notes).

    Raises
    ------
    TypeError, ValueError
        Malformed parameters or masks (non-finite weights, mask values other
        than 0/1 with ``check_values``); the message names the argument.

    Examples
    --------
    >>> p = init_mlp((2, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> q = effective_params(p, [np.zeros((1, 2, 2), bool)])
    >>> float(abs(q[0][0]).sum())
    0.0
    """
    _, _, dtype = check_params(params, check_values=check_values)
    pairs = mask_pairs(masks, params, check_values=check_values)
    return [(multiply_mask(W, mW, dtype), multiply_mask(b, mb, dtype))
            for (W, b), (mW, mb) in zip(params, pairs)]


def check_X(X: Any, n_models: int, n_in: int, dtype: Any, check_values: bool) -> Any:
    """Validate inputs ``(n, n_in)`` or ``(n_models, n, n_in)``; return them cast to ``dtype``.

    Examples
    --------
    >>> check_X(np.ones((5, 3)), 2, 3, np.float32, True).dtype
    dtype('float32')
    """
    check_array("X", X, finite=check_values, kinds="f", min_size=1)
    if X.ndim == 2:
        n_feat = X.shape[1]
    elif X.ndim == 3:
        if X.shape[0] != n_models:
            raise ValueError(f"X given per model must have n_models={n_models} on axis 0; "
                             f"got shape {tuple(X.shape)}")
        n_feat = X.shape[2]
    else:
        raise ValueError(f"X must have shape (n, n_in) or (n_models, n, n_in); "
                         f"got shape {tuple(X.shape)}")
    if n_feat != n_in:
        raise ValueError(f"X must have n_in={n_in} features (the fan_in of params[0]); "
                         f"got shape {tuple(X.shape)}")
    return X.astype(dtype, copy=False)


def check_y(y: Any, loss: str, n_models: int, n: int, n_out: int, dtype: Any,
            check_values: bool) -> Any:
    """Validate labels (cross-entropy class ids) or targets (MSE, cast to ``dtype``).

    Examples
    --------
    >>> check_y(np.array([0, 2]), "cross_entropy", 1, 2, 3, np.float32, True).tolist()
    [0, 2]
    """
    if loss == "cross_entropy":
        check_array("y", y, finite=False, kinds="iu")
        if not ((y.ndim == 1 and y.shape[0] == n)
                or (y.ndim == 2 and tuple(y.shape) == (n_models, n))):
            raise ValueError(f"y (class labels) must have shape ({n},) or ({n_models}, {n}) "
                             f"to match X; got {tuple(y.shape)}")
        if check_values and y.size:
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= n_out:
                raise ValueError(f"y must hold class ids in [0, {n_out - 1}] (n_out={n_out}); "
                                 f"got values in [{lo}, {hi}]")
        return y
    check_array("y", y, finite=check_values, kinds="f")
    if not ((y.ndim == 2 and tuple(y.shape) == (n, n_out))
            or (y.ndim == 3 and tuple(y.shape) == (n_models, n, n_out))):
        raise ValueError(f"y (regression targets) must have shape ({n}, {n_out}) or "
                         f"({n_models}, {n}, {n_out}) to match X and the output width; "
                         f"got {tuple(y.shape)}")
    return y.astype(dtype, copy=False)


def _check_vec(vec: Any, params: Any, check_values: bool) -> None:
    if not isinstance(vec, (list, tuple)) or len(vec) != len(params):
        raise TypeError(f"vec must be a list of {len(params)} (vW, vb) pairs shaped like params; "
                        f"got {type(vec).__name__}")
    for l, (pair, (W, b)) in enumerate(zip(vec, params)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"vec[{l}] must be a (vW, vb) pair; got {type(pair).__name__}")
        for part, ref, what in ((pair[0], W, "vW"), (pair[1], b, "vb")):
            check_array(f"vec[{l}] {what}", part, finite=check_values, kinds="f")
            if tuple(part.shape) != tuple(ref.shape):
                raise ValueError(f"vec[{l}] {what} must have the shape {tuple(ref.shape)} of "
                                 f"params[{l}]; got {tuple(part.shape)}")


def _setup(params, X, masks, residual, check_values):
    xp, n_models, dtype = check_params(params, check_values=check_values)
    sizes = (int(params[0][0].shape[1]),) + tuple(int(W.shape[2]) for W, _ in params)
    res = residual_layers(sizes, residual)
    pairs = mask_pairs(masks, params, check_values=check_values)
    X = check_X(X, n_models, sizes[0], dtype, check_values)
    namespace_of(params[0][0], X)
    return xp, n_models, dtype, sizes, res, pairs, X


def check_loss(loss: str, temperature: Any) -> float:
    """Validate ``loss`` and its ``temperature``; return the temperature as a float.

    Examples
    --------
    >>> check_loss("cross_entropy", 2)
    2.0
    """
    check_choice("loss", loss, LOSSES)
    t = check_real("temperature", temperature, low=MIN_TEMPERATURE)
    if loss == "mse" and t != 1.0:
        raise ValueError(f"temperature applies to loss='cross_entropy' only; "
                         f"with loss='mse' it must be 1.0; got {t}")
    return t


def value_guard(check_values: bool):
    """With value checks, floating-point overflow is left to :func:`check_results`
    (a ``ValueError`` naming the arguments) instead of NumPy warnings.

    A context manager: ``with value_guard(check_values): ...``.
    """
    if check_values:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")
    return contextlib.nullcontext()


def overflow_culprits(loss: str, *extra: str) -> tuple[str, ...]:
    """The arguments whose scale can make a result overflow.

    Examples
    --------
    >>> overflow_culprits("cross_entropy", "vec")
    ('params', 'X', 'vec', 'temperature')
    """
    return ("params", "X") + extra + (("temperature",) if loss == "cross_entropy" else ("y",))


def check_results(xp: Any, arrays: Sequence[Any], what: str, culprits: Sequence[str]) -> None:
    """Raise ``ValueError`` unless every array is finite (one device sync).

    ``what`` names the result, ``culprits`` the arguments whose scale is to blame
    (:func:`overflow_culprits`).

    Examples
    --------
    >>> check_results(np, [np.array([np.inf])], "the loss", overflow_culprits("mse"))
    Traceback (most recent call last):
    ...
    ValueError: the loss overflowed to inf/NaN from finite inputs (the range of the parameters' dtype was exceeded); reduce the scale of params, X or y
    """
    flags = [xp.isfinite(a).all() for a in arrays if a is not None]
    if flags and not bool(xp.all(xp.stack(flags))):
        names = ", ".join(culprits[:-1]) + f" or {culprits[-1]}" if len(culprits) > 1 \
            else culprits[0]
        raise ValueError(f"{what} overflowed to inf/NaN from finite inputs (the range of "
                         f"the parameters' dtype was exceeded); reduce the scale of {names}")


# --------------------------------------------------------------------------- front end

def _evaluate(params, X, y, masks, loss, temperature, residual, check_values):
    """Shared front end: validated inputs, effective parameters, forward pass, head."""
    t = check_loss(loss, temperature)
    xp, n_models, dtype, sizes, res, pairs, X = _setup(params, X, masks, residual, check_values)
    y = check_y(y, loss, n_models, X.shape[-2], sizes[-1], dtype, check_values)
    namespace_of(params[0][0], y)
    Ws = [multiply_mask(W, mW, dtype) for (W, _), (mW, _) in zip(params, pairs)]
    bs = [multiply_mask(b, mb, dtype) for (_, b), (_, mb) in zip(params, pairs)]
    acts, gates, z = forward_pass(Ws, bs, X, res)
    value, dout, p = loss_head(xp, z, y, loss, t)
    return xp, dtype, res, pairs, Ws, acts, gates, value, dout, p, t


# --------------------------------------------------------------------------- public API

def forward(params: Any, X: Any, masks: Any = None, *, residual: Any = False,
            check_values: bool = True) -> Any:
    """Network outputs (logits) of every model, shape ``(B, n, n_out)``.

    Parameters
    ----------
    params : list of (W, b)
    X : array, ``(n, n_in)`` or ``(B, n, n_in)``
    masks : None or list, see the module notes
    residual : bool or sequence of int, see :func:`residual_layers`
    check_values : bool
        Check finiteness and mask values (see the module notes).

    Raises
    ------
    TypeError, ValueError
        Malformed parameters, masks or data, or (with ``check_values``) logits
        beyond the range of the dtype; the message names the argument.

    Examples
    --------
    >>> p = init_mlp((2, 3, 3, 1), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> forward(p, np.zeros((4, 2)), residual=True).shape
    (1, 4, 1)
    """
    with value_guard(check_values):
        xp, n_models, dtype, sizes, res, pairs, X = _setup(params, X, masks, residual,
                                                           check_values)
        Ws = [multiply_mask(W, mW, dtype) for (W, _), (mW, _) in zip(params, pairs)]
        bs = [multiply_mask(b, mb, dtype) for (_, b), (_, mb) in zip(params, pairs)]
        z = forward_pass(Ws, bs, X, res)[2]
    if check_values:
        check_results(xp, [z], "the logits", ("params", "X"))
    return z


def loss_value(params: Any, X: Any, y: Any, masks: Any = None, *, loss: str = "cross_entropy",
               temperature: float = 1.0, residual: Any = False, check_values: bool = True) -> Any:
    """Per-model loss, shape ``(B,)`` (no derivatives).  Arguments as :func:`loss_and_grad`.

    Examples
    --------
    >>> p = init_mlp((2, 3), 2, seed=0, backend="numpy", dtype=np.float64)
    >>> loss_value([(0 * p[0][0], p[0][1])], np.ones((4, 2)), np.zeros(4, int))  # uniform softmax
    array([1.09861229, 1.09861229])
    """
    with value_guard(check_values):
        out = _evaluate(params, X, y, masks, loss, temperature, residual, check_values)
    if check_values:
        check_results(out[0], [out[7]], "the loss", overflow_culprits(loss))
    return out[7]


def loss_and_grad(params: Any, X: Any, y: Any, masks: Any = None, *,
                  loss: str = "cross_entropy", temperature: float = 1.0,
                  residual: Any = False, check_values: bool = True) -> tuple[Any, list]:
    """Per-model loss and its exact gradient with respect to every parameter.

    Parameters
    ----------
    params : list of (W, b)
    X : array, ``(n, n_in)`` or ``(B, n, n_in)``
    y : array
        Class ids ``(n,)``/``(B, n)`` for cross-entropy; float targets
        ``(n, n_out)``/``(B, n, n_out)`` for MSE.
    masks : None or list, see the module notes
    loss : {"cross_entropy", "mse"}
    temperature : float
        ``T >= MIN_TEMPERATURE`` (``1e-8``); cross-entropy is computed on
        ``logits / T``.
    residual : bool or sequence of int
    check_values : bool

    Returns
    -------
    loss : array, shape ``(B,)``
        Mean loss over samples, one value per model.
    grads : list of (gW, gb)
        Shaped like ``params``; masked entries are exactly 0.

    Raises
    ------
    TypeError, ValueError
        Malformed arguments (shapes, dtypes, labels out of range, non-finite
        values, ``temperature < MIN_TEMPERATURE``), or with ``check_values`` a
        result that overflows the dtype's range; the message names the
        argument(s).

    Examples
    --------
    >>> p = init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> m = [np.zeros((1, 3, 4), bool), None]
    >>> _, g = loss_and_grad(p, np.ones((5, 3)), np.array([0, 1, 1, 0, 1]), m)
    >>> float(abs(g[0][0]).max())
    0.0
    """
    with value_guard(check_values):
        xp, dtype, res, pairs, Ws, acts, gates, value, dout, p, t = _evaluate(
            params, X, y, masks, loss, temperature, residual, check_values)
        gW, gb, _ = backward_pass(Ws, acts, gates, dout, res)
        grads = masked_grads(gW, gb, pairs, dtype)
    if check_values:
        check_results(xp, [value] + [a for pair in grads for a in pair],
                       "the loss or its gradient", overflow_culprits(loss))
    return value, grads


def hvp(params: Any, X: Any, y: Any, vec: Any, masks: Any = None, *,
        loss: str = "cross_entropy", temperature: float = 1.0, residual: Any = False,
        check_values: bool = True) -> list:
    """Exact Hessian-vector product ``P H P v`` of each model's loss.

    ``H`` is the Hessian of the per-model loss with respect to that model's
    parameters (block diagonal across models) at the effective parameters,
    ``P = diag(mask)``; computed with Pearlmutter's R-operator (one forward
    pass, one backward pass and their directional derivatives along ``v``).
    Arguments as :func:`loss_and_grad`, plus:

    Parameters stay: the point (``params``, ``masks``), the data (``X``, ``y``), the
    direction (``vec``) and the objective (``loss``, ``temperature``, ``residual``,
    ``check_values``), the keywords every function of this module takes.

    Parameters
    ----------
    vec : list of (vW, vb)
        The direction ``v``, shaped like ``params``.

    Returns
    -------
    list of (HvW, Hvb)
        Shaped like ``params``; rows of masked entries are exactly 0.

    Examples
    --------
    >>> p = init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> X, y = np.ones((5, 3)), np.array([0, 1, 1, 0, 1])
    >>> Hv = hvp(p, X, y, [(0 * W, 0 * b) for W, b in p])
    >>> float(sum(abs(a).sum() + abs(c).sum() for a, c in Hv))
    0.0
    """
    with value_guard(check_values):
        xp, dtype, res, pairs, Ws, acts, gates, value, dout, p, t = _evaluate(
            params, X, y, masks, loss, temperature, residual, check_values)
        _check_vec(vec, params, check_values)
        namespace_of(params[0][0], *[a for pair in vec for a in pair])
        vWs = [multiply_mask(vW.astype(dtype, copy=False), mW, dtype)
               for (vW, _), (mW, _) in zip(vec, pairs)]
        vbs = [multiply_mask(vb.astype(dtype, copy=False), mb, dtype)
               for (_, vb), (_, mb) in zip(vec, pairs)]
        _, _, deltas = backward_pass(Ws, acts, gates, dout, res)
        RgW, Rgb = r_pass(xp, Ws, acts, gates, deltas, p, vWs, vbs, res, loss, t,
                           acts[0].shape[-2])
        out = masked_grads(RgW, Rgb, pairs, dtype)
    if check_values:
        check_results(xp, [a for pair in out for a in pair], "the Hessian-vector product",
                       overflow_culprits(loss, "vec"))
    return out


def grad_and_weight_hvp(params: Any, X: Any, y: Any, masks: Any, *, loss: str,
                        temperature: float, residual: Any, check_values: bool) -> tuple:
    """Loss, gradient g (all params) and ``P H_WW P g_W`` over the weights only (for GraSP).

    One forward and one backward pass are shared by both products.  Returns
    ``(loss, grads, hg)`` with ``hg`` one weight-shaped array per layer.

    Examples
    --------
    >>> p = init_mlp((3, 4, 2), 1, seed=0, backend="numpy", dtype=np.float64)
    >>> _, g, hg = grad_and_weight_hvp(p, np.ones((5, 3)), np.array([0, 1, 1, 0, 1]), None,
    ...                                loss="cross_entropy", temperature=1.0, residual=False,
    ...                                check_values=True)
    >>> [h.shape for h in hg]
    [(1, 3, 4), (1, 4, 2)]
    """
    with value_guard(check_values):
        xp, dtype, res, pairs, Ws, acts, gates, value, dout, p, t = _evaluate(
            params, X, y, masks, loss, temperature, residual, check_values)
        gW, gb, deltas = backward_pass(Ws, acts, gates, dout, res)
        grads = masked_grads(gW, gb, pairs, dtype)
        vWs = [multiply_mask(g, mW, dtype) for (g, _), (mW, _) in zip(grads, pairs)]
        vbs = [xp.zeros_like(b) for _, b in params]
        RgW, _ = r_pass(xp, Ws, acts, gates, deltas, p, vWs, vbs, res, loss, t,
                         acts[0].shape[-2])
        hg = [multiply_mask(r, mW, dtype) for r, (mW, _) in zip(RgW, pairs)]
    if check_values:
        check_results(xp, [value] + [a for pair in grads for a in pair] + hg,
                       "the gradient or its Hessian product", overflow_culprits(loss))
    return value, grads, hg


def predict(params: Any, X: Any, masks: Any = None, *, residual: Any = False,
            check_values: bool = True) -> Any:
    """Predicted class ids ``argmax(logits)``, shape ``(B, n)`` (integers).

    For regression use :func:`forward`.

    Examples
    --------
    >>> p = init_mlp((2, 3), 1, seed=0, backend="numpy")
    >>> predict(p, np.ones((4, 2), np.float32)).shape
    (1, 4)
    """
    return forward(params, X, masks, residual=residual, check_values=check_values).argmax(axis=2)


def accuracy(params: Any, X: Any, y: Any, masks: Any = None, *, residual: Any = False,
             check_values: bool = True) -> Any:
    """Fraction of samples classified correctly, per model, shape ``(B,)``.

    Examples
    --------
    >>> p = init_mlp((2, 3), 3, seed=0, backend="numpy")
    >>> accuracy(p, np.ones((4, 2), np.float32), np.zeros(4, int)).shape
    (3,)
    """
    with value_guard(check_values):
        xp, n_models, dtype, sizes, res, pairs, X = _setup(params, X, masks, residual,
                                                           check_values)
        y = check_y(y, "cross_entropy", n_models, X.shape[-2], sizes[-1], dtype, check_values)
        Ws = [multiply_mask(W, mW, dtype) for (W, _), (mW, _) in zip(params, pairs)]
        bs = [multiply_mask(b, mb, dtype) for (_, b), (_, mb) in zip(params, pairs)]
        z = forward_pass(Ws, bs, X, res)[2]
    if check_values:
        check_results(xp, [z], "the logits", ("params", "X"))
    pred = z.argmax(axis=2)
    return (pred == (y[None, :] if y.ndim == 1 else y)).mean(axis=1)
