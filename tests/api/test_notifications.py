"""/api/v1/notifications: the list, the unread count, marking read, the settings."""

from __future__ import annotations

import pytest

from deskbase.core.tenancy import tenant
from deskbase.notifications.models import Notification
from tests.api.helpers import ApiClient, list_size_and_queries
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def notified(world, count: int, user=None) -> list[int]:
    """`count` assignments of new tickets to the user (the agent): one entry per ticket."""
    from deskbase.tickets import services

    user = user or world.agent
    for _ in range(count):
        services.ticket_assign(
            organization=world.org, actor=world.manager, ticket=open_ticket(world), assignee=user
        )
    with tenant(world.org):
        return list(Notification.objects.filter(recipient=user).order_by("id").values_list(
            "id", flat=True))  # fmt: skip


def put(client: ApiClient, body):
    return client.client.put("/api/v1/notifications/settings", body,
                             content_type="application/json",
                             headers=client._headers(None))  # fmt: skip


def test_the_list_and_the_count_are_the_callers_own(tenant_a, tenant_b, app_role):
    # Given two entries for tenant A's agent and one for tenant B's agent
    mine = notified(tenant_a, 2)
    notified(tenant_b, 1)
    agent = ApiClient(tenant_a.agent)
    # When the agent lists them
    response = agent.get("/notifications")
    # Then exactly theirs, newest first, with the ticket and who did it
    assert response.status_code == 200, response.content
    body = response.json()
    assert [n["id"] for n in body] == mine[::-1]
    assert body[0]["reason"] == "assigned"
    assert body[0]["actor"]["id"] == tenant_a.manager.id
    assert b"globex" not in response.content
    assert agent.get("/notifications/unread-count").json() == {"unread": 2}
    # And the manager, who did it, has none
    assert ApiClient(tenant_a.manager).get("/notifications/unread-count").json() == {"unread": 0}


def test_marking_read_one_and_all(tenant_a, tenant_b, app_role):
    first, second, third = notified(tenant_a, 3)
    (theirs,) = notified(tenant_b, 1)
    agent = ApiClient(tenant_a.agent)
    assert agent.post(f"/notifications/{first}/read").status_code == 204
    assert agent.get("/notifications/unread-count").json() == {"unread": 2}
    assert [n["id"] for n in agent.get("/notifications", unread="true").json()] == [third, second]
    # Another tenant's entry and another person's answer like a missing one
    for other in (theirs, 987_654):
        refused = agent.post(f"/notifications/{other}/read")
        assert refused.status_code == 404
        assert refused["Content-Type"] == "application/problem+json"
    manager = ApiClient(tenant_a.manager)
    assert manager.post(f"/notifications/{second}/read").status_code == 404
    # When the agent marks all read
    assert agent.post("/notifications/read-all").json() == {"marked": 2}
    assert agent.get("/notifications/unread-count").json() == {"unread": 0}
    # Then tenant B's entry is untouched
    assert ApiClient(tenant_b.agent).get("/notifications/unread-count").json() == {"unread": 1}


def test_the_list_costs_the_same_queries_for_1_and_50_rows(tenant_a, app_role):
    agent = ApiClient(tenant_a.agent)
    notified(tenant_a, 1)
    agent.get("/notifications")  # the token's first use of the day is recorded once
    one = list_size_and_queries(agent, "/notifications")
    notified(tenant_a, 49)
    fifty = list_size_and_queries(agent, "/notifications")
    assert (one[0], fifty[0]) == (1, 50)
    assert one[1] == fifty[1]


def test_settings_are_read_and_changed(tenant_a, app_role):
    agent = ApiClient(tenant_a.agent)
    rows = {r["reason"]: r for r in agent.get("/notifications/settings").json()}
    assert rows["new_ticket"]["scope"] == "teams"
    assert rows["assigned"]["direct"] is True
    changed = put(agent, {"settings": [{"reason": "new_ticket", "scope": "all", "in_app": True,
                                        "mail": True}]})  # fmt: skip
    assert changed.status_code == 200, changed.content
    after = {r["reason"]: r for r in changed.json()}
    assert (after["new_ticket"]["scope"], after["new_ticket"]["mail"]) == ("all", True)
    assert agent.get("/notifications/settings").json() == changed.json()


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"reason": "weather"}, "settings[0].reason"),
        ({"reason": "new_ticket", "scope": "galaxy"}, "settings[0].scope"),
        ({"reason": "new_ticket", "mail": "yes"}, "settings[0].mail"),
    ],
)
def test_bad_settings_name_the_field_and_change_nothing(tenant_a, app_role, row, field):
    agent = ApiClient(tenant_a.agent)
    before = agent.get("/notifications/settings").json()
    refused = put(agent, {"settings": [row]})
    assert refused.status_code == 422
    assert field in {e["field"] for e in refused.json()["errors"]}, refused.json()
    assert agent.get("/notifications/settings").json() == before


def test_customers_have_no_notifications(tenant_a, app_role):
    customer = ApiClient(tenant_a.customer)
    for response in (customer.get("/notifications"), customer.get("/notifications/unread-count"),
                     customer.get("/notifications/settings"),
                     customer.post("/notifications/read-all")):  # fmt: skip
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
