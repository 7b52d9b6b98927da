"""The maintenance operations shared by `deskbase db_maintenance` and the job worker.

All run as the owner role. Each returns a small JSON-able summary. The locks each
one takes are listed in docs/operations.md; in short, nothing here blocks readers
and writers for longer than a catalog change, except moving rows out of a
default partition (normally none) and REINDEX CONCURRENTLY's brief swaps.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from deskbase.dbtools import partitions

logger = logging.getLogger(__name__)

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    logger.info(message)


class MaintenanceError(Exception):
    """A step that did not complete; the message says why."""


def _organization_ids() -> list[int]:
    # The owner role sees every organization (its owner_maintenance policy).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM organizations_organization WHERE deleted_at IS NULL ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]


def _each_organization(
    work: Callable[[int], Any], what: str, say: Say = _quiet
) -> tuple[dict[int, Any], dict[int, str]]:
    """Run `work(org_id)` per organization, each in its own transaction and tenant.

    One organization's failure does not stop the others; the caller raises after,
    so the job is retried (the work is idempotent).
    """
    done, failed = {}, {}
    for org_id in _organization_ids():
        try:
            done[org_id] = work(org_id)
        except Exception as exc:
            logger.exception("%s failed for organization %s", what, org_id)
            failed[org_id] = f"{type(exc).__name__}: {exc}"
    say(f"{what}: {len(done)} organizations done, {len(failed)} failed")
    return done, failed


def _raise_failures(what: str, failed: dict[int, str]) -> None:
    if failed:
        first = next(iter(failed.items()))
        raise MaintenanceError(
            f"{what} failed for {len(failed)} organization(s); first: {first[0]}: {first[1]}"
        )


# ------------------------------------------------------------------ tenant work
def mark_sla_breaches(*, now: datetime | None = None, say: Say = _quiet) -> dict[str, int]:
    from deskbase.sla.services import mark_breaches

    done, failed = _each_organization(
        lambda org: mark_breaches(organization=org, now=now), "SLA breaches", say
    )
    _raise_failures("marking SLA breaches", failed)
    return {"organizations": len(done), "tickets_flagged": sum(done.values())}


def purge_trash(*, now: datetime | None = None, say: Say = _quiet) -> dict[str, int]:
    from deskbase.organizations.models import Organization
    from deskbase.tickets.services import purge_trash as purge

    def one(org_id: int) -> dict[str, int]:
        return purge(organization=Organization.objects.get(pk=org_id), now=now)

    done, failed = _each_organization(one, "trash purge", say)
    _raise_failures("purging the trash", failed)
    total: dict[str, int] = {}
    for counts in done.values():
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    return total


def purge_notifications(*, now: datetime | None = None, say: Say = _quiet) -> dict[str, int]:
    """Notifications past their retention (docs/notifications.md), organization by
    organization, in batches."""
    from deskbase.notifications.services import purge_old

    done, failed = _each_organization(
        lambda org: purge_old(organization_id=org, now=now, say=say), "notification purge", say
    )
    _raise_failures("purging notifications", failed)
    return {"organizations": len(done), "notifications_deleted": sum(done.values())}


# ------------------------------------------------------------------ views
def _optional(module: str) -> Any | None:
    """A module another part of the product provides, or None when it is not there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def refresh_views(*, say: Say = _quiet) -> dict[str, Any]:
    refresh = _optional("deskbase.analytics.refresh")
    if refresh is None or not hasattr(refresh, "refresh_views"):
        say("views: deskbase.analytics.refresh is not installed; skipped")
        logger.info("no analytics views to refresh (deskbase.analytics.refresh is absent)")
        return {"skipped": "deskbase.analytics.refresh is absent"}
    started = time.monotonic()
    result = refresh.refresh_views()
    say(f"views refreshed in {time.monotonic() - started:.1f}s")
    # Plain JSON (the job worker stores it): each view's record as its as_json().
    if isinstance(result, list):
        result = [item.as_json() if hasattr(item, "as_json") else item for item in result]
    return {"refreshed": result if isinstance(result, list | dict | int) else True}


# ------------------------------------------------------------------ partitions
def create_partitions(*, ahead: int | None = None, say: Say = _quiet) -> dict:
    summary = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for spec in partitions.present(cursor):
            created = partitions.create_ahead(cursor, spec, ahead=ahead)
            moved = partitions.drain_default(cursor, spec)
            say(f"partitions of {spec.table}: {len(created)} created, {moved} rows moved")
            summary[spec.table] = {"created": created, "moved_from_default": moved}
    return summary


def retire_partitions(*, retention_months: int | None = None, say: Say = _quiet) -> list[dict]:
    """Detach and drop or archive expired partitions (autocommit: a transaction per step)."""
    if connection.in_atomic_block:
        raise MaintenanceError("retiring partitions must run outside a transaction")
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        specs = partitions.present(cursor)
    out = []
    for spec in specs:
        retired = partitions.retire(raw, spec, retention_months=retention_months)
        kept = spec.retention_months if retention_months is None else retention_months
        say(f"partitions of {spec.table}: {len(retired)} retired (keeping {kept} months)")
        out += [r.__dict__ for r in retired]
    return out


# ------------------------------------------------------------------ vacuum, reindex
def _tables(cursor, kind: str = "r") -> list[str]:
    """Tables of our schema: "r" ordinary tables and partitions, "p" partitioned parents."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = %s"
        " AND c.relnamespace = current_schema()::regnamespace ORDER BY 1",
        [kind],
    )
    return [row[0] for row in cursor.fetchall()]


def _autocommit_cursor():
    if connection.in_atomic_block:
        raise MaintenanceError("VACUUM and REINDEX CONCURRENTLY must run outside a transaction")
    connection.ensure_connection()
    return connection.connection.cursor()


def vacuum_analyze(*, tables: list[str] | None = None, say: Say = _quiet) -> dict[str, int]:
    with _autocommit_cursor() as cursor:
        names = tables or _tables(cursor)
        for index, name in enumerate(names, start=1):
            say(f"[{index}/{len(names)}] VACUUM (ANALYZE) {name}")
            # SKIP_LOCKED: a table someone holds exclusively is left for the next run.
            cursor.execute(f"VACUUM (ANALYZE, SKIP_LOCKED) {partitions._q(name)}")
        # Autovacuum never analyzes a partitioned parent, and the planner uses its
        # statistics for queries over several partitions.
        parents = [] if tables else _tables(cursor, "p")
        for name in parents:
            say(f"ANALYZE {name} (partitioned)")
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {partitions._q(name)}")
    return {"tables": len(names), "partitioned_parents": len(parents)}


def reindex(*, tables: list[str] | None = None, say: Say = _quiet) -> dict[str, int]:
    with _autocommit_cursor() as cursor:
        names = tables or _tables(cursor)
        for index, name in enumerate(names, start=1):
            say(f"[{index}/{len(names)}] REINDEX TABLE CONCURRENTLY {name}")
            cursor.execute(f"REINDEX TABLE CONCURRENTLY {partitions._q(name)}")
    return {"tables": len(names)}


# ------------------------------------------------------------------ checks
def check(*, remove_orphans: bool = False, say: Say = _quiet) -> dict[str, Any]:
    """Problems found, by kind; an empty `problems` list means all is well."""
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint c"
            " JOIN pg_class r ON r.oid = c.conrelid"
            " WHERE NOT c.convalidated AND r.relnamespace = current_schema()::regnamespace"
            " ORDER BY 1, 2"
        )
        problems += [f"constraint {n} on {t} is NOT VALID" for t, n in cursor.fetchall()]
        cursor.execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c"
            " ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
            " AND c.relnamespace = current_schema()::regnamespace ORDER BY 1"
        )
        problems += [f"index {n} is invalid (a failed concurrent build)" for (n,) in cursor]
        say(f"constraints and indexes: {len(problems)} problems")
        for spec in partitions.present(cursor):
            rows = partitions.default_rows(cursor, spec)
            if rows:
                problems.append(f"{spec.table}_default holds {rows} rows")
            missing = _missing_ahead(cursor, spec)
            if missing:
                problems.append(f"{spec.table} lacks partitions {', '.join(missing)}")
        say("partitions checked")
    rollups = _optional("deskbase.analytics.rollups")
    rollup_result: Any = "skipped: deskbase.analytics.rollups is absent"
    if rollups is not None and hasattr(rollups, "check"):
        report = rollups.check()  # an analytics.rollups.Report: ok, or its mismatches
        if report.ok:
            rollup_result = f"consistent ({report.organizations} organizations recounted)"
        else:
            rollup_result = (
                f"{len(report.mismatches)} counts wrong in organizations "
                f"{report.wrong_organizations} (deskbase analytics check --repair)"
            )
            problems.append(f"rollups disagree with their sources: {rollup_result}")
    say(f"rollups: {rollup_result}")
    orphans = orphaned_files()
    if orphans and remove_orphans:
        for path in orphans:
            path.unlink(missing_ok=True)
        say(f"attachments: {len(orphans)} orphaned files removed")
    elif orphans:
        problems.append(f"{len(orphans)} attachment files no row refers to (--remove-orphans)")
    say(f"attachments: {len(orphans)} orphaned files")
    return {"problems": problems, "orphaned_files": len(orphans), "removed": remove_orphans}


def _missing_ahead(cursor, spec: partitions.Managed) -> list[str]:
    have = set(partitions.attached(cursor, spec.table))
    this_month = partitions.month_start(partitions._today())
    wanted = [
        partitions.partition_name(spec.table, partitions.add_months(this_month, n))
        for n in range(partitions.ahead_months() + 1)
    ]
    return [name for name in wanted if name not in have]


def orphaned_files(*, older_than: timedelta = timedelta(hours=1)) -> list[Path]:
    """Attachment files no row points at, older than `older_than` (an upload in
    flight writes its file before its row commits)."""
    from deskbase.tickets.attachments import attachments_root

    root = attachments_root()
    if not root.is_dir():
        return []
    with connection.cursor() as cursor:
        # The raw .eml of every received message is kept there too (docs/mail.md), and
        # the knowledge base's files (docs/knowledge-base.md).
        cursor.execute(
            "SELECT sha256 FROM tickets_ticketattachment"
            " UNION SELECT raw_sha256 FROM mail_inboundmessage"
            " UNION SELECT sha256 FROM knowledge_attachment"
        )
        referenced = {row[0] for row in cursor.fetchall()}
    cutoff = time.time() - older_than.total_seconds()
    found = []
    for path in root.glob("??/??/*"):
        if path.is_file() and path.name not in referenced and path.stat().st_mtime < cutoff:
            found.append(path)
    return sorted(found)


# ------------------------------------------------------------------ stats
def stats() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.relname, {partitions.ROWS_ESTIMATE_SQL}, pg_total_relation_size(c.oid),
                      coalesce(s.n_dead_tup, 0), s.last_vacuum, s.last_autovacuum,
                      s.last_analyze, s.last_autoanalyze
               FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
               WHERE c.relkind = 'r' AND NOT c.relispartition
                 AND c.relnamespace = current_schema()::regnamespace
               ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 20"""  # noqa: S608 (constants)
        )
        tables = [
            {
                "table": r[0], "rows": r[1], "bytes": r[2], "dead_rows": r[3],
                "last_vacuum": _iso(max(filter(None, r[4:6]), default=None)),
                "last_analyze": _iso(max(filter(None, r[6:8]), default=None)),
            }
            for r in cursor.fetchall()
        ]  # fmt: skip
        present = partitions.present(cursor)
        parts = partitions.sizes(cursor, [spec.table for spec in present])
        cursor.execute("SELECT pg_database_size(current_database())")
        database = cursor.fetchone()[0]
    return {
        "database_bytes": database,
        "largest_tables": tables,
        "partitions": [p.__dict__ for p in parts],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
