"""`deskbase pg replica start|status|stop|remove` as an operator runs them."""

from __future__ import annotations

import psycopg
import pytest

from deskbase.embedded.cluster import OWNER_ROLE, Cluster
from deskbase.testing.plugin import free_port
from tests.fault.processes import run, wait_until
from tests.helpers import deskbase_env

pytestmark = pytest.mark.slow


def test_a_replica_streams_reports_its_lag_and_is_removed(workdir):
    # Given the embedded PostgreSQL running
    var = workdir / "var"
    port, replica_port = free_port(), free_port()
    env = deskbase_env(DESKBASE_VAR_DIR=str(var), DESKBASE_PG_PORT=str(port),
                       DESKBASE_PG_REPLICA_PORT=str(replica_port))  # fmt: skip
    assert run(env, "pg", "replica", "start").returncode == 2  # not before the primary
    assert run(env, "pg", "start").returncode == 0
    primary = Cluster(var, port=port)
    replica = Cluster(var / "replica", port=replica_port)
    try:
        # When the operator starts a replica
        started = run(env, "pg", "replica", "start")
        assert started.returncode == 0, started.stderr
        assert f"replica started: port {replica_port}" in started.stdout
        # Then a write on the primary is read on the replica
        with psycopg.connect(primary.url(OWNER_ROLE), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")

        def replayed() -> bool:
            try:
                with psycopg.connect(replica.url(OWNER_ROLE)) as conn:
                    return conn.execute("SELECT x FROM t").fetchone() == (7,)
            except psycopg.Error:
                return False

        wait_until(replayed, 30, "the write replayed on the replica", interval=0.1)
        # And its status shows it streaming, with its lag
        status = run(env, "pg", "replica", "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "replica running" in status.stdout
        assert "s behind" in status.stdout
        assert "primary: streaming" in status.stdout
        # And starting it again changes nothing
        assert "already running" in run(env, "pg", "replica", "start").stdout
        # When it stops, its status says so (exit 3)
        assert run(env, "pg", "replica", "stop").returncode == 0
        stopped = run(env, "pg", "replica", "status")
        assert stopped.returncode == 3
        assert "replica stopped" in stopped.stdout
        # When it is removed, its data and its slot on the primary are gone
        assert "replica removed" in run(env, "pg", "replica", "remove").stdout
        assert not (replica.data_dir / "PG_VERSION").exists()
        with primary.connect() as conn:
            assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone() == (0,)
    finally:
        run(env, "pg", "replica", "stop")
        run(env, "pg", "stop")
