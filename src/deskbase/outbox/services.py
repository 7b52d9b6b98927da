"""Writes to the outbox: enqueue in the caller's transaction, replay dead rows, purge."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import orjson
from django.db import connection, transaction

from deskbase.core import jsonbounds
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import current_tenant, tenant
from deskbase.outbox import registry
from deskbase.outbox.limits import MAX_KEY_LENGTH, PAYLOAD

NOTIFY_CHANNEL = "deskbase_outbox"

_INSERT = (
    "INSERT INTO outbox_message (organization_id, consumer, delivery_key, payload)"
    " VALUES (%s, %s, %s, %s::jsonb)"
    " ON CONFLICT (organization_id, consumer, delivery_key) DO NOTHING RETURNING id"
)


def enqueue(*, organization: Any, consumer: str, key: str, payload: dict[str, Any]) -> bool:
    """Write the effect `key` for `consumer` in the caller's transaction.

    It is delivered only if that transaction commits (the row commits with it), at
    least once. Enqueueing a key already enqueued for this consumer and organization
    changes nothing and returns False. The worker is woken on commit (a trigger
    sends NOTIFY deskbase_outbox).
    """
    if not connection.in_atomic_block:
        raise RuntimeError(
            "outbox.enqueue() belongs in the transaction of the change it follows"
            " (call it inside transaction.atomic(), a service)"
        )
    registry.get(consumer)  # an unknown name fails here, in the caller, not in the worker
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed.one(
            "delivery_key", f"A delivery key has 1 to {MAX_KEY_LENGTH} characters."
        )
    if not isinstance(payload, dict):
        raise ValidationFailed.one("payload", "A payload is a JSON object.")
    jsonbounds.check("payload", payload, PAYLOAD)
    body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()
    organization_id = organization if isinstance(organization, int) else organization.pk
    # No savepoint: the statement cannot fail on a duplicate, and any other failure
    # dooms the caller's write anyway, which is the point. Already the transaction's
    # tenant (a service's write, whatever its actor): nothing to swap and put back.
    scope = (
        contextlib.nullcontext()
        if current_tenant() == organization_id
        else tenant(organization_id, savepoint=False)
    )
    with scope, connection.cursor() as cursor:
        cursor.execute(_INSERT, [organization_id, consumer, key, body])
        return cursor.fetchone() is not None


@transaction.atomic
def replay_failed(
    *, consumer: str | None = None, ids: list[int] | None = None, organization_id: int | None = None
) -> int:
    """Make dead rows pending again, with their attempts from zero; return how many.

    Run as the owner role (`deskbase outbox retry`): it spans organizations. The
    last error stays on the row until its next attempt replaces it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE outbox_message"
            " SET state = 'pending', attempts = 0, next_attempt_at = statement_timestamp()"
            " WHERE state = 'failed' AND (%(consumer)s::text IS NULL OR consumer = %(consumer)s)"
            " AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))"
            " AND (%(org)s::bigint IS NULL OR organization_id = %(org)s)",
            {"consumer": consumer, "ids": list(ids) if ids else None, "org": organization_id},
        )
        count = cursor.rowcount
        if count:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return count


def purge_delivered(*, older_than: timedelta, limit: int = 10_000) -> int:
    """Delete delivered rows delivered before `older_than` ago, at most `limit` at once."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM outbox_message WHERE id IN ("
            " SELECT id FROM outbox_message WHERE state = 'delivered'"
            " AND delivered_at < now() - %s * interval '1 second'"
            " ORDER BY delivered_at LIMIT %s)",
            [older_than.total_seconds(), limit],
        )
        return cursor.rowcount
