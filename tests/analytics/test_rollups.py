"""The live numbers: kept by triggers in the writer's transaction, equal to a recount after
every kind of write, checked and repaired by `deskbase analytics check`."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from deskbase.analytics import rollups, selectors
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.sla import policies
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.analytics.scenario import Recount, build
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db
ACTIVE = ("new", "open", "pending")


def live_recount(org: Organization, *, team: int | None = None, now: datetime) -> dict:
    """The live numbers of docs/analytics.md, ticket by ticket."""
    r = Recount(org)
    tickets = [t for t in r.tickets if team is None or t.team_id == team]
    active = [t for t in tickets if t.status in ACTIVE]
    today = r.day(now)
    soon = now + timedelta(minutes=selectors.AT_RISK_MINUTES)

    def clock(t: Ticket) -> datetime:
        return t.sla_paused_at or now

    def breached(t: Ticket) -> bool:
        first = t.first_response_at is None and t.first_response_due_at is not None and (
            t.first_response_due_at < min(now, clock(t)))  # fmt: skip
        late = t.resolution_due_at is not None and t.resolution_due_at < min(now, clock(t))
        return first or late

    def at_risk(t: Ticket) -> bool:
        if t.sla_paused_at is not None or breached(t):
            return False
        dues = [t.resolution_due_at]
        if t.first_response_at is None:
            dues.append(t.first_response_due_at)
        return any(d is not None and now <= d < soon for d in dues)

    statuses = Counter(t.status for t in tickets)
    by_status = {s: statuses.get(s, 0) for s in selectors.STATUSES}
    if team is not None:
        by_status.update({s: None for s in selectors.STATUSES if s not in ACTIVE})
    teams = Counter(t.team_id for t in active)
    return {
        "by_status": by_status,
        "open": len(active),
        "open_by_priority": {p: sum(t.priority == p for t in active) for p in selectors.PRIORITIES},
        "open_by_team": [{"team_id": k, "open": teams[k]}
                         for k in sorted(teams, key=lambda k: (k is None, k or 0))],
        "unassigned": sum(t.assignee_id is None for t in active),
        "created_today": sum(r.day(t.created_at) == today for t in tickets),
        "resolved_today": sum(r.resolved(t) and r.day(t.resolved_at) == today for t in tickets),
        "sla_breached_now": sum(breached(t) for t in active),
        "sla_at_risk": sum(at_risk(t) for t in active),
    }  # fmt: skip


def assert_live_right(org: Organization, *, team: int | None = None) -> dict:
    now = timezone.now()
    got = selectors.live_numbers(organization=org, team=team, now=now)
    expected = live_recount(org, team=team, now=now)
    assert {key: got[key] for key in expected} == expected
    report = rollups.check(organization_id=org.id)
    assert report.ok, report.as_json()
    return got


def test_every_write_path_moves_the_live_numbers(tenant_a, tenant_b):
    # Given the scenario's writes in two tenants (create, reply, status, reopen, assign,
    # soft delete, restore, cancel, merge, pending) and a non-UTC time zone
    a = build(tenant_a)
    build(tenant_b, tz="Asia/Kolkata")
    org = tenant_a.org
    # Then the live numbers equal the recount, for the organization and per team
    numbers = assert_live_right(org)
    assert numbers["created_today"] >= 1  # the ticket opened just now
    assert_live_right(org, team=a.team.id)
    assert_live_right(tenant_b.org)
    # When more writes come: priority, team, unassignment, deletion, purge
    t = a.tickets["now"]
    services.ticket_update(organization=org, actor=tenant_a.agent, ticket=t, version=t.version,
                           priority="urgent", team=a.team)  # fmt: skip
    assert_live_right(org, team=a.team.id)
    services.ticket_assign(organization=org, actor=tenant_a.manager, ticket=t,
                           assignee=tenant_a.agent)  # fmt: skip
    services.ticket_assign(organization=org, actor=tenant_a.manager, ticket=t, assignee=None)
    assert assert_live_right(org)["unassigned"] >= 1
    services.ticket_soft_delete(organization=org, actor=tenant_a.agent, ticket=t)
    assert_live_right(org)
    with tenant(org):
        Ticket.all_objects.filter(pk=a.tickets["deleted"].pk).delete()  # a purge: hard delete
        Ticket.all_objects.filter(pk=a.tickets["pending"].pk).delete()  # a live one, too
    assert_live_right(org)
    assert rollups.check().ok


def test_at_risk_and_breached_follow_the_clock(tenant_a):
    # Given a 30-minute first-response target in calendar time and a ticket opened now
    org = tenant_a.org
    policies.sla_policy_create(
        organization=org, actor=tenant_a.manager, name="urgent", priority="urgent",
        customer_tier="basic", first_response_minutes=30, resolution_minutes=600,
        business_hours=False, valid_from=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    ticket = open_ticket(tenant_a, priority="urgent")
    # Then it is at risk now, and breached once its due time has passed
    assert assert_live_right(org)["sla_at_risk"] == 1
    later = ticket.first_response_due_at + timedelta(minutes=1)
    got = selectors.live_numbers(organization=org, now=later)
    assert got["sla_breached_now"] == live_recount(org, now=later)["sla_breached_now"] == 1
    assert got["sla_at_risk"] == 0
    # And a pause stops the clock: paused before the due time, never breached meanwhile
    services.ticket_change_status(organization=org, actor=tenant_a.agent, ticket=ticket,
                                  status="pending")  # fmt: skip
    got = selectors.live_numbers(organization=org, now=later)
    assert got["sla_breached_now"] == live_recount(org, now=later)["sla_breached_now"] == 0
    assert_live_right(org)


def test_a_change_shows_in_the_same_transaction(tenant_a):
    # Given an open ticket
    org = tenant_a.org
    ticket = open_ticket(tenant_a)
    before = selectors.live_numbers(organization=org)
    # When it is resolved
    services.ticket_change_status(organization=org, actor=tenant_a.agent, ticket=ticket,
                                  status="resolved")  # fmt: skip
    # Then the very next read has moved it: no refresh, no delay
    after = selectors.live_numbers(organization=org)
    assert after["by_status"]["new"] == before["by_status"]["new"] - 1
    assert after["by_status"]["resolved"] == before["by_status"]["resolved"] + 1
    assert after["resolved_today"] == before["resolved_today"] + 1


def _set_counts(world, assignment: str) -> None:
    """Change the organization's rollup rows behind the triggers' back (raw SQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE analytics_ticket_counts SET {assignment} WHERE organization_id = %s",  # noqa: S608 (the tests' own text)
            [world.org.id],
        )


def test_check_finds_a_wrong_count_and_repair_rewrites_it(tenant_a, tenant_b):
    open_ticket(tenant_a)
    open_ticket(tenant_b)
    _set_counts(tenant_a, "tickets = tickets + 5")
    report = rollups.check()
    assert not report.ok
    assert report.wrong_organizations == [tenant_a.org.id]
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("analytics", "check", stdout=out)
    assert failed.value.returncode == 2
    assert json.loads(out.getvalue())["organizations_wrong"] == [tenant_a.org.id]
    call_command("analytics", "check", "--repair", stdout=StringIO())
    assert rollups.check().ok
    assert_live_right(tenant_a.org)


def test_compaction_folds_finished_connections_into_one_row(tenant_a):
    open_ticket(tenant_a)
    open_ticket(tenant_a)
    # Given counts written by a connection that has ended (no backend has this pid)
    _set_counts(tenant_a, "shard = 2147483000")
    before = selectors.live_numbers(organization=tenant_a.org)
    assert rollups.compact() >= 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT shard FROM analytics_ticket_counts WHERE organization_id = %s",
            [tenant_a.org.id],
        )
        assert [row[0] for row in cursor.fetchall()] == [0]
    after = selectors.live_numbers(organization=tenant_a.org)
    keys = ("by_status", "open_by_priority", "open_by_team", "unassigned")
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
    assert rollups.check().ok


def test_bulk_rebuild_recounts_everything(tenant_a):
    open_ticket(tenant_a)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_ticket_counts")
        assert not rollups.check().ok
        rollups.rebuild(cursor)
    assert rollups.check().ok


def test_the_bench_switch_spares_only_bench_tickets(tenant_a):
    # Given the switch the bench uses to measure writes without the triggers
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('deskbase.rollups', 'off', false)")
    try:
        open_ticket(tenant_a, tags=["deskbase-bench"])
        open_ticket(tenant_a)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('deskbase.rollups', '', false)")
    # Then the ordinary ticket was counted and the bench ticket was not
    report = rollups.check()
    assert [(m.status, m.expected - m.stored) for m in report.mismatches] == [("new", 1)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_counts_right():
    # Given one organization and four writers, each on its own connection
    world = make_tenant("acme")
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(6):
                ticket = open_ticket(world, subject=f"w{index}-{n}")
                target = ("open", "pending", "resolved")[n % 3]
                services.ticket_change_status(organization=world.org, actor=world.agent,
                                              ticket=ticket, status=target)  # fmt: skip
                if n % 2:
                    services.ticket_change_status(organization=world.org, actor=world.agent,
                                                  ticket=ticket, status="open")  # fmt: skip
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then no writer failed (no deadlock), and the counts equal the recount
    assert errors == []
    assert rollups.check().ok
    with tenant(world.org):
        assert Ticket.objects.count() == 24
    assert selectors.live_numbers(organization=world.org)["open"] == sum(
        selectors.live_numbers(organization=world.org)["by_status"][s] for s in ACTIVE
    )
