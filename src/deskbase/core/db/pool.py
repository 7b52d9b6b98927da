"""The connection pool's check (settings.DATABASES OPTIONS["pool"]["check"]).

Imported by the settings module: psycopg only, nothing of Django's database layer.
"""

from __future__ import annotations

import select
import time

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
