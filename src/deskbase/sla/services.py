"""The SLA clock of a ticket: due times, pauses, recomputation and breaches (docs/sla.md).

Every function but mark_breaches runs inside the caller's transaction, whose tenant
the caller has already set (`with tenant(...)`). They change the SLA fields of the
ticket instance in memory, write SlaEvent rows and return the names of the ticket
fields they changed: the caller saves the ticket (`save(update_fields=...)`).

The clock model ("clock stop"): a target is due when the time counted by its policy
(business or calendar time), leaving out the paused periods, reaches the target.
So a pause only moves a due time that had not yet passed when the pause began.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Greatest
from django.utils import timezone

from deskbase import cached
from deskbase.core import events
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.sla.calendar import BusinessCalendar
from deskbase.sla.models import (
    SlaAlert,
    SlaAlertKind,
    SlaEvent,
    SlaEventKind,
    SlaPolicy,
    SlaTarget,
)
from deskbase.tickets.models import ACTIVE_STATUSES, Ticket

Pause = tuple[datetime, datetime]


# --- many tickets at once (a bulk action's chunk, deskbase.bulk) ---------------------------

_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("sla_batch", default=None)


@dataclass
class _Batch:
    events: list[SlaEvent]
    pauses: dict[int, list[Pause]]  # by ticket id, read once for the chunk


@contextlib.contextmanager
def batched(tickets: Iterable[Ticket], *, pauses: bool = False) -> Iterator[None]:
    """Within, the functions below compute each ticket's clock exactly as they do one
    by one, but keep the SlaEvent rows they make and write them in one INSERT when the
    block ends; with `pauses`, the completed pauses of every ticket are read once, here,
    instead of once per recomputed ticket. The caller saves the tickets."""
    chosen = list(tickets)
    known = _pauses_of(chosen) if pauses and chosen else {}
    batch = _Batch(events=[], pauses=known)
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    if batch.events:
        SlaEvent.objects.bulk_create(batch.events)


def _write(events: list[SlaEvent]) -> None:
    batch = _batch.get()
    if batch is not None:
        batch.events.extend(events)
    elif len(events) == 1:
        events[0].save()
    elif events:
        SlaEvent.objects.bulk_create(events)


@dataclass(frozen=True)
class _Target:
    name: SlaTarget
    due_field: str  # the ticket's due time
    done_field: str  # set by the ticket services once the target is met
    minutes_field: str  # the policy's target

    def is_running(self, ticket: Ticket) -> bool:
        return getattr(ticket, self.done_field) is None


TARGETS = (
    _Target(
        SlaTarget.FIRST_RESPONSE,
        "first_response_due_at",
        "first_response_at",
        "first_response_minutes",
    ),
    _Target(SlaTarget.RESOLUTION, "resolution_due_at", "resolved_at", "resolution_minutes"),
)


# --- policies and due times ---------------------------------------------------------------


def policy_for(
    *, organization: Organization | int, priority: str, customer_tier: str, at: datetime
) -> SlaPolicy | None:
    """The active policy for (priority, customer tier) whose [valid_from, valid_until) holds `at`.

    The exclusion constraint sla_slapolicy_no_overlap guarantees at most one. Read
    from the organization's cached policies (deskbase.cached), not a query.
    """
    return cached.active_policy(organization, priority=priority, customer_tier=customer_tier, at=at)


def due_at(
    policy: SlaPolicy, *, start: datetime, minutes: int, calendar: BusinessCalendar | None
) -> datetime:
    """`minutes` after `start`: business time if the policy counts business hours, else
    calendar time. Without a calendar, a business-hours policy loads its organization's."""
    if not policy.business_hours:
        return start + timedelta(minutes=minutes)
    if calendar is None:
        calendar = cached.business_calendar(policy.organization_id)
    return calendar.add(start, minutes)


def _calendar(policy: SlaPolicy, ticket: Ticket) -> BusinessCalendar | None:
    # Loaded (one query for the holidays) only when the policy counts business hours.
    # From the cached settings and holidays: no query on the hot path.
    return cached.business_calendar(ticket.organization_id) if policy.business_hours else None


def _extend(
    calendar: BusinessCalendar | None, due: datetime, since: datetime, until: datetime
) -> datetime:
    """`due` moved later by the time counted from `since` to `until` (a pause)."""
    if calendar is None:
        return due + max(until - since, timedelta(0))
    return calendar.advance(due, calendar.between(since, until))


def _due_after_pauses(
    policy: SlaPolicy,
    calendar: BusinessCalendar | None,
    start: datetime,
    minutes: int,
    pauses: list[Pause],
) -> datetime:
    due = due_at(policy, start=start, minutes=minutes, calendar=calendar)
    for paused, resumed in pauses:
        if paused >= due:  # the target was reached before this pause: it cannot move it
            break
        due = _extend(calendar, due, paused, resumed)
    return due


# --- events and fields --------------------------------------------------------------------


def _event(
    ticket: Ticket,
    kind: SlaEventKind,
    at: datetime,
    target: _Target | None = None,
    due: datetime | None = None,
    reason: str = "",
) -> SlaEvent:
    # created_at is the clock's time (`at`), not the transaction's: sla_recompute
    # measures the pauses from it.
    return SlaEvent(
        organization_id=ticket.organization_id,
        ticket=ticket,
        kind=kind,
        target=target.name if target else "",
        due_at=due,
        reason=reason.strip()[:300],
        created_at=at,
    )


def _set(ticket: Ticket, field: str, value: object, changed: list[str]) -> None:
    if getattr(ticket, field) != value:
        setattr(ticket, field, value)
        changed.append(field)


def _set_policy(ticket: Ticket, policy: SlaPolicy | None, changed: list[str]) -> None:
    if ticket.sla_policy_id != (policy.pk if policy else None):
        ticket.sla_policy = policy
        changed.append("sla_policy")


def _completed_pauses(ticket: Ticket) -> list[Pause]:
    """(paused, resumed) pairs from the ticket's events; a running pause is left out."""
    batch = _batch.get()
    if batch is not None and ticket.pk in batch.pauses:
        return batch.pauses[ticket.pk]
    return _pauses_of([ticket]).get(ticket.pk, [])


def _pauses_of(tickets: list[Ticket]) -> dict[int, list[Pause]]:
    """The completed pauses of each ticket (all of one organization), one query."""
    rows = (
        SlaEvent.objects.filter(
            organization_id=tickets[0].organization_id,
            ticket_id__in=[t.pk for t in tickets],
            kind__in=[SlaEventKind.PAUSED, SlaEventKind.RESUMED],
        )
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "kind", "created_at")
    )
    found: dict[int, list[Pause]] = {t.pk: [] for t in tickets}
    opened: dict[int, datetime] = {}
    for ticket_id, kind, when in rows:
        if kind == SlaEventKind.PAUSED and ticket_id not in opened:
            opened[ticket_id] = when
        elif kind == SlaEventKind.RESUMED and ticket_id in opened:
            # a resume writes one event per target: pair the first
            found[ticket_id].append((opened.pop(ticket_id), when))
    return found


# --- the clock of one ticket --------------------------------------------------------------


def sla_start(ticket: Ticket, *, at: datetime) -> list[str]:
    """A just-created ticket: choose its policy and set both due times from created_at.

    The policy is the one valid when the ticket was created (`created_at`), so an
    imported ticket gets the contract of its time; `at` stamps the events.
    """
    policy = policy_for(
        organization=ticket.organization_id,
        priority=ticket.priority,
        customer_tier=ticket.customer.customer_tier,
        at=ticket.created_at,
    )
    if policy is None:
        return []
    changed: list[str] = []
    _set_policy(ticket, policy, changed)
    calendar = _calendar(policy, ticket)
    events = []
    for target in TARGETS:
        minutes = getattr(policy, target.minutes_field)
        due = due_at(policy, start=ticket.created_at, minutes=minutes, calendar=calendar)
        _set(ticket, target.due_field, due, changed)
        events.append(_event(ticket, SlaEventKind.STARTED, at, target, due))
    _write(events)
    return changed


def sla_pause(ticket: Ticket, *, reason: str, at: datetime) -> list[str]:
    """The ticket waits on someone else (pending): stop the clock. No-op if already paused
    or without a policy."""
    if ticket.sla_paused_at is not None or ticket.sla_policy_id is None:
        return []
    ticket.sla_paused_at = at
    _write([_event(ticket, SlaEventKind.PAUSED, at, reason=reason)])
    return ["sla_paused_at"]


def sla_resume(ticket: Ticket, *, at: datetime) -> list[str]:
    """Restart the clock: move each running due time by the time paused.

    A due time already past when the pause began is not moved (its target had
    elapsed), nor is a met target's. One `resumed` event per moved target; a bare
    one when none moved, so that the pause is closed for sla_recompute.
    """
    paused_at = ticket.sla_paused_at
    if paused_at is None:
        return []
    changed: list[str] = []
    _set(ticket, "sla_paused_at", None, changed)
    events = []
    policy = ticket.sla_policy
    if policy is not None:
        calendar = _calendar(policy, ticket)
        for target in TARGETS:
            due = getattr(ticket, target.due_field)
            if not target.is_running(ticket) or due is None or due <= paused_at:
                continue
            moved = _extend(calendar, due, paused_at, at)
            _set(ticket, target.due_field, moved, changed)
            events.append(_event(ticket, SlaEventKind.RESUMED, at, target, moved))
    _write(events or [_event(ticket, SlaEventKind.RESUMED, at)])
    return changed


def sla_recompute(ticket: Ticket, *, reason: str, at: datetime) -> list[str]:
    """Priority or customer tier changed: choose the policy again and recompute the due
    time of each running target from created_at, moved by the completed pauses.

    While the ticket is paused, the running pause is NOT counted: sla_resume moves the
    due times by it when the clock restarts, so it is never counted twice, and the
    result equals a recompute made after the resume. A met target keeps its due time
    (it is history). When no policy applies any more, the running due times are cleared.
    """
    policy = policy_for(
        organization=ticket.organization_id,
        priority=ticket.priority,
        customer_tier=ticket.customer.customer_tier,
        at=ticket.created_at,
    )
    return _recompute_with(ticket, policy, reason=reason, at=at)


def sla_apply_policy(ticket: Ticket, policy: SlaPolicy, *, reason: str, at: datetime) -> list[str]:
    """Put `policy` on the ticket (a rule's choice, docs/automation.md) and recompute its
    running targets as sla_recompute does. A later change of priority or customer tier
    chooses the policy by the table again."""
    return _recompute_with(ticket, policy, reason=reason, at=at)


def _recompute_with(
    ticket: Ticket, policy: SlaPolicy | None, *, reason: str, at: datetime
) -> list[str]:
    changed: list[str] = []
    _set_policy(ticket, policy, changed)
    calendar = _calendar(policy, ticket) if policy else None
    pauses = _completed_pauses(ticket) if policy else []
    events = []
    for target in TARGETS:
        if not target.is_running(ticket):
            continue
        due = None
        if policy is not None:
            minutes = getattr(policy, target.minutes_field)
            due = _due_after_pauses(policy, calendar, ticket.created_at, minutes, pauses)
        _set(ticket, target.due_field, due, changed)
        events.append(_event(ticket, SlaEventKind.RECOMPUTED, at, target, due, reason))
    _write(events)
    return changed


def sla_record_first_response(ticket: Ticket, *, at: datetime) -> list[str]:
    """The first public reply: `met` or `breached` for the first-response target."""
    return _record(ticket, TARGETS[0], at)


def sla_record_resolution(ticket: Ticket, *, at: datetime) -> list[str]:
    """The ticket is resolved: `met` or `breached` for the resolution target."""
    return _record(ticket, TARGETS[1], at)


def _record(ticket: Ticket, target: _Target, at: datetime) -> list[str]:
    due = getattr(ticket, target.due_field)
    if due is None:
        return []
    # While paused the clock stands still: what counts is when it stopped.
    clock = at if ticket.sla_paused_at is None else min(at, ticket.sla_paused_at)
    if clock <= due:
        _write([_event(ticket, SlaEventKind.MET, at, target, due)])
        return []
    changed: list[str] = []
    _set(ticket, "sla_breach", True, changed)
    # mark_breaches may have recorded this breach already: one event per target.
    already = SlaEvent.objects.filter(
        organization_id=ticket.organization_id,
        ticket=ticket,
        kind=SlaEventKind.BREACHED,
        target=target.name,
    ).exists()
    if not already:
        late = f"{target.name.label} came {clock - due} after the due time"
        _write([_event(ticket, SlaEventKind.BREACHED, at, target, due, late)])
    return changed


# --- breaches of a whole organization -----------------------------------------------------

# One statement: find the overdue (ticket, target) pairs, record a `breached` event for
# each pair that has none yet, and flag the tickets. Data-modifying CTEs all see the
# same snapshot, which is why the UPDATE keys on `overdue`, not on the new events.
_MARK_BREACHES = """
WITH candidate AS (
    SELECT t.id, t.organization_id, t.first_response_due_at, t.first_response_at,
           t.resolution_due_at, t.resolved_at
    FROM tickets_ticket t
    WHERE t.organization_id = %(org)s
      AND t.deleted_at IS NULL
      AND t.status = ANY(%(active)s)
      AND t.sla_paused_at IS NULL
      AND ((t.first_response_at IS NULL AND t.first_response_due_at < %(now)s)
           OR (t.resolved_at IS NULL AND t.resolution_due_at < %(now)s))
),
overdue AS (
    SELECT c.id, c.organization_id, target.name AS target, target.due_at
    FROM candidate c
    CROSS JOIN LATERAL (VALUES
        ('first_response', CASE WHEN c.first_response_at IS NULL THEN c.first_response_due_at END),
        ('resolution', CASE WHEN c.resolved_at IS NULL THEN c.resolution_due_at END)
    ) AS target (name, due_at)
    WHERE target.due_at < %(now)s
),
recorded AS (
    INSERT INTO sla_slaevent (organization_id, ticket_id, kind, target, due_at, reason, created_at)
    SELECT o.organization_id, o.id, 'breached', o.target, o.due_at, %(reason)s, %(now)s
    FROM overdue o
    WHERE NOT EXISTS (
        SELECT 1 FROM sla_slaevent e
        WHERE e.organization_id = o.organization_id AND e.ticket_id = o.id
          AND e.kind = 'breached' AND e.target = o.target
    )
    RETURNING ticket_id
),
flagged AS (
    UPDATE tickets_ticket t SET sla_breach = true, version = t.version + 1
    WHERE t.organization_id = %(org)s AND NOT t.sla_breach
      AND t.id IN (SELECT id FROM candidate)
)
SELECT count(DISTINCT ticket_id) FROM recorded
"""


# "At risk" and "breached" crossings, recorded once per (ticket, target, kind, due time).
# A target is at risk once the share `risk` (0.2 when the warning comes at 80 %) of
# its target minutes, as wall-clock time, is all that is left before its due time.
# `horizon` bounds the due times by the longest warning window of the organization's
# policies, so the scan goes by the due-time indexes; ON CONFLICT on the unique key
# makes a re-run (or a concurrent one, after the advisory lock) record nothing twice.
# At most ALERTS_PER_PASS new crossings per pass, the earliest due first: a backlog
# (tickets imported past due) drains over the next minutes instead of announcing
# thousands of events in one transaction.
_RECORD_ALERTS = """
WITH candidate AS (
    SELECT t.id, t.organization_id, t.first_response_due_at, t.first_response_at,
           t.resolution_due_at, t.resolved_at, p.first_response_minutes, p.resolution_minutes
    FROM tickets_ticket t
    LEFT JOIN sla_slapolicy p ON p.organization_id = t.organization_id AND p.id = t.sla_policy_id
    WHERE t.organization_id = %(org)s
      AND t.deleted_at IS NULL
      AND t.status = ANY(%(active)s)
      AND t.sla_paused_at IS NULL
      AND ((t.first_response_at IS NULL AND t.first_response_due_at < %(horizon)s)
           OR (t.resolved_at IS NULL AND t.resolution_due_at < %(horizon)s))
),
crossing AS (
    SELECT c.id, c.organization_id, target.name AS target, target.due_at,
           CASE WHEN target.due_at < %(now)s THEN 'breached' ELSE 'at_risk' END AS kind
    FROM candidate c
    CROSS JOIN LATERAL (VALUES
        ('first_response', CASE WHEN c.first_response_at IS NULL THEN c.first_response_due_at END,
         c.first_response_minutes),
        ('resolution', CASE WHEN c.resolved_at IS NULL THEN c.resolution_due_at END,
         c.resolution_minutes)
    ) AS target (name, due_at, minutes)
    WHERE target.due_at < %(now)s
       OR target.due_at <= %(now)s + make_interval(mins => target.minutes) * %(risk)s
),
new_crossing AS (
    SELECT x.* FROM crossing x
    WHERE NOT EXISTS (
        SELECT 1 FROM sla_slaalert a
        WHERE a.organization_id = x.organization_id AND a.ticket_id = x.id
          AND a.target = x.target AND a.kind = x.kind AND a.due_at = x.due_at
    )
    ORDER BY x.due_at, x.id
    LIMIT %(batch)s
)
INSERT INTO sla_slaalert (organization_id, ticket_id, target, kind, due_at, created_at)
SELECT organization_id, id, target, kind, due_at, %(now)s FROM new_crossing
ON CONFLICT (organization_id, ticket_id, target, kind, due_at) DO NOTHING
RETURNING id
"""

DEFAULT_AT_RISK_PERCENT = 80
ALERTS_PER_PASS = 1000  # settings.SLA_ALERTS_PER_PASS overrides it


def at_risk_percent(org_settings: dict | None) -> int:
    """The share of a target's time after which it is "at risk" (organization setting
    `sla_at_risk_percent`, 1 to 99; 80 unless set)."""
    value = (org_settings or {}).get("sla_at_risk_percent", DEFAULT_AT_RISK_PERCENT)
    if type(value) is not int or not 1 <= value <= 99:
        return DEFAULT_AT_RISK_PERCENT
    return value


def _record_alerts(cursor, org_id: int, now: datetime, active: list[str]) -> list[int]:
    organization = Organization.objects.only("settings").get(pk=org_id)
    risk = (100 - at_risk_percent(organization.settings)) / 100
    longest = SlaPolicy.objects.filter(organization_id=org_id).aggregate(
        longest=models.Max(Greatest("first_response_minutes", "resolution_minutes"))
    )["longest"]
    horizon = now + timedelta(minutes=(longest or 0) * risk)
    cursor.execute(
        _RECORD_ALERTS,
        {
            "org": org_id,
            "active": active,
            "now": now,
            "horizon": horizon,
            "risk": risk,
            "batch": getattr(settings, "SLA_ALERTS_PER_PASS", ALERTS_PER_PASS),
        },
    )
    return [row[0] for row in cursor.fetchall()]


def _announce_alerts(org_id: int, alert_ids: list[int]) -> None:
    """One `sla.at_risk` / `sla.breached` event per new crossing (its subscribers run in
    this transaction: automation rules, notifications, webhooks)."""
    if not alert_ids:
        return
    organization = Organization(id=org_id)
    alerts = (
        SlaAlert.objects.filter(organization_id=org_id, id__in=alert_ids)
        .select_related("ticket", "ticket__customer")
        .order_by("id")
    )
    # Recorded by the pass's INSERT already: each announcement tells the subscribers.
    for alert in alerts:
        if alert.kind == SlaAlertKind.BREACHED:
            with events.announce(events.SLA_BREACHED, organization, None, alert):
                pass
        else:
            with events.announce(events.SLA_AT_RISK, organization, None, alert):
                pass


def mark_breaches(*, organization: Organization | int, now: datetime | None = None) -> int:
    """Flag the organization's running tickets whose due time has passed, in one transaction.

    Skips deleted, inactive (resolved, closed, cancelled) and paused tickets, and met
    targets. Writes one `breached` event per (ticket, target), ever: running it again
    writes nothing new. Records each new "at risk" / "breached" crossing (SlaAlert) and
    announces it (`sla.at_risk`, `sla.breached`). Returns the number of tickets that got
    a new breached target.
    """
    now = now or timezone.now()
    org_id = organization if isinstance(organization, int) else organization.pk
    active = [status.value for status in ACTIVE_STATUSES]
    with tenant(org_id), connection.cursor() as cursor:
        # Two runs at once (two schedulers) would both see "no event yet": take turns.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"deskbase.sla.mark_breaches:{org_id}"],
        )
        cursor.execute(
            _MARK_BREACHES,
            {
                "org": org_id,
                "active": active,
                "now": now,
                "reason": "overdue, found by the periodic SLA check",
            },
        )
        flagged = cursor.fetchone()[0]
        alert_ids = _record_alerts(cursor, org_id, now, active)
        _announce_alerts(org_id, alert_ids)
        return flagged
