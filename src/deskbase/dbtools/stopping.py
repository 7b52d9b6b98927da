"""A stop asked of `deskbase worker` by SIGTERM or SIGINT, recorded instead of raised.

The handler raises nothing: it records the request and calls what was registered
for it (each such callback only sets a flag or schedules a call on an event loop).
An exception raised by a signal handler lands in whatever the main thread runs at
that instant: between a lock's acquisition and the `try` that releases it, in
asyncio's bookkeeping, in a connection pool that is opening. The worker then could
not exit: another thread waited forever on the lock, or a pool on its workers,
and `deskbase up` killed it after 30 s. Here the code in progress runs on, and
the worker stops at the next point that checks for the request.

`deskbase worker` installs it first thing (deskbase.cli), before Django is
imported; the command (deskbase.dbtools.management.commands.worker) takes it over.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Whether a stop was asked for, and what to call when it is."""

    def __init__(self) -> None:
        self.requested = False
        self._callbacks: list[Callable[[], object]] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        for callback in list(self._callbacks):
            with contextlib.suppress(Exception):  # a handler raises nothing, ever
                callback()

    def on_request(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call `callback` at the next request (at once if one was made already); the
        function returned unregisters it. It runs in a signal handler: it must not
        take a lock nor raise."""
        self._callbacks.append(callback)
        if self.requested:
            callback()

        def forget() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return forget


def install() -> StopRequest:
    """The process's stop request: the one whose handler is installed, else a new one
    handling SIGTERM and SIGINT from now on (in the main thread; elsewhere signals
    cannot be handled, and only the returned object's callers can ask for a stop)."""
    current = signal.getsignal(signal.SIGTERM)
    owner = getattr(current, "__self__", None)
    if isinstance(owner, StopRequest):
        return owner
    request = StopRequest()
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, request.handle)
    return request
