"""The outbox consumer that delivers webhook messages (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from deskbase import outbox
from deskbase.webhooks import services


@outbox.consumer(
    services.CONSUMER,
    max_attempts=services.MAX_ATTEMPTS,
    retry_schedule=services.RETRY_SCHEDULE,
)
def deliver(payload: dict[str, Any], key: str) -> None:
    # Idempotent for the receiver: every attempt carries the same webhook-id.
    services.deliver(payload, key)
