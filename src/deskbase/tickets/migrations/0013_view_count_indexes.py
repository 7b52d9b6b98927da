"""Indexes for the saved views' counts (docs/saved-views.md, "Speed").

- `tickets_active_priority`: the active tickets of a tenant by priority, then
  assignee, with status, team and the breach flag carried along: "urgent open" and
  "unassigned high" are a range of this index, counted by an index-only scan
  instead of reading every active ticket's heap page to check its priority.
- `tickets_active_assignee_status`: an agent's active tickets by status ("mine
  waiting"), index-only as well.

A GIN index of (organization_id, tags) (btree_gin) was tried for "tagged vip": at 1M
tickets the planner kept AND-ing the tags index with the organization's, so it is not
here (docs/saved-views.md).
"""

from django.db import migrations

ACTIVE = "deleted_at IS NULL AND status IN ('new', 'open', 'pending')"

INDEXES = {
    "tickets_active_priority": "(organization_id, priority, assignee_id)"
    f" INCLUDE (status, team_id, sla_breach) WHERE {ACTIVE}",
    "tickets_active_assignee_status": "(organization_id, assignee_id, status)"
    f" INCLUDE (priority, team_id, sla_breach) WHERE {ACTIVE}",
}


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("tickets", "0012_customfield")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket {definition}",
            f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
