"""Time worked on tickets: entries per ticket, and their totals.

Staff log time on any ticket they may see; each edits and deletes their own
entries, managers and admins anyone's. Minutes are 1..1440 (the table's check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core import events
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.tickets.models import MAX_ENTRY_MINUTES, Ticket, TimeEntry
from deskbase.tickets.permissions import ensure_staff

FIELDS = frozenset({"minutes", "note", "billable", "worked_on"})
MANAGERS = (Role.ADMIN, Role.MANAGER)


def _check_day(worked_on: Any) -> date:
    if not isinstance(worked_on, date):
        raise ValidationFailed.one("worked_on", gettext("Give the day worked as a date."))
    # A day ahead of UTC at most: somewhere it is already tomorrow.
    if worked_on > timezone.now().date() + timedelta(days=1):
        raise ValidationFailed.one("worked_on", gettext("Time cannot be logged for a future day."))
    return worked_on


def _check_minutes(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ValidationFailed.one("minutes", gettext("Minutes are a whole number."))
    if not 0 < minutes <= MAX_ENTRY_MINUTES:
        raise ValidationFailed.one("minutes", gettext("Minutes are between 1 and 1440 (a day)."))
    return minutes


@tenant_atomic
def time_entry_add(
    *,
    organization: Organization,
    actor: User,
    ticket: Ticket,
    minutes: int,
    note: str = "",
    billable: bool = True,
    worked_on: date | None = None,
) -> TimeEntry:
    ensure_staff(actor, gettext("log time"))
    if ticket.organization_id != organization.id:
        raise NotFound(gettext("no such ticket"), field="number")
    entry = TimeEntry(
        organization=organization, ticket=ticket, user=actor, minutes=_check_minutes(minutes),
        note=(note or "").strip(), billable=bool(billable),
        worked_on=_check_day(worked_on or timezone.localdate()),
    )  # fmt: skip
    validated(entry, exclude=["organization", "ticket", "user"], validate_unique=False,
              validate_constraints=False)  # fmt: skip
    with events.announce(events.TIME_ENTRY_ADDED, organization, actor, entry):
        entry.save()  # minutes out of range: the table's check, mapped to `minutes`
    return entry


def _own_entry(organization: Organization, actor: User, entry_id: int) -> TimeEntry:
    """The entry, locked; someone else's is a 403 for an agent (a 404 if it does not exist)."""
    ensure_staff(actor, gettext("change logged time"))
    entry = (
        TimeEntry.objects.select_for_update().filter(organization=organization, pk=entry_id).first()
    )
    if entry is None:
        raise NotFound(
            gettext("no time entry %(entry_id)s") % {"entry_id": entry_id}, field="entry_id"
        )
    if entry.user_id != actor.id and actor.role not in MANAGERS:
        raise PermissionDenied(gettext("only managers and admins change other people's time"))
    return entry


@tenant_atomic
def time_entry_update(
    *, organization: Organization, actor: User, entry_id: int, **changes: Any
) -> TimeEntry:
    unknown = set(changes) - FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed.one(
            field, gettext("%(field)s cannot be changed here.") % {"field": field}
        )
    entry = _own_entry(organization, actor, entry_id)
    before = {f: getattr(entry, f) for f in ("minutes", "worked_on", "note", "billable")}
    if "minutes" in changes:
        entry.minutes = _check_minutes(changes["minutes"])
    if "worked_on" in changes:
        entry.worked_on = _check_day(changes["worked_on"])
    if "note" in changes:
        entry.note = (changes["note"] or "").strip()
    if "billable" in changes:
        entry.billable = bool(changes["billable"])
    validated(entry, exclude=["organization", "ticket", "user"], validate_unique=False,
              validate_constraints=False)  # fmt: skip
    changed = {f: (old, getattr(entry, f)) for f, old in before.items() if getattr(entry, f) != old}
    if changed:
        with events.announce(events.TIME_ENTRY_UPDATED, organization, actor, entry, **changed):
            entry.save(update_fields=sorted(changed))
            entry.refresh_from_db(fields=["updated_at"])
    return entry


@tenant_atomic
def time_entry_delete(*, organization: Organization, actor: User, entry_id: int) -> None:
    entry = _own_entry(organization, actor, entry_id)
    with events.announce(events.TIME_ENTRY_DELETED, organization, actor, entry):
        entry.delete()
        entry.pk = entry_id  # the event names the entry that was deleted


# ------------------------------------------------------------------ reads
@dataclass(frozen=True)
class TicketTime:
    entries: list[TimeEntry]
    minutes: int
    billable_minutes: int


def ticket_time(*, organization: Organization, actor: User, ticket: Ticket) -> TicketTime:
    """A ticket's entries (newest first, with who) and totals. Budget: 1 query."""
    ensure_staff(actor, gettext("see logged time"))
    with tenant(organization, actor, savepoint=False):
        entries = list(
            TimeEntry.objects.filter(organization=organization, ticket=ticket)
            .select_related("user").order_by("-worked_on", "-id")
        )  # fmt: skip
    return TicketTime(
        entries=entries,
        minutes=sum(e.minutes for e in entries),
        billable_minutes=sum(e.minutes for e in entries if e.billable),
    )


def time_totals(entries: Any) -> Any:
    """The aggregate columns of a time report over a queryset of entries."""
    return entries.aggregate(
        minutes=Sum("minutes", default=0),
        billable_minutes=Sum("minutes", filter=Q(billable=True), default=0),
        entries=Count("id"),
    )
