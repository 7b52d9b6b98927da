"""The connection pool's check (settings.DATABASES OPTIONS["pool"]["check"]).

Imported by the settings module: psycopg only, nothing of Django's database layer.
"""

from __future__ import annotations

import select
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
    a request then fails at once (deskbase.core.db.base) instead of waiting out the
    pool's timeout, and after that window one request tries again. One per process:
    the settings give the process one database.
    """

    retry_seconds: float = 1.0

    def __init__(self) -> None:
        self.failed_at: float | None = None
        self.reason = ""

    def failed(self, exc: BaseException) -> None:
        self.reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        self.failed_at = time.monotonic()

    def succeeded(self) -> None:
        self.failed_at = None

    def failed_since(self, moment: float) -> bool:
        failed_at = self.failed_at
        return failed_at is not None and failed_at >= moment

    def recently_failed(self) -> bool:
        failed_at = self.failed_at
        return failed_at is not None and time.monotonic() - failed_at < self.retry_seconds


REACHABILITY = Reachability()


class TrackedConnection(psycopg.Connection):
    """psycopg's connection, reporting each connection attempt to REACHABILITY."""

    @classmethod
    def connect(cls, *args, **kwargs):
        try:
            conn = super().connect(*args, **kwargs)
        except psycopg.OperationalError as exc:
            REACHABILITY.failed(exc)
            raise
        REACHABILITY.succeeded()
        return conn
