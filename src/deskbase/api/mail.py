"""/api/v1/mailboxes, /api/v1/mail/...: the e-mail channel's administration.

- Mailboxes: admins create, change, delete and test them; managers read them; agents
  and customers get a 403. Passwords and the DKIM key are write-only: an answer only
  says whether one is stored (`has_imap_password`, `has_smtp_password`, `has_dkim_key`).
  An empty or absent secret on PATCH keeps the stored one.
- The review queue (suspended mail), a ticket's mail and a message's raw .eml: staff.
Another tenant's mailbox or message is a 404, like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.downloads import download_response
from deskbase.core.errors import ValidationFailed
from deskbase.mail import review, selectors, services
from deskbase.mail.models import InboundMessage, Mailbox, ReviewCause
from deskbase.tickets.access import (
    access_ticket_by_number,
    access_ticket_reference,
    caller_organization,
)
from deskbase.tickets.permissions import ensure_staff

router = Router(tags=["mail"])

InboundName = Literal["none", "imap", "push"]
SecurityName = Literal["none", "starttls", "tls"]
CauseName = Literal[
    "unparseable", "too_large", "unverified_sender", "not_participant", "rate_limited",
    "unknown_sender", "failed",
]  # fmt: skip
Host = Field(None, max_length=255)


class MailboxOut(Schema):
    id: int
    name: str
    address: str
    from_name: str
    is_active: bool
    inbound: str
    imap_host: str
    imap_port: int | None
    imap_security: str
    imap_username: str
    imap_folder: str
    imap_archive_folder: str
    smtp_host: str
    smtp_port: int | None
    smtp_security: str
    smtp_username: str
    dkim_domain: str
    dkim_selector: str
    authserv_id: str
    has_imap_password: bool
    has_smtp_password: bool
    has_dkim_key: bool
    last_error: str = Field(..., description="the servers' last refusal; blank while working")
    last_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_has_imap_password(obj: Mailbox) -> bool:
        return bool(obj.imap_password)

    @staticmethod
    def resolve_has_smtp_password(obj: Mailbox) -> bool:
        return bool(obj.smtp_password)

    @staticmethod
    def resolve_has_dkim_key(obj: Mailbox) -> bool:
        return bool(obj.dkim_private_key)


class MailboxFields(Strict):
    from_name: str | None = Field(None, max_length=120)
    is_active: bool | None = None
    inbound: InboundName | None = None
    imap_host: str | None = Host
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_security: SecurityName | None = None
    imap_username: str | None = Host
    imap_password: str | None = Field(None, max_length=1000, description="write-only")
    imap_folder: str | None = Host
    imap_archive_folder: str | None = Host
    smtp_host: str | None = Host
    smtp_port: int | None = Field(None, ge=1, le=65535)
    smtp_security: SecurityName | None = None
    smtp_username: str | None = Host
    smtp_password: str | None = Field(None, max_length=1000, description="write-only")
    dkim_domain: str | None = Host
    dkim_selector: str | None = Field(None, max_length=63)
    dkim_private_key: str | None = Field(None, max_length=20_000, description="PEM; write-only")
    authserv_id: str | None = Host


class MailboxIn(MailboxFields):
    name: str = Field(..., min_length=1, max_length=120)
    address: str = Field(..., min_length=3, max_length=254)


class MailboxPatch(MailboxFields):
    name: str | None = Field(None, min_length=1, max_length=120)
    address: str | None = Field(None, min_length=3, max_length=254)


class AnswerOut(Schema):
    service: str
    ok: bool
    text: str = Field(..., description="what the server answered, or why it was not reached")


class MailboxTestOut(Schema):
    ok: bool
    answers: list[AnswerOut]
    last_error: str
    last_checked_at: datetime | None


class ReviewOut(Schema):
    id: int
    mailbox_id: int
    mailbox_address: str
    sender: str
    subject: str
    received_at: datetime
    size: int
    kind: str
    review_cause: str
    cause: str = Field(..., description="the cause in words")
    decision: str
    review_expires_at: datetime | None

    @staticmethod
    def resolve_mailbox_address(obj: InboundMessage) -> str:
        return obj.mailbox.address  # selected with the row

    @staticmethod
    def resolve_cause(obj: InboundMessage) -> str:
        return str(ReviewCause(obj.review_cause).label) if obj.review_cause else ""


class ReviewPage(Schema):
    items: list[ReviewOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class ReviewQuery(Schema):
    cause: CauseName | None = None
    cursor: str | None = Field(None, max_length=20)
    limit: int = Field(50, ge=1, le=200)


class ReviewAssignIn(Strict):
    ticket: int = Field(..., description="number of the ticket the message joins")


class InboundOut(Schema):
    id: int
    sender: str
    subject: str
    received_at: datetime
    kind: str
    state: str
    decision: str = Field(..., description="what was done with the message, and why")
    review_cause: str


class OutboundOut(Schema):
    id: int
    kind: str
    subject: str
    to_addresses: list[str]
    cc_addresses: list[str]
    message_id: str
    state: str
    error: str = Field(..., description="the server's answer when sending failed or bounced")
    bounce_id: int | None
    created_at: datetime
    sent_at: datetime | None


class TicketMailOut(Schema):
    inbound: list[InboundOut]
    outbound: list[OutboundOut]


def _cursor(raw: str | None) -> int:
    if not raw:
        return 0
    if not raw.isdigit():
        raise ValidationFailed.one("cursor", "Pass the next_cursor of the previous page.")
    return int(raw)


def _reference(user: Any, mailbox_id: int) -> Mailbox:
    # Only the id: the service reads (and locks) the row of the caller's tenant.
    return Mailbox(pk=mailbox_id, organization_id=user.organization_id)


def _set(payload: Schema) -> dict[str, Any]:
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in (*services.SECRETS, "imap_port", "smtp_port"):
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    return changes


# ------------------------------------------------------------------ mailboxes
@router.get("/mailboxes", response={200: list[MailboxOut], **ERRORS})
def list_mailboxes(request: ApiRequest):
    """The organization's mailboxes by name (admins, managers)."""
    user = request.auth
    return selectors.mailbox_list(organization=caller_organization(user), actor=user)


@router.post("/mailboxes", response={201: MailboxOut, **ERRORS})
def create_mailbox(request: ApiRequest, payload: MailboxIn):
    """A new mailbox (admins). Secrets are sent in clear over HTTPS and stored encrypted."""
    user = request.auth
    created = services.mailbox_create(
        organization=caller_organization(user), actor=user, **_set(payload)
    )
    return Status(201, created)


@router.get("/mailboxes/{mailbox_id}", response={200: MailboxOut, **ERRORS})
def get_mailbox(request: ApiRequest, mailbox_id: int):
    user = request.auth
    return selectors.mailbox_of(
        organization=caller_organization(user), actor=user, mailbox_id=mailbox_id
    )


@router.patch("/mailboxes/{mailbox_id}", response={200: MailboxOut, **ERRORS})
def update_mailbox(request: ApiRequest, mailbox_id: int, payload: MailboxPatch):
    """Change a mailbox (admins); an absent or empty secret keeps the stored one."""
    user = request.auth
    return services.mailbox_update(
        organization=caller_organization(user), actor=user,
        mailbox=_reference(user, mailbox_id), **_set(payload),
    )  # fmt: skip


@router.delete("/mailboxes/{mailbox_id}", response={204: None, **ERRORS})
def delete_mailbox(request: ApiRequest, mailbox_id: int):
    """Remove a mailbox (admins): it stops receiving and sending; its mail stays."""
    user = request.auth
    services.mailbox_soft_delete(
        organization=caller_organization(user), actor=user, mailbox=_reference(user, mailbox_id)
    )
    return Status(204, None)


@router.post("/mailboxes/{mailbox_id}/test", response={200: MailboxTestOut, **ERRORS})
def test_mailbox(request: ApiRequest, mailbox_id: int):
    """Log in to the IMAP server and open the SMTP connection now (admins); the answers
    are returned and stored (`last_error`, `last_checked_at`)."""
    user = request.auth
    organization = caller_organization(user)
    result = services.mailbox_test(
        organization=organization, actor=user, mailbox=_reference(user, mailbox_id)
    )
    mailbox = selectors.mailbox_of(organization=organization, actor=user,
                                         mailbox_id=mailbox_id)  # fmt: skip
    return {"ok": result.ok, "answers": result.answers, "last_error": mailbox.last_error,
            "last_checked_at": mailbox.last_checked_at}  # fmt: skip


# ------------------------------------------------------------------ review queue
@router.get("/mail/review", response={200: ReviewPage, **ERRORS})
def list_review(request: ApiRequest, query: Query[ReviewQuery]):
    """Suspended mail, oldest first, each with its cause (staff). One query per page."""
    user = request.auth
    page = selectors.review_queue(
        organization=caller_organization(user), actor=user, cause=query.cause,
        after=_cursor(query.cursor), limit=query.limit,
    )  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}


class ReviewedOut(Schema):
    id: int
    state: str
    decision: str = Field(..., description="what became of the message, and why")
    ticket: int | None = Field(None, description="number of the ticket it opened or joined")

    @staticmethod
    def resolve_ticket(obj: InboundMessage) -> int | None:
        return obj.ticket.number if obj.ticket is not None else None


def _message(user: Any, message_id: int) -> InboundMessage:
    # Only the id: the review services read (and lock) the row of the caller's tenant.
    return InboundMessage(pk=message_id, organization_id=user.organization_id)


@router.post("/mail/review/{message_id}/accept", response={200: ReviewedOut, **ERRORS})
def accept_review(request: ApiRequest, message_id: int):
    """Process the message again, staff vouching for the sender (staff)."""
    user = request.auth
    return review.review_accept(organization=caller_organization(user), actor=user,
                                message=_message(user, message_id))  # fmt: skip


@router.post("/mail/review/{message_id}/assign", response={200: ReviewedOut, **ERRORS})
def assign_review(request: ApiRequest, message_id: int, payload: ReviewAssignIn):
    """Add the message to a ticket as the sender's public reply (staff); a ticket that is
    not the caller's organization's is a 422 naming `ticket`."""
    user = request.auth
    ensure_staff(user, "assign mail from review")
    ticket = access_ticket_reference(user, payload.ticket, field="ticket")
    return review.review_assign(organization=caller_organization(user), actor=user,
                                message=_message(user, message_id), ticket=ticket)  # fmt: skip


@router.post("/mail/review/{message_id}/discard", response={200: ReviewedOut, **ERRORS})
def discard_review(request: ApiRequest, message_id: int):
    """Keep the message recorded, acting on nothing (staff)."""
    user = request.auth
    return review.review_discard(organization=caller_organization(user), actor=user,
                                 message=_message(user, message_id))  # fmt: skip


# ------------------------------------------------------------------ a ticket's mail
@router.get("/tickets/{number}/mail", response={200: TicketMailOut, **ERRORS})
def ticket_mail(request: ApiRequest, number: int):
    """What came in for the ticket, with each decision and its reason, and what went out,
    with its state and the server's answer (staff)."""
    user = request.auth
    organization = caller_organization(user)
    ensure_staff(user, "read a ticket's mail")
    ticket = access_ticket_by_number(user, number)
    mail = selectors.ticket_mail(organization=organization, actor=user, ticket=ticket)
    return {"inbound": mail.inbound, "outbound": mail.outbound}


@router.get(
    "/mail/messages/{message_id}/raw",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "The message as received (message/rfc822), as an attachment.",
                "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)  # fmt: skip
def raw_message(request: ApiRequest, message_id: int):
    """A received message's .eml exactly as it arrived (staff)."""
    user = request.auth
    message = selectors.inbound_of(
        organization=caller_organization(user), actor=user, message_id=message_id
    )
    handle = selectors.raw_open(message)
    return download_response(
        handle, content_type="message/rfc822", file_name=f"message-{message.pk}.eml"
    )
