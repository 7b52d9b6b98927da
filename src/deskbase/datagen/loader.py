"""The database side of a load: locks, what is set aside during COPY, COPY itself, restoring.

Everything runs in the caller's one transaction, as the owner role:

- the tables the load writes are locked ACCESS EXCLUSIVE up front, in a fixed order
  (the ALTER TABLEs below would take that lock anyway; taking it first fails fast,
  after `lock_timeout`, when the web server holds them);
- on the six bulk tables the foreign keys (Django's and the composite `*_same_org`
  ones) and the non-unique indexes are dropped, and re-created after the COPY: one
  validating scan per key and one sorted build per index instead of a check and an
  index insertion per row. Unique indexes stay: they check every row as it comes;
- the INSERT triggers of tickets_ticket (number, history) are disabled: the load
  writes numbers, counters and history itself. Its UPDATE triggers (status
  transitions, updated_at) do not fire on COPY; RI triggers are never disabled;
- FORCE ROW LEVEL SECURITY is lifted from the written tables while loading, because
  PostgreSQL refuses COPY FROM into a table whose row security applies to the
  current role, even through a permissive policy. The application role keeps RLS
  throughout (NO FORCE only exempts the owner), and FORCE is set back before commit.

All of it is transactional DDL: a failure rolls it back with the rows.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from psycopg import sql

from deskbase.datagen.plan import COLUMNS

SETUP_TABLES = (
    "organizations_organization", "organizations_holiday", "accounts_user", "accounts_team",
    "accounts_teammembership", "tickets_category", "sla_slapolicy", "tickets_cannedresponse",
)  # fmt: skip
BULK_TABLES = (
    "tickets_ticket", "tickets_ticketcomment", "tickets_tickethistory", "sla_slaevent",
    "tickets_csatresponse", "tickets_ticketattachment",
)  # fmt: skip
ID_TABLES = SETUP_TABLES + BULK_TABLES
LOCKED_TABLES = (*ID_TABLES, "tickets_ticketcounter")
TICKET_INSERT_TRIGGERS = (
    "tickets_ticket_number", "tickets_ticket_history", "analytics_ticket_counts_insert",
)  # fmt: skip
# Apps whose derived rows are kept by triggers that a COPY would fire row by row: each
# module names its TRIGGERS [(table, trigger)], disabled during the load, and has
# rebuild(cursor, after_ticket_id) -> Iterator[str] (STEPS items) computing the rows in bulk SQL,
# called first thing on restore (before the indexes are rebuilt).
DERIVED_MODULES = ("deskbase.search.bulk", "deskbase.tickets.filterrows")
SESSION = {
    # Fail with a clear message rather than queue behind a running web server.
    "lock_timeout": "10s",
    # Index builds and foreign-key validation sort and hash millions of rows.
    "maintenance_work_mem": "1GB",
    "work_mem": "256MB",
    "synchronous_commit": "off",
}


def ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def configure(cursor) -> None:
    for name, value in SESSION.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    # Deferred foreign-key checks queued earlier in the transaction would make TRUNCATE
    # and ALTER TABLE refuse the table ("pending trigger events"): run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def lock(cursor) -> None:
    tables = sql.SQL(", ").join(map(ident, LOCKED_TABLES))
    cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(tables))


def organization_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM organizations_organization")
    return cursor.fetchone()[0]


# ------------------------------------------------------------------ set aside, restore
@dataclass
class SetAside:
    """What `set_aside` removed, to put back: foreign keys, indexes, triggers, FORCE RLS."""

    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)
    indexes: list[tuple[str, str]] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)
    last_ticket_id: int = 0  # derived rows are rebuilt for the tickets after this one
    moved_from_default: int = 0  # rows COPY put in a default partition (none if prepared)

    @property
    def steps(self) -> int:
        return len(self.foreign_keys) + len(self.indexes) + 5 + sum(m.STEPS for m in _derived())


def set_aside(cursor) -> SetAside:
    state = SetAside()
    cursor.execute("SELECT coalesce(max(id), 0) FROM tickets_ticket")
    state.last_ticket_id = cursor.fetchone()[0]
    bulk = list(BULK_TABLES)
    cursor.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
           FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])
           ORDER BY 1, 2""",
        [bulk],
    )
    state.foreign_keys = list(cursor.fetchall())
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique
           ORDER BY i.indrelid::regclass::text, 1""",
        [bulk],
    )
    state.indexes = list(cursor.fetchall())
    for table, name, _ in state.foreign_keys:
        cursor.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(ident(table), ident(name))
        )
    for name, _ in state.indexes:
        cursor.execute(sql.SQL("DROP INDEX {}").format(ident(name)))
    _triggers(cursor, enable=False)
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relforcerowsecurity AND oid = ANY(%s::regclass[])"
        " ORDER BY relname",
        [list(ID_TABLES)],
    )
    state.forced = [row[0] for row in cursor.fetchall()]
    for table in state.forced:
        cursor.execute(sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(ident(table)))
    return state


def _triggers(cursor, *, enable: bool) -> None:
    verb = sql.SQL("ENABLE" if enable else "DISABLE")
    actions = sql.SQL(", ").join(
        sql.SQL("{} TRIGGER {}").format(verb, ident(name)) for name in TICKET_INSERT_TRIGGERS
    )
    cursor.execute(sql.SQL("ALTER TABLE tickets_ticket {}").format(actions))
    for table, name in _derived_triggers():
        cursor.execute(
            sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(ident(table), verb, ident(name))
        )


def _derived() -> list:
    return [importlib.import_module(name) for name in DERIVED_MODULES]


def _derived_triggers() -> list[tuple[str, str]]:
    return [trigger for module in _derived() for trigger in module.TRIGGERS]


def restore(cursor, state: SetAside) -> Iterator[str]:
    """Put everything back; yields what it is doing, for the progress display."""
    # First the rows of monthly-partitioned tables that COPY put in their default
    # partition go to their months, while their indexes and keys are still set aside.
    yield "monthly partitions"
    state.moved_from_default = move_out_of_default_partitions(cursor)
    for module in _derived():
        yield from module.rebuild(cursor, state.last_ticket_id)
    for name, definition in state.indexes:
        yield f"index {name}"
        # A partitioned table's index reads "ON ONLY t": that would skip its partitions.
        cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
    for table, name, definition in state.foreign_keys:
        yield f"foreign key {name}"
        # Adding the key validates every row, as the per-row checks would have.
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                ident(table), ident(name), sql.SQL(definition)
            )
        )
    yield "triggers"
    _triggers(cursor, enable=True)
    yield "row-level security"
    for table in state.forced:
        cursor.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(ident(table)))
    yield from analytics(cursor)


def analytics(cursor) -> Iterator[str]:
    """The analytics rollups (their INSERT trigger was off) and views, from the new rows."""
    from deskbase.analytics import refresh, rollups

    yield "analytics rollups"
    rollups.rebuild(cursor)
    yield "analytics views"
    analyze(cursor, ("tickets_ticket", "tickets_tickethistory", "tickets_ticketcomment",
                     "sla_slaevent"))  # fmt: skip
    # Not CONCURRENTLY: the load holds the tables; a plain refresh is faster in bulk.
    for name in refresh.VIEWS:
        refresh.refresh_in(cursor, name)


def prepare_partitions(cursor, first: date, last: date) -> list[str]:
    """The monthly partitions of the loaded tables for the load's span, before the COPY:
    each row goes to its month, not to the default partition (from where every row
    would have to be moved again, a second write of the whole history)."""
    from deskbase.dbtools import partitions

    created = []
    for spec in partitions.present(cursor):
        if spec.table in BULK_TABLES:
            created += partitions.cover(cursor, spec, first, last)
    return created


def move_out_of_default_partitions(cursor) -> int:
    """Rows outside the prepared span (none, normally) go to their months; their count."""
    from deskbase.dbtools import partitions

    return sum(
        partitions.drain_default(cursor, spec)
        for spec in partitions.present(cursor)
        if spec.table in BULK_TABLES
    )


# ------------------------------------------------------------------ ids and sequences
def last_ids(cursor, tables: Iterable[str] = ID_TABLES) -> dict[str, int]:
    """Per table, the largest id in use or handed out by its identity sequence."""
    found = {}
    for table in tables:
        cursor.execute(
            sql.SQL("SELECT coalesce(max(id), 0), pg_get_serial_sequence(%s, 'id') FROM {}").format(
                ident(table)
            ),
            [table],
        )
        largest, sequence = cursor.fetchone()
        cursor.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(sequence)))
        value, called = cursor.fetchone()
        found[table] = max(largest, value if called else value - 1)
    return found


def sync_sequences(cursor, tables: Iterable[str]) -> None:
    """Move each identity sequence past the ids the load wrote (never backwards)."""
    for table in tables:
        cursor.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                " greatest((SELECT coalesce(max(id), 0) FROM {}),"
                " (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END"
                "  FROM {}), 1), true)"
            ).format(ident(table), sql.SQL(_sequence(cursor, table))),
            [table],
        )


def _sequence(cursor, table: str) -> str:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    return cursor.fetchone()[0]


def write_counters(cursor, counts: list[tuple[int, int]]) -> None:
    """tickets_ticketcounter.last_number = the organization's largest number."""
    cursor.executemany(
        """INSERT INTO tickets_ticketcounter AS c (organization_id, last_number) VALUES (%s, %s)
           ON CONFLICT (organization_id) DO UPDATE
           SET last_number = greatest(c.last_number, EXCLUDED.last_number)""",
        counts,
    )


def analyze(cursor, tables: Iterable[str]) -> None:
    for table in tables:
        cursor.execute(sql.SQL("ANALYZE {}").format(ident(table)))


# ------------------------------------------------------------------ emptying
def tenant_tables(cursor) -> list[str]:
    cursor.execute(
        """SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
             AND a.attname = 'organization_id' AND NOT a.attisdropped ORDER BY 1"""
    )
    return [row[0] for row in cursor.fetchall()]


def truncate_for_freeze(cursor) -> bool:
    """An empty database: truncate the (empty) bulk tables so COPY may FREEZE their rows.

    COPY FREEZE needs the table truncated in the current transaction. Without
    CASCADE: if a table outside the list refers to one of them, skip it (False).
    """
    cursor.execute("SAVEPOINT datagen_freeze")
    try:
        names = sql.SQL(", ").join(map(ident, BULK_TABLES))
        cursor.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(names))
    except Exception:
        cursor.execute("ROLLBACK TO SAVEPOINT datagen_freeze")
        return False
    cursor.execute("RELEASE SAVEPOINT datagen_freeze")
    return True


OPERATOR_TABLES = (
    # (table, condition) rows kept through a reset: platform operators and their links.
    ("accounts_user", "organization_id IS NULL"),
    ("accounts_user_groups", "user_id IN (SELECT id FROM datagen_keep_accounts_user)"),
    ("accounts_user_user_permissions", "user_id IN (SELECT id FROM datagen_keep_accounts_user)"),
    ("django_admin_log", "user_id IN (SELECT id FROM datagen_keep_accounts_user)"),
)


def reset(cursor) -> None:
    """Remove every organization and every tenant row; platform operators stay.

    TRUNCATE ... CASCADE empties accounts_user whole (and what refers to it), so
    operators (users without an organization) are copied aside and put back with
    their ids; identities restart, so a reset load numbers its rows from 1.
    """
    kept = []
    for table, condition in OPERATOR_TABLES:
        if not _exists(cursor, table):
            continue
        keep = f"datagen_keep_{table}"
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(ident(keep)))
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} AS SELECT * FROM {} WHERE {}").format(
                ident(keep), ident(table), sql.SQL(condition)
            )
        )
        kept.append((table, keep))
    # An operator deleted by a tenant's admin would point at a user who is going away.
    cursor.execute(
        "UPDATE datagen_keep_accounts_user SET deleted_by_id = NULL WHERE deleted_by_id"
        " NOT IN (SELECT id FROM datagen_keep_accounts_user)"
    )
    names = sql.SQL(", ").join(map(ident, ["organizations_organization", *tenant_tables(cursor)]))
    cursor.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))
    for table, keep in kept:
        cursor.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(ident(table), ident(keep)))
    for _, keep in reversed(kept):
        cursor.execute(sql.SQL("DROP TABLE pg_temp.{}").format(ident(keep)))
    sync_sequences(cursor, [table for table, _ in kept])


def _exists(cursor, table: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
    return cursor.fetchone()[0]


# ------------------------------------------------------------------ COPY
class Copier:
    """COPYs rows into their table and counts them; FREEZE where the table allows it."""

    def __init__(self, connection, *, freeze: Iterable[str] = (), progress=None) -> None:
        self.connection = connection
        self.freeze = set(freeze)
        self.progress = progress
        self.rows: dict[str, int] = {}

    def send(self, table: str, rows: list[str], tickets: int) -> None:
        """The sink of a load generated in this process (plan.Sink)."""
        self.copy(table, "".join(rows).encode(), len(rows), tickets)

    def copy(self, table: str, data: bytes, count: int, tickets: int) -> None:
        if table in self.freeze and self._partitioned(table):
            self.freeze.discard(table)  # PostgreSQL refuses FREEZE on a partitioned table
        options = " WITH (FREEZE)" if table in self.freeze else ""
        statement = f"COPY {table} ({COLUMNS[table]}) FROM STDIN{options}"
        with self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(data)
        self.rows[table] = self.rows.get(table, 0) + count
        if self.progress is not None:
            self.progress.update(tickets, sum(self.rows.values()))

    def _partitioned(self, table: str) -> bool:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = %s::regclass", [table])
            return bool(cursor.fetchone()[0])
