"""The GIN indexes on tags and custom fields go (docs/saved-views.md, "Speed").

Under row-level security PostgreSQL puts a condition into an index scan only when
its operator is leakproof, and `@>` / `&&` on arrays and `@>` on jsonb are not: the
application role never used these indexes, while every write that changed tags or
custom fields paid for them. Tag and custom-field filters read tickets_tickettag and
tickets_ticketfieldvalue (0016, 0017) with a leakproof `=`.

Dropped CONCURRENTLY: tickets_ticket stays writable.
"""

from django.db import migrations

INDEXES = {
    "tickets_tags_gin": "USING gin (tags)",
    "tickets_custom_fields_gin": "USING gin (custom_fields jsonb_path_ops)",
}


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0018_custom_field_audit_actions")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="ticket", name=name) for name in INDEXES
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket {how}",
                )
                for name, how in INDEXES.items()
            ],
        ),
    ]
