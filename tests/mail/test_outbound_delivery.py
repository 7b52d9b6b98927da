"""Mail about tickets leaves through the outbox to a real SMTP relay (aiosmtpd on loopback):
agent replies from the API and the desk reach the requester and the CCs with threading
headers, internal notes send nothing, portal tickets are acknowledged, a row is sent once,
a relay that is down is retried and a 5xx refusal fails the message with its answer."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction
from django.utils import timezone

from deskbase.mail import tokens
from deskbase.mail.headers import message_id_hash
from deskbase.mail.models import InboundMessage, OutboundMessage, Participant
from deskbase.mail.quotes import REPLY_MARKER
from deskbase.outbox import delivery
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import services
from tests.api.helpers import ApiClient
from tests.mail.relay import Relay, make_mailbox, relay_fixture  # noqa: F401  (fixture)
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


def inbound(world, mailbox, ticket, message_id: str, *, state: str = "ticket") -> InboundMessage:
    """A message as the inbound pipeline records it (its raw bytes are not needed here)."""
    return InboundMessage.objects.create(
        organization=world.org, mailbox=mailbox, message_id=message_id,
        message_id_hash=message_id_hash(message_id), raw_sha256=hashlib.sha256(b"x").hexdigest(),
        size=100, source="push", sender=world.customer.email, subject=ticket.subject,
        state=state, ticket=ticket,
    )  # fmt: skip


def make_due() -> None:
    OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())


def test_an_agent_reply_from_the_api_reaches_requester_and_cc_threaded(tenant_a, relay):
    # Given a ticket that came in by mail through a mailbox, with a CC
    mailbox = make_mailbox(tenant_a.org, relay.port, from_name="Acme Support")
    ticket = open_ticket(tenant_a, subject="Printer on fire")
    inbound(tenant_a, mailbox, ticket, "first@customer.example")
    inbound(tenant_a, mailbox, ticket, "second@customer.example", state="reply")
    Participant.objects.create(
        organization=tenant_a.org, ticket=ticket, email="boss@customer.example", name="The Boss"
    )

    # When an agent replies through the API and the worker delivers
    response = ApiClient(tenant_a.agent).post(
        f"/tickets/{ticket.number}/comments", {"body": "Unplug it, please."}
    )
    assert response.status_code == 201, response.content
    result = delivery.drain()

    # Then one message reached the requester and the CC, not the agent
    assert result.delivered == 1
    [sent] = relay.messages
    assert sorted(sent.rcpt_tos) == ["boss@customer.example", "customer@acme.test"]
    assert sent.mail_from == "support@acme.test"
    assert sent.header("To") == "Acme Customer <customer@acme.test>"
    assert sent.header("Cc") == "The Boss <boss@customer.example>"
    assert sent.header("From") == "Acme Support <support@acme.test>"
    # ... threaded on the customer's last message, with the whole chain
    row = OutboundMessage.objects.get()
    assert sent.header("Message-ID") == f"<{row.message_id}>"
    assert row.message_id.startswith(f"reply.{ticket.number}.")
    assert row.message_id.endswith("@deskbase.acme.test")
    assert sent.header("In-Reply-To") == "<second@customer.example>"
    assert sent.header("References") == "<first@customer.example> <second@customer.example>"
    # ... with the token in Reply-To and subject, and the marker above the reply
    token = tokens.ticket_token(organization_id=tenant_a.org.id, ticket_id=ticket.id,
                                number=ticket.number)  # fmt: skip
    assert sent.header("Reply-To") == f"Acme Support <support+{token}@acme.test>"
    assert sent.header("Subject") == f"Re: Printer on fire [#{token}]"
    assert sent.text().startswith(REPLY_MARKER)
    assert "Unplug it, please." in sent.text()
    assert REPLY_MARKER in sent.html()
    assert "Unplug it, please." in sent.html()
    # ... a human reply carries the loop header, not the automatic ones
    assert sent.header("X-Deskbase-Loop") == "acme"
    assert sent.header("Auto-Submitted") is None
    assert sent.header("X-Auto-Response-Suppress") is None
    # ... and the row says it was sent
    assert (row.state, row.kind, row.to_addresses, row.cc_addresses) == (
        "sent",
        "reply",
        ["customer@acme.test"],
        ["boss@customer.example"],
    )
    assert row.sent_at is not None


def test_a_desk_reply_goes_out_and_an_internal_note_does_not(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.agent)

    # When an agent writes an internal note, then a public reply, in the desk
    client.post(f"/desk/tickets/{ticket.number}/reply", {"body": "Gossip", "kind": "internal"})
    client.post(f"/desk/tickets/{ticket.number}/reply", {"body": "We are on it."})
    delivery.drain()

    # Then only the reply was mailed, and the note left no trace in the mail tables
    [sent] = relay.messages
    assert "We are on it." in sent.text()
    assert "Gossip" not in sent.raw.decode(errors="replace")
    assert OutboundMessage.objects.count() == 1


def test_a_second_reply_threads_on_the_first_when_no_mail_came_in(tenant_a, relay):
    # Given a ticket opened in the portal (nothing came in by mail)
    make_mailbox(tenant_a.org, relay.port)
    ticket = services.ticket_create(organization=tenant_a.org, actor=tenant_a.customer,
                                    subject="Login fails", channel="portal")  # fmt: skip
    for body in ("First answer", "Second answer"):
        services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                             body=body)  # fmt: skip
    delivery.drain()

    # Then the acknowledgement starts the thread and each reply answers the one before
    received, first, second = OutboundMessage.objects.order_by("id")
    by_id = {m.header("Message-ID"): m for m in relay.messages}
    assert by_id[f"<{first.message_id}>"].header("In-Reply-To") == f"<{received.message_id}>"
    reply = by_id[f"<{second.message_id}>"]
    assert reply.header("In-Reply-To") == f"<{first.message_id}>"
    assert reply.header("References") == f"<{received.message_id}> <{first.message_id}>"


def test_the_customers_own_comment_sends_nothing(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                         body="Any news?")  # fmt: skip
    assert delivery.drain().claimed == 0
    assert relay.messages == []
    assert not OutboundMessage.objects.exists()


def test_without_a_sending_mailbox_nothing_is_queued(tenant_a):
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Hello")  # fmt: skip
    assert not OutboundMessage.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_portal_ticket_is_acknowledged_automatically(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    client = signed_in(tenant_a.customer)
    response = client.post("/portal/new/", {"subject": "Cannot print", "description": "Help"})
    assert response.status_code == 302
    delivery.drain()

    [sent] = relay.messages
    assert sent.rcpt_tos == ["customer@acme.test"]
    assert sent.header("Subject").startswith("We received your request: Cannot print [#")
    assert sent.header("Auto-Submitted") == "auto-generated"
    assert sent.header("X-Auto-Response-Suppress") == "All"
    assert sent.header("X-Deskbase-Loop") == "acme"
    assert "Hello Acme Customer" in sent.text()
    assert OutboundMessage.objects.get().kind == "received"


def test_a_ticket_staff_open_for_the_customer_is_not_acknowledged(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    open_ticket(tenant_a)
    assert not OutboundMessage.objects.exists()


def test_a_second_delivery_of_the_same_row_sends_nothing_more(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Once")  # fmt: skip
    delivery.drain()
    assert len(relay.messages) == 1

    # When the outbox row is delivered again (as after a crash before its mark)
    OutboxMessage.objects.update(state="pending", delivered_at=None, next_attempt_at=timezone.now())
    result = delivery.drain()

    # Then the consumer found the message sent and sent nothing
    assert result.delivered == 1
    assert len(relay.messages) == 1


def test_a_relay_that_is_down_is_retried_then_delivered(tenant_a):
    # Given a mailbox whose relay is not listening yet
    down = Relay()
    make_mailbox(tenant_a.org, down.port)
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Are you there?")  # fmt: skip

    # When the worker tries: the row is retried, the message still queued
    assert delivery.drain().retried == 1
    row = OutboxMessage.objects.get()
    assert row.state == "pending"
    assert "Connection" in row.last_error
    assert OutboundMessage.objects.get().state == "queued"

    # When the relay comes up and the retry is due
    down.start()
    try:
        make_due()
        assert delivery.drain().delivered == 1
    finally:
        down.stop()

    # Then the message was sent once
    assert len(down.messages) == 1
    assert OutboundMessage.objects.get().state == "sent"


def test_a_permanent_refusal_fails_the_message_with_the_servers_answer(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    relay.handler.refuse_rcpt = "550 5.1.1 <customer@acme.test>: no such user"
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Hello?")  # fmt: skip

    result = delivery.drain()

    # Then no retry: the outbox row is done, the message failed with the answer
    assert (result.delivered, result.retried) == (1, 0)
    row = OutboundMessage.objects.get()
    assert row.state == "failed"
    assert "550 5.1.1 <customer@acme.test>: no such user" in row.error
    assert row.sent_at is None
    assert relay.messages == []


def test_a_temporary_refusal_is_retried(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    relay.handler.refuse_data = "451 4.3.0 try again later"
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Hello?")  # fmt: skip

    assert delivery.drain().retried == 1
    assert OutboundMessage.objects.get().state == "queued"
    relay.handler.refuse_data = None
    make_due()
    assert delivery.drain().delivered == 1
    assert OutboundMessage.objects.get().state == "sent"


def test_the_acknowledgement_of_a_mailed_ticket_answers_that_mail_from_its_mailbox(tenant_a, relay):
    # Given two mailboxes; the inbound pipeline opens a ticket, then links its message to it
    make_mailbox(tenant_a.org, relay.port, address="info@acme.test")
    sales = make_mailbox(tenant_a.org, relay.port, address="sales@acme.test")
    with transaction.atomic():
        ticket = services.ticket_create(organization=tenant_a.org, actor=tenant_a.customer,
                                        subject="Quote please", channel="email")  # fmt: skip
        inbound(tenant_a, sales, ticket, "quote-1@customer.example")

    # When the acknowledgement is sent
    delivery.drain()

    # Then it answers the customer's mail, from the mailbox it came in through
    [sent] = relay.messages
    assert sent.mail_from == "sales@acme.test"
    assert sent.header("In-Reply-To") == "<quote-1@customer.example>"
    assert sent.header("References") == "<quote-1@customer.example>"
    row = OutboundMessage.objects.get()
    assert (row.kind, row.in_reply_to, row.mailbox_id) == (
        "received",
        "quote-1@customer.example",
        sales.id,
    )
