"""
A phase diagram: ℓ1 recovery and the Donoho–Tanner curve
=========================================================

Recover a ``k``-sparse ``x ∈ R^d`` with ±1 nonzeros from ``m = δd`` Gaussian
measurements ``y = Ax`` by basis pursuit (``min ||z||₁`` subject to ``Az = y``).
Below the weak phase transition ``ρ = k/m < ρ_W(δ)``
(:func:`sparsesim.theory.l1_phase_transition`) recovery succeeds with high
probability, above it fails; at finite ``d`` the 50 % point lies in the band of
:func:`sparsesim.theory.l1_transition_band`. The problems come from the
``phase_transition`` simulation's engine, which also holds the hard-thresholding
solvers (IHT, NIHT, HTP) that use magnitude pruning as their projection.
The committed sweep (:doc:`/results/phase_transition`) runs ``d = 400`` with many
more trials.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsesim import theory
from sparsesim.sim.phase_transition import engine

d = 40
trials = 6
deltas = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
rhos = np.linspace(0.1, 0.8, 8)

# %%
# Every (δ, ρ) cell draws ``trials`` problems from its own seed and counts the
# recoveries to a relative error below 1e-4.
success = np.full((len(rhos), len(deltas)), np.nan)
for j, delta in enumerate(deltas):
    m = int(round(delta * d))
    for i, rho in enumerate(rhos):
        k = max(1, int(round(rho * m)))
        A, x, y = engine.draw_problems(1000 * j + i, trials, d=d, m=m, k=k, backend="numpy")
        x_hat = engine.basis_pursuit(A, y).x
        success[i, j] = np.mean(engine.relative_error(x_hat, x) < 1e-4)

# %%
# The empirical success fraction, with the asymptotic curve ``ρ_W(δ)`` and the
# finite-``d`` band of its 50 % point.
delta_fine = np.linspace(0.05, 0.95, 200)
m_all = np.arange(4, d)                       # the band is defined at integer m
lo, hi = theory.l1_transition_band(d, m_all)
fig, ax = plt.subplots(figsize=(6.4, 4.4))
step_d, step_r = deltas[1] - deltas[0], rhos[1] - rhos[0]
im = ax.imshow(success, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
               extent=(deltas[0] - step_d / 2, deltas[-1] + step_d / 2,
                       rhos[0] - step_r / 2, rhos[-1] + step_r / 2))
ax.plot(delta_fine, theory.l1_phase_transition(delta_fine), color="w", lw=2,
        label=r"$\rho_W(\delta)$")
ax.plot(m_all / d, lo, color="w", lw=1, ls="--", label=f"finite-d band of the 50 % point (d = {d})")
ax.plot(m_all / d, hi, color="w", lw=1, ls="--")
ax.set(xlabel=r"$\delta = m/d$", ylabel=r"$\rho = k/m$",
       title=f"Basis pursuit, d = {d}, {trials} problems per cell",
       xlim=(deltas[0] - step_d / 2, deltas[-1] + step_d / 2),
       ylim=(rhos[0] - step_r / 2, rhos[-1] + step_r / 2))
fig.colorbar(im, ax=ax, label="fraction recovered")
ax.legend(loc="upper left", fontsize="small", framealpha=0.8)
fig.tight_layout()
