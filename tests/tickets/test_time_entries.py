"""Time entries: bounded minutes, own entries (managers any), totals per ticket and report."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.analytics.timereport import time_report
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.customers import services as companies
from deskbase.tickets import timeentries
from deskbase.tickets.models import TimeEntry
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def _log(world, ticket, minutes, actor=None, **fields):
    return timeentries.time_entry_add(organization=world.org, actor=actor or world.agent,
                                      ticket=ticket, minutes=minutes, **fields)  # fmt: skip


@pytest.mark.parametrize("minutes", [0, -5, 1441])
def test_minutes_are_positive_and_at_most_a_day(tenant_a, minutes):
    ticket = open_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as error:
        _log(tenant_a, ticket, minutes)
    assert error.value.field == "minutes"
    with tenant(tenant_a.org):
        assert not TimeEntry.objects.exists()


def test_no_time_on_a_future_day(tenant_a):
    ticket = open_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as error:
        _log(tenant_a, ticket, 10, worked_on=timezone.now().date() + timedelta(days=3))
    assert error.value.field == "worked_on"


def test_totals_per_ticket(tenant_a):
    ticket = open_ticket(tenant_a)
    _log(tenant_a, ticket, 30, note="Called")
    _log(tenant_a, ticket, 15, billable=False, actor=tenant_a.manager)
    _log(tenant_a, open_ticket(tenant_a), 99)
    found = timeentries.ticket_time(organization=tenant_a.org, actor=tenant_a.agent,
                                    ticket=ticket)  # fmt: skip
    assert (found.minutes, found.billable_minutes, len(found.entries)) == (45, 30, 2)


def test_agents_change_their_own_entries_managers_anyones(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    mine = _log(tenant_a, ticket, 30)
    managers = _log(tenant_a, ticket, 20, actor=tenant_a.manager)
    theirs = _log(tenant_b, open_ticket(tenant_b), 10)
    # an agent edits their own, not the manager's
    timeentries.time_entry_update(organization=tenant_a.org, actor=tenant_a.agent,
                                  entry_id=mine.pk, minutes=45)  # fmt: skip
    with pytest.raises(PermissionDenied):
        timeentries.time_entry_update(organization=tenant_a.org, actor=tenant_a.agent,
                                      entry_id=managers.pk, minutes=1)  # fmt: skip
    with pytest.raises(PermissionDenied):
        timeentries.time_entry_delete(organization=tenant_a.org, actor=tenant_a.agent,
                                      entry_id=managers.pk)  # fmt: skip
    # a manager deletes the agent's; another tenant's entry is not found for anyone
    timeentries.time_entry_delete(organization=tenant_a.org, actor=tenant_a.manager,
                                  entry_id=mine.pk)  # fmt: skip
    with pytest.raises(NotFound):
        timeentries.time_entry_delete(organization=tenant_a.org, actor=tenant_a.admin,
                                      entry_id=theirs.pk)  # fmt: skip
    with tenant(tenant_a.org):
        mine_now = TimeEntry.objects.filter(organization=tenant_a.org)
        assert list(mine_now.values_list("minutes", flat=True)) == [20]
    with tenant(tenant_b.org):
        assert TimeEntry.objects.filter(pk=theirs.pk).exists()


def test_customers_log_no_time(tenant_a):
    with pytest.raises(PermissionDenied):
        _log(tenant_a, open_ticket(tenant_a), 5, actor=tenant_a.customer)


def test_report_totals_per_agent_customer_and_company(tenant_a, tenant_b):
    # given a company with one customer, and time on their and another customer's tickets
    companies.company_create(organization=tenant_a.org, actor=tenant_a.admin, name="Initech",
                             domains=["initech.com"])  # fmt: skip
    peter = people.user_create(organization=tenant_a.org, actor=None, email="p@initech.com",
                               role="customer", full_name="Peter")  # fmt: skip
    petes, others = open_ticket(tenant_a, customer=peter), open_ticket(tenant_a)
    today = timezone.now().date()
    _log(tenant_a, petes, 60)
    _log(tenant_a, petes, 30, billable=False, actor=tenant_a.manager)
    _log(tenant_a, others, 10)
    _log(tenant_a, others, 500, worked_on=today - timedelta(days=40))  # outside the range
    _log(tenant_b, open_ticket(tenant_b), 700)

    def report(by: str) -> list[tuple]:
        rows = time_report(organization=tenant_a.org, actor=tenant_a.manager, by=by,
                           since=today - timedelta(days=7), until=today)  # fmt: skip
        return [(r["name"], r["minutes"], r["billable_minutes"]) for r in rows]

    assert report("agent") == [("Acme Agent", 70, 70), ("Acme Manager", 30, 0)]
    assert report("customer") == [("Peter", 90, 60), ("Acme Customer", 10, 10)]
    assert report("company") == [("Initech", 90, 60)]


def test_report_is_for_admins_and_managers(tenant_a):
    with pytest.raises(PermissionDenied):
        time_report(organization=tenant_a.org, actor=tenant_a.agent, by="agent",
                    since=date(2026, 1, 1), until=date(2026, 1, 2))  # fmt: skip
