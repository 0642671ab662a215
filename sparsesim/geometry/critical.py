"""Critical points of a smooth function from its gradient and Hessian-vector products.

:func:`find_critical_point` refines a start ``x0`` to a point where the
gradient vanishes, by Newton-MR (Roosta, Liu, Xu and Mahoney, 2018/2022):
each step solves ``min_d ‖H d + g‖`` by MINRES (``scipy.sparse.linalg.minres``
on a :class:`scipy.sparse.linalg.LinearOperator` of the Hessian-vector
product) and takes the longest step ``α ∈ {1, 1/2, 1/4, ...}`` with the Armijo
decrease of ``φ(x) = ½‖∇f(x)‖²``.  Because ``∇φ = H g`` and the MINRES
residual ``r = −g − H d`` is orthogonal to ``H d``,
``⟨∇φ, d⟩ = ⟨g, H d⟩ = −‖H d‖² ≤ 0``: the direction always descends ``φ``,
whatever the signs of ``H``'s eigenvalues.  Unlike a descent method on ``f``
it therefore converges to critical points of any index — saddles as well as
minima — namely the one whose basin of ``φ`` holds ``x0``.  When MINRES finds
no useful direction (``‖H d‖`` negligible, ``g`` in the near-null space), the
step falls back to steepest descent on ``φ``, ``d = −H g``.

:func:`classify_critical_point` turns ``‖∇f‖``, the extreme Hessian
eigenvalues and a length scale into ``"saddle"``, ``"minimum"`` or
``"not critical"`` (rule and justification in its docstring).

The functions work on flat NumPy float64 vectors (the MINRES solver is
SciPy's); the callables may compute on any device as long as they take and
return NumPy vectors.

Examples
--------
>>> import numpy as np
>>> grad = lambda z: np.array([z[0] ** 3 - z[0], z[1]])        # f = x⁴/4 − x²/2 + y²/2
>>> hvp = lambda z, v: np.array([(3 * z[0] ** 2 - 1) * v[0], v[1]])
>>> r = find_critical_point(grad, hvp, np.array([0.2, 0.4]), gtol=1e-12)
>>> bool(r.converged), bool(np.allclose(r.x, 0.0, atol=1e-10))
(True, True)
>>> r = find_critical_point(grad, hvp, np.array([0.8, -0.4]), gtol=1e-12)
>>> bool(np.allclose(r.x, [1.0, 0.0], atol=1e-10))
True
>>> classify_critical_point(1e-9, -1.0, 1.0, 1.0)
'saddle'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._validation import check_int, check_real

__all__ = ["CriticalPoint", "find_critical_point", "classify_critical_point",
           "CLASSIFICATIONS"]

#: The labels of :func:`classify_critical_point`.
CLASSIFICATIONS = ("saddle", "minimum", "not critical")


@dataclass
class CriticalPoint:
    """What :func:`find_critical_point` returns.

    Attributes
    ----------
    x : ndarray
        The last iterate.
    grad_norm : float
        ``‖∇f(x)‖`` (Euclidean).
    converged : bool
        ``grad_norm <= gtol``.
    n_iter : int
        Newton-MR steps taken.
    n_hvp : int
        Hessian-vector products used (MINRES, line search checks, fall-backs).
    n_grad : int
        Gradient evaluations.
    history : list of float
        ``‖∇f‖`` at the start and after every step.
    n_fallback : int
        Steps that fell back to steepest descent on ``½‖∇f‖²``.
    """

    x: np.ndarray
    grad_norm: float
    converged: bool
    n_iter: int
    n_hvp: int
    n_grad: int
    history: list = field(default_factory=list)
    n_fallback: int = 0


def _as_vector(name: str, v: Any, dim: int | None = None) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1 or a.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-d vector; got shape {a.shape}")
    if dim is not None and a.size != dim:
        raise ValueError(f"{name} must have {dim} entries; got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite; got non-finite entries")
    return a


def find_critical_point(grad: Callable[[np.ndarray], Any],
                        hvp: Callable[[np.ndarray, np.ndarray], Any], x0: Any, *,
                        gtol: float = 1e-10, max_iter: int = 200, minres_maxiter: int = 200,
                        minres_rtol: float = 1e-10, armijo: float = 1e-4,
                        max_halvings: int = 40, method: str = "newton-mr",
                        damping: float = 1e-3) -> CriticalPoint:
    """Refine ``x0`` to a critical point of ``f`` (any index) by Newton-MR.

    Parameters stay: the problem (``grad``, ``hvp``, ``x0``) and the solver's independent
    tolerances and limits, keyword-only with defaults, as in ``scipy.optimize.minimize``'s
    options.

    Parameters
    ----------
    grad : callable
        ``grad(x) -> ∇f(x)``, flat vectors.
    hvp : callable
        ``hvp(x, v) -> ∇²f(x) v``.
    x0 : array_like, 1-d
        Start (copied, float64).
    gtol : float
        Stop when ``‖∇f‖ <= gtol`` (absolute), ``gtol >= 0``.
    max_iter : int
        Most Newton-MR steps, ``>= 0``.
    minres_maxiter : int
        Most MINRES iterations per step (Hessian-vector products), ``>= 1``.
    minres_rtol : float
        MINRES relative residual tolerance, in (0, 1).
    armijo : float
        Sufficient-decrease constant ``ρ`` of the line search on
        ``φ = ½‖∇f‖²``, in (0, 1/2).
    max_halvings : int
        Most step halvings per line search; a step that finds no decrease
        ends the run (``converged`` then says whether ``gtol`` was met).
        For ``"levenberg-marquardt"``: most successive rejected steps.
    method : {"newton-mr", "levenberg-marquardt"}
        ``"newton-mr"`` as in the module notes.  ``"levenberg-marquardt"``:
        the Gauss–Newton model of ``φ`` (its residual is ``g``, its Jacobian
        ``H``) with damping ``μ``: ``d = −(H² + μ I)⁻¹ H g`` by conjugate
        gradients (``minres_maxiter`` iterations of two products each),
        accepted when ``φ`` decreases, ``μ`` divided by 3 after a good step
        (actual/predicted decrease > 3/4), doubled after a poor one (< 1/4)
        and quadrupled after a rejected one.  Near-null directions of ``H``
        (``|λ| ≪ √μ``) then get short gradient-like steps instead of the huge
        Newton components ``c_i/λ_i`` that stall the line search of Newton-MR
        at points where ``∇f`` has a component along a near-zero eigenvalue.
    damping : float
        Initial ``μ`` relative to ``‖H g‖/‖g‖`` squared (``> 0``);
        Levenberg–Marquardt only.

    Returns
    -------
    CriticalPoint

    Raises
    ------
    ValueError
        ``x0`` not a finite 1-d vector, a parameter out of range, or ``grad`` /
        ``hvp`` returning a vector of the wrong size or non-finite values.

    Examples
    --------
    A quadratic is solved in one step, whatever its inertia:

    >>> A = np.diag([2.0, -1.0, 0.5])
    >>> r = find_critical_point(lambda x: A @ x - 1.0, lambda x, v: A @ v, np.zeros(3))
    >>> r.n_iter, bool(np.allclose(A @ r.x, 1.0))
    (1, True)
    """
    from scipy.sparse.linalg import LinearOperator, minres  # noqa: PLC0415

    x = _as_vector("x0", x0).copy()
    d = x.size
    gtol = check_real("gtol", gtol, low=0.0)
    max_iter = check_int("max_iter", max_iter, low=0)
    minres_maxiter = check_int("minres_maxiter", minres_maxiter, low=1)
    minres_rtol = check_real("minres_rtol", minres_rtol, low=0.0, high=1.0, low_open=True,
                             high_open=True)
    armijo = check_real("armijo", armijo, low=0.0, high=0.5, low_open=True, high_open=True)
    max_halvings = check_int("max_halvings", max_halvings, low=0)
    if method not in ("newton-mr", "levenberg-marquardt"):
        raise ValueError(f"method must be 'newton-mr' or 'levenberg-marquardt'; got {method!r}")
    damping = check_real("damping", damping, low=0.0, low_open=True)
    counts = {"hvp": 0, "grad": 0}

    def G(z):
        counts["grad"] += 1
        return _as_vector("grad(x)", grad(z), d)

    def Hv(z, v):
        counts["hvp"] += 1
        return _as_vector("hvp(x, v)", hvp(z, v), d)

    g = G(x)
    gn2 = float(g @ g)
    history = [float(np.sqrt(gn2))]
    n_iter = n_fallback = 0
    if method == "levenberg-marquardt":
        x, g, gn2, n_iter = _levenberg_marquardt(G, Hv, x, g, gn2, history, gtol, max_iter,
                                                 minres_maxiter, minres_rtol, max_halvings,
                                                 damping)
    while method == "newton-mr" and n_iter < max_iter and np.sqrt(gn2) > gtol:
        xk = x
        op = LinearOperator((d, d), matvec=lambda v: Hv(xk, np.ravel(v)), dtype=np.float64)
        step, _ = minres(op, -g, rtol=minres_rtol, maxiter=minres_maxiter)
        Hd = Hv(x, step)
        slope = -float(Hd @ Hd)             # ⟨∇φ, d⟩ = ⟨g, H d⟩ = −‖H d‖² (MINRES)
        if not np.isfinite(slope) or -slope <= 1e-12 * gn2:
            # MINRES found no direction that moves the gradient: steepest descent on φ.
            step = -Hv(x, g)
            slope = -float(step @ step)
            n_fallback += 1
            if -slope == 0.0:
                break
        alpha = 1.0
        accepted = False
        for _ in range(max_halvings + 1):
            x_new = x + alpha * step
            g_new = G(x_new)
            gn2_new = float(g_new @ g_new)
            if 0.5 * gn2_new <= 0.5 * gn2 + armijo * alpha * slope:
                accepted = True
                break
            alpha *= 0.5
        n_iter += 1
        if not accepted:
            break
        x, g, gn2 = x_new, g_new, gn2_new
        history.append(float(np.sqrt(gn2)))
    gnorm = float(np.sqrt(gn2))
    return CriticalPoint(x=x, grad_norm=gnorm, converged=bool(gnorm <= gtol), n_iter=n_iter,
                         n_hvp=counts["hvp"], n_grad=counts["grad"], history=history,
                         n_fallback=n_fallback)


def _levenberg_marquardt(G, Hv, x, g, gn2, history, gtol, max_iter, cg_maxiter, cg_rtol,
                         max_rejects, damping):
    """Levenberg–Marquardt on ``φ = ½‖g‖²`` (see :func:`find_critical_point`)."""
    from scipy.sparse.linalg import LinearOperator, cg  # noqa: PLC0415

    d = x.size
    Hg = Hv(x, g)
    mu = damping * float(Hg @ Hg) / max(gn2, 1e-300)
    n_iter = rejects = 0
    while n_iter < max_iter and np.sqrt(gn2) > gtol and rejects <= max_rejects:
        xk = x
        def normal(v, xk=xk, muk=mu):
            v = np.ravel(v)
            return Hv(xk, Hv(xk, v)) + muk * v

        op = LinearOperator((d, d), matvec=normal, dtype=np.float64)
        step, _ = cg(op, -Hg, rtol=cg_rtol, maxiter=cg_maxiter)
        Hd = Hv(x, step)
        r = g + Hd
        pred = 0.5 * gn2 - 0.5 * float(r @ r)
        x_new = x + step
        g_new = G(x_new)
        gn2_new = float(g_new @ g_new)
        actual = 0.5 * gn2 - 0.5 * gn2_new
        n_iter += 1
        ratio = actual / pred if pred > 0 else -1.0
        if ratio > 0 and actual > 0:
            x, g, gn2 = x_new, g_new, gn2_new
            Hg = Hv(x, g)
            history.append(float(np.sqrt(gn2)))
            rejects = 0
            mu = mu / 3.0 if ratio > 0.75 else (mu * 2.0 if ratio < 0.25 else mu)
        else:
            rejects += 1
            mu *= 4.0
        if mu == 0.0 or not np.isfinite(mu):
            break
    return x, g, gn2, n_iter


def classify_critical_point(grad_norm: float, lambda_min: float, lambda_max: float,
                            length_scale: float, *, curvature_rtol: float = 1e-3,
                            step_rtol: float = 1e-3) -> str:
    """``"saddle"``, ``"minimum"`` or ``"not critical"``.

    **The rule.** Let ``τ = curvature_rtol · max(|λ_max|, |λ_min|)`` (the curvature below
    which an eigenvalue counts as zero, relative to the spectrum's scale) and
    ``κ = max(|λ_min|, τ)`` (the smallest curvature the point is judged by).

    * *critical* when ``‖∇f‖ <= step_rtol · κ · ℓ`` with ``ℓ = length_scale``;
    * a critical point is a *saddle* when ``λ_min < −τ``, otherwise a
      *minimum* (no eigenvalue below ``−τ``).

    Why this form: ``‖∇f‖`` has units of ``f / x`` and ``λ`` of ``f / x²``, so
    ``‖∇f‖ / κ`` is a length — the Newton step, which bounds the distance
    from the point to the exact critical point of the local quadratic model
    along the unstable direction (the offset ``⟨g, u⟩ / |λ_min|`` along the
    eigenvector ``u``).  The rule asks this distance to be a small fraction
    ``step_rtol`` of the problem's length scale ``ℓ`` (for a network, the
    root-mean-square parameter ``‖θ‖/√d``): the point and the exact critical
    point are then indistinguishable at the scale of the parameters, and
    curvature that changes by ``O(ρ ‖∇f‖ / κ)`` (``ρ`` the Hessian's Lipschitz
    constant) keeps its sign.  The comparison is invariant under rescaling
    ``f`` (both sides scale alike) and ``x`` (with ``ℓ``).  ``‖∇f‖ <= 0.01·|λ_min|``
    without ``ℓ`` would not be.

    Parameters
    ----------
    grad_norm : float
        ``‖∇f‖ >= 0``.
    lambda_min, lambda_max : float
        Smallest and largest Hessian eigenvalue, ``lambda_min <= lambda_max``.
    length_scale : float
        ``ℓ > 0``.
    curvature_rtol, step_rtol : float
        In (0, 1).

    Raises
    ------
    ValueError
        A value out of range, or ``lambda_min > lambda_max``.

    Examples
    --------
    >>> classify_critical_point(1e-9, -0.5, 2.0, 1.0)
    'saddle'
    >>> classify_critical_point(1e-9, 0.1, 2.0, 1.0)
    'minimum'
    >>> classify_critical_point(1e-2, -0.5, 2.0, 1.0)    # Newton step 0.02 > 1e-3
    'not critical'
    """
    grad_norm = check_real("grad_norm", grad_norm, low=0.0)
    lambda_min = check_real("lambda_min", lambda_min)
    lambda_max = check_real("lambda_max", lambda_max)
    if lambda_min > lambda_max:
        raise ValueError(f"lambda_min must be <= lambda_max; got {lambda_min} > {lambda_max}")
    length_scale = check_real("length_scale", length_scale, low=0.0, low_open=True)
    curvature_rtol = check_real("curvature_rtol", curvature_rtol, low=0.0, high=1.0,
                                low_open=True, high_open=True)
    step_rtol = check_real("step_rtol", step_rtol, low=0.0, high=1.0, low_open=True,
                           high_open=True)
    tau = curvature_rtol * max(abs(lambda_max), abs(lambda_min))
    kappa = max(abs(lambda_min), tau)
    if not grad_norm <= step_rtol * kappa * length_scale:
        return "not critical"
    return "saddle" if lambda_min < -tau else "minimum"
