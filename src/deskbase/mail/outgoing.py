"""Mail to customers about their tickets: decided inside the write, sent by the outbox.

Subscribers in the `after` phase of the write's transaction (docs/mail-outbound.md):

- `comment.added`, a public reply by staff -> an agent reply to the requester and
  the participants (CCs), never to the author; internal notes and customers' own
  messages send nothing;
- `ticket.created` by the customer (portal, API, mail) -> "ticket received";
- `ticket.updated` to status resolved -> "ticket resolved" with the CSAT link.

Each writes an OutboundMessage with its Message-ID and threading headers fixed
now, and enqueues `mail.send` (deskbase.mail.consumers) for it: committed with the
change, or not at all. An organization without a mailbox that can send (active,
with an SMTP server) gets no mail and no rows. Automatic mail (received,
resolved) to one address is capped per hour; a capped message is kept as
`suppressed` with the reason, and not sent.
"""

from __future__ import annotations

import html as html_lib
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from email.parser import BytesHeaderParser
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from deskbase.accounts.models import User
from deskbase.core import events
from deskbase.core.cache import cached, invalidate_on_commit
from deskbase.core.tenancy import tenant
from deskbase.mail import compose, headers, notices, tokens
from deskbase.mail.models import (
    InboundMessage,
    InboundState,
    Kind,
    Mailbox,
    OutboundKind,
    OutboundMessage,
    OutboundState,
    Participant,
)
from deskbase.organizations.models import Organization
from deskbase.outbox import enqueue
from deskbase.tickets import attachments as store
from deskbase.tickets.models import CommentKind, Status, Ticket, TicketAttachment, TicketComment
from deskbase.tickets.permissions import is_staff_member

SEND = "mail.send"
AUTOMATIC = (OutboundKind.RECEIVED, OutboundKind.RESOLVED, OutboundKind.NOTIFICATION)
MAX_REFERENCES = 20  # like common clients: the thread's root and the latest ones
DEFAULT_AUTOMATIC_PER_HOUR = 5
DEFAULT_ATTACHMENTS_MAX_BYTES = 20 * 1024 * 1024
RAW_HEADER_BYTES = 256 * 1024


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# ------------------------------------------------------------------ subscribers
@events.subscribe(events.COMMENT_ADDED, "after")
def on_comment_added(event: events.Event) -> None:
    comment: TicketComment = event.instance
    if comment.kind != CommentKind.PUBLIC or comment.author is None:
        return
    if not is_staff_member(comment.author):  # the customer's own words: nothing to tell them
        return
    queue(kind=OutboundKind.REPLY, ticket=comment.ticket, comment=comment,
          actor_id=event.actor_id)  # fmt: skip


@events.subscribe(events.TICKET_CREATED, "after")
def on_ticket_created(event: events.Event) -> None:
    ticket: Ticket = event.instance
    if event.actor_id is None or event.actor_id != ticket.customer_id:
        return  # opened by staff for the customer: the agent writes to them
    queue(kind=OutboundKind.RECEIVED, ticket=ticket, comment=None, actor_id=None)


@events.subscribe(events.TICKET_UPDATED, "after")
def on_ticket_updated(event: events.Event) -> None:
    status = event.changes.get("status")
    if not status or status[1] != Status.RESOLVED:
        return
    queue(kind=OutboundKind.RESOLVED, ticket=event.instance, comment=None,
          actor_id=event.actor_id)  # fmt: skip


# ------------------------------------------------------------------ deciding
SENDERS = "mail_senders"  # the cache entry (deskbase.core.cache) of the mailboxes that send


def sender_ids(organization_id: int) -> list[int]:
    """The ids of the organization's mailboxes that can send, oldest first (cached).

    Every reply and every new ticket asks, inside the write's transaction and its
    ticket lock: an organization without mail must not pay a query for it. Any save
    or delete of a mailbox invalidates the entry on commit (signals below).
    """

    def load() -> list[int]:
        with tenant(organization_id, savepoint=False):
            return list(
                Mailbox.objects.filter(organization_id=organization_id, is_active=True)
                .exclude(smtp_host="")
                .order_by("id")
                .values_list("id", flat=True)
            )

    return cached(SENDERS, organization_id, load)


def _mailbox_changed(sender: type, instance: Mailbox, **_: Any) -> None:
    invalidate_on_commit(instance.organization_id, SENDERS)


post_save.connect(_mailbox_changed, sender=Mailbox, dispatch_uid="mail-senders-save")
post_delete.connect(_mailbox_changed, sender=Mailbox, dispatch_uid="mail-senders-delete")


def sending_mailbox(ticket: Ticket) -> Mailbox | None:
    """The mailbox the ticket's mail came in through, else the organization's first that sends."""
    ids = sender_ids(ticket.organization_id)
    if not ids:
        return None
    sends = list(
        Mailbox.objects.filter(organization_id=ticket.organization_id, id__in=ids)
        .filter(is_active=True)
        .exclude(smtp_host="")
        .order_by("id")
    )
    if len(sends) < 2:
        return sends[0] if sends else None
    came_in = (
        InboundMessage.objects.filter(organization_id=ticket.organization_id, ticket=ticket)
        .order_by("-id")
        .values_list("mailbox_id", flat=True)
        .first()
    )
    return next((m for m in sends if m.id == came_in), sends[0])


@dataclass(frozen=True)
class Thread:
    in_reply_to: str
    references: list[str]


def thread_of(ticket: Ticket, *, leaving_out: int | None = None) -> Thread:
    """In-Reply-To: the latest message that came in on the ticket, else the latest we sent.

    References: the ticket's messages in and out, oldest first, bounded to the root
    and the latest ones, ending with In-Reply-To.
    """
    inbound = InboundMessage.objects.filter(
        organization_id=ticket.organization_id, ticket=ticket,
        state__in=[InboundState.TICKET, InboundState.REPLY], kind=Kind.NORMAL,
    )  # fmt: skip
    outbound = OutboundMessage.objects.filter(
        organization_id=ticket.organization_id, ticket=ticket
    ).exclude(Q(state=OutboundState.SUPPRESSED) | Q(id=leaving_out))
    seen: list[tuple[Any, str]] = []
    for rows, when in ((inbound, "received_at"), (outbound, "created_at")):
        latest = list(
            rows.order_by(f"-{when}", "-id").values_list(when, "message_id")[:MAX_REFERENCES]
        )
        seen.extend(latest)
        if len(latest) == MAX_REFERENCES:
            seen.extend(rows.order_by(when, "id").values_list(when, "message_id")[:1])
    chain: list[str] = []
    for _, message_id in sorted(seen, key=lambda row: row[0]):
        normalized = headers.normalize_message_id(message_id)
        if normalized and normalized not in chain:
            chain.append(normalized)
    parent = ""
    last_in = inbound.order_by("-received_at", "-id").values_list("message_id", flat=True).first()
    if last_in and headers.normalize_message_id(last_in):
        parent = headers.normalize_message_id(last_in) or ""
    elif chain:
        parent = chain[-1]
    if parent:
        chain = [m for m in chain if m != parent] + [parent]
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    return Thread(in_reply_to=parent, references=chain)


def _mailbox_addresses(organization_id: int) -> set[str]:
    found = Mailbox.objects.filter(organization_id=organization_id).values_list(
        "address", flat=True
    )
    return {a.lower() for a in found}


def _base_address(email: str) -> str:
    local, _, domain = email.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def recipients(
    *, ticket: Ticket, kind: str, actor_id: int | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(to, cc): the requester, and for replies the participants; never the actor or a mailbox."""
    ours = {_base_address(a) for a in _mailbox_addresses(ticket.organization_id)}
    excluded: set[str] = set()
    if actor_id is not None:
        actor_email = User.objects.filter(id=actor_id).values_list("email", flat=True).first()
        if actor_email:
            excluded.add(actor_email.lower())
    customer = ticket.customer
    candidates = [(customer.full_name or "", customer.email or "")]
    if kind == OutboundKind.REPLY:
        candidates += list(
            Participant.objects.filter(organization_id=ticket.organization_id, ticket=ticket)
            .order_by("id")
            .values_list("name", "email")
        )
    chosen: list[tuple[str, str]] = []
    taken: set[str] = set()
    for name, email in candidates:
        key = (email or "").strip().lower()
        if not key or key in excluded or key in taken or _base_address(key) in ours:
            continue
        if compose.address(name, key) is None:
            continue
        taken.add(key)
        chosen.append((name, key))
    return chosen[:1], chosen[1:]


def _capped(organization_id: int, to: list[tuple[str, str]]) -> str:
    """The reason automatic mail to this address is held back now, or ""."""
    limit = int(_setting("MAIL_AUTOMATIC_PER_HOUR", DEFAULT_AUTOMATIC_PER_HOUR))
    email = to[0][1]
    recent = OutboundMessage.objects.filter(
        organization_id=organization_id, kind__in=AUTOMATIC,
        created_at__gte=timezone.now() - timedelta(hours=1), to_addresses__contains=[email],
    ).exclude(state=OutboundState.SUPPRESSED)  # fmt: skip
    if recent.count() >= limit:
        return (
            f"rate cap: {limit} automatic messages to {email} in the last hour;"
            " this one was not sent"
        )
    return ""


def subject_for(ticket: Ticket, kind: str, organization: Organization) -> str:
    language = notices.language_for(organization, ticket.customer)
    template_kind = OutboundKind.REPLY if kind == OutboundKind.NOTIFICATION else kind
    wording = notices.wording(organization, template_kind, language)
    subject = notices.render_text(wording.subject, {
        "organization": organization.name, "ticket_number": str(ticket.number),
        "ticket_subject": ticket.subject, "customer_name": ticket.customer.full_name or "",
    })  # fmt: skip
    return with_token(headers.safe_header_value(subject), token_of(ticket))


def token_of(ticket: Ticket) -> tokens.Token:
    return tokens.ticket_token(
        organization_id=ticket.organization_id, ticket_id=ticket.id, number=ticket.number
    )


def with_token(subject: str, token: tokens.Token) -> str:
    """The subject with the bracketed token at its end, once (never doubled on "Re:")."""
    if token in tokens.in_text(subject):
        return subject
    tag = tokens.bracketed(token)
    room = 300 - len(tag) - 1
    return f"{subject[:room].rstrip()} {tag}".strip()


def queue(
    *, kind: str, ticket: Ticket, comment: TicketComment | None, actor_id: int | None
) -> OutboundMessage | None:
    """Write the outbound message and enqueue its sending, in the caller's transaction."""
    mailbox = sending_mailbox(ticket)
    if mailbox is None:
        return None  # no mailbox sends for this organization: no mail
    organization = Organization.objects.get(id=ticket.organization_id)
    to, cc = recipients(ticket=ticket, kind=kind, actor_id=actor_id)
    thread = thread_of(ticket)
    domain = headers.own_message_id_domain(mailbox.address)
    message_id = f"{kind}.{ticket.number}.{secrets.token_hex(8)}@{domain}"
    outbound = OutboundMessage(
        organization_id=ticket.organization_id, mailbox=mailbox, ticket=ticket, comment=comment,
        kind=kind, message_id=message_id, message_id_hash=headers.message_id_hash(message_id),
        in_reply_to=thread.in_reply_to, references=" ".join(f"<{m}>" for m in thread.references),
        to_addresses=[e for _, e in to], cc_addresses=[e for _, e in cc],
        subject=subject_for(ticket, kind, organization),
    )  # fmt: skip
    if not to:
        outbound.state, outbound.error = OutboundState.SUPPRESSED, "no recipient to write to"
    elif kind in AUTOMATIC:
        reason = _capped(ticket.organization_id, to)
        if reason:
            outbound.state, outbound.error = OutboundState.SUPPRESSED, reason
    outbound.save()
    if outbound.state == OutboundState.QUEUED:
        enqueue(ticket.organization_id, SEND, f"outbound:{outbound.id}", {"outbound": outbound.id})
    return outbound


# ------------------------------------------------------------------ composing
def public_url(path: str) -> str:
    base = str(_setting("PUBLIC_URL", "http://localhost:8000")).rstrip("/")
    return f"{base}{path}"


def _values(outbound: OutboundMessage, organization: Organization, language: str) -> dict[str, str]:
    ticket = outbound.ticket
    ticket_url = public_url(f"/portal/tickets/{ticket.number}/")
    comment = outbound.comment
    author = comment.author if comment is not None else None
    zone = ticket.customer.timezone  # the reader's, else the organization's
    return {
        "organization": organization.name,
        "ticket_number": str(ticket.number),
        "ticket_subject": ticket.subject,
        "customer_name": ticket.customer.full_name or ticket.customer.email,
        "ticket_url": ticket_url,
        "csat_url": f"{ticket_url}#rate-form",
        "created_at": notices.format_time(ticket.created_at, organization, language, zone),
        "resolved_at": notices.format_time(ticket.resolved_at, organization, language, zone),
        "agent_name": (author.full_name or author.email) if author is not None else "",
        "reply": comment.body_text if comment is not None else "",
    }


def _attachments(outbound: OutboundMessage) -> tuple[list[compose.Attachment], list[str]]:
    """The comment's files up to the size cap; the names of those left out."""
    if outbound.comment_id is None:
        return [], []
    cap = int(_setting("MAIL_ATTACHMENTS_MAX_BYTES", DEFAULT_ATTACHMENTS_MAX_BYTES))
    files = TicketAttachment.objects.filter(
        organization_id=outbound.organization_id, comment_id=outbound.comment_id
    ).order_by("id")
    taken: list[compose.Attachment] = []
    left_out: list[str] = []
    total = 0
    for item in files:
        if total + item.size > cap:
            left_out.append(item.file_name)
            continue
        taken.append(compose.Attachment(item.file_name, item.content_type,
                                        store.path_for(item.sha256).read_bytes()))  # fmt: skip
        total += item.size
    return taken, left_out


def _parent_thread_index(outbound: OutboundMessage) -> str:
    """The Thread-Index of the message we answer, read from its kept raw headers."""
    if not outbound.in_reply_to:
        return ""
    raw_sha256 = (
        InboundMessage.objects.filter(
            organization_id=outbound.organization_id,
            message_id_hash=headers.message_id_hash(outbound.in_reply_to),
        )
        .values_list("raw_sha256", flat=True)
        .first()
    )
    if not raw_sha256:
        return ""
    try:
        with store.path_for(raw_sha256).open("rb") as handle:
            head = handle.read(RAW_HEADER_BYTES)
    except (OSError, ValueError):
        return ""
    parsed = BytesHeaderParser().parsebytes(head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
    value = parsed.get("Thread-Index")
    return str(value) if value else ""


def _names(ticket: Ticket) -> dict[str, str]:
    """The display names of the ticket's people by address (the requester's and the CCs')."""
    found = dict(
        Participant.objects.filter(
            organization_id=ticket.organization_id, ticket=ticket
        ).values_list("email", "name")
    )
    found[ticket.customer.email.lower()] = ticket.customer.full_name or ""
    return found


def draft_for(outbound: OutboundMessage) -> compose.Draft:
    """The message of an outbound row, worded by the organization's template of the
    customer's language (their own, else the organization's)."""
    organization = Organization.objects.get(id=outbound.organization_id)
    mailbox = outbound.mailbox
    assert mailbox is not None
    language = notices.language_for(organization, outbound.ticket.customer)
    kind = OutboundKind.REPLY if outbound.kind == OutboundKind.NOTIFICATION else outbound.kind
    wording = notices.wording(organization, kind, language)
    values = _values(outbound, organization, language)
    files, left_out = _attachments(outbound)
    text = notices.render_text(wording.body, values)
    html = notices.render_html(wording.body, values, raw={
        "reply": outbound.comment.body_html if outbound.comment is not None else "",
    })  # fmt: skip
    if left_out:
        note = "Too large to attach, on the ticket: " + ", ".join(left_out)
        text, html = f"{text}\n\n{note}", f"{html}<p>{html_lib.escape(note)}</p>"
    names = _names(outbound.ticket)
    created = outbound.created_at
    parent_index = _parent_thread_index(outbound)
    return compose.Draft(
        from_name=mailbox.from_name or organization.name, from_address=mailbox.address,
        reply_to=tokens.reply_address(mailbox.address, token_of(outbound.ticket)),
        to=[(names.get(e, ""), e) for e in outbound.to_addresses],
        cc=[(names.get(e, ""), e) for e in outbound.cc_addresses],
        subject=outbound.subject, message_id=outbound.message_id, date=created.astimezone(
            zoneinfo.ZoneInfo(organization.timezone or "UTC")),
        text=text, html=html, loop_value=organization.slug,
        automatic=outbound.kind in AUTOMATIC, in_reply_to=outbound.in_reply_to,
        references=[r.strip("<>") for r in outbound.references.split()],
        thread_index=compose.extend_thread_index(parent_index, at=created, salt=outbound.id)
        if parent_index else "",
        attachments=files,
    )  # fmt: skip


def thread_late(outbound: OutboundMessage) -> None:
    """Thread a message queued before the mail it answers was linked to its ticket.

    The inbound pipeline opens a ticket, then links its message to it: the
    acknowledgement, queued when the ticket was created, found nothing to answer.
    Before sending, it takes the thread (and the mailbox the mail came in through)
    as they are now; the values are saved with the sent mark.
    """
    if outbound.in_reply_to:
        return
    thread = thread_of(outbound.ticket, leaving_out=outbound.id)
    if not thread.in_reply_to:
        return
    outbound.in_reply_to = thread.in_reply_to
    outbound.references = " ".join(f"<{m}>" for m in thread.references)
    fields = ["in_reply_to", "references"]
    came_in = sending_mailbox(outbound.ticket)
    if came_in is not None and came_in.id != outbound.mailbox_id:
        outbound.mailbox = came_in
        fields.append("mailbox")
    outbound.save(update_fields=fields)


def opened_by_automatic_mail(outbound: OutboundMessage) -> bool:
    """Whether the ticket was opened by a message that must never be answered automatically."""
    return (
        InboundMessage.objects.filter(
            organization_id=outbound.organization_id,
            ticket_id=outbound.ticket_id,
            state=InboundState.TICKET,
        )
        .filter(~Q(kind=Kind.NORMAL))
        .exists()
    )
