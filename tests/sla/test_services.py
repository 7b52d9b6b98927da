"""The SLA clock of tickets, against the real database (row-level security included).

The tenants' organizations are in UTC with the default hours, Monday to Friday
09:00-17:00. 3 March 2025 is a Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts.models import CustomerTier, User
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.sla.calendar import calendar_for
from deskbase.sla.models import SlaEvent, SlaPolicy
from deskbase.sla.services import (
    due_at,
    mark_breaches,
    policy_for,
    sla_pause,
    sla_recompute,
    sla_record_first_response,
    sla_record_resolution,
    sla_resume,
    sla_start,
)
from deskbase.tickets.models import Ticket, TicketHistory

pytestmark = pytest.mark.django_db


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MON_9 = utc(2025, 3, 3, 9)
LONG_AGO = utc(2020, 1, 1)


def make_policy(
    org: Organization,
    *,
    priority: str = "high",
    tier: str = "basic",
    first: int = 60,
    resolution: int = 480,
    business: bool = True,
    valid_from: datetime = LONG_AGO,
    valid_until: datetime | None = None,
    active: bool = True,
) -> SlaPolicy:
    with tenant(org):
        return SlaPolicy.objects.create(
            organization=org,
            name=f"{priority}/{tier} from {valid_from:%Y-%m-%d}",
            priority=priority,
            customer_tier=tier,
            first_response_minutes=first,
            resolution_minutes=resolution,
            business_hours=business,
            is_active=active,
            valid_from=valid_from,
            valid_until=valid_until,
        )


def make_ticket(
    org: Organization,
    customer: User,
    *,
    created_at: datetime = MON_9,
    priority: str = "high",
    status: str = "open",
) -> Ticket:
    with tenant(org):
        ticket = Ticket.objects.create(
            organization=org,
            subject="The printer is on fire",
            customer=customer,
            priority=priority,
            status=status,
            created_at=created_at,
        )
        ticket.refresh_from_db()
    return ticket


def started(org: Organization, customer: User, **kwargs: object) -> Ticket:
    """A ticket whose SLA clock runs, saved as the ticket services would."""
    ticket = make_ticket(org, customer, **kwargs)  # type: ignore[arg-type]
    with tenant(org):
        save(ticket, sla_start(ticket, at=ticket.created_at))
    return ticket


def save(ticket: Ticket, fields: list[str]) -> None:
    with tenant(ticket.organization_id):
        ticket.save(update_fields=fields)


def events(ticket: Ticket) -> list[tuple[str, str, datetime | None]]:
    with tenant(ticket.organization_id):
        rows = SlaEvent.objects.filter(ticket=ticket).order_by("created_at", "id")
        return list(rows.values_list("kind", "target", "due_at"))


@pytest.fixture
def org(tenant_a) -> Organization:
    return tenant_a.org


@pytest.fixture
def customer(tenant_a) -> User:
    return tenant_a.customer


# --- choosing a policy --------------------------------------------------------------------


def test_policy_for_matches_priority_and_customer_tier(org):
    # Given policies for high/basic, high/premium and low/basic
    high_basic = make_policy(org, priority="high", tier="basic")
    high_premium = make_policy(org, priority="high", tier="premium")
    make_policy(org, priority="low", tier="basic")
    # When policies are looked up
    with tenant(org):
        basic = policy_for(organization=org, priority="high", customer_tier="basic", at=MON_9)
        premium = policy_for(organization=org, priority="high", customer_tier="premium", at=MON_9)
        none = policy_for(organization=org, priority="urgent", customer_tier="basic", at=MON_9)
    # Then each combination finds its own, and a missing one finds nothing
    assert (basic, premium, none) == (high_basic, high_premium, None)


def test_policy_for_takes_the_policy_valid_at_the_instant(org):
    # Given the 2024 policy was replaced on 1 January 2025, and an inactive draft overlaps
    old = make_policy(org, first=120, valid_from=utc(2024, 1, 1), valid_until=utc(2025, 1, 1))
    new = make_policy(org, first=60, valid_from=utc(2025, 1, 1))
    make_policy(org, first=5, valid_from=utc(2024, 6, 1), active=False)

    def lookup(at: datetime) -> SlaPolicy | None:
        with tenant(org):
            return policy_for(organization=org, priority="high", customer_tier="basic", at=at)

    # Then the instant picks the period, valid_until being exclusive
    assert lookup(utc(2024, 6, 1)) == old
    assert lookup(utc(2024, 12, 31, 23, 59)) == old
    assert lookup(utc(2025, 1, 1)) == new
    assert lookup(utc(2023, 12, 31)) is None


def test_due_at_counts_business_or_calendar_time(org):
    business = make_policy(org, business=True)
    calendar_time = make_policy(org, tier="premium", business=False)
    friday_4pm = utc(2025, 3, 7, 16)
    with tenant(org):
        calendar = calendar_for(org)
        assert due_at(business, start=friday_4pm, minutes=120, calendar=calendar) == utc(
            2025, 3, 10, 10
        )
        # Without a calendar, a business-hours policy loads the organization's
        assert due_at(business, start=friday_4pm, minutes=120, calendar=None) == utc(
            2025, 3, 10, 10
        )
        assert due_at(calendar_time, start=friday_4pm, minutes=120, calendar=None) == utc(
            2025, 3, 7, 18
        )


# --- starting the clock -------------------------------------------------------------------


def test_sla_start_sets_the_policy_and_due_times_from_created_at(org, customer):
    # Given a high/basic policy: first response in 1 business hour, resolution in 8
    policy = make_policy(org, first=60, resolution=480)
    # And a ticket created on Monday at 16:30
    ticket = make_ticket(org, customer, created_at=utc(2025, 3, 3, 16, 30))
    # When the clock starts
    with tenant(org):
        changed = sla_start(ticket, at=utc(2025, 3, 3, 16, 30))
        save(ticket, changed)
    # Then the due times are Tuesday morning and Tuesday afternoon
    assert changed == ["sla_policy", "first_response_due_at", "resolution_due_at"]
    ticket.refresh_from_db()
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == utc(2025, 3, 4, 9, 30)
    assert ticket.resolution_due_at == utc(2025, 3, 4, 16, 30)
    # And one `started` event per target records them
    assert events(ticket) == [
        ("started", "first_response", utc(2025, 3, 4, 9, 30)),
        ("started", "resolution", utc(2025, 3, 4, 16, 30)),
    ]


def test_sla_start_uses_the_customers_tier(org, customer):
    make_policy(org, tier="basic", first=240, resolution=960)
    premium = make_policy(org, tier="premium", first=30, resolution=240)
    customer.customer_tier = CustomerTier.PREMIUM
    customer.save(update_fields=["customer_tier"])
    ticket = started(org, customer)
    assert ticket.sla_policy_id == premium.pk
    assert ticket.first_response_due_at == utc(2025, 3, 3, 9, 30)


def test_sla_start_without_a_policy_changes_nothing(org, customer):
    make_policy(org, priority="urgent")
    ticket = make_ticket(org, customer, priority="low")
    with tenant(org):
        assert sla_start(ticket, at=MON_9) == []
    assert ticket.sla_policy_id is None
    assert ticket.first_response_due_at is None
    assert events(ticket) == []


def test_sla_start_calendar_time_runs_through_the_night(org, customer):
    make_policy(org, first=60, resolution=24 * 60, business=False)
    ticket = started(org, customer, created_at=utc(2025, 3, 7, 16, 30))  # a Friday
    assert ticket.first_response_due_at == utc(2025, 3, 7, 17, 30)
    assert ticket.resolution_due_at == utc(2025, 3, 8, 16, 30)


# --- pausing and resuming -----------------------------------------------------------------


def test_pause_and_resume_move_running_due_times_by_the_business_time_paused(org, customer):
    # Given a ticket created Monday 09:00: first response due 10:00, resolution 17:00
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    # When it is paused at 09:30, waiting on the customer
    with tenant(org):
        assert sla_pause(ticket, reason="waiting for logs", at=utc(2025, 3, 3, 9, 30)) == [
            "sla_paused_at"
        ]
        # And resumed on Tuesday at 09:30: eight business hours later
        changed = sla_resume(ticket, at=utc(2025, 3, 4, 9, 30))
        save(ticket, changed)
    # Then both due times moved by eight business hours, to Tuesday
    assert changed == ["sla_paused_at", "first_response_due_at", "resolution_due_at"]
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is None
    assert ticket.first_response_due_at == utc(2025, 3, 4, 10)
    assert ticket.resolution_due_at == utc(2025, 3, 4, 17)
    # And the events tell the story, with the reason of the pause
    assert events(ticket)[2:] == [
        ("paused", "", None),
        ("resumed", "first_response", utc(2025, 3, 4, 10)),
        ("resumed", "resolution", utc(2025, 3, 4, 17)),
    ]
    with tenant(org):
        assert SlaEvent.objects.get(ticket=ticket, kind="paused").reason == "waiting for logs"


def test_pause_is_a_no_op_when_already_paused_or_without_a_policy(org, customer):
    make_policy(org)
    ticket = started(org, customer)
    no_policy = make_ticket(org, customer, priority="low")
    with tenant(org):
        sla_pause(ticket, reason="first", at=utc(2025, 3, 3, 9, 10))
        assert sla_pause(ticket, reason="again", at=utc(2025, 3, 3, 9, 20)) == []
        assert sla_pause(no_policy, reason="no clock", at=utc(2025, 3, 3, 9, 20)) == []
    assert ticket.sla_paused_at == utc(2025, 3, 3, 9, 10)
    assert [kind for kind, _, _ in events(ticket)].count("paused") == 1
    assert events(no_policy) == []


def test_resume_without_a_pause_is_a_no_op(org, customer):
    make_policy(org)
    ticket = started(org, customer)
    with tenant(org):
        assert sla_resume(ticket, at=utc(2025, 3, 3, 12)) == []
    assert len(events(ticket)) == 2


def test_resume_moves_only_the_targets_still_running(org, customer):
    # Given a ticket answered at 09:10, then paused at 09:30 until 11:30
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    ticket.first_response_at = utc(2025, 3, 3, 9, 10)
    with tenant(org):
        sla_pause(ticket, reason="pending", at=utc(2025, 3, 3, 9, 30))
        changed = sla_resume(ticket, at=utc(2025, 3, 3, 11, 30))
    # Then only the resolution moved, by two hours
    assert changed == ["sla_paused_at", "resolution_due_at"]
    assert ticket.first_response_due_at == utc(2025, 3, 3, 10)
    assert ticket.resolution_due_at == utc(2025, 3, 4, 11)
    assert events(ticket)[-1] == ("resumed", "resolution", utc(2025, 3, 4, 11))


def test_resume_leaves_a_due_time_that_had_passed_before_the_pause(org, customer):
    # Given the first response was due at 10:00 and the ticket was paused at 11:00
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    with tenant(org):
        sla_pause(ticket, reason="pending", at=utc(2025, 3, 3, 11))
        sla_resume(ticket, at=utc(2025, 3, 4, 11))
    # Then the missed first response stays due at 10:00 (a pause cannot undo a breach)
    assert ticket.first_response_due_at == utc(2025, 3, 3, 10)
    # And the resolution moved by the eight business hours paused
    assert ticket.resolution_due_at == utc(2025, 3, 4, 17)


def test_resume_with_nothing_to_move_still_closes_the_pause(org, customer):
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    ticket.first_response_at = ticket.resolved_at = utc(2025, 3, 3, 9, 5)
    with tenant(org):
        sla_pause(ticket, reason="pending", at=utc(2025, 3, 3, 9, 30))
        assert sla_resume(ticket, at=utc(2025, 3, 3, 10)) == ["sla_paused_at"]
    assert events(ticket)[-1] == ("resumed", "", None)


def test_a_calendar_time_policy_counts_the_weekend_while_paused(org, customer):
    # Given calendar-time targets of 1 and 24 hours, a ticket created Friday 12:00
    make_policy(org, first=60, resolution=24 * 60, business=False)
    ticket = started(org, customer, created_at=utc(2025, 3, 7, 12))
    # When it is paused from Friday 12:30 to Monday 12:30 (72 hours)
    with tenant(org):
        sla_pause(ticket, reason="pending", at=utc(2025, 3, 7, 12, 30))
        sla_resume(ticket, at=utc(2025, 3, 10, 12, 30))
    # Then both due times moved by 72 hours
    assert ticket.first_response_due_at == utc(2025, 3, 10, 13)
    assert ticket.resolution_due_at == utc(2025, 3, 11, 12)


# --- recomputing --------------------------------------------------------------------------


@pytest.fixture
def high_and_urgent(org) -> tuple[SlaPolicy, SlaPolicy]:
    return (
        make_policy(org, priority="high", first=60, resolution=480),
        make_policy(org, priority="urgent", first=30, resolution=240),
    )


def test_recompute_after_a_priority_change_counts_the_completed_pauses(
    org, customer, high_and_urgent
):
    # Given a high ticket created Monday 09:00, paused an hour from 09:10 to 10:10
    _, urgent = high_and_urgent
    ticket = started(org, customer)
    with tenant(org):
        sla_pause(ticket, reason="pending", at=utc(2025, 3, 3, 9, 10))
        save(ticket, sla_resume(ticket, at=utc(2025, 3, 3, 10, 10)))
        # When it becomes urgent at 10:15
        ticket.priority = "urgent"
        changed = sla_recompute(
            ticket, reason="priority high -> urgent", at=utc(2025, 3, 3, 10, 15)
        )
    # Then the urgent targets (30 min, 4 h) count from 09:00, plus the hour paused
    assert changed == ["sla_policy", "first_response_due_at", "resolution_due_at"]
    assert ticket.sla_policy == urgent
    assert ticket.first_response_due_at == utc(2025, 3, 3, 10, 30)
    assert ticket.resolution_due_at == utc(2025, 3, 3, 14)
    # And one `recomputed` event per target gives the reason
    with tenant(org):
        recomputed = SlaEvent.objects.filter(ticket=ticket, kind="recomputed").order_by("id")
        assert [(e.target, e.due_at, e.reason) for e in recomputed] == [
            ("first_response", utc(2025, 3, 3, 10, 30), "priority high -> urgent"),
            ("resolution", utc(2025, 3, 3, 14), "priority high -> urgent"),
        ]


def test_recompute_while_paused_ends_where_a_recompute_after_the_resume_would(
    org, customer, high_and_urgent
):
    pause, change, resume = utc(2025, 3, 3, 9, 10), utc(2025, 3, 3, 11), utc(2025, 3, 3, 13)
    # Given two identical tickets paused at 09:10
    during, after = started(org, customer), started(org, customer)
    with tenant(org):
        for ticket in (during, after):
            sla_pause(ticket, reason="pending", at=pause)
            ticket.priority = "urgent"
        # When one is recomputed while paused and then resumed
        sla_recompute(during, reason="priority", at=change)
        # Then, while paused, the running pause is not counted yet
        assert during.first_response_due_at == utc(2025, 3, 3, 9, 30)
        sla_resume(during, at=resume)
        # And the other is resumed first, then recomputed
        save(after, sla_resume(after, at=resume))
        sla_recompute(after, reason="priority", at=resume)
    # Then both end with the same due times: the pause of 3h50 counted once
    assert during.first_response_due_at == after.first_response_due_at == utc(2025, 3, 3, 13, 20)
    assert during.resolution_due_at == after.resolution_due_at == utc(2025, 3, 3, 16, 50)


def test_recompute_to_a_priority_without_policy_clears_the_due_times(
    org, customer, high_and_urgent
):
    ticket = started(org, customer)
    ticket.priority = "low"
    with tenant(org):
        changed = sla_recompute(ticket, reason="priority high -> low", at=utc(2025, 3, 3, 9, 5))
    assert changed == ["sla_policy", "first_response_due_at", "resolution_due_at"]
    assert ticket.sla_policy is None
    assert ticket.first_response_due_at is ticket.resolution_due_at is None
    assert events(ticket)[-2:] == [
        ("recomputed", "first_response", None),
        ("recomputed", "resolution", None),
    ]


def test_recompute_keeps_the_due_time_of_a_met_target(org, customer, high_and_urgent):
    ticket = started(org, customer)
    ticket.first_response_at = utc(2025, 3, 3, 9, 20)
    ticket.priority = "urgent"
    with tenant(org):
        changed = sla_recompute(ticket, reason="priority", at=utc(2025, 3, 3, 9, 30))
    assert changed == ["sla_policy", "resolution_due_at"]
    assert ticket.first_response_due_at == utc(2025, 3, 3, 10)
    assert ticket.resolution_due_at == utc(2025, 3, 3, 13)


def test_recompute_after_a_tier_change_picks_the_tiers_policy(org, customer):
    make_policy(org, tier="basic", first=240, resolution=960)
    enterprise = make_policy(org, tier="enterprise", first=15, resolution=120)
    ticket = started(org, customer)
    customer.customer_tier = CustomerTier.ENTERPRISE
    customer.save(update_fields=["customer_tier"])
    ticket.customer.refresh_from_db()
    with tenant(org):
        sla_recompute(ticket, reason="tier basic -> enterprise", at=utc(2025, 3, 3, 9, 5))
    assert ticket.sla_policy == enterprise
    assert ticket.first_response_due_at == utc(2025, 3, 3, 9, 15)


# --- met and breached ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answered", "kind", "changed"),
    [
        (utc(2025, 3, 3, 9, 59), "met", []),
        (utc(2025, 3, 3, 10), "met", []),
        (utc(2025, 3, 3, 10, 1), "breached", ["sla_breach"]),
    ],
)
def test_the_first_response_is_met_until_its_due_time(org, customer, answered, kind, changed):
    # Given the first response is due at 10:00
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    # When the first reply is recorded
    with tenant(org):
        assert sla_record_first_response(ticket, at=answered) == changed
    # Then the target is met up to 10:00 inclusive and breached after it
    assert ticket.sla_breach is (kind == "breached")
    assert events(ticket)[-1] == (kind, "first_response", utc(2025, 3, 3, 10))


def test_a_late_resolution_is_breached(org, customer):
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    with tenant(org):
        assert sla_record_resolution(ticket, at=utc(2025, 3, 4, 9)) == ["sla_breach"]
        # A ticket already breached stays breached without changing a field again
        assert sla_record_resolution(ticket, at=utc(2025, 3, 4, 9)) == []
    assert ticket.sla_breach is True
    assert events(ticket)[-1] == ("breached", "resolution", utc(2025, 3, 3, 17))


def test_recording_without_a_due_time_is_a_no_op(org, customer):
    ticket = make_ticket(org, customer)
    with tenant(org):
        assert sla_record_first_response(ticket, at=utc(2025, 3, 9)) == []
        assert sla_record_resolution(ticket, at=utc(2025, 3, 9)) == []
    assert events(ticket) == []


def test_a_reply_while_paused_counts_from_when_the_clock_stopped(org, customer):
    # Given the first response is due at 10:00 and the clock stopped at 09:30
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    with tenant(org):
        sla_pause(ticket, reason="pending", at=utc(2025, 3, 3, 9, 30))
        # When the agent replies at 11:00, still paused
        assert sla_record_first_response(ticket, at=utc(2025, 3, 3, 11)) == []
    # Then the target is met: only 30 minutes of the clock had run
    assert events(ticket)[-1][0] == "met"


# --- mark_breaches ------------------------------------------------------------------------

NOW = utc(2025, 3, 3, 12)


def test_mark_breaches_flags_overdue_running_tickets_once_under_rls(tenant_a, tenant_b, app_role):
    # Given (as the application role, so RLS applies) policies for both tenants
    org, customer = tenant_a.org, tenant_a.customer
    make_policy(org, first=60, resolution=480)
    make_policy(tenant_b.org, first=60, resolution=480)
    # And tenant A's tickets at Monday noon:
    first_late = started(org, customer)  # first response due 10:00, none given
    both_late = started(org, customer, created_at=utc(2025, 2, 28, 9))  # due last Friday
    not_yet = started(org, customer, created_at=utc(2025, 3, 3, 11, 30))
    answered = started(org, customer)
    paused = started(org, customer)
    started(org, customer, status="resolved")  # late, but no longer running
    deleted = started(org, customer)
    with tenant(org):
        answered.first_response_at = utc(2025, 3, 3, 9, 30)
        save(answered, ["first_response_at"])
        save(paused, sla_pause(paused, reason="pending", at=utc(2025, 3, 3, 9, 30)))
        deleted.soft_delete(tenant_a.agent, "spam")
    # And tenant B's ticket, just as late
    other = started(tenant_b.org, tenant_b.customer)

    # When tenant A's breaches are marked
    assert mark_breaches(organization=org, now=NOW) == 2

    # Then the two late tickets are flagged, with a new version, and nothing else is
    with tenant(org):
        flagged = set(Ticket.all_objects.filter(sla_breach=True).values_list("id", flat=True))
        assert flagged == {first_late.id, both_late.id}
        first_late.refresh_from_db()
        assert first_late.version == 2
        not_yet.refresh_from_db()
        assert (not_yet.sla_breach, not_yet.version) == (False, 1)
        # And one breached event per late target, at the due time it missed
        breached = SlaEvent.objects.filter(kind="breached").order_by("ticket_id", "target")
        assert [(e.ticket_id, e.target, e.due_at) for e in breached] == [
            (first_late.id, "first_response", utc(2025, 3, 3, 10)),
            (both_late.id, "first_response", utc(2025, 2, 28, 10)),
            (both_late.id, "resolution", utc(2025, 2, 28, 17)),
        ]
        # And the history trigger recorded the flag
        assert TicketHistory.objects.filter(ticket=first_late, field="sla_breach").count() == 1

    # When it runs again, nothing new happens
    assert mark_breaches(organization=org, now=NOW) == 0
    with tenant(org):
        assert SlaEvent.objects.filter(kind="breached").count() == 3
        first_late.refresh_from_db()
        assert first_late.version == 2

    # And tenant B was not touched: its late ticket waits for its own run
    with tenant(tenant_b.org):
        other.refresh_from_db()
        assert (other.sla_breach, other.version) == (False, 1)
        assert not SlaEvent.objects.filter(kind="breached").exists()
    assert mark_breaches(organization=tenant_b.org, now=NOW) == 1


def test_a_breach_recorded_by_mark_breaches_is_not_recorded_twice(org, customer):
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    assert mark_breaches(organization=org, now=NOW) == 1
    with tenant(org):
        ticket.refresh_from_db()
        assert sla_record_first_response(ticket, at=NOW) == []  # already flagged
    breached = [event for event in events(ticket) if event[0] == "breached"]
    assert breached == [("breached", "first_response", utc(2025, 3, 3, 10))]


def test_a_breach_found_by_the_periodic_check_gives_a_reason_in_words(org, customer):
    # Given an overdue ticket flagged by the periodic check
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    mark_breaches(organization=org, now=NOW)
    # Then its event's reason, which the API returns, names no job or function
    with tenant(org):
        reason = SlaEvent.objects.get(ticket=ticket, kind="breached").reason
    assert reason == "overdue, found by the periodic SLA check"


def test_a_target_breached_on_reply_is_not_marked_again(org, customer):
    # Given a late first response was recorded; the resolution is still running
    make_policy(org, first=60, resolution=480)
    ticket = started(org, customer)
    with tenant(org):
        ticket.first_response_at = utc(2025, 3, 3, 11)
        late = sla_record_first_response(ticket, at=ticket.first_response_at)
        save(ticket, ["first_response_at", *late])
    # Then mark_breaches finds nothing new until the resolution is late
    assert mark_breaches(organization=org, now=NOW) == 0
    assert mark_breaches(organization=org, now=utc(2025, 3, 3, 18)) == 1
    assert [e[1] for e in events(ticket) if e[0] == "breached"] == ["first_response", "resolution"]


def test_mark_breaches_takes_the_same_number_of_queries_for_any_number_of_tickets(org, customer):
    # The search and the flagging are set-based; each NEW crossing is then announced
    # (sla.breached) to its subscribers, so the count is measured on a pass whose
    # tickets were all flagged and announced by the one before.
    make_policy(org, first=60, resolution=480)

    def queries_to_mark(late_tickets: int, now) -> int:
        for _ in range(late_tickets):
            started(org, customer)
        assert mark_breaches(organization=org, now=now) == late_tickets
        with CaptureQueriesContext(connection) as captured:
            assert mark_breaches(organization=org, now=now) == 0
        return len(captured.captured_queries)

    assert queries_to_mark(1, NOW) == queries_to_mark(5, NOW)
