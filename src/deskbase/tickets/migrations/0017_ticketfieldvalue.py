"""tickets_ticketfieldvalue: the scalar custom field values of the tickets not in the
trash, kept by a trigger on tickets_ticket, for the same reason as tickets_tickettag
(0016): `custom_fields @> ...` (jsonb) is not leakproof, `=` on text is.

A value is stored typed and normalized the way a filter spells it
(`selectors.custom_value_keys`): `s:` and the text, `n:` and the number without
trailing zeros (`trim_scale`: 5, 5.0 and 5.00 are one number, as jsonb compares
them), `b:true` / `b:false`. Arrays, objects and nulls are not stored (a filter never
matches them: `{"f": ["a"]} @> {"f": "a"}` is false). Values longer than 200
characters and keys longer than 100 are not stored either: a filter's value and name
are refused past those lengths, so no filter can match them.
"""

from django.db import migrations, models

from deskbase.core.migrations._frozen import enable_rls

SYNC = """
CREATE FUNCTION tickets_field_value_keys(fields jsonb) RETURNS TABLE (field text, value text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT e.key, CASE jsonb_typeof(e.value)
        WHEN 'string' THEN 's:' || (e.value #>> '{}')
        WHEN 'number' THEN 'n:' || trim_scale((e.value #>> '{}')::numeric)::text
        ELSE 'b:' || (e.value #>> '{}') END
    FROM jsonb_each(CASE WHEN jsonb_typeof(fields) = 'object' THEN fields END) AS e
    WHERE jsonb_typeof(e.value) IN ('string', 'number', 'boolean')
      AND length(e.key) <= 100 AND length(e.value #>> '{}') <= 200
$$;
CREATE FUNCTION tickets_sync_field_values() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tickets_ticketfieldvalue (organization_id, field, value, ticket_id)
        SELECT NEW.organization_id, k.field, k.value, NEW.id
        FROM tickets_field_value_keys(NEW.custom_fields) AS k;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM tickets_ticketfieldvalue
        WHERE organization_id = OLD.organization_id AND ticket_id = OLD.id
          AND (field, value) IN (SELECT * FROM tickets_field_value_keys(OLD.custom_fields));
    ELSE
        -- The live values before and after: none while the ticket is in the trash.
        WITH was AS (
                SELECT * FROM tickets_field_value_keys(
                    CASE WHEN OLD.deleted_at IS NULL THEN OLD.custom_fields END)),
             is_ AS (
                SELECT * FROM tickets_field_value_keys(
                    CASE WHEN NEW.deleted_at IS NULL THEN NEW.custom_fields END)),
             gone AS (
                DELETE FROM tickets_ticketfieldvalue
                WHERE organization_id = OLD.organization_id AND ticket_id = OLD.id
                  AND (field, value) IN (SELECT * FROM was EXCEPT SELECT * FROM is_)
             )
        INSERT INTO tickets_ticketfieldvalue (organization_id, field, value, ticket_id)
        SELECT NEW.organization_id, added.field, added.value, NEW.id
        FROM (SELECT * FROM is_ EXCEPT SELECT * FROM was) AS added
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_ticket_field_values_insert AFTER INSERT ON tickets_ticket
FOR EACH ROW WHEN (NEW.deleted_at IS NULL AND NEW.custom_fields <> '{}'::jsonb)
EXECUTE FUNCTION tickets_sync_field_values();
CREATE TRIGGER tickets_ticket_field_values_update
AFTER UPDATE OF custom_fields, deleted_at ON tickets_ticket
FOR EACH ROW WHEN (
    OLD.custom_fields IS DISTINCT FROM NEW.custom_fields
    OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
)
EXECUTE FUNCTION tickets_sync_field_values();
CREATE TRIGGER tickets_ticket_field_values_delete AFTER DELETE ON tickets_ticket
FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND OLD.custom_fields <> '{}'::jsonb)
EXECUTE FUNCTION tickets_sync_field_values();
"""
UNSYNC = """
DROP TRIGGER IF EXISTS tickets_ticket_field_values_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_field_values_update ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_field_values_delete ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_sync_field_values();
DROP FUNCTION IF EXISTS tickets_field_value_keys(jsonb);
"""
# One statement for every existing ticket, in the primary key's order.
FILL = """
INSERT INTO tickets_ticketfieldvalue (organization_id, field, value, ticket_id)
SELECT t.organization_id, k.field, k.value, t.id
FROM tickets_ticket t, tickets_field_value_keys(t.custom_fields) AS k
WHERE t.deleted_at IS NULL AND t.custom_fields <> '{}'::jsonb
ORDER BY 1, 2, 3, 4
ON CONFLICT DO NOTHING;
ANALYZE tickets_ticketfieldvalue;
"""


class Migration(migrations.Migration):
    dependencies = [("tickets", "0016_tickettag")]

    operations = [
        migrations.CreateModel(
            name="TicketFieldValue",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "organization_id",
                        "field",
                        "value",
                        "ticket_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("organization_id", models.BigIntegerField()),
                ("field", models.CharField(max_length=100)),
                ("value", models.CharField(max_length=202)),
                ("ticket_id", models.BigIntegerField()),
            ],
            options={"db_table": "tickets_ticketfieldvalue"},
        ),
        enable_rls("tickets_ticketfieldvalue"),
        migrations.RunSQL(SYNC, UNSYNC),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
