"""Domain events to webhook messages, in the write's transaction (the `after` phase).

For an organization without endpoints an event costs one indexed query (the partial
index `webhooks_endpoint_enabled`), nothing else: the data is built only when an
enabled endpoint subscribes to the event. Each message's key is derived from the
event (the object and, for updates, its version), so an event enqueued twice is
sent once.
"""

from __future__ import annotations

from django.db.models import Q

from deskbase.core import events
from deskbase.webhooks import payloads, services
from deskbase.webhooks.models import Endpoint


def subscribed(organization_id: int, name: str) -> list[int]:
    """The enabled endpoints of the organization subscribed to `name`: one query."""
    return list(
        Endpoint.objects.filter(organization_id=organization_id, enabled=True)
        .filter(Q(event_types__contains=[name]) | Q(event_types__contains=[payloads.WILDCARD]))
        .order_by("id")
        .values_list("id", flat=True)
    )


def event_key(event: events.Event) -> str:
    """What the message is about: `<event>:<id>`, with the version or time of a change."""
    instance = event.instance
    key = f"{event.name}:{instance.pk}"  # an SLA alert's id is its crossing, once
    version = getattr(instance, "version", None)
    if event.name not in ("ticket.created",) and isinstance(version, int):
        key += f":v{version}"
    updated_at = getattr(instance, "updated_at", None)
    if event.name in ("ticket.soft_deleted", "ticket.restored") and updated_at is not None:
        key += f":{updated_at.timestamp():.6f}"
    return key


def on_event(event: events.Event) -> None:
    endpoints = subscribed(event.organization_id, event.name)
    if not endpoints:
        return
    services.send_to_subscribers(
        organization_id=event.organization_id, endpoints=endpoints, event_type=event.name,
        data=payloads.build(event), key=event_key(event),
    )  # fmt: skip


for _name in payloads.CARRIED:
    events.subscribe(_name, "after")(on_event)
