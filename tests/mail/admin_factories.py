"""Rows of the mail tables as the intake and the sending leave them, for the
administration's tests (the intake itself is tested on its own)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from deskbase.mail import services
from deskbase.mail.models import InboundMessage, Mailbox, OutboundMessage
from deskbase.tickets.attachments import store

RAW = b"From: someone@example.test\r\nSubject: Help\r\nMessage-ID: <%d@example.test>\r\n\r\nHi\r\n"


def mailbox(world: Any, **fields: Any) -> Mailbox:
    values = {"name": "Support", "address": f"support@{world.org.slug}.test"}
    values.update(fields)
    return services.mailbox_create(organization=world.org, actor=world.admin, **values)


_count = iter(range(1, 1_000_000))


def inbound(world: Any, box: Mailbox, **fields: Any) -> InboundMessage:
    """A received message with its raw bytes in the attachment store; in review unless
    `state` says otherwise."""
    n = next(_count)
    raw = fields.pop("raw", RAW % n)
    stored = store(io.BytesIO(raw))
    message_id = f"{n}@example.test"
    values: dict[str, Any] = {
        "organization": world.org, "mailbox": box, "message_id": message_id,
        "message_id_hash": hashlib.sha256(message_id.encode()).digest(),
        "raw_sha256": stored.sha256, "size": len(raw), "source": "imap",
        "sender": "someone@example.test", "subject": f"Help {n}", "state": "review",
        "review_cause": "unverified_sender",
        "decision": "held for review because the sender could not be verified",
    }  # fmt: skip
    values.update(fields)
    return InboundMessage.objects.create(**values)


def outbound(world: Any, ticket: Any, **fields: Any) -> OutboundMessage:
    n = next(_count)
    message_id = f"out{n}@{world.org.slug}.test"
    values: dict[str, Any] = {
        "organization": world.org, "ticket": ticket, "kind": "reply", "message_id": message_id,
        "message_id_hash": hashlib.sha256(message_id.encode()).digest(),
        "to_addresses": [ticket.customer.email], "subject": f"Re: {ticket.subject}",
        "state": "sent",
    }  # fmt: skip
    values.update(fields)
    return OutboundMessage.objects.create(**values)
