"""Shared fixtures. The session's PostgreSQL comes from deskbase.testing.plugin."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from psycopg.conninfo import conninfo_to_dict

from deskbase.accounts.models import Role, User
from deskbase.embedded.cluster import RELOCATION_ROOT, Cluster
from deskbase.organizations.models import Organization
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


@dataclass
class TenantWorld:
    """One organization with a person of each role, made as the owner role."""

    org: Organization
    admin: User
    manager: User
    agent: User
    customer: User


def make_tenant(slug: str) -> TenantWorld:
    org = Organization.objects.create(slug=slug, name=slug.title())
    people = {
        role: User.objects.create_user(
            f"{role}@{slug}.test",
            "pw-for-tests-1",
            organization=org,
            role=role,
            full_name=f"{slug.title()} {role.title()}",
            availability="online" if role != Role.CUSTOMER else None,
        )
        for role in (Role.ADMIN, Role.MANAGER, Role.AGENT, Role.CUSTOMER)
    }
    return TenantWorld(org, **people)


@pytest.fixture
def tenant_a(db) -> TenantWorld:
    return make_tenant("acme")


@pytest.fixture
def tenant_b(db) -> TenantWorld:
    return make_tenant("globex")


@pytest.fixture
def app_role(db) -> None:
    """From here on, this test's queries run as the application role: RLS applies."""
    app_url = os.environ.get("DATABASE_APP_URL")
    if not app_url:
        pytest.skip("the suite runs with one database role")
    role = conninfo_to_dict(app_url)["user"]
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(role)}")
