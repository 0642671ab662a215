"""Linear mode connectivity: the error along the segment between two trained networks.

Frankle et al. (2020) call two networks *linearly mode connected* when the
error does not rise along ``(1 − α) θ_A + α θ_B``, ``α ∈ [0, 1]``; the
*barrier* is the rise above the mean endpoint error.  Both work on batches of
B networks (model ``i`` of A with model ``i`` of B) on NumPy or CuPy.

Examples
--------
>>> error_barrier(np.array([[0.1, 0.5, 0.2]]))
array([0.35])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import check_array, check_int, check_real
from ..backend import host_array, namespace_of, to_numpy
from . import mlp

__all__ = ["interpolation_errors", "error_barrier"]


def interpolation_errors(params_a: Sequence, params_b: Sequence, X: Any, y: Any,
                         alphas: Sequence[float], *, masks: Any = None,
                         residual: Any = False, max_models: int = 256) -> np.ndarray:
    """Classification error of ``(1 − α) θ_A + α θ_B`` for every model and ``α``.

    Parameters
    ----------
    params_a, params_b : list of (W, b)
        Two batches of B networks of one architecture and dtype (model ``i``
        of A is paired with model ``i`` of B); finite.
    X, y : arrays
        Evaluation data (``(n, n_in)`` and class ids ``(n,)`` in
        ``[0, n_out)``).
    alphas : sequence of float
        Interpolation weights in [0, 1].
    masks : None or list
        Masks shaped like the parameters (applied to every interpolant).
    residual : bool or sequence of int
    max_models : int
        Interpolants evaluated per forward pass (bounds memory), ``>= 1``.

    Returns
    -------
    ndarray, shape (B, len(alphas))
        Error ``1 − accuracy``.

    Raises
    ------
    TypeError, ValueError
        Malformed arguments (named in the message), or logits that overflow
        the parameters' dtype.

    Examples
    --------
    >>> from sparsesim.nn import init_mlp
    >>> a = init_mlp((3, 4, 2), 2, seed=0, backend="numpy", dtype=np.float64)
    >>> X, y = np.ones((5, 3)), np.zeros(5, int)
    >>> e = interpolation_errors(a, a, X, y, [0.0, 0.5, 1.0])
    >>> e.shape, bool((e == e[:, :1]).all())          # identical endpoints: flat path
    ((2, 3), True)
    """
    al = _check_alphas(alphas)
    xp, B, dtype = mlp.check_params(params_a, check_values=True, name="params_a")
    mlp.check_params(params_b, check_values=True, name="params_b")
    if [tuple(W.shape) for W, _ in params_a] != [tuple(W.shape) for W, _ in params_b]:
        raise ValueError("params_a and params_b must have the same architecture and batch size")
    if params_b[0][0].dtype != dtype:
        raise TypeError(f"params_b must have the dtype {dtype} of params_a; "
                        f"got {params_b[0][0].dtype}")
    xp = namespace_of(params_a[0][0], params_b[0][0])
    sizes = mlp.layer_sizes(params_a)
    mlp.residual_layers(sizes, residual)
    mlp.mask_pairs(masks, params_a, check_values=True)
    if getattr(X, "ndim", 2) != 2:
        raise ValueError(f"X must have shape (n, n_in); got shape {tuple(X.shape)}")
    X = mlp.check_X(X, B, sizes[0], dtype, True)
    y = mlp.check_y(y, "cross_entropy", B, X.shape[0], sizes[-1], dtype, True)
    if y.ndim != 1:
        raise ValueError(f"y must have shape ({X.shape[0]},) (class ids of X); "
                         f"got {tuple(y.shape)}")
    namespace_of(params_a[0][0], X, y)
    max_models = check_int("max_models", max_models, low=1)
    n_al = al.size
    err = np.empty((B, n_al))
    per = max(1, max_models // n_al)
    for s in range(0, B, per):
        idx = slice(s, min(B, s + per))
        nb = idx.stop - idx.start
        a_w = xp.asarray(al.astype(dtype))
        inter = []
        for (Wa, ba), (Wb, bb) in zip(params_a, params_b):
            Wa_, Wb_ = Wa[idx][:, None], Wb[idx][:, None]
            ba_, bb_ = ba[idx][:, None], bb[idx][:, None]
            W = (1 - a_w)[None, :, None, None] * Wa_ + a_w[None, :, None, None] * Wb_
            b = (1 - a_w)[None, :, None] * ba_ + a_w[None, :, None] * bb_
            inter.append((W.reshape((nb * n_al,) + W.shape[2:]),
                          b.reshape((nb * n_al,) + b.shape[2:])))
        m = None
        if masks is not None:
            m = []
            for entry in masks:
                if entry is None:
                    m.append(None)
                    continue
                pair = entry if isinstance(entry, (list, tuple)) else (entry, None)
                m.append(tuple(None if a is None else
                               xp.repeat(a[idx], n_al, axis=0) for a in pair))
        with np.errstate(over="ignore", invalid="ignore"):
            z = mlp.forward(inter, X, m, residual=residual, check_values=False)
        if not bool(xp.isfinite(z).all()):
            raise ValueError("the logits of the interpolated networks overflowed to inf/NaN "
                             f"(the range of {dtype} was exceeded); reduce the scale of "
                             "params_a, params_b or X")
        acc = (z.argmax(axis=2) == y[None, :]).mean(axis=1)
        err[idx] = 1.0 - to_numpy(acc).reshape(nb, n_al)
    return err


def _check_alphas(alphas: Any) -> np.ndarray:
    """Interpolation weights as a non-empty 1-D float64 host array in [0, 1]."""
    if hasattr(alphas, "dtype") and hasattr(alphas, "shape"):
        check_array("alphas", alphas, finite=True, kinds="biuf")
        al = to_numpy(alphas).astype(np.float64)
    elif isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence):
        raise TypeError(f"alphas must be a sequence of interpolation weights in [0, 1]; "
                        f"got {type(alphas).__name__}")
    else:
        al = np.array([check_real(f"alphas[{i}]", a) for i, a in enumerate(alphas)],
                      dtype=np.float64)
    if al.ndim != 1 or al.size < 1 or np.any(al < 0) or np.any(al > 1):
        raise ValueError(f"alphas must be a non-empty 1-D sequence in [0, 1]; got {alphas!r}")
    return al


def error_barrier(errors: np.ndarray) -> np.ndarray:
    """``max_α err(α) − (err(0) + err(1)) / 2`` along the last axis (α ascending from 0 to 1).

    Parameters
    ----------
    errors : array, shape (..., n_alphas)
        Error rates in [0, 1] (NumPy or CuPy array, or a nested sequence),
        at least one per path.

    Raises
    ------
    TypeError, ValueError
        ``errors`` not real, 0-d, with an empty last axis, or outside [0, 1].

    Examples
    --------
    >>> error_barrier(np.array([[0.1, 0.5, 0.2], [0.2, 0.2, 0.2]]))
    array([0.35, 0.  ])
    """
    e = host_array("errors", errors, "an array of error rates")
    check_array("errors", e, finite=True, min_ndim=1, kinds="biuf")
    if e.shape[-1] < 1:
        raise ValueError(f"errors must hold at least one error per path (last axis); "
                         f"got shape {e.shape}")
    e = e.astype(np.float64)
    if e.size and (np.any(e < 0) or np.any(e > 1)):
        raise ValueError("errors must be error rates in [0, 1]")
    return e.max(axis=-1) - 0.5 * (e[..., 0] + e[..., -1])
