"""While this process's last connection attempt failed (the database is down), requests
are answered 503 at once, in the API's problem format under /api/ and as a page elsewhere.
The real outage (PostgreSQL killed under gunicorn) is tests/fault/test_database_outage.py."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import connection

from deskbase.core.db.pool import REACHABILITY
from deskbase.testing.plugin import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down():
    # The last attempt went to a server that is not there: trying it again fails too.
    nobody = f"host=127.0.0.1 port={free_port()} dbname=deskbase user=deskbase"
    REACHABILITY.failed(psycopg.OperationalError("connection refused"), ((nobody,), {}))
    yield
    REACHABILITY.succeeded()


@pytest.fixture
def database_back():
    # The last attempt failed, but the server it went to answers again.
    pool = connection.pool
    if pool is None:
        pytest.skip("the connection pool is off")
    attempt = ((pool.conninfo,), dict(pool.kwargs))
    REACHABILITY.failed(psycopg.OperationalError("connection refused"), attempt)
    yield
    REACHABILITY.succeeded()


def test_api_requests_get_a_503_problem(client, database_down):
    response = client.get("/api/v1/tickets")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"]
    body = json.loads(response.content)
    assert (body["status"], body["title"]) == (503, "Service unavailable")


def test_pages_get_a_plain_503_page(client, database_down):
    response = client.get("/login/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"cannot reach its database" in response.content


def test_requests_are_served_again_once_a_connection_succeeds(client, database_down):
    assert client.get("/login/").status_code == 503
    REACHABILITY.succeeded()
    assert client.get("/login/").status_code == 200


def test_a_database_back_within_the_window_serves_the_next_request(client, database_back):
    # Given the last connection attempt failed a moment ago, and the server is back
    assert REACHABILITY.recently_failed()
    # When the next request comes
    response = client.get("/login/")
    # Then it tries once more, is served, and the failure is forgotten
    assert response.status_code == 200
    assert not REACHABILITY.recently_failed()
