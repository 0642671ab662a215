"""
Best k-term: magnitude pruning is the exact ℓ0 projection
=========================================================

Among all vectors with at most ``k`` nonzeros, the one closest to ``w`` in the
Euclidean norm keeps the ``k`` entries of largest magnitude:
:func:`sparsesim.best_k_term` is that projection. This example checks it against
a brute-force search over every support, then compares the error it leaves on
Gaussian vectors with the large-``d`` law
:func:`sparsesim.theory.gaussian_best_k_relative_error`.
"""

import itertools

import matplotlib.pyplot as plt
import numpy as np

import sparsesim as ss
from sparsesim import theory

rng = np.random.default_rng(0)

# %%
# Brute force: for ``d = 10`` and ``k = 3`` there are C(10, 3) = 120 supports; the
# best one keeps ``w`` on it and zeros elsewhere, so its error is the energy
# off the support.
d, k = 10, 3
worst_gap = 0.0
for _ in range(200):
    w = rng.standard_normal(d)
    pruned, mask = ss.best_k_term(w, k)
    err = float(np.sum((w - pruned) ** 2))
    best = min(float(np.sum(w ** 2) - np.sum(w[list(s)] ** 2))
               for s in itertools.combinations(range(d), k))
    worst_gap = max(worst_gap, err - best)
print(f"largest (magnitude pruning − best support) error over 200 vectors: {worst_gap:.2e}")
print("kept entries:", ss.l0_norm(pruned), "mask:", mask.astype(int))

# %%
# Batched over rows, as for a weight matrix: each row keeps its own ``k``
# largest magnitudes.
W = rng.standard_normal((64, 1000))
pruned, mask = ss.best_k_term(W, 10, axis=1)
print("density after pruning:", ss.density(pruned))

# %%
# The relative error ``||w − P_k(w)||² / ||w||²`` of Gaussian vectors against
# the kept fraction, for finite ``d`` and the ``d → ∞`` law.
densities = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7])
fig, ax = plt.subplots(figsize=(6.4, 4))
rho = np.linspace(0.005, 0.95, 200)
ax.plot(rho, theory.gaussian_best_k_relative_error(rho), color="k", lw=1.5,
        label=r"$d \to \infty$ law")
for (d, n), marker in zip(((100, 2000), (2000, 200)), ("o", "x")):
    w = rng.standard_normal((n, d))
    err = []
    for rho_i in densities:
        kk = max(1, int(round(rho_i * d)))
        p, _ = ss.best_k_term(w, kk, axis=1)
        err.append(np.mean(np.sum((w - p) ** 2, axis=1) / np.sum(w ** 2, axis=1)))
    ax.plot(densities, err, marker, ms=8, mfc="none", ls="none", label=f"d = {d} ({n} vectors)")
ax.set(xlabel="kept fraction k/d", ylabel="relative error",
       title="Best k-term error of Gaussian vectors")
ax.legend()
fig.tight_layout()
