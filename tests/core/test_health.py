"""GET /health in-process; the database-down case runs against a server process (test_server)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_health_reports_database_version_and_no_pending_migrations(client):
    # When the load balancer asks
    response = client.get("/health")
    # Then it hears the database is up, which PostgreSQL, and that nothing is pending
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["database"]["version"].startswith("18")
    assert body["database"]["unapplied_migrations"] == []
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_lists_migrations_that_are_not_applied(client):
    # Given a migration recorded as not applied
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'accounts' AND name = '0001_initial'"
        )
    # When the health check runs
    body = client.get("/health").json()
    # Then it names it, and still answers 200 (the database itself is fine)
    assert body["status"] == "migrations_pending"
    assert body["database"]["unapplied_migrations"] == ["accounts.0001_initial"]


def test_health_only_answers_get(client):
    assert client.post("/health").status_code == 405


def test_health_reads_a_fixed_number_of_queries(client):
    client.get("/health")  # warm the per-process migration list
    with CaptureQueriesContext(connection) as queries:
        client.get("/health")
    assert len(queries) == 3  # version, migration table exists, applied list
