"""Notifications by mail: the words (the organization's language and time zone) and the
sending, from the outbox (consumer `notifications.mail`)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from django.utils import timezone

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.mail import notices, outgoing, smtp
from deskbase.notifications.models import Reason
from deskbase.organizations.models import Organization
from deskbase.tickets.models import Ticket

WORDS: dict[str, dict[str, str]] = {
    "en": {
        Reason.NEW_TICKET: "New ticket",
        Reason.ASSIGNED: "Assigned to you",
        Reason.CUSTOMER_REPLIED: "The customer replied",
        Reason.MENTIONED: "You were mentioned in an internal note",
        Reason.SLA_AT_RISK: "SLA at risk",
        Reason.SLA_BREACHED: "SLA breached",
        Reason.REOPENED: "Ticket reopened",
        "by": "by",
        "at": "at",
        "open": "Open the ticket",
        "why": "You get this mail by your notification settings",
    },
    "de": {
        Reason.NEW_TICKET: "Neues Ticket",
        Reason.ASSIGNED: "Ihnen zugewiesen",
        Reason.CUSTOMER_REPLIED: "Der Kunde hat geantwortet",
        Reason.MENTIONED: "Sie wurden in einer internen Notiz erwähnt",
        Reason.SLA_AT_RISK: "SLA gefährdet",
        Reason.SLA_BREACHED: "SLA verletzt",
        Reason.REOPENED: "Ticket wieder geöffnet",
        "by": "von",
        "at": "am",
        "open": "Ticket öffnen",
        "why": "Sie erhalten diese Mail gemäß Ihren Benachrichtigungseinstellungen",
    },
}


def render(
    organization: Organization, ticket: Ticket, reason: str, actor: User | None
) -> tuple[str, str]:
    """Subject and text body in the organization's language and time zone."""
    language = notices.language_of(organization)
    words = WORDS.get(language, WORDS["en"])
    what = words[reason]
    subject = f"[#{ticket.number}] {what}: {ticket.subject}"
    when = notices.format_time(timezone.now(), organization, language)
    who = f" {words['by']} {actor.full_name or actor.email}" if actor is not None else ""
    url = outgoing.public_url(f"/desk/tickets/{ticket.number}/")
    body = (
        f"{what}{who}, {words['at']} {when}.\n\n#{ticket.number}: {ticket.subject}\n"
        f"{words['open']}: {url}\n\n--\n{words['why']}: "
        f"{outgoing.public_url('/desk/notifications/settings/')}\n"
    )
    return subject, body


def send(payload: dict[str, Any], key: str) -> None:
    """Compose and send one notification mail through the organization's sending mailbox."""
    with tenant(payload["organization"]):
        organization = Organization.objects.get(pk=payload["organization"])
        recipient = User.objects.filter(pk=payload["recipient"], is_active=True).first()
        ticket = Ticket.objects.filter(pk=payload["ticket"]).first()
        if recipient is None or ticket is None:
            return  # gone since: nothing to tell
        actor = User.objects.filter(pk=payload.get("actor") or 0).first()
        mailbox = outgoing.sending_mailbox(ticket)
        if mailbox is None:
            return
        subject, body = render(organization, ticket, payload["reason"], actor)
    message = EmailMessage()
    message["From"] = formataddr((organization.name, mailbox.address))
    message["To"] = recipient.email
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=mailbox.address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message.set_content(body)
    smtp.send(mailbox, sender=mailbox.address, recipients=[recipient.email],
              data=message.as_bytes())  # fmt: skip
