"""Requests read in full before the application runs, and a bound on requests in it.

gunicorn's threaded worker gives a connection its thread from the first byte of the
request to the last byte of the answer, and Django reads the body only when a view
asks for it: inside the request's transaction, holding a pooled database
connection. Eight clients trickling their bodies at 2 bytes/s therefore held all
4 x 2 threads and froze the server. nginx in front (which buffers requests) is the
classic cure, but `deskbase up` must hold up without one. So:

- gunicorn runs many threads per process (DESKBASE_WEB_CONNECTIONS, 32), one per
  open connection (worker_connections equals it, so a process with every thread
  taken stops accepting and another one takes the connection). A thread blocked on a
  slow socket costs memory, no CPU and no database connection.
- BufferedRequests reads the whole body first (into memory, on disk past 1 MiB),
  with no database connection and outside the application slots; a client that
  sends nothing for DESKBASE_WEB_READ_TIMEOUT seconds, or whose body takes longer
  than that plus a second per 4 KiB (a floor of about 4 KiB/s, which a phone on a
  poor link still clears), gets a 408.
- Only then does the request take one of DESKBASE_WEB_THREADS application slots
  (waiting for one a bounded time, else a fast 503: deskbase.core.overload)
  (2 a process, the concurrency measured fastest on 2 cores), so more threads do
  not mean more Python competing for the cores; the slot is given back, and the
  database connection returned to the pool, before the answer is written to the
  client, so a slow reader holds neither.

Headers trickled slowly still hold a connection thread until they are complete
(gunicorn parses them); with DESKBASE_WEB_CONNECTIONS x processes threads (128 on
2 cores) that takes many more clients than before. A server facing the internet
still belongs behind a buffering proxy (docs/operations.md).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

from deskbase.core import overload

logger = logging.getLogger(__name__)

CHUNK = 16 * 1024
# Bytes a second a body must average once past the read timeout's allowance.
MIN_RATE = 4 * 1024
IN_MEMORY = 1024 * 1024
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and part headers beside a file


def largest_body() -> int:
    """The largest body deskbase takes: an attachment (or a form) and its multipart framing.

    A body announced larger is not buffered (Django refuses it: 413); a chunked one that
    grows past it is refused here, as no Content-Length let Django do it.
    """
    from django.conf import settings

    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.MAX_ATTACHMENT_BYTES) + (
        MULTIPART_OVERHEAD
    )


class BodyTimeout(Exception):
    """The body did not arrive in time: 408."""

    status, line = 408, "408 Request Timeout"
    detail = "The request body did not arrive in time."


class BodyTooLarge(BodyTimeout):
    """The body is larger than any deskbase takes: 413."""

    status, line = 413, "413 Content Too Large"
    detail = "The request body is too large."


class BufferedRequests:
    def __init__(
        self,
        app: Callable,
        *,
        slots: int,
        read_timeout: float,
        queue: int | None = None,
        queue_wait: float = 3600.0,
    ) -> None:
        self.app = app
        # The slots, with a bounded wait for them (deskbase.core.overload); by default
        # (queue None) as many may wait as there are threads, for long.
        self.gate = overload.Gate(slots=slots, queue=10**6 if queue is None else queue,
                                  wait_seconds=queue_wait)  # fmt: skip
        self.read_timeout = read_timeout

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            self.buffer_body(environ)
        except BodyTimeout as exc:
            logger.warning("%s for %s %s: %s", exc.status, environ.get("REQUEST_METHOD"),
                           environ.get("PATH_INFO"), exc)  # fmt: skip
            return refuse(environ, start_response, exc)
        if environ.get("PATH_INFO") in overload.EXEMPT_PATHS:
            return self.app(environ, start_response)
        try:
            self.gate.enter()
        except overload.Overloaded:
            return overload.refuse(environ, start_response)
        try:
            result = self.app(environ, start_response)
            # The answer is computed; give the database connection back before it is
            # written (Django would at the end of writing). A streaming answer that
            # queries later takes a connection again.
            from django.db import close_old_connections

            close_old_connections()
        finally:
            self.gate.leave()
        return result

    def buffer_body(self, environ: dict[str, Any]) -> None:
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length == 0 and not chunked:
            return
        limit = largest_body()
        if length > limit:
            return
        stream = environ["wsgi.input"]
        sock = environ.get("gunicorn.socket")
        # Handed on as wsgi.input; closed when the request is collected.
        buffer = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        started = time.monotonic()
        received = 0
        try:
            while chunked or received < length:
                # The whole body may take the read timeout, plus a second per MIN_RATE bytes.
                allowed = started + self.read_timeout + received / MIN_RATE - time.monotonic()
                if allowed <= 0:
                    raise BodyTimeout(f"{received} bytes in {time.monotonic() - started:.0f} s")
                if sock is not None:
                    sock.settimeout(min(self.read_timeout, allowed))
                want = CHUNK if chunked else min(CHUNK, length - received)
                try:
                    data = stream.read(want)
                except TimeoutError:
                    raise BodyTimeout(f"no data for {self.read_timeout:g} s") from None
                if not data:
                    break
                buffer.write(data)
                received += len(data)
                if received > limit:
                    raise BodyTooLarge(f"more than {limit} bytes")
        finally:
            if sock is not None:
                sock.settimeout(None)
        buffer.seek(0)
        environ["wsgi.input"] = buffer
        environ["CONTENT_LENGTH"] = str(received)


def refuse(environ: dict[str, Any], start_response: Callable, exc: BodyTimeout) -> list[bytes]:
    """A problem document under /api/ (every API error is one), plain text elsewhere."""
    if environ.get("PATH_INFO", "").startswith("/api/"):
        from deskbase.core.problems import PROBLEM_TYPE, problem_body

        body = json.dumps(problem_body(exc.status, exc.detail)).encode()
        content_type = PROBLEM_TYPE
    else:
        body, content_type = f"{exc.detail}\n".encode(), "text/plain; charset=utf-8"
    start_response(
        exc.line,
        [("Content-Type", content_type), ("Connection", "close"),
         ("Content-Length", str(len(body)))],
    )  # fmt: skip
    return [body]


def _content_length(environ: dict[str, Any]) -> int:
    try:
        return max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0
