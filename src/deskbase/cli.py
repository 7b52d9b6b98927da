"""The `deskbase` command: `up`, `pg ...`, and every Django management command."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from deskbase import config
from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE, SUPERUSER
from deskbase.embedded.errors import EmbeddedError

MIN_POSTGRES = 15
USAGE = """\
usage: deskbase <command> [options]

  up [--port N] [--host H] [--dev] [--no-demo] [--no-worker] [--pooler]
                        start PostgreSQL (embedded mode), migrate, load the demo data
                        when the database is empty, and serve with gunicorn beside
                        the job worker (and `mail serve` when a push mailbox exists);
                        --pooler serves through pgbouncer (transaction mode)
  worker                run the job worker alone (periodic SLA and maintenance tasks)
  jobs status           the job schedule, last runs and failures
  outbox status|retry|deliver
                        effects waiting for delivery, dead rows, replay (docs/outbox.md)
  mail fetch [--mailbox ID] [--once]
                        read the IMAP mailboxes (the worker does it too; docs/mail-servers.md)
  mail serve [--lmtp] [--host H] [--port N] [--processes N]
                        receive pushed mail by SMTP/LMTP (`up` starts it when a
                        mailbox uses it; port DESKBASE_MAIL_PORT, 2525)
  db_maintenance ...    partitions, views, VACUUM, REINDEX, checks, statistics
  backup [--output F]   pg_dump the database; restore FILE puts a dump back
  backup --base         a base backup for point-in-time recovery (embedded cluster)
  restore --to-time T --into DIR
                        recover the database as it was at T (or --to-lsn) into a new
                        var directory, from the base backups and the WAL archive
  pg start|stop|status  manage the embedded PostgreSQL in {var}/pg
  pg replica start|stop|status|remove
                        a streaming replica of the embedded PostgreSQL in {var}/replica
                        (port DESKBASE_PG_REPLICA_PORT); reads go to it (docs/scaling.md)
  pg url [--role R] [--tcp]
                        print a connection URL (R: app, owner or superuser)
  pg psql [--role R] [psql args]
                        open psql on the deskbase database
  dbreport [--json]     the query monitor: statements, scans, indexes, advice (docs/monitoring.md)
  cache warm|stats|clear
                        the cache of hot reads (docs/caching.md)
  <django command>      any Django management command (migrate, shell, createsuperuser ...);
                        these run as the owner role

Configuration comes from environment variables; see README.md.
"""


class CliError(Exception):
    """A one-line problem the operator can fix; printed without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE.format(var=config.var_dir()))
        return 0
    command, rest = args[0], args[1:]
    if command == "worker":
        # First thing: SIGTERM and SIGINT only record a stop from now on, which the
        # worker acts on at every stage of its start-up and work (exit 0). An
        # exception raised by a handler could land anywhere and leave it hanging.
        from deskbase.dbtools import stopping

        stopping.install()
    try:
        if command == "up":
            return up(rest)
        if command == "pg":
            return pg(rest)
        return django_command(args)
    except (CliError, EmbeddedError) as exc:
        print(f"deskbase: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# --------------------------------------------------------------------- django
def setup_django(role: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deskbase.settings")
    os.environ["DESKBASE_DB_ROLE"] = role
    import django

    django.setup()


def django_command(args: list[str]) -> int:
    """Run a Django management command as the owner role, with a one-line database error."""
    from django.db.utils import OperationalError

    os.environ.setdefault("DESKBASE_DB_ROLE", "owner")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deskbase.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["deskbase", *args])
    except OperationalError as exc:
        raise CliError(database_unreachable(exc)) from None
    return 0


def database_unreachable(exc: Exception) -> str:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if config.embedded():
        return (
            f"the embedded PostgreSQL is not reachable ({reason}); "
            "start it with `deskbase pg start` or `deskbase up`"
        )
    return f"cannot reach the database named by DATABASE_URL ({reason}); check the URL and server"


def check_external_database() -> str:
    """Connect to DATABASE_URL; return the server version or raise a one-line error."""
    import psycopg

    try:
        with psycopg.connect(config.database_url("owner"), connect_timeout=5) as conn:
            version = conn.info.server_version
            shown = (conn.execute("SHOW server_version").fetchone() or ("?",))[0]
    except psycopg.Error as exc:
        raise CliError(database_unreachable(exc)) from None
    if version < MIN_POSTGRES * 10000:
        raise CliError(f"DATABASE_URL points at PostgreSQL {shown}; deskbase needs {MIN_POSTGRES}+")
    return shown


# ------------------------------------------------------------------------ pg
def pg(args: list[str]) -> int:
    if args[:1] == ["replica"]:
        return pg_replica(args[1:])
    parser = argparse.ArgumentParser(prog="deskbase pg")
    parser.add_argument("action", choices=["start", "stop", "status", "url", "psql", "replica"])
    parser.add_argument("--role", choices=["app", "owner", "superuser"], default=None)
    parser.add_argument("--tcp", action="store_true", help="url: a TCP URL with password")
    options, extra = parser.parse_known_args(args)
    role = {"app": APP_ROLE, "owner": OWNER_ROLE, "superuser": SUPERUSER, None: None}[options.role]
    if not config.embedded():
        return pg_external(options.action, extra)
    cluster = config.cluster()
    if options.action == "start":
        started = cluster.start()
        cluster.ensure_database()
        state = "started" if started else "already running"
        print(f"PostgreSQL {state}: port {cluster.port}, data {cluster.data_dir}")
        print(f"  stop it with: deskbase pg stop   (log: {cluster.log_file})")
    elif options.action == "stop":
        print("PostgreSQL stopped" if cluster.stop() else "PostgreSQL was not running")
    elif options.action == "status":
        status = cluster.status()
        print(f"PostgreSQL {status.describe()}")
        return 0 if status.running else 3
    elif options.action == "url":
        print(cluster.url(role or APP_ROLE, tcp=options.tcp))
    elif options.action == "psql":
        if not cluster.status().running:
            raise CliError(
                "the embedded PostgreSQL is not running; start it with `deskbase pg start`"
            )
        return cluster.psql(extra, role=role or OWNER_ROLE)
    return 0


def pg_replica(args: list[str]) -> int:
    """`deskbase pg replica start|stop|status|remove`: the embedded streaming replica."""
    parser = argparse.ArgumentParser(prog="deskbase pg replica")
    parser.add_argument("action", choices=["start", "stop", "status", "remove"])
    options = parser.parse_args(args)
    if not config.embedded():
        raise CliError(
            "DATABASE_URL is set: deskbase makes replicas of its embedded PostgreSQL only; "
            "point DATABASE_REPLICA_URLS at replicas of that server"
        )
    primary = config.cluster()
    replica = config.replica_cluster()
    if options.action == "start":
        if not primary.status().running:
            raise CliError("the embedded PostgreSQL is not running: `deskbase pg start` first")
        started = primary.start_replica(replica)
        state = "started" if started else "already running"
        print(f"replica {state}: port {replica.port}, data {replica.data_dir}")
        print("  the server reads from it after its next start (deskbase up)")
    elif options.action == "stop":
        print("replica stopped" if replica.stop() else "replica was not running")
    elif options.action == "remove":
        removed = primary.remove_replica(replica)
        print("replica removed, its slot dropped" if removed else "there was no replica")
    else:
        return replica_status(primary, replica)
    return 0


def replica_status(primary, replica) -> int:
    """Print the replica's state and lag; 0 when it streams, 3 otherwise."""
    import psycopg

    from deskbase.embedded.cluster import replica_lag

    status = replica.status()
    print(f"replica {status.describe()}")
    if not status.running:
        return 3
    try:
        with replica.connect() as conn:
            lag = replica_lag(conn)
    except psycopg.Error as exc:
        print(f"  not answering: {exc}")
        return 3
    print(f"  replayed up to {lag['replay_lsn']}, {lag['lag_seconds']:.3f} s behind")
    if primary.status().running:
        with primary.connect() as conn:
            rows = conn.execute(
                "SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,"
                " coalesce(extract(epoch FROM replay_lag), 0)::float8"
                " FROM pg_stat_replication WHERE application_name <> ''"
            ).fetchall()
        if not rows:
            print("  the primary sees no streaming replica")
            return 3
        for state, behind, seconds in rows:
            print(f"  primary: {state}, {behind or 0:,} bytes to replay, lag {seconds:.3f} s")
    return 0 if lag["standby"] else 3


def pg_external(action: str, extra: list[str]) -> int:
    if action in {"start", "stop"}:
        raise CliError(f"DATABASE_URL is set: deskbase does not {action} that server")
    if action == "status":
        print(f"external PostgreSQL {check_external_database()} reachable")
    elif action == "url":
        print(config.database_url("owner"))
    elif action == "psql":
        return subprocess.call([config.cluster().bin("psql"), config.database_url("owner"), *extra])
    return 0


# ------------------------------------------------------------------------ up
def up(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deskbase up")
    parser.add_argument("--host", default=os.environ.get("DESKBASE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=config.env_int("PORT", 8000))
    parser.add_argument("--dev", action="store_true", help="Django's runserver with DEBUG on")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    parser.add_argument("--no-worker", action="store_true", help="do not start the job worker")
    parser.add_argument(
        "--pooler",
        action="store_true",
        help="serve through pgbouncer in transaction mode (embedded PostgreSQL)",
    )
    options = parser.parse_args(args)
    if options.pooler and not config.embedded():
        raise CliError(
            "--pooler starts pgbouncer in front of the embedded PostgreSQL; with DATABASE_URL "
            "point DATABASE_APP_URL at your own pgbouncer instead (docs/scaling.md)"
        )

    check_port_free(options.host, options.port)
    cluster = config.cluster() if config.embedded() else None
    # Until the web server runs (serve() installs its own handlers), SIGTERM stops the
    # start-up like Ctrl-C does: by an exception, so that the `finally` below stops the
    # PostgreSQL this run started. Python's default for SIGTERM ends the process at
    # once and left the server running.
    previous = signal.signal(signal.SIGTERM, _stop_starting)
    previous_int = signal.getsignal(signal.SIGINT)
    pooler = None
    # Decided before starting it: a signal during the start must still stop it.
    owns_pg = cluster is not None and not cluster.status().running
    try:
        if cluster is not None:
            say(f"starting the embedded PostgreSQL in {cluster.data_dir} ...")
            cluster.start()
            cluster.ensure_database()
        else:
            say(f"using the external PostgreSQL {check_external_database()} from DATABASE_URL")
        prepare_database(load_demo=not options.no_demo)
        if options.pooler and cluster is not None:
            pooler = make_pooler(cluster)  # before its start: a SIGTERM meanwhile stops it
            start_pooler(pooler)
        return serve(options, owns_pg, pooler)
    except StartupStopped:
        say("stopped before the web server started")
        return 0
    except Exception as exc:
        # The signal's exception can land inside a database call (a COMMIT being
        # sent), whose clean-up then fails with an error of its own chained to it.
        if not _stopped_by_signal(exc):
            raise
        say("stopped before the web server started")
        return 0
    finally:
        # A second signal while cleaning up must not cut the clean-up short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if pooler is not None:
                say("stopping pgbouncer ...")
                pooler.stop()
            if owns_pg and cluster is not None:
                say("stopping the embedded PostgreSQL ...")
                cluster.stop()
            elif cluster is not None:
                # Said again on the way out: a Ctrl-C before the banner never showed it.
                say("PostgreSQL keeps running (deskbase pg stop)")
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)


class StartupStopped(BaseException):
    """SIGTERM arrived while `deskbase up` was still starting (a BaseException, like
    KeyboardInterrupt: no `except Exception` on the way may swallow it)."""


def _stopped_by_signal(exc: BaseException) -> bool:
    """Whether `exc` is, or was raised while handling, a StartupStopped."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, StartupStopped):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _stop_starting(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough
    raise StartupStopped


def make_pooler(cluster):
    """pgbouncer in transaction mode in front of the cluster, for the web server only."""
    from deskbase.embedded.pooler import Pooler

    return Pooler(
        cluster,
        port=config.env_int("DESKBASE_POOLER_PORT", 6432),
        pool_size=config.env_int("DESKBASE_POOLER_POOL_SIZE", 20),
    )


def start_pooler(pooler) -> None:
    pooler.start()
    prepared = "kept" if pooler.prepared_statements else "off (pgbouncer < 1.21)"
    say(
        f"pgbouncer started on {pooler.listen}:{pooler.port} (transaction mode, "
        f"{pooler.pool_size} server connections, prepared statements {prepared}; "
        f"log {pooler.log_file})"
    )


def say(message: str) -> None:
    print(f"deskbase: {message}", flush=True)


def log_file(name: str) -> Path:
    """A log file's path under the var directory (DESKBASE_VAR_DIR when set)."""
    return config.var_dir() / "log" / name


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"port {port} on {host} is in use by another program; "
                    "stop it or choose another port with PORT=<n>"
                ) from None
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def prepare_database(*, load_demo: bool) -> None:
    from django.core.management import call_command
    from django.db.utils import OperationalError

    setup_django("owner")
    try:
        say("applying migrations ...")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if load_demo:
            from deskbase.demo import load_demo as load

            if load():
                say("loaded the demo organization")
    except OperationalError as exc:
        raise CliError(database_unreachable(exc)) from None
    finally:
        from django.db import connections

        connections.close_all()


def default_web_workers() -> int:
    """Two processes a core, 2 to 8: a process runs Python on one core at a time, and
    while one waits for PostgreSQL another computes (measured on 2 cores: 4 processes of
    2 threads served the ticket list 1.8x faster than 2 of 4). At most 8, so that their
    connection pools stay under PostgreSQL's max_connections."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def server_command(options: argparse.Namespace) -> list[str]:
    if options.dev:
        return [sys.executable, "-m", "deskbase.cli", "runserver", f"{options.host}:{options.port}"]
    log_dir = config.var_dir() / "log"
    connections = config.env_int("DESKBASE_WEB_CONNECTIONS", 32)
    return [
        sys.executable, "-m", "gunicorn", "deskbase.wsgi:application",
        "--bind", f"{options.host}:{options.port}",
        "--worker-class", "gthread",
        "--workers", str(config.env_int("DESKBASE_WEB_WORKERS", default_web_workers())),
        # A thread per open connection, a connection per thread: slow clients wait on
        # sockets in threads of their own, while DESKBASE_WEB_THREADS requests per
        # process run the application (deskbase.core.request_buffer says why).
        "--threads", str(connections),
        "--worker-connections", str(connections),
        # With as many connections as threads no idle connection can be kept open for
        # its next request: say so, rather than have gunicorn warn at every start.
        "--keep-alive", "0",
        "--graceful-timeout", "10",
        "--no-control-socket",
        "--access-logfile", str(log_dir / "access.log"),
        "--error-logfile", "-",
    ]  # fmt: skip


def serve(options: argparse.Namespace, started_pg: bool, pooler=None) -> int:
    env = dict(os.environ, DESKBASE_DB_ROLE="app")
    if pooler is not None:
        # The web server's application role goes through pgbouncer; the worker (LISTEN,
        # procrastinate's locks) and the commands keep direct connections.
        env["DESKBASE_POOLER_URL"] = pooler.url()
        if not pooler.prepared_statements:
            env["DESKBASE_DB_PREPARE_THRESHOLD"] = "0"
    if options.dev:
        env["DESKBASE_DEBUG"] = "1"
    # Its own process group: a terminal's Ctrl-C reaches only us, and we stop the
    # server with one SIGTERM (a graceful stop) instead of it also getting SIGINT.
    server = subprocess.Popen(server_command(options), env=env, process_group=0)
    supervisor: WorkerSupervisor | None = None
    receiver: ReceiverSupervisor | None = None
    stopping = False

    def stop(signum: int, frame: object) -> None:
        # The server and the worker stop at the same time, not one after the other.
        nonlocal stopping
        stopping = True
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        if supervisor is not None:
            supervisor.signal_stop()
        if receiver is not None:
            receiver.signal_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = f"http://{options.host}:{options.port}/"
        if wait_until_serving(url, server):
            print_banner(url, started_pg, demo=not options.no_demo)
        # After the server answers: the two do not compete for the CPU at start-up.
        if not options.no_worker and not stopping and server.poll() is None:
            supervisor = WorkerSupervisor()
            supervisor.start()
        if not options.no_worker and not stopping and server.poll() is None:
            receiver = ReceiverSupervisor()
        while server.poll() is None:
            if supervisor is not None and not stopping:
                supervisor.tick()
            if receiver is not None and not stopping:
                receiver.tick()
            time.sleep(SUPERVISE_SECONDS)
        code = server.returncode
    finally:
        # Our handler stays while the children stop: a second signal meanwhile only
        # repeats the stop (the handler before it would interrupt the clean-up).
        try:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)
            if supervisor is not None:
                supervisor.stop()
            if receiver is not None:
                receiver.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if stopping:
        say("web server stopped")
        return 0
    say(f"the web server exited unexpectedly with code {code}; see {log_file('deskbase.log')}")
    return code or 1


SUPERVISE_SECONDS = 0.5


class WorkerSupervisor:
    """Keeps one job worker running beside the web server.

    A worker exits on its own when it loses the database (procrastinate stops a worker
    whose notification listener fails: a PostgreSQL restart, a `deskbase restore`) or
    when it cannot reach it at start. Each time, the exit is reaped, logged with the
    last line of its log, and the worker started again after a back-off (1 s, doubling
    to 30 s while it keeps failing; back to 1 s once a worker has run for a minute), so
    a database that comes back gets its worker back within half a minute.
    """

    FIRST_DELAY = 1.0
    MAX_DELAY = 30.0
    STABLE_SECONDS = 60.0
    name = "job worker"
    log = "worker.log"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.delay = self.FIRST_DELAY
        self.restart_at: float | None = None
        self.stopping = False
        self.signaled = False

    def start(self) -> None:
        self.signaled = False  # before self.process: see signal_stop
        self.restart_at = None
        self.started_at = time.monotonic()
        self.process = self.launch()

    def launch(self) -> subprocess.Popen:
        return start_worker()

    def tick(self) -> None:
        """Reap an exited worker and schedule its restart; start it when due."""
        if self.stopping:
            return
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return
            ran = time.monotonic() - self.started_at
            if ran >= self.STABLE_SECONDS:
                self.delay = self.FIRST_DELAY
            reason = worker_log_reason(self.process.pid, log_name=self.log) or "no reason logged"
            say(
                f"{self.name} exited with code {code} after {ran:.0f} s "
                f"({reason}); starting it again in {self.delay:.0f} s"
            )
            self.process = None
            self.restart_at = time.monotonic() + self.delay
            self.delay = min(self.delay * 2, self.MAX_DELAY)
        if self.restart_at is not None and time.monotonic() >= self.restart_at:
            self.start()

    def signal_stop(self) -> None:
        """From the signal handler: tell the running worker to stop, once."""
        self.stopping = True
        process = self.process
        if process is not None and process.poll() is None and not self.signaled:
            self.signaled = True  # one is enough: it finishes its running job, then exits
            process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.stopping = True
        stop_worker(self.process, signaled=self.signaled, name=self.name)


class ReceiverSupervisor(WorkerSupervisor):
    """Keeps `deskbase mail serve` running beside the web server while any active
    mailbox receives pushed mail (checked at start and every RECHECK_SECONDS), with
    the worker's restart policy. Its address: DESKBASE_MAIL_HOST (127.0.0.1) and
    DESKBASE_MAIL_PORT (2525), read by the command itself."""

    RECHECK_SECONDS = 60.0
    name = "mail receiver"
    log = "mail-serve.log"

    def __init__(self) -> None:
        super().__init__()
        self.checked_at: float | None = None

    def tick(self) -> None:
        if self.process is not None or self.restart_at is not None or self.stopping:
            super().tick()
            return
        now = time.monotonic()
        if self.checked_at is None or now - self.checked_at >= self.RECHECK_SECONDS:
            self.checked_at = now
            if push_mailboxes_exist():
                self.start()

    def launch(self) -> subprocess.Popen:
        return start_child(["mail", "serve"], self.name, self.log)


def push_mailboxes_exist() -> bool:
    """Whether an active mailbox of any organization receives pushed mail (owner role)."""
    from django.db import connections
    from django.db.utils import DatabaseError

    from deskbase.mail.models import Inbound, Mailbox

    try:
        return Mailbox.objects.filter(inbound=Inbound.PUSH, is_active=True).exists()
    except DatabaseError as exc:
        say(f"cannot tell whether a mailbox receives pushed mail ({exc}); checking again later")
        return False
    finally:
        connections.close_all()


def worker_log_reason(pid: int, limit: int = 65536, *, log_name: str = "worker.log") -> str:
    """The last error the process `pid` logged (else its last line) in var/log/<log_name>."""
    path = config.var_dir() / "log" / log_name
    try:
        with open(path, "rb") as log:
            log.seek(max(path.stat().st_size - limit, 0))
            lines = log.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    # Lines look like "<time> <LEVEL> <logger> [<pid>] <message>" (settings.LOGGING).
    own = [line.strip() for line in lines if f"[{pid}]" in line]
    errors = [line for line in own if " ERROR " in line or " CRITICAL " in line]
    return ((errors or own or [""])[-1])[:300]


def start_worker() -> subprocess.Popen:
    """The job worker, as the owner role (deskbase.jobs says why), in its own group."""
    return start_child(["worker"], "job worker", "worker.log")


def start_child(args: list[str], name: str, log_name: str) -> subprocess.Popen:
    """`deskbase <args>` as the owner role, in its own group, logging to var/log/<log_name>."""
    env = dict(os.environ, DESKBASE_DB_ROLE="owner")
    log = open(config.var_dir() / "log" / log_name, "ab")  # noqa: SIM115 (the child keeps it)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "deskbase.cli", *args],
            env=env, process_group=0, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    finally:
        log.close()
    say(f"{name} started (pid {child.pid}; log {log_file(log_name)})")
    return child


def stop_worker(
    worker: subprocess.Popen | None, *, signaled: bool = False, name: str = "job worker"
) -> None:
    """SIGTERM (unless `signaled` already): the worker finishes its running job, then
    exits; killed after 30 s."""
    if worker is None:
        return
    if worker.poll() is None:
        if not signaled:
            worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    code = worker.returncode
    if code == -signal.SIGTERM:
        # Our SIGTERM arrived before the worker had set up its own handler (it was
        # still starting): no job was running, so this is a clean stop.
        code = 0
    say(f"{name} stopped (exit code {code})")


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url + "health", timeout=2):  # noqa: S310 (our own URL)
                return True
        except urllib.error.HTTPError:
            return True  # it answered: a 503 still means the server is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


def print_banner(url: str, started_pg: bool, *, demo: bool) -> None:
    from deskbase.demo import DEMO_LOGINS, DEMO_SLUG

    lines = [f"deskbase is running at {url}"]
    if demo:
        lines.append(f"  demo logins (organization {DEMO_SLUG!r}; email / password):")
        lines += [f"    {login.role:<9} {login.email} / {login.password}" for login in DEMO_LOGINS]
    lines += [f"  health: {url}health   administration: {url}manage/"]
    if started_pg:
        lines.append("  Ctrl-C stops the web server and the PostgreSQL it started.")
    else:
        lines.append("  Ctrl-C stops the web server; PostgreSQL keeps running (deskbase pg stop).")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
