"""tickets_tickettag rows computed in bulk SQL, after `deskbase generate`.

The bulk load disables the ticket triggers that keep tickets_tickettag (row by row
they would queue an AFTER event per tagged ticket) and calls `rebuild`: one
INSERT ... SELECT of the loaded tickets' tags, in the primary key's order. The same
statement filled the table for the existing tickets in migration 0014.
"""

from __future__ import annotations

from collections.abc import Iterator

TRIGGERS = (
    ("tickets_ticket", "tickets_ticket_tags_insert"),
    ("tickets_ticket", "tickets_ticket_tags_update"),
    ("tickets_ticket", "tickets_ticket_tags_delete"),
)
STEPS = 1

FILL = """
INSERT INTO tickets_tickettag (organization_id, tag, ticket_id)
SELECT DISTINCT t.organization_id, tag, t.id
FROM tickets_ticket t, unnest(t.tags) AS tag
WHERE t.id > %(after)s AND t.deleted_at IS NULL
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING
"""


def rebuild(cursor, after_ticket_id: int) -> Iterator[str]:
    """The tag rows of every live ticket with an id above `after_ticket_id`."""
    yield "ticket tags"
    cursor.execute(FILL, {"after": after_ticket_id})
    cursor.execute("ANALYZE tickets_tickettag")
