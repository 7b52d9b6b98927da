"""The outbox consumer that mails notifications (docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from deskbase import outbox
from deskbase.notifications import mail
from deskbase.notifications.services import MAIL


@outbox.consumer(MAIL, max_attempts=10)
def deliver(payload: dict[str, Any], key: str) -> None:
    mail.send(payload, key)
