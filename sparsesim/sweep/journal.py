"""Append-only journal of finished cells, and the round journal of unfinished IMP runs.

One JSON object per line: ``{"key": ..., "params": {...}, "rows": [...]}``.
Each line is written with a single ``write`` of the whole line, flushed and
``fsync``-ed before the next cell is reported done, so after a crash (Ctrl-C,
``kill -9``, power loss) the file holds every finished cell and at most one
torn final line.  Reading ignores a torn (undecodable or unterminated) last
line and truncates it on the next append; a torn line anywhere else means the
file was damaged by something other than a crash and raises.  Cells recorded
twice (same key) are de-duplicated: the first record wins.

Round journal
-------------
A task that runs in rounds (an IMP run of the lottery or rewinding
simulations: all cells of a batch, see :mod:`sparsesim._rounds`) is journaled
round by round by :class:`RoundJournal`, beside the cell journal:
``<out>/rounds/<task key>/round_<r>.npz``, one file per finished round, where
the task key is a hash of the task's sorted cell keys.  A file holds the
round's rows and what the next round needs (masks bit-packed with
``numpy.packbits``, float arrays as they are: exact) plus a JSON header
(round index, backend, the task's cell keys, per-array shapes) and a SHA-256
of the whole content.  It is written to a temporary name, ``fsync``-ed and
renamed, and the folder is ``fsync``-ed, so a crash leaves either the whole
file or none; a file that does not read back whole (torn, truncated,
checksum mismatch) ends the usable rounds there and that round is computed
again.  Nothing of it goes into ``journal.jsonl``: the cell journal keeps
its format (one line per finished cell), so journals written before rounds
were journaled load unchanged.  Once a task's cells are in ``journal.jsonl``
its round folder is deleted (the rows are then in the cell records);
folders of tasks that are no longer pending (a finished task whose deletion
was cut short, a changed grid) are deleted when a sweep starts.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .._rounds import RoundRecord, RoundState

__all__ = ["Journal", "JournalError", "RoundJournal", "round_key"]


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


# --------------------------------------------------------------------------- round journal

_ROUND_FILE = re.compile(r"^round_(\d+)\.npz$")
_HEADER = "__header__"
_DIGEST = "__sha256__"


def round_key(cell_keys: Sequence[str]) -> str:
    """Name of the round folder of the task made of ``cell_keys`` (order does not matter).

    Examples
    --------
    >>> round_key(["b", "a"]) == round_key(["a", "b"]), len(round_key(["a"]))
    (True, 20)
    """
    if isinstance(cell_keys, (str, bytes)) or not all(isinstance(k, str) for k in cell_keys):
        raise TypeError(f"cell_keys must be a sequence of cell key strings; got {cell_keys!r}")
    return hashlib.sha256("\n".join(sorted(cell_keys)).encode()).hexdigest()[:20]


def _digest(header: bytes, arrays: dict[str, np.ndarray]) -> bytes:
    h = hashlib.sha256(header)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.digest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class RoundJournal:
    """Sidecar files of the finished rounds of unfinished tasks (see the module notes).

    Parameters
    ----------
    folder : path
        ``<out>/rounds``; one sub-folder per task.

    Examples
    --------
    >>> import tempfile
    >>> from sparsesim._rounds import RoundRecord
    >>> rj = RoundJournal(tempfile.mkdtemp())
    >>> rec = RoundRecord(0, "numpy", {"rows": [{"acc": 0.25}], "total": 3},
    ...                   {"mask": np.array([[True, False, True]])})
    >>> rj.write("t1", ["cellA"], rec)
    >>> state = rj.load("t1", ["cellA"])
    >>> state.done, state.metas[0]["rows"], state.arrays["mask"].tolist()
    (1, [{'acc': 0.25}], [[True, False, True]])
    >>> rj.discard("t1"); rj.load("t1", ["cellA"]) is None
    True
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def task_dir(self, key: str) -> Path:
        if not isinstance(key, str) or not re.fullmatch(r"[0-9A-Za-z_-]+", key):
            raise ValueError(f"key must be a folder-safe task key; got {key!r}")
        return self.folder / key

    def path(self, key: str, index: int) -> Path:
        return self.task_dir(key) / f"round_{index}.npz"

    def tasks(self) -> list[str]:
        """Task keys that have a round folder."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.is_dir())

    # ---------------------------------------------------------------- writing

    def write(self, key: str, cells: Sequence[str], record: RoundRecord) -> None:
        """Durably record finished round ``record.index`` of task ``key``.

        Round files of later rounds (left by a run that was not continued,
        e.g. on another backend) are removed first, so the folder never holds
        rounds of two different runs.
        """
        if not isinstance(record, RoundRecord):
            raise TypeError(f"record must be a RoundRecord; got {type(record).__name__}")
        folder = self.task_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        for p in folder.iterdir():
            m = _ROUND_FILE.match(p.name)
            if (m and int(m.group(1)) > record.index) or ".tmp" in p.name:
                p.unlink(missing_ok=True)
        packed, stored = {}, {}
        for name, a in record.arrays.items():
            if name.startswith("__"):
                raise ValueError(f"array names must not start with '__'; got {name!r}")
            a = np.asarray(a)
            if a.dtype == bool:
                packed[name] = list(a.shape)
                stored[name] = np.packbits(a.reshape(-1))
            else:
                stored[name] = np.ascontiguousarray(a)
        header = json.dumps({"index": int(record.index), "backend": record.backend,
                             "cells": sorted(cells), "packed": packed,
                             "meta": _jsonable_tree(record.meta)},
                            sort_keys=True, allow_nan=False).encode()
        buf = io.BytesIO()
        np.savez(buf, **stored, **{_HEADER: np.frombuffer(header, dtype=np.uint8),
                                   _DIGEST: np.frombuffer(_digest(header, stored),
                                                          dtype=np.uint8)})
        final = self.path(key, record.index)
        tmp = folder / f"{final.name}.tmp-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(buf.getbuffer())
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(folder)

    def discard(self, key: str) -> None:
        """Delete task ``key``'s round folder (its cells are journaled)."""
        shutil.rmtree(self.task_dir(key), ignore_errors=True)

    # ---------------------------------------------------------------- reading

    def _read(self, path: Path) -> tuple[dict, dict[str, np.ndarray]]:
        """One round file's header and arrays; ``ValueError`` when it is not whole."""
        try:
            with np.load(path, allow_pickle=False) as z:
                files = dict(z.items())
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a torn one
            raise ValueError(f"unreadable ({type(exc).__name__}: {exc})") from None
        try:
            header_bytes = files.pop(_HEADER).tobytes()
            digest = files.pop(_DIGEST).tobytes()
        except KeyError:
            raise ValueError("no header") from None
        if _digest(header_bytes, files) != digest:
            raise ValueError("checksum mismatch")
        header = json.loads(header_bytes)
        arrays = {}
        for name, a in files.items():
            if name in header["packed"]:
                shape = tuple(header["packed"][name])
                n = int(np.prod(shape, dtype=np.int64))
                arrays[name] = np.unpackbits(a, count=n).astype(bool).reshape(shape)
            else:
                arrays[name] = a
        return header, arrays

    def load(self, key: str, cells: Sequence[str]) -> RoundState | None:
        """The finished rounds of task ``key`` (``None`` when there are none).

        Rounds are read from 0 upwards until a file is missing or does not
        read back whole (a crash mid-write, or damage): that file and every
        later one are removed, and the run continues after the last whole
        round.  Files of another task (their cell keys differ) count as
        missing.
        """
        folder = self.task_dir(key)
        if not folder.is_dir():
            return None
        state = None
        index = 0
        while True:
            path = self.path(key, index)
            if not path.exists():
                break
            try:
                header, arrays = self._read(path)
                if header["index"] != index or header["cells"] != sorted(cells):
                    raise ValueError("belongs to another round or task")
                record = RoundRecord(index, header["backend"], _restore_tree(header["meta"]),
                                     arrays)
                state = (state or RoundState(record.backend)).extend(record)
            except ValueError:
                break
            index += 1
        for p in folder.iterdir():          # a torn round, later ones, temporary files
            m = _ROUND_FILE.match(p.name)
            if (m and int(m.group(1)) >= index) or ".tmp" in p.name:
                p.unlink(missing_ok=True)
        return state


def _jsonable_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable_tree(v) for v in value]
    return _jsonable(value)


def _restore_tree(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return _restore(value)
        return {k: _restore_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_tree(v) for v in value]
    return value
