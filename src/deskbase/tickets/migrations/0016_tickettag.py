"""tickets_tickettag: the tags of the tickets not in the trash, one row each, kept by a
trigger on tickets_ticket (docs/saved-views.md, "Speed").

A tag filter on the tickets (`tags @> ARRAY[...]`) cannot use the tags GIN index
under row-level security, since PostgreSQL only puts a leakproof operator into an
index scan below a policy, and the array operators are not. `=` on text is: a tag
filter becomes `EXISTS (... tickets_tickettag g WHERE g.organization_id = ... AND
g.tag = %s AND g.ticket_id = t.id)`, and a tag-only count is an index-only scan of
one range of the primary key.

The trigger runs one statement per ticket written, and only when tags or the trash
state change: insert (a live ticket with tags), update of `tags` or `deleted_at`
(the difference of the live tags before and after), delete. The table is filled
from the existing tickets in one INSERT ... SELECT while the trigger's creation
holds off writers to tickets_ticket (the migration is one transaction).
"""

from django.db import migrations, models

from deskbase.core.migrations._frozen import enable_rls

SYNC = """
CREATE FUNCTION tickets_sync_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tickets_tickettag (organization_id, tag, ticket_id)
        SELECT DISTINCT NEW.organization_id, tag, NEW.id FROM unnest(NEW.tags) AS tag;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM tickets_tickettag
        WHERE organization_id = OLD.organization_id AND tag = ANY (OLD.tags)
          AND ticket_id = OLD.id;
    ELSE
        -- The live tags before and after: none while the ticket is in the trash.
        WITH was AS (SELECT unnest(CASE WHEN OLD.deleted_at IS NULL THEN OLD.tags END) AS tag),
             is_ AS (SELECT unnest(CASE WHEN NEW.deleted_at IS NULL THEN NEW.tags END) AS tag),
             gone AS (
                DELETE FROM tickets_tickettag
                WHERE organization_id = OLD.organization_id AND ticket_id = OLD.id
                  AND tag = ANY (ARRAY(SELECT tag FROM was EXCEPT SELECT tag FROM is_))
             )
        INSERT INTO tickets_tickettag (organization_id, tag, ticket_id)
        SELECT NEW.organization_id, added.tag, NEW.id
        FROM (SELECT tag FROM is_ EXCEPT SELECT tag FROM was) AS added
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_ticket_tags_insert AFTER INSERT ON tickets_ticket
FOR EACH ROW WHEN (NEW.deleted_at IS NULL AND cardinality(NEW.tags) > 0)
EXECUTE FUNCTION tickets_sync_tags();
CREATE TRIGGER tickets_ticket_tags_update AFTER UPDATE OF tags, deleted_at ON tickets_ticket
FOR EACH ROW WHEN (
    OLD.tags IS DISTINCT FROM NEW.tags
    OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
)
EXECUTE FUNCTION tickets_sync_tags();
CREATE TRIGGER tickets_ticket_tags_delete AFTER DELETE ON tickets_ticket
FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND cardinality(OLD.tags) > 0)
EXECUTE FUNCTION tickets_sync_tags();
"""
UNSYNC = """
DROP TRIGGER IF EXISTS tickets_ticket_tags_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_tags_update ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_tags_delete ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_sync_tags();
"""
# One statement for every existing ticket, in the primary key's order.
FILL = """
INSERT INTO tickets_tickettag (organization_id, tag, ticket_id)
SELECT DISTINCT t.organization_id, tag, t.id
FROM tickets_ticket t, unnest(t.tags) AS tag
WHERE t.deleted_at IS NULL
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING;
ANALYZE tickets_tickettag;
"""


class Migration(migrations.Migration):
    dependencies = [("tickets", "0015_queue_sort_indexes")]

    operations = [
        migrations.CreateModel(
            name="TicketTag",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "organization_id",
                        "tag",
                        "ticket_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("organization_id", models.BigIntegerField()),
                ("tag", models.CharField(max_length=50)),
                ("ticket_id", models.BigIntegerField()),
            ],
            options={"db_table": "tickets_tickettag"},
        ),
        enable_rls("tickets_tickettag"),
        migrations.RunSQL(SYNC, UNSYNC),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
