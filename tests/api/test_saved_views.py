"""/api/v1/views: saved views with live counts, and custom-field filters on the ticket list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.savedviews import selectors as view_selectors
from deskbase.savedviews import services as views
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_the_ticket_list_filters_by_custom_field_as_text_or_number(tenant_a, tenant_b):
    # Given tickets with custom fields, and one of tenant B alike
    gold = open_ticket(tenant_a, custom_fields={"plan": "gold", "seats": 12})
    open_ticket(tenant_a, custom_fields={"plan": "silver", "seats": 12})
    open_ticket(tenant_b, custom_fields={"plan": "gold", "seats": 12})
    client = ApiClient(tenant_a.agent)

    # When the agent lists cf.plan=gold and cf.seats=12
    both = client.get("/tickets", **{"cf.plan": "gold", "cf.seats": "12"}).json()["items"]
    seats = client.get("/tickets", **{"cf.seats": "12"}).json()["items"]

    # Then only A's matching tickets come back; the number matches the stored number
    assert [t["number"] for t in both] == [gold.number]
    assert len(seats) == 2


def test_a_bad_custom_field_filter_is_a_422_naming_it(tenant_a):
    response = ApiClient(tenant_a.agent).get("/tickets", **{"cf.plan": "x" * 201})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["cf.plan"]


def test_views_list_with_live_counts_and_their_tickets(tenant_a, tenant_b):
    # Given tagged tickets in both tenants, a shared view and a personal one
    for _ in range(3):
        open_ticket(tenant_a, tags=["billing"], custom_fields={"plan": "gold"})
    open_ticket(tenant_a, tags=["billing"])
    open_ticket(tenant_b, tags=["billing"], custom_fields={"plan": "gold"})
    manager, agent = ApiClient(tenant_a.manager), ApiClient(tenant_a.agent)
    shared = manager.post("/views", {"name": "Billing", "filters": {"tag": "billing"},
                                     "shared": True})  # fmt: skip
    assert shared.status_code == 201, shared.content
    gold = {"tag": "billing", "cf": {"plan": "gold"}}
    mine = agent.post("/views", {"name": "Gold billing", "sort": "created", "filters": gold})
    assert mine.status_code == 201, mine.content

    # When the agent lists their views and the tickets of their own
    listed = agent.get("/views").json()
    page = agent.get(f"/views/{mine.json()['id']}/tickets").json()

    # Then the shared view comes first, each with its count in this tenant only
    assert [(v["name"], v["shared"], v["count"]) for v in listed] == [
        ("Billing", True, 4),
        ("Gold billing", False, 3),
    ]
    assert len(page["items"]) == 3
    assert all(t["custom_fields"] == {"plan": "gold"} for t in page["items"])
    # ... and the manager does not see the agent's personal view
    assert [v["name"] for v in manager.get("/views").json()] == ["Billing"]


def test_an_agent_cannot_share_a_view_or_change_a_shared_one(tenant_a):
    shared = views.view_create(organization=tenant_a.org, actor=tenant_a.manager, name="Team",
                               filters={}, shared=True)  # fmt: skip
    agent = ApiClient(tenant_a.agent)
    assert agent.post("/views", {"name": "Mine", "shared": True}).status_code == 403
    assert agent.patch(f"/views/{shared.id}", {"name": "Hijacked"}).status_code == 403
    assert agent.delete(f"/views/{shared.id}").status_code == 403


def test_a_second_view_of_the_same_name_is_a_422_on_name(tenant_a):
    client = ApiClient(tenant_a.agent)
    assert client.post("/views", {"name": "Mine"}).status_code == 201
    again = client.post("/views", {"name": "Mine"})
    assert again.status_code == 422
    assert [e["field"] for e in again.json()["errors"]] == ["name"]


def test_counts_cost_one_query_for_one_view_or_fifty(tenant_a):
    # Given one view, then fifty
    open_ticket(tenant_a, tags=["a"])

    def counted() -> int:
        found = view_selectors.views_for(organization=tenant_a.org, actor=tenant_a.agent)
        with CaptureQueriesContext(connection) as queries:
            view_selectors.view_counts(organization=tenant_a.org, actor=tenant_a.agent,
                                       views=found)  # fmt: skip
        return len(queries)

    views.view_create(organization=tenant_a.org, actor=tenant_a.agent, name="v0",
                      filters={"tag": "a"})  # fmt: skip
    one = counted()
    for i in range(1, 50):
        filters = {"status": ["new"], "priority": ["high"]} if i % 2 else {}
        views.view_create(organization=tenant_a.org, actor=tenant_a.agent, name=f"v{i}",
                          filters=filters)  # fmt: skip
    # The count statement, and setting and restoring the tenant around it.
    assert counted() == one <= 3
