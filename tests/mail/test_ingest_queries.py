"""The queries one received message costs: a fixed number, whatever the message names.

A new ticket and a threaded reply each take the same number of queries with one
recipient or many, and with one earlier message in References or many (threading
looks them all up at once, and the tickets they point to in one more query).
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.mail import ingest
from deskbase.mail.models import InboundMessage, InboundState, Participant, Source
from deskbase.tickets import services as tickets
from deskbase.tickets.models import Ticket

MANY = 8


def counted(world, raw: bytes) -> tuple[InboundMessage, int]:
    with CaptureQueriesContext(connection) as queries:
        inbound = ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)
    return inbound, len(queries.captured_queries)


def opened(world, raw_message, subject: str) -> InboundMessage:
    inbound = ingest.receive(
        mailbox=world.mailbox, raw=raw_message(subject=subject), source=Source.PUSH
    )
    assert inbound.state == InboundState.TICKET
    return inbound


def test_a_new_ticket_costs_the_same_queries_for_one_recipient_or_many(mail_a, raw_message):
    # Given a first message (the sender's account and the tables warmed up)
    opened(mail_a, raw_message, "Warm up")
    # When a message copied to one person and one copied to many are received
    one, few = counted(mail_a, raw_message(subject="Printer", cc="ann@client.example"))
    many_cc = ", ".join(f"p{i}@client.example" for i in range(MANY))
    many, lots = counted(mail_a, raw_message(subject="Scanner", cc=many_cc))
    # Then both open a ticket with their participants, for the same number of queries
    assert (one.state, many.state) == (InboundState.TICKET, InboundState.TICKET)
    assert Participant.objects.filter(ticket_id=many.ticket_id).count() == MANY
    assert lots == few


def test_a_threaded_reply_costs_the_same_queries_for_one_reference_or_many(mail_a, raw_message):
    # Given a ticket opened by mail, and earlier messages whose tickets were deleted since
    first = opened(mail_a, raw_message, "Printer")
    gone = [opened(mail_a, raw_message, f"Old {i}") for i in range(MANY)]
    for inbound in gone:
        tickets.ticket_soft_delete(
            organization=mail_a.org, actor=mail_a.agent, ticket=inbound.ticket
        )
    # When a reply names only the first message, and another names the deleted ones too
    one, few = counted(
        mail_a, raw_message(subject="Re: Printer", in_reply_to=f"<{first.message_id}>")
    )
    references = " ".join(f"<{inbound.message_id}>" for inbound in [first, *gone])
    many, lots = counted(
        mail_a,
        raw_message(subject="Re: Printer", in_reply_to=f"<{gone[-1].message_id}>",
                    references=references),
    )  # fmt: skip
    # Then both join the live ticket, for the same number of queries
    assert (one.state, many.state) == (InboundState.REPLY, InboundState.REPLY)
    assert one.ticket_id == many.ticket_id == first.ticket_id
    assert Ticket.objects.filter(pk=first.ticket_id).exists()
    assert lots == few
