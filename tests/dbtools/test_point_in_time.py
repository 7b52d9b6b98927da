"""Point-in-time recovery of the embedded cluster: WAL archiving, `deskbase backup
--base`, `deskbase restore --to-time/--to-lsn`, as an operator runs them."""

from __future__ import annotations

import psycopg
import pytest

from deskbase.embedded.cluster import OWNER_ROLE, Cluster
from deskbase.testing.plugin import free_port
from tests.fault.processes import run, wait_until
from tests.helpers import deskbase_env

pytestmark = pytest.mark.slow


def sql(cluster: Cluster, statement: str) -> list[tuple]:
    with psycopg.connect(cluster.url(OWNER_ROLE), autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def archived(cluster: Cluster) -> None:
    """Close the current WAL segment and wait until the archiver has copied it."""
    with cluster.connect() as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]

        def done() -> bool:
            last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
            return last is not None and last >= segment

        wait_until(done, 60, f"segment {segment} archived", interval=0.1)


@pytest.mark.parametrize("target", ["time", "lsn"])
def test_restore_to_a_point_finds_exactly_the_writes_before_it(workdir, target):
    # Given the embedded PostgreSQL with WAL archiving (the default) and a base backup
    var = workdir / "var"
    env = deskbase_env(DESKBASE_VAR_DIR=str(var), DESKBASE_PG_PORT=str(free_port()))
    started = run(env, "pg", "start")
    assert started.returncode == 0, started.stderr
    primary = Cluster(var, port=int(env["DESKBASE_PG_PORT"]))
    try:
        sql(primary, "CREATE TABLE notes (id int PRIMARY KEY, body text)")
        backup = run(env, "backup", "--base")
        assert backup.returncode == 0, backup.stderr
        assert "base backup written: " in backup.stdout
        # And writes, then a recorded point, then more writes
        sql(primary, "INSERT INTO notes SELECT g, 'first' FROM generate_series(1, 100) g")
        point = sql(primary, "SELECT clock_timestamp()::text, pg_current_wal_lsn()::text")[0]
        sql(primary, "INSERT INTO notes SELECT g, 'second' FROM generate_series(101, 150) g")
        sql(primary, "UPDATE notes SET body = 'changed' WHERE id <= 10")
        archived(primary)
        assert (var / "wal-archive").is_dir()

        # When the operator restores to that point into a new var directory
        into = workdir / "restored"
        option = ["--to-time", point[0]] if target == "time" else ["--to-lsn", point[1]]
        restored = run(env, "restore", *option, "--into", str(into))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert f"DESKBASE_VAR_DIR={into}" in restored.stdout

        # Then the recovered database holds exactly the first writes
        copy = Cluster(into, port=free_port())
        copy.start()
        try:
            rows = sql(copy, "SELECT body, count(*) FROM notes GROUP BY body")
            assert rows == [("first", 100)]
            # (a primary of its own, which takes writes)
            sql(copy, "INSERT INTO notes VALUES (1000, 'after recovery')")
        finally:
            copy.stop()
        # And the primary was not touched
        assert sql(primary, "SELECT count(*) FROM notes") == [(150,)]
    finally:
        run(env, "pg", "stop")


def test_restore_refuses_a_directory_that_holds_data_and_a_target_before_any_base(workdir):
    var = workdir / "var"
    env = deskbase_env(DESKBASE_VAR_DIR=str(var), DESKBASE_PG_PORT=str(free_port()))
    assert run(env, "pg", "start").returncode == 0
    try:
        assert run(env, "backup", "--base").returncode == 0
        # A target before the only base backup: nothing to start from
        early = run(env, "restore", "--to-time", "2001-01-01T00:00:00", "--into",
                    str(workdir / "new"))  # fmt: skip
        assert early.returncode != 0
        assert "no base backup" in early.stderr
        assert not (workdir / "new" / "pg").exists()
        # The var directory in use is never a target
        same = run(env, "restore", "--to-lsn", "FF/0", "--into", str(var))
        assert same.returncode != 0
        assert "new directory" in same.stderr
        # A malformed target is named
        bad = run(env, "restore", "--to-lsn", "yesterday", "--into", str(workdir / "new"))
        assert bad.returncode != 0
        assert "is not a WAL position" in bad.stderr
    finally:
        run(env, "pg", "stop")
