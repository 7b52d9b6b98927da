"""Notifications by mail: the words (the recipient's language and time zone, else the
organization's) and the
sending, from the outbox (consumer `notifications.mail`)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from django.utils import timezone

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.mail import notices, outgoing, smtp
from deskbase.mail.models import TemplateKind
from deskbase.notifications.models import Reason
from deskbase.organizations.models import Organization
from deskbase.tickets.models import Ticket

# What happened, in the organization's language: `{{ event }}` of the mail template
# (mail.TemplateKind.AGENT_NOTICE, worded by the organization or the built-in default).
EVENTS: dict[str, dict[str, str]] = {
    "en": {
        Reason.NEW_TICKET: "New ticket",
        Reason.ASSIGNED: "Assigned to you",
        Reason.CUSTOMER_REPLIED: "The customer replied",
        Reason.MENTIONED: "You were mentioned in an internal note",
        Reason.SLA_AT_RISK: "SLA at risk",
        Reason.SLA_BREACHED: "SLA breached",
        Reason.REOPENED: "Ticket reopened",
        "by": "by",
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
    },
}


def render(
    organization: Organization,
    ticket: Ticket,
    reason: str,
    actor: User | None,
    recipient: User | None = None,
) -> tuple[str, str]:
    """Subject and text body: the organization's wording of the agent notice (1 query),
    in the recipient's language and time zone, else the organization's."""
    language = notices.language_for(organization, recipient)
    words = EVENTS.get(language, EVENTS["en"])
    wording = notices.wording(organization, TemplateKind.AGENT_NOTICE, language)
    values = {
        "organization": organization.name,
        "ticket_number": str(ticket.number),
        "ticket_subject": ticket.subject,
        "customer_name": ticket.customer.full_name or ticket.customer.email,
        "ticket_url": outgoing.public_url(f"/desk/tickets/{ticket.number}/"),
        "event": words[reason],
        "actor_name": f"{words['by']} {actor.full_name or actor.email}" if actor else "",
        "event_at": notices.format_time(
            timezone.now(), organization, language, recipient.timezone if recipient else ""
        ),
        "settings_url": outgoing.public_url("/desk/notifications/settings/"),
    }
    subject = " ".join(notices.render_text(wording.subject, values).split())
    return subject, notices.render_text(wording.body, values)


def send(payload: dict[str, Any], key: str) -> None:
    """Compose and send one notification mail through the organization's sending mailbox."""
    with tenant(payload["organization"]):
        organization = Organization.objects.get(pk=payload["organization"])
        recipient = User.objects.filter(pk=payload["recipient"], is_active=True).first()
        ticket = Ticket.objects.select_related("customer").filter(pk=payload["ticket"]).first()
        if recipient is None or ticket is None:
            return  # gone since: nothing to tell
        actor = User.objects.filter(pk=payload.get("actor") or 0).first()
        mailbox = outgoing.sending_mailbox(ticket)
        if mailbox is None:
            return
        subject, body = render(organization, ticket, payload["reason"], actor, recipient)
    message = EmailMessage()
    message["From"] = formataddr((organization.name, mailbox.address))
    message["To"] = recipient.email
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=mailbox.address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message.set_content(body)
    smtp.send(mailbox, sender=mailbox.address, recipients=[recipient.email],
              data=message.as_bytes())  # fmt: skip
