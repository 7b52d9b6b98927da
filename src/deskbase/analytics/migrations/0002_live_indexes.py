"""Indexes for the live numbers that depend on the clock (docs/analytics.md).

"Created today", "resolved today" and "SLA breached / at risk now" change as time
passes without any write, so no trigger can keep them whole: they are counted at
read time from these partial indexes (an index range of one day of one
organization, or of its open tickets not yet due). Built CONCURRENTLY: tickets_ticket stays writable.
"""

from __future__ import annotations

from django.db import migrations

INDEXES = {
    "analytics_tickets_created": ("(organization_id, created_at) WHERE deleted_at IS NULL"),
    "analytics_tickets_resolved": (
        "(organization_id, resolved_at) WHERE deleted_at IS NULL"
        " AND resolved_at IS NOT NULL AND merged_into_id IS NULL"
    ),
    # The next due time of each running (not paused) open ticket: "not yet breached"
    # and "at risk" are ranges of it from now on, which hold the few tickets not due yet.
    "analytics_tickets_next_due": (
        "(organization_id, (least(resolution_due_at, CASE WHEN first_response_at IS NULL"
        " THEN first_response_due_at END))) INCLUDE (team_id)"
        " WHERE deleted_at IS NULL AND status IN ('new', 'open', 'pending')"
        " AND sla_paused_at IS NULL"
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
