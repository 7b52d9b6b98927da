"""Benchmark: the webhook integration statistics (one aggregate query per organization).

`webhook_statistics` writes, once per run, 20 endpoints and 1,000 delivery log rows per
sample (at most 100,000: the default 200 samples), spread over the last 30 days, for
the subjects' organization (the previous run's removed first), then times
`deskbase.webhooks.selectors.statistics`: calls, successes, failures, p50/p95 latency
and the last success and failure per endpoint, from ONE query over the month's
partitions (docs/webhooks.md).

`webhook_delivery` times the worker's batches of webhook messages (50 at a time) to a
receiver on 127.0.0.1 started by the scenario (the loopback allowed for this measure
only) and reports `details.rows_per_second`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import connection
from django.test import override_settings

from deskbase.benchmarks.context import Context
from deskbase.benchmarks.outbox_scenarios import delivering
from deskbase.benchmarks.registry import Prepared, Statement, inprocess
from deskbase.core.tenancy import tenant
from deskbase.mail import crypto
from deskbase.organizations.models import Organization
from deskbase.webhooks import selectors, services, signing, subscribers

ENDPOINTS = 20
ROWS = 100_000
ROWS_PER_SAMPLE = 1_000
BENCH_URL = "https://bench.invalid/webhook"


def _statistics_sql(statement: Statement) -> bool:
    return "webhooks_delivery" in statement.sql


def _fill(organization_id: int, rows: int) -> None:
    secret = crypto.encrypt(signing.new_secret())
    with tenant(organization_id), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM webhooks_delivery WHERE organization_id = %s AND url = %s",
            [organization_id, BENCH_URL],
        )
        cursor.execute(
            "DELETE FROM webhooks_endpoint WHERE organization_id = %s AND url = %s",
            [organization_id, BENCH_URL],
        )
        cursor.execute(
            "INSERT INTO webhooks_endpoint (organization_id, url, event_types, secret)"
            " SELECT %s, %s, ARRAY['*'], %s FROM generate_series(1, %s) RETURNING id",
            [organization_id, BENCH_URL, secret, ENDPOINTS],
        )
        ids = [row[0] for row in cursor.fetchall()]
        subscribers.subscriptions_changed(organization_id)
        # Within the partitions made at migrate (3 months back): the last 30 days.
        cursor.execute(
            "INSERT INTO webhooks_delivery (organization_id, endpoint_id, message_id, event_type,"
            " attempt, url, request_headers, request_body, response_status, duration_ms,"
            " success, error, created_at)"
            " SELECT %s, (%s::bigint[])[1 + n %% %s], 'msg_bench_' || n, 'ticket.updated', 1,"
            " %s, '{}', '{}', CASE WHEN n %% 20 = 0 THEN 500 ELSE 200 END,"
            " (random() * 400)::int, n %% 20 <> 0,"
            " CASE WHEN n %% 20 = 0 THEN 'the receiver answered 500 (refused)' ELSE '' END,"
            " statement_timestamp() - (random() * interval '30 days')"
            " FROM generate_series(1, %s) AS n",
            [organization_id, ids, ENDPOINTS, BENCH_URL, rows],
        )
        cursor.execute("ANALYZE webhooks_delivery")


@inprocess("webhook_statistics", "per-endpoint webhook statistics (calls, successes, failures,"
           " p50/p95 latency, last success/failure) over 30 days of the delivery log, one"
           " aggregate query", main_sql=_statistics_sql, writes=True)  # fmt: skip
def webhook_statistics(ctx: Context) -> Prepared:
    organization_id = ctx.need_subjects().organization_id
    rows = min(ROWS, ctx.samples * ROWS_PER_SAMPLE)
    _fill(organization_id, rows)
    organization = Organization(id=organization_id)
    details: dict[str, Any] = {"endpoints": ENDPOINTS, "log_rows": rows, "days": 30}

    def call() -> Any:
        return selectors.statistics(organization=organization, actor=None)

    return Prepared(lambda index: call, details=details, tenant=(organization_id, None))


# ------------------------------------------------------------------ delivery throughput
DELIVERY_BATCH = 50
SPARE_BATCHES = 20


class _Receiver(BaseHTTPRequestHandler):
    """A local receiver that takes every message, keeping connections alive (HTTP/1.1)
    as the receivers of real services do: the client reuses its connection to the
    address it checked (deskbase.webhooks.client)."""

    protocol_version = "HTTP/1.1"
    # The answer's headers and body are two writes: without TCP_NODELAY the second
    # waits for the client's delayed ACK (40 ms) on a kept connection (nginx sets it too).
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def _start_receiver() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="bench-webhook-receiver",
                     daemon=True).start()  # fmt: skip
    return server.server_address[1]


def _fill_outbox(organization_id: int, port: int, rows: int) -> int:
    """An endpoint on the local receiver and `rows` due messages to it; its id."""
    url = f"http://127.0.0.1:{port}/bench"
    with tenant(organization_id), connection.cursor() as cursor:
        cursor.execute("DELETE FROM outbox_message WHERE consumer = %s AND delivery_key LIKE"
                       " 'bench:%%'", [services.CONSUMER])  # fmt: skip
        cursor.execute("DELETE FROM webhooks_endpoint WHERE organization_id = %s AND"
                       " description = 'bench'", [organization_id])  # fmt: skip
        cursor.execute(
            "INSERT INTO webhooks_endpoint (organization_id, url, event_types, secret, description)"
            " VALUES (%s, %s, ARRAY['bench.delivery'], %s, 'bench') RETURNING id",
            [organization_id, url, crypto.encrypt(signing.new_secret())],
        )
        endpoint_id = cursor.fetchone()[0]
        subscribers.subscriptions_changed(organization_id)
        body = services.body_of("bench.delivery", {"ticket": {"number": 1, "subject": "Bench"}})
        cursor.execute(
            "INSERT INTO outbox_message (organization_id, consumer, delivery_key, payload)"
            " SELECT %s, %s, 'bench:' || n, jsonb_build_object('endpoint', %s::bigint,"
            " 'message_id', 'msg_bench_' || n, 'type', 'bench.delivery', 'body', %s::text,"
            " 'replay_of', NULL) FROM generate_series(1, %s) AS n",
            [organization_id, services.CONSUMER, endpoint_id, body, rows],
        )
    return endpoint_id


@inprocess("webhook_delivery", "one worker's batch of webhook messages to a local receiver:"
           " sign, POST over loopback, log each attempt, mark delivered",
           main_sql=_statistics_sql, writes=True)  # fmt: skip
def webhook_delivery(ctx: Context) -> Prepared:
    organization_id = ctx.need_subjects().organization_id
    port = _start_receiver()
    _fill_outbox(organization_id, port, (ctx.samples + SPARE_BATCHES) * DELIVERY_BATCH)
    # The receiver is on loopback: the development setting, for this measure only.
    return delivering(
        organization_id, DELIVERY_BATCH, services.CONSUMER,
        around=lambda: override_settings(WEBHOOKS_ALLOW_PRIVATE_HOSTS=True),
    )  # fmt: skip
