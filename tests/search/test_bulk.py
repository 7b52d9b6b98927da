"""A bulk load (`deskbase generate`) and `deskbase search reindex` leave every vector right."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db

# Every vector as the triggers compute it, compared with what is stored.
WRONG = {
    "tickets": """SELECT count(*) FROM tickets_ticket t
                  LEFT JOIN search_ticketdocument d ON d.ticket_id = t.id
                  WHERE d.document IS DISTINCT FROM search_ticket_vector(
                      search_config(t.organization_id), t.subject, t.description)""",
    "comments": """SELECT count(*) FROM tickets_ticketcomment c
                   WHERE c.search_vector IS DISTINCT FROM setweight(to_tsvector(
                       search_config(c.organization_id), c.body_text), 'C')""",
    "attachments": """SELECT count(*) FROM tickets_ticketattachment
                      WHERE search_vector IS NULL""",
    "people": "SELECT count(*) FROM accounts_user WHERE search_vector IS NULL",
    "canned": "SELECT count(*) FROM tickets_cannedresponse WHERE search_vector IS NULL",
    "subjects": """SELECT count(*) FROM (SELECT DISTINCT organization_id, lower(subject)
                   FROM tickets_ticket) s WHERE NOT EXISTS (SELECT 1 FROM search_subject x
                   WHERE x.organization_id = s.organization_id AND lower(x.subject) = s.lower)""",
    "orphans": """SELECT count(*) FROM search_ticketdocument d
                  WHERE NOT EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = d.ticket_id)""",
}


def wrong() -> dict[str, int]:
    found = {}
    with connection.cursor() as cursor:
        for what, sql in WRONG.items():
            cursor.execute(sql)
            found[what] = cursor.fetchone()[0]
    return found


def counts() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM tickets_ticket),"
                       " (SELECT count(*) FROM tickets_ticketcomment)")  # fmt: skip
        return cursor.fetchone()


def test_generate_then_append_leave_every_vector_right():
    call_command("generate", "--tickets=300", "--orgs=3", "--seed=5", "--until=2026-06-01",
                 verbosity=0)  # fmt: skip
    call_command("generate", "--tickets=120", "--orgs=2", "--seed=6", "--until=2026-06-01",
                 "--append", verbosity=0)  # fmt: skip
    tickets, comments = counts()
    assert tickets == 420
    assert comments > 0
    assert wrong() == dict.fromkeys(WRONG, 0)


def test_reindex_recomputes_without_touching_updated_at():
    call_command("generate", "--tickets=100", "--orgs=2", "--seed=5", "--until=2026-06-01",
                 verbosity=0)  # fmt: skip
    with connection.cursor() as cursor:
        # Given vectors made wrong behind the triggers' back
        cursor.execute("UPDATE search_ticketdocument SET document = ''")
        cursor.execute(
            "ALTER TABLE tickets_ticketcomment DISABLE TRIGGER tickets_ticketcomment_vector"
        )
        cursor.execute("UPDATE tickets_ticketcomment SET search_vector = NULL")
        cursor.execute(
            "ALTER TABLE tickets_ticketcomment ENABLE TRIGGER tickets_ticketcomment_vector"
        )
        cursor.execute("SELECT sum(hashtext(updated_at::text)) FROM tickets_ticketcomment")
        before = cursor.fetchone()[0]
    assert wrong()["tickets"] == 100
    # When an operator re-indexes
    out = io.StringIO()
    call_command("search", "reindex", stdout=out)
    # Then everything is right again, and no comment looks edited
    assert "re-indexed every organization" in out.getvalue()
    assert wrong() == dict.fromkeys(WRONG, 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(hashtext(updated_at::text)) FROM tickets_ticketcomment")
        assert cursor.fetchone()[0] == before
    stats = io.StringIO()
    call_command("search", "stats", stdout=stats)
    assert "search_ticketdocument_gin" in stats.getvalue()


@pytest.mark.django_db
def test_stats_round_search_latencies_to_a_tenth_of_a_millisecond(tenant_a):
    # Given searches that took fractions of a millisecond more than whole ones
    with connection.cursor() as cursor:
        for latency in (12.04, 20.5, 36.19128751754761):
            cursor.execute(
                "INSERT INTO search_searchlog (organization_id, query, result_count, latency_ms)"
                " VALUES (%s, 'printer', 1, %s)",
                [tenant_a.org.id, latency],
            )
    # When an operator asks for the search statistics
    out = io.StringIO()
    call_command("search", "stats", stdout=out)
    # Then the latencies read as milliseconds with one decimal
    assert "latency average 22.9 ms, p95 34.6 ms" in out.getvalue(), out.getvalue()
