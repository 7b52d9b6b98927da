"""Delivery of the outbox by the worker: claim due rows, call their consumers, record.

A batch is one transaction: up to `batch_size` due pending rows are claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` (another deliverer skips them instead of
waiting), each is passed to its consumer, then one UPDATE marks the delivered
ones and one more records the failures (attempts, error, next attempt with
exponential back-off and jitter, or 'failed' once the consumer's attempts are
spent). A process that dies mid-batch holds no claim: its transaction ends with its
connection, the rows stay pending and are delivered again (at least once).

Each consumer call runs with the row's organization as tenant, and in a savepoint
from its first statement on: what a consumer writes through Django commits with the
delivery mark, or is undone with its failure (a consumer that makes no query pays
no savepoint). Rows are claimed across organizations, so the deliverer needs a role
that sees every tenant's rows: the worker's owner role (deskbase.jobs).

`DeliveryLoop` runs batches until none is left, then waits for a NOTIFY on
`deskbase_outbox` (sent by a trigger when a row is enqueued, on commit), for the
next retry to fall due, or for the poll interval, whichever comes first.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction

from deskbase.core.tenancy import set_tenant
from deskbase.outbox import registry
from deskbase.outbox.limits import MAX_ERROR_LENGTH
from deskbase.outbox.services import NOTIFY_CHANNEL, purge_delivered

logger = logging.getLogger(__name__)

# Settings read at each use, with these defaults (docs/outbox.md, "Settings").
DEFAULTS: dict[str, Any] = {
    "OUTBOX_BATCH_SIZE": 200,  # rows claimed per transaction
    "OUTBOX_POLL_SECONDS": 5.0,  # the longest wait without a NOTIFY
    "OUTBOX_RETRY_BASE_SECONDS": 5.0,  # first retry after 2.5-5 s, then doubling
    "OUTBOX_RETRY_MAX_SECONDS": 3600.0,  # no retry waits longer than an hour
    "OUTBOX_RETENTION_DAYS": 7,  # delivered rows are kept this long, then purged
}
PURGE_EVERY_SECONDS = 3600


def setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def backoff_seconds(attempts: int, schedule: tuple[float, ...] | None = None) -> float:
    """The wait after the `attempts`-th failed attempt: exponential, capped, jittered.

    Jitter spreads the retries of many rows that failed together (a webhook target
    down) so they do not all come back at one instant: half the delay, plus a
    random part of the other half. A consumer's own `schedule` gives the waits
    instead (the last one repeats), each jittered by +-20%; the cap does not apply.
    """
    if schedule:
        wait = schedule[min(attempts, len(schedule)) - 1]
        return wait * random.uniform(0.8, 1.2)  # noqa: S311 (spread, not a secret)
    delay = min(setting("OUTBOX_RETRY_BASE_SECONDS") * 2 ** (attempts - 1),
                setting("OUTBOX_RETRY_MAX_SECONDS"))  # fmt: skip
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (spread, not a secret)


@dataclass
class BatchResult:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0  # attempts spent: dead until replayed


# statement_timestamp(), not now(): rows enqueued earlier in a long transaction (a
# test's, a bench's) are due, and a retry is timed from its failure, not its batch.
_CLAIM = """
SELECT id, organization_id, consumer, delivery_key, payload, attempts
FROM outbox_message
WHERE state = 'pending' AND next_attempt_at <= statement_timestamp(){only}
ORDER BY next_attempt_at, id
LIMIT %s
FOR UPDATE SKIP LOCKED
"""

_MARK_DELIVERED = """
UPDATE outbox_message
SET state = 'delivered', delivered_at = statement_timestamp(), attempts = attempts + 1,
    last_error = ''
WHERE id = ANY(%s)
"""

_MARK_FAILED = """
UPDATE outbox_message AS m
SET attempts = m.attempts + 1,
    last_error = f.error,
    state = CASE WHEN f.dead THEN 'failed' ELSE 'pending' END,
    next_attempt_at = CASE WHEN f.dead THEN m.next_attempt_at
                           ELSE statement_timestamp() + make_interval(secs => f.delay) END
FROM unnest(%s::bigint[], %s::text[], %s::boolean[], %s::float8[]) AS f(id, error, dead, delay)
WHERE m.id = f.id
"""


def deliver_batch(*, limit: int | None = None, consumers: list[str] | None = None) -> BatchResult:
    """Claim up to `limit` due rows (of `consumers` only, if given) and deliver them."""
    limit = limit or setting("OUTBOX_BATCH_SIZE")
    only, params = "", []
    if consumers is not None:
        only, params = " AND consumer = ANY(%s)", [list(consumers)]
    result = BatchResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM.format(only=only), [*params, limit])
            rows = cursor.fetchall()
        result.claimed = len(rows)
        delivered: list[int] = []
        failures: list[tuple[int, str, bool, float]] = []
        tenant_set = None
        # Grouped by organization (stable: due order within each), one SET LOCAL each.
        for row_id, org_id, name, key, payload, attempts in sorted(rows, key=lambda r: r[1]):
            if org_id != tenant_set:
                set_tenant(org_id)
                tenant_set = org_id
            # Django's connection hands jsonb over as text (its JSONField parses it).
            error = _call(name, orjson.loads(payload) if isinstance(payload, str) else payload, key)
            if error is None:
                delivered.append(row_id)
                continue
            dead = attempts + 1 >= registry.max_attempts(name)
            wait = 0.0 if dead else backoff_seconds(attempts + 1, registry.retry_schedule(name))
            failures.append((row_id, error, dead, wait))
            logger.warning("outbox %s %s attempt %d failed%s: %s", name, key, attempts + 1,
                           " (no attempt left)" if dead else "", error.splitlines()[0])  # fmt: skip
        with connection.cursor() as cursor:
            if delivered:
                cursor.execute(_MARK_DELIVERED, [delivered])
            if failures:
                ids, errors, deads, delays = (
                    list(column) for column in zip(*failures, strict=True)
                )
                cursor.execute(_MARK_FAILED, [ids, errors, deads, delays])
    result.delivered = len(delivered)
    result.failed = sum(1 for f in failures if f[2])
    result.retried = len(failures) - result.failed
    return result


class _SavepointOnFirstQuery:
    """An execute wrapper that opens a savepoint before a consumer's first statement.

    A consumer that writes through Django gets its writes undone if it then fails;
    one that never queries (an e-mail, a webhook: most of them) costs no round trip,
    where a savepoint per row made a batch of no-op calls nine times slower.
    """

    def __init__(self) -> None:
        self.sid: str | None = None
        self._opening = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.sid is None and not self._opening:
            self._opening = True  # connection.savepoint() runs through this wrapper too
            try:
                self.sid = connection.savepoint()
            finally:
                self._opening = False
        return execute(sql, params, many, context)


def _call(name: str, payload: dict[str, Any], key: str) -> str | None:
    """Deliver one row; its error as text (its writes undone), or None once delivered."""
    savepoint = _SavepointOnFirstQuery()
    try:
        consumer = registry.get(name)
        with connection.execute_wrapper(savepoint):
            consumer.deliver(payload, key)
    except Exception as exc:
        if savepoint.sid is not None:
            # Raises in turn when the connection itself is gone: the batch is given up.
            if isinstance(exc, registry.FailedWithRecord):
                connection.savepoint_commit(savepoint.sid)  # the record of the attempt stays
            else:
                connection.savepoint_rollback(savepoint.sid)
        text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
        return text[:MAX_ERROR_LENGTH]
    if savepoint.sid is not None:
        connection.savepoint_commit(savepoint.sid)
    return None


def seconds_until_due() -> float | None:
    """Seconds until the next pending row is due (0 if one is), None with none pending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(extract(epoch FROM min(next_attempt_at) - statement_timestamp()),"
            " 0)::float8"
            " FROM outbox_message WHERE state = 'pending'"
        )
        return cursor.fetchone()[0]


def drain(*, limit: int | None = None, consumers: list[str] | None = None) -> BatchResult:
    """Deliver batches until none is left due; the totals."""
    total = BatchResult()
    limit = limit or setting("OUTBOX_BATCH_SIZE")
    while True:
        batch = deliver_batch(limit=limit, consumers=consumers)
        for name in ("claimed", "delivered", "retried", "failed"):
            setattr(total, name, getattr(total, name) + getattr(batch, name))
        if batch.claimed < limit:
            return total


class DeliveryLoop:
    """Delivers the outbox until stopped: woken by NOTIFY, by a retry due, or by polling."""

    def __init__(self, *, listen: bool = True) -> None:
        self.listen = listen
        self.stopping = threading.Event()
        self._listener: psycopg.Connection | None = None
        self._purged_at = 0.0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self._listen()
                drain()
                self._purge()
                wait = seconds_until_due()
                connection.close()  # back to the pool while idle
                poll = setting("OUTBOX_POLL_SECONDS")
                self._wait(poll if wait is None else min(wait, poll))
                failures = 0
            except Exception:
                failures += 1
                delay = min(2 ** min(failures, 5), 30)
                logger.exception("outbox delivery failed; trying again in %d s", delay)
                self._close()
                self.stopping.wait(delay)
        self._close()

    def _listen(self) -> None:
        if not self.listen or self._listener is not None:
            return
        db = connection.settings_dict
        listener = psycopg.connect(
            dbname=db["NAME"], user=db["USER"] or None, password=db["PASSWORD"] or None,
            host=db["HOST"] or None, port=db["PORT"] or None,
            connect_timeout=db["OPTIONS"].get("connect_timeout", 5), autocommit=True,
        )  # fmt: skip
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self._listener = listener

    def _wait(self, seconds: float) -> None:
        """Until a NOTIFY, `seconds`, or stop(); checks for stop() twice a second."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._listener is None:
                self.stopping.wait(min(remaining, 0.5))
                continue
            if any(
                True for _ in self._listener.notifies(timeout=min(remaining, 0.5), stop_after=1)
            ):
                # Take every notification already queued: one drain serves them all.
                for _ in self._listener.notifies(timeout=0):
                    pass
                return

    def _purge(self) -> None:
        if time.monotonic() - self._purged_at < PURGE_EVERY_SECONDS:
            return
        self._purged_at = time.monotonic()
        purged = purge_delivered(older_than=timedelta(days=setting("OUTBOX_RETENTION_DAYS")))
        if purged:
            logger.info("outbox: %d delivered rows past their retention deleted", purged)

    def _close(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None
        connection.close()


class DeliveryThread:
    """The loop in a thread of the worker process (`deskbase worker`)."""

    def __init__(self) -> None:
        self.loop = DeliveryLoop()
        self.thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run()
        finally:
            connection.close()

    def start(self) -> DeliveryThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        """Finish the batch in progress, then stop (a batch cut short is delivered again)."""
        self.loop.stop()
        self.thread.join(timeout)
