"""Search analytics writes: the search log and which result was opened.

A search must not fail or wait because its log row could not be written: the
insert runs in a savepoint after the results are computed, and an error is
logged (deskbase.search) and swallowed. The row is one small INSERT into the
current month's partition.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection, transaction

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound
from deskbase.core.tenancy import tenant
from deskbase.search.query import normalized

logger = logging.getLogger("deskbase.search")
OPENED_WITHIN_DAYS = 7  # a search's result may be reported opened for this long
OPENED_TYPES = ("ticket", "comment", "canned_response", "user", "attachment", "organization")


def search_log(
    *, user: User, text: str, types: list[str], result_count: int, latency_ms: float
) -> int | None:
    """Record one search; its id (for `search_opened`), or None when it could not be logged."""
    try:
        with tenant(user.organization_id, user), connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO search_searchlog
                   (organization_id, user_id, query, types, result_count, latency_ms)
                   VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
                [user.organization_id, user.id, normalized(text), ",".join(types),
                 result_count, max(latency_ms, 0.0)],
            )  # fmt: skip
            return cursor.fetchone()[0]
    except DatabaseError:
        logger.exception("search log: could not record a search of organization %s",
                         user.organization_id)  # fmt: skip
        return None


@transaction.atomic
def search_opened(*, user: User, search_id: int, opened_type: str, opened_id: int) -> None:
    """Mark which result of the caller's own recent search was opened (the last one wins)."""
    with tenant(user.organization_id, user), connection.cursor() as cursor:
        # created_at bounds the partitions read; the primary key leads with the tenant.
        cursor.execute(
            """UPDATE search_searchlog SET opened_type = %s, opened_id = %s, opened_at = now()
               WHERE organization_id = %s AND id = %s AND user_id = %s
                 AND created_at > now() - make_interval(days => %s)""",
            [opened_type, opened_id, user.organization_id, search_id, user.id,
             OPENED_WITHIN_DAYS],
        )  # fmt: skip
        if cursor.rowcount == 0:
            raise NotFound(f"no recent search {search_id} of yours", field="search_id")
