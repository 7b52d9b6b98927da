"""pytest plugin: a throw-away embedded PostgreSQL for the whole test session.

Loaded with `-p deskbase.testing.plugin` (pytest's addopts), so it runs before
pytest-django reads the settings. With DATABASE_URL set, the tests use that
server instead (its role needs CREATEDB for the test database).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE, Cluster

_cluster: Cluster | None = None
_tmp: Path | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_test_cluster(base: Path) -> Cluster:
    cluster = Cluster(base / "var", port=free_port())
    cluster.start()
    cluster.ensure_database(owner_can_create_databases=True)
    return cluster


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    global _cluster, _tmp
    if os.environ.get("DATABASE_URL") or _cluster is not None:
        return
    # /tmp, not a home directory: the unprivileged PostgreSQL user must reach it.
    _tmp = Path(tempfile.mkdtemp(prefix="deskbase-test-", dir="/tmp"))
    os.chmod(_tmp, 0o755)
    _cluster = start_test_cluster(_tmp)
    os.environ.update(
        DATABASE_URL=_cluster.url(OWNER_ROLE),
        DATABASE_APP_URL=_cluster.url(APP_ROLE),
        DESKBASE_DB_ROLE="owner",
        DESKBASE_VAR_DIR=str(_tmp / "var"),
    )


def pytest_unconfigure(config) -> None:
    global _cluster, _tmp
    if _cluster is not None:
        _cluster.stop(mode="immediate")
        _cluster = None
    if _tmp is not None:
        shutil.rmtree(_tmp, ignore_errors=True)
        _tmp = None


@pytest.fixture(scope="session")
def session_cluster() -> Cluster:
    """The session's embedded cluster (skips when the suite runs on DATABASE_URL)."""
    if _cluster is None:
        pytest.skip("the suite runs against an external DATABASE_URL")
    return _cluster
