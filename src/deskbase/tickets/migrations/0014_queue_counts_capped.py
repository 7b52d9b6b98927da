"""The queue counts read capped index ranges (web.selectors.queue_counts).

- `tickets_queue_counts` goes: it carried every column of one aggregate over all of a
  tenant's active tickets (20-30 ms at 80,000 active tickets); each queue is now
  counted from the index that holds it, stopping at the cap.
- `tickets_queue_at_risk`: the running (not paused), not yet breached active tickets
  by their next due time. "At risk" is the range up to now + the window; the due
  columns are carried so the count is index-only (a few hundred entries in the
  busiest tenant of the standard data set, against a scan of every active ticket).

Built and dropped CONCURRENTLY: tickets_ticket stays writable.
"""

from django.db import migrations

AT_RISK = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_queue_at_risk ON tickets_ticket"
    " (organization_id, (least(resolution_due_at, CASE WHEN first_response_at IS NULL"
    " THEN first_response_due_at END)))"
    " INCLUDE (resolution_due_at, first_response_at, first_response_due_at)"
    " WHERE deleted_at IS NULL AND status IN ('new', 'open', 'pending')"
    " AND sla_paused_at IS NULL AND NOT sla_breach"
)
QUEUE_COUNTS = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_queue_counts ON tickets_ticket"
    " (organization_id) INCLUDE (id, status, assignee_id, team_id, sla_breach, sla_paused_at,"
    " first_response_at, first_response_due_at, resolution_due_at)"
    " WHERE deleted_at IS NULL AND status IN ('new', 'open', 'pending')"
)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0013_view_count_indexes")]

    operations = [
        migrations.RunSQL(AT_RISK, "DROP INDEX CONCURRENTLY IF EXISTS tickets_queue_at_risk"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="ticket", name="tickets_queue_counts")
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX CONCURRENTLY IF EXISTS tickets_queue_counts", QUEUE_COUNTS
                )
            ],
        ),
    ]
