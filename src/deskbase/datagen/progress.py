"""A one-line progress display on stderr: percent, rows per second, time left.

On a terminal the line is rewritten in place (carriage return, at most a few times
a second); into a file or pipe it prints a plain line every 10 % instead, so logs
stay readable. Standard library only.
"""

from __future__ import annotations

import time
from typing import TextIO


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    def __init__(self, stream: TextIO | None, total: int, *, interval: float = 0.5) -> None:
        self.stream = stream
        self.total = max(1, total)
        self.started = time.monotonic()
        self.interval = interval
        self._shown = 0.0
        self._decile = -1
        self._first: tuple[float, int] | None = None  # (time, tickets) of the first ticket rows
        self._width = 0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def update(self, done: int, rows: int, *, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        fraction = min(1.0, done / self.total)
        if self.tty:
            if not force and now - self._shown < self.interval:
                return
            self._shown = now
            self._write("\r" + self.line(done, rows))
        elif done and int(fraction * 10) > self._decile:
            self._decile = int(fraction * 10)
            self._write(self.line(done, rows) + "\n")

    def line(self, done: int, rows: int) -> str:
        elapsed = self.elapsed()
        fraction = min(1.0, done / self.total)
        rate = rows / elapsed if elapsed > 0 else 0.0
        eta = self._eta(done)
        return (
            f"generating: {fraction * 100:5.1f}%  {done:,}/{self.total:,} tickets  "
            f"{rate:,.0f} rows/s  ETA {'?' if eta is None else duration(eta)}"
        )

    def _eta(self, done: int) -> float | None:
        """Time left at the pace of the tickets so far: the setup tables come first and
        would make the first minutes look slow."""
        now = time.monotonic()
        if done <= 0:
            return None
        if self._first is None:
            self._first = (now, done)
        since, base = self._first
        if done <= base:  # one point so far: the pace since the start is all there is
            return self.elapsed() * (self.total - done) / done
        return (self.total - done) * (now - since) / (done - base)

    def phase(self, message: str) -> None:
        """A step after the rows are in (indexes, keys): replaces the line on a terminal;
        elsewhere a line at most every 10 seconds."""
        if self.stream is None:
            return
        now = time.monotonic()
        if self.tty:
            self._write("\r" + message)
        elif now - self._shown >= 10:
            self._write(message + "\n")
        else:
            return
        self._shown = now

    def finish(self) -> None:
        if self.stream is not None and self.tty:
            self._write("\n")

    def _write(self, text: str) -> None:
        assert self.stream is not None
        if self.tty and text.startswith("\r"):
            padded = text[1:].ljust(self._width)
            self._width = len(text) - 1
            text = "\r" + padded
        self.stream.write(text)
        self.stream.flush()
