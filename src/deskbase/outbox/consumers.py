"""The outbox's own consumer: `outbox.noop`, which does nothing.

Registered in every process, so that rows of it (`deskbase bench`'s outbox_delivery
scenario writes thousands) are delivered by whichever worker claims them, and so
that an operator can check the delivery path end to end with a row of their own.
"""

from __future__ import annotations

from typing import Any

from deskbase.outbox.registry import consumer

NOOP = "outbox.noop"


@consumer(NOOP)
def noop(payload: dict[str, Any], key: str) -> None:
    """Delivered as soon as claimed."""
