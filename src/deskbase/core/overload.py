"""Overload protection: a bounded wait for the application's slots, then a fast 503.

Each server process lets DESKBASE_WEB_THREADS requests run the application at once
(deskbase.core.request_buffer). Before this gate a request that found them taken
waited for as long as it took: under a load the server could not carry, every
request queued behind the others until clients and proxies timed out, and the
server spent its time on answers nobody waited for any more.

Now a request that finds every slot taken may wait only while fewer than
DESKBASE_WEB_QUEUE others wait in this process, and only for
DESKBASE_WEB_QUEUE_WAIT_MS; otherwise it is answered at once with a 503 and
`Retry-After` (a problem document under /api/, a small page elsewhere), before the
database is touched. The queue absorbs bursts; past it the server sheds load, its
latency stays bounded, and it serves normally again as soon as the load drops (no
state to recover: the count is of requests in flight). `/health` is not gated: it
must answer, and says how full the gate is (`server` in its JSON).

The cost is a semaphore acquire and a lock around two counters: microseconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
# Not gated: the health check must answer however busy the application is.
EXEMPT_PATHS = frozenset({"/health"})

PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Busy</title></head>
<body>
<h1>Too busy right now</h1>
<p>deskbase has more requests than it can answer at the moment. Nothing you did
caused this; please try again in a few seconds.</p>
</body>
</html>
"""


class Overloaded(Exception):
    """Every slot taken and the queue full, or the wait for a slot over."""


class Gate:
    """At most `slots` requests in the application; at most `queue` more wait, each
    for at most `wait_seconds`; the others are refused at once."""

    def __init__(self, *, slots: int, queue: int, wait_seconds: float) -> None:
        self.slots = max(1, slots)
        self.queue = max(0, queue)
        self.wait_seconds = max(0.0, wait_seconds)
        self._free = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.waiting = 0
        self.refused = 0
        self._last_log = 0.0

    def enter(self) -> None:
        """Take a slot (give it back with `leave`); Overloaded if none can be had in time."""
        if not self._free.acquire(blocking=False):
            self._wait()
        with self._lock:
            self.in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._free.release()

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a slot for the block; Overloaded if none can be had in time."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def _wait(self) -> None:
        with self._lock:
            if self.waiting >= self.queue:
                self._refuse("the queue is full")
            self.waiting += 1
        try:
            got = self._free.acquire(timeout=self.wait_seconds) if self.wait_seconds else False
        finally:
            with self._lock:
                self.waiting -= 1
        if not got:
            with self._lock:
                self._refuse("no slot within the wait")

    def _refuse(self, why: str) -> None:
        # Called with the lock held.
        self.refused += 1
        now = time.monotonic()
        if now - self._last_log >= 10:  # a line per 10 s, not one per refusal
            self._last_log = now
            logger.warning("overloaded: refusing requests with 503 (%s; %d refused so far)",
                           why, self.refused)  # fmt: skip
        raise Overloaded(why)

    def report(self) -> dict[str, int | float]:
        with self._lock:
            return {"slots": self.slots, "in_flight": self.in_flight, "queue": self.queue,
                    "waiting": self.waiting, "refused": self.refused,
                    "queue_wait_ms": round(self.wait_seconds * 1000)}  # fmt: skip


# This process's gate: deskbase.wsgi sets it up from the environment; None when the
# application is not served through it (tests with Django's client, runserver).
_GATE: list[Gate] = []


def install(gate: Gate) -> Gate:
    _GATE[:] = [gate]
    return gate


def report() -> dict[str, int | float] | None:
    return _GATE[0].report() if _GATE else None


def refuse(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    """The 503: a problem document under /api/, a small page elsewhere."""
    if environ.get("PATH_INFO", "").startswith("/api/"):
        from deskbase.core.problems import PROBLEM_TYPE, problem_body

        detail = "The server is overloaded; try again shortly."
        body = json.dumps(problem_body(503, detail)).encode()
        content_type = PROBLEM_TYPE
    else:
        body, content_type = PAGE, "text/html; charset=utf-8"
    start_response(
        "503 Service Unavailable",
        [("Content-Type", content_type), ("Content-Length", str(len(body))),
         ("Retry-After", str(RETRY_AFTER_SECONDS)), ("Cache-Control", "no-store")],
    )  # fmt: skip
    return [body]
