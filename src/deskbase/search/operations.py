"""Operator work on the search indexes: re-index and report (`deskbase search ...`).

Runs as the owner role (management commands do), so it sees every tenant.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection, transaction

from deskbase.dbtools.partitions import ROWS_ESTIMATE_SQL
from deskbase.search import bulk, plan

# The indexes and tables of search, by name (the migration creates them).
SEARCH_RELATIONS = f"""
SELECT c.relname AS name, c.relkind AS kind, t.relname AS table_name,
       pg_relation_size(c.oid) AS bytes, {ROWS_ESTIMATE_SQL} AS rows,
       coalesce(s.idx_scan, st.seq_scan + coalesce(st.idx_scan, 0)) AS scans,
       coalesce(s.idx_tup_read, 0) AS tuples_read
FROM pg_class c
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = i.indrelid
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
WHERE c.relnamespace = current_schema()::regnamespace
  AND c.relkind IN ('r', 'i', 'p', 'I')
  AND (c.relname LIKE 'search\\_%' OR c.relname LIKE '%\\_search\\_%')
ORDER BY c.relkind DESC, c.relname
"""  # noqa: S608 (a constant expression)
LOG = """
SELECT count(*) AS searches, count(opened_at) AS opened,
       count(*) FILTER (WHERE result_count = 0) AS zero_results,
       round(avg(latency_ms)::numeric, 1)::float8 AS avg_latency_ms,
       round((percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1)::float8
           AS p95_latency_ms
FROM search_searchlog WHERE created_at >= now() - interval '30 days'
"""


def organization_id(value: str) -> int | None:
    """An organization given by id or slug; None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM organizations_organization WHERE slug = %s OR id::text = %s",
            [value, value],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def reindex(organization: int | None = None) -> dict[str, Any]:
    """Recompute every search vector (of one organization) in one transaction."""
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        rows = dict(bulk.reindex(cursor, organization))
        for table in ("search_ticketdocument", "tickets_ticketcomment", "search_subject"):
            cursor.execute(f"ANALYZE {table}")
    plan.forget()
    return {"rows": rows, "seconds": round(time.monotonic() - started, 1)}


def stats() -> dict[str, Any]:
    """Sizes and use of the search indexes and tables; the last 30 days of searches."""
    with connection.cursor() as cursor:
        cursor.execute(SEARCH_RELATIONS)
        names = [c.name for c in cursor.description]
        relations = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        cursor.execute(LOG)
        names = [c.name for c in cursor.description]
        log = dict(zip(names, cursor.fetchone(), strict=True))
    return {"relations": relations, "searches_30_days": log}
