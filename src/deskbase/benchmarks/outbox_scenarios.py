"""Benchmark: outbox rows delivered per second by one worker to a no-op consumer.

Each call is one batch of the worker (deskbase.outbox.delivery.deliver_batch): claim
up to OUTBOX_BATCH_SIZE due rows with FOR UPDATE SKIP LOCKED, call the consumer for
each in its savepoint, mark them delivered in one UPDATE, commit. The rows (of the
subjects' organization, for the consumer `outbox.noop`) are written before the run.
`details.rows_per_second` is rows delivered over the time spent in the calls.

Like every scenario it runs as the application role, so within the organization
(row-level security on); the worker runs as the owner across organizations. A
running worker delivers the same rows too (harmlessly: the consumer does nothing),
which leaves fewer per call: stop it for a clean figure. Figures in docs/outbox.md.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.db import connection

from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, Statement, inprocess
from deskbase.core.tenancy import tenant
from deskbase.outbox import delivery
from deskbase.outbox.consumers import NOOP

# Batches written ahead beyond the samples: the warm-up and the raw-SQL capture.
SPARE_BATCHES = 100


def _outbox_statements(statement: Statement) -> bool:
    return "outbox_message" in statement.sql


def _fill(organization_id: int, rows: int) -> None:
    """`rows` due rows for the no-op consumer (the previous run's leftovers removed)."""
    with tenant(organization_id), connection.cursor() as cursor:
        cursor.execute("DELETE FROM outbox_message WHERE consumer = %s", [NOOP])
        cursor.execute(
            "INSERT INTO outbox_message (organization_id, consumer, delivery_key, payload)"
            " SELECT %s, %s, 'bench:' || n, jsonb_build_object('n', n)"
            " FROM generate_series(1, %s) AS n",
            [organization_id, NOOP, rows],
        )


@inprocess("outbox_delivery", "one worker's outbox batch: claim due rows (SKIP LOCKED),"
           " call a no-op consumer for each, mark them delivered", main_sql=_outbox_statements,
           writes=True)  # fmt: skip
def outbox_delivery(ctx: Context) -> Prepared:
    organization_id = ctx.need_subjects().organization_id
    batch = delivery.setting("OUTBOX_BATCH_SIZE")
    _fill(organization_id, (ctx.samples + SPARE_BATCHES) * batch)
    return delivering(organization_id, batch, NOOP, shown={"consumer": NOOP})


def delivering(
    organization_id: int, batch: int, consumer: str, *,
    around: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
    shown: dict[str, Any] | None = None,
) -> Prepared:  # fmt: skip
    """Each call delivers one batch of `consumer`'s due rows of the organization (inside
    `around()`); `details.rows_per_second` is rows delivered over the calls' time."""
    details: dict[str, Any] = {**(shown or {}), "batch_size": batch, "rows_delivered": 0,
                               "rows_per_second": None}  # fmt: skip
    lock = threading.Lock()
    spent = [0.0]

    def call() -> Any:
        started = time.perf_counter()
        # The bench's role sees one organization's rows.
        with around(), tenant(organization_id):
            result = delivery.deliver_batch(limit=batch, consumers=[consumer])
        elapsed = time.perf_counter() - started
        with lock:
            spent[0] += elapsed
            details["rows_delivered"] += result.delivered
            details["rows_per_second"] = round(details["rows_delivered"] / spent[0], 1)
        return result

    return Prepared(lambda index: call, details=details, tenant=(organization_id, None))
