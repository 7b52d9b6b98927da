"""Time rules: once per occurrence, business-hours durations, preview and explanations."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connections
from django.utils import timezone

from deskbase.automation import timed
from deskbase.automation.models import TimeOccurrence
from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.automation.helpers import firings, make_rule
from tests.tickets.factories import open_ticket

QUIET = {"time": "ticket.last_customer_reply_at", "op": "older_than", "minutes": 180}
ACTIONS = [{"type": "add_tags", "tags": ["nudged"]}]


def quiet_rule(world, **leaf):
    return make_rule(world, "Nudge", "time", conditions={"all": [{**QUIET, **leaf}]},
                     actions=ACTIONS)  # fmt: skip


def customer_replied(world, ticket, at):
    services.comment_add(organization=world.org, actor=world.customer, ticket=ticket,
                         body="Any news?", at=at)  # fmt: skip


@pytest.mark.django_db
def test_a_time_rule_fires_once_per_occurrence_and_again_for_a_new_one(tenant_a, app_role):
    # Given a rule for tickets whose customer has waited 3 hours, and such a ticket
    quiet_rule(tenant_a)
    now = timezone.now()
    ticket = open_ticket(tenant_a, at=now - timedelta(hours=6))
    customer_replied(tenant_a, ticket, now - timedelta(hours=4))
    # When the pass runs twice
    first = timed.run_time_rules(organization=tenant_a.org, now=now)
    second = timed.run_time_rules(organization=tenant_a.org, now=now + timedelta(minutes=1))
    # Then it fired once
    assert (first.fired, second.fired) == (1, 0)
    (firing,) = firings(tenant_a)
    assert firing.trigger == "time"
    assert firing.matched[0]["text"].endswith("of time since last customer reply")
    # And a new customer reply is a new occurrence: 3 hours later it fires again
    customer_replied(tenant_a, ticket, now - timedelta(minutes=1))
    assert timed.run_time_rules(organization=tenant_a.org, now=now).fired == 0
    later = now + timedelta(hours=3)
    assert timed.run_time_rules(organization=tenant_a.org, now=later).fired == 1


@pytest.mark.django_db
def test_business_hours_count_only_open_time(tenant_a, app_role):
    # Given an organization open Monday to Friday 09:00-17:00 UTC and a rule on 3 business
    # hours, and a customer who wrote on Friday at 16:00
    with tenant(tenant_a.org):
        org = tenant_a.org
        org.timezone = "UTC"
        org.business_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        org.save()
    quiet_rule(tenant_a, business=True)
    friday = timezone.now().replace(hour=16, minute=0, second=0, microsecond=0)
    friday -= timedelta(days=(friday.weekday() - 4) % 7 or 7)
    ticket = open_ticket(tenant_a, at=friday - timedelta(hours=1))
    customer_replied(tenant_a, ticket, friday)
    # When the pass runs on Monday at 10:00 (2 business hours later), then 11:00 (3)
    monday = friday + timedelta(days=3) - timedelta(hours=6)
    assert timed.run_time_rules(organization=tenant_a.org, now=monday).fired == 0
    with tenant(tenant_a.org):
        rule = tenant_a_rule(tenant_a)
        explained = timed.explain_on_ticket(rule, ticket, now=monday)
    assert explained["matches"] is False
    assert explained["conditions"][0]["reason"] == (
        "2 h 0 min of business time since last customer reply, less than 3 h 0 min"
    )
    assert timed.run_time_rules(organization=tenant_a.org,
                                now=monday + timedelta(hours=1)).fired == 1  # fmt: skip


def tenant_a_rule(world):
    from deskbase.automation.models import Rule

    return Rule.objects.get(organization=world.org, name="Nudge")


@pytest.mark.django_db
def test_preview_lists_what_the_rule_would_act_on_now(tenant_a, tenant_b, app_role):
    rule = make_rule(tenant_a, "Due soon", "time",
                     conditions={"all": [{"time": "ticket.resolution_due_at", "op": "due_within",
                                          "minutes": 60},
                                         {"field": "ticket.priority", "op": "is",
                                          "value": "high"}]},
                     actions=ACTIONS)  # fmt: skip
    now = timezone.now()
    due_soon = open_ticket(tenant_a, priority="high")
    not_high = open_ticket(tenant_a, priority="low")
    later = open_ticket(tenant_a, priority="high")
    theirs = open_ticket(tenant_b, priority="high")
    for world, ticket, minutes in ((tenant_a, due_soon, 30), (tenant_a, not_high, 30),
                                   (tenant_a, later, 300), (tenant_b, theirs, 30)):  # fmt: skip
        with tenant(world.org):
            Ticket.objects.filter(pk=ticket.pk).update(
                resolution_due_at=now + timedelta(minutes=minutes)
            )
    with tenant(tenant_a.org):
        shown = timed.preview(rule, now=now)
    assert shown.count == 1
    assert [t["number"] for t in shown.tickets] == [due_soon.number]
    assert shown.tickets[0]["because"][1] == "priority was high"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_passes_fire_once(tenant_a):
    # Given a time rule and a ticket it matches
    quiet_rule(tenant_a)
    now = timezone.now()
    ticket = open_ticket(tenant_a, at=now - timedelta(hours=6))
    customer_replied(tenant_a, ticket, now - timedelta(hours=4))
    # When two passes run at once on two connections
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = timed.run_time_rules(organization=tenant_a.org.id, now=now).fired
        except Exception as error:  # inspected below
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    # Then one fired and the other found the occurrence taken
    assert results in ([0, 1], [1, 0])
    assert TimeOccurrence.objects.count() == 1
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).tags == ["nudged"]


@pytest.mark.django_db
def test_tickets_that_other_conditions_exclude_do_not_use_up_the_pass(
    tenant_a, app_role, monkeypatch
):
    # Given a time rule on overdue urgent tickets, and more overdue low tickets than a
    # pass looks at, older than the one urgent ticket
    monkeypatch.setattr(timed, "SCAN", 3)
    make_rule(tenant_a, "Overdue urgent", "time",
              conditions={"all": [{"time": "ticket.resolution_due_at", "op": "overdue"},
                                  {"field": "ticket.priority", "op": "is", "value": "urgent"}]},
              actions=ACTIONS)  # fmt: skip
    now = timezone.now()
    low = [open_ticket(tenant_a, priority="low") for _ in range(4)]
    urgent = open_ticket(tenant_a, priority="urgent")
    with tenant(tenant_a.org):
        for minutes, ticket in enumerate([*low, urgent]):
            Ticket.objects.filter(pk=ticket.pk).update(
                resolution_due_at=now - timedelta(hours=1) + timedelta(minutes=minutes)
            )
    # When the pass runs, the urgent one is reached
    assert timed.run_time_rules(organization=tenant_a.org, now=now).fired == 1
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=urgent.pk).tags == ["nudged"]
