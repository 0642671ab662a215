"""
A lottery ticket on MNIST-1D, at quick size
===========================================

Iterative magnitude pruning (IMP) trains a network, prunes the smallest weights
and *resets* the survivors to their original initialisation: the resulting
sparse network is a *lottery ticket*. The claim of Frankle & Carbin is that the
ticket trains to the accuracy of the dense network at densities where the same
mask with a fresh initialisation (``reinit``) or a random mask (``random``) does
not.

This runs the ``[quick]`` variant of the ``lottery_mnist1d`` sweep
(``sims/lottery_mnist1d.toml``): a 40-32-32-10 residual MLP on
`MNIST-1D <https://github.com/greydanus/mnist1d>`_, 150 Adam steps per round,
five densities from 0.5 to 0.02, every condition of the sweep, two seeds —
about half a minute on one CPU core. The full protocol (500-500 hidden units,
1,501 steps, 98 rounds) is the committed result :doc:`/results/lottery_mnist1d`.
With two seeds no claim could be decided in any case (an exact sign-flip test
over two seeds cannot go below p = 1/4); the report's agreement line, printed
at the end, says how its rows were judged (see :doc:`/guide/verdicts` and
:doc:`/guide/planning`).
"""

import os
import tempfile
import textwrap

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # many small products: one thread is faster

import matplotlib.pyplot as plt

import sparsesim as ss

out = tempfile.mkdtemp()
res = ss.run("lottery_mnist1d", quick=True, out=out, backend="numpy", progress=False)
print(res.verdict)
print(f"{len(res.cells)} rows (one per condition, seed and round) in {res.elapsed_s:.0f} s")

# %%
# Test accuracy against the fraction of weights kept, mean over the seeds, for
# the IMP ticket and its controls.
cells = res.cells
mean = (cells.groupby(["condition", "density"])["test_accuracy"].mean() * 100).reset_index()
dense = mean.loc[mean.condition == "dense", "test_accuracy"].mean()

fig, ax = plt.subplots(figsize=(6.4, 4.2))
ax.axhline(dense, color="k", lw=1, ls="--", label="dense")
for cond, style in (("lottery", "o-"), ("rewind", "s-"), ("reinit", "v--"), ("random", "^--"),
                    ("snip", "x:"), ("oneshot", "d:")):
    sel = mean[mean.condition == cond].sort_values("density")
    if len(sel):
        ax.plot(sel.density, sel.test_accuracy, style, label=cond)
ax.set_xscale("log")
kept = sorted(mean.loc[mean.condition != "dense", "density"].round(3).unique())
ax.set_xticks(kept, [f"{d:.2g}" for d in kept])
ax.minorticks_off()
ax.invert_xaxis()
ax.set(xlabel="fraction of weights kept (log scale)", ylabel="test accuracy (%)",
       title="IMP on MNIST-1D, quick size (2 seeds)")
ax.legend(ncol=2, fontsize="small")
fig.tight_layout()

# %%
# The sweep wrote the same report as a full run: ``table.md``, the table CSVs,
# ``cells.csv`` and its own figures. The agreement line of its ``table.md``:
agreement = next(line for line in (res.out / "table.md").read_text().splitlines()
                 if line.startswith("**"))
print(textwrap.fill(agreement, 88))
print(textwrap.fill(", ".join(sorted(p.name for p in res.out.iterdir())), 88))
