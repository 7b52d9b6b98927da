"""`updated_at` and the change cursor under real concurrent transactions.

Each test commits (transaction=True) and drives several connections at once: raw
psycopg sessions where the interleaving must be exact, threads where it is a race.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection, transaction

from deskbase.core.tenancy import tenant
from deskbase.tickets import changes, services
from deskbase.tickets.models import Ticket
from tests.conftest import TenantWorld, make_tenant
from tests.tickets.factories import open_ticket
from tests.tickets.test_concurrency import in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@contextmanager
def session() -> Iterator[psycopg.Connection]:
    """A connection of its own, as the owner role, in its own transaction."""
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "pool", "server_side_binding"):
        params.pop(key, None)
    with psycopg.connect(**params) as conn:
        yield conn


def rename(conn: psycopg.Connection, ticket: Ticket, subject: str) -> None:
    conn.execute("UPDATE tickets_ticket SET subject = %s WHERE id = %s", [subject, ticket.id])


def updated_at(ticket: Ticket):
    with connection.cursor() as cursor:
        cursor.execute("SELECT updated_at FROM tickets_ticket WHERE id = %s", [ticket.id])
        return cursor.fetchone()[0]


class Consumer:
    """A client of the change feed: keeps the latest state it was given of each ticket."""

    def __init__(self, world: TenantWorld) -> None:
        self.world = world
        self.cursor: str | None = None
        self.seen: dict[int, tuple] = {}  # number -> (updated_at, version, subject)
        self.deliveries: list[tuple[int, tuple]] = []

    def poll(self) -> list[int]:
        """One page; the numbers delivered."""
        page = changes.ticket_changes(
            organization=self.world.org, actor=self.world.agent, after=self.cursor, limit=7
        )
        self.cursor = page.next_cursor
        for item in page.items:
            state = (item["updated_at"], item["version"], item["subject"])
            self.deliveries.append((item["number"], state))
            self.seen[item["number"]] = state
        return [item["number"] for item in page.items] + (self.poll() if page.more else [])


def database_state(world: TenantWorld) -> dict[int, tuple]:
    with tenant(world.org):
        return {
            number: (updated, version, subject)
            for number, updated, version, subject in Ticket.all_objects.values_list(
                "number", "updated_at", "version", "subject"
            )
        }


# ------------------------------------------------------------------ updated_at
def test_updated_at_goes_up_when_an_older_transaction_writes_the_row_after_a_newer_one():
    world = make_tenant("acme")
    ticket = open_ticket(world)
    with session() as older, session() as newer:
        # Given a transaction that started first (its now() is the earliest)
        older.execute("SELECT now()")
        # And another that started later, changed the ticket and committed
        rename(newer, ticket, "by the newer transaction")
        newer.commit()
        committed_first = updated_at(ticket)
        # When the older transaction changes the ticket too, and commits
        rename(older, ticket, "by the older transaction")
        older.commit()
    # Then the ticket's updated_at moved forward, not back to the older start time
    assert updated_at(ticket) > committed_first


def test_concurrent_replies_to_one_ticket_never_move_updated_at_back():
    # Given a ticket
    world = make_tenant("acme")
    ticket = open_ticket(world)
    committed: list = []  # updated_at of each reply, in the order the replies committed

    def reply(i: int) -> None:
        for n in range(25):
            with transaction.atomic():
                services.comment_add(organization=world.org, actor=world.agent, ticket=ticket,
                                     body=f"reply {i}.{n}")  # fmt: skip
                # Read while the reply still holds the ticket's row lock: the list is in
                # the order the replies took the lock, which is their commit order.
                committed.append(updated_at(ticket))

    # When eight agents reply to it at once, 200 replies in all
    results = in_threads(8, reply)
    assert [r for r in results if isinstance(r, Exception)] == []
    # Then each committed updated_at is later than the one committed before it
    assert len(committed) == 200
    backwards = [(a, b) for a, b in itertools.pairwise(committed) if b <= a]
    assert backwards == []


# ------------------------------------------------------------------ the change cursor
def test_a_change_committed_late_by_an_older_transaction_is_not_skipped():
    # Given two tickets, and a reader that has read every change so far
    world = make_tenant("acme")
    first, second = open_ticket(world, subject="first"), open_ticket(world, subject="second")
    reader = Consumer(world)
    assert sorted(reader.poll()) == [first.number, second.number]
    assert reader.poll() == []
    with session() as slow, session() as quick:
        # And a transaction that changed the first ticket but has not committed yet
        rename(slow, first, "amber")
        # When a later transaction changes the second ticket and commits (other words:
        # the subject index would make it wait for the first)
        rename(quick, second, "cobalt")
        quick.commit()
        # Then the reader is not given it yet: a change of an older transaction may
        # still come, and the cursor must not pass it
        assert reader.poll() == []
        # When the older transaction commits
        slow.commit()
    # Then the reader gets both changes
    assert sorted(reader.poll()) == [first.number, second.number]
    assert reader.seen == database_state(world)


def test_a_reader_polling_during_concurrent_writes_ends_with_every_committed_change():
    # Given a few tickets
    world = make_tenant("acme")
    tickets = [open_ticket(world, subject=f"t{i}") for i in range(6)]
    reader = Consumer(world)
    writers = 4
    done = threading.Semaphore(0)

    def write(i: int) -> None:
        rng = random.Random(i)
        for n in range(15):
            ticket = rng.choice(tickets)
            if rng.random() < 0.5:
                services.comment_add(organization=world.org, actor=world.agent,
                                     ticket=ticket, body=f"reply {i}.{n}")  # fmt: skip
            else:
                with tenant(world.org, world.agent):
                    version = Ticket.objects.get(pk=ticket.pk).version
                try:
                    services.ticket_update(organization=world.org, actor=world.agent,
                                           ticket=ticket, version=version,
                                           subject=f"edit {i}.{n}")  # fmt: skip
                except Exception as error:  # a stale version (409) is a normal outcome here
                    if "changed by someone else" not in str(error):
                        raise

    def read() -> None:
        finished = 0
        while finished < writers:
            reader.poll()
            while done.acquire(blocking=False):
                finished += 1

    def work(i: int) -> None:
        if i == writers:
            return read()
        try:
            write(i)
        finally:
            done.release()

    # When four writers change them while a reader follows the change feed
    results = in_threads(writers + 1, work)
    assert [r for r in results if isinstance(r, Exception)] == []
    # Then, once it has caught up, the reader holds the latest state of every ticket
    reader.poll()
    assert reader.seen == database_state(world)
    # And it never got a ticket in an older state than one it had already been given
    last: dict[int, tuple] = {}
    for number, state in reader.deliveries:
        assert number not in last or state[0] > last[number][0], (number, last[number], state)
        last[number] = state
