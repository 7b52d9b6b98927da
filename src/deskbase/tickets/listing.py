"""The API's ticket list in SQL: the hottest read of the product, without the ORM.

`selectors.ticket_list` (model instances, for the web pages) and `ticket_list_rows`
here (plain rows, for the API) take the same filters, sorts and cursors and return
the same tickets in the same order; tests/tickets/test_listing.py holds them to it
for every filter, sort and page. The SQL is written out because building and
compiling the equivalent queryset cost more Python time (about 1.3 ms a request)
than PostgreSQL spends running it, and because the text is then stable per filter
shape, so the connection prepares it once and PostgreSQL stops planning it:

- values from a fixed set (status, priority, channel) are validated and written
  into the text, so a generic plan still proves the partial queue indexes'
  `status IN ('new', 'open', 'pending')` predicates;
- everything else (ids, dates, tags, cursor values) is a bound parameter.
"""

# The SQL text is assembled from this module's constants and from enum values
# checked against their choices; every other value is a bound parameter.

from __future__ import annotations

from typing import Any

import orjson
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.models import ACTIVE_STATUSES, Channel, Priority, Status
from deskbase.tickets.permissions import is_staff_member

# Imported by selectors too: one definition of the sorts, the filters and the cursor.
from deskbase.tickets.selectors import (
    AT_RISK_WINDOW,
    FAR_FUTURE,
    KEYSETS,
    PRIORITY_RANKS,
    SORTS,
    TicketFilters,
    _cursor_values,
    _encode,
    _parse_cursor,
    custom_value_keys,
)

# The columns of a row, in the SELECT's order; related people, team and category
# are folded into objects (None when absent).
ROW_FIELDS = (
    "id", "number", "subject", "status", "priority", "channel", "tags", "custom_fields",
    "first_response_due_at", "resolution_due_at", "sla_breach", "first_response_at",
    "resolved_at", "closed_at", "satisfaction", "created_at", "updated_at", "version",
    "priority_rank", "sla_key",
)  # fmt: skip
ROW_RELATED = {
    "customer": ("id", "full_name", "email"),
    "assignee": ("id", "full_name", "email"),
    "team": ("id", "name"),
    "category": ("id", "name"),
}
_ALIASES = {"customer": "c", "assignee": "a", "team": "tm", "category": "cat"}

# selectors.PRIORITY_RANK in SQL, in the same form ("CASE WHEN t.priority = 'urgent'
# THEN 4 ... ELSE 1 END"), which is the expression of the index tickets_queue_priority.
PRIORITY_RANK_SQL = (
    "CASE "
    + " ".join(
        f"WHEN t.priority = '{priority}' THEN {rank}"
        for priority, rank in sorted(PRIORITY_RANKS.items(), key=lambda item: -item[1])[:-1]
    )
    + " ELSE 1 END"
)
# The active statuses written out, for the partial indexes' predicates to be proved.
ACTIVE_SQL = ", ".join(repr(str(status)) for status in ACTIVE_STATUSES)
# A count stops here ("10,000+"): a count of a queue or a saved view then reads at most
# this many index entries, whatever the size of the tenant (docs/saved-views.md).
COUNT_CAP = 10_000
# selectors.NEXT_DUE in SQL: the index tickets_queue_at_risk's expression.
NEXT_DUE_SQL = (
    "least(t.resolution_due_at, CASE WHEN t.first_response_at IS NULL"
    " THEN t.first_response_due_at END)"
)
SLA_KEY_SQL = f"coalesce(t.resolution_due_at, '{FAR_FUTURE.isoformat()}'::timestamptz)"
# The SQL of each keyset column.
_KEY_SQL = {
    "updated_at": "t.updated_at",
    "created_at": "t.created_at",
    "id": "t.id",
    "priority_rank": PRIORITY_RANK_SQL,
    "sla_key": SLA_KEY_SQL,
}

# The columns of a row (ROW_FIELDS, then ROW_RELATED's) and the joins they come from;
# the change feed (tickets/changes.py) reads the same rows.
ROW_COLUMNS_SQL = (
    ", ".join(f"t.{name}" for name in ROW_FIELDS if name not in ("priority_rank", "sla_key"))
    + f", {PRIORITY_RANK_SQL}, {SLA_KEY_SQL}, "
    + ", ".join(
        f"{_ALIASES[name]}.{field}" for name, fields in ROW_RELATED.items() for field in fields
    )
)
ROW_FROM_SQL = (
    " FROM tickets_ticket t"
    " JOIN accounts_user c ON c.id = t.customer_id"
    " LEFT JOIN accounts_user a ON a.id = t.assignee_id"
    " LEFT JOIN accounts_team tm ON tm.id = t.team_id"
    " LEFT JOIN tickets_category cat ON cat.id = t.category_id"
)
_SELECT = (
    "SELECT "
    + ROW_COLUMNS_SQL
    + ROW_FROM_SQL
    + " WHERE t.organization_id = %s AND t.deleted_at IS NULL"
)


TAG_SQL = (
    "EXISTS (SELECT 1 FROM tickets_tickettag g WHERE g.organization_id = t.organization_id"
    " AND g.tag = %s AND g.ticket_id = t.id)"
)

FIELD_SQL = (
    "EXISTS (SELECT 1 FROM tickets_ticketfieldvalue v WHERE v.organization_id = t.organization_id"
    " AND v.field = %s AND v.value = ANY(%s::text[]) AND v.ticket_id = t.id)"
)


def _one_of(column: str, values: tuple[str, ...], choices: Any) -> tuple[Any, ...]:
    """`column IN (...)`: known values written out, anything else bound (it matches nothing)."""
    allowed = set(choices.values)
    if all(value in allowed for value in values):
        return (f"{column} IN ({', '.join(repr(str(v)) for v in values)})",)
    return f"{column} = ANY(%s)", list(values)


def _conditions(filters: TicketFilters, actor: User) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        where.append(sql)
        params.extend(values)

    if filters.status:
        add(*_one_of("t.status", filters.status, Status))
    if filters.priority:
        add(*_one_of("t.priority", filters.priority, Priority))
    if filters.assignee == "me":
        add("t.assignee_id = %s", actor.id)
    elif filters.assignee == "unassigned":
        add("t.assignee_id IS NULL")
    elif filters.assignee is not None:
        if not filters.assignee.isdigit():
            raise ValidationFailed.one("assignee", gettext("Use me, unassigned or an agent's id."))
        add("t.assignee_id = %s", int(filters.assignee))
    for field in ("team_id", "customer_id", "category_id"):
        if getattr(filters, field) is not None:
            add(f"t.{field} = %s", getattr(filters, field))
    if filters.channel is not None:
        add(*_one_of("t.channel", (filters.channel,), Channel))
    if filters.tag:
        # tickets_tickettag, not `t.tags @> ...`: `=` is leakproof, so the index serves
        # under row-level security (migration 0016).
        add(TAG_SQL, filters.tag.strip().lower())
    for name, sql in (
        ("created_after", "t.created_at >= %s"), ("created_before", "t.created_at < %s"),
        ("updated_after", "t.updated_at >= %s"), ("updated_before", "t.updated_at < %s"),
    ):  # fmt: skip
        if getattr(filters, name) is not None:
            add(sql, getattr(filters, name))
    for name, value in filters.custom:
        # tickets_ticketfieldvalue, not `custom_fields @> ...` (jsonb, not leakproof).
        add(FIELD_SQL, *custom_value_keys(name, value))
    if filters.sla == "breached":
        add("t.sla_breach")
    elif filters.sla == "at_risk":
        soon = timezone.now() + AT_RISK_WINDOW
        add(
            f"NOT t.sla_breach AND t.status IN ({ACTIVE_SQL}) AND t.sla_paused_at IS NULL"
            f" AND {NEXT_DUE_SQL} <= %s",
            soon,
        )  # fmt: skip
    elif filters.sla is not None:
        raise ValidationFailed.one("sla", gettext("Use breached or at_risk."))
    if not is_staff_member(actor):
        add("t.customer_id = %s", actor.id)
    return where, params


def list_sql(
    organization: Organization, actor: User, filters: TicketFilters, sort: str,
    after: str | None, limit: int,
) -> tuple[str, list[Any], list[tuple[str, bool]]]:  # fmt: skip
    """(SQL, parameters, keyset) of one page: `limit` + 1 rows, to know whether more follow."""
    if sort not in SORTS:
        raise ValidationFailed.one(
            "sort",
            gettext("Unknown sort %(sort)r; use %(choices)s.")
            % {"sort": sort, "choices": ", ".join(SORTS)},
        )
    keys = KEYSETS[sort]
    where, params = _conditions(filters, actor)
    columns = ", ".join(_KEY_SQL[name] for name, _ in keys)
    descending = keys[0][1]  # every keyset runs one way
    if after:
        values = _parse_cursor(after, keys)
        marks = ", ".join(["%s"] * len(values))
        where.append(f"({columns}) {'<' if descending else '>'} ({marks})")
        params.extend(values)
    order = ", ".join(f"{_KEY_SQL[name]}{' DESC' if desc else ''}" for name, desc in keys)
    sql = "".join(
        [_SELECT, *(f" AND {clause}" for clause in where), f" ORDER BY {order} LIMIT {limit + 1}"]
    )
    return sql, [organization.id, *params], keys


def ticket_list_rows(
    *,
    organization: Organization,
    actor: User,
    filters: TicketFilters | None = None,
    sort: str = "updated",
    after: str | None = None,
    limit: int = 25,
) -> tuple[list[dict[str, Any]], str | None]:
    """`selectors.ticket_list` as plain dicts (the API's list). Budget: 1 query plus
    the tenant check, like `ticket_list`."""
    limit = max(1, min(int(limit), 100))
    filters = filters or TicketFilters()
    sql, params, keys = list_sql(organization, actor, filters, sort, after, limit)
    with tenant(organization, actor, savepoint=False), connection.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchmany(limit + 1)
    items = [_row(values) for values in raw[:limit]]
    cursor_out = _encode(_cursor_values(items[-1], keys)) if len(raw) > limit else None
    return items, cursor_out


_FLAT = len(ROW_FIELDS)


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(ROW_FIELDS, values[:_FLAT], strict=True))
    custom = item["custom_fields"]
    if isinstance(custom, (str, bytes)):  # jsonb arrives as text on Django's connection
        try:
            item["custom_fields"] = orjson.loads(custom)
        except orjson.JSONDecodeError:
            # Nested past orjson's 1,024 levels: only a row stored before the bounds of
            # deskbase.core.jsonbounds can be. Its row is still listed.
            item["custom_fields"] = {"(unreadable)": "nested too deeply to show"}
    at = _FLAT
    for name, fields in ROW_RELATED.items():
        if values[at] is None:
            item[name] = None
        else:
            item[name] = dict(zip(fields, values[at : at + len(fields)], strict=True))
        at += len(fields)
    return item


# ------------------------------------------------------------------ public names
# For the CSV export of a view (tickets/export.py), which runs the listing's query in
# full, streamed, rather than a page of it.
SELECT_SQL = _SELECT  # the listing's SELECT of ROW_FIELDS, tenant-scoped; add " AND ..."
KEY_SQL = _KEY_SQL  # a sort key's name -> its SQL expression


def conditions(filters: TicketFilters, actor: User) -> tuple[list[str], list[Any]]:
    """The listing's WHERE clauses (to AND to SELECT_SQL) and their parameters for the
    filters, seen by the actor (their permission scoping included)."""
    return _conditions(filters, actor)
