"""The transactional outbox: effects that leave the process (docs/outbox.md).

from deskbase import outbox

@outbox.consumer("mail.ticket_reply")
def send_reply(payload: dict, key: str) -> None: ...

outbox.enqueue(organization, "mail.ticket_reply", f"comment:{comment.id}", {...})
"""

from __future__ import annotations

from typing import Any

from deskbase.outbox.registry import FailedWithRecord, UnknownConsumer, consumer

__all__ = ["FailedWithRecord", "UnknownConsumer", "consumer", "enqueue"]


def enqueue(organization: Any, consumer: str, key: str, payload: dict[str, Any]) -> bool:
    """Write one effect in the caller's transaction; False when the key was already enqueued."""
    from deskbase.outbox.services import enqueue as _enqueue

    return _enqueue(organization=organization, consumer=consumer, key=key, payload=payload)
