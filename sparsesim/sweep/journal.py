"""Append-only journal of finished cells: the sweep's memory across crashes.

One JSON object per line: ``{"key": ..., "params": {...}, "rows": [...]}``.
Each line is written with a single ``write`` of the whole line, flushed and
``fsync``-ed before the next cell is reported done, so after a crash (Ctrl-C,
``kill -9``, power loss) the file holds every finished cell and at most one
torn final line.  Reading ignores a torn (undecodable or unterminated) last
line and truncates it on the next append; a torn line anywhere else means the
file was damaged by something other than a crash and raises.  Cells recorded
twice (same key) are de-duplicated: the first record wins.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Journal", "JournalError"]


class JournalError(RuntimeError):
    """The journal is damaged in a way a crash cannot explain."""


def _jsonable(value: Any) -> Any:
    """Plain JSON for rows: NumPy scalars to Python, non-finite floats kept as strings."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__float__"}:
        return float(value["__float__"])
    return value


class Journal:
    """Durable record of finished cells in ``path`` (JSON lines)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._valid_bytes: int | None = None

    def _scan(self) -> Iterator[tuple[int, dict]]:
        """Yield (end offset, record) for each intact line; remember the valid prefix."""
        self._valid_bytes = 0
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        pos = 0
        while pos < len(data):
            end = data.find(b"\n", pos)
            line = data[pos:] if end < 0 else data[pos:end]
            try:
                if end < 0:
                    raise ValueError("unterminated line")
                record = json.loads(line)
                if not isinstance(record, dict) or "key" not in record or "rows" not in record:
                    raise ValueError("not a cell record")
            except ValueError:
                if end < 0 or data[end + 1:].strip() == b"":
                    return  # torn last line: a crash mid-write; ignored
                raise JournalError(f"{self.path}: damaged line at byte {pos} "
                                   "(not the last line, so not a crash); "
                                   "move the file away to start afresh") from None
            pos = end + 1
            self._valid_bytes = pos
            yield pos, record

    def load(self) -> dict[str, dict]:
        """Finished cells by key (first record of a key wins)."""
        done: dict[str, dict] = {}
        for _, record in self._scan():
            if record["key"] not in done:
                record["rows"] = [{k: _restore(v) for k, v in row.items()}
                                  for row in record["rows"]]
                done[record["key"]] = record
        return done

    def append(self, key: str, params: dict, rows: list[dict]) -> None:
        """Durably record one finished cell."""
        if self._valid_bytes is None:
            for _ in self._scan():
                pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "params": {k: _jsonable(v) for k, v in params.items()},
                  "rows": [{k: _jsonable(v) for k, v in row.items()} for row in rows]}
        line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size != self._valid_bytes:  # drop a torn tail before appending
                os.ftruncate(fd, self._valid_bytes)
            os.lseek(fd, self._valid_bytes, os.SEEK_SET)
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._valid_bytes += len(line)
