# ruff: noqa: S608 - PERIOD is a constant of this module; values are bound parameters.
"""Search analytics reads over the last N days (managers and admins).

Each is one query on search_searchlog, pruned to the partitions of the period by
`created_at` and led by the tenant's primary-key prefix (organization_id, created_at).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import PermissionDenied
from deskbase.core.tenancy import tenant

ANALYSTS = (Role.ADMIN, Role.MANAGER)


def _ensure_analyst(user: User) -> None:
    if user.role not in ANALYSTS:
        raise PermissionDenied(gettext("only managers and admins may read search analytics"))


def _rows(user: User, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    _ensure_analyst(user)
    with tenant(user.organization_id, user, savepoint=False), connection.cursor() as cursor:
        cursor.execute(sql, {"org": user.organization_id, **params})
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


PERIOD = "organization_id = %(org)s AND created_at >= now() - make_interval(days => %(days)s)"


def popular_queries(*, user: User, days: int, limit: int = 20) -> list[dict[str, Any]]:
    return _rows(
        user,
        f"""SELECT query, count(*) AS searches, round(avg(result_count), 1)::float8 AS avg_results,
                   count(opened_at) AS opened
            FROM search_searchlog WHERE {PERIOD} AND query <> ''
            GROUP BY query ORDER BY searches DESC, query LIMIT %(limit)s""",
        {"days": days, "limit": limit},
    )


def zero_result_queries(*, user: User, days: int, limit: int = 20) -> list[dict[str, Any]]:
    return _rows(
        user,
        f"""SELECT query, count(*) AS searches, max(created_at) AS last_searched_at
            FROM search_searchlog WHERE {PERIOD} AND result_count = 0 AND query <> ''
            GROUP BY query ORDER BY searches DESC, query LIMIT %(limit)s""",
        {"days": days, "limit": limit},
    )


def success_rate(*, user: User, days: int) -> dict[str, Any]:
    """Searches followed by an opened result, of all searches in the period."""
    (row,) = _rows(
        user,
        f"""SELECT count(*) AS searches, count(opened_at) AS successful,
                   count(*) FILTER (WHERE result_count = 0) AS zero_results
            FROM search_searchlog WHERE {PERIOD}""",
        {"days": days},
    )
    searches = row["searches"]
    row["rate"] = round(row["successful"] / searches, 4) if searches else None
    row["days"] = days
    return row
