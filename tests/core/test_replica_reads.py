"""Read-only selectors on a real streaming replica of the suite's PostgreSQL, with
read-your-writes, fallback to the primary, row-level security there, lag in /health."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connections
from django.http import HttpResponse
from django.test import Client, RequestFactory

from deskbase.core.db import router
from deskbase.embedded.cluster import APP_ROLE, Cluster
from deskbase.settings import _replica_database
from deskbase.testing.plugin import free_port
from deskbase.tickets.selectors import ticket_detail, ticket_queue
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

ALIAS = "replica1"
SLOT = "deskbase_test_replica"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, databases=["default", ALIAS]),
]


def primary_lsn() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
        return cursor.fetchone()[0]


def caught_up(replica: Cluster) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    target = router.lsn_number(primary_lsn())
    deadline = time.monotonic() + 60
    with replica.connect() as conn:
        while True:
            replayed = conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()[0]
            if router.lsn_number(replayed) >= target:
                return
            assert time.monotonic() < deadline, f"replayed {replayed}, not {target:X} within 60 s"
            time.sleep(0.05)


def replay(replica: Cluster, *, paused: bool) -> None:
    with replica.connect() as conn:
        conn.execute(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")


@pytest.fixture(scope="module")
def replica_cluster(django_db_setup, django_db_blocker, session_cluster) -> Iterator[Cluster]:
    """A streaming replica of the suite's PostgreSQL, as the server's read alias
    (connected as the application role). Registered before each test's database
    access is set up, as a mirror: Django neither creates nor flushes it."""
    replica = session_cluster.replica(free_port())
    session_cluster.start_replica(replica, slot=SLOT)
    # Configured as the server configures a replica (its own pool, as the application role).
    name = connections["default"].settings_dict["NAME"]
    raw = _replica_database(replica.url(APP_ROLE, database=name))
    default = copy.deepcopy(connections["default"].settings_dict)
    connections.settings[ALIAS] = connections.configure_settings({"default": default, ALIAS: raw})[
        ALIAS
    ]
    yield replica
    connections[ALIAS].close()
    connections[ALIAS].close_pool()
    del connections.settings[ALIAS]
    session_cluster.remove_replica(replica, slot=SLOT)


@pytest.fixture
def replica(replica_cluster: Cluster, settings) -> Iterator[Cluster]:
    replica_cluster.start()
    settings.DESKBASE_REPLICAS = [ALIAS]
    settings.DESKBASE_REPLICA_MAX_LAG = 3600
    router.forget()
    yield replica_cluster
    if replica_cluster.status().running:
        replay(replica_cluster, paused=False)
    connections[ALIAS].close()
    router.forget()


def queue_ids(world) -> set[int]:
    page = ticket_queue(organization=world.org, actor=world.agent, queue="all", limit=100)
    return {ticket.id for ticket in page.items}


@router.replica_read
def tenant_view(*, organization, actor=None):
    """What a selector on the replica sees: who it is, where, and which tenants' rows."""
    with router.read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT current_user, pg_is_in_recovery(),"
            " array(SELECT DISTINCT organization_id FROM tickets_ticket)"
        )
        return cursor.fetchone()


def test_reads_go_to_the_replica_and_a_browser_sees_its_own_write(replica):
    # Given two organizations with a ticket each, replayed by the replica
    world, other = make_tenant("replica-a"), make_tenant("replica-b")
    first = open_ticket(world, subject="Before the pause")
    open_ticket(other, subject="Someone else's")
    caught_up(replica)
    # And a replica that stops replaying (as one that lags)
    replay(replica, paused=True)
    # When an agent writes a ticket on the primary
    written = open_ticket(world, subject="Written while the replica lags")
    position = primary_lsn()

    # Then a request with no write of its own reads from the replica: the old data
    with router.replica_reads(None):
        assert router.choose() == ALIAS
        assert queue_ids(world) == {first.id}
        # on the application role, with the tenant set there: one tenant's rows only
        assert tenant_view(organization=world.org) == (APP_ROLE, True, [world.org.id])
    # And the writer's next request (its position in the cookie) reads from the primary
    with router.replica_reads(position):
        assert router.choose() is None
        assert queue_ids(world) == {first.id, written.id}
        detail = ticket_detail(organization=world.org, actor=world.agent, number=written.number)
        assert detail.ticket.subject == "Written while the replica lags"

    # When the replica catches up
    replay(replica, paused=False)
    caught_up(replica)
    # Then the writer's reads go to the replica again, and see the write
    with router.replica_reads(position):
        assert router.choose() == ALIAS
        assert queue_ids(world) == {first.id, written.id}
    # And nothing outside a request that allows it (a service, a job) uses the replica
    assert router.choose() is None


def test_a_replica_lagging_past_the_bound_is_skipped(replica, settings):
    world = make_tenant("replica-lag")
    caught_up(replica)
    replay(replica, paused=True)
    written = open_ticket(world, subject="Not replayed yet")
    settings.DESKBASE_REPLICA_MAX_LAG = 0
    router.forget()
    with router.replica_reads(None):
        assert router.choose() is None
        assert written.id in queue_ids(world)
    # And /health shows the lag
    body = json.loads(Client().get("/health").content)
    (shown,) = body["replicas"]
    assert shown["alias"] == ALIAS
    assert shown["up"] is True
    assert shown["lag_seconds"] > 0
    assert shown["usable"] is False


def test_a_stopped_replica_makes_reads_fall_back_to_the_primary(replica):
    world = make_tenant("replica-down")
    ticket = open_ticket(world, subject="Still readable")
    caught_up(replica)
    with router.replica_reads(None):
        assert router.choose() == ALIAS
    # When the replica stops
    replica.stop()
    connections[ALIAS].close()
    router.forget()
    try:
        # Then reads go to the primary, and answer
        with router.replica_reads(None):
            assert router.choose() is None
            assert ticket.id in queue_ids(world)
        # And /health says the replica is down, and is still 200
        response = Client().get("/health")
        assert response.status_code == 200
        (shown,) = json.loads(response.content)["replicas"]
        assert shown["up"] is False
        assert shown["reason"]
    finally:
        replica.start()


def test_the_middleware_records_a_write_and_keeps_that_browsers_reads_on_the_primary(replica):
    make_tenant("replica-mw")
    caught_up(replica)
    replay(replica, paused=True)
    seen: list[str | None] = []

    def view(request) -> HttpResponse:
        seen.append(router.choose())
        if request.method == "POST":
            open_ticket(world, subject="Posted")
        return HttpResponse("ok")

    world = make_tenant("replica-mw2")
    middleware = router.ReplicaMiddleware(view)
    factory = RequestFactory()
    # A write request reads from the primary and gets its position in a cookie
    response = middleware(factory.post("/tickets/new"))
    assert seen == [None]
    position = response.cookies[router.COOKIE].value
    assert router.lsn_number(position) > 0
    assert response.cookies[router.COOKIE]["httponly"]
    # The same browser's next read: the replica has not replayed it, the primary answers
    request = factory.get("/tickets/")
    request.COOKIES[router.COOKIE] = position
    middleware(request)
    # Another browser (no write of its own) reads from the replica
    middleware(factory.get("/tickets/"))
    assert seen == [None, None, ALIAS]
    # A forged cookie is no more than a position: garbage counts as none
    request = factory.get("/tickets/")
    request.COOKIES[router.COOKIE] = "not-a-position"
    middleware(request)
    assert seen[-1] == ALIAS

    # A GET that writes: its own later reads stay on the primary, which has the change
    def writing_view(request) -> HttpResponse:
        seen.append(router.choose())
        open_ticket(world, subject="Written by a GET")
        seen.append(router.choose())
        return HttpResponse("ok")

    router.ReplicaMiddleware(writing_view)(factory.get("/odd/"))
    assert seen[-2:] == [ALIAS, None]


def test_the_replica_refuses_writes_and_the_router_never_sends_one_there(replica):
    world = make_tenant("replica-ro")
    ticket = open_ticket(world, subject="Read on the replica")
    caught_up(replica)
    with router.replica_reads(None):
        detail = ticket_detail(organization=world.org, actor=world.agent, number=ticket.number)
    assert detail.ticket._state.db == ALIAS
    # Saving what was read there goes to the primary
    detail.ticket.subject = "Saved on the primary"
    detail.ticket.save(update_fields=["subject"])
    readonly = pytest.raises(psycopg.errors.ReadOnlySqlTransaction)
    name = connections["default"].settings_dict["NAME"]
    with replica.connect(name) as conn, readonly:
        conn.execute("UPDATE tickets_ticket SET subject = 'x'")
