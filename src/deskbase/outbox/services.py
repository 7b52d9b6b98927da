"""Writes to the outbox: enqueue in the caller's transaction, replay dead rows, purge."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils.translation import gettext

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

_INSERT_MANY = (
    "INSERT INTO outbox_message (organization_id, consumer, delivery_key, payload)"
    " SELECT %s, m.consumer, m.delivery_key, m.payload"
    " FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS m(consumer, delivery_key, payload)"
    " ON CONFLICT (organization_id, consumer, delivery_key) DO NOTHING"
)
# (organization id, consumer, key, JSON body) of the messages of a `batched` block.
_batch: contextvars.ContextVar[list[tuple[int, str, str, str]] | None] = contextvars.ContextVar(
    "outbox_batch", default=None
)


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Within, `enqueue` checks each message as always but keeps it, and the block's
    messages are written when it ends, in one INSERT per organization (a bulk action's
    chunk: its webhooks and mail). Inside, `enqueue` returns True for every message:
    a key already enqueued is still written once only. If the block raises, nothing
    is written (the caller's transaction is rolled back anyway)."""
    if _batch.get() is not None:  # already batching: the outer block writes
        yield
        return
    rows: list[tuple[int, str, str, str]] = []
    token = _batch.set(rows)
    try:
        yield
    finally:
        _batch.reset(token)
    by_organization: dict[int, list[tuple[int, str, str, str]]] = {}
    for row in rows:
        by_organization.setdefault(row[0], []).append(row)
    for organization_id, chosen in by_organization.items():
        scope = (
            contextlib.nullcontext()
            if current_tenant() == organization_id
            else tenant(organization_id, savepoint=False)
        )
        with scope, connection.cursor() as cursor:
            cursor.execute(
                _INSERT_MANY,
                [organization_id, [r[1] for r in chosen], [r[2] for r in chosen],
                 [r[3] for r in chosen]],
            )  # fmt: skip


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
            "delivery_key",
            gettext("A delivery key has 1 to %(max_key_length)s characters.")
            % {"max_key_length": MAX_KEY_LENGTH},
        )
    if not isinstance(payload, dict):
        raise ValidationFailed.one("payload", gettext("A payload is a JSON object."))
    jsonbounds.check("payload", payload, PAYLOAD)
    body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()
    organization_id = organization if isinstance(organization, int) else organization.pk
    batch = _batch.get()
    if batch is not None:
        batch.append((organization_id, consumer, key, body))
        return True
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
