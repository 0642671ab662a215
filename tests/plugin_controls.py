"""A saliency criterion and a lottery control registered from outside sparsesim.

Imported by a sweep that names it (``[sim] plugins = ["plugin_controls"]``),
here and on every Dask worker; ``tests/test_nn_registries.py`` checks both.

- ``squared_weight``: scores ``W²`` (the same ranking as ``|W|``, so its masks
  are the magnitude masks); as a lottery control it prunes ``w0`` one-shot.
- ``ticket_twin``: the lottery ticket at ``w0`` again, as a control: it trains
  exactly what the ``lottery`` condition trains, so its rows must equal those.
"""

from sparsesim.nn import register_condition, register_saliency


def squared_weight(params, inputs):
    """``W²`` per layer (``(W², b²)`` pairs when biases are scored)."""
    return [(W * W, b * b) if inputs.include_bias else W * W for W, b in params]


def ticket_twin(ctx, r):
    """The lottery ticket's masks on the initial weights (what ``lottery`` trains)."""
    return ctx.w0, ctx.ticket


register_saliency("squared_weight", squared_weight)
register_condition("squared_weight")
register_condition("ticket_twin", ticket_twin)
