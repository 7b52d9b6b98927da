"""pgbouncer in transaction mode in front of the embedded PostgreSQL: tenant settings stay
in their transaction on shared server connections; prepared statements only where kept."""

from __future__ import annotations

import threading

import psycopg
import pytest

from deskbase.embedded import pooler as pooler_module
from deskbase.embedded.cluster import OWNER_ROLE
from deskbase.embedded.pooler import Pooler
from deskbase.testing.plugin import free_port

pytestmark = pytest.mark.slow

TENANT_SQL = "SELECT set_config('deskbase.org_id', %s, true)"


@pytest.fixture
def pooled(make_cluster):
    """A cluster with a tenant table like deskbase's (forced RLS on deskbase.org_id) and
    rows of two tenants, behind a pgbouncer with ONE server connection."""
    cluster = make_cluster()
    cluster.start()
    cluster.ensure_database()
    with cluster.connect(cluster.database) as conn:
        conn.execute(
            "CREATE TABLE notes (organization_id bigint NOT NULL, body text);"
            "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;"
            "ALTER TABLE notes FORCE ROW LEVEL SECURITY;"
            "CREATE POLICY tenant_isolation ON notes USING (organization_id ="
            " nullif(current_setting('deskbase.org_id', true), '')::bigint);"
            "GRANT SELECT ON notes TO deskbase_app;"
            "INSERT INTO notes SELECT 1, 'first tenant ' || g FROM generate_series(1, 3) g;"
            "INSERT INTO notes SELECT 2, 'second tenant ' || g FROM generate_series(1, 5) g;"
        )
    pooler = Pooler(cluster, port=free_port(), pool_size=1)
    pooler.start()
    yield pooler
    pooler.stop()


def visible(conn: psycopg.Connection, tenant: str | None) -> tuple[int, set[int]]:
    """One transaction: set the tenant (SET LOCAL) unless None, read; (backend pid, tenants)."""
    with conn.transaction():
        if tenant is not None:
            conn.execute(TENANT_SQL, [tenant])
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        seen = {row[0] for row in conn.execute("SELECT organization_id FROM notes")}
    return pid, seen


def test_tenant_settings_stay_in_their_transaction_on_a_shared_server_connection(pooled):
    # Given two application clients of pgbouncer, which has one server connection
    with (
        psycopg.connect(pooled.url(), prepare_threshold=None) as first,
        psycopg.connect(pooled.url(), prepare_threshold=None) as second,
    ):
        # When the first sets its tenant in a transaction, then the second reads
        pid_first, seen_first = visible(first, "1")
        pid_second, seen_none = visible(second, None)
        # Then both ran on the same server connection, and the setting ended with the
        # first's transaction: the second sees no tenant's rows
        assert pid_first == pid_second
        assert seen_first == {1}
        assert seen_none == set()
        # And tenants alternating on that connection each see their own rows only
        assert visible(second, "2")[1] == {2}
        assert visible(first, None)[1] == set()
        assert visible(first, "1")[1] == {1}


def test_two_tenants_interleaved_from_threads_never_see_each_other(pooled):
    failures: list[str] = []
    pids: set[int] = set()

    def client(tenant: str) -> None:
        with psycopg.connect(pooled.url(), prepare_threshold=None) as conn:
            for _ in range(100):
                pid, seen = visible(conn, tenant)
                pids.add(pid)
                if seen != {int(tenant)}:
                    failures.append(f"tenant {tenant} saw {seen}")
                _, leaked = visible(conn, None)
                if leaked:
                    failures.append(f"no tenant set, yet saw {leaked}")

    threads = [threading.Thread(target=client, args=(tenant,)) for tenant in ("1", "2") * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(pids) == 1  # every transaction of the four clients on the one server connection


def test_prepared_statements_are_kept_only_by_a_pgbouncer_that_supports_them(pooled):
    config = pooled.ini.read_text()
    assert "pool_mode = transaction" in config
    assert "listen_addr = 127.0.0.1" in config
    assert pooled.userlist.stat().st_mode & 0o777 == 0o600
    supported = pooler_module.version() >= (1, 21)
    assert pooled.prepared_statements is supported
    assert ("max_prepared_statements" in config) is supported
    # The owner reads pgbouncer's console
    console = pooled.url(OWNER_ROLE).rsplit("/", 1)[0] + "/pgbouncer"
    with psycopg.connect(console, autocommit=True, prepare_threshold=None) as conn:
        databases = conn.execute("SHOW DATABASES").fetchall()
    assert any(row[0] == pooled.cluster.database for row in databases)
