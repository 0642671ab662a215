"""The claims a sweep's cells carry (shared by the simulations that judge claims)."""

from __future__ import annotations

import json

__all__ = ["declared_claims"]


def declared_claims(cells) -> tuple[list[dict] | None, str]:
    """The claims the cells carry: ``(claims, "")``, or ``(None, why)`` when none apply.

    ``None`` when no cell carries a declaration (a run made before its claims
    were declared), or when cells carry different declarations (cells of
    different sweeps mixed): every claim row then reads "post hoc".

    Examples
    --------
    >>> import pandas as pd
    >>> declared_claims(pd.DataFrame({"claims": ['[{"id": "a"}]'] * 2}))
    ([{'id': 'a'}], '')
    >>> declared_claims(pd.DataFrame({"claims": ['[{"id": "a"}]', '']}))[1]
    'the cells carry different claim declarations (mixed sweeps)'
    """
    if "claims" not in getattr(cells, "columns", ()):
        return None, "not declared in the sweep config before the run"
    vals = {str(v) for v in cells["claims"] if isinstance(v, str) and v.strip()}
    empty = any(not (isinstance(v, str) and v.strip()) for v in cells["claims"])
    if not vals:
        return None, "not declared in the sweep config before the run"
    if len(vals) > 1 or empty:
        return None, "the cells carry different claim declarations (mixed sweeps)"
    return json.loads(vals.pop()), ""
