"""Reads of the mail administration: mailboxes, the review queue, a ticket's mail.

Mailboxes: admins and managers read them (admins change them, deskbase.mail.services);
the review queue, a ticket's mail and a raw message: staff. Another tenant's row answers
like a missing one. Each function states its query budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import NotFound, PermissionDenied
from deskbase.core.tenancy import tenant
from deskbase.mail.models import InboundMessage, InboundState, Mailbox, OutboundMessage
from deskbase.organizations.models import Organization
from deskbase.tickets.attachments import path_for
from deskbase.tickets.models import Ticket
from deskbase.tickets.permissions import ensure_staff

logger = logging.getLogger(__name__)
MAILBOX_READERS = (Role.ADMIN, Role.MANAGER)
REVIEW_PAGE_MAX = 200


def ensure_may_read_mailboxes(actor: User) -> None:
    if actor.role not in MAILBOX_READERS:
        raise PermissionDenied(gettext("only admins and managers may see mailboxes"))


def mailbox_list(*, organization: Organization, actor: User) -> list[Mailbox]:
    """The live mailboxes by name. Budget: 1 query (plus the tenant setting)."""
    ensure_may_read_mailboxes(actor)
    with tenant(organization, actor, savepoint=False):
        return list(Mailbox.objects.filter(organization_id=organization.id).order_by("name", "id"))


def mailbox_of(*, organization: Organization, actor: User, mailbox_id: int) -> Mailbox:
    """One live mailbox; another tenant's or a deleted one is absent. Budget: 1 query."""
    ensure_may_read_mailboxes(actor)
    with tenant(organization, actor, savepoint=False):
        found = Mailbox.objects.filter(organization_id=organization.id, pk=mailbox_id).first()
    if found is None:
        raise NotFound(gettext("no such mailbox"), field="mailbox")
    return found


@dataclass(frozen=True)
class ReviewPage:
    items: list[InboundMessage]
    next_cursor: str | None


def review_queue(
    *,
    organization: Organization,
    actor: User,
    cause: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> ReviewPage:
    """Messages waiting for review, oldest first, a keyset page after id `after`, with
    their mailbox. Budget: 1 query, whatever the page size (staff only)."""
    ensure_staff(actor, gettext("review suspended mail"))
    limit = max(1, min(limit, REVIEW_PAGE_MAX))
    found = InboundMessage.objects.filter(
        organization_id=organization.id, state=InboundState.REVIEW, pk__gt=after
    )
    if cause:
        found = found.filter(review_cause=cause)
    with tenant(organization, actor, savepoint=False):
        rows = list(found.select_related("mailbox").order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return ReviewPage(rows, str(rows[-1].pk) if more and rows else None)


def inbound_of(*, organization: Organization, actor: User, message_id: int) -> InboundMessage:
    """One received message (staff only); another tenant's is absent. Budget: 1 query."""
    ensure_staff(actor, gettext("read received mail"))
    with tenant(organization, actor, savepoint=False):
        found = (
            InboundMessage.objects.filter(organization_id=organization.id, pk=message_id)
            .select_related("ticket")
            .first()
        )
    if found is None:
        raise NotFound(gettext("no such message"), field="message")
    return found


def raw_open(message: InboundMessage) -> BinaryIO:
    """The message's bytes as received, from the attachment store (by `raw_sha256`)."""
    try:
        return path_for(message.raw_sha256).open("rb")
    except FileNotFoundError:
        logger.error("mail %s: raw content %s is missing", message.pk, message.raw_sha256)
        raise NotFound(gettext("the message's raw content is missing"), field="message") from None


@dataclass(frozen=True)
class TicketMail:
    inbound: list[InboundMessage]
    outbound: list[OutboundMessage]


def ticket_mail(*, organization: Organization, actor: User, ticket: Ticket) -> TicketMail:
    """The mail of a ticket the caller may see: what came in (with the decision taken and
    why) and what went out (with its state and the server's answer), oldest first.
    Budget: 2 queries, whatever the number of messages (staff only)."""
    ensure_staff(actor, gettext("read a ticket's mail"))
    with tenant(organization, actor, savepoint=False):
        inbound = list(
            InboundMessage.objects.filter(organization_id=organization.id, ticket_id=ticket.pk)
            .order_by("received_at", "id")
        )  # fmt: skip
        outbound = list(
            OutboundMessage.objects.filter(organization_id=organization.id, ticket_id=ticket.pk)
            .order_by("created_at", "id")
        )  # fmt: skip
    return TicketMail(inbound, outbound)
