"""Acting on the classification and on the sender: loops, bounces, auto-replies, agents,
verification, caps."""

from __future__ import annotations

import pytest

from deskbase.core.errors import ValidationFailed
from deskbase.mail import headers, ingest
from deskbase.mail.models import (
    InboundState,
    Kind,
    OutboundKind,
    OutboundMessage,
    OutboundState,
    ReviewCause,
    Source,
)
from deskbase.tickets import services as tickets
from deskbase.tickets.models import Status, Ticket, TicketComment

AUTHSERV = "mx.acme.test"


def receive(world, raw: bytes):
    return ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)


def opened(world, raw_message, **fields):
    inbound = receive(world, raw_message(**fields))
    return inbound, Ticket.objects.get(pk=inbound.ticket_id)


def sent(world, ticket, message_id: str) -> OutboundMessage:
    return OutboundMessage.objects.create(
        organization=world.org, mailbox=world.mailbox, ticket=ticket, kind=OutboundKind.REPLY,
        message_id=message_id, message_id_hash=headers.message_id_hash(message_id),
        subject=ticket.subject, to_addresses=[ticket.customer.email],
    )  # fmt: skip


def auth_results(result: str, authserv: str = AUTHSERV) -> dict[str, str]:
    return {
        "Authentication-Results": f"{authserv}; spf={result} smtp.mailfrom=acme.test;"
        f" dkim={result} header.d=acme.test; dmarc={result} header.from=acme.test"
    }


def bounce_for(message_id: str, recipient: str = "customer@acme.test") -> bytes:
    """A delivery status notification (RFC 3464) about our message `message_id`."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.client.example>\r\n"
        "To: support@acme.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.client.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n"
        "\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.client.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{message_id}>\r\nFrom: support@acme.test\r\nSubject: Re: Broken\r\n"
        "\r\n--b1--\r\n"
    ).encode()


def test_our_own_mail_coming_back_is_dropped(mail_a, raw_message):
    # Given a message carrying our loop header, and one from our own support address
    looped = raw_message(headers={"X-Deskbase-Loop": "acme"})
    from_us = raw_message(sender="support@acme.test", subject="Echo")
    # When they are received
    first = receive(mail_a, looped)
    second = receive(mail_a, from_us)
    # Then both are dropped as loops, with their reason, and no ticket exists
    assert (first.state, first.kind) == (InboundState.DROPPED, Kind.LOOP)
    assert first.decision.startswith("Dropped as a mail loop:")
    assert (second.state, second.kind) == (InboundState.DROPPED, Kind.LOOP)
    assert "our own address support@acme.test" in second.decision
    assert Ticket.objects.count() == 0


def test_a_bounce_is_attached_to_the_message_it_answers_which_becomes_failed(mail_a, raw_message):
    # Given a ticket and our reply to it, sent
    _, ticket = opened(mail_a, raw_message)
    outbound = sent(mail_a, ticket, "reply-9@acme.test")
    # When the customer's server sends a delivery failure about it
    inbound = receive(mail_a, bounce_for("reply-9@acme.test"))
    # Then the bounce is kept on the ticket, and our message is marked failed with the cause
    outbound.refresh_from_db()
    assert (inbound.kind, inbound.state, inbound.ticket_id) == (
        Kind.BOUNCE, InboundState.STORED, ticket.id,
    )  # fmt: skip
    assert outbound.state == OutboundState.FAILED
    assert outbound.bounce_id == inbound.id
    assert "5.1.1" in outbound.error
    assert inbound.decision.startswith(f"Attached to #{ticket.number}: a delivery failure")
    assert TicketComment.objects.filter(ticket=ticket).count() == 0


def test_an_auto_reply_is_kept_on_its_ticket_and_does_not_reopen_it(mail_a, raw_message):
    # Given a resolved ticket of the customer
    first, ticket = opened(mail_a, raw_message)
    tickets.ticket_change_status(
        organization=mail_a.org, actor=mail_a.agent, ticket=ticket, status=Status.RESOLVED
    )
    # When the customer's out-of-office answers in the thread
    raw = raw_message(
        subject="Automatic reply: Printer on fire", in_reply_to=f"<{first.message_id}>",
        headers={"Auto-Submitted": "auto-replied"}, body="I am out of office.",
    )  # fmt: skip
    inbound = receive(mail_a, raw)
    # Then it is kept, linked to the ticket, adding no comment and not reopening it
    ticket.refresh_from_db()
    assert (inbound.kind, inbound.state, inbound.ticket_id) == (
        Kind.AUTO_REPLY, InboundState.STORED, ticket.id,
    )  # fmt: skip
    assert ticket.status == Status.RESOLVED
    assert TicketComment.objects.filter(ticket=ticket).count() == 0
    assert "does not reopen the ticket" in inbound.decision


def test_list_mail_without_a_thread_is_kept_and_opens_nothing(mail_a, raw_message):
    inbound = receive(mail_a, raw_message(headers={"List-Id": "<news.vendor.example>"}))
    assert (inbound.kind, inbound.state, inbound.ticket_id) == (
        Kind.BULK, InboundState.STORED, None,
    )  # fmt: skip
    assert Ticket.objects.count() == 0


def test_a_verified_agent_replies_by_mail_as_an_agent(mail_a, raw_message):
    # Given a mailbox that trusts its receiving server, and a customer's ticket
    mail_a.mailbox.authserv_id = AUTHSERV
    mail_a.mailbox.save(update_fields=["authserv_id"])
    first, ticket = opened(mail_a, raw_message)
    # When the agent answers the thread from their own mail client, verified
    raw = raw_message(
        sender=f"Agent <{mail_a.agent.email}>", in_reply_to=f"<{first.message_id}>",
        body="We are on it.", headers=auth_results("pass"),
    )  # fmt: skip
    inbound = receive(mail_a, raw)
    # Then it is a public reply by the agent: the ticket got its first response
    ticket.refresh_from_db()
    comment = TicketComment.objects.get(pk=inbound.comment_id)
    assert comment.author_id == mail_a.agent.id
    assert ticket.first_response_at is not None
    assert inbound.decision.startswith(f"Added to #{ticket.number} as a reply by agent")


def test_an_unverified_agent_address_never_acts_as_an_agent(mail_a, raw_message):
    # Given a customer's ticket
    mail_a.mailbox.authserv_id = AUTHSERV
    mail_a.mailbox.save(update_fields=["authserv_id"])
    first, ticket = opened(mail_a, raw_message)
    # When a message claims to come from the agent, without (or with another server's) pass
    forged = receive(
        mail_a,
        raw_message(sender=mail_a.agent.email, in_reply_to=f"<{first.message_id}>",
                    headers=auth_results("pass", authserv="mx.attacker.example")),
    )  # fmt: skip
    # Then it waits in review, and the ticket has no agent reply
    assert forged.state == InboundState.REVIEW
    assert forged.review_cause == ReviewCause.UNVERIFIED_SENDER
    assert "cannot act as an agent" in forged.decision
    assert TicketComment.objects.filter(ticket=ticket).count() == 0


def test_a_sender_failing_verification_cannot_append_to_a_ticket(mail_a, raw_message):
    # Given a customer's ticket, on a mailbox that trusts its receiving server
    mail_a.mailbox.authserv_id = AUTHSERV
    mail_a.mailbox.save(update_fields=["authserv_id"])
    first, ticket = opened(mail_a, raw_message)
    # When a reply in the customer's name fails DMARC at our server
    inbound = receive(
        mail_a, raw_message(in_reply_to=f"<{first.message_id}>", headers=auth_results("fail"))
    )
    # Then it waits in review instead of joining the ticket
    assert inbound.state == InboundState.REVIEW
    assert inbound.review_cause == ReviewCause.UNVERIFIED_SENDER
    assert TicketComment.objects.filter(ticket=ticket).count() == 0


def test_a_sender_over_the_hourly_cap_waits_in_review(mail_a, raw_message, settings):
    # Given a cap of two messages per sender per hour
    settings.MAIL_SENDER_HOURLY_LIMIT = 2
    # When the same sender sends three new messages
    states = [receive(mail_a, raw_message(subject=f"n{i}")).state for i in range(3)]
    # Then the third waits in review, capped
    assert states == [InboundState.TICKET, InboundState.TICKET, InboundState.REVIEW]
    assert Ticket.objects.count() == 2


def test_a_ticket_over_its_hourly_cap_takes_no_more_replies(mail_a, raw_message, settings):
    # Given a cap of two messages per ticket per hour, and a ticket opened by mail
    settings.MAIL_TICKET_HOURLY_LIMIT = 2
    first, ticket = opened(mail_a, raw_message)
    # When the customer sends two replies
    replies = [
        receive(mail_a, raw_message(in_reply_to=f"<{first.message_id}>", body=f"r{i}"))
        for i in range(2)
    ]
    # Then the first joins, the second waits in review with its cause
    assert [r.state for r in replies] == [InboundState.REPLY, InboundState.REVIEW]
    assert replies[1].review_cause == ReviewCause.RATE_LIMITED
    assert f"#{ticket.number} received more than 2" in replies[1].decision


def test_a_message_over_the_size_limit_waits_in_review_with_its_raw_bytes(
    mail_a, raw_message, settings
):
    # Given a limit of 500 bytes per message
    settings.MAIL_MAX_MESSAGE_BYTES = 500
    raw = raw_message(body="x" * 2000)
    # When a larger message arrives
    inbound = receive(mail_a, raw)
    # Then it waits in review, its raw bytes kept whole for later
    assert (inbound.state, inbound.review_cause) == (InboundState.REVIEW, ReviewCause.TOO_LARGE)
    assert ingest.read_raw(inbound.raw_sha256) == raw
    assert Ticket.objects.count() == 0


def test_a_colleague_on_the_support_domain_is_not_taken_for_our_own_mail(mail_a, raw_message):
    # Given an internal help desk: an employee writes from the support address's own domain,
    # with a Message-ID made by the company's mail server, and another help desk's loop header
    raw = raw_message(
        sender="bob@acme.test",
        subject="VPN is down",
        message_id="<CAF1234@exch01.acme.test>",
        headers={"X-Deskbase-Loop": "some-other-desk"},
    )
    # When it is received
    inbound = receive(mail_a, raw)
    # Then it opens a ticket like any customer's mail
    assert (inbound.state, inbound.kind) == (InboundState.TICKET, Kind.NORMAL)
    assert inbound.ticket is not None


def test_a_message_read_only_in_part_is_received_once_with_its_real_size(
    mail_a, raw_message, settings
):
    # Given a limit of 1000 bytes, and only the start of a 5000-byte message read
    settings.MAIL_MAX_MESSAGE_BYTES = 1000
    head = raw_message(subject="Our whole archive", message_id="<big@client.example>")
    # When it is received with its real size, twice (fetched again after a crash)
    first = ingest.receive(mailbox=mail_a.mailbox, raw=head, size=5000, source=Source.IMAP,
                           imap_uidvalidity=7, imap_uid=3)  # fmt: skip
    again = ingest.receive(mailbox=mail_a.mailbox, raw=head, size=5000, source=Source.IMAP,
                           imap_uidvalidity=7, imap_uid=3)  # fmt: skip
    # Then it is recorded once, in review as too large, with its real size and the part kept
    assert again.pk == first.pk
    assert (first.state, first.review_cause) == (InboundState.REVIEW, ReviewCause.TOO_LARGE)
    assert (first.size, first.message_id, first.subject) == (
        5000, "big@client.example", "Our whole archive",
    )  # fmt: skip
    assert "only part of it was read" in first.decision
    assert ingest.read_raw(first.raw_sha256) == head
    assert Ticket.objects.count() == 0
    # And a size smaller than what was read is refused, naming the field
    with pytest.raises(ValidationFailed) as error:
        ingest.receive(mailbox=mail_a.mailbox, raw=head, size=10, source=Source.IMAP)
    assert error.value.field == "size"
