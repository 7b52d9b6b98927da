"""Row-level security for tenant tables.

Each tenant table has RLS enabled and FORCED (the owner is subject to it too)
and two permissive policies:

- `tenant_isolation`, for every role: a row is visible and writable only when
  its organization is the transaction's tenant (`SET LOCAL deskbase.org_id`).
  Without a tenant nothing is visible, and nothing can be written.
- `owner_maintenance`, for the role that ran the migration (the owner role):
  every row, for migrations and cross-tenant operator work (docs/tenancy.md).

The migrations create them with the frozen helpers of deskbase.core.migrations._frozen
(`enable_rls`, `tenant_foreign_key`, `touch_updated_at`); code that secures tables at
run time (new partitions, deskbase.dbtools.partitions) uses TENANT.
"""

from __future__ import annotations

TENANT = "nullif(current_setting('deskbase.org_id', true), '')::bigint"
