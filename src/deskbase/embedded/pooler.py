"""pgbouncer in transaction mode in front of the embedded PostgreSQL (`deskbase up --pooler`).

Layout (written at every start):

    var/pgbouncer/pgbouncer.ini   the configuration
    var/pgbouncer/userlist.txt    the login roles' passwords (mode 0600)
    var/log/pgbouncer.log         its log

It listens on 127.0.0.1 (DESKBASE_POOLER_PORT, 6432) and reaches PostgreSQL over its
unix socket. Transaction mode hands a server connection to a client for one
transaction only: safe for deskbase because the tenant and actor are SET LOCAL in each
transaction (docs/tenancy.md). What needs a session of its own (LISTEN, procrastinate's
worker, session-level advisory locks, migrations) connects directly: only the web
server's application role goes through the pooler.

pgbouncer keeps prepared statements in transaction mode from 1.21 on
(`max_prepared_statements`); with an older one deskbase prepares none
(`prepared_statements` below is False, and `deskbase up` sets
DESKBASE_DB_PREPARE_THRESHOLD=0 for the web server).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE, Cluster
from deskbase.embedded.errors import EmbeddedError

# The first pgbouncer that keeps prepared statements in transaction mode.
PREPARED_STATEMENTS_SINCE = (1, 21)


def program() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found is None:
        raise EmbeddedError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    return found


def version() -> tuple[int, int]:
    result = subprocess.run([program(), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"PgBouncer (\d+)\.(\d+)", result.stdout + result.stderr)
    if match is None:
        raise EmbeddedError(f"cannot tell pgbouncer's version from {result.stdout!r}")
    return int(match[1]), int(match[2])


class Pooler:
    """One pgbouncer for one embedded cluster."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        port: int = 6432,
        pool_size: int = 20,
        max_clients: int = 2000,
    ) -> None:
        self.cluster = cluster
        self.port = port
        self.listen = "127.0.0.1"
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.directory = cluster.var_dir / "pgbouncer"
        self.ini = self.directory / "pgbouncer.ini"
        self.userlist = self.directory / "userlist.txt"
        self.log_file = cluster.var_dir / "log" / "pgbouncer.log"
        self.pid_file = self.directory / "pgbouncer.pid"
        self.process: subprocess.Popen | None = None

    @property
    def prepared_statements(self) -> bool:
        return version() >= PREPARED_STATEMENTS_SINCE

    def url(self, role: str = APP_ROLE) -> str:
        password = self.cluster.credentials()[role]
        return f"postgresql://{role}:{password}@{self.listen}:{self.port}/{self.cluster.database}"

    def write_config(self) -> None:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        passwords = self.cluster.credentials()
        users = "".join(f'"{role}" "{passwords[role]}"\n' for role in (APP_ROLE, OWNER_ROLE))
        fd = os.open(self.userlist, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(users)
        settings = {
            "listen_addr": self.listen,
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "scram-sha-256",
            "auth_file": str(self.userlist),
            "pool_mode": "transaction",
            "default_pool_size": str(self.pool_size),
            "max_client_conn": str(self.max_clients),
            "max_db_connections": str(self.pool_size),
            # Sent by drivers at connect; a transaction-mode pool cannot keep them per client.
            "ignore_startup_parameters": "extra_float_digits,options",
            "server_reset_query": "",
            "server_check_query": "SELECT 1",
            # `SHOW POOLS`, `SHOW CLIENTS` on its console (database `pgbouncer`) for the owner.
            "admin_users": OWNER_ROLE,
            "logfile": str(self.log_file),
            "pidfile": str(self.pid_file),
            "log_connections": "0",
            "log_disconnections": "0",
        }
        if self.prepared_statements:
            settings["max_prepared_statements"] = "200"
        socket_dir = self.cluster.socket_dir.resolve()
        text = (
            "[databases]\n"
            f"{self.cluster.database} = host={socket_dir} port={self.cluster.port} "
            f"dbname={self.cluster.database}\n\n[pgbouncer]\n"
            + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        self.ini.write_text(text)
        account = self.cluster.run_as
        if account is not None:
            for path in (self.directory, self.ini, self.userlist):
                os.chown(path, account.pw_uid, account.pw_gid)
            self.log_file.touch()
            os.chown(self.log_file, account.pw_uid, account.pw_gid)

    def start(self, timeout: float = 15) -> None:
        """Start pgbouncer (as PostgreSQL's account when we are root: it refuses root)
        and wait until it accepts connections."""
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.listen, self.port))
            except OSError:
                raise EmbeddedError(
                    f"port {self.port} on {self.listen} is in use; set DESKBASE_POOLER_PORT"
                ) from None
        self.write_config()
        kwargs: dict = {}
        account = self.cluster.run_as
        if account is not None:
            kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        self.process = subprocess.Popen(
            # Quiet: it logs to its log file only (an unread pipe would fill and block it).
            [program(), "--quiet", str(self.ini)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
            process_group=0, **kwargs,
        )  # fmt: skip
        try:
            self._wait_accepting(timeout)
        except BaseException:
            self.stop()  # interrupted or failed: leave no pgbouncer behind
            raise

    def _wait_accepting(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedError(f"pgbouncer did not start: {self._log_tail()}")
            try:
                with socket.create_connection((self.listen, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise EmbeddedError(f"pgbouncer did not accept connections within {timeout:.0f} s")

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return f"no log at {self.log_file}"
        errors = [line for line in lines[-20:] if "ERROR" in line or "FATAL" in line]
        return (errors or lines or [f"see {self.log_file}"])[-1]

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # "safe shutdown": waits for running transactions
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
