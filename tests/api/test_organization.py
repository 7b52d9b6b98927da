"""/api/v1/organization, /api/v1/sla-policies, a ticket's SLA clock, and CSAT ratings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Holiday, Organization
from deskbase.sla import policies
from deskbase.sla.models import SlaEvent, SlaPolicy
from deskbase.tickets import services
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

POLICY = {"name": "Urgent basic", "priority": "urgent", "customer_tier": "basic",
          "first_response_minutes": 60, "resolution_minutes": 240,
          "business_hours": False}  # fmt: skip


def field_of(response) -> str:
    return response.json()["errors"][0]["field"]


def same_queries_for_1_and_50(api: ApiClient, path: str, rows: Callable, add: Callable) -> None:
    """GET `path` with one row, then with fifty: the query count does not move."""
    api.get(path)  # the token's first use records it: not compared

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path)
        assert response.status_code == 200, response.content
        return len(rows(response.json())), len(queries)

    rows_one, queries_one = count()
    add(49)
    rows_fifty, queries_fifty = count()
    assert (rows_one, rows_fifty) == (1, 50)
    assert queries_one == queries_fifty


def a_policy(world, **fields) -> SlaPolicy:
    body = {**POLICY, "valid_from": timezone.now() - dt.timedelta(days=1), **fields}
    return policies.sla_policy_create(organization=world.org, actor=world.manager, **body)


# ------------------------------------------------------------------ the organization
def test_staff_read_the_settings_customers_do_not(tenant_a, tenant_b, app_role):
    # Given a holiday in each tenant
    with tenant(tenant_a.org):
        Holiday.objects.create(organization=tenant_a.org, date=dt.date(2030, 12, 25), name="Xmas")
    with tenant(tenant_b.org):
        Holiday.objects.create(organization=tenant_b.org, date=dt.date(2030, 7, 4), name="B day")
    # When an agent of A reads the organization
    response = ApiClient(tenant_a.agent).get("/organization")
    # Then they get A's settings and holidays only
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["slug"], body["timezone"]) == ("acme", "UTC")
    assert body["business_hours"]["mon"] == [["09:00", "17:00"]]
    assert [h["name"] for h in body["holidays"]] == ["Xmas"]
    # And a customer gets a 403 problem
    refused = ApiClient(tenant_a.customer).get("/organization")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"


def test_admins_change_the_settings(tenant_a, tenant_b, app_role):
    admin = ApiClient(tenant_a.admin)
    hours = {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "17:00"]]}
    changed = admin.patch("/organization", {"name": "Acme Inc", "timezone": "Europe/Paris",
                                            "business_hours": hours,
                                            "settings": {"locale": "fr"}})  # fmt: skip
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["name"], body["timezone"], body["settings"]) == ("Acme Inc", "Europe/Paris",
                                                                  {"locale": "fr"})  # fmt: skip
    assert body["business_hours"] == hours
    # Tenant B is untouched
    with tenant(tenant_b.org):
        assert Organization.objects.get(pk=tenant_b.org.id).timezone == "UTC"
    # Only admins
    for person in (tenant_a.manager, tenant_a.agent, tenant_a.customer):
        assert ApiClient(person).patch("/organization", {"name": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"business_hours": {"mon": [["17:00", "09:00"]]}}, "business_hours"),
        ({"business_hours": {"someday": []}}, "business_hours"),
        ({"business_hours": {"mon": [], "tue": []}}, "business_hours"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"slug": "mine"}, "slug"),
        ({"tier": "enterprise"}, "tier"),
    ],
)
def test_bad_settings_name_the_field(tenant_a, app_role, body, field):
    response = ApiClient(tenant_a.admin).patch("/organization", body)
    assert response.status_code == 422, response.content
    assert field_of(response) == field


def test_holidays(tenant_a, app_role):
    manager = ApiClient(tenant_a.manager)
    added = manager.post("/organization/holidays", {"date": "2030-01-01", "name": "New year"})
    assert added.status_code == 201, added.content
    assert added.json()["date"] == "2030-01-01"
    twice = manager.post("/organization/holidays", {"date": "2030-01-01", "name": "Again"})
    assert twice.status_code == 422
    assert field_of(twice) == "date"
    agent = ApiClient(tenant_a.agent)
    refused = agent.post("/organization/holidays", {"date": "2030-05-01", "name": "x"})
    assert refused.status_code == 403
    holidays = ApiClient(tenant_a.admin).get("/organization").json()["holidays"]
    assert [h["name"] for h in holidays] == ["New year"]


def test_reading_the_organization_costs_the_same_for_1_and_50_holidays(tenant_a, app_role):
    with tenant(tenant_a.org):
        Holiday.objects.create(organization=tenant_a.org, date=dt.date(2030, 1, 1), name="h")

    def add(count: int) -> None:
        with tenant(tenant_a.org):
            Holiday.objects.bulk_create(
                Holiday(organization=tenant_a.org, date=dt.date(2031, 1, 1) + dt.timedelta(i),
                        name=f"h{i}")
                for i in range(count)
            )  # fmt: skip

    same_queries_for_1_and_50(ApiClient(tenant_a.agent), "/organization",
                              lambda body: body["holidays"], add)  # fmt: skip


# ------------------------------------------------------------------ SLA policies
def test_managers_manage_policies(tenant_a, app_role):
    manager, agent = ApiClient(tenant_a.manager), ApiClient(tenant_a.agent)
    # When a manager creates a policy
    created = manager.post("/sla-policies", POLICY)
    # Then it is active from now, open-ended, and everyone on the staff can read it
    assert created.status_code == 201, created.content
    policy = created.json()
    assert (policy["is_active"], policy["valid_until"]) == (True, None)
    assert [p["id"] for p in agent.get("/sla-policies").json()] == [policy["id"]]
    assert agent.get(f"/sla-policies/{policy['id']}").status_code == 200
    # And they may change its targets and name; never what it is for
    path = f"/sla-policies/{policy['id']}"
    changed = manager.patch(path, {"first_response_minutes": 30, "name": "Faster"})
    assert changed.status_code == 200
    assert (changed.json()["first_response_minutes"], changed.json()["name"]) == (30, "Faster")
    assert field_of(manager.patch(path, {"priority": "low"})) == "priority"
    assert field_of(manager.patch(path, {"resolution_minutes": 10})) == "resolution_minutes"
    assert field_of(manager.patch(path, {"name": None})) == "name"
    # But agents and customers may not, and customers do not even read them
    assert agent.post("/sla-policies", {**POLICY, "priority": "low"}).status_code == 403
    assert agent.patch(path, {"name": "x"}).status_code == 403
    assert agent.delete(path).status_code == 403
    assert ApiClient(tenant_a.customer).get("/sla-policies").status_code == 403
    # Deactivating keeps the row
    assert manager.delete(path).status_code == 204
    assert agent.get("/sla-policies", active="false").json()[0]["is_active"] is False
    assert agent.get("/sla-policies", active="true").json() == []


def test_an_overlapping_active_policy_is_a_422_on_valid_from(tenant_a, app_role):
    manager = ApiClient(tenant_a.manager)
    first = manager.post("/sla-policies", {**POLICY, "valid_from": "2030-01-01T00:00:00Z"}).json()
    # When another active policy for the same priority and tier covers the same time
    overlap = manager.post("/sla-policies", {**POLICY, "valid_from": "2031-01-01T00:00:00Z"})
    # Then it is refused on valid_from
    assert overlap.status_code == 422
    assert field_of(overlap) == "valid_from"
    # But ending the first one makes room for it, and another tier never overlapped
    path = f"/sla-policies/{first['id']}"
    assert manager.patch(path, {"valid_until": "2031-01-01T00:00:00Z"}).status_code == 200
    second = manager.post("/sla-policies", {**POLICY, "valid_from": "2031-01-01T00:00:00Z"})
    assert second.status_code == 201
    # And an open-ended first policy cannot be reopened over the second
    assert field_of(manager.patch(path, {"valid_until": None})) == "valid_from"
    # A deactivated policy no longer overlaps, and reactivating one that would is refused
    assert manager.delete(path).status_code == 204
    assert manager.patch(path, {"valid_until": None}).status_code == 200
    assert field_of(manager.patch(path, {"is_active": True})) == "valid_from"


def test_a_racing_overlap_is_still_a_422_on_valid_from(tenant_a, app_role, monkeypatch):
    # Given a policy, and a second writer whose own check saw none (a race)
    manager = ApiClient(tenant_a.manager)
    assert manager.post("/sla-policies", POLICY).status_code == 201
    monkeypatch.setattr(policies, "_validate", lambda policy: None)
    # When it inserts an overlapping policy, PostgreSQL's exclusion constraint refuses it
    response = manager.post("/sla-policies", POLICY)
    # And the answer is the same field error, not a 500
    assert response.status_code == 422, response.content
    assert field_of(response) == "valid_from"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**POLICY, "valid_from": "2030-01-01T00:00:00"}, "valid_from"),
        ({**POLICY, "valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"},
         "valid_until"),
        ({**POLICY, "first_response_minutes": 0}, "first_response_minutes"),
        ({**POLICY, "resolution_minutes": 10_000_000}, "resolution_minutes"),
        ({**POLICY, "customer_tier": "gold"}, "customer_tier"),
        ({**POLICY, "is_active": False}, "is_active"),
        ({**POLICY, "organization_id": 1}, "organization_id"),
    ],
)  # fmt: skip
def test_bad_policies_name_the_field(tenant_a, app_role, body, field):
    response = ApiClient(tenant_a.manager).post("/sla-policies", body)
    assert response.status_code == 422, response.content
    assert field_of(response) == field, response.json()


def test_another_tenants_policies_are_absent(tenant_a, tenant_b, app_role):
    policy = a_policy(tenant_a)
    b_manager = ApiClient(tenant_b.manager)
    path = f"/sla-policies/{policy.id}"
    assert b_manager.get("/sla-policies").json() == []
    assert b_manager.get(path).status_code == 404
    assert b_manager.patch(path, {"name": "x"}).status_code == 404
    assert b_manager.delete(path).status_code == 404
    # And tenant B's own identical policy does not overlap A's
    assert b_manager.post("/sla-policies", POLICY).status_code == 201
    with tenant(tenant_a.org):
        assert SlaPolicy.objects.get(pk=policy.id).is_active


def test_policy_list_costs_the_same_for_1_and_50(tenant_a, app_role):
    a_policy(tenant_a)

    def add(count: int) -> None:
        start = timezone.now() - dt.timedelta(days=1000)
        with tenant(tenant_a.org):
            SlaPolicy.objects.bulk_create(
                SlaPolicy(organization=tenant_a.org, name=f"p{i}", priority="low",
                          customer_tier="basic", first_response_minutes=60,
                          resolution_minutes=60, valid_from=start + dt.timedelta(days=i),
                          valid_until=start + dt.timedelta(days=i + 1))
                for i in range(count)
            )  # fmt: skip

    same_queries_for_1_and_50(ApiClient(tenant_a.agent), "/sla-policies", lambda body: body, add)


# ------------------------------------------------------------------ a ticket's SLA clock
def test_the_sla_timeline_of_a_ticket(tenant_a, tenant_b, app_role):
    # Given a calendar-time policy and an urgent ticket that waited on the customer once
    policy = a_policy(tenant_a)
    ticket = open_ticket(tenant_a, priority="urgent")
    for status in ("pending", "open", "pending"):
        services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent,
                                      ticket=ticket, status=status)  # fmt: skip
    # When an agent reads its clock
    response = ApiClient(tenant_a.agent).get(f"/tickets/{ticket.number}/sla")
    # Then it shows the policy, the due times, the pause and every event in order
    assert response.status_code == 200, response.content
    clock = response.json()
    assert clock["policy"]["id"] == policy.id
    assert clock["paused"] is True
    assert clock["breached"] is False
    assert clock["first_response_due_at"] is not None
    kinds = [(e["kind"], e["target"]) for e in clock["events"]]
    assert kinds[:2] == [("started", "first_response"), ("started", "resolution")]
    assert [k for k, _ in kinds[2:]] == ["paused", "resumed", "resumed", "paused"]
    # But for the customer, and for another tenant, there is no such ticket
    assert ApiClient(tenant_a.customer).get(f"/tickets/{ticket.number}/sla").status_code == 404
    assert ApiClient(tenant_b.agent).get(f"/tickets/{ticket.number}/sla").status_code == 404


def test_a_ticket_without_policy_has_an_empty_clock(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    clock = ApiClient(tenant_a.agent).get(f"/tickets/{ticket.number}/sla").json()
    assert (clock["policy"], clock["first_response_due_at"], clock["events"]) == (None, None, [])


def test_the_timeline_costs_the_same_for_1_and_50_events(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    with tenant(tenant_a.org):
        SlaEvent.objects.create(organization=tenant_a.org, ticket=ticket, kind="paused")

    def add(count: int) -> None:
        with tenant(tenant_a.org):
            SlaEvent.objects.bulk_create(
                SlaEvent(organization=tenant_a.org, ticket=ticket, kind="recomputed",
                         target="resolution", reason=f"r{i}")
                for i in range(count)
            )  # fmt: skip

    same_queries_for_1_and_50(ApiClient(tenant_a.agent), f"/tickets/{ticket.number}/sla",
                              lambda body: body["events"], add)  # fmt: skip


# ------------------------------------------------------------------ CSAT
def test_the_customer_rates_a_resolved_ticket_once(tenant_a, tenant_b, app_role):
    ticket = open_ticket(tenant_a)
    customer = ApiClient(tenant_a.customer)
    path = f"/tickets/{ticket.number}/csat"
    # Not before it is resolved
    early = customer.post(path, {"rating": 5})
    assert early.status_code == 409
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                  status="resolved")  # fmt: skip
    # Then a rating from 1 to 5, once
    assert field_of(customer.post(path, {"rating": 6})) == "rating"
    assert field_of(customer.post(path, {"rating": 4, "customer_id": 1})) == "customer_id"
    rated = customer.post(path, {"rating": 4, "comment": "  Quick, thanks  "})
    assert rated.status_code == 201, rated.content
    assert (rated.json()["rating"], rated.json()["comment"]) == (4, "Quick, thanks")
    assert ApiClient(tenant_a.agent).get(f"/tickets/{ticket.number}").json()["satisfaction"] == 4
    assert customer.post(path, {"rating": 1}).status_code == 409
    # Staff do not rate for the customer; other customers and tenants have no such ticket
    assert ApiClient(tenant_a.agent).post(path, {"rating": 1}).status_code == 403
    assert ApiClient(tenant_b.customer).post(path, {"rating": 1}).status_code == 404
