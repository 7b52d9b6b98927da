"""Concurrent writers on real connections: numbers, optimistic locking, routing."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connections

from deskbase.accounts.models import User
from deskbase.core.errors import Conflict
from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(i) in `count` threads released together; return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # the caller inspects what each thread raised
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    return results


def test_concurrent_creates_get_distinct_gapless_numbers():
    world = make_tenant("acme")
    results = in_threads(8, lambda i: open_ticket(world, subject=f"t{i}").number)
    assert sorted(results) == list(range(1, 9))


def test_two_agents_editing_at_once_one_gets_a_conflict():
    world = make_tenant("acme")
    ticket = open_ticket(world)

    def edit(i: int) -> object:
        actor = (world.agent, world.manager)[i]
        return services.ticket_update(organization=world.org, actor=actor, ticket=ticket,
                                      version=ticket.version, subject=f"edit {i}")  # fmt: skip

    results = in_threads(2, edit)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    saved = [r for r in results if isinstance(r, Ticket)]
    assert len(conflicts) == 1
    assert len(saved) == 1
    assert "the latest is 2" in conflicts[0].message
    with tenant(world.org):
        assert Ticket.objects.get(pk=ticket.pk).subject == saved[0].subject


def test_automatic_assignment_never_exceeds_an_agents_limit():
    # Given two online agents who may each take two tickets, and six waiting tickets
    world = make_tenant("acme")
    with tenant(world.org):
        others = [world.admin.pk, world.manager.pk]
        User.objects.filter(pk__in=others).update(availability="offline")
        User.objects.filter(pk=world.agent.pk).update(max_concurrent_tickets=2)
    from deskbase.accounts.services import user_create

    second = user_create(organization=world.org, actor=None, email="second@acme.test",
                         role="agent", availability="online", max_concurrent_tickets=2)  # fmt: skip
    tickets = [open_ticket(world, subject=f"t{i}") for i in range(6)]

    def assign(i: int) -> object:
        return services.ticket_assign(organization=world.org, actor=world.manager,
                                      ticket=tickets[i], auto=True)  # fmt: skip

    # When six assignments race
    results = in_threads(6, assign)
    # Then four succeed, two find nobody free, and nobody holds more than two
    assigned = [r for r in results if isinstance(r, Ticket)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(assigned), len(refused)) == (4, 2)
    with tenant(world.org):
        loads = {
            agent: Ticket.objects.filter(assignee_id=agent).count()
            for agent in (world.agent.id, second.id)
        }
    assert loads == {world.agent.id: 2, second.id: 2}
