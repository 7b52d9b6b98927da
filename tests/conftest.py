"""Shared fixtures. The session's PostgreSQL comes from deskbase.testing.plugin."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from deskbase.embedded.cluster import RELOCATION_ROOT, Cluster
from deskbase.testing.plugin import free_port


@pytest.fixture(scope="session", autouse=True)
def _static_files() -> None:
    """The manifest storage of production needs collected files, in tests too."""
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory the unprivileged PostgreSQL user can reach (pytest's tmp_path may not)."""
    path = Path(tempfile.mkdtemp(prefix="deskbase-t-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_cluster(workdir: Path) -> Iterator:
    """Factory for clusters of one test; all are stopped and their relocations removed."""
    made: list[Cluster] = []

    def make(var: Path | None = None, **kwargs) -> Cluster:
        cluster = Cluster(var or workdir / f"var{len(made)}", port=free_port(), **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        with contextlib.suppress(Exception):  # teardown must reach every cluster
            cluster.stop(mode="immediate")
        relocated = cluster._relocation_dir()
        if relocated.is_relative_to(RELOCATION_ROOT) and relocated.exists():
            shutil.rmtree(relocated, ignore_errors=True)
