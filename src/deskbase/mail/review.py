"""The review queue ("suspended mail"): what staff do with a message that waits there.

A message waits in review with its cause (deskbase.mail.models.ReviewCause) when it
could not be read, was too large, came from an unverified or non-participating
sender for an existing ticket, from staff without a ticket, hit a cap, or failed.
Staff of its organization may:

- accept it: it goes through the pipeline again, staff vouching for it
  (deskbase.mail.ingest.reprocess with vouched=True: caps, verification,
  participation and the size limit no longer hold it);
- assign it to a ticket: its visible text becomes a public reply there by the
  sender (a customer of the organization, made if needed), who becomes a
  participant of that ticket; its files go with it;
- discard it: it stays recorded (and its raw bytes kept) but nothing acts on it.

`expire_review` discards what waited longer than MAIL_REVIEW_DAYS (14): a periodic
task of the worker (deskbase.jobs).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core import events
from deskbase.core.errors import Conflict, NotFound
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.mail import ingest, parse
from deskbase.mail.models import InboundMessage, InboundState, Mailbox, ReviewCause
from deskbase.organizations.models import Organization
from deskbase.tickets.models import Status, Ticket
from deskbase.tickets.permissions import ensure_staff, takes_replies


def _waiting(organization: Organization, message: InboundMessage) -> InboundMessage:
    """The message, locked, if it is this organization's and still waits in review."""
    current = (
        InboundMessage.objects.select_for_update()
        .filter(pk=message.pk, organization_id=organization.id)
        .first()
    )
    if current is None:
        raise NotFound(gettext("no such message"), field="message")
    if current.state != InboundState.REVIEW:
        raise Conflict(
            gettext("this message is no longer in review: %(state)s")
            % {"state": current.get_state_display().lower()},
            field="state",
        )
    return current


def review_accept(
    *, organization: Organization, actor: User, message: InboundMessage
) -> InboundMessage:
    """Process the message again, staff vouching for it; returns it with its new decision."""
    ensure_staff(actor, gettext("accept mail from review"))
    with tenant(organization, actor):
        current = _waiting(organization, message)
        processed = ingest.reprocess(current, vouched=True, actor=actor)
        if processed.state != InboundState.REVIEW:
            by = actor.full_name or actor.email
            processed.decision = f"{processed.decision} Accepted from review by {by}."[:10000]
            processed.save(update_fields=["decision"])
    return processed


@tenant_atomic
def review_assign(
    *, organization: Organization, actor: User, message: InboundMessage, ticket: Ticket
) -> InboundMessage:
    """Add the message to `ticket` as the sender's public reply; the sender joins the ticket."""
    ensure_staff(actor, gettext("assign mail from review"))
    if ticket.organization_id != organization.id:
        raise NotFound(gettext("no ticket #%(number)s") % {"number": ticket.number}, field="ticket")
    current = _waiting(organization, message)
    target = Ticket.objects.filter(pk=ticket.pk, organization_id=organization.id).first()
    if target is None:
        raise NotFound(gettext("no ticket #%(number)s") % {"number": ticket.number}, field="ticket")
    if not takes_replies(target):
        raise Conflict(
            gettext("ticket #%(number)s is %(status)s")
            % {"number": target.number, "status": Status(target.status).label.lower()},
            field="ticket",
        )
    if not current.sender:
        raise Conflict(
            gettext("this message has no readable sender to write the reply"), field="message"
        )
    mailbox = Mailbox.all_objects.get(pk=current.mailbox_id)
    parsed = parse.parse(ingest.read_raw(current.raw_sha256))
    pipeline = ingest.Pipeline(
        current, mailbox, parsed, vouched=True, known=ingest.Known.of(current)
    )
    outcome = pipeline.assign_to(target)
    cause = current.get_review_cause_display()
    by = actor.full_name or actor.email
    outcome.decision = f"Added to #{target.number} by {by} from review (it waited: {cause})."
    with events.announce(
        events.MAIL_REVIEWED, organization, actor, current,
        state=(InboundState.REVIEW, InboundState.REPLY),
    ):  # fmt: skip
        ingest.record(current, outcome)
    return current


@tenant_atomic
def review_discard(
    *, organization: Organization, actor: User, message: InboundMessage
) -> InboundMessage:
    """Nothing acts on the message; it stays recorded, with who discarded it."""
    ensure_staff(actor, gettext("discard mail from review"))
    current = _waiting(organization, message)
    by = actor.full_name or actor.email
    with events.announce(
        events.MAIL_REVIEWED, organization, actor, current,
        state=(InboundState.REVIEW, InboundState.DISCARDED),
    ):  # fmt: skip
        current.state = InboundState.DISCARDED
        current.decision = f"{current.decision} Discarded by {by}."
        current.review_expires_at = None
        current.save(update_fields=["state", "decision", "review_expires_at"])
    return current


def expire_review(*, now: datetime | None = None) -> dict[str, int]:
    """Discard messages past their time in review, one organization at a time (the worker)."""
    now = now or timezone.now()
    # The worker's owner role reads across organizations; each one's update runs under it.
    organizations = list(
        InboundMessage.objects.filter(state=InboundState.REVIEW, review_expires_at__lt=now)
        .values_list("organization_id", flat=True)
        .distinct()
    )
    expired = 0
    for organization_id in organizations:
        with tenant(organization_id):
            expired += InboundMessage.objects.filter(
                organization_id=organization_id,
                state=InboundState.REVIEW,
                review_expires_at__lt=now,
            ).update(
                state=InboundState.DISCARDED,
                review_expires_at=None,
                decision=Concat(F("decision"), Value(" Discarded: nobody reviewed it in time.")),
            )
    return {"expired": expired, "organizations": len(organizations)}


__all__ = [
    "ReviewCause",
    "expire_review",
    "review_accept",
    "review_assign",
    "review_discard",
]
