"""pg_dump / pg_restore of the deskbase database (docs/operations.md).

The dump is pg_dump's custom format, taken as the owner role in one snapshot
(consistent while the system runs). Row security is on during the dump (the
tables FORCE it) and the owner's `owner_maintenance` policy lets it read every
row. Extensions are left out: they belong to the superuser who created them, and
the target database has them already (the embedded server and migrate make them).

The restore runs in one transaction (psql --single-transaction): it first drops
every object of the schema that is not part of an extension, then replays the
dump (pg_restore's SQL): tables are created, filled, and only then given their
indexes, keys, triggers and row-level security, so no trigger fires and no policy
refuses a row while loading. pg_restore's own `--clean` cannot be used: it drops
the primary keys of partitions one by one, which PostgreSQL refuses. Any failure
rolls the whole restore back. Stop the web server and the worker first.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections


class BackupError(Exception):
    """pg_dump or pg_restore failed or is missing; the message says why."""


def program(name: str) -> str:
    """The embedded distribution's pg_dump/pg_restore (same major as the embedded
    server), else the one on PATH."""
    try:
        from deskbase.embedded.cluster import postgres_distribution

        candidate = postgres_distribution() / "bin" / name
        if candidate.exists():
            return str(candidate)
    except Exception:  # noqa: S110 (no embedded distribution: fall back to PATH)
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def _environment(using: str) -> dict[str, str]:
    """libpq variables for the connection Django uses (the password never on argv)."""
    params = connections[using].get_connection_params()
    env = dict(os.environ)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE",
             "password": "PGPASSWORD", "sslmode": "PGSSLMODE"}  # fmt: skip
    for key, variable in names.items():
        value = params.get(key)
        if value:
            env[variable] = str(value)
    return env


def default_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(settings.VAR_DIR) / "backups" / f"deskbase-{stamp}.dump"


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise BackupError(f"{Path(command[0]).name} failed: {reason}")


def backup(output: Path | None = None, *, using: str = "default") -> Path:
    """Dump the database to `output` (default var/backups/deskbase-<time>.dump)."""
    output = Path(output) if output else default_path()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    _run(
        [program("pg_dump"), "--format=custom", "--enable-row-security",
         "--exclude-extension=*", f"--file={partial}"],
        _environment(using),
    )  # fmt: skip
    partial.replace(output)
    return output


# Everything of the current schema that belongs to no extension, parents before
# children (a partition goes with its parent), CASCADE for what refers to it.
DROP_ALL = """
DO $drop$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid, c.oid::regclass AS name, c.relkind FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND NOT c.relispartition
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        -- Gone with an earlier CASCADE (a view on a dropped table): its name is now an OID.
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = r.oid);
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
            CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                           WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.name);
    END LOOP;
    FOR r IN
        SELECT c.oid::regclass AS name FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'S'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %s CASCADE', r.name);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
            CASE r.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                           ELSE 'FUNCTION' END, r.name);
    END LOOP;
    FOR r IN
        SELECT t.oid::regtype AS name FROM pg_type t
        WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype IN ('e', 'c', 'd')
          AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                          AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP TYPE IF EXISTS %s CASCADE', r.name);
    END LOOP;
    -- Text search configurations and dictionaries (the search app's).
    FOR r IN
        SELECT c.oid::regconfig AS name FROM pg_ts_config c
        WHERE c.cfgnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_config'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP TEXT SEARCH CONFIGURATION IF EXISTS %s CASCADE', r.name);
    END LOOP;
    FOR r IN
        SELECT t.oid::regdictionary AS name FROM pg_ts_dict t
        WHERE t.dictnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_dict'::regclass
                          AND d.objid = t.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP TEXT SEARCH DICTIONARY IF EXISTS %s CASCADE', r.name);
    END LOOP;
END
$drop$;
"""


HEADER_LINES = 64  # pg_restore's SET lines come first, before any object or row
ROW_SECURITY_OFF = b"SET row_security = off;"
ROW_SECURITY_ON = b"SET row_security = on;\n"


def restore(source: Path, *, using: str = "default") -> None:
    """Replace the database's objects with those of the dump, in one transaction."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    env = _environment(using)
    # A dump pg_restore cannot read fails here, before anything is touched.
    _run([program("pg_restore"), "--list", str(source)], env)
    connections[using].close()
    psql = subprocess.Popen(
        [program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
         "-f", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    dump = subprocess.Popen(
        [program("pg_restore"), "--file=-", str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert psql.stdin is not None
    assert dump.stdout is not None
    try:
        psql.stdin.write(DROP_ALL.encode())
        # The script's header turns row security off, which makes any statement RLS
        # would touch an error, even for the owner whose policy admits every row:
        # the REFRESH of the analytics views reads the tenant tables. With it on, the
        # owner_maintenance policies let the owner write and read every row.
        for _ in range(HEADER_LINES):
            line = dump.stdout.readline()
            if not line:
                break
            psql.stdin.write(ROW_SECURITY_ON if line.strip() == ROW_SECURITY_OFF else line)
        shutil.copyfileobj(dump.stdout, psql.stdin, 1024 * 1024)
    except BrokenPipeError:
        pass  # psql stopped on an error: its message is read below
    dump_error = dump.wait() != 0
    if dump_error and psql.poll() is None:
        # Killed before its input ends, psql never commits: nothing is changed.
        psql.kill()
    else:
        psql.stdin.close()
    psql.wait()
    if dump_error:
        raise BackupError(f"pg_restore failed: {_last_line(dump.stderr)}")
    if psql.returncode != 0:
        raise BackupError(f"psql failed: {_last_line(psql.stderr)}")


def _last_line(stream) -> str:
    lines = [line for line in stream.read().decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR:" in line]  # psql's CONTEXT lines say less
    return (errors or lines or ["no message"])[-1]


# ------------------------------------------------------ point-in-time recovery
def base_backup(output: Path | None = None) -> Path:
    """A base backup of the embedded cluster (`deskbase backup --base`)."""
    from deskbase import config
    from deskbase.embedded.errors import EmbeddedError

    if not config.embedded():
        raise BackupError(
            "base backups are made of the embedded PostgreSQL; for an external server "
            "use its own tools (pg_basebackup, pgBackRest)"
        )
    if config.wal_archive_dir() is None:
        raise BackupError("WAL archiving is off (DESKBASE_WAL_ARCHIVE=0): a base backup alone "
                          "cannot be recovered to a point in time")  # fmt: skip
    try:
        return config.cluster().base_backup(Path(output) if output else config.base_backup_dir())
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from None


def lsn_value(lsn: str) -> int:
    """A PostgreSQL LSN ('16/B374D848') as a number, to compare two."""
    try:
        high, low = lsn.strip().split("/")
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        raise BackupError(f"{lsn!r} is not a WAL position (like 0/1A2B3C4D)") from None


def choose_base(
    backups: Path, *, to_time: datetime | None = None, to_lsn: str | None = None
) -> Path:
    """The latest base backup that finished before the target."""
    candidates = []
    for meta in sorted(Path(backups).glob("*.json")):
        base = meta.with_suffix("")
        if not (base / "PG_VERSION").exists():
            continue
        info = json.loads(meta.read_text())
        if to_time is not None and datetime.fromisoformat(info["finished_at"]) > to_time:
            continue
        if to_lsn is not None and lsn_value(info["lsn"]) > lsn_value(to_lsn):
            continue
        candidates.append(base)
    if not candidates:
        target = to_time.isoformat() if to_time is not None else to_lsn
        raise BackupError(
            f"no base backup in {backups} finished before {target}: "
            "recovery starts from one taken earlier (deskbase backup --base)"
        )
    return candidates[-1]


def restore_to(
    into: Path,
    *,
    to_time: datetime | None = None,
    to_lsn: str | None = None,
    backups: Path | None = None,
    archive: Path | None = None,
) -> Path:
    """Recover the embedded cluster as it was at the target into a NEW var directory
    `into` (its pg/ data directory, the role passwords copied); the server is left
    stopped. Returns the base backup used."""
    from deskbase import config
    from deskbase.embedded.cluster import Cluster
    from deskbase.embedded.errors import EmbeddedError

    if to_lsn is not None:
        lsn_value(to_lsn)
    archive = archive or config.wal_archive_dir()
    if archive is None or not Path(archive).is_dir():
        raise BackupError(f"no WAL archive at {archive}: set DESKBASE_WAL_ARCHIVE_DIR")
    base = choose_base(backups or config.base_backup_dir(), to_time=to_time, to_lsn=to_lsn)
    into = Path(into).absolute()
    if into.resolve() == config.var_dir().resolve():
        raise BackupError("restore into a new directory, not the var directory in use")
    primary = config.cluster()
    target = Cluster(into, port=primary.port, listen=primary.listen)
    if target.data_dir.exists() and any(target.data_dir.iterdir()):
        raise BackupError(f"{target.data_dir} already holds data: choose a new directory")
    into.mkdir(parents=True, exist_ok=True)
    # The role passwords and the secret key (sessions and signed links stay valid).
    for name in (primary.credentials_file.name, "secret_key"):
        if (primary.var_dir / name).exists() and not (into / name).exists():
            shutil.copy2(primary.var_dir / name, into / name)
    # On a free port: the primary may still run on its own.
    with socket.socket() as probe:
        probe.bind((primary.listen, 0))
        target.port = probe.getsockname()[1]
    try:
        target.recover(base, Path(archive), to_time=to_time, to_lsn=to_lsn)
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from None
    return base
