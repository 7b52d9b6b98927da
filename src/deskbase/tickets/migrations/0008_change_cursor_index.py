"""The change cursor's index: a tenant's tickets in (change_xid, id) order."""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0007_change_cursor")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_ticket_changes"
            " ON tickets_ticket (organization_id, change_xid, id)",
            "DROP INDEX CONCURRENTLY IF EXISTS tickets_ticket_changes",
        )
    ]
