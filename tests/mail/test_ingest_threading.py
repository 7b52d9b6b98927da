"""Threading layers, the participant rule, closed and merged tickets."""

from __future__ import annotations

from deskbase.mail import ingest, tokens
from deskbase.mail.models import InboundState, ReviewCause, Source
from deskbase.mail.threading import normalize_subject
from deskbase.tickets import services as tickets
from deskbase.tickets.models import Status, Ticket, TicketComment
from tests.mail.conftest import make_mailbox


def receive(world, raw: bytes):
    return ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)


def opened(world, raw_message, **fields):
    inbound = receive(world, raw_message(**fields))
    return inbound, Ticket.objects.get(pk=inbound.ticket_id)


def token_of(ticket) -> tokens.Token:
    return tokens.ticket_token(
        organization_id=ticket.organization_id, ticket_id=ticket.id, number=ticket.number
    )


def test_a_reply_to_the_plus_address_joins_its_ticket(mail_a, raw_message):
    # Given a ticket and its reply address
    _, ticket = opened(mail_a, raw_message)
    address = tokens.reply_address(mail_a.mailbox.address, token_of(ticket))
    # When the customer writes to that address, with no threading headers
    inbound = receive(mail_a, raw_message(to=address, subject="more details"))
    # Then the message joins the ticket, saying why
    assert inbound.state == InboundState.REPLY
    assert inbound.ticket_id == ticket.id
    assert inbound.decision == (
        f"Added to #{ticket.number} because it was sent to the ticket's reply address {address}."
    )


def test_a_bracketed_token_in_the_subject_joins_its_ticket(mail_a, raw_message):
    # Given a ticket
    _, ticket = opened(mail_a, raw_message)
    bracketed = tokens.bracketed(token_of(ticket))
    # When the customer writes a new mail whose subject carries the token
    inbound = receive(mail_a, raw_message(subject=f"Re: Printer {bracketed}"))
    # Then it joins the ticket
    assert inbound.ticket_id == ticket.id
    assert inbound.state == InboundState.REPLY
    assert f"the subject carries its token {bracketed}" in inbound.decision


def test_a_forged_token_with_a_real_ticket_number_is_not_a_match(mail_a, raw_message):
    # Given a ticket, and a token naming its number with a made-up code
    _, ticket = opened(mail_a, raw_message)
    forged = f"[#{ticket.number}-aaaaaaaaaa]"
    # When a message carries the forged token
    inbound = receive(mail_a, raw_message(subject=f"Hello {forged}"))
    # Then it opens a ticket of its own
    assert inbound.state == InboundState.TICKET
    assert inbound.ticket_id != ticket.id


def test_a_token_of_organization_a_sent_to_organization_b_never_attaches(
    mail_a, mail_b, raw_message
):
    # Given a ticket of A, and a ticket of B with the same number
    _, ticket_a = opened(mail_a, raw_message)
    _, ticket_b = opened(mail_b, raw_message, to="support@globex.test")
    assert ticket_a.number == ticket_b.number
    bracketed = tokens.bracketed(token_of(ticket_a))
    plus = tokens.reply_address("support@globex.test", token_of(ticket_a))
    # When B's mailbox receives a message with A's token in the subject and the address
    inbound = receive(mail_b, raw_message(to=plus, subject=f"Re: {bracketed}"))
    # Then B opens a new ticket: neither A's ticket nor B's same-numbered one is touched
    assert inbound.state == InboundState.TICKET
    assert inbound.ticket_id not in (ticket_a.id, ticket_b.id)
    assert TicketComment.objects.filter(ticket__in=[ticket_a, ticket_b]).count() == 0


def test_a_match_from_a_sender_who_is_not_a_participant_goes_to_review(mail_a, raw_message):
    # Given a customer's ticket
    first, ticket = opened(mail_a, raw_message)
    # When someone else replies to its thread
    inbound = receive(
        mail_a, raw_message(sender="x@elsewhere.example", in_reply_to=f"<{first.message_id}>")
    )
    # Then the message waits in review with its cause, and nothing is added to the ticket
    assert inbound.state == InboundState.REVIEW
    assert inbound.review_cause == ReviewCause.NOT_PARTICIPANT
    assert inbound.decision == (
        f"In review: sender x@elsewhere.example is not a participant of #{ticket.number} "
        "(matched by Message-ID)."
    )
    assert inbound.review_expires_at is not None
    assert TicketComment.objects.filter(ticket=ticket).count() == 0


def test_the_subject_alone_never_matches_and_never_across_requesters(mail_a, raw_message, tenant_a):
    # Given a customer's open ticket "Invoice missing"
    _, ticket = opened(mail_a, raw_message, subject="Invoice missing")
    # When the same customer writes a new mail with that subject and no References
    fresh = receive(mail_a, raw_message(subject="Invoice missing"))
    # Then it is a new ticket: a subject alone is not a thread
    assert fresh.state == InboundState.TICKET
    assert fresh.ticket_id != ticket.id
    # When another person replies with that subject and unknown References
    other = receive(
        mail_a,
        raw_message(sender="other@acme.test", subject="RE: Invoice missing",
                    references="<unknown@mail.example>"),
    )  # fmt: skip
    # Then they get their own ticket too
    assert other.state == InboundState.TICKET
    assert Ticket.objects.get(pk=other.ticket_id).customer.email == "other@acme.test"


def test_the_subject_with_unknown_references_joins_the_requesters_open_ticket(mail_a, raw_message):
    # Given a customer's open ticket
    _, ticket = opened(mail_a, raw_message, subject="Invoice missing")
    # When they reply to a copy we never saw (unknown References), subject "AW: Re: ..."
    inbound = receive(
        mail_a,
        raw_message(subject="AW: Re: Invoice  MISSING", references="<never-seen@mail.example>"),
    )
    # Then it joins their ticket, by subject, saying so
    assert inbound.state == InboundState.REPLY
    assert inbound.ticket_id == ticket.id
    assert "its subject matched the requester's open ticket" in inbound.decision
    assert "<never-seen@mail.example>" in inbound.decision


def test_a_reply_to_a_closed_ticket_opens_a_new_one_that_names_it(mail_a, raw_message):
    # Given a ticket that was closed
    first, ticket = opened(mail_a, raw_message)
    tickets.ticket_change_status(
        organization=mail_a.org, actor=mail_a.agent, ticket=ticket, status=Status.CLOSED
    )
    # When the customer replies to its thread
    inbound = receive(mail_a, raw_message(in_reply_to=f"<{first.message_id}>"))
    # Then a new ticket is opened, its decision naming the closed one
    assert inbound.state == InboundState.TICKET
    assert inbound.ticket_id != ticket.id
    assert f"#{ticket.number} matched" in inbound.decision
    assert "is closed, so this follow-up starts a new ticket" in inbound.decision


def test_a_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(mail_a, raw_message):
    # Given two tickets of the customer, the first merged into the second
    first, source = opened(mail_a, raw_message, subject="One")
    _, target = opened(mail_a, raw_message, subject="Two")
    tickets.ticket_merge(organization=mail_a.org, actor=mail_a.agent, source=source,
                         target=target)  # fmt: skip
    # When the customer replies to the first ticket's thread
    inbound = receive(mail_a, raw_message(in_reply_to=f"<{first.message_id}>"))
    # Then the reply lands on the target, and the decision says why
    assert inbound.ticket_id == target.id
    assert inbound.state == InboundState.REPLY
    assert f"#{source.number} was merged into #{target.number}" in inbound.decision


def test_the_same_message_to_two_mailboxes_of_one_organization_is_one_ticket(mail_a, raw_message):
    # Given a second support address of the same organization
    sales = make_mailbox(mail_a.world, "sales@acme.test", name="Sales")
    raw = raw_message(to="support@acme.test, sales@acme.test")
    # When both mailboxes receive the message
    first = receive(mail_a, raw)
    second = ingest.receive(mailbox=sales, raw=raw, source=Source.PUSH)
    # Then it is recorded per mailbox, but the second joins the first's ticket
    assert second.pk != first.pk
    assert Ticket.objects.count() == 1
    assert second.ticket_id == first.ticket_id


def test_subjects_are_normalized_for_comparison():
    assert normalize_subject("Re: AW: Fwd: [#12-abcdefghij] Printer  on FIRE") == (
        "printer on fire"
    )
    assert normalize_subject("SV: Re[2]: hello") == "hello"
    assert normalize_subject("Re:") == ""
