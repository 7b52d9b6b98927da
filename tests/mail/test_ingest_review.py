"""The review queue: accept (process again, vouched), assign to a ticket, discard, expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deskbase import jobs
from deskbase.core.errors import Conflict, NotFound, PermissionDenied
from deskbase.mail import ingest, review, selectors
from deskbase.mail.models import InboundMessage, InboundState, Participant, ReviewCause, Source
from deskbase.tickets.models import Ticket, TicketComment


def receive(world, raw: bytes):
    return ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)


@pytest.fixture
def stranger_reply(mail_a, raw_message):
    """A customer's ticket, and a reply to its thread from someone not taking part."""
    first = receive(mail_a, raw_message())
    ticket = Ticket.objects.get(pk=first.ticket_id)
    held = receive(
        mail_a,
        raw_message(sender="Sam <sam@partner.example>", in_reply_to=f"<{first.message_id}>",
                    body="I can confirm the fire."),
    )  # fmt: skip
    assert held.review_cause == ReviewCause.NOT_PARTICIPANT
    return ticket, held


def test_accepting_a_held_reply_adds_it_and_makes_the_sender_a_participant(mail_a, stranger_reply):
    # Given a reply held because its sender does not take part in the ticket
    ticket, held = stranger_reply
    # When an agent accepts it
    accepted = review.review_accept(organization=mail_a.org, actor=mail_a.agent, message=held)
    # Then it joins the ticket as the sender's reply, and the sender now takes part
    assert accepted.state == InboundState.REPLY
    assert accepted.ticket_id == ticket.id
    assert accepted.review_cause == ""
    assert accepted.review_expires_at is None
    assert "I can confirm" in TicketComment.objects.get(pk=accepted.comment_id).body_text
    assert Participant.objects.filter(ticket=ticket, email="sam@partner.example").exists()
    assert accepted.decision.endswith(f"Accepted from review by {mail_a.agent.full_name}.")
    # And it cannot be accepted twice
    with pytest.raises(Conflict, match="no longer in review"):
        review.review_accept(organization=mail_a.org, actor=mail_a.agent, message=held)


def test_assigning_a_held_message_to_another_ticket(mail_a, raw_message, stranger_reply):
    # Given a held reply, and another ticket of the organization
    _, held = stranger_reply
    other = Ticket.objects.get(pk=receive(mail_a, raw_message(subject="Other")).ticket_id)
    # When an agent assigns the message to that ticket
    assigned = review.review_assign(
        organization=mail_a.org, actor=mail_a.agent, message=held, ticket=other
    )
    # Then it is the sender's reply there, saying who put it there and why it waited
    assert (assigned.state, assigned.ticket_id) == (InboundState.REPLY, other.id)
    assert TicketComment.objects.get(pk=assigned.comment_id).author.email == "sam@partner.example"
    assert assigned.decision == (
        f"Added to #{other.number} by {mail_a.agent.full_name} from review (it waited: "
        "Sender is not a participant of the ticket)."
    )


def test_discarding_keeps_the_message_but_acts_on_nothing(mail_a, stranger_reply):
    ticket, held = stranger_reply
    discarded = review.review_discard(organization=mail_a.org, actor=mail_a.agent, message=held)
    assert discarded.state == InboundState.DISCARDED
    assert discarded.decision.endswith(f"Discarded by {mail_a.agent.full_name}.")
    assert TicketComment.objects.filter(ticket=ticket).count() == 0
    assert ingest.read_raw(discarded.raw_sha256)


def test_customers_cannot_review_and_another_organization_sees_nothing(
    mail_a, mail_b, stranger_reply
):
    # Given a message held in organization A
    _, held = stranger_reply
    # Then A's customer may not act on it
    with pytest.raises(PermissionDenied):
        review.review_discard(organization=mail_a.org, actor=mail_a.customer, message=held)
    # And B's agent finds no such message, nor sees it in B's queue
    with pytest.raises(NotFound):
        review.review_discard(organization=mail_b.org, actor=mail_b.agent, message=held)
    assert selectors.review_queue(organization=mail_b.org, actor=mail_b.agent).items == []
    queue_a = selectors.review_queue(organization=mail_a.org, actor=mail_a.agent)
    assert [m.pk for m in queue_a.items] == [held.pk]
    assert InboundMessage.objects.get(pk=held.pk).state == InboundState.REVIEW


def test_a_message_waiting_past_its_days_in_review_is_discarded_by_the_worker(
    mail_a, stranger_reply
):
    # Given a held message whose time in review ran out, and one still within it
    _, held = stranger_reply
    InboundMessage.objects.filter(pk=held.pk).update(
        review_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert held.review_expires_at > timezone.now() + timedelta(days=13)
    # When the worker's task runs
    result = jobs.TASKS["deskbase.expire_mail_review"]()
    # Then it is discarded, saying why
    held.refresh_from_db()
    assert result == {"expired": 1, "organizations": 1}
    assert held.state == InboundState.DISCARDED
    assert held.decision.endswith("Discarded: nobody reviewed it in time.")
    # And running it again changes nothing
    assert jobs.TASKS["deskbase.expire_mail_review"]()["expired"] == 0


def test_the_review_queue_pages_by_keyset(mail_a, raw_message, settings):
    # Given three messages capped into review
    settings.MAIL_SENDER_HOURLY_LIMIT = 0
    held = [receive(mail_a, raw_message(subject=f"s{i}")) for i in range(3)]
    # When the queue is read two at a time
    first = selectors.review_queue(organization=mail_a.org, actor=mail_a.agent, limit=2)
    rest = selectors.review_queue(
        organization=mail_a.org, actor=mail_a.agent, limit=2, after=int(first.next_cursor)
    )
    # Then the pages are oldest first, without overlap, and the last one says it is
    assert [m.pk for m in first.items + rest.items] == [m.pk for m in held]
    assert rest.next_cursor is None


def test_the_mail_timeline_of_a_ticket_shows_each_decision(mail_a, raw_message):
    first = receive(mail_a, raw_message())
    ticket = Ticket.objects.get(pk=first.ticket_id)
    receive(mail_a, raw_message(in_reply_to=f"<{first.message_id}>", body="More."))
    mail = selectors.ticket_mail(organization=mail_a.org, actor=mail_a.agent, ticket=ticket)
    assert mail.outbound == []
    assert mail.inbound[0].decision.startswith(f"Opened #{ticket.number}")
    assert mail.inbound[1].decision.startswith(f"Added to #{ticket.number} because In-Reply-To")
