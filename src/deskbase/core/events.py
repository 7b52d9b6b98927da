"""Domain events: the one hook registry of deskbase.

A service announces each write twice:

- `before(event)` inside its transaction, before writing: subscribers may
  refuse the write by raising `Vetoed` (or any DomainError); nothing is written.
- `after(event)` inside the same transaction, after writing: subscribers that
  must be atomic with the write (history, rollups, search vectors) run here;
  their failure rolls the write back. Then the "commit" subscribers are
  scheduled with `transaction.on_commit`: they run only if the write commits,
  and their failure is logged without undoing it (email, webhooks, cache).

Event names: `<noun>.<verb>`, e.g. `ticket.created`, `ticket.updated`,
`ticket.soft_deleted`, `ticket.restored`, `comment.added` (docs/events.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction

logger = logging.getLogger(__name__)
Phase = Literal["before", "after", "commit"]
Handler = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    name: str
    organization_id: int
    actor_id: int | None
    instance: Any = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def event(
    name: str, organization: Any, actor: Any = None, instance: Any = None, /, **changes: Any
) -> Event:
    """The event a service announces: who did `name` to `instance`, in which organization."""
    return Event(
        name=name,
        organization_id=organization.id,
        actor_id=actor.id if actor else None,
        instance=instance,
        changes=changes,
    )


_subscribers: dict[tuple[str, Phase], list[Handler]] = defaultdict(list)


def subscribe(name: str, phase: Phase = "after") -> Callable[[Handler], Handler]:
    """Decorator: call the handler for every event `name` in the given phase."""
    if phase not in ("before", "after", "commit"):
        raise ValueError(f"unknown phase {phase!r}")

    def register(handler: Handler) -> Handler:
        if handler not in _subscribers[(name, phase)]:
            _subscribers[(name, phase)].append(handler)
        return handler

    return register


def unsubscribe(name: str, handler: Handler, phase: Phase = "after") -> None:
    _subscribers[(name, phase)].remove(handler)


def before(event: Event) -> None:
    for handler in list(_subscribers[(event.name, "before")]):
        handler(event)


def after(event: Event) -> None:
    for handler in list(_subscribers[(event.name, "after")]):
        handler(event)
    for handler in list(_subscribers[(event.name, "commit")]):
        transaction.on_commit(_guarded(handler, event))


def _guarded(handler: Handler, event: Event) -> Callable[[], None]:
    def run() -> None:
        try:
            handler(event)
        except Exception:
            logger.exception(
                "on-commit subscriber %s failed for %s", handler.__qualname__, event.name
            )

    return run
