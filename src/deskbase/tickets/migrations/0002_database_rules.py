"""Ticket rules PostgreSQL enforces whatever writes the row: numbering, the status
machine, history, append-only history, the category tree, same-tenant references."""

from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, tenant_foreign_key, touch_updated_at

NUMBER = """
CREATE FUNCTION tickets_allocate_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.number IS NULL OR NEW.number = 0 THEN
        INSERT INTO tickets_ticketcounter AS c (organization_id, last_number)
        VALUES (NEW.organization_id, 1)
        ON CONFLICT (organization_id) DO UPDATE SET last_number = c.last_number + 1
        RETURNING last_number INTO NEW.number;
    ELSE
        -- An explicit number (imports, bulk loads) moves the counter past it.
        INSERT INTO tickets_ticketcounter AS c (organization_id, last_number)
        VALUES (NEW.organization_id, NEW.number)
        ON CONFLICT (organization_id) DO UPDATE
            SET last_number = greatest(c.last_number, EXCLUDED.last_number);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_ticket_number BEFORE INSERT ON tickets_ticket
FOR EACH ROW EXECUTE FUNCTION tickets_allocate_number();
"""

TRANSITIONS = """
CREATE FUNCTION tickets_check_status_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (OLD.status, NEW.status) IN (
        ('new', 'open'), ('new', 'pending'), ('new', 'resolved'), ('new', 'closed'), ('new', 'cancelled'),
        ('open', 'pending'), ('open', 'resolved'), ('open', 'closed'), ('open', 'cancelled'),
        ('pending', 'open'), ('pending', 'resolved'), ('pending', 'closed'), ('pending', 'cancelled'),
        ('resolved', 'open'), ('resolved', 'closed')
    ) THEN
        RAISE EXCEPTION 'a ticket cannot go from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'tickets_ticket_status_transition',
                  COLUMN = 'status';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_ticket_status_transition BEFORE UPDATE OF status ON tickets_ticket
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION tickets_check_status_transition();
"""

HISTORY = """
CREATE FUNCTION tickets_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
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
                    old_row ->> key, new_row ->> key, now());
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_ticket_history AFTER INSERT OR UPDATE ON tickets_ticket
FOR EACH ROW EXECUTE FUNCTION tickets_record_history();

CREATE FUNCTION tickets_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Deleting is allowed only as the cascade of purging the ticket itself.
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ticket history is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER tickets_tickethistory_append_only BEFORE UPDATE OR DELETE ON tickets_tickethistory
FOR EACH ROW EXECUTE FUNCTION tickets_history_append_only();
-- TRUNCATE needs the TRUNCATE privilege, which only the owner role has (maintenance).
"""

CATEGORY_TREE = """
CREATE FUNCTION tickets_category_no_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE up(id, parent_id) AS (
            SELECT id, parent_id FROM tickets_category WHERE id = NEW.parent_id
            UNION ALL
            SELECT c.id, c.parent_id FROM tickets_category c JOIN up ON c.id = up.parent_id
        ) SELECT 1 FROM up WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'category % would be its own ancestor', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'tickets_category_no_cycle',
                  COLUMN = 'parent_id';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_category_no_cycle BEFORE UPDATE OF parent_id ON tickets_category
FOR EACH ROW EXECUTE FUNCTION tickets_category_no_cycle();
"""

SAME_ORG = [
    ("tickets_category", "parent_id", "tickets_category", "NO ACTION"),
    ("tickets_ticket", "customer_id", "accounts_user", "NO ACTION"),
    ("tickets_ticket", "assignee_id", "accounts_user", "NO ACTION"),
    ("tickets_ticket", "team_id", "accounts_team", "NO ACTION"),
    ("tickets_ticket", "category_id", "tickets_category", "NO ACTION"),
    ("tickets_ticket", "merged_into_id", "tickets_ticket", "SET NULL (merged_into_id)"),
    ("tickets_ticketcomment", "ticket_id", "tickets_ticket", "CASCADE"),
    ("tickets_ticketcomment", "author_id", "accounts_user", "NO ACTION"),
    ("tickets_ticketattachment", "ticket_id", "tickets_ticket", "CASCADE"),
    ("tickets_tickethistory", "ticket_id", "tickets_ticket", "CASCADE"),
    ("tickets_cannedresponse", "owner_id", "accounts_user", "CASCADE"),
    ("tickets_csatresponse", "ticket_id", "tickets_ticket", "CASCADE"),
    ("tickets_csatresponse", "customer_id", "accounts_user", "NO ACTION"),
]
UPDATED_AT_TABLES = [
    "tickets_category", "tickets_ticket", "tickets_ticketcomment", "tickets_cannedresponse",
]  # fmt: skip
TENANT_TABLES = [
    "tickets_category", "tickets_ticket", "tickets_ticketcounter", "tickets_ticketcomment",
    "tickets_ticketattachment", "tickets_tickethistory", "tickets_cannedresponse",
    "tickets_csatresponse",
]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("accounts", "0003_database_rules"),
        ("organizations", "0002_database_rules"),
    ]

    operations = [
        migrations.RunSQL(
            NUMBER,
            "DROP TRIGGER IF EXISTS tickets_ticket_number ON tickets_ticket;"
            "DROP FUNCTION IF EXISTS tickets_allocate_number();",
        ),
        migrations.RunSQL(
            TRANSITIONS,
            "DROP TRIGGER IF EXISTS tickets_ticket_status_transition ON tickets_ticket;"
            "DROP FUNCTION IF EXISTS tickets_check_status_transition();",
        ),
        migrations.RunSQL(
            HISTORY,
            "DROP TRIGGER IF EXISTS tickets_ticket_history ON tickets_ticket;"
            "DROP FUNCTION IF EXISTS tickets_record_history();"
            "DROP TRIGGER IF EXISTS tickets_tickethistory_append_only ON tickets_tickethistory;"
            "DROP FUNCTION IF EXISTS tickets_history_append_only();",
        ),
        migrations.RunSQL(
            CATEGORY_TREE,
            "DROP TRIGGER IF EXISTS tickets_category_no_cycle ON tickets_category;"
            "DROP FUNCTION IF EXISTS tickets_category_no_cycle();",
        ),
        migrations.RunSQL(
            "ALTER TABLE tickets_ticket ADD CONSTRAINT tickets_ticket_custom_fields_object"
            " CHECK (jsonb_typeof(custom_fields) = 'object')",
            "ALTER TABLE tickets_ticket DROP CONSTRAINT IF EXISTS tickets_ticket_custom_fields_object",
        ),
        *[
            touch_updated_at(t)
            for t in (
                "tickets_category",
                "tickets_ticket",
                "tickets_ticketcomment",
                "tickets_cannedresponse",
            )
        ],
        *[tenant_foreign_key(t, c, target, on_delete=d) for t, c, target, d in SAME_ORG],
        *[enable_rls(table) for table in TENANT_TABLES],
    ]
