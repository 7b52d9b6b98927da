"""A message over MAIL_MAX_MESSAGE_BYTES that IMAP fetching did not download.

`deskbase.mail.imap` reads such a message's size (RFC822.SIZE) and its header only,
and hands them here: the message is recorded once, like any other (per organization,
mailbox and Message-ID hash, under the same lock as `deskbase.mail.ingest.receive`,
announced as `mail.received` like it), straight into review with the cause "too
large", its real size and a decision that says so. What is kept as its raw message
is its header with a short plain-text body saying that the rest was not downloaded
and is still on the mail server; so accepting it from review opens a ticket that
says the same, rather than a silent empty one. (Pushed mail never gets here:
`deskbase mail serve` refuses a message over the limit with 552 while it arrives.)
"""

from __future__ import annotations

import email.parser
import email.policy

from django.conf import settings
from django.utils import timezone

from deskbase.core import events
from deskbase.core.tenancy import tenant
from deskbase.mail import headers, ingest, parse
from deskbase.mail.models import InboundMessage, InboundState, Mailbox, ReviewCause
from deskbase.organizations.models import Organization

# Headers about the body that was not read: they would describe the note instead.
_BODY_HEADERS = {"content-type", "content-transfer-encoding", "content-disposition",
                 "mime-version"}  # fmt: skip


def kept_message(header: bytes, *, size: int, limit: int, folder: str) -> bytes:
    """The header of the large message (without its body's MIME headers) and a note."""
    message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(header)
    for name in {key.lower() for key in message} & _BODY_HEADERS:
        del message[name]
    text = (
        f"This message was {ingest.size_text(size)}, over the {ingest.size_text(limit)} limit of"
        f" incoming mail. Only its header was read; the whole message is still on the"
        f" mail server, in the folder {folder!r}.\n"
    )
    head = message.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))
    head = head.rstrip(b"\r\n") + b"\r\n"
    return (
        head + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text.replace("\n", "\r\n").encode()
    )


def receive_too_large(
    *,
    mailbox: Mailbox,
    header: bytes,
    size: int,
    source: str,
    imap_uidvalidity: int | None = None,
    imap_uid: int | None = None,
) -> InboundMessage:
    """Record the large message in review, once; commits; returns its row."""
    limit = settings.MAIL_MAX_MESSAGE_BYTES
    raw = kept_message(header, size=size, limit=limit, folder=mailbox.imap_folder)
    sha256 = ingest.store_raw(raw)
    parsed = parse.parse(raw)
    message_id = parsed.message_id  # never empty: parse generates one from the bytes
    digest = headers.message_id_hash(message_id)
    organization_id = mailbox.organization_id
    with tenant(organization_id):
        ingest.lock_message(organization_id, digest)
        existing = InboundMessage.objects.filter(
            organization_id=organization_id, mailbox_id=mailbox.id, message_id_hash=digest
        ).first()
        if existing is not None:
            return existing
        inbound = InboundMessage.objects.create(
            organization_id=organization_id, mailbox=mailbox, message_id=message_id[:998],
            message_id_hash=digest, raw_sha256=sha256, size=size, source=source,
            imap_uidvalidity=imap_uidvalidity, imap_uid=imap_uid,
            sender=ingest.sender_of(parsed),
            subject=ingest.subject_of(parsed)[: ingest.SUBJECT_LENGTH],
            state=InboundState.REVIEW, review_cause=ReviewCause.TOO_LARGE,
            decision="Being processed.", processed_at=timezone.now(),
        )  # fmt: skip
        outcome = ingest.Outcome(
            InboundState.REVIEW,
            f"In review: the message is {ingest.size_text(size)}, over the"
            f" {ingest.size_text(limit)} limit; only its header was read, the message is"
            " still on the mail server.",
            cause=ReviewCause.TOO_LARGE,
        )
        with events.announce(events.MAIL_RECEIVED, Organization(id=organization_id), None, inbound):
            ingest.record(inbound, outcome)
    return inbound
