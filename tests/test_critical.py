"""Critical-point finding (sparsesim.geometry.critical) and the MLP landscape (nn.critical).

Every test here is deterministic (fixed seeds, exact checks); none is statistical.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from sparsesim.geometry import classify_critical_point, find_critical_point, lanczos_extremes
from sparsesim.nn.critical import MLPLandscape
from sparsesim.nn.hessian import mlp_masked_hessian_operator


# --------------------------------------------------------------------------- toy functions

def _double_well():
    """f(x, y) = x⁴/4 − x²/2 + y²/2: saddle at 0, minima at (±1, 0)."""
    grad = lambda z: np.array([z[0] ** 3 - z[0], z[1]])  # noqa: E731
    hvp = lambda z, v: np.array([(3 * z[0] ** 2 - 1) * v[0], v[1]])  # noqa: E731
    return grad, hvp


@pytest.mark.parametrize("start,target,label", [
    ((0.3, 0.5), (0.0, 0.0), "saddle"),
    ((-0.2, -1.0), (0.0, 0.0), "saddle"),
    ((0.8, 0.3), (1.0, 0.0), "minimum"),
    ((-1.3, 2.0), (-1.0, 0.0), "minimum"),
])
def test_double_well_reaches_the_nearby_critical_point(start, target, label):
    grad, hvp = _double_well()
    r = find_critical_point(grad, hvp, np.array(start), gtol=1e-13)
    assert r.converged and np.allclose(r.x, target, atol=1e-12)
    lam = np.linalg.eigvalsh(np.diag([3 * r.x[0] ** 2 - 1, 1.0]))
    assert classify_critical_point(r.grad_norm, lam[0], lam[-1], 1.0) == label


def _rotated_quartic(s, seed):
    """f(x) = Σ ¼u_i⁴ − ½ s_i u_i², u = Qᵀx.  Critical points: u_i ∈ {0} ∪ {±√s_i : s_i > 0}."""
    Q = ortho_group.rvs(len(s), random_state=seed)
    s = np.asarray(s, float)

    def grad(x):
        u = Q.T @ x
        return Q @ (u ** 3 - s * u)

    def hess(x):
        u = Q.T @ x
        return Q @ np.diag(3 * u ** 2 - s) @ Q.T

    return Q, grad, lambda x, v: hess(x) @ v, hess


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotated_quartic_saddles_of_every_index(seed):
    # s > 0: double wells (coordinate at 0 is unstable), s < 0: single wells.
    s = np.array([1.0, 2.0, 0.5, 3.0, -1.0, -0.5])
    Q, grad, hvp, hess = _rotated_quartic(s, seed)
    rng = np.random.default_rng(seed)
    for index in range(5):                   # number of unstable coordinates left at 0
        u_star = np.where(s > 0, np.sqrt(np.abs(s)), 0.0) * rng.choice([-1, 1], size=6)
        u_star[:index] = 0.0                 # these double-well coordinates sit at the top
        start = Q @ (u_star + 0.05 * rng.normal(size=6))
        r = find_critical_point(grad, hvp, start, gtol=1e-12)
        assert r.converged
        assert np.allclose(Q.T @ r.x, u_star, atol=1e-9), (index, Q.T @ r.x, u_star)
        lam = np.linalg.eigvalsh(hess(r.x))
        assert int((lam < -1e-8).sum()) == index
        expect = "saddle" if index else "minimum"
        assert classify_critical_point(r.grad_norm, lam[0], lam[-1], 1.0) == expect


@pytest.mark.parametrize("start,target", [((0.3, 0.5), (0.0, 0.0)), ((0.8, 0.3), (1.0, 0.0))])
def test_levenberg_marquardt_reaches_the_same_points(start, target):
    grad, hvp = _double_well()
    r = find_critical_point(grad, hvp, np.array(start), gtol=1e-12,
                            method="levenberg-marquardt")
    assert r.converged and np.allclose(r.x, target, atol=1e-11)
    s = np.array([1.0, 2.0, 0.5, -1.0])
    Q, grad, hvp, _ = _rotated_quartic(s, 4)
    u_star = np.array([0.0, np.sqrt(2.0), -np.sqrt(0.5), 0.0])      # index 1
    r = find_critical_point(grad, hvp, Q @ (u_star + 0.03), gtol=1e-12,
                            method="levenberg-marquardt")
    assert r.converged and np.allclose(Q.T @ r.x, u_star, atol=1e-9)
    with pytest.raises(ValueError, match="method"):
        find_critical_point(grad, hvp, np.zeros(4) + 0.1, method="bfgs")


def test_descent_on_f_would_miss_the_saddle_but_newton_mr_does_not():
    # From a start on the unstable side, gradient descent on f leaves the saddle;
    # Newton-MR converges to it (it descends ‖∇f‖, not f).
    grad, hvp = _double_well()
    x = np.array([0.3, 0.1])
    for _ in range(2000):
        x = x - 0.1 * grad(x)
    assert np.allclose(x, [1.0, 0.0], atol=1e-6)
    assert np.allclose(find_critical_point(grad, hvp, np.array([0.3, 0.1])).x, 0.0, atol=1e-10)


def test_classification_rule_boundaries():
    # ‖g‖ / (|λ_min| ℓ) just under / over step_rtol
    assert classify_critical_point(0.99e-3 * 0.5 * 2.0, -0.5, 4.0, 2.0) == "saddle"
    assert classify_critical_point(1.01e-3 * 0.5 * 2.0, -0.5, 4.0, 2.0) == "not critical"
    # a tiny negative eigenvalue (below τ = 1e-3 · 4) counts as zero: a minimum judged on τ
    assert classify_critical_point(1e-12, -1e-3, 4.0, 1.0) == "minimum"
    assert classify_critical_point(1e-12, -1e-2, 4.0, 1.0) == "saddle"
    # invariance under scaling f (g and λ alike) and x (g/ℓ, λ/ℓ², ℓ)
    for a, c in [(10.0, 1.0), (1.0, 7.0), (0.01, 0.3)]:
        g, lmin, lmax, ell = 3e-4, -0.5, 4.0, 1.0
        assert classify_critical_point(a * g / c, a * lmin / c ** 2, a * lmax / c ** 2, c * ell) \
            == classify_critical_point(g, lmin, lmax, ell)


@pytest.mark.parametrize("kw,match", [
    (dict(grad_norm=-1.0, lambda_min=-1, lambda_max=1, length_scale=1), "grad_norm"),
    (dict(grad_norm=0.0, lambda_min=2, lambda_max=1, length_scale=1), "lambda_min"),
    (dict(grad_norm=0.0, lambda_min=-1, lambda_max=1, length_scale=0), "length_scale"),
    (dict(grad_norm=0.0, lambda_min=-1, lambda_max=1, length_scale=1, step_rtol=2.0),
     "step_rtol"),
])
def test_classification_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        classify_critical_point(**kw)


def test_finder_bad_input():
    grad, hvp = _double_well()
    with pytest.raises(ValueError, match="x0"):
        find_critical_point(grad, hvp, np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="max_iter"):
        find_critical_point(grad, hvp, np.zeros(2), max_iter=-1)
    with pytest.raises(ValueError, match="grad"):
        find_critical_point(lambda z: np.zeros(3), hvp, np.zeros(2) + 0.1)


# --------------------------------------------------------------------------- the MLP landscape

def _tiny(activation="tanh", wd=1e-2, sizes=(3, 5, 4, 3)):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, sizes[0])), rng.integers(0, sizes[-1], 20)
    return MLPLandscape(sizes, X, y, weight_decay=wd, activation=activation), rng


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_landscape_derivatives_match_finite_differences(activation):
    land, rng = _tiny(activation)
    th = land.init(0) + 0.3 * rng.normal(size=land.dim)
    v = rng.normal(size=land.dim)
    h = 1e-6
    fd_g = (land.loss(th + h * v) - land.loss(th - h * v)) / (2 * h)
    assert abs(fd_g - land.grad(th) @ v) < 1e-7
    fd_h = (land.grad(th + h * v) - land.grad(th - h * v)) / (2 * h)
    assert np.abs(fd_h - land.hvp(th, v)).max() < 1e-6 * max(1.0, np.abs(fd_h).max())


def test_relu_landscape_hessian_is_the_engines_operator_plus_decay():
    land, rng = _tiny("relu", wd=0.05)
    th = land.init(3)
    H = land.dense_hessian(th)
    op = mlp_masked_hessian_operator(land.unflatten(th), land.X, land.y)
    assert np.allclose(H, op.to_dense() + 0.05 * np.eye(land.dim), atol=1e-12)


def test_restricted_operator_is_the_principal_submatrix_and_lanczos_agrees():
    land, rng = _tiny("tanh")
    th = land.init(1)
    H = land.dense_hessian(th)
    keep = rng.random(land.dim) < 0.4
    op = land.restricted_operator(th, keep)
    sub = H[np.ix_(keep, keep)]
    assert np.allclose(op.to_dense(), sub, atol=1e-12)
    ev = np.linalg.eigvalsh(sub)
    s = lanczos_extremes(op, k=2, tol=1e-12)
    assert abs(s.lambda_min - ev[0]) < 1e-9 and abs(s.lambda_max - ev[-1]) < 1e-9
    with pytest.raises(ValueError, match="keep"):
        land.restricted_operator(th, np.zeros(land.dim, bool))
    with pytest.raises(ValueError, match="keep"):
        land.restricted_operator(th, np.ones(3, bool))


def test_landscape_bad_input():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    with pytest.raises(ValueError, match="weight_decay"):
        MLPLandscape((3, 2), X, y, weight_decay=-1.0)
    with pytest.raises(ValueError, match="activation"):
        MLPLandscape((3, 2), X, y, activation="sigmoid")
    land = MLPLandscape((3, 2), X, y)
    with pytest.raises(ValueError, match="theta"):
        land.grad(np.zeros(3))


def test_mlp_minimum_is_reached_again_from_nearby_starts():
    # A tiny tanh network trained to a minimum by L-BFGS (weight decay makes it
    # non-degenerate); Newton-MR from perturbed starts returns to it, and the
    # rule calls it a minimum.
    from scipy.optimize import minimize

    land, rng = _tiny("tanh", wd=1e-2)
    res = minimize(land.loss, land.init(2), jac=land.grad, method="L-BFGS-B",
                   options={"maxiter": 5000, "gtol": 1e-12, "ftol": 0.0})
    x_star = land.critical_point(res.x, gtol=1e-13).x
    assert np.linalg.norm(land.grad(x_star)) <= 1e-13
    ev = np.linalg.eigvalsh(land.dense_hessian(x_star))
    assert classify_critical_point(np.linalg.norm(land.grad(x_star)), ev[0], ev[-1],
                                   land.length_scale(x_star)) == "minimum"
    for k in range(3):
        start = x_star + 1e-2 * rng.normal(size=land.dim)
        r = land.critical_point(start, gtol=1e-12)
        assert r.converged and np.linalg.norm(r.x - x_star) < 1e-8
