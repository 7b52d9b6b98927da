"""pg_dump / pg_restore of the deskbase database (docs/operations.md).

The dump is pg_dump's custom format, taken as the owner role in one snapshot
(consistent while the system runs). Row security is on during the dump (the
tables FORCE it) and the owner's `owner_maintenance` policy lets it read every
row. Extensions are left out: they belong to the superuser who created them, and
the target database has them already (the embedded server and migrate make them).

The restore replaces, in one transaction, every object the dump holds
(`--clean --if-exists`): tables are created, filled, and only then given their
indexes, keys, triggers and row-level security, so no trigger fires and no
policy refuses a row while loading. Stop the web server and the worker first.
"""

from __future__ import annotations

import os
import shutil
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


def restore(source: Path, *, using: str = "default") -> None:
    """Replace the database's objects with those of the dump, in one transaction."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    connections[using].close()
    env = _environment(using)
    _run(
        [program("pg_restore"), "--clean", "--if-exists", "--single-transaction",
         "--exit-on-error", f"--dbname={env.get('PGDATABASE', '')}", str(source)],
        env,
    )  # fmt: skip
