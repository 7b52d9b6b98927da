"""Where a run happened: code, machine, PostgreSQL and data set, for comparing runs."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from typing import Any

import django
import psycopg
from django.db import connection

from deskbase import config

POSTGRES_SETTINGS = ("shared_buffers", "work_mem", "synchronous_commit", "max_connections", "jit")


def _git(*args: str) -> str | None:
    root = config.source_root()
    if root is None:
        return None
    # GIT_OPTIONAL_LOCKS=0: `git status` must not refresh (write) the index of a
    # working tree others are editing.
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True, env=env)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def code() -> dict[str, Any]:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def postgres() -> dict[str, Any]:
    """Version and the settings that move the numbers, read on the default connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), "
            + ", ".join("current_setting(%s)" for _ in POSTGRES_SETTINGS),
            list(POSTGRES_SETTINGS),
        )
        version, *values = cursor.fetchone()
    return {"version": version, "settings": dict(zip(POSTGRES_SETTINGS, values, strict=True))}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
