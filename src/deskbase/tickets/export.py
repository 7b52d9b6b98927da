"""CSV exports of ticket lists: every ticket a queue's or a saved view's filters match.

The rows come from a server-side cursor (`connection.chunked_cursor()`), `CHUNK` at a
time, and leave as CSV text chunk by chunk, so an export of a million tickets holds one
chunk in memory, never the whole list (docs/web.md has the measured figures). The SQL is
the API list's (`listing`): the same filters, sorts and tenant scoping, without a LIMIT.

The export is recorded in the audit log, with its filters, when it is asked for; the
rows are read afterwards, in a transaction of their own (a streamed response outlives
the request's transaction).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime, tzinfo
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, User
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.listing import KEY_SQL, ROW_FIELDS, ROW_RELATED, SELECT_SQL, conditions
from deskbase.tickets.permissions import ensure_staff
from deskbase.tickets.selectors import KEYSETS, SORTS, TicketFilters

CHUNK = 2_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER = [
    "number", "subject", "status", "priority", "channel", "customer", "customer_email",
    "assignee", "team", "category", "tags", "created_at", "updated_at",
    "first_response_due_at", "resolution_due_at", "sla_breach", "first_response_at",
    "resolved_at", "closed_at", "satisfaction", "custom_fields",
]  # fmt: skip
_AT = {name: index for index, name in enumerate(ROW_FIELDS)}
# Where each related object's columns start in a row (after ROW_FIELDS, in ROW_RELATED's order).
_RELATED_AT = {
    name: len(ROW_FIELDS) + sum(len(f) for f in list(ROW_RELATED.values())[:index])
    for index, name in enumerate(ROW_RELATED)
}


def safe_cell(value: Any) -> str:
    """A cell as text; text a spreadsheet would run as a formula starts with a quote."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """A time in the reader's zone, to the second, with its offset."""
    if value is None:
        return ""
    return timezone.localtime(value, zone).isoformat(timespec="seconds")


def csv_chunks(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """Rows as UTF-8 CSV (a byte-order mark first, for spreadsheets), a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(cell) for cell in row])
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export_sql(
    organization: Organization, actor: User, filters: TicketFilters, sort: str
) -> tuple[str, list[Any]]:
    """The list's SQL for every matching ticket, in the list's order (no page, no LIMIT)."""
    if sort not in SORTS:
        raise ValidationFailed.one(
            "sort",
            gettext("Unknown sort %(sort)r; use %(choices)s.")
            % {"sort": sort, "choices": ", ".join(SORTS)},
        )
    where, params = conditions(filters, actor)
    order = ", ".join(f"{KEY_SQL[name]}{' DESC' if desc else ''}" for name, desc in KEYSETS[sort])
    sql = "".join([SELECT_SQL, *(f" AND {clause}" for clause in where), f" ORDER BY {order}"])
    return sql, [organization.id, *params]


def _name(values: tuple[Any, ...], related: str) -> str:
    at = _RELATED_AT[related]
    if values[at] is None:
        return ""
    if related in ("customer", "assignee"):
        return values[at + 1] or values[at + 2] or ""
    return values[at + 1] or ""


def _row(values: tuple[Any, ...], zone: tzinfo) -> list[Any]:
    def at(name: str) -> Any:
        return values[_AT[name]]

    customer = _RELATED_AT["customer"]
    custom = at("custom_fields")
    return [
        at("number"), at("subject"), at("status"), at("priority"), at("channel"),
        _name(values, "customer"), values[customer + 2] or "", _name(values, "assignee"),
        _name(values, "team"), _name(values, "category"), " ".join(at("tags") or ()),
        local_time(at("created_at"), zone), local_time(at("updated_at"), zone),
        local_time(at("first_response_due_at"), zone),
        local_time(at("resolution_due_at"), zone), "yes" if at("sla_breach") else "no",
        local_time(at("first_response_at"), zone), local_time(at("resolved_at"), zone),
        local_time(at("closed_at"), zone), at("satisfaction"),
        "" if custom in (None, {}, "{}") else custom if isinstance(custom, str) else str(custom),
    ]  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value.isoformat() if isinstance(value, datetime | date) else value


def _filters_detail(filters: TicketFilters) -> dict[str, Any]:
    """The filters as the audit row stores them: only those set, times as ISO text."""
    return {
        name: _plain(value)
        for name, value in asdict(filters).items()
        if value not in (None, (), "")
    }


def ticket_export(
    *, organization: Organization, actor: User, filters: TicketFilters, sort: str,
    zone: tzinfo, source: str, request: Any = None,
) -> Iterator[list[Any]]:  # fmt: skip
    """Every ticket `filters` match, header first, as CSV rows (times in `zone`).

    Staff only. The checks and the audit row happen now; the rows are read while the
    returned iterator is consumed (one statement, a server-side cursor).
    """
    ensure_staff(actor, gettext("export tickets"))
    sql, params = export_sql(organization, actor, filters, sort)
    audit.record(
        AuditAction.TICKETS_EXPORTED, organization_id=organization.id, actor_id=actor.id,
        request=request, source=source, sort=sort, filters=_filters_detail(filters),
    )  # fmt: skip
    return sql_rows(organization, actor, sql, params, zone)


def sql_rows(
    organization: Organization, actor: User, sql: str, params: list[Any], zone: tzinfo
) -> Iterator[list[Any]]:
    """The header, then the rows of `export_sql`'s statement, CHUNK at a time from a
    server-side cursor, in a transaction of their own."""
    yield HEADER
    with tenant(organization, actor, savepoint=False), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK):
            for values in batch:
                yield _row(values, zone)
