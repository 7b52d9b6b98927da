"""Queues and ticket detail: fixed query counts at any size, backed by indexes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets import selectors, services
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def queries_for(func, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = func(**kwargs)
    return len(captured), result


@pytest.mark.parametrize("rows", [1, 50])
def test_queue_query_count_does_not_depend_on_page_size(tenant_a, app_role, rows, request):
    for _ in range(rows):
        ticket = open_ticket(tenant_a)
        services.ticket_assign(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                               assignee=tenant_a.agent)  # fmt: skip
    count, page = queries_for(
        selectors.ticket_queue, organization=tenant_a.org, actor=tenant_a.agent, queue="mine",
        limit=50,
    )  # fmt: skip
    assert len(page.items) == rows
    # tenant (swap in, swap back: the test's transaction is the outer one) and the page,
    # with customers, agents and teams joined
    assert count == 3
    for ticket in page.items:
        assert ticket.customer.email  # no lazy loads
        assert ticket.assignee.email


def test_keyset_pages_cover_the_queue_once(tenant_a, app_role):
    made = [open_ticket(tenant_a).number for _ in range(7)]
    seen, cursor = [], None
    while True:
        page = selectors.ticket_queue(organization=tenant_a.org, actor=tenant_a.agent,
                                      queue="unassigned", after=cursor, limit=3)  # fmt: skip
        seen += [t.number for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


def test_a_forged_cursor_is_a_field_error(tenant_a, app_role):
    with pytest.raises(ValidationFailed) as error:
        selectors.ticket_queue(organization=tenant_a.org, actor=tenant_a.agent, after="nope!")
    assert error.value.field == "cursor"


def test_customers_see_only_their_own_tickets(tenant_a, tenant_b, app_role):
    from deskbase.accounts.services import user_create

    mine = open_ticket(tenant_a)
    other = user_create(organization=tenant_a.org, actor=None, email="o@acme.test")
    open_ticket(tenant_a, customer=other)
    open_ticket(tenant_b)
    page = selectors.ticket_queue(organization=tenant_a.org, actor=tenant_a.customer)
    assert [t.id for t in page.items] == [mine.id]


@pytest.mark.parametrize("comments", [1, 20])
def test_detail_query_count_does_not_depend_on_the_conversation(tenant_a, app_role, comments):
    ticket = open_ticket(tenant_a)
    for i in range(comments):
        services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                             body=f"reply {i}", kind="internal" if i % 2 else "public")  # fmt: skip
    count, detail = queries_for(selectors.ticket_detail, organization=tenant_a.org,
                                actor=tenant_a.agent, number=ticket.number)  # fmt: skip
    assert len(detail.comments) == comments
    assert count == 7  # tenant (in, out), ticket, comments, attachments, history, SLA events
    # A customer sees public replies only, and no history
    customer_view = selectors.ticket_detail(organization=tenant_a.org, actor=tenant_a.customer,
                                            number=ticket.number)  # fmt: skip
    assert all(c.kind != "internal" for c in customer_view.comments)
    assert customer_view.history == []


def test_detail_of_another_tenants_ticket_is_not_found(tenant_a, tenant_b, app_role):
    ticket = open_ticket(tenant_a)
    open_ticket(tenant_b)
    with pytest.raises(NotFound):
        selectors.ticket_detail(organization=tenant_b.org, actor=tenant_b.agent,
                                number=ticket.number + 5)  # fmt: skip
    # B's ticket #1 is B's, never A's #1
    detail = selectors.ticket_detail(organization=tenant_b.org, actor=tenant_b.agent, number=1)
    assert detail.ticket.organization_id == tenant_b.org.id


def explain(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_queue_and_detail_queries_use_their_indexes(tenant_a):
    # Given a few thousand tickets (bulk SQL, as a load would) and fresh statistics
    ticket = open_ticket(tenant_a)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticket (organization_id, number, subject, description,"
            " description_html, status, priority, channel, tags, custom_fields, customer_id,"
            " assignee_id, sla_breach, version, delete_reason)"
            " SELECT %s, 0, 'bulk ' || i, '', '',"
            " (ARRAY['new', 'open', 'resolved', 'closed'])[1 + i %% 4],"
            " 'low', 'web', '{}', '{}', %s, CASE WHEN i %% 10 = 0 THEN %s END, false, 1, ''"
            " FROM generate_series(1, 3000) AS i",
            [tenant_a.org.id, tenant_a.customer.id, tenant_a.agent.id],
        )
        cursor.execute(
            "INSERT INTO tickets_ticketcomment (organization_id, ticket_id, author_id, kind,"
            " body_text, body_html, delete_reason)"
            " SELECT organization_id, id, %s, 'public', 'reply', '', '' FROM tickets_ticket,"
            " generate_series(1, 3)",
            [tenant_a.agent.id],
        )
        cursor.execute("ANALYZE tickets_ticket")
        cursor.execute("ANALYZE tickets_ticketcomment")
    with tenant(tenant_a.org, tenant_a.agent):
        from deskbase.tickets.models import Ticket, TicketComment

        # Then the agent's queue reads its index, not the table
        queue = Ticket.objects.filter(
            organization=tenant_a.org, assignee=tenant_a.agent, status__in=["new", "open"]
        ).order_by("-updated_at", "-id")[:25]
        assert "tickets_queue_assignee" in explain(*queue.query.sql_with_params())
        # And the conversation of a ticket reads the comment index
        comments = TicketComment.objects.filter(organization=tenant_a.org, ticket=ticket).order_by(
            "created_at", "id"
        )
        assert "tickets_comment_by_ticket" in explain(*comments.query.sql_with_params())
