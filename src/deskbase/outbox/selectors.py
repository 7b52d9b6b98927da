"""Reads of the outbox for operators: counts by consumer and state, the backlog, dead rows.

Run as the owner role (`deskbase outbox status`): every organization's rows.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

# Due pending rows older than this mean nothing is delivering (or it is far behind).
STALE_SECONDS = 300


def status(*, dead: int = 10) -> dict[str, Any]:
    """Counts per consumer and state, the oldest due row's wait, the latest dead rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT consumer, state, count(*) FROM outbox_message GROUP BY 1, 2 ORDER BY 1, 2"
        )
        consumers: dict[str, dict[str, int]] = {}
        for consumer, state, count in cursor.fetchall():
            consumers.setdefault(consumer, {"pending": 0, "delivered": 0, "failed": 0})
            consumers[consumer][state] = count
        cursor.execute(
            "SELECT count(*),"
            " extract(epoch FROM statement_timestamp() - min(next_attempt_at))::float8"
            " FROM outbox_message"
            " WHERE state = 'pending' AND next_attempt_at <= statement_timestamp()"
        )
        due, oldest_wait = cursor.fetchone()
        cursor.execute(
            "SELECT m.id, o.slug, m.consumer, m.delivery_key, m.attempts, m.created_at,"
            " m.next_attempt_at, m.last_error FROM outbox_message m"
            " JOIN organizations_organization o ON o.id = m.organization_id"
            " WHERE m.state = 'failed' ORDER BY m.id DESC LIMIT %s",
            [dead],
        )
        columns = ["id", "organization", "consumer", "key", "attempts", "created_at",
                   "last_attempt_at", "last_error"]  # fmt: skip
        dead_rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    failed = sum(c["failed"] for c in consumers.values())
    problems = []
    if failed:
        problems.append(f"{failed} outbox rows failed every attempt (deskbase outbox retry)")
    if oldest_wait is not None and oldest_wait > STALE_SECONDS:
        problems.append(
            f"{due} outbox rows are due, the oldest for {oldest_wait:.0f} s:"
            " no worker is delivering, or it is far behind"
        )
    return {
        "consumers": consumers,
        "due": due,
        "oldest_due_seconds": round(oldest_wait, 1) if oldest_wait is not None else None,
        "dead": dead_rows,
        "problems": problems,
    }
