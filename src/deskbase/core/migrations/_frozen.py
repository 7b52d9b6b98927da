"""The SQL that shipped migrations run, frozen here so that a migration does the same on a
fresh install as it did when an existing installation ran it.

Migrations never call live code (a test scans them): live code changes with the
product, a migration's effect must not. The functions below are copies, as they were
when the migrations using them shipped, of the row-level security helpers (once
deskbase.core.rls) and of the monthly partition manager (deskbase.dbtools.partitions).
Never edit one: a new shape of SQL is a new function here, used by a new migration.
Django's migration loader skips this module (its name starts with "_").
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import migrations

TENANT = "nullif(current_setting('deskbase.org_id', true), '')::bigint"


# ------------------------------------------------------------------ row-level security
def enable_rls(table: str, column: str = "organization_id") -> migrations.RunSQL:
    return migrations.RunSQL(
        sql=f"""
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {table}
                USING ({column} = {TENANT}) WITH CHECK ({column} = {TENANT});
            CREATE POLICY owner_maintenance ON {table} TO CURRENT_USER
                USING (true) WITH CHECK (true);
        """,
        reverse_sql=f"""
            DROP POLICY IF EXISTS owner_maintenance ON {table};
            DROP POLICY IF EXISTS tenant_isolation ON {table};
            ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
            ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
        """,
    )


def touch_updated_at(table: str) -> migrations.RunSQL:
    """Keep updated_at right on every UPDATE, raw SQL included."""
    return migrations.RunSQL(
        sql=f"""
            CREATE TRIGGER {table}_touch_updated_at BEFORE UPDATE ON {table}
            FOR EACH ROW EXECUTE FUNCTION deskbase_touch_updated_at();
        """,
        reverse_sql=f"DROP TRIGGER IF EXISTS {table}_touch_updated_at ON {table};",
    )


def tenant_foreign_key(
    table: str, column: str, target: str, *, on_delete: str = "NO ACTION"
) -> migrations.RunSQL:
    """(organization_id, column) -> target(organization_id, id): no cross-tenant reference."""
    name = f"{table}_{column}_same_org"
    return migrations.RunSQL(
        sql=f"""
            ALTER TABLE {table} ADD CONSTRAINT {name}
            FOREIGN KEY (organization_id, {column}) REFERENCES {target} (organization_id, id)
            ON DELETE {on_delete};
        """,
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name};",
    )


# ------------------------------------------------------------------ monthly partitions
# `<table>_pYYYYMM` covers [first of the month, first of the next) in UTC; `<table>_default`
# takes any other row. Each partition gets the parent's owner and row-level security.
AHEAD_MONTHS = 3


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _bound(month: date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def _relkind(cursor, table: str) -> str | None:
    cursor.execute(
        "SELECT c.relkind FROM pg_class c WHERE c.relname = %s"
        " AND c.relnamespace = current_schema()::regnamespace",
        [table],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _attached(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY 1",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _owner(cursor, table: str) -> str:
    cursor.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass", [table]
    )
    return cursor.fetchone()[0]


def _secure(cursor, partition: str, parent: str) -> None:
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


def create_default_partition(cursor, table: str) -> None:
    name = f"{table}_default"
    if name not in _attached(cursor, table):
        cursor.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} DEFAULT")
    _secure(cursor, name, table)


def create_month_partition(cursor, table: str, column: str, month: date) -> None:
    """The partition of `month` (the first of a month), created and attached unless it is."""
    name = f"{table}_p{month:%Y%m}"
    if name in _attached(cursor, table):
        return
    end = _add_months(month, 1)
    if _relkind(cursor, name) is None:
        cursor.execute(
            f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS"
            f" INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
        cursor.execute(
            f"ALTER TABLE {_q(name)} ADD CONSTRAINT {_q(name + '_bound')} CHECK"
            f" ({_q(column)} IS NOT NULL AND {_q(column)} >= '{_bound(month)}'"
            f" AND {_q(column)} < '{_bound(end)}')"
        )
    _secure(cursor, name, table)
    cursor.execute(
        f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)}"
        f" FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(end)}')"
    )
    cursor.execute(f"ALTER TABLE {_q(name)} DROP CONSTRAINT IF EXISTS {_q(name + '_bound')}")


def create_partitions_ahead(cursor, table: str, column: str) -> None:
    """The default partition and those from the previous month to the configured number
    of months ahead (DESKBASE_PARTITIONS_AHEAD_MONTHS, read as the migration runs)."""
    from django.conf import settings

    ahead = getattr(settings, "PARTITIONS_AHEAD_MONTHS", AHEAD_MONTHS)
    today = datetime.now(UTC).date()
    this_month = date(today.year, today.month, 1)
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", ["5s"])
    create_default_partition(cursor, table)
    month, last = _add_months(this_month, -1), _add_months(this_month, ahead)
    while month <= last:
        create_month_partition(cursor, table, column, month)
        month = _add_months(month, 1)
