"""While this process's last connection attempt failed (the database is down), requests
are answered 503 at once, in the API's problem format under /api/ and as a page elsewhere.
The real outage (PostgreSQL killed under gunicorn) is tests/fault/test_database_outage.py."""

from __future__ import annotations

import json

import psycopg
import pytest

from deskbase.core.db.pool import REACHABILITY

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down():
    REACHABILITY.failed(psycopg.OperationalError("connection refused"))
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
