"""Redacting tickets' content while their skeleton stays (docs/privacy.md).

Erasure (a customer's tickets and the comments they wrote) and retention (closed
tickets past the organization's months, whole conversations) share these steps.
Every statement is set-based SQL over ids, under the caller's tenant: nothing is
loaded into memory per row. What stays of a ticket: number, status, priority,
channel, category, team, assignee, customer (the erased person's placeholder), SLA
fields and every timestamp, so statistics are the same afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from deskbase.tickets.attachments import path_for

logger = logging.getLogger(__name__)

MARK = "[redacted]"
MARK_HTML = "<p>[redacted]</p>"


def _execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def redact_tickets(org_id: int, ticket_ids: list[int]) -> int:
    """Subject and description replaced, their history values too; the search
    document follows by trigger. Returns the tickets changed."""
    if not ticket_ids:
        return 0
    subjects = _fetch(
        "SELECT DISTINCT subject FROM tickets_ticket WHERE organization_id = %s AND id = ANY(%s)"
        " AND subject <> %s",
        [org_id, ticket_ids, MARK],
    )
    changed = _execute(
        "UPDATE tickets_ticket SET subject = %s, description = '', description_html = '',"
        " version = version + 1 WHERE organization_id = %s AND id = ANY(%s)"
        " AND (subject <> %s OR description <> '')",
        [MARK, org_id, ticket_ids, MARK],
    )
    # The update above wrote history rows holding the old text; so did earlier edits.
    _execute(
        "UPDATE tickets_tickethistory SET"
        " old_value = CASE WHEN old_value IS NULL THEN NULL ELSE %s END,"
        " new_value = CASE WHEN new_value IS NULL THEN NULL ELSE %s END"
        " WHERE organization_id = %s AND ticket_id = ANY(%s)"
        " AND field IN ('subject', 'description')"
        " AND (old_value IS DISTINCT FROM %s AND old_value IS NOT NULL"
        "      OR new_value IS DISTINCT FROM %s AND new_value IS NOT NULL)",
        [MARK, MARK, org_id, ticket_ids, MARK, MARK],
    )
    _forget_subjects(org_id, [row[0] for row in subjects])
    _execute(
        "UPDATE tickets_csatresponse SET comment = '' WHERE organization_id = %s"
        " AND ticket_id = ANY(%s) AND comment <> ''",
        [org_id, ticket_ids],
    )
    _execute(
        "UPDATE mail_outboundmessage SET subject = %s, to_addresses = '[]',"
        " cc_addresses = '[]' WHERE organization_id = %s AND ticket_id = ANY(%s)",
        [MARK, org_id, ticket_ids],
    )
    return changed


def _forget_subjects(org_id: int, subjects: list[str]) -> None:
    """The suggestion lists (search_subject, search_word) keep no redacted subject,
    nor a word that only such a subject brought."""
    if not subjects:
        return
    still = "SELECT 1 FROM tickets_ticket t WHERE t.organization_id = %s AND lower(t.subject) = s"
    _execute(
        f"DELETE FROM search_subject WHERE organization_id = %s AND lower(subject) IN"  # noqa: S608
        f" (SELECT s FROM unnest(%s::text[]) AS s WHERE NOT EXISTS ({still}))",
        [org_id, [s.lower() for s in subjects], org_id],
    )
    _execute(
        "DELETE FROM search_word w WHERE w.organization_id = %s AND w.word IN ("
        "  SELECT DISTINCT x FROM unnest(%s::text[]) AS s,"
        "  regexp_split_to_table(lower(unaccent(s)), '[^[:alnum:]]+') AS x)"
        " AND NOT EXISTS (SELECT 1 FROM search_subject o WHERE o.organization_id = %s"
        "  AND lower(unaccent(o.subject)) ~ ('\\m' || w.word || '\\M'))",
        [org_id, subjects, org_id],
    )


def redact_comments(org_id: int, where: str, params: Sequence[Any]) -> int:
    """Comments matching `where` (over tickets_ticketcomment) get the marker as text."""
    return _execute(
        "UPDATE tickets_ticketcomment SET body_text = %s, body_html = %s"  # noqa: S608
        f" WHERE organization_id = %s AND ({where}) AND body_text <> %s",
        [MARK, MARK_HTML, org_id, *params, MARK],
    )


def delete_attachments(org_id: int, where: str, params: Sequence[Any]) -> list[str]:
    """Attachment rows matching `where` removed; their digests returned for the files."""
    rows = _fetch(
        f"DELETE FROM tickets_ticketattachment WHERE organization_id = %s AND ({where})"  # noqa: S608
        " RETURNING sha256",
        [org_id, *params],
    )
    return [row[0] for row in rows]


def delete_inbound_mail(org_id: int, where: str, params: Sequence[Any]) -> list[str]:
    """Received messages matching `where` removed; digests of their raw .eml returned."""
    rows = _fetch(
        f"DELETE FROM mail_inboundmessage WHERE organization_id = %s AND ({where})"  # noqa: S608
        " RETURNING raw_sha256",
        [org_id, *params],
    )
    return [row[0] for row in rows]


def remove_files_after_commit(digests: Iterable[str]) -> None:
    """Delete the stored files once the transaction that dropped their rows commits.

    A file stays while any row of any tenant still refers to the same bytes. Should
    the process die between the commit and this, `deskbase db_maintenance --check
    --remove-orphans` finds the files no row refers to.
    """
    wanted = sorted(set(digests))
    if wanted:
        transaction.on_commit(lambda: remove_unreferenced(wanted))


def remove_unreferenced(digests: Iterable[str]) -> int:
    removed = 0
    for digest in digests:
        with connection.cursor() as cursor:
            cursor.execute("SELECT privacy_file_in_use(%s)", [digest])
            if cursor.fetchone()[0]:
                continue
        try:
            path_for(digest).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            logger.exception("could not remove the stored file %s", digest)
    return removed
