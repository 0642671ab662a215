"""Critical points of one MLP's full-batch loss, as a flat-vector problem.

:class:`MLPLandscape` is the deterministic landscape of one network of
architecture ``sizes`` on a fixed data set ``(X, y)``:

``L(θ) = CE(θ; X, y) + (weight_decay / 2) ‖θ‖²``

(cross-entropy averaged over the fixed examples; the decay acts on every
weight and bias).  Weight decay is what gives this landscape critical points
at finite ``θ``: without it a network that separates its training examples
lowers its cross-entropy forever by growing its logits, so ``∇L`` never
vanishes, and ReLU's rescaling symmetry (``W_l → cW_l``, ``W_{l+1} → W_{l+1}/c``)
makes every critical point degenerate; with it those flat directions get
curvature ``≥ weight_decay``-order and minima exist.

``θ`` is the flat float64 vector of the network's parameters in the order of
:func:`sparsesim.nn.hessian.mlp_masked_hessian_operator` with no mask: for
each layer, ``W`` (row-major over ``(fan_in, fan_out)``) then ``b``.  The
gradient and exact Hessian-vector products come from
:func:`sparsesim.nn.mlp.loss_and_grad` and :func:`sparsesim.nn.mlp.hvp`
(Pearlmutter's R-operator; the ReLU derivative at 0 is 0, so the Hessian is
that of the linear piece the point lies in).  :meth:`MLPLandscape.critical_point`
refines a start with :func:`sparsesim.geometry.find_critical_point`
(Newton-MR on ``½‖∇L‖²``, which reaches saddles as well as minima).

:meth:`MLPLandscape.restricted_operator` is the Hessian ``P_m H P_m`` at ``θ``
restricted to the kept coordinates of a flat mask — the curvature an optimiser
confined to the kept coordinates sees at ``θ`` with the pruned coordinates
*held where they are* (not zeroed) — as a
:class:`sparsesim.geometry.MaskedHessianOperator` for Lanczos;
:meth:`MLPLandscape.dense_hessian` builds ``H`` column by column from
Hessian-vector products (the slow, obviously correct twin tests compare with).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
>>> land = MLPLandscape((3, 4, 2), X, y, weight_decay=1e-2)
>>> land.dim                                          # 3·4 + 4 + 4·2 + 2
26
>>> theta = land.init(seed=0)
>>> H = land.dense_hessian(theta)
>>> bool(np.allclose(H, H.T, atol=1e-12))
True
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import check_choice, check_real
from ..geometry import MaskedHessianOperator, find_critical_point
from . import mlp

__all__ = ["MLPLandscape", "ACTIVATIONS"]

#: Hidden activations: ``"tanh"`` (smooth; its own passes below) and ``"relu"``
#: (the engine of :mod:`sparsesim.nn.mlp`; piecewise smooth only).
ACTIVATIONS = ("tanh", "relu")


class MLPLandscape:
    """The full-batch, weight-decayed cross-entropy landscape of one MLP (float64, NumPy).

    Parameters
    ----------
    sizes : sequence of int
        ``(n_in, h_1, ..., n_out)``, ReLU hidden layers, no skips.
    X : array (n, n_in)
        The fixed examples (cast to float64).
    y : array (n,)
        Integer class ids in ``[0, n_out)``.
    weight_decay : float
        ``>= 0``; the ``(weight_decay/2)‖θ‖²`` term (module notes).

    Raises
    ------
    TypeError, ValueError
        Malformed sizes or data (the engine's messages), or a negative
        ``weight_decay``.
    """

    def __init__(self, sizes: Sequence[int], X: Any, y: Any, *, weight_decay: float = 0.0,
                 activation: str = "tanh"):
        self.sizes = mlp.check_sizes(sizes)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y)
        self.shapes = [((a, b), (b,)) for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        sizes_flat = []
        for (ws, bs) in self.shapes:
            sizes_flat += [ws[0] * ws[1], bs[0]]
        self.offsets = np.concatenate([[0], np.cumsum(sizes_flat)]).astype(int)
        self.dim = int(self.offsets[-1])
        # validates the data once
        mlp.loss_value(self.unflatten(np.zeros(self.dim)), self.X, self.y)
        self.onehot = (np.arange(self.sizes[-1])[None, :] == self.y[:, None]).astype(np.float64)

    # ------------------------------------------------------------------ flat <-> layers
    def unflatten(self, theta: Any) -> list:
        """The engine's parameter list (one model) of a flat vector."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.dim,):
            raise ValueError(f"theta must have shape ({self.dim},); got {theta.shape}")
        out = []
        for li, (ws, bs) in enumerate(self.shapes):
            o = self.offsets[2 * li:2 * li + 3]
            out.append((theta[o[0]:o[1]].reshape((1,) + ws), theta[o[1]:o[2]].reshape((1,) + bs)))
        return out

    def flatten(self, params: Sequence[tuple[Any, Any]], model: int = 0) -> np.ndarray:
        """The flat vector of model ``model`` of an engine parameter list."""
        return np.concatenate([np.concatenate([np.asarray(W[model], np.float64).reshape(-1),
                                               np.asarray(b[model], np.float64).reshape(-1)])
                               for W, b in params])

    def weight_mask(self) -> np.ndarray:
        """Boolean flat vector: ``True`` on weights, ``False`` on biases."""
        m = np.zeros(self.dim, bool)
        for li in range(len(self.shapes)):
            m[self.offsets[2 * li]:self.offsets[2 * li + 1]] = True
        return m

    def layer_of(self) -> np.ndarray:
        """Flat vector of layer indices (weights and biases of layer ``l`` get ``l``)."""
        out = np.empty(self.dim, dtype=np.int64)
        for li in range(len(self.shapes)):
            out[self.offsets[2 * li]:self.offsets[2 * li + 2]] = li
        return out

    def init(self, seed: Any = 0) -> np.ndarray:
        """A Kaiming-normal initialisation (:func:`sparsesim.nn.mlp.init_mlp`), flat."""
        return self.flatten(mlp.init_mlp(self.sizes, 1, seed=seed, backend="numpy",
                                         dtype=np.float64))

    # ------------------------------------------------------------------ the landscape
    def _layers(self, theta):
        return [(W[0], b[0]) for W, b in self.unflatten(theta)]

    def _tanh_forward(self, theta):
        """Activations ``a_0..a_{L-1}``, ``tanh'`` per hidden layer, logits, softmax."""
        layers = self._layers(theta)
        acts, dacts = [self.X], []
        a = self.X
        for l, (W, b) in enumerate(layers):
            z = a @ W + b
            if l == len(layers) - 1:
                break
            a = np.tanh(z)
            acts.append(a)
            dacts.append(1.0 - a * a)
        s = z - z.max(axis=1, keepdims=True)
        e = np.exp(s)
        p = e / e.sum(axis=1, keepdims=True)
        value = float(np.mean(np.log(e.sum(axis=1)) - (s * self.onehot).sum(axis=1)))
        return layers, acts, dacts, p, value

    def _tanh_backward(self, layers, acts, dacts, p):
        n = self.X.shape[0]
        L = len(layers)
        delta = (p - self.onehot) / n
        gW, gb, deltas, gas = [None] * L, [None] * L, [None] * L, [None] * L
        for l in range(L - 1, -1, -1):
            deltas[l] = delta
            gW[l] = acts[l].T @ delta
            gb[l] = delta.sum(axis=0)
            if l > 0:
                gas[l] = delta @ layers[l][0].T          # ∂L/∂a_l
                delta = gas[l] * dacts[l - 1]
        return gW, gb, deltas, gas

    def _flat(self, gW, gb):
        return np.concatenate([np.concatenate([w.reshape(-1), b.reshape(-1)])
                               for w, b in zip(gW, gb)])

    def loss(self, theta: Any) -> float:
        """``L(θ)``."""
        theta = np.asarray(theta, dtype=np.float64)
        if self.activation == "tanh":
            value = self._tanh_forward(theta)[4]
        else:
            value = float(mlp.loss_value(self.unflatten(theta), self.X, self.y,
                                         check_values=False)[0])
        return value + 0.5 * self.weight_decay * float(theta @ theta)

    def grad(self, theta: Any) -> np.ndarray:
        """``∇L(θ)``, flat."""
        theta = np.asarray(theta, dtype=np.float64)
        if self.activation == "tanh":
            layers, acts, dacts, p, _ = self._tanh_forward(theta)
            gW, gb, _, _ = self._tanh_backward(layers, acts, dacts, p)
            return self._flat(gW, gb) + self.weight_decay * theta
        _, g = mlp.loss_and_grad(self.unflatten(theta), self.X, self.y, check_values=False)
        return self.flatten(g) + self.weight_decay * theta

    def hvp(self, theta: Any, v: Any) -> np.ndarray:
        """``∇²L(θ) v``, flat (exact: Pearlmutter's R-operator)."""
        v = np.asarray(v, dtype=np.float64)
        if self.activation == "relu":
            out = mlp.hvp(self.unflatten(theta), self.X, self.y, self.unflatten(v),
                          check_values=False)
            return self.flatten(out) + self.weight_decay * v
        return self._tanh_hvp(np.asarray(theta, dtype=np.float64), v[None, :])[0]

    def _tanh_hvp(self, theta, V):
        """``H V`` for ``V`` of shape ``(k, dim)`` (k directions at once)."""
        layers, acts, dacts, p, _ = self._tanh_forward(theta)
        _, _, deltas, gas = self._tanh_backward(layers, acts, dacts, p)
        n = self.X.shape[0]
        L = len(layers)
        k = V.shape[0]
        vl = []
        for li, (ws, bs) in enumerate(self.shapes):
            o = self.offsets[2 * li:2 * li + 3]
            vl.append((V[:, o[0]:o[1]].reshape((k,) + ws), V[:, o[1]:o[2]].reshape((k,) + bs)))
        # forward: R{z_l}, R{a_l}
        Ra = [None] * L
        Rzs = [None] * L
        for l, ((W, _), (vW, vb)) in enumerate(zip(layers, vl)):
            Rz = acts[l] @ vW + vb[:, None, :]
            if Ra[l] is not None:
                Rz = Rz + Ra[l] @ W
            Rzs[l] = Rz
            if l < L - 1:
                Ra[l + 1] = dacts[l] * Rz
        pRz = p * Rzs[-1]
        Rdelta = (pRz - p * pRz.sum(axis=2, keepdims=True)) / n
        out = []
        for l in range(L - 1, -1, -1):
            W = layers[l][0]
            vW = vl[l][0]
            RgW = acts[l].T @ Rdelta
            if Ra[l] is not None:
                RgW = RgW + np.swapaxes(Ra[l], -1, -2) @ deltas[l]
            Rgb = Rdelta.sum(axis=1)
            out.append((RgW, Rgb))
            if l > 0:
                Rga = Rdelta @ W.T + deltas[l] @ np.swapaxes(vW, -1, -2)
                a = acts[l]                                   # tanh(z_{l-1})
                # d/dz tanh' = -2 tanh (1 - tanh^2)
                Rdelta = Rga * dacts[l - 1] + gas[l] * (-2.0 * a * dacts[l - 1]) * Rzs[l - 1]
        out.reverse()
        HV = np.concatenate([np.concatenate([w.reshape(k, -1), b.reshape(k, -1)], axis=1)
                             for w, b in out], axis=1)
        return HV + self.weight_decay * V

    def dense_hessian(self, theta: Any) -> np.ndarray:
        """``∇²L(θ)`` as a ``(dim, dim)`` array, one Hessian-vector product per column."""
        theta = np.asarray(theta, dtype=np.float64)
        if self.activation == "tanh":
            H = np.empty((self.dim, self.dim))
            eye = np.eye(self.dim)
            for j in range(0, self.dim, 128):
                H[j:j + 128] = self._tanh_hvp(theta, eye[j:j + 128])
            return 0.5 * (H + H.T)
        H = np.empty((self.dim, self.dim))
        e = np.zeros(self.dim)
        for j in range(self.dim):
            e[j] = 1.0
            H[:, j] = self.hvp(theta, e)
            e[j] = 0.0
        return 0.5 * (H + H.T)

    def restricted_operator(self, theta: Any, keep: Any = None) -> MaskedHessianOperator:
        """``P_m H(θ) P_m`` on the kept coordinates of the flat boolean ``keep``.

        The pruned coordinates keep their values in ``θ`` (the landscape of an
        optimiser confined to the kept coordinates, around ``θ``).  ``None``
        keeps every coordinate.

        Raises
        ------
        ValueError
            ``keep`` of the wrong shape or keeping nothing.
        """
        theta = np.asarray(theta, dtype=np.float64).copy()
        if keep is None:
            idx = np.arange(self.dim)
        else:
            keep = np.asarray(keep)
            if keep.shape != (self.dim,) or keep.dtype != bool:
                raise ValueError(f"keep must be a boolean vector of shape ({self.dim},); got "
                                 f"{keep.dtype} {keep.shape}")
            idx = np.flatnonzero(keep)
        if idx.size < 1:
            raise ValueError("keep keeps no coordinate: the restricted Hessian is empty")
        d = self.dim

        def matvec(u):
            full = np.zeros(d)
            full[idx] = u
            return self.hvp(theta, full)[idx]

        return MaskedHessianOperator(matvec, int(idx.size), np.float64, np)

    def critical_point(self, theta0: Any, **kwargs: Any):
        """Refine ``theta0`` to a critical point of any index.

        By :func:`sparsesim.geometry.find_critical_point` (keywords passed on).
        """
        return find_critical_point(self.grad, self.hvp, theta0, **kwargs)

    def length_scale(self, theta: Any) -> float:
        """The root-mean-square parameter ``‖θ‖/√dim`` (the length scale of the saddle rule)."""
        theta = np.asarray(theta, dtype=np.float64)
        return float(np.linalg.norm(theta) / np.sqrt(self.dim))
