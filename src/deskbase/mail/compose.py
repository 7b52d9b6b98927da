"""The mail we send, as bytes: headers that thread, that cannot be injected, and DKIM.

`build` turns the parts of one outbound message into an `email.message.EmailMessage`;
`to_bytes` gives the bytes to send, signed with DKIM when the mailbox has a key.
Every header value passes `safe_header_value` (no CR, LF or other control
character survives) and addresses are built with `email.headerregistry`, so a
subject, a customer's name, an organization's name or a sender name containing a
line break can never add a header (`Bcc:` ...) of its own.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import dkim

from deskbase.mail.classify import AUTO_HEADERS
from deskbase.mail.headers import normalize_message_id, safe_header_value
from deskbase.mail.quotes import REPLY_MARKER

LOOP_HEADER = "X-Deskbase-Loop"  # what deskbase.mail.classify drops as our own mail

DKIM_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
                "References", "Reply-To", "MIME-Version", "Content-Type")  # fmt: skip
# Outlook's Thread-Index: a 22-byte header block, then one 5-byte block per reply.
THREAD_INDEX_HEADER_BYTES = 22
THREAD_INDEX_CHILD_BYTES = 5
THREAD_INDEX_MAX_BYTES = 22 + 5 * 200
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def address(name: str, email: str) -> Address | None:
    """A formatted address, or None when `email` is not one (never a raw string in a header)."""
    email = safe_header_value(email)
    if not email or " " in email:
        return None
    try:
        return Address(display_name=safe_header_value(name), addr_spec=email)
    except (ValueError, IndexError, TypeError):
        return None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Draft:
    """Everything one message says; `build` makes the headers and parts from it."""

    from_name: str
    from_address: str
    reply_to: str
    to: Sequence[tuple[str, str]]
    cc: Sequence[tuple[str, str]]
    subject: str
    message_id: str  # without angle brackets
    date: datetime
    text: str
    html: str
    loop_value: str  # the organization's slug, in X-Deskbase-Loop
    automatic: bool
    in_reply_to: str = ""  # without angle brackets
    references: Sequence[str] = ()  # without angle brackets, oldest first
    thread_index: str = ""
    attachments: Sequence[Attachment] = field(default_factory=tuple)


def _ids(values: Sequence[str]) -> str:
    cleaned = (normalize_message_id(v) for v in values)
    return " ".join(f"<{v}>" for v in cleaned if v)


def build(draft: Draft) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    sender = address(draft.from_name, draft.from_address)
    if sender is None:
        raise ValueError(f"the mailbox address {draft.from_address!r} is not an address")
    message["From"] = sender
    recipients = [a for a in (address(n, e) for n, e in draft.to) if a is not None]
    copies = [a for a in (address(n, e) for n, e in draft.cc) if a is not None]
    if recipients:
        message["To"] = recipients
    if copies:
        message["Cc"] = copies
    reply_to = address(draft.from_name, draft.reply_to)
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Subject"] = safe_header_value(draft.subject)
    message["Date"] = format_datetime(draft.date)
    message["Message-ID"] = _ids([draft.message_id])
    if draft.in_reply_to and normalize_message_id(draft.in_reply_to):
        message["In-Reply-To"] = _ids([draft.in_reply_to])
    if draft.references and _ids(draft.references):
        message["References"] = _ids(draft.references)
    if draft.thread_index:
        message["Thread-Index"] = safe_header_value(draft.thread_index)
    if draft.automatic:
        for name, value in AUTO_HEADERS.items():
            message[name] = value
    message[LOOP_HEADER] = safe_header_value(draft.loop_value)
    message.set_content(f"{REPLY_MARKER}\n\n{draft.text}\n")
    marker = f'<p style="color:#888888">{REPLY_MARKER}</p>'
    message.add_alternative(f"<html><body>{marker}{draft.html}</body></html>", subtype="html")
    for item in draft.attachments:
        maintype, _, subtype = (item.content_type or "").partition("/")
        if not maintype or not subtype or maintype == "text":
            maintype, subtype = "application", "octet-stream"
        name = safe_header_value(item.filename) or "attachment"
        message.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=name)
    return message


def envelope_recipients(message: EmailMessage) -> list[str]:
    found: list[str] = []
    for name in ("To", "Cc"):
        header = message[name]
        for item in getattr(header, "addresses", ()) if header is not None else ():
            if item.addr_spec and item.addr_spec not in found:
                found.append(item.addr_spec)
    return found


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: str  # PEM


def to_bytes(message: EmailMessage, *, dkim_key: DkimKey | None = None) -> bytes:
    """The message as sent (CRLF lines); with a DKIM-Signature in front when a key is given."""
    data = message.as_bytes(policy=policy.SMTP)
    if dkim_key is None:
        return data
    present = [name for name in DKIM_HEADERS if message[name] is not None]
    signature = dkim.sign(
        data,
        dkim_key.selector.encode(),
        dkim_key.domain.encode(),
        dkim_key.private_key.encode(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name.encode() for name in present],
    )
    return signature + data


# ------------------------------------------------------------------ Outlook's Thread-Index
def _filetime(moment: datetime) -> int:
    """100-nanosecond intervals since 1601-01-01 UTC (Windows FILETIME)."""
    delta = moment.astimezone(UTC) - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def extend_thread_index(parent: str, *, at: datetime, salt: int) -> str:
    """The parent's Thread-Index with one more child block for a reply made `at`; "" if invalid.

    MS-OXOMSG 2.2.1.3 (PidTagConversationIndex): the header block holds the
    conversation's start as the high 40 bits of a FILETIME; each child block holds
    one bit of code and 31 bits of the time since then (bits 18-48 of the difference
    when it fits, else bits 23-53 with the code bit set), 4 random bits and a 4-bit
    sequence count. `salt` makes the random bits (and so the value) deterministic:
    a retried send carries the same header.
    """
    try:
        raw = base64.b64decode(safe_header_value(parent), validate=True)
    except ValueError:
        return ""
    if (
        len(raw) < THREAD_INDEX_HEADER_BYTES
        or len(raw) > THREAD_INDEX_MAX_BYTES
        or (len(raw) - THREAD_INDEX_HEADER_BYTES) % THREAD_INDEX_CHILD_BYTES
    ):
        return ""
    started = int.from_bytes(raw[1:6], "big") << 24
    difference = max(_filetime(at) - started, 0)
    if difference >> 49 == 0:
        block = (difference >> 18) & 0x7FFFFFFF
    else:
        block = (1 << 31) | ((difference >> 23) & 0x7FFFFFFF)
    tail = ((salt & 0x0F) << 4) | (salt >> 4 & 0x0F)
    child = block.to_bytes(4, "big") + bytes([tail])
    return base64.b64encode(raw + child).decode("ascii")
