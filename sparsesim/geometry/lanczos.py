"""Matrix-free masked Hessians and their extreme eigenvalues by Lanczos."""

from __future__ import annotations

import importlib
from typing import Any, Callable

import numpy as np

from .._validation import check_int, check_real
from ..backend import make_rng, namespace_of, to_numpy
from .checks import MAX_DENSE_FALLBACK, MAX_LANCZOS_ITER, active_indices, check_mask_for, \
    check_square_symmetric
from .spectrum import SpectrumSummary, condition_numbers, summarize_eigenvalues

__all__ = ["MaskedHessianOperator", "LanczosNotConverged", "check_lanczos_target",
           "lanczos_extremes"]



def _sparse_linalg_for(xp) -> Any:
    """``scipy.sparse.linalg`` for NumPy arrays, ``cupyx.scipy.sparse.linalg`` for CuPy.

    This is the one place outside :mod:`sparsesim.backend` that imports a
    CuPy-family module: ``cupyx`` ships with CuPy, and it is imported here
    only when the operator's arrays already are CuPy arrays (so CuPy is
    present and a device works); nothing CuPy is touched for NumPy input.
    """
    if xp is np:
        import scipy.sparse.linalg as spla  # noqa: PLC0415
        return spla
    if getattr(xp, "__name__", "") != "cupy":
        raise TypeError(f"arrays must be NumPy or CuPy arrays; got module {xp!r}")
    return importlib.import_module("cupyx.scipy.sparse.linalg")


class MaskedHessianOperator:
    """``P_m H P_m`` restricted to the active coordinates, as a mat-vec.

    Acts on vectors of length ``dim`` (the number of active coordinates) on
    the device of its arrays.  Build it with :meth:`from_matrix` (explicit
    ``H``) or :func:`sparsesim.nn.hessian.mlp_masked_hessian_operator` (exact Hessian-vector
    products of a network).

    Parameters
    ----------
    matvec : callable
        ``v (dim,) -> (H[S, S] v) (dim,)``.
    dim : int
        Active dimension.
    dtype : dtype
        Floating dtype of the vectors.
    xp : module
        ``numpy`` or ``cupy``.

    Attributes
    ----------
    n_matvec : int
        Products computed so far (each costs one Hessian-vector product).

    Examples
    --------
    >>> H = np.diag([1.0, 2.0, 3.0])
    >>> op = MaskedHessianOperator.from_matrix(H, np.array([True, False, True]))
    >>> op.shape, op.matvec(np.array([1.0, 1.0]))
    ((2, 2), array([1., 3.]))
    >>> op.to_dense()
    array([[1., 0.],
           [0., 3.]])
    """

    def __init__(self, matvec: Callable[[Any], Any], dim: int, dtype: Any, xp: Any):
        self._matvec = matvec
        self.dim = check_int("dim", dim, low=1)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"dtype must be float32 or float64 (the eigensolvers' types); "
                            f"got {self.dtype}")
        self.xp = xp
        self.n_matvec = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.dim, self.dim)

    @classmethod
    def from_matrix(cls, H: Any, mask: Any) -> "MaskedHessianOperator":
        """Operator of an explicit symmetric ``H`` (d, d) and mask (d,).

        Each product scatters ``v`` into the kept coordinates of a length-``d``
        vector, multiplies by ``H`` and gathers the kept coordinates back
        (``P_m H P_m v`` without forming the submatrix).
        """
        H = check_square_symmetric("H", H)
        if H.ndim != 2:
            raise ValueError(f"H must be one matrix (2 dimensions); got shape {tuple(H.shape)}")
        mask = check_mask_for(mask, H)
        if mask.ndim != 1:
            raise ValueError(f"mask must have shape ({H.shape[0]},); got {tuple(mask.shape)}")
        xp = namespace_of(H, mask)
        idx = active_indices(mask)
        d = H.shape[0]
        dtype = H.dtype if H.dtype.kind == "f" else np.float64
        Hf = H.astype(dtype)

        def matvec(v):
            full = xp.zeros(d, dtype=dtype)
            full[idx] = v
            return (Hf @ full)[idx]

        return cls(matvec, int(idx.shape[0]), dtype, xp)

    def matvec(self, v: Any) -> Any:
        """``H[S, S] @ v`` for ``v`` of shape (dim,) (or (dim, 1))."""
        shape = v.shape
        if v.size != self.dim:
            raise ValueError(f"v must have {self.dim} entries (the active dimension); "
                             f"got shape {tuple(shape)}")
        self.n_matvec += 1
        return self._matvec(v.reshape(self.dim).astype(self.dtype, copy=False)).reshape(shape)

    def matmat(self, V: Any) -> Any:
        """``H[S, S] @ V`` column by column (V of shape (dim, n))."""
        cols = [self.matvec(V[:, j]) for j in range(V.shape[1])]
        return self.xp.stack(cols, axis=1) if cols else self.xp.zeros((self.dim, 0), self.dtype)

    def to_dense(self) -> Any:
        """Materialise ``H[S, S]`` by ``dim`` products with unit vectors (small ``dim`` only)."""
        return self.matmat(self.xp.eye(self.dim, dtype=self.dtype))

    def as_linear_operator(self) -> Any:
        """A ``LinearOperator`` of SciPy (NumPy arrays) or ``cupyx`` (CuPy arrays)."""
        spla = _sparse_linalg_for(self.xp)
        return spla.LinearOperator(self.shape, matvec=self.matvec, dtype=self.dtype)


def _not_converged(exc: Exception, which: str, maxiter: Any, tol: float, k: int,
                   ncv: Any) -> Exception:
    """SciPy's ``ArpackNoConvergence`` re-raised as :class:`LanczosNotConverged`."""
    msg = (f"Lanczos (which={which!r}, k={k}) did not converge within maxiter="
           f"{'default' if maxiter is None else maxiter} (ncv={ncv}, tol={tol:g}): raise "
           f"maxiter, ncv or tol, or pass allow_unconverged=True ({exc})")
    cls = _lanczos_error_class(type(exc))
    return cls(msg, getattr(exc, "eigenvalues", np.zeros(0)),
               getattr(exc, "eigenvectors", np.zeros((0, 0))))


_LANCZOS_ERROR_CLASSES: dict[type, type] = {}


def _lanczos_error_class(base: type) -> type:
    """A subclass of both the solver's no-convergence error and ``ValueError``."""
    if base not in _LANCZOS_ERROR_CLASSES:
        _LANCZOS_ERROR_CLASSES[base] = type("LanczosNotConverged", (base, LanczosNotConverged), {
            "__doc__": LanczosNotConverged.__doc__, "__module__": __name__})
    return _LANCZOS_ERROR_CLASSES[base]


class LanczosNotConverged(ValueError):
    """Lanczos stopped at ``maxiter`` without converging (``allow_unconverged=False``).

    Raised by :func:`lanczos_extremes` as a subclass of both ``ValueError`` (the
    arguments ``maxiter``/``ncv``/``tol`` do not allow convergence) and SciPy's
    ``scipy.sparse.linalg.ArpackNoConvergence`` (whose ``eigenvalues`` it
    carries); catch either.
    """


class _SolverBreakdown(Exception):
    """Internal: the sparse eigensolver failed for a reason other than maxiter."""


def _dense_extremes(op: MaskedHessianOperator, rtol: float) -> SpectrumSummary:
    """All eigenvalues of a small operator, materialised by ``dim`` products."""
    n0 = op.n_matvec
    dense = op.to_dense()
    dense = 0.5 * dense + 0.5 * dense.T  # symmetrise without overflow
    ev = op.xp.linalg.eigvalsh(dense)
    s = summarize_eigenvalues(ev, rtol=rtol)
    return SpectrumSummary(s.lambda_max, s.lambda_min, s.n_negative, True,
                           s.condition_number, s.zero_tol, op.dim, ev, "dense", True,
                           op.n_matvec - n0)


def check_lanczos_target(op: Any) -> MaskedHessianOperator:
    if isinstance(op, MaskedHessianOperator):
        return op
    if hasattr(op, "shape") and hasattr(op, "dtype") and getattr(op, "ndim", 0) == 2:
        H = check_square_symmetric("op", op)
        xp = namespace_of(H)
        return MaskedHessianOperator.from_matrix(H, xp.ones(H.shape[0], dtype=bool))
    raise TypeError("op must be a MaskedHessianOperator or a square symmetric array; "
                    f"got {type(op).__name__}")


def _cupyx_eigsh_kwargs(k: int, m: int, ncv: int | None, maxiter: int | None) -> dict:
    """ARPACK's ``ncv``/``maxiter`` meaning in cupyx's terms.

    ARPACK (SciPy) counts ``maxiter`` in restarts (default ``10 m``); cupyx's
    thick-restart Lanczos counts Lanczos steps: ``ncv`` for the first cycle,
    then ``ncv - k`` per restart (default ``10 m`` steps in all).  ``maxiter``
    restarts are therefore ``ncv + maxiter * (ncv - k)`` cupyx steps, with
    cupyx's own default ``ncv = min(max(2k, k + 32), m - 1)``.

    Examples
    --------
    >>> _cupyx_eigsh_kwargs(4, 500, 36, 300)     # 300 restarts of 32 new vectors
    {'ncv': 36, 'maxiter': 9636}
    >>> _cupyx_eigsh_kwargs(1, 100, None, None)
    {'ncv': 33, 'maxiter': 32033}
    """
    ncv = min(max(2 * k, k + 32), m - 1) if ncv is None else min(max(ncv, k + 2), m - 1)
    restarts = 10 * m if maxiter is None else maxiter
    return {"ncv": ncv, "maxiter": ncv + restarts * (ncv - k)}


def _cupyx_eigsh_checked(spla: Any, op: Any, lin: Any, k: int, which: str, solver_tol: float,
                         scale: float, v0: Any, kwargs: dict) -> Any:
    """cupyx ``eigsh`` whose convergence is decided from the true residuals.

    cupyx never reports non-convergence: after ``maxiter`` steps it returns
    its current Ritz pairs.  Here the eigenvectors are requested and each
    pair is accepted when ``‖A v − λ v‖ ≤ tol`` (plus ``1e3 · eps · scale``
    of rounding, ``scale`` = the operator's estimated magnitude); otherwise
    SciPy's ``ArpackNoConvergence`` is raised carrying the accepted values,
    so that both backends report non-convergence the same way.
    """
    xp = op.xp
    vals, vecs = spla.eigsh(lin, k=k, which=which, tol=solver_tol, v0=v0,
                            return_eigenvectors=True, **kwargs)
    if not bool(xp.isfinite(vals).all()):
        return vals      # a breakdown: the caller's finiteness check reports it
    res = xp.linalg.norm(op.matmat(vecs) - vecs * vals[None, :], axis=0)
    ok = res <= solver_tol + 1e3 * float(np.finfo(op.dtype).eps) * scale
    if bool(ok.all()):
        return vals
    from scipy.sparse.linalg import ArpackNoConvergence  # noqa: PLC0415
    good = to_numpy(vals[ok]).astype(np.float64)
    raise ArpackNoConvergence(
        f"cupyx eigsh: {int(k - good.size)} of {k} Ritz pairs have residual "
        f"‖Av − λv‖ > {solver_tol:g} after {kwargs['maxiter']} Lanczos steps", good,
        to_numpy(vecs[:, ok]))


def lanczos_extremes(op: Any, k: int = 1, tol: float = 1e-6, *, maxiter: int | None = None,
                     ncv: int | None = None, seed: int = 0, rtol: float | None = None,
                     allow_unconverged: bool = False) -> SpectrumSummary:
    """The ``k`` largest and ``k`` smallest eigenvalues of a restricted Hessian, by Lanczos.

    NumPy: ``scipy.sparse.linalg.eigsh`` (ARPACK implicitly restarted Lanczos;
    ``tol`` is its relative accuracy on each eigenvalue).  CuPy:
    ``cupyx.scipy.sparse.linalg.eigsh`` (thick-restart Lanczos), whose ``tol``
    is an absolute bound on the residual norm; it is given
    ``tol * ‖A v‖/‖v‖`` for a random ``v`` (a root-mean-square eigenvalue, at
    most the spectral radius), so that the residual, and with it the
    eigenvalue error, is below ``tol`` relative to the spectrum's scale.
    Two runs: ``which="LA"`` then ``which="SA"``, from the same seeded start
    vector.  When the active dimension is too small for the iterative solver
    (``dim < k + 3``), the operator is materialised (``dim`` products) and
    solved densely (``method="dense"``, all eigenvalues, exact counts); so
    is an operator of dimension up to ``MAX_DENSE_FALLBACK`` on which the
    solver breaks down (ARPACK raises, cupyx returns NaN; e.g. the zero
    operator, whose Krylov space is trivial).

    Parameters
    ----------
    op : MaskedHessianOperator or array (m, m)
        The restricted Hessian (an explicit symmetric array is wrapped).
    k : int
        Eigenvalues wanted at each end, ``1 <= k <= dim``.
    tol : float
        Relative accuracy, in (0, 1).
    maxiter, ncv : int, optional
        Passed to ``eigsh``: ``1 <= maxiter <= MAX_LANCZOS_ITER`` (``2**31 - 1``,
        ARPACK's 32-bit counter), ``k + 2 <= ncv < dim``.
    seed : int
        Seed of the start vector (results are deterministic given the seed).
    rtol : float, optional
        Relative zero tolerance for the summary; default ``max(10 * tol, 1e-10)``.
    allow_unconverged : bool
        When the solver stops at ``maxiter`` (SciPy raises
        ``ArpackNoConvergence``): ``False`` raises it as
        :class:`LanczosNotConverged`, a ``ValueError`` that is also an
        ``ArpackNoConvergence``, naming ``maxiter``; ``True`` returns the
        eigenvalues that did converge (NaN where none did) with
        ``converged=False``.  On CuPy ``maxiter`` keeps ARPACK's meaning
        (restarts; scaled to cupyx's Lanczos-step count) and convergence is
        decided from the residuals ``‖A v − λ v‖ ≤ tol·scale`` of the
        returned Ritz pairs, since cupyx itself never reports it.

    Returns
    -------
    SpectrumSummary
        ``eigenvalues`` holds the ``k`` smallest then the ``k`` largest
        (ascending).  ``n_negative`` counts negatives among the ``k`` smallest
        (exact when fewer than ``k``; ``n_negative_exact`` says so).

    Raises
    ------
    ValueError
        If ``k`` exceeds the active dimension, ``tol`` is outside (0, 1) or
        ``maxiter``/``ncv`` are out of range.
    LanczosNotConverged
        (a ``ValueError``) when SciPy's solver stops at ``maxiter`` and
        ``allow_unconverged=False``.

    Examples
    --------
    >>> H = np.diag(np.arange(-2.0, 18.0))            # eigenvalues -2, -1, ..., 17
    >>> s = lanczos_extremes(H, k=3, tol=1e-10)
    >>> round(s.lambda_min, 8), round(s.lambda_max, 8), s.n_negative, s.n_negative_exact
    (-2.0, 17.0, 2, True)
    """
    op = check_lanczos_target(op)
    m = op.dim
    k = check_int("k", k, low=1)
    if k > m:
        raise ValueError(f"k must be in [1, {m}] (the active dimension of the operator); got {k}")
    tol = check_real("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    rtol = (max(10.0 * tol, 1e-10) if rtol is None
            else check_real("rtol", rtol, low=0.0, high=1.0))
    xp = op.xp
    if m < k + 3:
        return _dense_extremes(op, rtol)
    spla = _sparse_linalg_for(xp)
    lin = op.as_linear_operator()
    backend = "numpy" if xp is np else "cupy"
    v0 = make_rng(seed, backend).normal(m, dtype=op.dtype)
    kwargs: dict[str, Any] = {}
    if ncv is not None:
        kwargs["ncv"] = check_int("ncv", ncv, low=k + 2, high=m - 1)
    if maxiter is not None:
        kwargs["maxiter"] = check_int("maxiter", maxiter, low=1, high=MAX_LANCZOS_ITER)
    if xp is np:
        solver_tol = tol
        scale = 0.0
    else:  # cupyx: absolute residual bound
        av = op.matvec(v0)
        scale = float(xp.linalg.norm(av) / xp.linalg.norm(v0))
        solver_tol = tol * scale
        solver_tol = solver_tol if solver_tol > 0 else float(np.finfo(op.dtype).eps)
        kwargs = _cupyx_eigsh_kwargs(k, m, kwargs.get("ncv"), kwargs.get("maxiter"))
    converged = True

    def solve(which):
        nonlocal converged
        try:
            if xp is np:
                vals = spla.eigsh(lin, k=k, which=which, tol=solver_tol, v0=v0,
                                  return_eigenvectors=False, **kwargs)
            else:
                # cupyx's eigsh uses v0 as its work vector and overwrites it, so
                # each run gets its own copy (both start from the seeded vector).
                vals = _cupyx_eigsh_checked(spla, op, lin, k, which, solver_tol, scale,
                                            v0.copy(), kwargs)
        except Exception as exc:  # ArpackNoConvergence carries the converged values
            if type(exc).__name__ == "ArpackError":  # e.g. a start vector in the null space
                raise _SolverBreakdown(exc) from exc
            if type(exc).__name__ != "ArpackNoConvergence":
                raise
            if not allow_unconverged:
                raise _not_converged(exc, which, maxiter, tol, k,
                                     kwargs.get("ncv")) from exc
            converged = False
            vals = np.asarray(getattr(exc, "eigenvalues", np.zeros(0)), dtype=np.float64).real
            vals = xp.asarray(vals.astype(op.dtype))
        if xp is not np and not bool(xp.isfinite(vals).all()):
            # cupyx's eigsh reports no breakdown: it divides by a zero Lanczos
            # norm (e.g. the zero operator) and returns NaN Ritz values.
            raise _SolverBreakdown(FloatingPointError(
                "cupyx eigsh returned non-finite Ritz values (Lanczos breakdown)"))
        return xp.sort(xp.asarray(vals))

    n0 = op.n_matvec
    try:
        top, bottom = solve("LA"), solve("SA")
    except _SolverBreakdown as exc:
        # ARPACK breaks down when the Krylov space of the start vector is trivial
        # (the zero operator): small operators are solved densely instead.
        if m > MAX_DENSE_FALLBACK:
            raise ValueError(f"op: the Lanczos solver broke down ({exc.args[0]}) and the "
                             f"active dimension {m} is too large for a dense solve "
                             f"(> {MAX_DENSE_FALLBACK}); is op zero?") from exc.args[0]
        return _dense_extremes(op, rtol)
    both = xp.concatenate([bottom, top])
    if both.size == 0:
        nan = float("nan")
        return SpectrumSummary(nan, nan, 0, False, nan, nan, m, both, "lanczos", False,
                               op.n_matvec - n0)
    lam_max, lam_min = float(xp.max(both)), float(xp.min(both))
    zero_tol = rtol * max(abs(lam_max), abs(lam_min))
    n_neg = int(xp.sum(bottom < -zero_tol))
    exact = bool(n_neg < int(bottom.size) and converged)
    kappa = float(condition_numbers(np.array(lam_max), np.array(lam_min), np.array(zero_tol)))
    return SpectrumSummary(lam_max, lam_min, n_neg, exact, kappa, zero_tol, m,
                           both, "lanczos", converged, op.n_matvec - n0)
