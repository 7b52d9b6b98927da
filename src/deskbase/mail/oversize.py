"""A message over MAIL_MAX_MESSAGE_BYTES that IMAP fetching did not download.

`deskbase.mail.imap` reads such a message's size (RFC822.SIZE) and its header only,
and hands them here: the message goes through `deskbase.mail.ingest.receive` with its
real size (`size=`), so it is recorded once like any other and waits in review with
the cause "too large" and a decision that says so. What is kept as its raw message
is its header with a short plain-text body saying that the rest was not downloaded
and is still on the mail server; so accepting it from review opens a ticket that
says the same, rather than a silent empty one. (Pushed mail never gets here:
`deskbase mail serve` refuses a message over the limit with 552 while it arrives.)
"""

from __future__ import annotations

import email.parser
import email.policy

from django.conf import settings

from deskbase.mail import ingest
from deskbase.mail.models import InboundMessage, Mailbox

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
    raw = kept_message(
        header, size=size, limit=settings.MAIL_MAX_MESSAGE_BYTES, folder=mailbox.imap_folder
    )
    return ingest.receive(
        mailbox=mailbox, raw=raw, size=max(size, len(raw)), source=source,
        imap_uidvalidity=imap_uidvalidity, imap_uid=imap_uid,
    )  # fmt: skip
