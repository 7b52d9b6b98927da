"""The collision hint: kept in PostgreSQL, so two agents served by different gunicorn
processes see each other (with a per-process cache they never did); it expires."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deskbase.testing.plugin import free_port
from tests.conftest import make_tenant
from tests.helpers import http_get, stop_process, wait_for_http
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# session, tenant, user, the presence statement, the savepoint pair of the test, and
# the organization's settings with its holidays for the time zone (a cache hit in
# production; read here, where the test's open transaction holds the organization's
# creation and so bypasses its cache entry) with the tenant switch that read takes
PRESENCE_POLL_QUERIES = 10


def _on_test_database(url: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(url), "dbname": connection.settings_dict["NAME"]})


@pytest.fixture
def servers(transactional_db) -> Iterator[list[str]]:
    """Two gunicorn servers on the test database, as the application role."""
    if not os.environ.get("DATABASE_APP_URL"):
        pytest.skip("the suite runs with one database role")
    env = {
        **os.environ,
        "DATABASE_URL": _on_test_database(os.environ["DATABASE_URL"]),
        "DATABASE_APP_URL": _on_test_database(os.environ["DATABASE_APP_URL"]),
        "DESKBASE_DB_ROLE": "app",
        "DESKBASE_NPLUSONE": "0",
    }
    env.pop("PYTEST_VERSION", None)
    started: list[tuple[subprocess.Popen, str]] = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen(
                [GUNICORN, "deskbase.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", "1", "--timeout", "60"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, base in started:
            wait_for_http(f"{base}/health", process, timeout=120)
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            stop_process(process)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def poll(base: str, number: int, cookie: str) -> str:
    request = urllib.request.Request(
        f"{base}/desk/tickets/{number}/presence", headers={"Cookie": f"sessionid={cookie}"}
    )
    answer = http_get(request)  # type: ignore[arg-type]  # a Request opens like a URL
    assert answer.status == 200, answer.body[:500]
    return answer.body


def test_agents_served_by_different_processes_see_each_other(servers):
    acme, globex = make_tenant("acme"), make_tenant("globex")
    ticket = open_ticket(acme)
    theirs = open_ticket(globex)  # the same number in the other tenant
    assert theirs.number == ticket.number
    agent, manager, outsider = (session_cookie(u) for u in (acme.agent, acme.manager,
                                                            globex.agent))  # fmt: skip
    first, second = servers

    assert "Heads up" not in poll(first, ticket.number, agent)
    seen_by_manager = poll(second, ticket.number, manager)  # the other process
    assert "Acme Agent" in seen_by_manager
    assert "Acme Manager" not in seen_by_manager
    assert "Acme Manager" in poll(first, ticket.number, agent)  # and back
    # Another tenant's agent on its own ticket of the same number sees neither.
    assert "Heads up" not in poll(second, theirs.number, outsider)
    assert "Globex Agent" not in poll(first, ticket.number, agent)


def test_presence_expires_and_old_rows_are_removed(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    url = f"/desk/tickets/{ticket.number}/presence"
    signed_in(tenant_a.manager).get(url)
    signed_in(tenant_b.agent).get(url)  # another tenant's row, same ticket number
    with connection.cursor() as cursor:
        # the manager polled 40 s ago: gone from the hint, still on record
        cursor.execute("UPDATE web_ticketpresence SET seen_at = now() - interval '40 s'")
    assert "Acme Manager" not in signed_in(tenant_a.agent).get(url).content.decode()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE web_ticketpresence SET seen_at = now() - interval '2 min'"
                       " WHERE user_id <> %s", [tenant_a.agent.id])  # fmt: skip
    signed_in(tenant_a.agent).get(url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT organization_id, user_id FROM web_ticketpresence ORDER BY 1, 2")
        rows = cursor.fetchall()
    # acme's expired row is removed by acme's poll; globex's waits for a globex poll
    assert rows == [(tenant_a.org.id, tenant_a.agent.id), (tenant_b.org.id, tenant_b.agent.id)]


def test_the_presence_poll_is_one_statement_of_its_own(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)
    url = f"/desk/tickets/{ticket.number}/presence"
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    own = [q["sql"] for q in captured.captured_queries if "web_ticketpresence" in q["sql"]]
    assert len(own) == 1
    assert len(captured.captured_queries) == PRESENCE_POLL_QUERIES
