"""Acts recorded at the time they happened (`at`): history, SLA events, updated_at."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.models import CsatResponse, Ticket, TicketComment, TicketHistory

pytestmark = pytest.mark.django_db


def test_a_past_conversation_is_recorded_when_it_happened(tenant_a, tenant_b, request):
    world, org = tenant_a, tenant_a.org
    now = timezone.now()
    opened, answered, resolved, rated = (now - timedelta(days=d) for d in (3, 2, 1, 0.5))
    # Given a ticket the customer opened three days ago (imported with its times)
    ticket = services.ticket_create(
        organization=org, actor=world.customer, subject="Webhooks fail", at=opened
    )
    # When the agent's reply, the resolution and the rating are recorded at their times
    services.ticket_assign(
        organization=org, actor=world.agent, ticket=ticket, assignee=world.agent,
        at=opened + timedelta(hours=1),
    )  # fmt: skip
    services.comment_add(
        organization=org, actor=world.agent, ticket=ticket, body="Fixed it", at=answered
    )
    services.ticket_change_status(
        organization=org, actor=world.agent, ticket=ticket, status="resolved", at=resolved
    )
    services.csat_record(organization=org, actor=world.customer, ticket=ticket, rating=5, at=rated)
    with tenant(org):
        ticket.refresh_from_db()
        history = list(
            TicketHistory.objects.filter(ticket=ticket).values_list("field", "actor", "created_at")
        )
        comment = TicketComment.objects.get(ticket=ticket)
        rating = CsatResponse.objects.get(ticket=ticket)
    # Then the history says who did what when, and updated_at is the last of it
    assert ("created", world.customer.id, opened) in history
    assert ("assignee_id", world.agent.id, opened + timedelta(hours=1)) in history
    assert ("first_response_at", world.agent.id, answered) in history
    assert ("status", world.agent.id, resolved) in history
    assert ("satisfaction", world.customer.id, rated) in history
    assert max(at for _, _, at in history) == rated == ticket.updated_at
    assert comment.created_at == comment.updated_at == answered
    assert rating.created_at == rated
    assert ticket.first_response_at == answered
    assert ticket.resolved_at == resolved
    # And tenant B has none of it (read as the server reads, under row-level security)
    request.getfixturevalue("app_role")
    with tenant(tenant_b.org):
        assert not Ticket.objects.exists()


def test_a_write_after_a_past_one_in_the_same_transaction_is_stamped_now(tenant_a):
    world, org = tenant_a, tenant_a.org
    with tenant(org):
        before = _db_now()
    ticket = services.ticket_create(
        organization=org, actor=world.agent, customer=world.customer, subject="Old one",
        at=timezone.now() - timedelta(days=5),
    )  # fmt: skip
    # When a change without `at` follows in the same (test) transaction
    services.ticket_assign(organization=org, actor=world.agent, ticket=ticket, assignee=world.agent)
    with tenant(org):
        ticket.refresh_from_db()
        assigned = TicketHistory.objects.get(ticket=ticket, field="assignee_id")
    # Then it is recorded now, not at the import's time
    assert assigned.created_at >= before
    assert ticket.updated_at >= before


def test_a_time_in_the_future_is_refused_and_changes_nothing(tenant_a):
    world, org = tenant_a, tenant_a.org
    ticket = services.ticket_create(
        organization=org, actor=world.customer, subject="Later", at=None
    )
    with pytest.raises(ValidationFailed) as error:
        services.comment_add(
            organization=org, actor=world.customer, ticket=ticket, body="From the future",
            at=timezone.now() + timedelta(days=1),
        )  # fmt: skip
    assert list(error.value.errors) == ["at"]
    with tenant(org):
        assert not TicketComment.objects.filter(ticket=ticket).exists()


def _db_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]
