"""What a customer decides about the ticket they open, and what only the desk decides:
refused with a 403 naming the field, never applied or dropped (docs/permissions.md)."""

from __future__ import annotations

import pytest

from deskbase.accounts import services as people
from deskbase.core.errors import PermissionDenied
from deskbase.tickets import services
from deskbase.tickets.models import Category, Ticket
from tests.api.helpers import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(tenant_a):
    return people.team_create(organization=tenant_a.org, actor=tenant_a.admin, name="Tier 2")


# What a customer may not choose on a new ticket: the service's argument and a value
# ("TEAM" and "AGENT" stand for the tenant's team and agent). The API names references
# with "_id".
REFUSED = [("team", "TEAM"), ("assignee", "AGENT"), ("auto_assign", True),
           ("tags", ["vip"]), ("priority", "urgent"), ("channel", "phone")]  # fmt: skip
API_FIELD = {"team": "team_id", "assignee": "assignee_id"}


@pytest.mark.parametrize(("name", "value"), REFUSED)
def test_a_customer_cannot_route_or_triage_their_own_ticket(
    tenant_a, tenant_b, team, app_role, name, value
):
    field = API_FIELD.get(name, name)
    body = {field: {"TEAM": team.id, "AGENT": tenant_a.agent.id}.get(value, value)
            if isinstance(value, str) else value}  # fmt: skip
    response = ApiClient(tenant_a.customer).post("/tickets", {"subject": "Mine", **body})
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert not Ticket.objects.filter(subject="Mine").exists()


@pytest.fixture
def category(tenant_a):
    return Category.objects.create(organization=tenant_a.org, name="Billing")


def test_a_customer_sets_what_the_ticket_is_about_and_how_much_it_hurts(
    tenant_a, tenant_b, category, app_role
):
    body = {"subject": "Invoice wrong", "priority": "high", "category_id": category.id,
            "channel": "web", "custom_fields": {"invoice": "F-12"},
            "auto_assign": False, "assignee_id": None, "team_id": None, "tags": []}  # fmt: skip
    response = ApiClient(tenant_a.customer).post("/tickets", body)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(subject="Invoice wrong")
    assert (ticket.priority, ticket.category_id, ticket.channel, ticket.custom_fields) == (
        "high",
        category.id,
        "web",
        {"invoice": "F-12"},
    )
    assert (ticket.customer_id, ticket.team_id, ticket.assignee_id) == (
        tenant_a.customer.id,
        None,
        None,
    )


def test_staff_still_route_and_triage(tenant_a, team, app_role):
    body = {"subject": "Routed", "customer_id": tenant_a.customer.id, "team_id": team.id,
            "assignee_id": tenant_a.agent.id, "priority": "urgent", "channel": "phone",
            "tags": ["vip"]}  # fmt: skip
    response = ApiClient(tenant_a.agent).post("/tickets", body)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(subject="Routed")
    assert (ticket.team_id, ticket.assignee_id, ticket.priority) == (
        team.id,
        tenant_a.agent.id,
        "urgent",
    )


@pytest.mark.parametrize(("name", "value"), REFUSED)
def test_the_service_refuses_the_same_for_every_caller(tenant_a, team, name, value):
    """The web portal and any other caller go through the same rule."""
    if isinstance(value, str):
        value = {"TEAM": team, "AGENT": tenant_a.agent}.get(value, value)
    with pytest.raises(PermissionDenied) as refused:
        services.ticket_create(organization=tenant_a.org, actor=tenant_a.customer,
                               subject="Mine", **{name: value})  # fmt: skip
    assert refused.value.field == name
