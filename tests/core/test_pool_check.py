"""The pool's check: no round trip for a connection just used, yet a connection the
server ended is never handed out."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from deskbase.core.db.pool import RECENTLY_USED_SECONDS, check_connection

pytestmark = pytest.mark.django_db


def _connect() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("pool", None)
    params.pop("server_side_binding", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.parametrize(("age", "pinged"), [(0.0, False), (RECENTLY_USED_SECONDS + 1, True)])
def test_only_a_connection_idle_for_a_second_is_pinged(monkeypatch, age, pinged):
    pings = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(pings.append))
    conn = _connect()
    try:
        # Given a healthy connection handed back `age` seconds ago
        conn._deskbase_returned_at = time.monotonic() - age
        # When the pool checks it, the round trip is made only for the idle one
        check_connection(conn)
        assert pings == ([conn] if pinged else [])
    finally:
        conn.close()


@pytest.mark.parametrize("just_used", [True, False])
def test_a_connection_the_server_ended_fails_the_check(just_used):
    conn, killer = _connect(), _connect()
    try:
        pid = conn.info.backend_pid
        if just_used:
            conn._deskbase_returned_at = time.monotonic()
        else:
            conn._deskbase_returned_at = time.monotonic() - RECENTLY_USED_SECONDS - 1
        # Given the server ends the backend (as a restart does)
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(50):  # until the termination message has arrived
            if (
                killer.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()[0]
                == 0
            ):
                break
            time.sleep(0.02)
        # Then the check raises: the pool discards it instead of handing it out
        with pytest.raises(psycopg.OperationalError):
            check_connection(conn)
    finally:
        conn.close()
        killer.close()
