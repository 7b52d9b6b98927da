"""The periodic pass records "at risk" and "breached" crossings once and announces them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from deskbase.core import events
from deskbase.core.tenancy import tenant
from deskbase.sla.models import SlaAlert
from deskbase.sla.services import mark_breaches
from deskbase.tickets.models import Ticket
from tests.sla.test_services import make_policy, started, utc

pytestmark = pytest.mark.django_db

NOW = utc(2025, 3, 3, 12)


@pytest.fixture
def announced() -> Iterator[list[tuple[str, int, str]]]:
    seen: list[tuple[str, int, str]] = []

    def note(event: events.Event) -> None:
        seen.append((event.name, event.instance.ticket_id, event.instance.target))

    for name in (events.SLA_AT_RISK, events.SLA_BREACHED):
        events.subscribe(name, "after")(note)
    yield seen
    for name in (events.SLA_AT_RISK, events.SLA_BREACHED):
        events.unsubscribe(name, note)


def test_each_crossing_is_announced_once_and_again_for_a_later_due_time(
    tenant_a, tenant_b, app_role, announced
):
    # Given calendar-time policies (first response 60 min, resolution 480) in both tenants,
    # and the default warning at 80 % of a target (the last 12 minutes of 60)
    org, customer = tenant_a.org, tenant_a.customer
    make_policy(org, first=60, resolution=480, business=False)
    make_policy(tenant_b.org, first=60, resolution=480, business=False)
    at_risk = started(org, customer, created_at=NOW - timedelta(minutes=50))  # due in 10 min
    late = started(org, customer, created_at=NOW - timedelta(hours=2))  # due an hour ago
    started(org, customer, created_at=NOW - timedelta(minutes=30))  # due in 30 min: fine
    started(tenant_b.org, tenant_b.customer, created_at=NOW - timedelta(hours=2))

    # When tenant A's pass runs
    mark_breaches(organization=org, now=NOW)

    # Then one event per crossing, of tenant A only
    assert sorted(announced) == sorted([
        ("sla.at_risk", at_risk.id, "first_response"),
        ("sla.breached", late.id, "first_response"),
    ])  # fmt: skip
    with tenant(tenant_b.org):
        assert not SlaAlert.objects.exists()

    # When the pass runs again (a minute later): nothing new
    announced.clear()
    mark_breaches(organization=org, now=NOW + timedelta(minutes=1))
    assert announced == []

    # When a policy change moves the late ticket's due time later (5 minutes ahead)
    with tenant(org):
        Ticket.objects.filter(pk=late.pk).update(first_response_due_at=NOW + timedelta(minutes=7))
    mark_breaches(organization=org, now=NOW + timedelta(minutes=2))
    # Then the new due time is a new crossing
    assert announced == [("sla.at_risk", late.id, "first_response")]


def test_the_warning_share_is_an_organization_setting(tenant_a, app_role, announced):
    # Given an organization warning at 50 % of a target
    org = tenant_a.org
    org.settings = {**(org.settings or {}), "sla_at_risk_percent": 50}
    with tenant(org):
        org.save(update_fields=["settings"])
    make_policy(org, first=60, resolution=480, business=False)
    half_way = started(org, tenant_a.customer, created_at=NOW - timedelta(minutes=35))
    # When the pass runs with 25 of 60 minutes left
    mark_breaches(organization=org, now=NOW)
    # Then the first response is at risk (it would not be at the default 80 %)
    assert announced == [("sla.at_risk", half_way.id, "first_response")]


@pytest.mark.parametrize("value", [0, 100, "80", 12.5, True])
def test_a_warning_share_out_of_range_is_refused_naming_the_setting(tenant_a, value):
    from deskbase.core.errors import ValidationFailed
    from deskbase.organizations.settings_services import organization_settings_update

    with pytest.raises(ValidationFailed) as caught:
        organization_settings_update(organization=tenant_a.org, actor=tenant_a.admin,
                                     settings={"sla_at_risk_percent": value})  # fmt: skip
    assert "settings.sla_at_risk_percent" in str(caught.value.errors)


def test_a_backlog_of_crossings_drains_over_several_passes_earliest_first(
    tenant_a, app_role, announced, settings
):
    # Given three late tickets and a pass that announces at most two crossings
    settings.SLA_ALERTS_PER_PASS = 2
    make_policy(tenant_a.org, first=60, resolution=480, business=False)
    late = [started(tenant_a.org, tenant_a.customer, created_at=NOW - timedelta(hours=h))
            for h in (2, 4, 3)]  # fmt: skip
    # When the pass runs twice
    mark_breaches(organization=tenant_a.org, now=NOW)
    first = list(announced)
    mark_breaches(organization=tenant_a.org, now=NOW)
    # Then the two earliest due first, the third next time, each once
    assert first == [("sla.breached", late[1].id, "first_response"),
                     ("sla.breached", late[2].id, "first_response")]  # fmt: skip
    assert announced[2:] == [("sla.breached", late[0].id, "first_response")]
