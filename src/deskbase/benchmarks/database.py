"""Database plumbing of the bench: the application role, SQL capture, raw psycopg timing."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any, cast

import psycopg
from django.conf import settings
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresConnection
from psycopg.conninfo import conninfo_to_dict

from deskbase.benchmarks.registry import Statement
from deskbase.core.tenancy import ACTOR_SETTING, ORG_SETTING

# The statement deskbase.core.tenancy uses to set the tenant (SET LOCAL semantics).
SET_TENANT = "SELECT set_config(%s, %s, true), set_config(%s, %s, true)"
_URL_KEYS = {"user": "USER", "password": "PASSWORD", "host": "HOST", "port": "PORT"}


class StatementRecorder:
    """Execute wrapper that keeps every statement (SQL and parameters) the ORM sends."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(Statement(sql, copy.copy(params), many))
        return execute(sql, params, many, context)


def _application_settings(current: dict[str, Any]) -> dict[str, Any]:
    """The default connection's settings with the application role's credentials.

    NAME stays: both roles use one database, and under pytest it is the test
    database. No pool: each bench thread keeps one connection for the whole
    run (as a busy server thread keeps its pooled one), and --concurrency may
    exceed the pool's max_size.
    """
    params = conninfo_to_dict(settings.DESKBASE_APP_DATABASE_URL)
    params.pop("dbname", None)
    updated = {**current, "OPTIONS": {**current["OPTIONS"]}}
    updated["OPTIONS"].pop("pool", None)
    for key, setting in _URL_KEYS.items():
        updated[setting] = str(params.pop(key, "") or "")
    updated["OPTIONS"].update(params)
    return updated


@contextlib.contextmanager
def application_role() -> Iterator[None]:
    """Connect as the application role, as the web server does (row-level security on).

    Management commands connect as the owner. The settings dict of the default
    alias is changed in place because every thread builds its connection from
    that same dict; it is put back, and the connections closed, on the way out.
    Process-wide: only for the bench command (and tests) while nothing else runs.
    """
    settings_dict = connections["default"].settings_dict
    saved = copy.copy(settings_dict)
    connection.close()
    # The owner's pooled connections must not be handed out (deskbase runs on PostgreSQL only).
    cast(PostgresConnection, connection).close_pool()
    settings_dict.update(_application_settings(saved))
    try:
        yield
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)


def role_report() -> dict[str, Any]:
    """Who the default connection is, and whether row-level security binds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolbypassrls,"
            " (SELECT tableowner FROM pg_tables WHERE tablename = 'tickets_ticket')"
            " FROM pg_roles r WHERE r.rolname = current_user"
        )
        role, bypass, table_owner = cursor.fetchone()
    return {"role": role, "rls_enforced": not bypass and role != table_owner}


@contextlib.contextmanager
def raw_connection() -> Iterator[psycopg.Connection]:
    """A plain psycopg connection with the default alias's parameters, outside Django.

    It keeps Django's adapters (so parameters render to the same SQL text) and
    client-side binding (Django's default), and the session time zone Django sets.
    """
    params = connections["default"].get_connection_params()
    params["cursor_factory"] = psycopg.ClientCursor
    conn = psycopg.connect(**params, autocommit=False)
    try:
        conn.execute("SELECT set_config('TimeZone', %s, false)", [connection.timezone_name])
        conn.commit()
        yield conn
    finally:
        conn.close()


def time_statements(
    statements: list[Statement], tenant: tuple[int, int | None], *, samples: int, warmup: int
) -> list[float]:
    """Milliseconds to run `statements` (and fetch their rows), once per sample.

    Each sample is one transaction with the tenant set first, like the ORM's;
    only the statements are timed. The transaction is rolled back, so replayed
    writes leave nothing behind (and skip the commit the ORM's writes pay).
    """
    org_id, actor_id = tenant
    tenant_params = [ORG_SETTING, str(org_id), ACTOR_SETTING, str(actor_id or "")]
    timings: list[float] = []
    with raw_connection() as conn:
        for index in range(warmup + samples):
            with conn.cursor() as cursor:
                cursor.execute(SET_TENANT, tenant_params)
                start = time.perf_counter()
                for statement in statements:
                    _execute(cursor, statement)
                elapsed = time.perf_counter() - start
            conn.rollback()
            if index >= warmup:
                timings.append(elapsed * 1000)
    return timings


def _execute(cursor: psycopg.Cursor, statement: Statement) -> None:
    if statement.many:
        cursor.executemany(statement.sql, statement.params)
        return
    cursor.execute(statement.sql, statement.params)
    if cursor.description is not None:
        cursor.fetchall()
