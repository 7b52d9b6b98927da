"""Row locks taken in one order (by primary key), so two writers never deadlock."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound
from deskbase.tickets.models import Ticket


def lock_tickets(ids: Iterable[int]) -> dict[int, Ticket]:
    """SELECT ... FOR UPDATE the live tickets, ordered by id; NotFound if one is missing."""
    wanted = sorted(set(ids))
    rows = {
        t.id: t for t in Ticket.objects.select_for_update().filter(id__in=wanted).order_by("id")
    }
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise NotFound("no such ticket", field="ticket")
    return rows


def lock_agents(queryset: QuerySet[User]) -> list[User]:
    """Lock candidate agents by id (tickets are always locked before agents)."""
    return list(queryset.select_for_update(of=("self",)).order_by("id"))
