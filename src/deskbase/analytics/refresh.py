"""Refreshing the materialized views, and the record of when and how long each took.

A refresh runs as the owner role (REFRESH needs the view's owner; the owner's
row-level security policy sees every tenant). CONCURRENTLY keeps each view
readable while it refreshes: PostgreSQL computes the new contents beside the old
and applies the difference, at the cost of that diff. A view never populated, or
a refresh inside a bulk load (`concurrently=False`), is rebuilt in place instead.

Outside a transaction, each refresh is followed by VACUUM (ANALYZE) of the view: a
concurrent refresh deletes and inserts the rows that changed, which clears the
visibility map of their pages, and the panels read through index-only scans
(customer_stats_rank) that would otherwise go back to the heap for those pages.
"""

# ruff: noqa: S608 - SQL text is assembled only from this module's constants (view,
# column and table names); every value is a bound parameter.

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

# The seven views of docs/analytics.md, in refresh order (the cheap ones first).
VIEWS = (
    "channel_performance_stats",
    "category_performance_stats",
    "customer_stats",
    "dashboard_stats",
    "ticket_trends",
    "agent_performance_stats",
    "sla_performance_stats",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Refreshed:
    view: str
    started_at: datetime
    duration_ms: float
    concurrently: bool
    rows: int

    def as_json(self) -> dict:
        return {
            "view": self.view,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_ms, 1),
            "concurrently": self.concurrently,
            "rows": self.rows,
        }


def _names(names: Iterable[str] | str | None) -> list[str]:
    if names is None:
        return list(VIEWS)
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in VIEWS]
    if unknown:
        raise ValueError(f"unknown view {unknown[0]!r}; the views are: {', '.join(VIEWS)}")
    return wanted


def refresh_views(
    names: Iterable[str] | str | None = None,
    progress: Progress | None = None,
    *,
    concurrently: bool = True,
) -> list[Refreshed]:
    """Refresh the named views (all by default), each in its own transaction; record each.

    `progress`, if given, is called with one line per view as it starts and ends.
    """
    done = []
    for name in _names(names):
        if progress is not None:
            progress(f"refreshing {name} ...")
        result = refresh_one(name, concurrently=concurrently)
        done.append(result)
        if progress is not None:
            progress(f"refreshed {name}: {result.rows} rows in {result.duration_ms:.0f} ms")
        if not connection.in_atomic_block:  # VACUUM cannot run in a transaction
            began = time.perf_counter()
            vacuum(name)
            if progress is not None:
                progress(f"vacuumed {name} in {(time.perf_counter() - began) * 1000:.0f} ms")
    return done


def refresh_one(name: str, *, concurrently: bool = True) -> Refreshed:
    _names([name])
    with transaction.atomic(), connection.cursor() as cursor:
        return refresh_in(cursor, name, concurrently=concurrently)


def vacuum(name: str) -> None:
    """VACUUM (ANALYZE) one view: its visibility map set again, its statistics fresh."""
    _names([name])
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM (ANALYZE) "{name}"')


def refresh_in(cursor, name: str, *, concurrently: bool = False) -> Refreshed:
    """Refresh one view with the caller's cursor, in the caller's transaction; record it."""
    _names([name])
    cursor.execute("SELECT relispopulated FROM pg_class WHERE oid = %s::regclass", [name])
    concurrent = concurrently and cursor.fetchone()[0]
    quoted = '"' + name + '"'  # one of VIEWS, checked above
    cursor.execute("SELECT clock_timestamp()")
    started_at = cursor.fetchone()[0]
    began = time.perf_counter()
    cursor.execute(f"REFRESH MATERIALIZED VIEW {'CONCURRENTLY ' if concurrent else ''}{quoted}")
    duration_ms = (time.perf_counter() - began) * 1000
    cursor.execute(f"SELECT count(*) FROM {quoted}")
    rows = cursor.fetchone()[0]
    record(cursor, name, started_at, duration_ms, concurrent, rows)
    return Refreshed(name, started_at, duration_ms, concurrent, rows)


def record(cursor, name: str, started_at, duration_ms: float, concurrent: bool, rows: int) -> None:
    cursor.execute(
        """INSERT INTO analytics_refresh_log
               (view_name, started_at, finished_at, duration_ms, was_concurrent, row_count)
           VALUES (%s, %s, %s::timestamptz + %s * interval '1 millisecond', %s, %s, %s)""",
        [name, started_at, started_at, duration_ms, duration_ms, concurrent, rows],
    )


def last_refreshes() -> dict[str, dict]:
    """The latest refresh of each view: {view: {"finished_at", "duration_ms"}}."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT ON (view_name) view_name, finished_at, duration_ms
               FROM analytics_refresh_log ORDER BY view_name, started_at DESC"""
        )
        return {row[0]: {"finished_at": row[1], "duration_ms": row[2]} for row in cursor.fetchall()}
