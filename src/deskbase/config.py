"""Deployment configuration read from environment variables, shared by settings and the CLI.

Every variable is listed in the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE, Cluster


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None


def source_root() -> Path | None:
    """The checkout when deskbase runs from its source tree (src layout), else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").exists() else None


def var_dir() -> Path:
    configured = os.environ.get("DESKBASE_VAR_DIR")
    if configured:
        return Path(configured).absolute()
    return (source_root() or Path.cwd()) / "var"


def embedded() -> bool:
    """True unless DATABASE_URL points deskbase at an external PostgreSQL."""
    return not os.environ.get("DATABASE_URL")


def cluster() -> Cluster:
    return Cluster(
        var_dir(),
        port=env_int("DESKBASE_PG_PORT", 54320),
        listen=os.environ.get("DESKBASE_PG_HOST", "127.0.0.1"),
        archive_dir=wal_archive_dir(),
    )


def wal_archive_dir() -> Path | None:
    """Where the embedded cluster archives its WAL (DESKBASE_WAL_ARCHIVE_DIR, default
    var/wal-archive); None when DESKBASE_WAL_ARCHIVE=0 turns archiving off."""
    if not env_bool("DESKBASE_WAL_ARCHIVE", True):
        return None
    configured = os.environ.get("DESKBASE_WAL_ARCHIVE_DIR")
    return Path(configured).absolute() if configured else var_dir() / "wal-archive"


def base_backup_dir() -> Path:
    """Where `deskbase backup --base` writes (DESKBASE_BASE_BACKUP_DIR, var/base-backups)."""
    configured = os.environ.get("DESKBASE_BASE_BACKUP_DIR")
    return Path(configured).absolute() if configured else var_dir() / "base-backups"


def replica_cluster() -> Cluster:
    """The embedded streaming replica: var/replica, port DESKBASE_PG_REPLICA_PORT
    (the primary's port + 1)."""
    primary = cluster()
    return primary.replica(env_int("DESKBASE_PG_REPLICA_PORT", primary.port + 1))


def database_url(role: str) -> str:
    """URL for the owner role (migrations, operator commands) or the application role."""
    if embedded():
        # `deskbase up --pooler` points the web server's application role at pgbouncer.
        if role != "owner" and os.environ.get("DESKBASE_POOLER_URL"):
            return os.environ["DESKBASE_POOLER_URL"]
        return cluster().url(OWNER_ROLE if role == "owner" else APP_ROLE)
    owner_url = os.environ["DATABASE_URL"]
    if role == "owner":
        return owner_url
    return os.environ.get("DATABASE_APP_URL") or owner_url


def replica_urls(role: str) -> list[str]:
    """Read replicas: DATABASE_REPLICA_URLS (comma-separated URLs of the role the
    server uses there), else the embedded replica while one exists
    (`deskbase pg replica start`). DESKBASE_REPLICA_READS=0 uses none."""
    if not env_bool("DESKBASE_REPLICA_READS", True):
        return []
    configured = os.environ.get("DATABASE_REPLICA_URLS", "")
    urls = [url.strip() for url in configured.split(",") if url.strip()]
    if urls or not embedded():
        return urls
    replica = replica_cluster()
    if (replica.data_dir / "standby.signal").exists():
        return [replica.url(OWNER_ROLE if role == "owner" else APP_ROLE)]
    return []


def secret_key() -> str:
    """DESKBASE_SECRET_KEY, or a key generated once into var/secret_key (mode 0600)."""
    configured = os.environ.get("DESKBASE_SECRET_KEY")
    if configured:
        return configured
    path = var_dir() / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
