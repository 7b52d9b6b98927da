"""The connection pool's check (settings.DATABASES OPTIONS["pool"]["check"]).

Imported by the settings module: psycopg only, nothing of Django's database layer.
"""

from __future__ import annotations

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
    request for it. A connection broken within that second fails its request once,
    as one broken mid-request does, and is then discarded.
    """
    returned = getattr(conn, "_deskbase_returned_at", None)
    if (
        returned is not None
        and time.monotonic() - returned < RECENTLY_USED_SECONDS
        and not conn.closed
        and conn.pgconn.status == pq.ConnStatus.OK
    ):
        return
    ConnectionPool.check_connection(conn)
