"""/api/v1/analytics: staff only, agent performance for managers and admins, each caller's
own organization only, bad input a 422 naming the field, a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.analytics import refresh, selectors
from tests.analytics.scenario import Recount, build
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

PANELS = ("live", "dashboard", "agents", "customers", "sla", "trends", "channels", "categories")


@pytest.fixture
def both(tenant_a, tenant_b):
    a = build(tenant_a)
    b = build(tenant_b, tz="Asia/Kolkata")
    refresh.refresh_views()
    return a, b


def test_roles(both, app_role):
    a, _ = both
    world = a.world
    for panel in PANELS:
        assert ApiClient(world.customer).get(f"/analytics/{panel}").status_code == 403
        assert ApiClient(world.manager).get(f"/analytics/{panel}").status_code == 200
        assert ApiClient(world.admin).get(f"/analytics/{panel}").status_code == 200
        expected = 403 if panel == "agents" else 200
        assert ApiClient(world.agent).get(f"/analytics/{panel}").status_code == expected


def test_each_tenant_sees_its_own_numbers(both, app_role):
    a, b = both
    params = {"start": a.day.isoformat(), "end": (a.day + timedelta(days=5)).isoformat()}
    for scenario in (a, b):
        org = scenario.world.org
        answer = ApiClient(scenario.world.manager).get("/analytics/dashboard", **params).json()
        recount = Recount(org)
        start, end = a.day, a.day + timedelta(days=5)
        assert answer["tickets"] == len(recount.opened_in(start, end))
        live = ApiClient(scenario.world.agent).get("/analytics/live").json()
        assert live["open"] == sum(t.status in ("new", "open", "pending") for t in recount.tickets)
    # Tenant B's team and agent, asked by tenant A: nothing
    client = ApiClient(a.world.manager)
    for key, value in (("team", b.team.id), ("agent", b.world.agent.id)):
        assert client.get("/analytics/dashboard", **params, **{key: value}).json()["tickets"] == 0
    assert client.get("/analytics/live", team=b.team.id).json()["open"] == 0
    agents = client.get("/analytics/agents", **params).json()["agents"]
    assert b.world.agent.id not in {row["agent_id"] for row in agents}
    assert b"globex" not in client.get("/analytics/agents", **params).content.lower()


@pytest.mark.parametrize(
    ("panel", "params", "field"),
    [
        ("dashboard", {"start": "2026-02-30"}, "start"),
        ("dashboard", {"start": "2026-03-02", "end": "2026-03-01"}, "start"),
        ("dashboard", {"start": "1900-01-01"}, "start"),
        ("dashboard", {"team": "99999999999999999999"}, "team"),
        ("dashboard", {"channel": "pigeon"}, "channel"),
        ("trends", {"start": "2000-01-01"}, "start"),
        ("sla", {"priority": "whenever"}, "priority"),
        ("customers", {"limit": "0"}, "limit"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(tenant_a, app_role, panel, params, field):
    answer = ApiClient(tenant_a.manager).get(f"/analytics/{panel}", **params)
    assert answer.status_code == 422, answer.content
    assert field in answer.content.decode()


def test_a_panel_costs_the_same_queries_with_one_row_or_fifty(tenant_a):
    org = tenant_a.org
    filters = selectors.filters_for(org)
    open_ticket(tenant_a)
    refresh.refresh_views(["channel_performance_stats"])
    with CaptureQueriesContext(connection) as one:
        selectors.channel_performance(organization=org, filters=filters)
    for channel in ("email", "chat", "phone", "api", "portal"):
        open_ticket(tenant_a, channel=channel)
    refresh.refresh_views(["channel_performance_stats"])
    with CaptureQueriesContext(connection) as many:
        rows = selectors.channel_performance(organization=org, filters=filters)["channels"]
    assert len(rows) == 6
    # The tenant, the panel, and (nested in the test's transaction) the tenant put back.
    assert len(one) == len(many) == 3
    with CaptureQueriesContext(connection) as live:
        selectors.live_numbers(organization=org)
    assert len(live) == 4
