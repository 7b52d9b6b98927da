"""A raw message in, a ticket or a reply out: exactly once, inside its organization."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import Role, User
from deskbase.core.errors import ValidationFailed
from deskbase.dbtools import maintenance
from deskbase.mail import headers, ingest
from deskbase.mail.models import (
    InboundMessage,
    InboundState,
    OutboundKind,
    OutboundMessage,
    Participant,
    Source,
)
from deskbase.tickets.attachments import path_for
from deskbase.tickets.models import Channel, CommentKind, Ticket, TicketComment


def receive(world, raw: bytes) -> InboundMessage:
    return ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)


def sent_reply(world, ticket, message_id: str) -> OutboundMessage:
    """Our reply on the ticket, as the outbound part records it."""
    return OutboundMessage.objects.create(
        organization=world.org, mailbox=world.mailbox, ticket=ticket, kind=OutboundKind.REPLY,
        message_id=message_id, message_id_hash=headers.message_id_hash(message_id),
        subject=ticket.subject, to_addresses=[ticket.customer.email],
    )  # fmt: skip


def test_a_message_from_an_unknown_sender_opens_an_email_ticket_for_a_new_customer(
    mail_a, raw_message
):
    # Given a message from someone the organization does not know yet
    raw = raw_message(sender="Nina New <Nina@Example.org>", subject="Cannot log in")
    # When it is received
    inbound = receive(mail_a, raw)
    # Then the sender is a customer of the organization, with a ticket from the email channel
    nina = User.objects.get(organization=mail_a.org, email="nina@example.org")
    assert nina.role == Role.CUSTOMER
    assert nina.full_name == "Nina New"
    assert not nina.has_usable_password()
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    assert (ticket.customer_id, ticket.channel, ticket.subject) == (
        nina.id, Channel.EMAIL, "Cannot log in",
    )  # fmt: skip
    assert "printer is on fire" in ticket.description
    # And the message is recorded with its decision and its raw bytes kept
    assert inbound.state == InboundState.TICKET
    assert inbound.decision == (
        f"Opened #{ticket.number}: no earlier message, token or subject matched."
    )
    assert inbound.sender == "nina@example.org"
    assert path_for(inbound.raw_sha256).read_bytes() == raw
    # And the kept raw file is not an orphan for the maintenance check
    assert path_for(inbound.raw_sha256) not in maintenance.orphaned_files(
        older_than=__import__("datetime").timedelta(0)
    )


def test_a_reply_to_our_mail_is_a_public_comment_by_the_customer(mail_a, raw_message):
    # Given a ticket opened by mail and our reply to it
    first = receive(mail_a, raw_message(subject="Broken"))
    ticket = Ticket.objects.get(pk=first.ticket_id)
    sent_reply(mail_a, ticket, "reply-1@acme.test")
    # When the customer answers our reply, quoting it
    raw = raw_message(
        subject="Re: Broken", in_reply_to="<reply-1@acme.test>",
        references=f"<{first.message_id}> <reply-1@acme.test>",
        body="It works now, thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Support <support@acme.test>"
        " wrote:\n> Please restart it.\n",
    )  # fmt: skip
    inbound = receive(mail_a, raw)
    # Then it is added to the ticket as the customer's public comment, without the quote
    assert inbound.state == InboundState.REPLY
    assert inbound.ticket_id == ticket.id
    comment = TicketComment.objects.get(pk=inbound.comment_id)
    assert comment.kind == CommentKind.PUBLIC
    assert comment.author_id == mail_a.customer.id
    assert "It works now" in comment.body_text
    assert "restart" not in comment.body_text
    assert inbound.decision == (
        f"Added to #{ticket.number} because In-Reply-To matched our reply <reply-1@acme.test>."
    )
    assert Ticket.objects.count() == 1


def test_the_same_message_received_twice_is_one_row_and_one_ticket(mail_a, raw_message):
    # Given a message already received (the server was not told before a crash)
    raw = raw_message()
    first = receive(mail_a, raw)
    # When it is delivered again
    again = receive(mail_a, raw)
    # Then it is the same row, and no second ticket was made
    assert again.pk == first.pk
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_a_message_without_message_id_gets_a_deterministic_one(mail_a, raw_message):
    # Given a message with no Message-ID header
    raw = raw_message(no_message_id=True)
    # When it is received twice
    first = receive(mail_a, raw)
    again = receive(mail_a, raw)
    # Then both deliveries name the same generated id: one row, one ticket
    assert first.message_id
    assert again.pk == first.pk
    assert Ticket.objects.count() == 1


def test_the_same_message_id_in_two_organizations_is_two_messages(mail_a, mail_b, raw_message):
    # Given one message sent to the support addresses of two organizations
    raw_a = raw_message(message_id="<shared@client.example>", to="support@acme.test")
    raw_b = raw_message(message_id="<shared@client.example>", to="support@globex.test")
    # When each organization receives it
    a = receive(mail_a, raw_a)
    b = receive(mail_b, raw_b)
    # Then each has its own message and its own ticket, for its own customer
    assert a.pk != b.pk
    assert a.organization_id != b.organization_id
    assert Ticket.objects.get(pk=a.ticket_id).organization_id == mail_a.org.id
    assert Ticket.objects.get(pk=b.ticket_id).organization_id == mail_b.org.id
    customers = User.objects.filter(email="customer@acme.test").values_list("organization_id")
    assert sorted(customers) == sorted([(mail_a.org.id,), (mail_b.org.id,)])


def test_a_reply_naming_another_organizations_message_does_not_cross_tenants(
    mail_a, mail_b, raw_message
):
    # Given a ticket of organization A and our reply there
    first = receive(mail_a, raw_message())
    sent_reply(mail_a, Ticket.objects.get(pk=first.ticket_id), "r-a@acme.test")
    # When organization B receives a reply naming A's messages
    raw = raw_message(
        to="support@globex.test", in_reply_to="<r-a@acme.test>",
        references=f"<{first.message_id}> <r-a@acme.test>",
    )  # fmt: skip
    inbound = receive(mail_b, raw)
    # Then B opens a ticket of its own: A's ticket is not even considered
    assert inbound.state == InboundState.TICKET
    assert Ticket.objects.get(pk=inbound.ticket_id).organization_id == mail_b.org.id
    assert TicketComment.objects.filter(ticket_id=first.ticket_id).count() == 0


def test_cc_recipients_become_participants_who_may_reply(mail_a, raw_message):
    # Given a message copied to a colleague and to our own address
    raw = raw_message(cc="Colin <Colin@acme.test>, support+x@acme.test")
    first = receive(mail_a, raw)
    ticket = Ticket.objects.get(pk=first.ticket_id)
    # Then the colleague takes part in the ticket, our own address does not
    emails = list(Participant.objects.filter(ticket=ticket).values_list("email", flat=True))
    assert emails == ["colin@acme.test"]
    # When the colleague replies to the thread
    raw = raw_message(
        sender="Colin <colin@acme.test>", in_reply_to=f"<{first.message_id}>",
        body="Same here.",
    )  # fmt: skip
    reply = receive(mail_a, raw)
    # Then the reply is added, written by the colleague (a customer of the organization)
    assert reply.state == InboundState.REPLY
    assert reply.ticket_id == ticket.id
    author = TicketComment.objects.get(pk=reply.comment_id).author
    assert (author.email, author.role) == ("colin@acme.test", Role.CUSTOMER)


def test_attachments_and_inline_images_are_stored_and_an_oversized_one_is_named(
    mail_a, raw_message, settings
):
    # Given a message with an HTML body showing an inline image, a PDF and a large file
    settings.MAX_ATTACHMENT_BYTES = 2000
    raw = raw_message(
        html='<p>See <img src="cid:logo@x"></p>',
        inline=[("logo@x", "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 100)],
        attachments=[("report.pdf", "application/pdf", b"%PDF-1.4 small"),
                     ("huge.bin", "application/octet-stream", b"x" * 5000)],
    )  # fmt: skip
    # When it is received
    inbound = receive(mail_a, raw)
    # Then the image and the PDF are the ticket's attachments, the large file is named
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    names = sorted(ticket.attachments.values_list("file_name", flat=True))
    assert "report.pdf" in names
    assert len(names) == 2
    assert "huge.bin" not in names
    assert "huge.bin (5 KB) was not stored" in inbound.decision


def test_bad_input_is_refused_naming_the_field_and_records_nothing(mail_a, raw_message):
    with pytest.raises(ValidationFailed) as empty:
        ingest.receive(mailbox=mail_a.mailbox, raw=b"", source=Source.IMAP)
    with pytest.raises(ValidationFailed) as source:
        ingest.receive(mailbox=mail_a.mailbox, raw=raw_message(), source="pigeon")
    with pytest.raises(ValidationFailed) as uid:
        ingest.receive(mailbox=mail_a.mailbox, raw=raw_message(), source=Source.IMAP, imap_uid=7)
    assert [e.value.field for e in (empty, source, uid)] == ["raw", "source", "imap_uid"]
    assert InboundMessage.objects.count() == 0


def test_the_imap_position_of_a_message_is_recorded(mail_a, raw_message):
    inbound = ingest.receive(
        mailbox=mail_a.mailbox, raw=raw_message(), source=Source.IMAP,
        imap_uidvalidity=1700000000, imap_uid=42,
    )  # fmt: skip
    inbound.refresh_from_db()
    assert (inbound.source, inbound.imap_uidvalidity, inbound.imap_uid) == (
        Source.IMAP, 1700000000, 42,
    )  # fmt: skip


def test_the_raw_file_and_its_directory_are_flushed_to_disk_before_the_message_is_recorded(
    mail_a, raw_message, monkeypatch
):
    # Given a watch on what is flushed to disk (the real fsync still runs)
    flushed: list[str] = []
    real_fsync = ingest.os.fsync

    def fsync(fd: int) -> None:
        flushed.append(ingest.os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(ingest.os, "fsync", fsync)
    # When a message is received
    inbound = receive(mail_a, raw_message(subject="Durable"))
    # Then the file's bytes were flushed once, and the directory holding its final name
    # (the rename) too, so a crash after the commit cannot lose the raw message
    target = path_for(inbound.raw_sha256)
    assert len(flushed) == 2
    assert str(target.parent.resolve()) in flushed
