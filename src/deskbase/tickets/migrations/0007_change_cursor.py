"""`updated_at` that never goes back, and a change cursor for tickets (docs/api.md).

`updated_at` was the transaction's start time (`now()`). Writers of one row queue on
its row lock, but a transaction that started earlier can take the lock later: its
`now()` is older than the value the previous writer committed, and `updated_at`
went backwards (seen 68 times in 200 concurrent replies to one ticket). Now it is
`clock_timestamp()` when the row is written (after the lock is granted, so after the
previous writer's commit) and at least the previous value plus a microsecond: it
increases with every committed change of the row, whatever the clock does.

That orders the changes of one row, not of the table: two transactions writing
different rows still commit in another order than their timestamps (or any
sequence value) were taken, so "changed since T" can miss a row committed late with
an earlier T. The change cursor uses the transaction ids instead: every insert and
update of a ticket stores its transaction's id (`change_xid`, xid8, never wraps),
and a reader takes only the rows of transactions below its snapshot's xmin — every
one of those has finished, so no row can later appear below that horizon.
`tickets.changes` pages through (change_xid, id) up to the horizon.

`change_xid` is left out of the model (nothing but the cursor reads it) and out of
the history diff. Rows that exist before this migration get 0: the first read of
the cursor returns every ticket once.
"""

# ruff: noqa: S608 (a fixed list of column names)
from django.db import migrations

TOUCH = """
CREATE OR REPLACE FUNCTION deskbase_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond',
                               NEW.created_at);
    RETURN NEW;
END $$;
"""
TOUCH_BEFORE = """
CREATE OR REPLACE FUNCTION deskbase_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(now(), NEW.created_at);
    RETURN NEW;
END $$;
"""

CHANGE_XID = """
ALTER TABLE tickets_ticket ADD COLUMN change_xid xid8 NOT NULL DEFAULT '0';
-- The constant above filled the existing rows without a rewrite; new rows get theirs.
ALTER TABLE tickets_ticket ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id();

CREATE FUNCTION tickets_ticket_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond',
                               NEW.created_at);
    -- The top-level transaction's id, also inside a savepoint.
    NEW.change_xid := pg_current_xact_id();
    RETURN NEW;
END $$;
DROP TRIGGER tickets_ticket_touch_updated_at ON tickets_ticket;
CREATE TRIGGER tickets_ticket_touch_updated_at BEFORE UPDATE ON tickets_ticket
FOR EACH ROW EXECUTE FUNCTION tickets_ticket_touch();
"""
CHANGE_XID_REVERSE = """
DROP TRIGGER tickets_ticket_touch_updated_at ON tickets_ticket;
CREATE TRIGGER tickets_ticket_touch_updated_at BEFORE UPDATE ON tickets_ticket
FOR EACH ROW EXECUTE FUNCTION deskbase_touch_updated_at();
DROP FUNCTION tickets_ticket_touch();
ALTER TABLE tickets_ticket DROP COLUMN change_xid;
"""


def history(ignored: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION tickets_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor bigint := nullif(current_setting('deskbase.actor_id', true), '')::bigint;
    old_row jsonb;
    new_row jsonb := to_jsonb(NEW) - ARRAY[{ignored}];
    key text;
    value jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tickets_tickethistory
            (organization_id, ticket_id, actor_id, field, old_value, new_value, created_at)
        VALUES (NEW.organization_id, NEW.id, actor, 'created', NULL, NEW.status, NEW.created_at);
        RETURN NULL;
    END IF;
    old_row := to_jsonb(OLD) - ARRAY[{ignored}];
    FOR key, value IN SELECT * FROM jsonb_each(new_row) LOOP
        IF value IS DISTINCT FROM old_row -> key THEN
            INSERT INTO tickets_tickethistory
                (organization_id, ticket_id, actor_id, field, old_value, new_value, created_at)
            VALUES (NEW.organization_id, NEW.id, actor, key,
                    old_row ->> key, new_row ->> key, now());
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
"""


BEFORE = "'updated_at', 'version', 'description_html'"
AFTER = "'updated_at', 'version', 'description_html', 'change_xid'"


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_queue_counts_index")]

    operations = [
        migrations.RunSQL(TOUCH, TOUCH_BEFORE),
        # The history diff ignores the new column before it exists, and after it is gone.
        migrations.RunSQL(history(AFTER), history(BEFORE)),
        migrations.RunSQL(CHANGE_XID, CHANGE_XID_REVERSE),
    ]
