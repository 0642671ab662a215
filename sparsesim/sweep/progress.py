"""Progress of a sweep: a ``tqdm.auto`` bar when tqdm is installed, else a plain line (stderr).

``tqdm.auto`` draws a widget in a notebook and a text bar in a terminal; the
plain line needs no dependency and is what a sweep writes to a stream it is
given (tests, logs).  Notes (resuming, caps, dropped cells, the closing count)
are whole lines either way.
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
                 enabled: bool = True, interval: float = 5.0, use_tqdm: bool | None = None):
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
        self.start = time.monotonic()
        self.start_done = done
        self._last = 0.0
        self._status = ""

    def _line(self, detail: str) -> str:
        elapsed = time.monotonic() - self.start
        ran = self.done - self.start_done
        left = self.total - self.done
        eta = f" eta {_fmt_time(elapsed / ran * left)}" if ran and left else ""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        text = (f"{self.label} [{self.done}/{self.total}] {pct:3.0f}% "
                f"{_fmt_time(elapsed)}{eta}  {detail}")
        return text[:160]

    def _emit(self, detail: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
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
            self.note(f"{self.done}/{self.total} cells done in "
                      f"{_fmt_time(time.monotonic() - self.start)}")
