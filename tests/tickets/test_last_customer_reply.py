"""The customer's last public reply, kept on the ticket for the time rules that wait on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.models import CommentKind, Ticket
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def reply(world, ticket, actor, at, kind=CommentKind.PUBLIC):
    return services.comment_add(organization=world.org, actor=actor, ticket=ticket,
                                body="Any news?", kind=kind, at=at)  # fmt: skip


def last_reply(world, ticket):
    with tenant(world.org):
        return Ticket.objects.get(pk=ticket.pk).last_customer_reply_at


def test_only_the_customers_public_replies_count_and_hiding_one_counts_again(tenant_a):
    now = timezone.now()
    ticket = open_ticket(tenant_a, at=now - timedelta(hours=6))
    version = ticket.version
    # Given a customer reply at -5 h, then an agent reply and an internal note later
    first = reply(tenant_a, ticket, tenant_a.customer, now - timedelta(hours=5))
    reply(tenant_a, ticket, tenant_a.agent, now - timedelta(hours=4))
    reply(tenant_a, ticket, tenant_a.agent, now - timedelta(hours=3), CommentKind.INTERNAL)
    # Then the last customer reply is the customer's, at -5 h
    assert last_reply(tenant_a, ticket) == first.created_at
    # And a second customer reply moves it, without bumping the version (not an edit)
    with tenant(tenant_a.org):
        before = Ticket.objects.get(pk=ticket.pk).version
    second = reply(tenant_a, ticket, tenant_a.customer, now - timedelta(hours=2))
    assert last_reply(tenant_a, ticket) == second.created_at
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).version == before
    assert before >= version
    # When the agent hides the newer customer reply, the older one counts again
    services.comment_soft_delete(organization=tenant_a.org, actor=tenant_a.agent, comment=second)
    assert last_reply(tenant_a, ticket) == first.created_at
    # ... and restoring it brings it back
    services.comment_restore(organization=tenant_a.org, actor=tenant_a.agent, comment=second)
    assert last_reply(tenant_a, ticket) == second.created_at


def test_a_merge_moves_the_customers_replies_and_their_time(tenant_a):
    now = timezone.now()
    source = open_ticket(tenant_a, subject="Source", at=now - timedelta(hours=6))
    target = open_ticket(tenant_a, subject="Target", at=now - timedelta(hours=6))
    said = reply(tenant_a, source, tenant_a.customer, now - timedelta(hours=1))
    assert last_reply(tenant_a, target) is None
    # When the source is merged into the target
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    # Then the reply's time went with it
    assert last_reply(tenant_a, target) == said.created_at
    assert last_reply(tenant_a, source) is None
