"""The findings table: every pre-registered claim of some result folders, with its verdict.

Collects the claim rows (kind ``"claim"``: declared before the run and
judged) from the table CSVs of result folders, so README's "What the
simulations found" table is rebuilt from committed files, never typed::

    python -m sparsesim.report.findings results/lottery_mnist1d_claims ...

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> d.mkdir()
>>> pd.DataFrame({"claim": ["x beats y", "z beats y"], "claim id": ["a", "b"],
...               "n_seeds": [12, 12], "ours": ["+2.0 ± 1.0 points", "+0.1 ± 1.0 points"],
...               "test": ["paired t-test"] * 2, "p_claim": [1e-5, 0.4],
...               "kind": ["claim", "post hoc"], "agree": [True, "post hoc: why"]}
...              ).to_csv(d / "table_1.csv", index=False)
>>> f = findings([d])
>>> f[["claim", "verdict", "seeds"]].values.tolist()
[['x beats y', '✓', 12]]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from .tables import to_markdown

__all__ = ["findings", "verdict_word"]

_EFFECT_COLS = ("ours", "ours − published (points, 95 % CI)")


def verdict_word(value) -> str:
    """The verdict a table CSV's ``agree`` cell holds, as the report prints it.

    >>> verdict_word("True"), verdict_word(False), verdict_word("inconclusive")
    ('✓', '✗', 'inconclusive')
    """
    text = str(value).strip()
    if text in ("True", "✓"):
        return "✓"
    if text in ("False", "✗"):
        return "✗"
    return text


def _table_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("table_*.csv"), key=lambda p: int(p.stem.split("_")[1])
                  if p.stem.split("_")[1].isdigit() else 0)


def findings(folders, *, relative_to: str | Path | None = None) -> pd.DataFrame:
    """One row per declared claim of the given result folders.

    Parameters
    ----------
    folders : iterable of str or Path
        Result folders (each with ``table_<i>.csv`` files written by a report).
    relative_to : str or Path, optional
        Source folders are shown relative to this path.

    Returns
    -------
    DataFrame
        Columns: claim, claim id, verdict, effect (mean ± sd or difference with
        its CI), seeds, test, p (one-sided, before Holm), detectable at 80 %
        power, source.  Post hoc and not-testable rows are left out: they
        carry no verdict.

    Raises
    ------
    FileNotFoundError
        A folder that does not exist or holds no table CSV.
    """
    rows = []
    for folder in folders:
        folder = Path(folder)
        files = _table_files(folder)
        if not folder.is_dir() or not files:
            raise FileNotFoundError(f"folders: {folder} holds no table_<i>.csv (run "
                                    "`sparsesim report` there first)")
        source = str(folder.relative_to(relative_to)) if relative_to else str(folder)
        for path in files:
            t = pd.read_csv(path)
            if "kind" not in t.columns or "claim" not in t.columns:
                continue
            for _, r in t[t["kind"].astype(str) == "claim"].iterrows():
                effect = next((str(r[c]) for c in _EFFECT_COLS if c in t.columns), "—")
                p = r.get("p_claim", math.nan)
                ci = r.get("95 % CI of the mean difference")
                effect = effect.replace(" (paired, mean ± sd)", " (mean ± sd)")
                if isinstance(ci, str) and ci.startswith("["):
                    effect += f", 95 % CI {ci}"
                rows.append({
                    "claim": r["claim"], "claim id": r.get("claim id", "—"),
                    "verdict": verdict_word(r.get("agree", "")), "effect": effect,
                    "seeds": int(r["n_seeds"]) if "n_seeds" in t.columns else 0,
                    "test": r.get("test", "—"),
                    "p (one-sided)": float(p) if p == p else math.nan,
                    "detectable at 80 % power": r.get("detectable at 80 % power", "—"),
                    "source": source})
    return pd.DataFrame(rows, columns=["claim", "claim id", "verdict", "effect", "seeds", "test",
                                       "p (one-sided)", "detectable at 80 % power", "source"])


if __name__ == "__main__":  # pragma: no cover - a command-line report
    sys.stdout.write(to_markdown(findings(sys.argv[1:])) + "\n")
