"""History rows and updated_at say when a change happened, also for an imported one.

`deskbase_now()` is `now()` unless the transaction set `deskbase.at`
(deskbase.core.clock.happened_at, used by the services given an explicit `at`):
then the ticket history trigger and the updated_at trigger stamp rows with that
time. Before, a backdated status change or reply wrote its history row, and moved
the ticket's updated_at, at the time it was loaded.
"""

from django.db import migrations

NOW = """
CREATE FUNCTION deskbase_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('deskbase.at', true), '')::timestamptz, now())
$$;
"""

TOUCH = """
CREATE OR REPLACE FUNCTION deskbase_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest({now}, NEW.created_at);
    RETURN NEW;
END $$;
"""

HISTORY = """
CREATE OR REPLACE FUNCTION tickets_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor bigint := nullif(current_setting('deskbase.actor_id', true), '')::bigint;
    old_row jsonb;
    new_row jsonb := to_jsonb(NEW) - ARRAY['updated_at', 'version', 'description_html'];
    key text;
    value jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tickets_tickethistory
            (organization_id, ticket_id, actor_id, field, old_value, new_value, created_at)
        VALUES (NEW.organization_id, NEW.id, actor, 'created', NULL, NEW.status, NEW.created_at);
        RETURN NULL;
    END IF;
    old_row := to_jsonb(OLD) - ARRAY['updated_at', 'version', 'description_html'];
    FOR key, value IN SELECT * FROM jsonb_each(new_row) LOOP
        IF value IS DISTINCT FROM old_row -> key THEN
            INSERT INTO tickets_tickethistory
                (organization_id, ticket_id, actor_id, field, old_value, new_value, created_at)
            VALUES (NEW.organization_id, NEW.id, actor, key,
                    old_row ->> key, new_row ->> key, {now});
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_queue_counts_index"),
        ("organizations", "0002_database_rules"),
    ]

    operations = [
        migrations.RunSQL(NOW, "DROP FUNCTION IF EXISTS deskbase_now();"),
        migrations.RunSQL(TOUCH.format(now="deskbase_now()"), TOUCH.format(now="now()")),
        migrations.RunSQL(HISTORY.format(now="deskbase_now()"), HISTORY.format(now="now()")),
    ]
