"""The manager dashboard: panels of the caller's organization only, agent performance for
managers and admins, live numbers that follow a resolution, a fixed number of queries."""

from __future__ import annotations

import json

import pytest

from deskbase.analytics import refresh
from deskbase.tickets import services
from deskbase.tickets.models import Category, Ticket
from tests.tickets.factories import open_ticket
from tests.web.helpers import assert_staff_only, queries_of, signed_in

pytestmark = pytest.mark.django_db


def _category(world, name: str) -> Category:
    return Category.objects.create(organization=world.org, name=name)


def _resolve(world, ticket: Ticket) -> None:
    services.ticket_change_status(organization=world.org, actor=world.agent, ticket=ticket,
                                  status="resolved")  # fmt: skip


def _chart_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="dashboard-data" type="application/json">')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def test_staff_see_their_own_organization_only(tenant_a, tenant_b):
    """Given tickets in two organizations, when a manager of the first opens the
    dashboard, then only the first organization's tickets and categories are counted."""
    billing = _category(tenant_a, "Billing")
    open_ticket(tenant_a, subject="Invoice", category=billing, channel="email")
    _resolve(tenant_a, open_ticket(tenant_a, subject="Login", channel="email"))
    secret = _category(tenant_b, "Globex secret")
    for _ in range(3):
        open_ticket(tenant_b, category=secret, channel="phone")
    refresh.refresh_views()

    response = signed_in(tenant_a.manager).get("/desk/dashboard/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Globex secret" not in content
    panels = response.context["panels"]
    assert panels["summary"]["tickets"] == 2
    assert [c["channel"] for c in panels["channels"]["channels"]] == ["email"]
    assert {c["name"] for c in panels["categories"]["categories"]} == {"Billing", None}
    assert response.context["live"]["open"] == 1
    assert response.context["live"]["resolved_today"] == 1
    data = _chart_data(response)
    # labels in the reader's language (the channel's display name)
    assert data["channels"] == {"labels": ["Email"], "tickets": [2]}
    assert sum(data["trends"]["series"]["created"]) == 2
    assert 'id="table-agents"' in content


def test_agents_see_the_dashboard_without_agent_performance(tenant_a, tenant_b):
    open_ticket(tenant_a)
    refresh.refresh_views()
    response = signed_in(tenant_a.agent).get("/desk/dashboard/")
    assert response.status_code == 200
    assert "agents" not in response.context["panels"]
    assert b'id="table-agents"' not in response.content
    admin = signed_in(tenant_a.admin).get("/desk/dashboard/")
    assert "agents" in admin.context["panels"]


@pytest.mark.parametrize("url", ["/desk/dashboard/", "/desk/dashboard/live"])
def test_customers_are_kept_out(tenant_a, tenant_b, url):
    assert_staff_only(tenant_a, url)


def test_filters_of_another_organization_are_ignored(tenant_a, tenant_b):
    """A team or category id of another organization is not offered, so it is dropped:
    the panels show the caller's organization, never the other one's."""
    theirs = _category(tenant_b, "Theirs")
    open_ticket(tenant_b, category=theirs)
    open_ticket(tenant_a)
    refresh.refresh_views()
    response = signed_in(tenant_a.manager).get(f"/desk/dashboard/?category={theirs.id}")
    assert response.context["filters"].category is None
    assert response.context["panels"]["summary"]["tickets"] == 1


def test_filters_narrow_the_panels(tenant_a, tenant_b):
    billing = _category(tenant_a, "Billing")
    open_ticket(tenant_a, category=billing, channel="chat")
    open_ticket(tenant_a, channel="email")
    refresh.refresh_views()
    client = signed_in(tenant_a.manager)
    by_category = client.get(f"/desk/dashboard/?category={billing.id}")
    assert by_category.context["panels"]["summary"]["tickets"] == 1
    by_channel = client.get("/desk/dashboard/?channel=email")
    assert by_channel.context["panels"]["summary"]["tickets"] == 1
    assert client.get("/desk/dashboard/?channel=fax").context["filters"].channel is None


def test_a_bad_range_is_a_message_not_an_error(tenant_a, tenant_b):
    client = signed_in(tenant_a.manager)
    backwards = client.get("/desk/dashboard/?start=2030-02-01&end=2030-01-01")
    assert backwards.status_code == 200
    assert b"The range starts after it ends." in backwards.content
    garbage = client.get("/desk/dashboard/?start=yesterday")
    assert garbage.status_code == 200
    assert b"start: not a date" in garbage.content


def test_live_numbers_follow_a_resolution(tenant_a, tenant_b):
    """Given an open ticket, when an agent resolves it, then the next poll of the live
    fragment shows one fewer open and one more resolved today (no refresh needed)."""
    ticket = open_ticket(tenant_a)
    open_ticket(tenant_b)
    client = signed_in(tenant_a.manager)
    before = client.get("/desk/dashboard/live")
    assert before.context["live"]["open"] == 1
    assert before.context["live"]["resolved_today"] == 0
    _resolve(tenant_a, ticket)
    after = client.get("/desk/dashboard/live")
    assert after.context["live"]["open"] == 0
    assert after.context["live"]["resolved_today"] == 1
    assert b'id="live-resolved-today">1<' in after.content


def test_names_are_escaped_in_tables_and_chart_data(tenant_a, tenant_b):
    evil = _category(tenant_a, "</script><script>alert(1)</script>")
    open_ticket(tenant_a, category=evil)
    refresh.refresh_views()
    response = signed_in(tenant_a.manager).get("/desk/dashboard/")
    content = response.content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in content
    assert "\\u003C/script\\u003E" in content  # json_script's escaping
    assert _chart_data(response)["categories"]["labels"][0].startswith("</script>")


def test_query_count_is_the_same_for_1_and_50_tickets(tenant_a, tenant_b):
    client = signed_in(tenant_a.manager)
    categories = [_category(tenant_a, f"Cat {i}") for i in range(5)]
    channels = ("email", "web", "chat", "phone", "api")

    def add(n: int, done: int) -> None:
        for i in range(done, done + n):
            ticket = open_ticket(tenant_a, subject=f"T {i}", category=categories[i % 5],
                                 channel=channels[i % 5], assignee=tenant_a.agent)  # fmt: skip
            if i % 2:
                _resolve(tenant_a, ticket)
        refresh.refresh_views()

    add(1, 0)
    small = {u: queries_of(client, u) for u in ("/desk/dashboard/", "/desk/dashboard/live")}
    add(49, 1)
    large = {u: queries_of(client, u) for u in ("/desk/dashboard/", "/desk/dashboard/live")}
    assert small == large
