"""/api/v1/tickets/{number}/links, /split, /time-entries, and /api/v1/analytics/time.

Staff only: a customer gets a 403 (their own ticket too). Another tenant's ticket
is a 404; another tenant's ticket named in a body is a 422 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.analytics.timereport import time_report
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.errors import ValidationFailed
from deskbase.tickets import links, timeentries
from deskbase.tickets.access import (
    access_ticket_by_number,
    access_ticket_reference,
    caller_organization,
)
from deskbase.tickets.permissions import ensure_staff

router = Router(tags=["ticket links and time"])


class LinkedTicket(Schema):
    number: int
    subject: str
    status: str


class LinkOut(Schema):
    id: int
    relation: str = Field(..., description="from this ticket: parent of, child of, related to")
    ticket: LinkedTicket


class LinkIn(Strict):
    ticket: int = Field(..., description="number of the other ticket")
    relation: Literal["child", "parent", "related"] = Field(
        ..., description="what the other ticket is to this one"
    )


class SplitIn(Strict):
    subject: str = Field("", max_length=300)


class SplitOut(Schema):
    number: int
    subject: str


class TimeEntryOut(Schema):
    id: int
    ticket_number: int
    user_id: int
    minutes: int
    note: str
    billable: bool
    worked_on: date
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_ticket_number(obj) -> int:
        return obj.ticket.number


class TimeEntriesOut(Schema):
    items: list[TimeEntryOut]
    minutes: int
    billable_minutes: int


class TimeEntryIn(Strict):
    minutes: int = Field(..., ge=1, le=1440)
    note: str = Field("", max_length=500)
    billable: bool = True
    worked_on: date | None = Field(None, description="default: today")


class TimeEntryPatch(Strict):
    minutes: int | None = Field(None, ge=1, le=1440)
    note: str | None = Field(None, max_length=500)
    billable: bool | None = None
    worked_on: date | None = None


class TimeQuery(Schema):
    by: Literal["agent", "customer", "company"] = "agent"
    since: date | None = Field(None, description="first day (default: 30 days ago)")
    until: date | None = Field(None, description="last day (default: today)")
    limit: int = Field(50, ge=1, le=500)


class TimeRow(Schema):
    id: int
    name: str
    minutes: int
    billable_minutes: int
    entries: int


class TimeReportOut(Schema):
    by: str
    since: date
    until: date
    items: list[TimeRow]


def _staff_ticket(request: ApiRequest, number: int, action: str):
    ensure_staff(request.auth, action)
    return access_ticket_by_number(request.auth, number)


@router.get("/tickets/{number}/links", response={200: list[LinkOut], **ERRORS})
def list_links(request: ApiRequest, number: int):
    ticket = _staff_ticket(request, number, "see ticket links")
    found = links.ticket_links(organization=caller_organization(request.auth),
                               actor=request.auth, ticket=ticket)  # fmt: skip
    return [{"id": v.id, "relation": v.relation, "ticket": v.ticket} for v in found]


@router.post("/tickets/{number}/links", response={201: LinkOut, **ERRORS})
def add_link(request: ApiRequest, number: int, payload: LinkIn):
    ticket = _staff_ticket(request, number, "link tickets")
    other = access_ticket_reference(request.auth, payload.ticket, field="ticket")
    link = links.link_add(organization=caller_organization(request.auth), actor=request.auth,
                          ticket=ticket, other=other, relation=payload.relation)  # fmt: skip
    relation = links.ROLES[link.kind, link.source_id == ticket.id]
    return Status(201, {"id": link.id, "relation": relation, "ticket": other})


@router.delete("/tickets/{number}/links/{link_id}", response={204: None, **ERRORS})
def remove_link(request: ApiRequest, number: int, link_id: int):
    ticket = _staff_ticket(request, number, "unlink tickets")
    links.link_remove(organization=caller_organization(request.auth), actor=request.auth,
                      ticket=ticket, link_id=link_id)  # fmt: skip
    return Status(204, None)


@router.post("/tickets/{number}/comments/{comment_id}/split",
             response={201: SplitOut, **ERRORS})  # fmt: skip
def split_comment(request: ApiRequest, number: int, comment_id: int, payload: SplitIn):
    """A new ticket from the comment (its files referenced), related to this one."""
    ticket = _staff_ticket(request, number, "split tickets")
    new = links.ticket_split(organization=caller_organization(request.auth), actor=request.auth,
                             ticket=ticket, comment_id=comment_id,
                             subject=payload.subject)  # fmt: skip
    return Status(201, new)


@router.get("/tickets/{number}/time-entries", response={200: TimeEntriesOut, **ERRORS})
def list_time(request: ApiRequest, number: int):
    ticket = _staff_ticket(request, number, "see logged time")
    found = timeentries.ticket_time(organization=caller_organization(request.auth),
                                    actor=request.auth, ticket=ticket)  # fmt: skip
    for entry in found.entries:
        entry.ticket = ticket
    return {"items": found.entries, "minutes": found.minutes,
            "billable_minutes": found.billable_minutes}  # fmt: skip


@router.post("/tickets/{number}/time-entries", response={201: TimeEntryOut, **ERRORS})
def add_time(request: ApiRequest, number: int, payload: TimeEntryIn):
    ticket = _staff_ticket(request, number, "log time")
    entry = timeentries.time_entry_add(organization=caller_organization(request.auth),
                                       actor=request.auth, ticket=ticket,
                                       **payload.dict(exclude_none=True))  # fmt: skip
    entry.refresh_from_db(fields=["created_at", "updated_at"])
    return Status(201, entry)


@router.patch("/time-entries/{entry_id}", response={200: TimeEntryOut, **ERRORS})
def update_time(request: ApiRequest, entry_id: int, payload: TimeEntryPatch):
    """Your own entry; managers and admins anyone's."""
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    return timeentries.time_entry_update(organization=caller_organization(request.auth),
                                         actor=request.auth, entry_id=entry_id,
                                         **changes)  # fmt: skip


@router.delete("/time-entries/{entry_id}", response={204: None, **ERRORS})
def delete_time(request: ApiRequest, entry_id: int):
    timeentries.time_entry_delete(organization=caller_organization(request.auth),
                                  actor=request.auth, entry_id=entry_id)  # fmt: skip
    return Status(204, None)


@router.get("/analytics/time", response={200: TimeReportOut, **ERRORS})
def time_totals(request: ApiRequest, query: Query[TimeQuery]):
    """Logged time per agent, customer or company over a range of days (admins, managers)."""
    until = query.until or timezone.localdate()
    since = query.since or until - timedelta(days=30)
    items = time_report(organization=caller_organization(request.auth), actor=request.auth,
                        by=query.by, since=since, until=until, limit=query.limit)  # fmt: skip
    return {"by": query.by, "since": since, "until": until, "items": items}
