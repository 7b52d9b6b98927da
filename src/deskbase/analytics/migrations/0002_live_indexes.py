"""Indexes for the live numbers that depend on the clock (docs/analytics.md).

"Created today", "resolved today" and "SLA breached / at risk now" change as time
passes without any write, so no trigger can keep them: they are counted at read
time from these partial indexes (an index range of one day, or of the overdue
tickets, of one organization). Built CONCURRENTLY: tickets_ticket stays writable.
"""

from __future__ import annotations

from django.db import migrations

INDEXES = {
    "analytics_tickets_created": ("(organization_id, created_at) WHERE deleted_at IS NULL"),
    "analytics_tickets_resolved": (
        "(organization_id, resolved_at) WHERE deleted_at IS NULL"
        " AND resolved_at IS NOT NULL AND merged_into_id IS NULL"
    ),
    "analytics_tickets_first_response_due": (
        "(organization_id, first_response_due_at) INCLUDE (sla_paused_at, resolution_due_at)"
        " WHERE deleted_at IS NULL AND status IN ('new', 'open', 'pending')"
        " AND first_response_at IS NULL AND first_response_due_at IS NOT NULL"
    ),
    "analytics_tickets_resolution_due": (
        "(organization_id, resolution_due_at)"
        " INCLUDE (sla_paused_at, first_response_at, first_response_due_at)"
        " WHERE deleted_at IS NULL AND status IN ('new', 'open', 'pending')"
        " AND resolution_due_at IS NOT NULL"
    ),
}


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("analytics", "0001_live_rollups")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket {definition}",
            f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
