"""/api/v1/canned-responses: shared and personal replies, rendering, isolation."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.tickets.models import CannedResponse
from tests.api.helpers import ApiClient, list_size_and_queries
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_agent(tenant_a) -> User:
    with tenant(tenant_a.org):
        return User.objects.create_user("agent2@acme.test", "pw-for-tests-1",
                                        organization=tenant_a.org, role="agent")  # fmt: skip


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()]


def test_who_may_create_what(tenant_a, app_role):
    manager, agent = ApiClient(tenant_a.manager), ApiClient(tenant_a.agent)
    # When a manager creates a shared response and an agent a personal one
    shared = manager.post("/canned-responses", {"name": "Hello", "body": "Hi {{ customer.name }}"})
    personal = agent.post("/canned-responses", {"name": "Mine", "body": "x", "personal": True})
    # Then both exist, shared and personal
    assert shared.status_code == 201, shared.content
    assert (shared.json()["shared"], shared.json()["owner_id"]) == (True, None)
    assert personal.status_code == 201
    assert (personal.json()["shared"], personal.json()["owner_id"]) == (False, tenant_a.agent.id)
    # But an agent may not create a shared one, nor a customer anything
    refused = agent.post("/canned-responses", {"name": "Team", "body": "x"})
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    customer = ApiClient(tenant_a.customer)
    mine = {"name": "c", "body": "x", "personal": True}
    assert customer.post("/canned-responses", mine).status_code == 403
    assert customer.get("/canned-responses").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "body": "x"}, "name"),
        ({"name": "a", "body": "Dear {{ settings.SECRET_KEY }}"}, "body"),
        ({"name": "a", "body": "x", "owner_id": 1}, "owner_id"),
        ({"name": "a", "body": "x", "usage_count": 9}, "usage_count"),
    ],
)
def test_bad_input_names_the_field(tenant_a, app_role, body, field):
    response = ApiClient(tenant_a.manager).post("/canned-responses", body)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()


def test_duplicate_names_are_a_422_on_name(tenant_a, app_role):
    manager = ApiClient(tenant_a.manager)
    assert manager.post("/canned-responses", {"name": "Hello", "body": "x"}).status_code == 201
    duplicate = manager.post("/canned-responses", {"name": "Hello", "body": "y"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "name"


def test_lists_show_shared_and_own_only(tenant_a, tenant_b, second_agent, app_role):
    # Given a shared response, the agent's personal one and another agent's personal one
    ApiClient(tenant_a.manager).post("/canned-responses", {"name": "Shared", "body": "s"})
    agent = ApiClient(tenant_a.agent)
    agent.post("/canned-responses", {"name": "Mine", "body": "m", "personal": True})
    other = ApiClient(second_agent)
    theirs = other.post("/canned-responses", {"name": "Theirs", "body": "t", "personal": True})
    # Then the agent lists the shared and their own, not the other agent's
    assert names(agent.get("/canned-responses")) == ["Mine", "Shared"]
    # And cannot change or delete the other agent's one: it is absent for them
    theirs_id = theirs.json()["id"]
    assert agent.patch(f"/canned-responses/{theirs_id}", {"name": "x"}).status_code == 404
    assert agent.delete(f"/canned-responses/{theirs_id}").status_code == 404
    # And tenant B sees none of tenant A's
    b_manager = ApiClient(tenant_b.manager)
    assert names(b_manager.get("/canned-responses")) == []
    shared_id = agent.get("/canned-responses").json()[1]["id"]
    assert b_manager.patch(f"/canned-responses/{shared_id}", {"name": "x"}).status_code == 404
    assert b_manager.delete(f"/canned-responses/{shared_id}").status_code == 404


def test_update_and_delete(tenant_a, app_role):
    manager, agent = ApiClient(tenant_a.manager), ApiClient(tenant_a.agent)
    shared = manager.post("/canned-responses", {"name": "Hello", "body": "x"}).json()
    path = f"/canned-responses/{shared['id']}"
    # An agent may use a shared response but not change it
    assert agent.patch(path, {"body": "changed"}).status_code == 403
    # A manager may rename it and rewrite it; null and unknown fields are refused
    changed = manager.patch(path, {"name": "Greeting", "body": "Hello {{ agent.name }}"})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Greeting"
    assert changed.json()["body"] == "Hello {{ agent.name }}"
    assert manager.patch(path, {"name": None}).json()["errors"][0]["field"] == "name"
    assert manager.patch(path, {"owner_id": 3}).status_code == 422
    assert manager.patch(path, {"body": "{{ nope }}"}).json()["errors"][0]["field"] == "body"
    # Deleting hides it
    assert agent.delete(path).status_code == 403
    assert manager.delete(path).status_code == 204
    assert names(agent.get("/canned-responses")) == []
    assert manager.delete(path).status_code == 404


def test_render_fills_in_the_ticket(tenant_a, tenant_b, app_role):
    # Given a shared response with placeholders and a ticket
    manager = ApiClient(tenant_a.manager)
    body = "Hi {{ customer.name }}, #{{ ticket.number }} - {{ agent.name }}"
    body += " of {{ organization.name }}"
    canned = manager.post("/canned-responses", {"name": "Hi", "body": body}).json()
    ticket = open_ticket(tenant_a)
    agent = ApiClient(tenant_a.agent)
    # When an agent renders it for the ticket
    response = agent.post(f"/canned-responses/{canned['id']}/render", {"ticket": ticket.number})
    # Then the values are filled in, as plain text
    assert response.status_code == 200, response.content
    assert response.json() == {"body": "Hi Acme Customer, #1 - Acme Agent of Acme"}
    with tenant(tenant_a.org):
        assert CannedResponse.objects.get(pk=canned["id"]).usage_count == 1
    # And an unknown ticket is a 422 naming it; another tenant's ticket number is unknown too
    missing = agent.post(f"/canned-responses/{canned['id']}/render", {"ticket": 99})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "ticket"
    open_ticket(tenant_b)
    open_ticket(tenant_b)
    b_two = agent.post(f"/canned-responses/{canned['id']}/render", {"ticket": 2})
    assert b_two.status_code == 422
    # And tenant B's agent cannot render A's response for B's own ticket
    b_agent = ApiClient(tenant_b.agent)
    assert b_agent.post(f"/canned-responses/{canned['id']}/render", {"ticket": 1}).status_code == (
        404
    )
    # And customers may not render
    customer = ApiClient(tenant_a.customer)
    rendered = customer.post(f"/canned-responses/{canned['id']}/render", {"ticket": 1})
    assert rendered.status_code == 403


def test_listing_costs_the_same_queries_for_1_and_50(tenant_a, app_role):
    agent = ApiClient(tenant_a.agent)
    with tenant(tenant_a.org):
        CannedResponse.objects.create(organization=tenant_a.org, name="first", body="x")
    agent.get("/canned-responses")  # the token's first use records it: not compared

    rows_one, queries_one = list_size_and_queries(agent, "/canned-responses")
    with tenant(tenant_a.org):
        CannedResponse.objects.bulk_create(
            CannedResponse(organization=tenant_a.org, name=f"n{i:02}", body="x",
                           owner=tenant_a.agent if i % 2 else None)
            for i in range(49)
        )  # fmt: skip
    rows_fifty, queries_fifty = list_size_and_queries(agent, "/canned-responses")
    assert (rows_one, rows_fifty) == (1, 50)
    assert queries_one == queries_fifty
