"""Row-level security for tenant tables, as migration operations.

Each tenant table gets RLS enabled and FORCED (the owner is subject to it too)
and two permissive policies:

- `tenant_isolation`, for every role: a row is visible and writable only when
  its organization is the transaction's tenant (`SET LOCAL deskbase.org_id`).
  Without a tenant nothing is visible, and nothing can be written.
- `owner_maintenance`, for the role that ran the migration (the owner role):
  every row, for migrations and cross-tenant operator work (docs/tenancy.md).
"""

from __future__ import annotations

from django.db import migrations

TENANT = "nullif(current_setting('deskbase.org_id', true), '')::bigint"


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
    """(organization_id, column) -> target(organization_id, id): no cross-tenant reference.

    Django keeps its own single-column foreign key beside this one; this one
    makes a reference to another tenant's row impossible, whatever writes it.
    """
    name = f"{table}_{column}_same_org"
    return migrations.RunSQL(
        sql=f"""
            ALTER TABLE {table} ADD CONSTRAINT {name}
            FOREIGN KEY (organization_id, {column}) REFERENCES {target} (organization_id, id)
            ON DELETE {on_delete};
        """,
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name};",
    )
