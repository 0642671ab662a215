"""An output folder belongs to one sweep: simulation, seed, quick or not, and its cells.

A sweep writes ``sweep.json`` (its identity) into its output folder before
the first cell runs.  Another sweep into that folder is refused with
:class:`OutputFolderError`, before any work, instead of mixing two sweeps in one
journal or replacing ``cells.csv`` without a word; ``overwrite=True`` first moves
the folder's old contents aside to ``<out>.old-<UTC time>`` (nothing is deleted).

What counts as "the same sweep": the same simulation name and module, the
same sweep seed, the same quick flag, and either the same config hash or
only cells that belong to this sweep (a grid extended by new cells, or
parameters added later with neutral defaults, which leave the old cells'
keys unchanged).  Folders written before ``sweep.json`` existed (committed
``results/*``) are recognised from their ``cells.csv`` (module, seed, config
hash, cell keys) or, without one, from their journal's cell keys.

Examples
--------
>>> import json
>>> out = getfixture("tmp_path") / "out"
>>> owner = SweepOwner(name="coin", module="toy", seed=1, quick=False, config_hash="ab12")
>>> write_owner(out, owner)
>>> read_owner(out) == owner
True
>>> conflict(owner, SweepOwner("coin", "toy", 2, False, "cd34"), {"k1"}, recorded={"k0"})
'seed 1, not 2'
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

__all__ = ["OWNER_FILE", "SweepOwner", "OutputFolderError", "read_owner", "write_owner",
           "conflict", "claim", "move_aside"]

#: The identity file of an output folder.
OWNER_FILE = "sweep.json"
#: Files whose presence marks a folder as holding a sweep.
SWEEP_FILES = (OWNER_FILE, "journal.jsonl", "cells.csv")


class OutputFolderError(ValueError):
    """The output folder holds another sweep; the message says how to go on.

    Attributes
    ----------
    out : Path
    reason : str
        What differs (``"seed 1, not 2"``).
    """

    def __init__(self, out: Path, reason: str, *, held: str, wanted: str,
                 out_name: str = "out", overwrite_name: str = "overwrite=True"):
        self.out, self.reason, self.held, self.wanted = Path(out), reason, held, wanted
        super().__init__(self.message(out_name, overwrite_name))

    def message(self, out_name: str = "out", overwrite_name: str = "overwrite=True") -> str:
        """One line naming the output option and the two ways on."""
        return (f"{out_name} {str(self.out)!r} holds another sweep ({self.held}; {self.reason}); "
                f"this run is {self.wanted}: give a new {out_name} folder, or {overwrite_name} "
                f"to move the old results aside to {self.out.name}.old-<time> and start afresh")


@dataclass(frozen=True)
class SweepOwner:
    """The identity of the sweep an output folder holds (``None``: not recorded)."""

    name: str | None
    module: str | None
    seed: int | None
    quick: bool | None
    config_hash: str | None

    def describe(self) -> str:
        parts = [self.name or self.module or "unknown simulation"]
        if self.quick:
            parts.append("quick")
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        if self.config_hash:
            parts.append(f"config {self.config_hash}")
        return ", ".join(parts)


def write_owner(out: str | Path, owner: SweepOwner) -> None:
    """Record ``owner`` as the sweep of ``out`` (``out/sweep.json``, written atomically)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (OWNER_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(owner), indent=1, sort_keys=True) + "\n")
    tmp.replace(out / OWNER_FILE)


def _legacy_owner(out: Path) -> tuple[SweepOwner | None, set[str] | None]:
    """What a folder without ``sweep.json`` says about its sweep (from ``cells.csv``)."""
    cells = out / "cells.csv"
    if not cells.is_file():
        return None, None
    import pandas as pd  # noqa: PLC0415 - only for folders written before sweep.json

    try:
        frame = pd.read_csv(cells, usecols=lambda c: c in (
            "cell_key", "sweep_seed", "sim_module", "config_hash"), dtype=str)
    except (ValueError, pd.errors.EmptyDataError):
        return None, None

    def one(col: str) -> str | None:
        if col not in frame.columns:
            return None
        vals = sorted(set(frame[col].dropna()))
        return vals[0] if len(vals) == 1 else None

    seed = one("sweep_seed")
    keys = set(frame["cell_key"].dropna()) if "cell_key" in frame.columns else None
    return SweepOwner(name=None, module=one("sim_module"),
                      seed=int(seed) if seed is not None and seed.isdigit() else None,
                      quick=None, config_hash=one("config_hash")), keys


def read_owner(out: str | Path) -> SweepOwner | None:
    """The recorded owner of ``out`` (``sweep.json``), or ``None``."""
    path = Path(out) / OWNER_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return SweepOwner(**{k: data.get(k) for k in SweepOwner.__dataclass_fields__})
    except (ValueError, TypeError) as exc:
        raise OutputFolderError(Path(out), f"its {OWNER_FILE} is unreadable: {exc}",
                                held="unknown sweep", wanted="unknown") from None


def conflict(held: SweepOwner, wanted: SweepOwner, keys: set[str],
             recorded: set[str] | None) -> str | None:
    """Why ``held`` is another sweep than ``wanted`` (``None`` when it is the same one).

    ``keys`` are the cell keys of the wanted sweep, ``recorded`` those the
    folder holds (``None``: unknown).
    """
    for field, what in (("name", "simulation"), ("module", "module"), ("seed", "seed"),
                        ("quick", "quick")):
        a, b = getattr(held, field), getattr(wanted, field)
        if a is not None and b is not None and a != b:
            if field == "quick":
                return "a quick run" if a else "a full (not quick) run"
            return f"{what} {a}, not {b}"
    if held.config_hash is not None and held.config_hash == wanted.config_hash:
        return None
    if recorded is not None and recorded <= keys:
        return None  # the same cells (a grid extended, or parameters with neutral defaults)
    if recorded is None and held.config_hash is None:
        return None
    extra = len(recorded - keys) if recorded is not None else 0
    cells = f"{extra} of its cells are not cells of this sweep" if extra else ""
    if held.config_hash is None:
        return cells
    return f"config {held.config_hash}, not {wanted.config_hash}" + (f": {cells}" if cells else "")


def move_aside(out: str | Path) -> Path:
    """Rename ``out`` to ``<out>.old-<UTC time>`` (a free name); return the new path."""
    out = Path(out)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = out.with_name(f"{out.name}.old-{stamp}")
    n = 1
    while target.exists():
        target = out.with_name(f"{out.name}.old-{stamp}-{n}")
        n += 1
    out.rename(target)
    return target


def claim(out: str | Path, wanted: SweepOwner, keys: set[str], *,
          journal_keys: Callable[[], set[str]], overwrite: bool = False) -> Path | None:
    """Make ``out`` the folder of ``wanted``, or refuse.

    ``journal_keys()`` gives the cell keys of the folder's journal (asked
    only for a folder without ``cells.csv``).  Returns the path the old
    contents were moved to (``overwrite=True`` on a
    folder holding a sweep), else ``None``.

    Raises
    ------
    OutputFolderError
        When ``out`` holds another sweep and ``overwrite`` is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out {str(out)!r} is a file, not a folder")
    holds = out.is_dir() and any((out / f).exists() for f in SWEEP_FILES)
    moved = None
    if holds and overwrite:
        moved = move_aside(out)
    elif holds:
        held = read_owner(out)
        legacy, recorded = _legacy_owner(out)
        if held is None:
            held = legacy or SweepOwner(None, None, None, None, None)
        if recorded is None:
            recorded = journal_keys()
        reason = conflict(held, wanted, keys, recorded)
        if reason is not None:
            raise OutputFolderError(out, reason, held=held.describe(), wanted=wanted.describe())
    write_owner(out, wanted)
    return moved
