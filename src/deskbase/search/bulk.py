"""Search rows computed in bulk SQL: after `deskbase generate`, and for `search reindex`.

The bulk load disables the ticket trigger that keeps `search_ticketdocument`
(row by row it would queue a million AFTER events and grow the GIN index one
entry at a time) and calls `rebuild` before it re-creates its indexes: one
INSERT ... SELECT, then one sorted GIN build. The BEFORE triggers that set the
`search_vector` columns of comments and attachments stay enabled during COPY:
they compute the vector as the row is written, which is what a later UPDATE
would do too, without writing every row twice (docs/search.md has the timings).
"""

from __future__ import annotations

from collections.abc import Iterator

from psycopg import sql

TRIGGERS = (("tickets_ticket", "search_ticket_document"),)
STEPS = 2
DOCUMENT_INDEX = "search_ticketdocument_gin"

# One row per ticket after `after`; the configuration is looked up once per organization.
DOCUMENTS = """
INSERT INTO search_ticketdocument (ticket_id, organization_id, document)
SELECT t.id, t.organization_id, search_ticket_vector(o.cfg, t.subject, t.description)
FROM tickets_ticket t
JOIN (SELECT id, search_config(id) AS cfg FROM organizations_organization) o
  ON o.id = t.organization_id
WHERE t.id > %(after)s AND (%(org)s::bigint IS NULL OR t.organization_id = %(org)s::bigint)
ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document
"""
SUBJECTS = """
INSERT INTO search_subject (organization_id, subject)
SELECT DISTINCT ON (organization_id, lower(subject)) organization_id, subject
FROM tickets_ticket
WHERE id > %(after)s AND (%(org)s::bigint IS NULL OR organization_id = %(org)s::bigint)
ORDER BY organization_id, lower(subject), id
ON CONFLICT DO NOTHING
"""
WORDS = """
INSERT INTO search_word (organization_id, word)
SELECT DISTINCT s.organization_id, w
FROM search_subject s,
     regexp_split_to_table(lower(unaccent(s.subject)), '[^[:alnum:]]+') AS w
WHERE length(w) BETWEEN 3 AND 40
  AND (%(org)s::bigint IS NULL OR s.organization_id = %(org)s::bigint)
UNION
SELECT DISTINCT c.organization_id, w
FROM tickets_cannedresponse c,
     regexp_split_to_table(lower(unaccent(c.name)), '[^[:alnum:]]+') AS w
WHERE length(w) BETWEEN 3 AND 40 AND c.deleted_at IS NULL
  AND (%(org)s::bigint IS NULL OR c.organization_id = %(org)s::bigint)
ON CONFLICT DO NOTHING
"""


def _index_definition(cursor) -> str | None:
    cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [DOCUMENT_INDEX])
    row = cursor.fetchone()
    return row[0] if row else None


def rebuild(cursor, after_ticket_id: int) -> Iterator[str]:
    """Documents, subjects and words of every ticket with an id above `after_ticket_id`."""
    yield "search documents"
    definition = _index_definition(cursor)
    if definition:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(DOCUMENT_INDEX)))
    params = {"after": after_ticket_id, "org": None}
    cursor.execute(DOCUMENTS, params)
    if definition:
        cursor.execute(definition)
    yield "search subjects and words"
    cursor.execute(SUBJECTS, params)
    cursor.execute(WORDS, params)
    cursor.execute("ANALYZE search_ticketdocument")
    cursor.execute("ANALYZE search_subject")
    cursor.execute("ANALYZE search_word")


COLUMN_TABLES = {
    # table: a column whose no-op update makes the BEFORE trigger recompute the vector
    "tickets_ticketcomment": "body_text",
    "tickets_cannedresponse": "name",
    "accounts_user": "full_name",
    "tickets_ticketattachment": "file_name",
}


def reindex(cursor, organization_id: int | None = None) -> Iterator[tuple[str, int]]:
    """Recompute every vector (of one organization, or all); yields (what, rows)."""
    params = {"after": 0, "org": organization_id}
    # The vector triggers keep updated_at while this is on (migration 0001).
    cursor.execute("SELECT set_config('deskbase.search_reindex', 'on', true)")
    cursor.execute(DOCUMENTS, params)
    yield "tickets", cursor.rowcount
    for table, column in COLUMN_TABLES.items():
        cursor.execute(
            sql.SQL("UPDATE {} SET {} = {} WHERE %(org)s::bigint IS NULL"
                    " OR organization_id = %(org)s::bigint").format(
                sql.Identifier(table), sql.Identifier(column), sql.Identifier(column)
            ),
            params,
        )  # fmt: skip
        yield table, cursor.rowcount
    cursor.execute(
        "UPDATE organizations_organization SET name = name"
        " WHERE %(org)s::bigint IS NULL OR id = %(org)s::bigint",
        params,
    )
    yield "organizations_organization", cursor.rowcount
    cursor.execute(SUBJECTS, params)
    cursor.execute(WORDS, params)
    yield "suggestions", cursor.rowcount
