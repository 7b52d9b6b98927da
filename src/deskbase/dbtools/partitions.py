"""Monthly range partitions of the append-only tables: create ahead, empty the default,
retire by retention (docs/partitions.md).

Each managed table is `PARTITION BY RANGE (<timestamptz column>)` with children
`<table>_pYYYYMM` covering [first of the month, first of the next month) in UTC,
and a `<table>_default` partition so an insert never fails. The manager:

- creates the partitions from the previous month to `ahead` months on, as a
  plain table then `ATTACH PARTITION`, which takes SHARE UPDATE EXCLUSIVE on the
  parent (readers and writers go on) where `CREATE TABLE ... PARTITION OF` would
  take ACCESS EXCLUSIVE;
- moves rows that landed in the default partition into proper partitions (the
  default is detached, the months created, the rows re-inserted through the
  parent, the default truncated and attached again, in one transaction);
- retires partitions older than the table's retention: DETACH, then either DROP
  or COPY the rows to `var/archive/<table>/<partition>.csv.gz` and DROP. A
  partition detached by an earlier run that failed is finished by the next run.

Partitions get row-level security of their own (enabled, forced, the same two
policies as the parent): through the parent only the parent's policies apply,
but a partition is a table the application role could name directly.

Every function takes a psycopg or Django cursor of the owner role and runs in
the caller's transaction, except `retire`, which commits between steps.
"""

# Identifiers come from the registry and the catalog and are quoted by _q: no user input.
# ruff: noqa: S608
from __future__ import annotations

import gzip
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from deskbase.core.rls import TENANT

logger = logging.getLogger(__name__)

AHEAD_MONTHS = 3
# After a migrate, partitions exist from this many months back: rows written right
# then with recent timestamps (demo data, imports) find their month.
BACK_MONTHS = 3
# Fail fast rather than queue behind a long transaction (and block everyone queued
# behind this DDL); the next run tries again.
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Managed:
    """A table partitioned by month: its column, how long its partitions are kept."""

    table: str
    column: str
    retention_months: int | None  # None: kept for ever
    archive: bool  # archive to a file before dropping
    optional: bool = False  # created by another part of the product; managed when present


REGISTRY: tuple[Managed, ...] = (
    Managed("tickets_tickethistory", "created_at", retention_months=None, archive=False),
    Managed("accounts_auditlog", "created_at", retention_months=24, archive=True),
    Managed("accounts_usersession", "started_at", retention_months=12, archive=False),
    Managed("search_searchlog", "created_at", retention_months=12, archive=False, optional=True),
    Managed("knowledge_articleview", "viewed_at", retention_months=24, archive=False),
    Managed("webhooks_delivery", "created_at", retention_months=3, archive=False),
    Managed("automation_firing", "created_at", retention_months=24, archive=False),
)

_CHILD = re.compile(r"^(?P<parent>.+)_p(?P<year>\d{4})(?P<month>\d{2})$")


def managed(name: str) -> Managed:
    for spec in REGISTRY:
        if spec.table == name:
            return spec
    raise KeyError(name)


# ------------------------------------------------------------------ months
def month_start(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(month: date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def _today() -> date:
    return datetime.now(UTC).date()


# ------------------------------------------------------------------ catalog
def _q(name: str) -> str:
    """A quoted identifier; our names are [a-z0-9_] but quote them all the same."""
    return '"' + name.replace('"', '""') + '"'


def relkind(cursor, table: str) -> str | None:
    cursor.execute(
        "SELECT c.relkind FROM pg_class c WHERE c.relname = %s"
        " AND c.relnamespace = current_schema()::regnamespace",
        [table],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def present(cursor, *, quiet: bool = False) -> list[Managed]:
    """The registered tables that exist here as partitioned tables."""
    found = []
    for spec in REGISTRY:
        kind = relkind(cursor, spec.table)
        if kind == "p":
            found.append(spec)
        elif kind is not None:
            logger.warning("%s exists but is not partitioned; not managed", spec.table)
        elif not spec.optional and not quiet:
            logger.warning("%s does not exist; run migrate", spec.table)
    return found


def attached(cursor, table: str) -> list[str]:
    """Names of the partitions attached to `table`, default included."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY 1",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def detached(cursor, table: str) -> list[str]:
    """Monthly children of `table` that exist as tables but are not attached."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r'"
        " AND c.relnamespace = current_schema()::regnamespace AND c.relname LIKE %s"
        " AND NOT c.relispartition ORDER BY 1",
        [table.replace("_", r"\_") + r"\_p%"],
    )
    return [name for (name,) in cursor.fetchall() if _month_of(name, table)]


def _month_of(name: str, table: str) -> date | None:
    match = _CHILD.match(name)
    if match is None or match["parent"] != table:
        return None
    return date(int(match["year"]), int(match["month"]), 1)


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _owner(cursor, table: str) -> str:
    cursor.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass", [table]
    )
    return cursor.fetchone()[0]


def _set_lock_timeout(cursor) -> None:
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])


# ------------------------------------------------------------------ creating
def secure(cursor, partition: str, parent: str) -> None:
    """Owner, row-level security and policies of the parent, on one partition."""
    owner = _owner(cursor, parent)
    if _owner(cursor, partition) != owner:
        cursor.execute(f"ALTER TABLE {_q(partition)} OWNER TO {_q(owner)}")
    cursor.execute("SELECT count(*) FROM pg_policy WHERE polrelid = %s::regclass", [partition])
    if cursor.fetchone()[0]:
        return
    cursor.execute(
        f"""ALTER TABLE {_q(partition)} ENABLE ROW LEVEL SECURITY;
            ALTER TABLE {_q(partition)} FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {_q(partition)}
                USING (organization_id = {TENANT}) WITH CHECK (organization_id = {TENANT});
            CREATE POLICY owner_maintenance ON {_q(partition)} TO {_q(owner)}
                USING (true) WITH CHECK (true);"""
    )


def create_default(cursor, spec: Managed) -> None:
    name = f"{spec.table}_default"
    if name not in attached(cursor, spec.table):
        cursor.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(spec.table)} DEFAULT")
    secure(cursor, name, spec.table)


def create_partition(cursor, spec: Managed, month: date) -> bool:
    """The partition of `month`, created and attached unless it exists (False then)."""
    name = partition_name(spec.table, month)
    if name in attached(cursor, spec.table):
        return False
    end = add_months(month, 1)
    if relkind(cursor, name) is None:
        # Column list and NOT NULLs from the parent; indexes, keys and triggers are
        # cloned by ATTACH. The CHECK lets ATTACH skip its scan of the new table.
        cursor.execute(
            f"CREATE TABLE {_q(name)} (LIKE {_q(spec.table)} INCLUDING DEFAULTS"
            f" INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
        cursor.execute(
            f"ALTER TABLE {_q(name)} ADD CONSTRAINT {_q(name + '_bound')} CHECK"
            f" ({_q(spec.column)} IS NOT NULL AND {_q(spec.column)} >= '{_bound(month)}'"
            f" AND {_q(spec.column)} < '{_bound(end)}')"
        )
    secure(cursor, name, spec.table)
    cursor.execute(
        f"ALTER TABLE {_q(spec.table)} ATTACH PARTITION {_q(name)}"
        f" FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(end)}')"
    )
    cursor.execute(f"ALTER TABLE {_q(name)} DROP CONSTRAINT IF EXISTS {_q(name + '_bound')}")
    return True


def ahead_months() -> int:
    from django.conf import settings

    return getattr(settings, "PARTITIONS_AHEAD_MONTHS", AHEAD_MONTHS)


def back_months() -> int:
    from django.conf import settings

    return getattr(settings, "PARTITIONS_BACK_MONTHS", BACK_MONTHS)


def _utc_month(value: date | datetime) -> date:
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return month_start(value)


def cover(cursor, spec: Managed, start: date | datetime, end: date | datetime) -> list[str]:
    """The partitions of every month from `start` to `end` (UTC), and the default;
    returns those created."""
    _set_lock_timeout(cursor)
    create_default(cursor, spec)
    month, last = _utc_month(start), _utc_month(end)
    created = []
    while month <= last:
        if create_partition(cursor, spec, month):
            created.append(partition_name(spec.table, month))
        month = add_months(month, 1)
    return created


def create_ahead(
    cursor, spec: Managed, *, ahead: int | None = None, today: date | None = None
) -> list[str]:
    """Partitions from the previous month to `ahead` months on; returns those created."""
    ahead = ahead_months() if ahead is None else ahead
    this_month = month_start(today or _today())
    return cover(cursor, spec, add_months(this_month, -1), add_months(this_month, ahead))


def create_window(
    cursor, *, back: int | None = None, ahead: int | None = None, today: date | None = None
) -> dict[str, list[str]]:
    """Every present table's partitions from `back` months ago to `ahead` months on."""
    back = back_months() if back is None else back
    ahead = ahead_months() if ahead is None else ahead
    this_month = month_start(today or _today())
    first, last = add_months(this_month, -back), add_months(this_month, ahead)
    return {spec.table: cover(cursor, spec, first, last) for spec in present(cursor, quiet=True)}


def ensure_range(
    start: date | datetime, end: date | datetime, *, tables: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Partitions for rows about to be written with timestamps from `start` to `end`.

    Call it (as the owner role) before loading dated rows (demo data, imports,
    generated data): a row whose month has no partition lands in the default
    partition, which `db_maintenance --check` reports until the worker moves it.
    `tables` limits it to some managed tables; returns the partitions created.
    """
    from django.db import connection, transaction

    wanted = None if tables is None else set(tables)
    with transaction.atomic(), connection.cursor() as cursor:
        return {
            spec.table: cover(cursor, spec, start, end)
            for spec in present(cursor, quiet=True)
            if wanted is None or spec.table in wanted
        }


def after_migrate(sender, *, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate: the window of partitions around today, so that rows written right
    after a migrate (the demo's last weeks, today's history) never reach a default.

    Skipped for `flush`, which sends the signal without a plan. A table busy past the
    lock timeout is left to the worker's hourly run rather than failing the migrate.
    """
    if plan is None:
        return
    from django.db import connections, transaction
    from django.db.utils import OperationalError

    try:
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            created = create_window(cursor)
    except OperationalError as exc:
        logger.warning("partitions not created after migrate (%s); the worker will", exc)
        return
    for table, names in created.items():
        if names:  # debug: `deskbase up` runs a migrate at every start, this is no news
            logger.debug("created %d partitions of %s", len(names), table)


# ------------------------------------------------------------------ the default partition
def drain_default(cursor, spec: Managed) -> int:
    """Move the rows of the default partition into monthly partitions; returns the count.

    Holds ACCESS EXCLUSIVE on the parent while it works (DETACH takes it): fine for
    the few rows that normally land there, and for a bulk load that is locked anyway.
    """
    default = f"{spec.table}_default"
    if relkind(cursor, default) is None:
        return 0
    column = _q(spec.column)
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', {column} AT TIME ZONE 'UTC')::date"
        f" FROM {_q(default)} ORDER BY 1"
    )
    months = [row[0] for row in cursor.fetchall()]
    if not months:
        return 0
    _set_lock_timeout(cursor)
    cursor.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(default)}")
    for month in months:
        create_partition(cursor, spec, month)
    columns = ", ".join(_q(c) for c in _columns(cursor, spec.table))
    cursor.execute(f"INSERT INTO {_q(spec.table)} ({columns}) SELECT {columns} FROM {_q(default)}")
    moved = cursor.rowcount
    # TRUNCATE: no row trigger fires (history refuses DELETE), and the space is freed.
    # Deferred key checks queued in this transaction would make it refuse the table.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"TRUNCATE {_q(default)}")
    cursor.execute(f"ALTER TABLE {_q(spec.table)} ATTACH PARTITION {_q(default)} DEFAULT")
    logger.info("moved %d rows out of %s", moved, default)
    return moved


def default_rows(cursor, spec: Managed) -> int:
    default = f"{spec.table}_default"
    if relkind(cursor, default) is None:
        return 0
    cursor.execute(f"SELECT count(*) FROM {_q(default)}")
    return cursor.fetchone()[0]


# ------------------------------------------------------------------ retention
@dataclass(frozen=True)
class Retired:
    table: str
    partition: str
    action: str  # "dropped" or "archived"
    path: str | None = None
    rows: int = 0


def archive_dir() -> Path:
    from django.conf import settings

    return Path(settings.ARCHIVE_DIR)


def expired(
    cursor, spec: Managed, *, retention_months: int, today: date | None = None
) -> list[str]:
    """Attached monthly partitions wholly older than the retention, oldest first."""
    cutoff = add_months(month_start(today or _today()), -retention_months)
    names = []
    for name in attached(cursor, spec.table):
        month = _month_of(name, spec.table)
        if month is not None and add_months(month, 1) <= cutoff:
            names.append(name)
    return names


def retire(
    connection,
    spec: Managed,
    *,
    retention_months: int | None = None,
    today: date | None = None,
    directory: Path | None = None,
) -> list[Retired]:
    """Detach and drop (or archive, then drop) the partitions past retention.

    `connection` is a psycopg connection in autocommit mode: each partition is
    detached in a short transaction of its own (ACCESS EXCLUSIVE on the parent,
    for a catalog change), then archived and dropped without holding the parent.
    """
    months = spec.retention_months if retention_months is None else retention_months
    if months is None:
        return []
    directory = directory or archive_dir()
    with connection.cursor() as cursor:
        for name in expired(cursor, spec, retention_months=months, today=today):
            with connection.transaction():
                _set_lock_timeout(cursor)
                cursor.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(name)}")
        # Finishes what an interrupted run detached too.
        leftovers = [
            n
            for n in detached(cursor, spec.table)
            if (month := _month_of(n, spec.table)) is not None  # detached() found each one
            and add_months(month, 1) <= add_months(month_start(today or _today()), -months)
        ]
    done = []
    for name in leftovers:
        path, rows = (None, 0)
        if spec.archive:
            path, rows = archive(connection, name, directory / spec.table)
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {_q(name)}")
        action = "archived" if spec.archive else "dropped"
        logger.info("%s partition %s", action, name)
        done.append(Retired(spec.table, name, action, str(path) if path else None, rows))
    return done


def archive(connection, table: str, directory: Path) -> tuple[Path, int]:
    """COPY a (detached) table to `<directory>/<table>.csv.gz`; written to a temporary
    name and renamed when complete, so a file that exists is a whole archive."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{table}.csv.gz"
    partial = directory / f".{table}.csv.gz.partial"
    rows = 0
    with (
        gzip.open(partial, "wb") as out,
        connection.cursor() as cursor,
        cursor.copy(f"COPY {_q(table)} TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
    ):
        for block in copy:
            out.write(block)
            rows += bytes(block).count(b"\n")
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    partial.replace(final)
    return final, max(rows - 1, 0)


# ------------------------------------------------------------------ reports
# A relation `c`'s row count for reports: the planner's estimate (reltuples); before
# the first VACUUM or ANALYZE (reltuples is -1 then) 0 for an empty file, else the
# statistics system's count of live rows, else NULL ("not analyzed yet"), never -1.
ROWS_ESTIMATE_SQL = (
    "CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint"
    " WHEN pg_relation_size(c.oid) = 0 THEN 0"
    " WHEN pg_stat_get_live_tuples(c.oid) > 0 THEN pg_stat_get_live_tuples(c.oid) END"
)


def rows_shown(rows: int | None) -> str:
    return "not analyzed" if rows is None else f"{rows:,}"


@dataclass(frozen=True)
class PartitionInfo:
    table: str
    partition: str
    rows: int | None  # ROWS_ESTIMATE_SQL: None before the first ANALYZE of a non-empty one
    bytes: int


def sizes(cursor, tables: Iterable[str]) -> list[PartitionInfo]:
    out = []
    for table in tables:
        cursor.execute(
            f"SELECT c.relname, {ROWS_ESTIMATE_SQL}, pg_total_relation_size(c.oid)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass ORDER BY 1",
            [table],
        )
        out += [PartitionInfo(table, n, r, b) for n, r, b in cursor.fetchall()]
    return out


def maintain(cursor, *, ahead: int | None = None, today: date | None = None) -> dict[str, dict]:
    """Create ahead and drain the default of every present table (one transaction)."""
    summary = {}
    for spec in present(cursor):
        created = create_ahead(cursor, spec, ahead=ahead, today=today)
        moved = drain_default(cursor, spec)
        summary[spec.table] = {"created": created, "moved": moved}
    return summary
