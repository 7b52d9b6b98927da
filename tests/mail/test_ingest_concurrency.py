"""Receivers at the same time, on real connections: one row, one ticket, one customer."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.mail import ingest
from deskbase.mail.models import InboundMessage, InboundState, Source
from deskbase.tickets.models import Ticket
from tests.conftest import make_tenant
from tests.mail.conftest import build_message, make_mailbox
from tests.tickets.test_concurrency import in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_same_message_received_by_two_processes_at_once_is_one_row_and_one_ticket():
    # Given a mailbox, and one message delivered twice at the same moment (IMAP and a retry)
    world = make_tenant("acme")
    mailbox = make_mailbox(world, "support@acme.test")
    raw = build_message(sender="Nina <nina@example.org>")
    # When two receivers take it at once
    results = in_threads(2, lambda i: ingest.receive(mailbox=mailbox, raw=raw, source=Source.PUSH))
    # Then both answer with the same row; there is one message, one ticket, one customer
    assert all(isinstance(r, InboundMessage) for r in results), results
    assert results[0].pk == results[1].pk
    with tenant(world.org):
        assert InboundMessage.objects.count() == 1
        assert Ticket.objects.count() == 1
        assert User.objects.filter(email="nina@example.org").count() == 1


def test_two_first_messages_of_a_new_sender_at_once_make_one_customer():
    # Given two different messages from a sender the organization does not know yet
    world = make_tenant("acme")
    mailbox = make_mailbox(world, "support@acme.test")
    raws = [build_message(sender="nina@example.org", subject=f"s{i}") for i in range(2)]
    # When they are received at the same moment
    results = in_threads(
        2, lambda i: ingest.receive(mailbox=mailbox, raw=raws[i], source=Source.PUSH)
    )
    # Then each opened its ticket, both for the one customer made for the sender
    assert [r.state for r in results] == [InboundState.TICKET, InboundState.TICKET], results
    with tenant(world.org):
        nina = User.objects.get(email="nina@example.org")
        assert set(Ticket.objects.values_list("customer_id", flat=True)) == {nina.id}
        assert Ticket.objects.count() == 2
