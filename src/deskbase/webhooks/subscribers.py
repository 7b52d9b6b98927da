"""Domain events to webhook messages, in the write's transaction (the `after` phase).

The subscriptions of an organization (event type -> enabled endpoints) are a cached
entry (deskbase.core.cache), dropped after the commit of any write to an endpoint: an
organization without endpoints pays one cache read per event and no query, and the
data is built only when an enabled endpoint subscribes to the event. Each message's
key is derived from the event (the object and, for updates, its version), so an event
enqueued twice is sent once.
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.db.models.signals import post_delete, post_save

from deskbase.core import events
from deskbase.core.cache import cached_read, invalidate_on_commit
from deskbase.tickets.models import Ticket
from deskbase.webhooks import payloads, services
from deskbase.webhooks.models import Endpoint

CACHE_NAME = "webhook_subscriptions"


def subscriptions(organization_id: int, actor_id: int | None = None) -> dict[str, list[int]]:
    """The organization's enabled endpoints by subscribed event type (cached)."""

    def query() -> dict[str, list[int]]:
        by_type: dict[str, list[int]] = {}
        rows = (
            Endpoint.objects.filter(organization_id=organization_id, enabled=True)
            .order_by("id")
            .values_list("id", "event_types")
        )
        for endpoint_id, event_types in rows:
            for name in event_types:
                by_type.setdefault(name, []).append(endpoint_id)
        return by_type

    return cached_read(CACHE_NAME, organization_id, query, actor_id=actor_id)


def subscribed(organization_id: int, name: str, actor_id: int | None = None) -> list[int]:
    """The enabled endpoints of the organization subscribed to `name`, in id order."""
    by_type = subscriptions(organization_id, actor_id)
    return sorted({*by_type.get(name, ()), *by_type.get(payloads.WILDCARD, ())})


def subscriptions_changed(organization_id: int) -> None:
    """Forget the cached subscriptions once the writing transaction commits."""
    invalidate_on_commit(organization_id, CACHE_NAME)


def _on_write(sender: type, instance: Endpoint, **_: Any) -> None:
    # Every write to an endpoint (services, health keeping, admin, test factories)
    # goes through save() or delete().
    subscriptions_changed(instance.organization_id)


def event_key(event: events.Event) -> str:
    """What the message is about: `<event>:<id>`, with the version or time of a change."""
    instance = event.instance
    key = f"{event.name}:{instance.pk}"  # an SLA alert's id is its crossing, once
    version = getattr(instance, "version", None)
    if event.name not in ("ticket.created",) and isinstance(version, int):
        key += f":v{version}"
    updated_at = getattr(instance, "updated_at", None)
    # Events of one object that may repeat without a version: told apart by the time.
    repeats = event.name in ("ticket.soft_deleted", "ticket.restored") or (
        event.name.endswith(".updated") and not isinstance(version, int)
    )
    if repeats and updated_at is not None:
        key += f":{updated_at.timestamp():.6f}"
    return key


def on_event(event: events.Event) -> None:
    endpoints = subscribed(event.organization_id, event.name, event.actor_id)
    if endpoints:
        _send(event, endpoints)


def _send(event: events.Event, endpoints: list[int]) -> None:
    services.send_to_subscribers(
        organization_id=event.organization_id, endpoints=endpoints, event_type=event.name,
        data=payloads.build(event), key=event_key(event),
    )  # fmt: skip


# What a ticket's message carries besides the ticket's own columns (api.serialize).
TICKET_RELATIONS = ("customer", "assignee", "team", "category")


def on_events(group: list[events.Event]) -> None:
    """on_event for the events of one name written together (a bulk action's chunk):
    the subscriptions read once, the tickets' people and teams in a query each, not
    once per message (the outbox writes the messages in one INSERT, outbox.batched)."""
    first = group[0]
    endpoints = subscribed(first.organization_id, first.name, first.actor_id)
    if not endpoints:
        return
    tickets = [e.instance for e in group if isinstance(e.instance, Ticket)]
    if tickets:
        prefetch_related_objects(tickets, *TICKET_RELATIONS)
    for event in group:
        _send(event, endpoints)


events.for_many(on_events)(on_event)
for _name in payloads.CARRIED:
    events.subscribe(_name, "after")(on_event)
post_save.connect(_on_write, sender=Endpoint, dispatch_uid="webhook-subscriptions-save")
post_delete.connect(_on_write, sender=Endpoint, dispatch_uid="webhook-subscriptions-delete")
