"""Simulation families: one module per family, each a sweep target.

A simulation module maps one parameter dict to a flat result row
(``run_cell``), declares its parameters (``PARAMS``, optional ``DEFAULTS`` and
``valid_cell``) for ``sims/<name>.toml``, and turns finished cells into theory
tables and figures (``tables``, ``figures``).  Its public functions can also
be called directly, e.g. :func:`sparsesim.sim.support_recovery.support_recovery`
or :func:`sparsesim.sim.best_k_term.best_k_term_error`.

Submodules are imported on demand (``from sparsesim.sim import support_recovery``)
so that importing the package stays cheap.
"""
