"""Benchmark: the webhook integration statistics (one aggregate query per organization).

`webhook_statistics` writes, once per run, 20 endpoints and 1,000 delivery log rows per
sample (at most 100,000: the default 200 samples), spread over the last 30 days, for
the subjects' organization (the previous run's removed first), then times
`deskbase.webhooks.selectors.statistics`: calls, successes, failures, p50/p95 latency
and the last success and failure per endpoint, from ONE query over the month's
partitions (docs/webhooks.md).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, Statement, inprocess
from deskbase.core.tenancy import tenant
from deskbase.mail import crypto
from deskbase.organizations.models import Organization
from deskbase.webhooks import selectors, signing

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
