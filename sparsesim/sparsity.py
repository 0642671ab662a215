"""Masks, density, the ℓ0 budget and the exact sparse projections.

Every function here is a pure array function that works unchanged on NumPy and
CuPy arrays (the result lives on the input's device) and is batched over
leading axes where that makes sense.

Tie rule
--------
``best_k_term`` keeps *exactly* ``k`` entries.  When several entries share the
k-th largest magnitude, the ones with the **lowest index** are kept (index in
row-major order of the flattened array for ``axis=None``, position along the
axis otherwise).  The rule is implemented with integer counting (a cumulative
sum over the tied entries), not with a sort, so NumPy and CuPy give identical
masks for identical inputs.  ``-0.0`` and ``0.0`` have equal magnitude.
``group_best_q`` applies the same rule to group norms (lowest label wins).

Examples
--------
>>> import numpy as np
>>> import sparsesim as ss
>>> w = np.array([0.5, -2.0, 0.5, 1.0])
>>> ss.best_k_term(w, 2)[1]
array([False,  True, False,  True])
>>> ss.best_k_term(w, 3)[1]          # the tie at 0.5 goes to the lower index
array([ True,  True, False,  True])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import check_array, check_choice, check_int, check_real, check_same_shape
from .backend import namespace_of

__all__ = [
    "apply_mask",
    "density",
    "l0_norm",
    "best_k_term",
    "prune_to_density",
    "magnitude_threshold",
    "group_best_q",
    "group_labels",
    "neuron_groups",
    "keep_count",
]


# --------------------------------------------------------------------------- helpers

_MAX_LABELS = 2**31  # entries of a label array group_labels / neuron_groups may build

def _check_weights(name: str, w: Any, *, min_size: int = 1) -> Any:
    return check_array(name, w, finite=True, min_size=min_size, kinds="iuf")


def _check_mask(mask: Any, w: Any) -> Any:
    """Validate a mask (bool, or numeric containing only 0 and 1) shaped like ``w``."""
    check_array("mask", mask, finite=True, kinds="biuf")
    check_same_shape("mask", mask, "w", w)
    if mask.dtype.kind != "b":
        xp = namespace_of(mask)
        if mask.size and not bool(xp.all((mask == 0) | (mask == 1))):
            bad = mask[(mask != 0) & (mask != 1)].reshape(-1)[:1]
            raise ValueError("mask must be boolean or contain only 0 and 1; "
                             f"found {bad.tolist()[0]!r}")
        mask = mask != 0
    return mask


def _zeros_like_scalar(xp, w):
    return xp.zeros((), dtype=w.dtype)


def _normalize_axis(axis: Any, ndim: int) -> int | None:
    if axis is None:
        return None
    axis = check_int("axis", axis, low=-ndim, high=ndim - 1) if ndim else None
    if axis is None:
        raise ValueError("axis must be None for a 0-dimensional array")
    return axis % ndim


def _magnitude(xp, w: Any) -> Any:
    """|w| in a dtype that can hold it: signed integers come back unsigned."""
    a = xp.abs(w)
    if w.dtype.kind == "i":  # abs(iinfo.min) wraps to iinfo.min; as unsigned it is right
        a = a.view(np.dtype(f"u{w.dtype.itemsize}"))
    return a


def _topk_mask_rows(a: Any, k: int) -> Any:
    """Boolean mask of the ``k`` largest entries of each row of 2-D ``a``.

    Exactly ``k`` per row; ties at the k-th largest value go to lower columns.
    ``a`` must be free of NaN.  O(n) per row (partition + cumulative count).
    """
    xp = namespace_of(a)
    m, n = a.shape
    if k == 0:
        return xp.zeros((m, n), dtype=bool)
    if k == n:
        return xp.ones((m, n), dtype=bool)
    kth = xp.partition(a, n - k, axis=1)[:, n - k:n - k + 1]  # k-th largest, (m, 1)
    keep = a >= kth
    excess = xp.sum(keep, axis=1) - k  # tied entries beyond the budget (>= 0)
    rows = xp.nonzero(excess)[0]
    if rows.size:  # only rows with surplus ties need the rank count
        sub, th = a[rows], kth[rows]
        greater = sub > th
        tied = sub == th
        need = k - xp.sum(greater, axis=1, keepdims=True)
        rank = xp.cumsum(tied, axis=1, dtype=xp.int32 if n < 2**31 else xp.int64)
        keep[rows] = greater | (tied & (rank <= need))
    return keep


# --------------------------------------------------------------------------- basics

def apply_mask(w: Any, mask: Any) -> Any:
    """Return ``w ⊙ mask``: entries where the mask is 0/False become 0.

    Parameters
    ----------
    w : array
        Weights (any real dtype), NumPy or CuPy.
    mask : array
        Boolean, or numeric containing only 0 and 1, with the shape of ``w``.

    Returns
    -------
    array
        Same shape and dtype as ``w``.

    Raises
    ------
    ValueError
        If the shapes differ, the mask holds values other than 0/1, or ``w``
        holds NaN/inf.

    Examples
    --------
    >>> apply_mask(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
    array([1., 0., 3.])
    """
    _check_weights("w", w, min_size=0)
    mask = _check_mask(mask, w)
    xp = namespace_of(w, mask)
    return xp.where(mask, w, _zeros_like_scalar(xp, w))


def l0_norm(x: Any, axis: int | None = None) -> Any:
    """Number of non-zero entries (the ℓ0 pseudo-norm ‖x‖₀).

    Parameters
    ----------
    x : array
    axis : int or None
        ``None`` counts over the whole array and returns a Python int;
        an int counts along that axis and returns an integer array.

    Examples
    --------
    >>> l0_norm(np.array([[0.0, 1.0], [2.0, 3.0]]))
    3
    >>> l0_norm(np.array([[0.0, 1.0], [2.0, 3.0]]), axis=1)
    array([1, 2])
    """
    check_array("x", x, finite=False, kinds="biuf")
    xp = namespace_of(x)
    if axis is None:
        return int(xp.count_nonzero(x))
    axis = _normalize_axis(axis, x.ndim)
    return xp.count_nonzero(x, axis=axis)


def density(x: Any) -> float:
    """Fraction of non-zero entries, ρ = ‖x‖₀ / n (the seed article's density).

    Raises ``ValueError`` for an empty array (density is undefined).

    Examples
    --------
    >>> density(np.array([0.0, 1.5, 0.0, -2.0]))
    0.5
    """
    check_array("x", x, finite=False, min_size=1, kinds="biuf")
    return l0_norm(x) / x.size


def keep_count(density: float, n: int) -> int:
    """Entries kept at a target density: ``floor(density * n + 1/2)``.

    Round half up (not Python's half-to-even).  Floating-point products that
    land within 1e-9 below a half point count as the half point, so densities
    written as decimals or fractions round as written: ``0.3 * 10`` is
    ``2.9999999999999996`` in floating point but counts as 3, and
    ``(1/6) * 3`` rounds up to 1.  (Consequently a density within 1e-9/n below
    a half point, such as ``0.4999999999`` with ``n = 1``, also rounds up.)

    Examples
    --------
    >>> keep_count(0.25, 10)      # 2.5 rounds up
    3
    >>> keep_count(0.3, 10)
    3
    """
    density = check_real("density", density, low=0.0, high=1.0)
    n = check_int("n", n, low=0)
    return min(n, int(math.floor(density * n + 0.5 + 1e-9)))


# --------------------------------------------------------------------------- projections

def best_k_term(w: Any, k: int, *, axis: int | None = None) -> tuple[Any, Any]:
    """Exact ℓ0 projection: keep the ``k`` entries of largest magnitude.

    Solves ``min_u ‖u − w‖₂ subject to ‖u‖₀ ≤ k``.  The minimiser keeps the k
    largest ``|w_i|`` and zeroes the rest (magnitude pruning); its squared error is
    the sum of the n − k smallest w_i².

    Parameters
    ----------
    w : array
        Real weights, NumPy or CuPy, free of NaN/inf.
    k : int
        Entries to keep, ``0 <= k <= n`` where n is the size of the pruned
        vector (``w.size`` for ``axis=None``, ``w.shape[axis]`` otherwise).
    axis : int or None
        ``None`` treats the whole array as one vector; an int prunes each 1-D
        slice along that axis independently (batched over all other indices).

    Returns
    -------
    pruned : array
        ``w`` with all but the kept entries set to zero (same shape and dtype).
    mask : array of bool
        True where an entry is kept; exactly ``k`` per pruned vector.

    Raises
    ------
    TypeError
        If ``k`` is not an integer or ``w`` is not a real array.
    ValueError
        If ``k`` is outside ``[0, n]``, ``w`` is empty or holds NaN/inf.

    Notes
    -----
    Ties at the k-th largest magnitude are broken toward the lower index (see
    the module notes); the rule is identical on NumPy and CuPy.

    Examples
    --------
    >>> w = np.array([[3.0, -1.0, 2.0], [0.1, 0.2, -0.3]])
    >>> pruned, mask = best_k_term(w, 1, axis=1)
    >>> pruned
    array([[ 3. ,  0. ,  0. ],
           [ 0. ,  0. , -0.3]])
    >>> int(best_k_term(w, 4)[1].sum())
    4
    """
    _check_weights("w", w)
    axis = _normalize_axis(axis, w.ndim)
    n = w.size if axis is None else w.shape[axis]
    k = check_int("k", k, low=0, high=n)
    xp = namespace_of(w)
    a = _magnitude(xp, w)
    if axis is None:
        mask = _topk_mask_rows(a.reshape(1, -1), k).reshape(w.shape)
    else:
        moved = xp.moveaxis(a, axis, -1)
        rows = moved.reshape(-1, n)
        mask = xp.moveaxis(_topk_mask_rows(rows, k).reshape(moved.shape), -1, axis)
    return xp.where(mask, w, _zeros_like_scalar(xp, w)), mask


def prune_to_density(w: Any, density: float, *, axis: int | None = None) -> tuple[Any, Any]:
    """Keep a fraction ``density`` of the entries, by magnitude.

    Keeps ``k = keep_count(density, n) = floor(density·n + 0.5)`` entries
    (round half up) with :func:`best_k_term`.

    Examples
    --------
    >>> pruned, mask = prune_to_density(np.array([1.0, -4.0, 2.0, 3.0]), 0.5)
    >>> pruned
    array([ 0., -4.,  0.,  3.])
    """
    _check_weights("w", w)
    ax = _normalize_axis(axis, w.ndim)
    n = w.size if ax is None else w.shape[ax]
    return best_k_term(w, keep_count(density, n), axis=ax)


def magnitude_threshold(w: Any, t: float) -> tuple[Any, Any]:
    """Keep the entries with ``|w| > t`` (strictly) — the event in the seed's formula.

    Parameters
    ----------
    w : array
    t : float
        Threshold, ``t >= 0`` and finite.

    Examples
    --------
    >>> magnitude_threshold(np.array([0.5, -1.0, 1.5]), 1.0)[1]
    array([False, False,  True])
    """
    _check_weights("w", w, min_size=0)
    t = check_real("t", t, low=0.0)
    xp = namespace_of(w)
    a = _magnitude(xp, w)
    if w.dtype.kind == "f":
        if t > float(np.finfo(w.dtype).max):
            mask = xp.zeros(w.shape, dtype=bool)
        else:
            t_w = w.dtype.type(t)  # nearest value of w's dtype
            mask = (a >= t_w) if float(t_w) > t else (a > t_w)
    else:
        t_int = math.floor(t)  # |w| > t  <=>  |w| > floor(t) for integers
        if t_int >= int(np.iinfo(a.dtype).max):
            mask = xp.zeros(w.shape, dtype=bool)
        else:
            mask = a > a.dtype.type(t_int)
    return xp.where(mask, w, _zeros_like_scalar(xp, w)), mask


def group_best_q(w: Any, groups: Any, q: int) -> tuple[Any, Any]:
    """Structured pruning: keep the ``q`` groups of largest ℓ2 norm.

    The exact projection onto the group-ℓ0 constraint
    ``Σ_j ‖w_{G_j}‖₂⁰ ≤ q`` for non-overlapping groups: the squared error of
    keeping a set Q of groups is ‖w‖² − Σ_{j∈Q} ‖w_{G_j}‖², minimised by the q
    largest group norms.

    Parameters
    ----------
    w : array
        Real weights.
    groups : integer array
        Group labels ``0 .. G−1`` (G = ``groups.max() + 1``, below ``2**63``;
        a label with no member is an empty group of norm 0, so labels need not
        be dense: the work and memory depend only on the labels present).
        Either shaped like ``w``, or like
        the trailing ``groups.ndim`` axes of ``w`` — then each index of the
        leading axes (e.g. the model axis of a ``(n_models, fan_in, fan_out)``
        tensor) is pruned independently with the same labels.
    q : int
        Groups to keep, ``0 <= q <= G``.

    Returns
    -------
    pruned, mask : arrays shaped like ``w``

    Notes
    -----
    Ties between equal group norms go to the lower label.  Group norms are
    accumulated in float64 with ``bincount``; CuPy adds in a non-deterministic
    order, so on the GPU two groups whose norms agree to the last bit may
    break their tie differently from run to run (never on NumPy).  Each
    problem (batch row) is first divided by the power of two nearest its
    largest ``|w|`` (an exact scaling that preserves every comparison), so
    squared norms neither overflow (``|w|`` up to the float64 maximum) nor
    underflow for tiny weights; only groups whose norm is below about
    ``1e-154`` times the largest ``|w|`` of their problem compare as 0.

    Examples
    --------
    >>> w = np.array([1.0, 1.0, 0.0, 3.0, 0.1, 0.1])
    >>> labels = group_labels(6, 2)          # [0 0 1 1 2 2]
    >>> group_best_q(w, labels, 1)[0]
    array([0., 0., 0., 3., 0., 0.])
    """
    _check_weights("w", w)
    check_array("groups", groups, finite=False, kinds="iu", min_size=1)
    if groups.ndim > w.ndim or tuple(w.shape[w.ndim - groups.ndim:]) != tuple(groups.shape):
        raise ValueError(f"groups must have the shape of w {tuple(w.shape)} or of its "
                         f"trailing axes; got {tuple(groups.shape)}")
    xp = namespace_of(w, groups)
    if int(groups.min()) < 0:
        raise ValueError(f"groups must hold labels >= 0; got minimum {int(groups.min())}")
    n_groups = int(groups.max()) + 1
    if n_groups > 2**63:
        raise ValueError(f"groups must hold labels below 2**63; got maximum {n_groups - 1}")
    q = check_int("q", q, low=0, high=n_groups)
    n = groups.size
    rows = w.reshape(-1, n)
    m = rows.shape[0]
    labels = groups.reshape(-1).astype(xp.int64)
    # Norms are tabulated only for the labels present (U <= n columns); when labels
    # 0..G-1 all occur, the labels are the columns.
    dense = n_groups <= n and bool(xp.all(xp.bincount(labels, minlength=n_groups) > 0))
    if dense:
        present, column, n_cols = None, labels, n_groups
    else:
        present, column = xp.unique(labels, return_inverse=True)
        column = column.reshape(-1)
        n_cols = int(present.size)
    flat = (column[None, :] + n_cols * xp.arange(m, dtype=xp.int64)[:, None]).reshape(-1)
    rows = rows.astype(xp.float64)
    top = xp.max(xp.abs(rows), axis=1, keepdims=True)
    _, exponent = xp.frexp(xp.where(top > 0, top, 1.0))   # top = f 2**e, f in [1/2, 1)
    sq = (xp.ldexp(rows, -exponent) ** 2).reshape(-1)     # exact: |w| 2**-e <= 1
    norms = xp.bincount(flat, weights=sq, minlength=m * n_cols).reshape(m, n_cols)
    keep_groups = _topk_mask_rows(norms, min(q, n_cols))
    if not dense:
        # Absent labels are groups of norm 0.  The order is (norm descending, label
        # ascending): every positive group comes first, then all zero-norm groups,
        # present or not, by label, so a present zero-norm group with label L has
        # rank P + (L - P_<L) (P positive groups, P_<L of them with a lower label).
        positive = norms > 0
        n_pos = xp.sum(positive, axis=1, keepdims=True)
        below = xp.cumsum(positive, axis=1) - positive
        rank = n_pos + present[None, :] - below
        keep_groups = (keep_groups & positive) | (~positive & (rank < q))
    mask = keep_groups[:, column].reshape(w.shape)
    return xp.where(mask, w, _zeros_like_scalar(xp, w)), mask


def group_labels(n: int, size: int, *, backend_like: Any = None) -> Any:
    """Labels of contiguous groups: ``[0]*size + [1]*size + ...`` (length ``n``).

    ``n`` must be a multiple of ``size`` and at most ``2**31`` (an int64
    array of 16 GiB).  Pass ``backend_like=array`` to get the labels on that
    array's device.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, including an ``n`` whose labels cannot be allocated.

    Examples
    --------
    >>> group_labels(6, 3)
    array([0, 0, 0, 1, 1, 1])
    """
    n = check_int("n", n, low=1, high=_MAX_LABELS)
    size = check_int("size", size, low=1, high=n)
    if n % size:
        raise ValueError(f"n must be a multiple of size={size}; got n={n}")
    xp = namespace_of(backend_like)
    try:
        return xp.arange(n, dtype=xp.int64) // size
    except MemoryError:
        raise ValueError(f"n={n} labels do not fit in memory; choose a smaller n") from None


def neuron_groups(shape: tuple[int, ...], kind: str = "out", *, backend_like: Any = None) -> Any:
    """Group labels that make whole neurons the units of structured pruning.

    For a weight matrix ``W`` of shape ``(..., fan_in, fan_out)`` (``x @ W``
    convention, leading axes e.g. the model axis):

    - ``kind="out"``: label = output unit j (column ``W[..., :, j]``, all the
      weights entering neuron j) — pruning a group removes that neuron;
    - ``kind="in"``: label = input unit i (row ``W[..., i, :]``, all the weights
      leaving neuron i).

    The labels have shape ``(fan_in, fan_out)`` and are shared by every leading
    index, so :func:`group_best_q` prunes each model independently;
    ``fan_in * fan_out`` may not exceed ``2**31``.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, including a label array too large to allocate.

    Examples
    --------
    >>> neuron_groups((2, 3), "out")
    array([[0, 1, 2],
           [0, 1, 2]])
    >>> w = np.array([[[1.0, 0.0], [1.0, 5.0]], [[9.0, 0.0], [0.0, 1.0]]])  # 2 models
    >>> group_best_q(w, neuron_groups(w.shape), 1)[1]
    array([[[False,  True],
            [False,  True]],
    <BLANKLINE>
           [[ True, False],
            [ True, False]]])
    """
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise ValueError(f"shape must be a tuple of at least 2 ints (..., fan_in, fan_out); got {shape!r}")
    for i, n in enumerate(shape[:-2]):
        check_int(f"shape[{i}]", n, low=1)
    fan_in = check_int("shape[-2]", shape[-2], low=1)
    fan_out = check_int("shape[-1]", shape[-1], low=1)
    check_choice("kind", kind, ("out", "in"))
    if fan_in * fan_out > _MAX_LABELS:
        raise ValueError(f"shape: fan_in * fan_out = {fan_in} * {fan_out} labels exceed the "
                         f"{_MAX_LABELS} allowed; got shape {tuple(shape)!r}")
    xp = namespace_of(backend_like)
    try:
        if kind == "out":
            return xp.broadcast_to(xp.arange(fan_out, dtype=xp.int64),
                                   (fan_in, fan_out)).copy()
        return xp.broadcast_to(xp.arange(fan_in, dtype=xp.int64)[:, None],
                               (fan_in, fan_out)).copy()
    except MemoryError:
        raise ValueError(f"shape {tuple(shape)!r}: {fan_in * fan_out} labels do not fit in "
                         "memory") from None
