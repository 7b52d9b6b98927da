"""/api/v1/tickets/changes: the tickets changed since a cursor (tickets/changes.py)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Query, Router, Schema

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS, TicketOut
from deskbase.tickets.access import caller_organization
from deskbase.tickets.changes import ticket_changes

router = Router(tags=["tickets"])


class ChangesQuery(Schema):
    cursor: str | None = Field(
        None, max_length=200, description="next_cursor of the previous answer; none to start"
    )
    limit: int = Field(100, ge=1, le=500)


class TicketChangeOut(TicketOut):
    deleted_at: datetime | None = Field(
        description="set when the ticket was deleted (restorable from the trash)"
    )


class TicketChanges(Schema):
    items: list[TicketChangeOut]
    next_cursor: str = Field(description="send it back as `cursor` for the changes after these")
    more: bool = Field(description="true: more changes wait, ask again now; false: caught up")


@router.get("", response={200: TicketChanges, **ERRORS})
def list_changes(request: ApiRequest, query: Query[ChangesQuery]):
    """Tickets created or changed since `cursor`, oldest change first, each in its latest
    state; never misses a committed change (docs/api.md). Customers get their own."""
    user = request.auth
    found = ticket_changes(
        organization=caller_organization(user), actor=user, after=query.cursor,
        limit=query.limit,
    )  # fmt: skip
    return {"items": found.items, "next_cursor": found.next_cursor, "more": found.more}
