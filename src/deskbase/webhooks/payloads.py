"""The `data` of each event a webhook carries: the event's public representation.

The representation is the API's (its serializers), registered here by the API app
when it loads (deskbase.api.webhook_payloads), so that a webhook and a GET of the same
object agree, and this domain app does not import the transport. Each builder reads
the event's instance in the write's transaction (row-level security on its tenant):
another tenant's data cannot appear, and secrets are never part of a representation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deskbase.core import events

Builder = Callable[[events.Event], dict[str, Any]]

# The domain events that endpoints may subscribe to ("*": every one of them).
CARRIED: tuple[str, ...] = (
    events.TICKET_CREATED.name,
    events.TICKET_UPDATED.name,
    events.TICKET_MERGED.name,
    events.TICKET_SOFT_DELETED.name,
    events.TICKET_RESTORED.name,
    events.COMMENT_ADDED.name,
    events.CSAT_RECORDED.name,
    events.SLA_AT_RISK.name,
    events.SLA_BREACHED.name,
    events.TICKET_SPLIT.name,
    events.TICKET_LINK_ADDED.name,
    events.TICKET_LINK_REMOVED.name,
    events.TIME_ENTRY_ADDED.name,
    events.TIME_ENTRY_UPDATED.name,
    events.TIME_ENTRY_DELETED.name,
    events.COMPANY_CREATED.name,
    events.COMPANY_UPDATED.name,
    events.COMPANY_DELETED.name,
)
WILDCARD = "*"
# The type of the test message ("send a test"), never a domain event.
TEST_TYPE = "webhook.test"

_builders: dict[str, Builder] = {}


def register(*names: str) -> Callable[[Builder], Builder]:
    """Decorator: `builder(event)` gives the data of the events `names`."""
    for name in names:
        if name not in CARRIED:
            raise ValueError(f"{name!r} is not an event that webhooks carry")

    def add(builder: Builder) -> Builder:
        for name in names:
            _builders[name] = builder
        return builder

    return add


def build(event: events.Event) -> dict[str, Any]:
    """The event's data; with no builder registered, only the instance's id."""
    builder = _builders.get(event.name)
    if builder is not None:
        return builder(event)
    instance = event.instance
    return {"id": getattr(instance, "pk", None)}
