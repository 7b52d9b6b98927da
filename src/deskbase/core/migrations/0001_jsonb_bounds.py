"""Bounds on stored JSON, in the database: depth and size of every jsonb column people write.

The services check the same bounds first, with errors naming the field
(deskbase.core.jsonbounds); these CHECKs keep any other writer (raw SQL, an import,
a future code path) from storing a value the readers cannot read back. The size
limit here is twice the services' (jsonb's text form has spaces the compact JSON
the services measure has not): a backstop, not the rule people see.

The constraints are added NOT VALID: new and changed rows are checked, rows already
stored are not (a deployment holding an older, deeper value still migrates; the API
shows such a value cut short instead of failing). After correcting them,
`ALTER TABLE ... VALIDATE CONSTRAINT <name>` makes the whole table checked.
"""

from django.db import migrations

DEPTH_FUNCTION = """
CREATE FUNCTION deskbase_jsonb_depth(value jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    -- Nested objects and arrays: a scalar is 0, {"a": 1} is 1, {"a": {"b": 1}} is 2.
    WITH RECURSIVE walk(item, depth) AS (
        SELECT value, 1
        UNION ALL
        SELECT child.item, walk.depth + 1
        FROM walk
        CROSS JOIN LATERAL (
            SELECT e.value FROM jsonb_each(
                CASE WHEN jsonb_typeof(walk.item) = 'object' THEN walk.item END) AS e
            UNION ALL
            SELECT a.value FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(walk.item) = 'array' THEN walk.item END) AS a
        ) AS child(item)
        WHERE jsonb_typeof(child.item) IN ('object', 'array')
    )
    SELECT coalesce(max(depth), 0) FROM walk WHERE jsonb_typeof(item) IN ('object', 'array')
$$;
"""

# (table, column, constraint, depth, bytes): the figures of deskbase.core.jsonbounds.
BOUNDED = [
    ("tickets_ticket", "custom_fields", "tickets_ticket_custom_fields_bounded", 5, 16 * 1024),
    ("organizations_organization", "settings", "organizations_organization_settings_bounded",
     8, 64 * 1024),
    ("organizations_organization", "business_hours",
     "organizations_organization_business_hours_bounded", 3, 8 * 1024),
    ("accounts_user", "skills", "accounts_user_skills_bounded", 1, 4 * 1024),
]  # fmt: skip


def _add(table: str, column: str, name: str, depth: int, size: int) -> str:
    return (
        f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ("
        f"deskbase_jsonb_depth({column}) <= {depth}"
        f" AND octet_length({column}::text) <= {2 * size}) NOT VALID"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_queue_counts_index"),
        ("organizations", "0002_database_rules"),
        ("accounts", "0006_audit_log_and_sessions"),
    ]

    operations = [
        migrations.RunSQL(DEPTH_FUNCTION, "DROP FUNCTION deskbase_jsonb_depth(jsonb)"),
        *[
            migrations.RunSQL(
                _add(*bounded), f"ALTER TABLE {bounded[0]} DROP CONSTRAINT {bounded[2]}"
            )
            for bounded in BOUNDED
        ],
    ]
