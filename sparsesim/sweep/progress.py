"""Progress of a sweep: a ``tqdm.auto`` bar when tqdm is installed, else a plain line (stderr).

``tqdm.auto`` draws a widget in a notebook and a text bar in a terminal; the
plain line needs no dependency and is what a sweep writes to a stream it is
given (tests, logs).  Notes (resuming, caps, dropped cells, the closing count)
are whole lines either way.

Cells are counted as they are journaled.  Tasks that run in rounds (IMP runs)
also report each finished round (:meth:`Progress.round_done`): the line then
reads ``round 7/12 of task 3/36`` and its ETA comes from the measured round
times, not from cell counts (a lottery sweep journals all its cells at the
end of its tasks, so a cell-based ETA says nothing for hours)::

    eta = rounds left × (seconds since the start / rounds computed since the start)

where the rounds left are those of the unfinished tasks (a task not started
yet is counted with the mean round count of the tasks seen so far).  The
rate is a wall-clock throughput, so parallel workers (Dask) are accounted
for; rounds restored from the round journal count as done but not in the
rate.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> bar = Progress(4, label="demo", stream=out, interval=0.0)
>>> bar.round_done(0, 2, 0, 3, seconds=1.0)
>>> "round 0/2 of task 1/2" in out.getvalue() and "eta" in out.getvalue()
True
>>> bar.rounds_left()
5
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Progress", "tqdm_class"]


def tqdm_class() -> Any:
    """``tqdm.auto.tqdm`` when tqdm is installed, else ``None``."""
    try:
        from tqdm.auto import tqdm  # noqa: PLC0415 - optional at run time
    except ImportError:
        return None
    return tqdm


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``[done/total] pct elapsed eta  last-cell`` on one line.

    On a terminal the line is redrawn in place; otherwise (CI logs, pipes) a
    line is printed at most every ``interval`` seconds and at the end.

    ``use_tqdm``: ``None`` (default) draws a ``tqdm.auto`` bar when tqdm is
    installed and no ``stream`` is given (the plain line otherwise); ``True``
    asks for the bar (an ``ImportError`` without tqdm); ``False`` never.
    """

    def __init__(self, total: int, done: int = 0, *, label: str = "", stream=None,
                 enabled: bool = True, interval: float = 5.0, use_tqdm: bool | None = None,
                 clock=time.monotonic):
        self.total, self.done, self.label = total, done, label
        self.bar = None
        if enabled and (use_tqdm or (use_tqdm is None and stream is None)):
            tqdm = tqdm_class()
            if tqdm is None and use_tqdm:
                raise ImportError("use_tqdm=True needs tqdm (pip install tqdm)")
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=done, desc=label, unit="cell",
                                file=stream or sys.stderr, dynamic_ncols=True, leave=True)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = clock
        self.start = clock()
        self.start_done = done
        self._last = 0.0
        self._status = ""
        # rounds: task index -> [rounds finished, rounds of the task or None]
        self._task_rounds: dict[int, list] = {}
        self._totals: dict[int, int] = {}          # rounds of every task seen, finished ones too
        self._finished_tasks: set[int] = set()
        self._n_tasks = 0
        self._rounds_run = 0
        self._round_seconds = 0.0

    # ------------------------------------------------------------------ rounds

    def round_done(self, task: int, n_tasks: int, index: int, total: int | None, *,
                   seconds: float | None = None, restored: bool = False) -> None:
        """Round ``index`` (0-based) of task ``task`` (0-based, of ``n_tasks``) finished.

        ``total`` is the task's number of rounds (``None`` when unknown);
        ``restored`` rounds come from the round journal (not timed here).
        """
        self._n_tasks = max(self._n_tasks, int(n_tasks))
        self._task_rounds[int(task)] = [int(index) + 1, None if total is None else int(total)]
        if total:
            self._totals[int(task)] = int(total)
        if not restored:
            self._rounds_run += 1
            self._round_seconds += float(seconds or 0.0)
        of = f"/{int(total) - 1}" if total else ""
        text = f"round {index}{of} of task {task + 1}/{n_tasks}"
        if not restored:
            self._status = text
            self._emit(text)

    def task_done(self, task: int) -> None:
        """Task ``task`` is finished (its cells are journaled)."""
        self._finished_tasks.add(int(task))
        self._task_rounds.pop(int(task), None)

    def rounds_left(self) -> int | None:
        """Rounds of unfinished tasks still to compute (``None`` before any round is known)."""
        totals = list(self._totals.values())
        if not totals or not self._n_tasks:
            return None
        mean_total = sum(totals) / len(totals)
        left = 0.0
        for task in range(self._n_tasks):
            if task in self._finished_tasks:
                continue
            done, total = self._task_rounds.get(task, (0, None))
            left += max((total if total else mean_total) - done, 0)
        return int(round(left))

    def _eta(self, elapsed: float) -> float | None:
        if self._rounds_run:
            left = self.rounds_left()
            if left is not None:
                return elapsed / self._rounds_run * left
        ran = self.done - self.start_done
        left_cells = self.total - self.done
        if ran and left_cells:
            return elapsed / ran * left_cells
        return None

    # ------------------------------------------------------------------ line

    def _line(self, detail: str) -> str:
        elapsed = self.clock() - self.start
        eta_s = self._eta(elapsed)
        eta = f" eta {_fmt_time(eta_s)}" if eta_s is not None and self.done < self.total else ""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        text = (f"{self.label} [{self.done}/{self.total}] {pct:3.0f}% "
                f"{_fmt_time(elapsed)}{eta}  {detail}")
        return text[:160]

    def _emit(self, detail: str, force: bool = False) -> None:
        if not self.enabled:
            return
        if self.bar is not None:   # rounds and their ETA as the bar's postfix
            elapsed = self.clock() - self.start
            eta_s = self._eta(elapsed)
            eta = f" eta {_fmt_time(eta_s)}" if eta_s is not None else ""
            self.bar.set_postfix_str((detail + eta)[:80])
            return
        now = self.clock()
        if self.tty:
            self.stream.write("\r\x1b[2K" + self._line(detail))
            self.stream.flush()
        elif force or now - self._last >= self.interval:
            self.stream.write(self._line(detail) + "\n")
            self.stream.flush()
            self._last = now

    def advance(self, detail: str = "") -> None:
        """One more cell finished."""
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(detail[:80], refresh=False)
            self.bar.update(1)
            return
        self._emit(detail, force=self.done == self.total)

    def status(self, text: str) -> None:
        """Status text from inside a long cell."""
        self._status = text
        if self.bar is not None:
            self.bar.set_postfix_str(text[:80])
            return
        self._emit(text)

    def note(self, text: str) -> None:
        """A message on its own line."""
        if self.bar is not None:
            self.bar.write(f"{self.label}: {text}", file=self.stream)
        elif self.enabled:
            if self.tty:
                self.stream.write("\r\x1b[2K")
            self.stream.write(f"{self.label}: {text}\n")
            self.stream.flush()

    def finish(self) -> None:
        """Close the bar (or end the redrawn line) and note the count and the time."""
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.tty:
            self.stream.write("\n")
        if self.enabled:
            rounds = f" ({self._rounds_run} rounds)" if self._rounds_run else ""
            self.note(f"{self.done}/{self.total} cells done{rounds} in "
                      f"{_fmt_time(self.clock() - self.start)}")
