"""Recovery of a k-sparse x from y = A x: problem draws and batched solvers.

Every solver works on a batch of problems along the leading axis --
``A`` of shape ``(T, m, d)``, ``y`` of shape ``(T, m)`` -- and runs the same
code on NumPy and CuPy (the namespace is that of ``A``).  The projection step
of the iterative algorithms is :func:`sparsesim.best_k_term` along the last
axis: keep the ``k`` largest magnitudes of every row (magnitude pruning).

* :func:`iht` -- iterative hard thresholding with a fixed step ``mu``:
  ``x <- H_k(x + mu A^T (y - A x))``.
* :func:`niht` -- normalised IHT (Blumensath and Davies 2010): the step is
  ``||g_S||^2 / ||A g_S||^2`` on the current support ``S``, halved
  (``kappa (1 - c)`` at a time, ``c = 0.01``, ``kappa = 2``) while the support
  changes and the step exceeds ``(1 - c) ||x' - x||^2 / ||A (x' - x)||^2``.
* :func:`htp` -- hard thresholding pursuit (Foucart 2011): the support of
  ``H_k(x + A^T (y - A x))``, then least squares on it; stops when the support
  repeats.
* :func:`one_shot_thresholding` -- the ``k`` largest ``|A^T y|`` (one-shot
  magnitude pruning of the back-projection), then least squares on that
  support (stated: without the least-squares step no ``x`` with entries other
  than those of ``A^T y`` could be recovered exactly).
* :func:`basis_pursuit` -- ``min ||z||_1`` subject to ``A z = y`` by
  ``scipy.optimize.linprog`` (HiGHS), one problem at a time on the CPU.  A
  first-order solver needs thousands of iterations to approach HiGHS' vertex;
  :func:`sparsesim.sim.phase_transition.pdhg.basis_pursuit_pdhg` (``"l1_pdhg"``)
  is one, batched for the GPU and polished to the vertex, whose success
  decisions are checked against HiGHS on the same problems.

Success is ``||x_hat - x||_2 / ||x||_2 <= SUCCESS_TOL = 1e-4``: a recovered
problem is solved to about ``1e-8`` or better (the iterations stop at a
relative residual of ``1e-10``; HiGHS returns a vertex with feasibility
tolerance ``1e-7``), while a failure near the transition is off by ``1e-2``
or more, so the threshold sits in the wide gap between the two and does not
move the measured transition.

Iterations stop per problem when the relative residual ``||y - A x|| / ||y||``
is at most ``tol`` (``1e-10``), when it has not fallen by 1 % over the last
``50`` iterations (stalled: a failure), when it exceeds ``1e6`` or is not
finite (diverged: a failure), or at ``max_iter``.  Stopped problems
are dropped from the batch, so the work follows the active problems.

Examples
--------
>>> A, x, y = draw_problems(0, 4, d=64, m=32, k=3, nonzeros="sign", backend="numpy")
>>> A.shape, x.shape, y.shape
((4, 32, 64), (4, 64), (4, 32))
>>> res = niht(A, y, 3)
>>> bool((relative_error(res.x, x) <= SUCCESS_TOL).all())
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._validation import check_choice, check_int, check_real
from ...backend import BACKENDS, get_namespace, make_rng, namespace_of, resolve_backend, \
    seed_sequence, to_numpy
from ...sparsity import best_k_term
from ...backend import child_seed
from .pdhg import basis_pursuit_pdhg, check_system
from .result import SolveResult

__all__ = [
    "ALGORITHMS",
    "NONZEROS",
    "SUCCESS_TOL",
    "SolveResult",
    "check_sizes",
    "draw_problems",
    "relative_error",
    "iht",
    "niht",
    "htp",
    "one_shot_thresholding",
    "basis_pursuit",
    "solve",
]

#: Algorithm names, in the order of the tables ("l1_pdhg": basis pursuit by the batched
#: first-order solver of :mod:`.pdhg`, for the GPU; "l1" is HiGHS).
ALGORITHMS = ("l1", "iht", "niht", "htp", "thresh", "l1_pdhg")
#: Distributions of the nonzeros of x: random signs, or standard Gaussian.
NONZEROS = ("sign", "gauss")
#: Success threshold on ||x_hat - x|| / ||x|| (see the module notes).
SUCCESS_TOL = 1e-4

_STALL_WINDOW = 50
_STALL_FACTOR = 0.99
_CHECK_EVERY = 10
_DIVERGED = 1e6           # relative residual beyond which a run has diverged
_NIHT_C = 0.01
_NIHT_KAPPA = 2.0
_NIHT_MAX_SHRINK = 30


def check_sizes(d: Any, m: Any, k: Any) -> tuple[int, int, int]:
    """Check ``1 <= k <= m <= d`` (naming the argument) and return them as ints.

    Examples
    --------
    >>> check_sizes(10, 20, 1)
    Traceback (most recent call last):
    ...
    ValueError: m must be in [1, 10]; got 20
    """
    d = check_int("d", d, low=1)
    m = check_int("m", m, low=1, high=d)
    k = check_int("k", k, low=1, high=m)
    return d, m, k


def draw_problems(seed: Any, trials: int, *, d: int, m: int, k: int, nonzeros: str = "sign",
                  backend: str = "auto", first: int = 0) -> tuple[Any, Any, Any]:
    """``trials`` problems ``(A, x, y)``, problem ``i`` from child ``first + i`` of ``seed``.

    ``A`` has i.i.d. ``N(0, 1/m)`` entries, ``x`` a uniformly random support of
    size ``k`` with ``±1`` (``nonzeros="sign"``) or ``N(0, 1)``
    (``"gauss"``) values, and ``y = A x``.  Because every problem has its own
    seed, a batch equals the concatenation of its problems drawn one by one.

    Examples
    --------
    >>> A, x, y = draw_problems(1, 3, d=20, m=10, k=2, backend="numpy")
    >>> A2, x2, y2 = draw_problems(1, 1, d=20, m=10, k=2, backend="numpy", first=2)
    >>> bool((A[2] == A2[0]).all() and (y[2] == y2[0]).all())
    True
    """
    d, m, k = check_sizes(d, m, k)
    trials = check_int("trials", trials, low=1)
    first = check_int("first", first, low=0)
    check_choice("nonzeros", nonzeros, NONZEROS)
    check_choice("backend", backend, BACKENDS)
    backend = resolve_backend(backend)
    xp = get_namespace(backend)
    root = seed_sequence(seed)
    As, xs = [], []
    scale = 1.0 / math.sqrt(m)
    for i in range(first, first + trials):
        rng = make_rng(child_seed(root, i), backend)
        A = rng.normal((m, d)) * scale
        support = xp.argsort(rng.uniform((d,)))[:k]
        if nonzeros == "sign":
            vals = 1.0 - 2.0 * rng.integers(2, (k,)).astype(xp.float64)
        else:
            vals = rng.normal((k,))
        x = xp.zeros(d, dtype=xp.float64)
        x[support] = vals
        As.append(A)
        xs.append(x)
    A = xp.stack(As)
    x = xp.stack(xs)
    return A, x, _mv(A, x)


def relative_error(x_hat: Any, x: Any) -> Any:
    """Per-row ``||x_hat - x||_2 / ||x||_2`` (NaN rows of ``x_hat`` give NaN)."""
    xp = namespace_of(x)
    return xp.linalg.norm(x_hat - x, axis=-1) / xp.linalg.norm(x, axis=-1)


def _mv(A, x):
    return (A @ x[..., None])[..., 0]


def _rmv(A, r):
    return (r[..., None, :] @ A)[..., 0, :]


def _check_inputs(A, y, k, max_iter, tol):
    T, m, d = check_system(A, y)
    k = check_int("k", k, low=1, high=m)
    max_iter = check_int("max_iter", max_iter, low=1)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    return k, max_iter, tol


class _Batch:
    """Active-problem bookkeeping for the iterative solvers."""

    def __init__(self, A, y):
        self.xp = namespace_of(A)
        xp = self.xp
        T, _, d = A.shape
        self.A, self.y = A, y
        self.idx = xp.arange(T)
        self.ynorm = xp.linalg.norm(y, axis=-1)
        self.x_out = xp.zeros((T, d), dtype=A.dtype)
        self.iters = np.zeros(T, dtype=np.int64)
        self.history: list[Any] = []

    def check(self, it: int, x, tol: float, final: bool = False):
        """Store and drop finished problems; returns the mask of those kept."""
        xp = self.xp
        rel = xp.linalg.norm(self.y - _mv(self.A, x), axis=-1) / self.ynorm
        done = (rel <= tol) | ~(rel <= _DIVERGED)  # NaN/inf or diverging: a failure
        lag = _STALL_WINDOW // _CHECK_EVERY
        self.history.append(rel)
        if len(self.history) > lag:
            done |= rel > _STALL_FACTOR * self.history[-1 - lag]
        if final:
            done = xp.ones_like(done)
        if bool(done.any()):
            sel = self.idx[done]
            self.x_out[sel] = x[done]
            self.iters[to_numpy(sel)] = it
        keep = ~done
        self.A, self.y, self.ynorm, self.idx = (self.A[keep], self.y[keep], self.ynorm[keep],
                                                self.idx[keep])
        self.history = [h[keep] for h in self.history[-lag:]]
        return keep

    @property
    def empty(self) -> bool:
        return int(self.idx.shape[0]) == 0


def iht(A: Any, y: Any, k: int, *, step: float = 0.65, max_iter: int = 1000,
        tol: float = 1e-10) -> SolveResult:
    """Iterative hard thresholding with a fixed step, batched over the leading axis.

    ``x_0 = 0``, ``x_{t+1} = best_k_term(x_t + step * A^T (y - A x_t), k, axis=-1)``.

    Parameters
    ----------
    A : array (T, m, d)
    y : array (T, m)
    k : int
        Sparsity, ``1 <= k <= m``.
    step : float
        Fixed step ``> 0``.  ``A`` has ``N(0, 1/m)`` entries (unit-norm columns
        on average) but ``||A||^2 ~ (1 + sqrt(d/m))^2 > 1``, so ``step = 1``
        diverges well below the transition; the default ``0.65`` was chosen by
        a pilot at ``d = 400, m = 200`` (steps 0.5 / 0.65 / 0.8: 0.65 recovered
        the most at ``k/m = 0.2``).  Fixed-step IHT is sensitive to this
        choice, which is the point of :func:`niht`.
    max_iter : int
    tol : float
        Relative-residual stopping tolerance ``> 0``.

    Examples
    --------
    >>> A, x, y = draw_problems(3, 2, d=100, m=50, k=4, backend="numpy")
    >>> bool((relative_error(iht(A, y, 4).x, x) < 1e-6).all())
    True
    """
    k, max_iter, tol = _check_inputs(A, y, k, max_iter, tol)
    step = check_real("step", step, low=0.0, low_open=True)
    b = _Batch(A, y)
    x = b.xp.zeros(b.x_out.shape, dtype=A.dtype)
    for it in range(1, max_iter + 1):
        x, _ = best_k_term(x + step * _rmv(b.A, b.y - _mv(b.A, x)), k, axis=-1)
        if it % _CHECK_EVERY == 0 or it == max_iter:
            x = x[b.check(it, x, tol, final=it == max_iter)]
            if b.empty:
                break
    return SolveResult(b.x_out, b.iters)


def niht(A: Any, y: Any, k: int, *, max_iter: int = 1000, tol: float = 1e-10) -> SolveResult:
    """Normalised iterative hard thresholding (Blumensath and Davies 2010), batched.

    ``x_0 = 0`` with support ``S_0`` that of ``best_k_term(A^T y, k)``; each
    iteration takes ``g = A^T (y - A x)``, ``mu = ||g_S||^2 / ||A g_S||^2`` and
    ``x' = best_k_term(x + mu g, k)``; where the support of ``x'`` differs from
    ``S`` and ``mu > (1 - c) ||x' - x||^2 / ||A (x' - x)||^2``, ``mu`` is divided
    by ``kappa (1 - c)`` and ``x'`` recomputed (``c = 0.01``, ``kappa = 2``, at
    most 30 times).  Parameters as :func:`iht` (no step: it is adaptive).

    Examples
    --------
    >>> A, x, y = draw_problems(3, 2, d=100, m=50, k=10, backend="numpy")
    >>> bool((relative_error(niht(A, y, 10).x, x) < 1e-6).all())
    True
    """
    k, max_iter, tol = _check_inputs(A, y, k, max_iter, tol)
    b = _Batch(A, y)
    xp = b.xp
    x = xp.zeros(b.x_out.shape, dtype=A.dtype)
    _, supp = best_k_term(_rmv(A, y), k, axis=-1)
    for it in range(1, max_iter + 1):
        g = _rmv(b.A, b.y - _mv(b.A, x))
        gs = xp.where(supp, g, 0.0)
        num = xp.sum(gs * gs, axis=-1)
        Ags = _mv(b.A, gs)
        den = xp.sum(Ags * Ags, axis=-1)
        mu = xp.where(den > 0, num / xp.where(den > 0, den, 1.0), 1.0)
        x_new, supp_new = best_k_term(x + mu[:, None] * g, k, axis=-1)
        for _ in range(_NIHT_MAX_SHRINK):
            changed = xp.any(supp_new != supp, axis=-1)
            dx = x_new - x
            Adx = _mv(b.A, dx)
            adx2 = xp.sum(Adx * Adx, axis=-1)
            omega = (1.0 - _NIHT_C) * xp.sum(dx * dx, axis=-1) / xp.where(adx2 > 0, adx2, 1.0)
            shrink = changed & (mu > omega) & (adx2 > 0)
            if not bool(shrink.any()):
                break
            mu = xp.where(shrink, mu / (_NIHT_KAPPA * (1.0 - _NIHT_C)), mu)
            x_try, s_try = best_k_term(x + mu[:, None] * g, k, axis=-1)
            x_new = xp.where(shrink[:, None], x_try, x_new)
            supp_new = xp.where(shrink[:, None], s_try, supp_new)
        x, supp = x_new, supp_new
        if it % _CHECK_EVERY == 0 or it == max_iter:
            keep = b.check(it, x, tol, final=it == max_iter)
            x, supp = x[keep], supp[keep]
            if b.empty:
                break
    return SolveResult(b.x_out, b.iters)


def _ls_on_support(A, y, supp, k):
    """Least squares ``min ||y - A_S z||`` on each row's support (normal equations)."""
    xp = namespace_of(A)
    T, m, d = A.shape
    # the k kept positions of every row come first in an argsort of ~supp (any order)
    idx = xp.sort(xp.argsort((~supp).astype(xp.int8), axis=-1)[:, :k], axis=-1)
    As = xp.take_along_axis(A, xp.broadcast_to(idx[:, None, :], (T, m, k)), axis=2)
    At = xp.swapaxes(As, 1, 2)
    z = xp.linalg.solve(At @ As, (At @ y[..., None]))[..., 0]
    x = xp.zeros((T, d), dtype=A.dtype)
    x[xp.arange(T)[:, None], idx] = z
    return x


def htp(A: Any, y: Any, k: int, *, step: float = 1.0, max_iter: int = 1000,
        tol: float = 1e-10) -> SolveResult:
    """Hard thresholding pursuit (Foucart 2011), batched.

    ``S_{t+1}`` = support of ``best_k_term(x_t + step A^T (y - A x_t), k)``,
    ``x_{t+1} = argmin {||y - A z|| : supp z ⊆ S_{t+1}}`` (normal equations);
    a problem stops when its support repeats (Foucart's natural stopping
    rule), when its relative residual is at most ``tol``, or at ``max_iter``.

    Examples
    --------
    >>> A, x, y = draw_problems(3, 2, d=100, m=50, k=8, backend="numpy")
    >>> bool((relative_error(htp(A, y, 8).x, x) < 1e-8).all())
    True
    """
    k, max_iter, tol = _check_inputs(A, y, k, max_iter, tol)
    step = check_real("step", step, low=0.0, low_open=True)
    b = _Batch(A, y)
    xp = b.xp
    x = xp.zeros(b.x_out.shape, dtype=A.dtype)
    supp = xp.zeros(x.shape, dtype=bool)
    for it in range(1, max_iter + 1):
        _, supp_new = best_k_term(x + step * _rmv(b.A, b.y - _mv(b.A, x)), k, axis=-1)
        same = xp.all(supp_new == supp, axis=-1)
        x = _ls_on_support(b.A, b.y, supp_new, k)
        supp = supp_new
        rel = xp.linalg.norm(b.y - _mv(b.A, x), axis=-1) / b.ynorm
        done = same | (rel <= tol) | (it == max_iter)
        if bool(done.any()):
            sel = b.idx[done]
            b.x_out[sel] = x[done]
            b.iters[to_numpy(sel)] = it
            keep = ~done
            b.A, b.y, b.ynorm, b.idx = b.A[keep], b.y[keep], b.ynorm[keep], b.idx[keep]
            x, supp = x[keep], supp[keep]
            if b.empty:
                break
    return SolveResult(b.x_out, b.iters)


def one_shot_thresholding(A: Any, y: Any, k: int) -> SolveResult:
    """The support of the ``k`` largest ``|A^T y|``, then least squares on it.

    Examples
    --------
    >>> A, x, y = draw_problems(3, 2, d=100, m=80, k=2, backend="numpy")
    >>> bool((relative_error(one_shot_thresholding(A, y, 2).x, x) < 1e-8).all())
    True
    """
    k, _, _ = _check_inputs(A, y, k, 1, 1.0)
    _, supp = best_k_term(_rmv(A, y), k, axis=-1)
    return SolveResult(_ls_on_support(A, y, supp, k), np.ones(int(A.shape[0]), dtype=np.int64))


def basis_pursuit(A: Any, y: Any) -> SolveResult:
    """``min ||z||_1`` subject to ``A z = y`` for every problem (HiGHS, on the CPU).

    Written as the linear program ``min 1^T (u + v)``, ``A (u - v) = y``,
    ``u, v >= 0``, solved by ``scipy.optimize.linprog(method="highs")``; a
    problem HiGHS does not solve (status other than 0) gets a NaN row (counted
    as a failure).  ``iterations`` holds HiGHS' simplex/IPM iteration counts.

    Examples
    --------
    >>> A, x, y = draw_problems(3, 2, d=60, m=30, k=5, backend="numpy")
    >>> bool((relative_error(basis_pursuit(A, y).x, x) < 1e-6).all())
    True
    """
    from scipy.optimize import linprog  # noqa: PLC0415

    T, m, d = check_system(A, y)
    xp = namespace_of(A)
    An, yn = to_numpy(A), to_numpy(y)
    out = np.full((T, d), np.nan)
    iters = np.zeros(T, dtype=np.int64)
    c = np.ones(2 * d)
    for t in range(T):
        res = linprog(c, A_eq=np.hstack([An[t], -An[t]]), b_eq=yn[t], bounds=(0, None),
                      method="highs")
        if res.status == 0:
            out[t] = res.x[:d] - res.x[d:]
        iters[t] = int(getattr(res, "nit", 0) or 0)
    return SolveResult(xp.asarray(out), iters)


def solve(algorithm: str, A: Any, y: Any, k: int, *, step: float = 0.65,
          max_iter: int = 1000) -> SolveResult:
    """Dispatch to one of :data:`ALGORITHMS` (``step`` is used by ``iht`` only).

    Examples
    --------
    >>> A, x, y = draw_problems(0, 1, d=40, m=20, k=2, backend="numpy")
    >>> float(relative_error(solve("htp", A, y, 2).x, x)[0]) < 1e-8
    True
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    if algorithm == "l1":
        return basis_pursuit(A, y)
    if algorithm == "l1_pdhg":
        return basis_pursuit_pdhg(A, y)
    if algorithm == "iht":
        return iht(A, y, k, step=step, max_iter=max_iter)
    if algorithm == "niht":
        return niht(A, y, k, max_iter=max_iter)
    if algorithm == "htp":
        return htp(A, y, k, max_iter=max_iter)
    return one_shot_thresholding(A, y, k)
