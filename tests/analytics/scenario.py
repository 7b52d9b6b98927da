"""A helpdesk month in one organization, made through the services, and straightforward
recounts of every analytics number in Python, to compare with the views and rollups."""

from __future__ import annotations

import statistics
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.sla import policies
from deskbase.sla.calendar import calendar_for
from deskbase.sla.models import SlaEvent
from deskbase.tickets import services
from deskbase.tickets.models import Category, Ticket, TicketComment, TicketHistory
from tests.conftest import TenantWorld
from tests.tickets.factories import open_ticket

ACTIVE = ("new", "open", "pending")


@dataclass
class Scenario:
    world: TenantWorld
    day: date  # the first local day of the scenario
    team: Any
    category: Any
    tickets: dict[str, Ticket]


def local_at(org: Organization, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(org.timezone))


def build(world: TenantWorld, *, tz: str = "America/New_York", days_ago: int = 10) -> Scenario:
    """Tickets over four local days: replies, resolutions, a reopen, CSAT, a merge, a
    pending one, deleted and restored ones; two opened 23:30 and 00:30 local time (one
    UTC day, two local days)."""
    org = world.org
    Organization.objects.filter(pk=org.pk).update(timezone=tz)
    org.refresh_from_db()
    now = timezone.now()
    for priority, minutes, business in (("high", 60, True), ("medium", 240, False)):
        policies.sla_policy_create(
            organization=org, actor=world.manager, name=f"{priority} basic", priority=priority,
            customer_tier="basic", first_response_minutes=minutes,
            resolution_minutes=minutes * 8, business_hours=business,
            valid_from=now - timedelta(days=400),
        )  # fmt: skip
    team = people.team_create(organization=org, actor=world.admin, name="Tier 1")
    with tenant(org):
        category = Category.objects.create(organization=org, name="Billing")
    d = (now.astimezone(zoneinfo.ZoneInfo(tz))).date() - timedelta(days=days_ago)

    def at(offset: int, hour: int, minute: int = 0) -> datetime:
        return local_at(org, d + timedelta(days=offset), hour, minute)

    def status(ticket: Ticket, value: str, when: datetime, actor=None) -> Ticket:
        return services.ticket_change_status(
            organization=org, actor=actor or world.agent, ticket=ticket, status=value, at=when
        )

    def reply(ticket: Ticket, when: datetime, kind: str = "public") -> None:
        services.comment_add(organization=org, actor=world.agent, ticket=ticket,
                             body="Looking into it", kind=kind, at=when)  # fmt: skip

    t: dict[str, Ticket] = {}
    t["late"] = open_ticket(world, subject="Late evening", priority="high", channel="email",
                            team=team, category=category, assignee=world.agent,
                            at=at(0, 23, 30))  # fmt: skip
    t["early"] = open_ticket(world, subject="Just past midnight", channel="chat",
                             at=at(1, 0, 30))  # fmt: skip
    reply(t["late"], at(1, 9, 0))
    reply(t["late"], at(1, 9, 30), kind="internal")
    status(t["late"], "resolved", at(1, 12, 0))
    services.csat_record(organization=org, actor=world.customer, ticket=t["late"], rating=5)

    services.ticket_assign(organization=org, actor=world.manager, ticket=t["early"],
                           assignee=world.manager)  # fmt: skip
    reply(t["early"], at(1, 8, 0))
    status(t["early"], "resolved", at(2, 10, 0))
    status(t["early"], "open", at(2, 11, 0))  # reopened
    status(t["early"], "resolved", at(3, 9, 0))
    status(t["early"], "closed", at(3, 10, 0))
    services.csat_record(organization=org, actor=world.customer, ticket=t["early"], rating=2)

    t["pending"] = open_ticket(world, subject="Waiting", priority="urgent", team=team,
                               at=at(0, 10, 0))  # fmt: skip
    status(t["pending"], "pending", at(0, 11, 0))

    t["deleted"] = open_ticket(world, subject="Spam", priority="high", channel="email",
                               team=team, category=category, at=at(1, 15, 0))  # fmt: skip
    reply(t["deleted"], at(1, 16, 0))
    status(t["deleted"], "resolved", at(1, 17, 0))
    services.ticket_soft_delete(organization=org, actor=world.agent, ticket=t["deleted"])

    t["restored"] = open_ticket(world, subject="Back again", priority="high", channel="web",
                                category=category, at=at(2, 8, 0))  # fmt: skip
    services.ticket_soft_delete(organization=org, actor=world.agent, ticket=t["restored"])
    services.ticket_restore(organization=org, actor=world.agent, ticket=t["restored"])

    t["cancelled"] = open_ticket(world, subject="Never mind", channel="phone", at=at(2, 9, 0))
    status(t["cancelled"], "cancelled", at(2, 9, 30))

    t["duplicate"] = open_ticket(world, subject="Same again", priority="high", team=team,
                                 at=at(2, 10, 0))  # fmt: skip
    services.ticket_merge(organization=org, actor=world.agent, source=t["duplicate"],
                          target=t["restored"])  # fmt: skip

    t["now"] = open_ticket(world, subject="Opened just now", priority="low")
    for key, ticket in t.items():
        with tenant(org):
            t[key] = Ticket.all_objects.get(pk=ticket.pk)
    return Scenario(world=world, day=d, team=team, category=category, tickets=t)


# ------------------------------------------------------------------ recounts
class Recount:
    """Every number from the rows themselves, one ticket at a time."""

    def __init__(self, org: Organization) -> None:
        self.org = org
        self.zone = zoneinfo.ZoneInfo(org.timezone)
        with tenant(org):
            everything = list(Ticket.all_objects.filter(organization=org))
            self.tickets = [t for t in everything if t.deleted_at is None]
            self.live_ids = {t.id for t in self.tickets}
            events = list(SlaEvent.objects.filter(organization=org, kind__in=["met", "breached"]))
            self.reopens = list(
                TicketHistory.objects.filter(
                    organization=org, field="status", old_value="resolved", new_value="open"
                )
            )
            self.comments = list(
                TicketComment.objects.filter(
                    organization=org, kind__in=["public", "internal"]
                ).select_related("author")
            )
            self.calendar = calendar_for(org)
        self.settled = {e.ticket_id for e in events}
        self.breached = {e.ticket_id for e in events if e.kind == "breached"}
        self.outcomes = defaultdict(set)
        for e in events:
            self.outcomes[e.ticket_id].add((e.kind, e.target))
        self.reopened = {h.ticket_id for h in self.reopens}

    def day(self, at: datetime | None) -> date | None:
        return at.astimezone(self.zone).date() if at else None

    @staticmethod
    def resolved(t: Ticket) -> bool:
        return t.resolved_at is not None and t.merged_into_id is None

    def opened_in(self, start: date, end: date, keep: Callable[[Ticket], bool] = lambda t: True):
        return [t for t in self.tickets if start <= self.day(t.created_at) <= end and keep(t)]

    def ticket_metrics(self, group: Iterable[Ticket]) -> dict[str, Any]:
        group = list(group)
        first = [(t.first_response_at - t.created_at).total_seconds()
                 for t in group if t.first_response_at]  # fmt: skip
        resolution = [(t.resolved_at - t.created_at).total_seconds()
                      for t in group if self.resolved(t)]  # fmt: skip
        settled = [t for t in group if t.id in self.settled]
        breached = [t for t in settled if t.id in self.breached]
        ever = [t for t in group if self.resolved(t) or t.id in self.reopened]
        ratings = [t.satisfaction for t in group if t.satisfaction]
        return {
            "tickets": len(group),
            "open": sum(t.status in ACTIVE for t in group),
            "resolved": sum(self.resolved(t) for t in group),
            "first_response_avg_seconds": mean(first),
            "resolution_avg_seconds": mean(resolution),
            "sla_compliance_pct": pct(len(settled) - len(breached), len(settled)),
            "reopen_rate_pct": pct(sum(t.id in self.reopened for t in ever), len(ever)),
            "csat": {
                "count": len(ratings),
                "average": round(statistics.mean(ratings), 2) if ratings else None,
                "distribution": {str(r): ratings.count(r) for r in range(1, 6)},
            },
        }

    def business_seconds(self, start: datetime, end: datetime) -> float:
        return self.calendar.between(start, end).total_seconds()


def mean(values: list[float]) -> float | None:
    return round(statistics.mean(values), 1) if values else None


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
