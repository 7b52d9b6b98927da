"""POST /api/v1/bulk and GET /api/v1/bulk/{job_id}: bulk actions over the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.bulk import services as bulk
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_a_status_change_in_bulk_skips_the_stale_ticket_and_sums_up(tenant_a):
    # Given three tickets, one changed by someone else after the agent read it
    tickets = [open_ticket(tenant_a) for _ in range(3)]
    selection = [{"number": t.number, "version": t.version} for t in tickets]
    services.ticket_update(organization=tenant_a.org, actor=tenant_a.manager, ticket=tickets[1],
                           version=tickets[1].version, subject="Edited meanwhile")  # fmt: skip

    # When the agent sets all three to pending
    response = ApiClient(tenant_a.agent).post(
        "/bulk", {"action": "status", "status": "pending", "tickets": selection}
    )

    # Then two are pending, the edited one is skipped with its reason
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["done"], body["skipped_count"]) == ("finished", 2, 1)
    assert body["skipped"][0]["number"] == tickets[1].number
    assert "changed by someone else" in body["skipped"][0]["reason"]
    assert [Ticket.objects.get(pk=t.pk).status for t in tickets] == ["pending", "new", "pending"]


def test_a_large_selection_is_queued_for_the_worker_and_reports_its_progress(tenant_a, monkeypatch):
    # Given requests run at most two tickets inline
    monkeypatch.setattr(bulk, "INLINE_MAX", 2)
    tickets = [open_ticket(tenant_a, tags=["storm"]) for _ in range(3)]
    client = ApiClient(tenant_a.agent)

    # When the agent trashes every ticket tagged "storm"
    response = client.post("/bulk", {"action": "trash", "filter": {"tag": "storm"}})

    # Then the job is queued (202), nothing is trashed yet
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["state"], job["total"], job["described"]) == (
        "queued",
        3,
        "all 3 tickets matching the filter",
    )
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets]).count() == 3

    # When the worker runs, then the job's summary says all three are done
    bulk.run_pending()
    done = client.get(f"/bulk/{job['id']}").json()
    assert (done["state"], done["done"], done["position"]) == ("finished", 3, 3)
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets]).count() == 0


def test_someone_elses_job_is_not_found(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    started = ApiClient(tenant_a.agent).post(
        "/bulk", {"action": "add_tags", "tags": ["x"], "tickets": [{"number": ticket.number}]}
    )
    job_id = started.json()["id"]
    assert ApiClient(tenant_a.manager).get(f"/bulk/{job_id}").status_code == 404
    assert ApiClient(tenant_b.agent).get(f"/bulk/{job_id}").status_code == 404


def test_a_bad_filter_is_a_422_naming_it(tenant_a):
    response = ApiClient(tenant_a.agent).post(
        "/bulk", {"action": "trash", "filter": {"status": ["gone"]}}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["filters.status"]


def test_a_bulk_request_costs_the_same_statements_for_1_2_or_50_tickets(tenant_a):
    """1 vs 2 vs 50 tickets: one chunk, set-based, a fixed number of statements."""
    tickets = [open_ticket(tenant_a) for _ in range(54)]
    client = ApiClient(tenant_a.agent)

    def statements(chosen: list[Ticket]) -> int:
        selection = [{"number": t.number} for t in chosen]
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/bulk", {"action": "priority", "priority": "high",
                                             "tickets": selection})  # fmt: skip
        assert response.json()["done"] == len(chosen)
        return len(queries)

    statements(tickets[:1])  # the first request of the client warms its caches
    one, two, fifty = statements(tickets[1:2]), statements(tickets[2:4]), statements(tickets[4:])
    # Set-based: the chunk's lock, one UPDATE (the history rows are the trigger's), one
    # INSERT of its SLA events, the events' reads and writes once per chunk.
    assert one == two == fifty
