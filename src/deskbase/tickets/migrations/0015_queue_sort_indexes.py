"""Indexes for the queues' sorts at 1M tickets (docs/web.md, "Speed").

Each holds the rows of a queue in the order of one sort, so a page is the first 26
entries of a range instead of a sort of every matching ticket joined to its people
(at the standard data set, the busiest tenant's 80,000 active tickets: 0.8-1 s a
page sorted by priority or by SLA, 2.6-3.6 s for "Recently updated").

- `tickets_queue_priority`: the active tickets by priority rank (the expression of
  `selectors.PRIORITY_RANK` / `listing.PRIORITY_RANK_SQL`), then last change.
- `tickets_queue_sla_key`: the active tickets by resolution due, the tickets without
  one last (`selectors` sorts by `coalesce(resolution_due_at, FAR_FUTURE)`); it
  replaces `tickets_queue_sla_due` on the bare column, which that sort could not use.
- `tickets_queue_running_sla_key`: the same order for the running, not breached
  tickets, which hold every ticket at risk: the "SLA at risk" queue, sorted by SLA,
  reads its first page from it (the planner cannot estimate the at-risk condition,
  and through the previous index it filtered 79,000 rows for 26: 0.6 s).
- `tickets_recent`: every live ticket, any status, by last change: "Recently
  updated" and the API's list without a status filter.

Built and dropped CONCURRENTLY: tickets_ticket stays writable.
"""

from django.db import migrations

ACTIVE = "deleted_at IS NULL AND status IN ('new', 'open', 'pending')"
INDEXES = {
    "tickets_queue_priority": "(organization_id, (CASE WHEN priority = 'urgent' THEN 4"
    " WHEN priority = 'high' THEN 3 WHEN priority = 'medium' THEN 2 ELSE 1 END) DESC,"
    f" updated_at DESC, id DESC) WHERE {ACTIVE}",
    "tickets_queue_sla_key": "(organization_id,"
    " (coalesce(resolution_due_at, '9999-01-01 00:00:00+00'::timestamptz)), id)"
    f" WHERE {ACTIVE}",
    "tickets_queue_running_sla_key": "(organization_id,"
    " (coalesce(resolution_due_at, '9999-01-01 00:00:00+00'::timestamptz)), id)"
    f" WHERE {ACTIVE} AND sla_paused_at IS NULL AND NOT sla_breach",
    "tickets_recent": "(organization_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL",
}
SLA_DUE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_queue_sla_due ON tickets_ticket"
    f" (organization_id, resolution_due_at, id) WHERE {ACTIVE}"
)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0014_queue_counts_capped")]

    operations = [
        *(
            migrations.RunSQL(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket {definition}",
                f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
            )
            for name, definition in INDEXES.items()
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="ticket", name="tickets_queue_sla_due")
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX CONCURRENTLY IF EXISTS tickets_queue_sla_due", SLA_DUE
                )
            ],
        ),
    ]
