"""Two parent links that close a cycle between them, written at once: one is refused."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, connections, transaction

from deskbase.core.tenancy import tenant
from deskbase.tickets import links
from deskbase.tickets.models import LinkKind, TicketLink
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _waiting_on_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'")
        return cursor.fetchone()[0] > 0


def test_concurrent_parent_links_cannot_close_a_cycle():
    # given 1 parent of 2 and 3 parent of 4
    world = make_tenant("acme")
    t1, t2, t3, t4 = (open_ticket(world, subject=f"t{i}") for i in range(1, 5))

    def link(parent, child):
        return links.link_add(organization=world.org, actor=world.agent, ticket=parent,
                              other=child, relation="child")  # fmt: skip

    link(t1, t2)
    link(t3, t4)
    first_written, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def first() -> None:  # 2 parent of 3, held uncommitted until released
        try:
            with transaction.atomic():
                results["first"] = link(t2, t3)
                first_written.set()
                release.wait(60)
        except Exception as error:
            results["first"] = error
        finally:
            first_written.set()
            connections.close_all()

    def second() -> None:  # 4 parent of 1: with the first, 1 > 2 > 3 > 4 > 1
        try:
            results["second"] = link(t4, t1)
        except Exception as error:
            results["second"] = error
        finally:
            connections.close_all()

    one = threading.Thread(target=first)
    one.start()
    first_written.wait(60)
    two = threading.Thread(target=second)
    two.start()
    # when the second waits for the first (or, without serialization, is already done)
    while two.is_alive() and not _waiting_on_advisory_lock():
        two.join(0.05)
    release.set()
    one.join(60)
    two.join(60)
    close_old_connections()
    # then exactly one link was written and the parents form no cycle
    assert isinstance(results["first"], TicketLink)
    assert not isinstance(results["second"], TicketLink), "both links committed: a cycle"
    assert getattr(results["second"], "field", None) == "target"
    with tenant(world.org):
        assert TicketLink.objects.filter(kind=LinkKind.PARENT).count() == 3
