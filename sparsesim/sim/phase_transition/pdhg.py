"""Basis pursuit by a batched first-order method (PDHG), for the GPU.

``min ||z||_1`` subject to ``A z = y`` for a batch of problems along the
leading axis, by the primal-dual hybrid gradient method of Chambolle and Pock
(the method of PDLP / cuPDLP) on the saddle problem
``min_z max_lam ||z||_1 + <lam, A z - y>``:

    z'   = soft(z - tau A^T lam, tau)             (prox of tau ||.||_1)
    lam' = lam + sigma (A (2 z' - z) - y)

with ``tau = omega / L`` and ``sigma = 1 / (omega L)``, ``L`` an upper bound on
``||A||_2`` per problem (power iteration, then 1.02 times it), so ``tau sigma
L^2 < 1``, and the primal weight ``omega`` fixed (:data:`PRIMAL_WEIGHT`).
Every array operation is batched and uses the namespace of ``A`` (NumPy or
CuPy); problems that have converged leave the batch.

Stopping, per problem, every :data:`CHECK_EVERY` iterations: the relative
primal residual ``||A z - y|| / ||y||`` and the relative change of ``z`` over
the last check both at most ``tol``, or ``max_iter``.

**Polish.**  A first-order iterate is accurate to about ``tol``, not to the
``1e-8`` of HiGHS' vertex.  Where the iterate has at most ``m`` entries above
``polish_rel * max|z|``, least squares on that support (and ``0`` elsewhere)
replaces it when its residual is below ``1e-9 ||y||`` and its l1 norm is not
larger than the iterate's by more than ``tol`` (relative) -- it is then the
basis-pursuit vertex the iterate converges to, to rounding.  The success rule
of the sweep (``||x_hat - x|| / ||x|| <= 1e-4``) is applied to the result.

This is an approximation of basis pursuit: its success decisions are checked
against HiGHS on the same problems (``tests/test_phase_transition.py``,
``benchmarks/bench_l1_pdhg.py``), and the disagreements are a measured error
rate, stated with the numbers.  On a CPU, HiGHS stays the solver of the sweep.

Examples
--------
>>> from sparsesim.sim.phase_transition import draw_problems, relative_error
>>> A, x, y = draw_problems(3, 4, d=60, m=30, k=4, backend="numpy")
>>> res = basis_pursuit_pdhg(A, y)
>>> bool((relative_error(res.x, x) <= 1e-8).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._validation import check_array, check_int, check_real
from ...backend import namespace_of, to_numpy
from .result import SolveResult

__all__ = ["basis_pursuit_pdhg", "pdhg_reference", "PRIMAL_WEIGHT", "CHECK_EVERY"]

#: Primal weight omega: tau = omega / L, sigma = 1 / (omega L).
PRIMAL_WEIGHT = 1.0
#: Iterations between convergence checks (each check is one host sync on a GPU).
CHECK_EVERY = 50
_POWER_STEPS = 30
_NORM_MARGIN = 1.02


def _mv(A, x):
    return (A @ x[..., None])[..., 0]


def _rmv(A, r):
    return (r[..., None, :] @ A)[..., 0, :]


def _soft(v, t):
    xp = namespace_of(v)
    return xp.sign(v) * xp.maximum(xp.abs(v) - t, 0.0)


def _op_norm(A):
    """Per-problem upper estimate of ||A||_2 (power iteration on A^T A)."""
    xp = namespace_of(A)
    T, _, d = A.shape
    v = xp.ones((T, d), dtype=A.dtype) / math.sqrt(d)
    s = xp.ones(T, dtype=A.dtype)
    for _ in range(_POWER_STEPS):
        w = _rmv(A, _mv(A, v))
        s = xp.linalg.norm(w, axis=-1)
        v = w / s[:, None]
    return _NORM_MARGIN * xp.sqrt(s)


def check_system(A, y) -> tuple[int, int, int]:
    """Check a batch of systems ``A (trials, m, d)``, ``y (trials, m)``; return ``(T, m, d)``."""
    check_array("A", A, ndim=3, min_size=1, kinds="f")
    check_array("y", y, ndim=2, kinds="f")
    T, m, d = (int(s) for s in A.shape)
    if tuple(y.shape) != (T, m):
        raise ValueError(f"y must have shape (trials, m) = {(T, m)} to match A; "
                         f"got {tuple(y.shape)}")
    return T, m, d


def _check(A, y, max_iter, tol, polish_rel):
    check_system(A, y)
    check_int("max_iter", max_iter, low=1)
    check_real("tol", tol, low=0.0, low_open=True, high=1.0)
    check_real("polish_rel", polish_rel, low=0.0, high=1.0)


def _polish(A, y, z, tol, polish_rel):
    """Least squares on the iterate's large entries, where that is the better vertex."""
    xp = namespace_of(A)
    T, m, d = A.shape
    big = xp.abs(z) > polish_rel * xp.max(xp.abs(z), axis=-1, keepdims=True)
    count = xp.sum(big, axis=-1)
    kmax = int(min(m, d))
    ok = (count >= 1) & (count <= kmax)
    k = int(to_numpy(xp.max(xp.where(ok, count, 0))))
    if k == 0:
        return z
    # the k-column support of every row: its large entries first (padded by the next)
    order = xp.argsort(-(xp.abs(z) * (1.0 + big)), axis=-1)[:, :k]
    keep = xp.take_along_axis(big, order, axis=-1)
    As = xp.take_along_axis(A, xp.broadcast_to(order[:, None, :], (T, m, k)), axis=2)
    As = As * keep[:, None, :]
    At = xp.swapaxes(As, 1, 2)
    gram = At @ As + xp.eye(k, dtype=A.dtype) * (~keep)[:, :, None]
    sol = xp.linalg.solve(gram, At @ y[..., None])[..., 0] * keep
    cand = xp.zeros_like(z)
    cand[xp.arange(T)[:, None], order] = sol
    res = xp.linalg.norm(_mv(A, cand) - y, axis=-1) / xp.linalg.norm(y, axis=-1)
    l1_c, l1_z = xp.sum(xp.abs(cand), axis=-1), xp.sum(xp.abs(z), axis=-1)
    better = ok & (res <= 1e-9) & (l1_c <= l1_z * (1.0 + tol)) & xp.isfinite(l1_c)
    return xp.where(better[:, None], cand, z)


def basis_pursuit_pdhg(A: Any, y: Any, *, max_iter: int = 20000, tol: float = 1e-6,
                       polish_rel: float = 1e-3, omega: float = PRIMAL_WEIGHT,
                       polish: bool = True):
    """``min ||z||_1`` s.t. ``A z = y`` for every problem of the batch, by PDHG.

    Parameters
    ----------
    A : array (T, m, d)
    y : array (T, m)
    max_iter : int
        Iterations at most (per problem).
    tol : float
        Relative primal residual and relative step at which a problem stops.
    polish_rel : float
        Entries above ``polish_rel * max|z|`` form the polishing support
        (0: no polishing threshold, every nonzero entry).
    omega : float
        Primal weight (``tau = omega / L``, ``sigma = 1 / (omega L)``).
    polish : bool
        Replace a converged iterate by least squares on its support where that
        is the better vertex (see the module notes).

    Returns
    -------
    SolveResult
        ``x`` (T, d) in the namespace of ``A``; ``iterations`` per problem.

    Raises
    ------
    TypeError, ValueError
        Arrays of the wrong shape or kind, or an argument out of range.
    """
    _check(A, y, max_iter, tol, polish_rel)
    omega = check_real("omega", omega, low=0.0, low_open=True)
    if not isinstance(polish, bool):
        raise TypeError(f"polish must be a bool; got {type(polish).__name__}")
    xp = namespace_of(A)
    T, m, d = (int(s) for s in A.shape)
    L = _op_norm(A)
    tau_all, sigma_all = (omega / L)[:, None], (1.0 / (omega * L))[:, None]
    ynorm_all = xp.linalg.norm(y, axis=-1)
    out = xp.zeros((T, d), dtype=A.dtype)
    iters = np.zeros(T, dtype=np.int64)
    idx = xp.arange(T)
    Ab, yb, tau, sigma, ynorm = A, y, tau_all, sigma_all, ynorm_all
    z = xp.zeros((T, d), dtype=A.dtype)
    lam = xp.zeros((T, m), dtype=A.dtype)
    z_check = z
    for it in range(1, max_iter + 1):
        z_new = _soft(z - tau * _rmv(Ab, lam), tau)
        lam = lam + sigma * (_mv(Ab, 2.0 * z_new - z) - yb)
        z = z_new
        if it % CHECK_EVERY and it != max_iter:
            continue
        res = xp.linalg.norm(_mv(Ab, z) - yb, axis=-1) / ynorm
        scale = xp.maximum(xp.linalg.norm(z, axis=-1), 1e-300)
        step = xp.linalg.norm(z - z_check, axis=-1) / scale
        done = ((res <= tol) & (step <= tol)) | ~xp.isfinite(res)
        if it == max_iter:
            done = xp.ones_like(done)
        z_check = z
        if bool(done.any()):
            sel = idx[done]
            out[sel] = _polish(Ab[done], yb[done], z[done], tol, polish_rel) if polish \
                else z[done]
            iters[to_numpy(sel)] = it
            keep = ~done
            Ab, yb, tau, sigma, ynorm = Ab[keep], yb[keep], tau[keep], sigma[keep], ynorm[keep]
            z, lam, z_check, idx = z[keep], lam[keep], z_check[keep], idx[keep]
            if int(idx.shape[0]) == 0:
                break
    return SolveResult(out, iters)


def pdhg_reference(A: np.ndarray, y: np.ndarray, iterations: int, *,
                   omega: float = PRIMAL_WEIGHT) -> np.ndarray:
    """The plain float64 twin: one problem, ``iterations`` PDHG steps, no stopping rule,
    no polish (``A`` of shape (m, d); the step sizes from the same power iteration).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(10, 20)) / 10 ** 0.5
    >>> z = pdhg_reference(A, A[:, 0].copy(), 3000)
    >>> bool(np.abs(z - np.eye(20)[0]).max() < 1e-6)
    True
    """
    A = np.asarray(A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    L = float(_op_norm(A[None])[0])
    tau, sigma = omega / L, 1.0 / (omega * L)
    z = np.zeros(A.shape[1])
    lam = np.zeros(A.shape[0])
    for _ in range(iterations):
        v = z - tau * (A.T @ lam)
        z_new = np.sign(v) * np.maximum(np.abs(v) - tau, 0.0)
        lam = lam + sigma * (A @ (2.0 * z_new - z) - y)
        z = z_new
    return z
