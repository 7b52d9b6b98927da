"""Row locks taken in one order (by primary key), so two writers never deadlock."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound
from deskbase.tickets.models import Ticket

_held: contextvars.ContextVar[dict[int, Ticket] | None] = contextvars.ContextVar(
    "held_tickets", default=None
)


@contextlib.contextmanager
def holding(tickets: dict[int, Ticket]) -> Iterator[None]:
    """Tickets (by id) that the current transaction has just locked, in one statement in
    id order (a bulk action's chunk): `lock_tickets` answers from them instead of locking
    each again, one query per ticket. Use only inside that transaction."""
    token = _held.set(tickets)
    try:
        yield
    finally:
        _held.reset(token)


def lock_tickets(ids: Iterable[int]) -> dict[int, Ticket]:
    """SELECT ... FOR UPDATE the live tickets, ordered by id; NotFound if one is missing."""
    wanted = sorted(set(ids))
    held = _held.get()
    if held is not None and all(i in held for i in wanted):
        return {i: held[i] for i in wanted}
    rows = {
        t.id: t for t in Ticket.objects.select_for_update().filter(id__in=wanted).order_by("id")
    }
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise NotFound(gettext("no such ticket"), field="ticket")
    return rows


def lock_agents(queryset: QuerySet[User]) -> list[User]:
    """Lock candidate agents by id (tickets are always locked before agents)."""
    return list(queryset.select_for_update(of=("self",)).order_by("id"))
