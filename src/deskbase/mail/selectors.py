"""Reads of the mail channel: the review queue and a ticket's mail timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deskbase.mail.models import InboundMessage, InboundState, OutboundMessage
from deskbase.organizations.models import Organization
from deskbase.tickets.models import Ticket

REVIEW_PAGE = 25


def review_queue(
    organization: Organization,
    *,
    cause: str | None = None,
    after: int | None = None,
    limit: int = REVIEW_PAGE,
) -> list[InboundMessage]:
    """Messages waiting in review, newest first; keyset by id (`after`: the last id seen).

    One query (the partial index mail_inbound_review), whatever the page size.
    """
    rows = InboundMessage.objects.filter(organization_id=organization.id, state=InboundState.REVIEW)
    if cause:
        rows = rows.filter(review_cause=cause)
    if after is not None:
        rows = rows.filter(id__lt=after)
    return list(rows.select_related("mailbox").order_by("-id")[: max(1, min(limit, 100))])


def review_message(organization: Organization, message_id: int) -> InboundMessage | None:
    """One received message of the organization (any state), or None."""
    return (
        InboundMessage.objects.filter(organization_id=organization.id, pk=message_id)
        .select_related("mailbox", "ticket")
        .first()
    )


@dataclass(frozen=True)
class MailEntry:
    """One message in a ticket's timeline: received (with its decision) or sent."""

    at: datetime
    direction: str  # "in" or "out"
    message: InboundMessage | OutboundMessage
    summary: str  # the decision for received mail; the state (and error) for sent mail


def mail_timeline(ticket: Ticket) -> list[MailEntry]:
    """The mail of a ticket, oldest first: what came in and why, what went out and how.

    Two queries (mail_inbound_by_ticket, mail_outbound_by_ticket).
    """
    entries = [
        MailEntry(message.received_at, "in", message, message.decision)
        for message in InboundMessage.objects.filter(
            organization_id=ticket.organization_id, ticket_id=ticket.id
        ).order_by("id")
    ]
    for sent in OutboundMessage.objects.filter(
        organization_id=ticket.organization_id, ticket_id=ticket.id
    ).order_by("id"):
        summary = f"{sent.get_kind_display()} to {', '.join(sent.to_addresses)}: {sent.state}"
        if sent.error:
            summary += f" ({sent.error})"
        entries.append(MailEntry(sent.sent_at or sent.created_at, "out", sent, summary))
    return sorted(entries, key=lambda entry: (entry.at, entry.direction == "out"))
