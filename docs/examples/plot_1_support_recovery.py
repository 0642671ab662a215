"""
Support recovery: theory against a Monte Carlo
==============================================

Thresholding a Gaussian initialisation ``w ~ N(0, I_d)`` at ``t`` keeps the set
``Ŝ = {i : |w_i| > t}``. For a fixed support ``S`` of size ``k`` the chance that
thresholding finds exactly ``S`` is

.. math::

    P(\\hat S = S) = q^k (1 - q)^{d-k}, \\qquad q = P(|w_i| > t) = 2(1 - \\Phi(t)),

which :func:`sparsesim.theory.support_recovery_prob` computes in log-space and
:func:`sparsesim.theory.optimal_threshold` maximises over ``t``. Here a small
Monte Carlo is set beside it, with exact Clopper–Pearson intervals from
:func:`sparsesim.stats.clopper_pearson`. The committed sweep
(:doc:`/results/support_recovery`) does the same with 1053 tests.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsesim import stats, theory

d, k = 12, 2
trials = 100_000
thresholds = np.linspace(0.5, 2.5, 9)
rng = np.random.default_rng(2026)

# %%
# The Monte Carlo: draw ``trials`` vectors, threshold each at every ``t`` and
# count the vectors whose kept set is exactly the first ``k`` coordinates.
w = np.abs(rng.standard_normal((trials, d)))
target = np.zeros(d, dtype=bool)
target[:k] = True
hits = np.array([int(((w > t) == target).all(axis=1).sum()) for t in thresholds])
lo, hi = stats.clopper_pearson(hits, trials, confidence=0.99)

# %%
# Theory, on a fine grid, and the optimal threshold ``t* = Φ⁻¹(1 − k/(2d))``.
t_fine = np.linspace(0.3, 2.7, 200)
p_theory = theory.support_recovery_prob(d, k, t_fine)
t_star = theory.optimal_threshold(d, k)
print(f"t* = {t_star:.4f}, P(Ŝ = S) at t* = {theory.support_recovery_prob(d, k, t_star):.5f}")

inside = (lo <= theory.support_recovery_prob(d, k, thresholds)) & (
    theory.support_recovery_prob(d, k, thresholds) <= hi)
print(f"theory inside the 99 % interval at {inside.sum()} of {len(thresholds)} thresholds")

fig, ax = plt.subplots(figsize=(6.4, 4))
ax.plot(t_fine, p_theory, color="C0", label="theory $q^k(1-q)^{d-k}$")
ax.errorbar(thresholds, hits / trials, yerr=[hits / trials - lo, hi - hits / trials],
            fmt="o", color="C1", capsize=3, label=f"Monte Carlo ({trials:,} trials, 99 % CI)")
ax.axvline(t_star, color="0.5", ls="--", lw=1, label="optimal threshold $t^*$")
ax.set(xlabel="threshold $t$", ylabel=r"$P(\hat S = S)$",
       title=f"Exact support recovery, d = {d}, k = {k}")
ax.set_ylim(0, 1.5 * max(p_theory.max(), hi.max()))  # room for the legend
ax.legend(loc="upper right", fontsize="small")
fig.tight_layout()

# %%
# At realistic sizes the probability is astronomically small, which is why the
# closed forms work in log-space: for ``d = 1000, k = 10`` at the optimal
# threshold,
print(theory.support_recovery_prob(1000, 10, theory.optimal_threshold(1000, 10), log=True))
