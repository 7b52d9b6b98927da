"""History rows and updated_at say when a change happened, also for an imported one.

`deskbase_now()` is `now()` unless the transaction set `deskbase.at`
(deskbase.core.clock.happened_at, used by the services given an explicit `at`):
then the ticket history trigger and the updated_at triggers stamp rows with that
time. Before, a backdated status change or reply wrote its history row, and moved
the ticket's updated_at, at the time it was loaded.

Without `deskbase.at`, `updated_at` keeps the rule of 0007_change_cursor: the clock
time of the write and at least the previous value plus a microsecond. With it, the
stated time is taken as it is: an import replays a ticket's acts in their order,
and its times are what happened (the change cursor, `change_xid`, does not depend
on `updated_at` and still sees every imported write).
"""

from django.db import migrations

NOW = """
CREATE FUNCTION deskbase_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('deskbase.at', true), '')::timestamptz, now())
$$;
"""

STATED = "nullif(current_setting('deskbase.at', true), '')::timestamptz"
MONOTONIC = "greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond', NEW.created_at)"


def touch(name: str, *, stated: bool, change_xid: bool) -> str:
    # greatest() skips NULLs: the stated time is tested on its own first.
    rule = (
        f"CASE WHEN {STATED} IS NULL THEN {MONOTONIC} ELSE greatest({STATED}, NEW.created_at) END"
        if stated
        else MONOTONIC
    )
    xid = "    NEW.change_xid := pg_current_xact_id();\n" if change_xid else ""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := {rule};
{xid}    RETURN NEW;
END $$;
"""


HISTORY = """
CREATE OR REPLACE FUNCTION tickets_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor bigint := nullif(current_setting('deskbase.actor_id', true), '')::bigint;
    old_row jsonb;
    new_row jsonb := to_jsonb(NEW) - ARRAY['updated_at', 'version', 'description_html', 'change_xid'];
    key text;
    value jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tickets_tickethistory
            (organization_id, ticket_id, actor_id, field, old_value, new_value, created_at)
        VALUES (NEW.organization_id, NEW.id, actor, 'created', NULL, NEW.status, NEW.created_at);
        RETURN NULL;
    END IF;
    old_row := to_jsonb(OLD) - ARRAY['updated_at', 'version', 'description_html', 'change_xid'];
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
        ("tickets", "0008_change_cursor_index"),
        ("organizations", "0002_database_rules"),
    ]

    operations = [
        migrations.RunSQL(NOW, "DROP FUNCTION IF EXISTS deskbase_now();"),
        migrations.RunSQL(
            touch("deskbase_touch_updated_at", stated=True, change_xid=False),
            touch("deskbase_touch_updated_at", stated=False, change_xid=False),
        ),
        migrations.RunSQL(
            touch("tickets_ticket_touch", stated=True, change_xid=True),
            touch("tickets_ticket_touch", stated=False, change_xid=True),
        ),
        migrations.RunSQL(HISTORY.format(now="deskbase_now()"), HISTORY.format(now="now()")),
    ]
