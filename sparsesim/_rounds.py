"""Round logs: how a long computation made of rounds (an IMP run) resumes round by round.

A computation that runs in rounds ``0, 1, ..., R`` (an iterative-magnitude
pruning run: the dense network, then one pruning round after another) takes a
:class:`RoundLog`.  After each finished round it calls :meth:`RoundLog.save`
with what the next round needs (masks, reference weights: host arrays) and the
round's output rows; when it starts, :attr:`RoundLog.done` says how many rounds
are already finished and :meth:`RoundLog.meta` / :meth:`RoundLog.array` give
their rows and the newest value of each saved array.  The computation never
knows where the rounds go: the sweep (:mod:`sparsesim.sweep.journal`) writes
them to disk, or ships them from a Dask worker to the client; a ``RoundLog()``
without a ``sink`` keeps them in memory only.

The module sits below the simulations and the sweep so that both can use it
without importing each other.

Examples
--------
>>> saved = []
>>> log = RoundLog(backend="numpy", sink=saved.append)
>>> log.save(0, rows=[{"round": 0, "acc": 0.5}], arrays={"mask": np.ones(3, bool)}, total=2)
>>> log.done, saved[0].index, saved[0].arrays["mask"].tolist()
(1, 0, [True, True, True])
>>> resumed = RoundLog(RoundState("numpy").extend(saved[0]))
>>> resumed.done, resumed.meta(0)["rows"], resumed.array("mask").dtype
(1, [{'round': 0, 'acc': 0.5}], dtype('bool'))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._validation import check_int
from .backend import to_numpy

__all__ = ["RoundRecord", "RoundState", "RoundLog", "RoundPause", "tree_arrays", "tree_from"]


@dataclass(frozen=True)
class RoundRecord:
    """One finished round: its index, JSON-able ``meta`` (rows, timing) and host arrays.

    Attributes
    ----------
    index : int
        The round, ``0 ..``.
    backend : str
        The array backend that computed it (a run resumes only on the same one).
    meta : dict
        ``rows`` (the round's output rows, flat dicts of scalars), ``total``
        (rounds of the whole run, or ``None`` when unknown), ``elapsed_s``
        (seconds the round took) and whatever else the computation saved.
    arrays : dict of str to numpy.ndarray
        State the next rounds need; a name saved again later replaces the
        older value.
    """

    index: int
    backend: str
    meta: dict
    arrays: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RoundState:
    """The finished rounds of a run, merged: their metas in order and the newest arrays.

    Picklable (a Dask client ships it to the worker that runs the next round).

    Examples
    --------
    >>> s = RoundState("numpy")
    >>> r0 = RoundRecord(0, "numpy", {"rows": []}, {"a": np.zeros(2), "b": np.ones(1)})
    >>> r1 = RoundRecord(1, "numpy", {"rows": []}, {"a": np.ones(2)})
    >>> s = s.extend(r0).extend(r1)
    >>> s.done, s.arrays["a"].tolist(), s.arrays["b"].tolist()
    (2, [1.0, 1.0], [1.0])
    >>> s.extend(r0)
    Traceback (most recent call last):
    ...
    ValueError: record must be round 2 (the next one); got round 0
    """

    backend: str
    metas: tuple = ()
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def done(self) -> int:
        """Rounds finished (the next round's index)."""
        return len(self.metas)

    def extend(self, record: RoundRecord) -> "RoundState":
        """This state with one more finished round.

        A round 0 computed on another backend than the earlier rounds starts
        the state afresh (a run is never continued across backends); any other
        record must be the next round, on the same backend.
        """
        if not isinstance(record, RoundRecord):
            raise TypeError(f"record must be a RoundRecord; got {type(record).__name__}")
        if record.index == 0 and record.backend != self.backend:
            return RoundState(record.backend, (dict(record.meta),), dict(record.arrays))
        if record.index != self.done:
            raise ValueError(f"record must be round {self.done} (the next one); got round "
                             f"{record.index}")
        if record.backend != self.backend:
            raise ValueError(f"record was computed on backend {record.backend!r}, the earlier "
                             f"rounds on {self.backend!r}")
        return RoundState(self.backend, self.metas + (dict(record.meta),),
                          {**self.arrays, **record.arrays})

    @property
    def elapsed_s(self) -> float:
        """Seconds the finished rounds took, summed."""
        return float(sum(m.get("elapsed_s", 0.0) for m in self.metas))


class RoundPause(BaseException):
    """Raised by :meth:`RoundLog.save` in one-round mode: the round is done, stop here.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that no ``except
    Exception`` inside the computation swallows it; the caller that asked for
    one round at a time catches it and ships :attr:`record` back.
    """

    def __init__(self, record: RoundRecord):
        super().__init__(f"round {record.index} finished")
        self.record = record


class RoundLog:
    """The rounds a computation has finished and the hook it reports new ones to.

    Parameters
    ----------
    state : RoundState, optional
        Rounds finished earlier (the run resumes after them); on another
        backend than ``backend`` they are ignored (the run starts afresh).
    backend : str, optional
        The backend this process computes on (default: ``state``'s).
    sink : callable, optional
        ``sink(record)`` for each round saved (it journals the round durably
        before the computation goes on).
    pause : bool
        Stop after one round: :meth:`save` raises :class:`RoundPause`.

    Raises
    ------
    TypeError
        For a ``state`` that is not a :class:`RoundState` or a ``sink`` that
        is not callable.
    """

    def __init__(self, state: RoundState | None = None, *, backend: str | None = None,
                 sink: Callable[[RoundRecord], None] | None = None, pause: bool = False):
        if state is not None and not isinstance(state, RoundState):
            raise TypeError(f"state must be a RoundState or None; got {type(state).__name__}")
        if sink is not None and not callable(sink):
            raise TypeError(f"sink must be callable or None; got {type(sink).__name__}")
        backend = backend or (state.backend if state is not None else "numpy")
        if state is None or state.backend != backend:
            state = RoundState(backend)
        self.state = state
        self.backend = backend
        self.sink = sink
        self.pause = bool(pause)
        self._mark = time.perf_counter()

    @property
    def done(self) -> int:
        """Rounds finished so far: the index of the next round."""
        return self.state.done

    @property
    def elapsed_before(self) -> float:
        """Seconds the rounds restored from earlier runs took."""
        return self.state.elapsed_s

    def meta(self, index: int) -> dict:
        """The meta (``rows``, ...) saved with finished round ``index``."""
        index = check_int("index", index, low=0, high=max(self.done - 1, 0))
        if index >= self.done:
            raise ValueError(f"index must be a finished round (< {self.done}); got {index}")
        return self.state.metas[index]

    def rows(self, upto: int | None = None) -> list[dict]:
        """The rows of finished rounds ``0 .. upto - 1`` (default: all), in round order."""
        upto = self.done if upto is None else upto
        return [dict(row) for m in self.state.metas[:upto] for row in m.get("rows", ())]

    def array(self, name: str) -> np.ndarray:
        """The newest saved value of array ``name`` (a host array)."""
        try:
            return self.state.arrays[name]
        except KeyError:
            raise KeyError(f"no array {name!r} was saved with rounds 0 .. {self.done - 1}; "
                           f"saved: {sorted(self.state.arrays)}") from None

    def has(self, name: str) -> bool:
        """Whether array ``name`` was saved with a finished round."""
        return name in self.state.arrays

    def save(self, index: int, *, rows: Sequence[dict] = (), arrays: Mapping[str, Any] | None = None,
             total: int | None = None, **meta: Any) -> None:
        """Record finished round ``index`` (the next one), then hand it to the sink.

        Parameters
        ----------
        index : int
            Must equal :attr:`done`.
        rows : sequence of dict
            The round's output rows (flat dicts of JSON scalars).
        arrays : mapping of str to array, optional
            State the next rounds need (copied to the host).
        total : int, optional
            Rounds of the whole run (for progress and ETA).
        **meta
            Further JSON-able values kept with the round.

        Raises
        ------
        ValueError
            When ``index`` is not the next round.
        RoundPause
            In one-round mode, after the round is recorded.
        """
        index = check_int("index", index, low=0)
        if index != self.done:
            raise ValueError(f"index must be {self.done} (the next round); got {index}")
        now = time.perf_counter()
        record = RoundRecord(
            index, self.backend,
            {**meta, "rows": [dict(r) for r in rows], "total": total,
             "elapsed_s": round(now - self._mark, 6)},
            {str(k): np.array(to_numpy(v), copy=True) for k, v in (arrays or {}).items()})
        self.state = self.state.extend(record)
        if self.sink is not None:
            self.sink(record)
        self._mark = time.perf_counter()
        if self.pause:
            raise RoundPause(record)


def tree_arrays(prefix: str, tree: Any) -> dict[str, Any]:
    """Named arrays of a per-layer ``(A, B)`` list (``None`` parts left out), for a round file.

    >>> sorted(tree_arrays("mask_", [(1, None), (2, 3)]))
    ['mask_W0', 'mask_W1', 'mask_b1']
    """
    out = {}
    for l, (a, b) in enumerate(tree):
        out[f"{prefix}W{l}"] = a
        if b is not None:
            out[f"{prefix}b{l}"] = b
    return out


def tree_from(rounds: Any, prefix: str, n_layers: int, xp) -> list[tuple[Any, Any]]:
    """The per-layer list saved by :func:`tree_arrays`, read back from ``rounds`` onto ``xp``."""
    return [(xp.array(rounds.array(f"{prefix}W{l}"), copy=True),
             xp.array(rounds.array(f"{prefix}b{l}"), copy=True)
             if rounds.has(f"{prefix}b{l}") else None) for l in range(n_layers)]

