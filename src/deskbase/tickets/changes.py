"""The change feed of tickets: a cursor that never misses a committed change.

`GET /api/v1/tickets/changes?cursor=...` (docs/api.md) hands out the tickets
inserted or updated since the cursor, then a cursor to continue from. Timestamps
cannot do this: transactions commit in another order than the one in which they
took their timestamps (or sequence values), so a reader that saw "everything up to
T" may later find a row committed with a T' < T, and never read it.

Every insert and update of a ticket stores the id of its (top-level) transaction in
`change_xid` (migration tickets/0007). A read takes its snapshot's xmin, the oldest
transaction still running: every transaction below it has finished, so the rows it
wrote are all visible now, and no row can appear below it later. The feed returns the
rows with `change_xid` below that horizon, in (change_xid, id) order after the
cursor; the next cursor is the last row's (change_xid, id) when the page is full,
else the horizon itself. A row changed again gets a new, higher `change_xid` and
comes again, in its latest state. A long transaction holds the horizon back: the
changes after it wait (they are not lost) until it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.listing import ROW_COLUMNS_SQL, ROW_FROM_SQL, _row
from deskbase.tickets.permissions import is_staff_member
from deskbase.tickets.selectors import _decode, _encode

MAX_XID8 = 2**63 - 1  # what a bigint (and this API) can carry; xid8 will not get there
START = (0, 0)

_SQL = """
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT h.xmin::text, page.*
FROM horizon h LEFT JOIN LATERAL (
    SELECT {columns}, t.deleted_at, t.change_xid::text {source}
    WHERE t.organization_id = %s AND t.change_xid < h.xmin
      AND (t.change_xid, t.id) > (%s::text::xid8, %s) {only_own}
    ORDER BY t.change_xid, t.id
    LIMIT %s
) page ON true
"""
_STAFF_SQL = _SQL.format(columns=ROW_COLUMNS_SQL, source=ROW_FROM_SQL, only_own="")
_CUSTOMER_SQL = _SQL.format(
    columns=ROW_COLUMNS_SQL, source=ROW_FROM_SQL, only_own="AND t.customer_id = %s"
)


@dataclass(frozen=True)
class Changes:
    items: list[dict[str, Any]]  # listing's rows, with deleted_at
    next_cursor: str
    more: bool  # the page was full: ask again at once (else: caught up, poll later)


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return START
    values = _decode(cursor, 2)
    if not all(type(v) is int and 0 <= v <= MAX_XID8 for v in values):
        raise ValidationFailed.one("cursor", gettext("This cursor is not one the server gave out."))
    return values[0], values[1]


def ticket_changes(
    *, organization: Organization, actor: User, after: str | None = None, limit: int = 100
) -> Changes:
    """Tickets changed after the cursor (all the caller may see, soft-deleted ones too,
    a customer's own only). Budget: 1 query plus the tenant check, any page size."""
    limit = max(1, min(int(limit), 500))
    xid, last_id = parse_cursor(after)
    params: list[int | str]
    if is_staff_member(actor):
        sql, params = _STAFF_SQL, [organization.id, str(xid), last_id, limit + 1]
    else:
        sql, params = _CUSTOMER_SQL, [organization.id, str(xid), last_id, actor.id, limit + 1]
    with tenant(organization, actor, savepoint=False), connection.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    horizon = int(raw[0][0])
    rows = [values[1:] for values in raw if values[1] is not None]
    items = []
    for values in rows[:limit]:
        item = _row(values[:-2])
        item["deleted_at"] = values[-2]
        items.append(item)
    more = len(rows) > limit
    if more:
        last = rows[limit - 1]
        following = (int(last[-1]), items[-1]["id"])
    else:
        # Caught up to the horizon; never behind the cursor the caller sent.
        following = max((horizon, 0), (xid, last_id))
    return Changes(items, _encode(list(following)), more)
