"""The tag filters' and custom field filters' rows computed in bulk SQL, after
`deskbase generate`.

The bulk load disables the ticket triggers that keep tickets_tickettag (migration
0016) and tickets_ticketfieldvalue (0017) (row by row they would queue an AFTER event
per ticket) and calls `rebuild`: one INSERT ... SELECT each for the loaded tickets, in
the primary key's order, the same statements that filled the tables in those
migrations.
"""

from __future__ import annotations

from collections.abc import Iterator

TRIGGERS = tuple(
    ("tickets_ticket", f"tickets_ticket_{kind}_{event}")
    for kind in ("tags", "field_values")
    for event in ("insert", "update", "delete")
)
STEPS = 1

TAGS = """
INSERT INTO tickets_tickettag (organization_id, tag, ticket_id)
SELECT DISTINCT t.organization_id, tag, t.id
FROM tickets_ticket t, unnest(t.tags) AS tag
WHERE t.id > %(after)s AND t.deleted_at IS NULL
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING
"""
FIELD_VALUES = """
INSERT INTO tickets_ticketfieldvalue (organization_id, field, value, ticket_id)
SELECT t.organization_id, k.field, k.value, t.id
FROM tickets_ticket t, tickets_field_value_keys(t.custom_fields) AS k
WHERE t.id > %(after)s AND t.deleted_at IS NULL AND t.custom_fields <> '{}'::jsonb
ORDER BY 1, 2, 3, 4
ON CONFLICT DO NOTHING
"""


def rebuild(cursor, after_ticket_id: int) -> Iterator[str]:
    """The tag and custom field rows of every live ticket above `after_ticket_id`."""
    yield "ticket tags and custom field values"
    cursor.execute(TAGS, {"after": after_ticket_id})
    cursor.execute(FIELD_VALUES, {"after": after_ticket_id})
    cursor.execute("ANALYZE tickets_tickettag")
    cursor.execute("ANALYZE tickets_ticketfieldvalue")
