"""The connection pool's check (settings.DATABASES OPTIONS["pool"]["check"]).

Imported by the settings module: psycopg only, nothing of Django's database layer.
"""

from __future__ import annotations

import select
import threading
import time

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool

# A pooled connection handed back less than this long ago is handed out again unchecked.
RECENTLY_USED_SECONDS = 1.0


def check_connection(conn) -> None:
    """The pool's check before handing out a connection, without a round trip when the
    connection came back from a request within the last second (it answered then;
    deskbase.core.db.base stamps it when Django hands it back).

    The check exists for connections that sat idle while the server restarted or a
    network device dropped them; a busy server would otherwise pay one round trip per
    request for it. A server that ended the connection (a restart, a terminated
    backend) has sent a message and closed its end: the socket is readable although
    no query is running, which one poll() sees, and such a connection gets the full
    check (and is replaced). Only a connection silently dropped by the network within
    that second would fail its next request once, and then be discarded.
    """
    returned = getattr(conn, "_deskbase_returned_at", None)
    if (
        returned is not None
        and time.monotonic() - returned < RECENTLY_USED_SECONDS
        and not conn.closed
        and conn.pgconn.status == pq.ConnStatus.OK
        and not _pending_input(conn)
    ):
        return
    ConnectionPool.check_connection(conn)


def _pending_input(conn) -> bool:
    """Whether the server sent something to an idle connection (it only does so to end it)."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


# ------------------------------------------------------------------ reachability
class Reachability:
    """Whether this process's last attempt to connect to PostgreSQL failed, and why.

    The pool's connection class (TrackedConnection) reports every attempt. While the
    last one failed less than `retry_seconds` ago the database counts as unreachable:
    a request then fails at once (deskbase.core.db.base, deskbase.core.outage)
    instead of waiting out the pool's timeout. "At once" still means one fresh
    attempt (`down`), one thread at a time: a stopped server refuses it within a
    millisecond, and a server that is back is used by the very next request, not a
    window later (the pool's own retries run on a back-off of their own). One per
    process: the settings give the process one database.
    """

    retry_seconds: float = 1.0
    # libpq's smallest connect_timeout: a host that drops packets costs a prober this.
    probe_timeout: int = 2

    def __init__(self) -> None:
        self.failed_at: float | None = None
        self.reason = ""
        # The arguments of the last attempt, to try the same connection again.
        self.attempt: tuple[tuple, dict] | None = None
        self._probing = threading.Lock()

    def failed(self, exc: BaseException, attempt: tuple[tuple, dict] | None = None) -> None:
        self.reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        self.failed_at = time.monotonic()
        if attempt is not None:
            self.attempt = attempt

    def succeeded(self) -> None:
        self.failed_at = None

    def failed_since(self, moment: float) -> bool:
        failed_at = self.failed_at
        return failed_at is not None and failed_at >= moment

    def recently_failed(self) -> bool:
        failed_at = self.failed_at
        return failed_at is not None and time.monotonic() - failed_at < self.retry_seconds

    def down(self) -> bool:
        """True while the database cannot be reached: the last attempt failed recently
        and a new one, made now unless another thread is making it, fails too."""
        if not self.recently_failed():
            return False
        attempt = self.attempt
        if attempt is None or not self._probing.acquire(blocking=False):
            return True
        try:
            args, kwargs = attempt
            try:
                probe = TrackedConnection.connect(
                    *args, **{**kwargs, "connect_timeout": self.probe_timeout}
                )
            except psycopg.OperationalError:
                return True
            probe.close()
            return False
        finally:
            self._probing.release()


REACHABILITY = Reachability()


class TrackedConnection(psycopg.Connection):
    """psycopg's connection, reporting each connection attempt to REACHABILITY."""

    @classmethod
    def connect(cls, *args, **kwargs):
        try:
            conn = super().connect(*args, **kwargs)
        except psycopg.OperationalError as exc:
            REACHABILITY.failed(exc, (args, kwargs))
            raise
        REACHABILITY.succeeded()
        return conn
