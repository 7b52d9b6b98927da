"""Delivery by the worker: claimed with SKIP LOCKED, delivered at least once in the
row's tenant, failures retried with back-off until the consumer's attempts are spent,
dead rows shown by `deskbase outbox status` and replayed by `deskbase outbox retry`."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from deskbase import outbox
from deskbase.outbox import delivery, registry
from deskbase.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def enqueue(org, key: str, consumer: str = "test.recorder", **payload) -> None:
    with transaction.atomic():
        outbox.enqueue(org, consumer, key, payload)


def make_due() -> None:
    """As if the back-off had passed."""
    OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())


def test_due_rows_are_delivered_once_in_their_organization(tenant_a, tenant_b, recorder):
    # Given effects of two organizations
    enqueue(tenant_a.org, "a-1", n=1)
    enqueue(tenant_b.org, "b-1", n=2)
    enqueue(tenant_a.org, "a-2", n=3)

    # When the worker delivers
    result = delivery.drain()

    # Then each consumer call got its payload and key, with its organization as tenant
    assert (result.claimed, result.delivered, result.retried, result.failed) == (3, 3, 0, 0)
    assert sorted(recorder.calls) == [("a-1", {"n": 1}), ("a-2", {"n": 3}), ("b-1", {"n": 2})]
    by_key = dict(zip(recorder.keys, recorder.tenants, strict=True))
    assert by_key == {"a-1": tenant_a.org.id, "a-2": tenant_a.org.id, "b-1": tenant_b.org.id}
    rows = OutboxMessage.objects.all()
    assert {(r.state, r.attempts, r.last_error) for r in rows} == {("delivered", 1, "")}
    assert all(r.delivered_at is not None for r in rows)

    # And delivering again delivers nothing twice
    assert delivery.drain().claimed == 0
    assert len(recorder.calls) == 3


def test_a_failure_is_retried_with_growing_back_off_then_dead(tenant_a, recorder, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    recorder.failing = ConnectionError("smtp.example.test refused the connection")
    enqueue(tenant_a.org, "mail-1", to="x@acme.test")

    # When the first attempt fails
    started = timezone.now()
    assert delivery.deliver_batch().retried == 1

    # Then the row waits 30-60 s for its second attempt, with the error recorded
    row = OutboxMessage.objects.get()
    assert (row.state, row.attempts) == ("pending", 1)
    assert "ConnectionError: smtp.example.test refused the connection" in row.last_error
    wait = row.next_attempt_at - started
    assert timedelta(seconds=29) <= wait <= timedelta(seconds=61)
    # ... and is not claimed before then
    assert delivery.deliver_batch().claimed == 0

    # When the second attempt fails: 60-120 s
    make_due()
    started = timezone.now()
    assert delivery.deliver_batch().retried == 1
    row.refresh_from_db()
    assert row.attempts == 2
    assert timedelta(seconds=59) <= row.next_attempt_at - started <= timedelta(seconds=121)

    # When the last of its 3 attempts fails, the row is dead
    make_due()
    assert delivery.deliver_batch().failed == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.delivered_at) == ("failed", 3, None)
    make_due()
    assert delivery.deliver_batch().claimed == 0
    assert recorder.keys == ["mail-1"] * 3

    # Then `deskbase outbox status` reports it and fails
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 outbox rows failed every attempt"):
        call_command("outbox", "status", stdout=out)
    assert "mail-1 after 3 attempts: ConnectionError" in out.getvalue()

    # When the operator replays it, once the target is back
    recorder.failing = None
    call_command("outbox", "retry", "--consumer", "test.recorder", stdout=io.StringIO())
    assert delivery.drain().delivered == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("delivered", 1)
    call_command("outbox", "status", stdout=io.StringIO())  # clean again: no raise


def test_a_failed_consumer_call_leaves_none_of_its_writes(tenant_a, recorder):
    # Given a consumer that writes through Django, then fails for one key
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE written (key text)")

    def writes(payload: dict, key: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO written VALUES (%s)", [key])
        if payload.get("fail"):
            raise ValueError("half done")

    registry.consumer("test.writes")(writes)
    try:
        enqueue(tenant_a.org, "ok-1", "test.writes")
        enqueue(tenant_a.org, "bad", "test.writes", fail=True)
        enqueue(tenant_a.org, "ok-2", "test.writes")

        # When one batch delivers them
        result = delivery.deliver_batch()
    finally:
        registry.unregister("test.writes")

    # Then the failed call's write is undone, the others' kept with their delivery
    assert (result.delivered, result.retried) == (2, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM written ORDER BY key")
        assert cursor.fetchall() == [("ok-1",), ("ok-2",)]
    states = dict(OutboxMessage.objects.values_list("delivery_key", "state"))
    assert states == {"ok-1": "delivered", "bad": "pending", "ok-2": "delivered"}


def test_a_row_whose_consumer_this_process_does_not_know_is_retried(tenant_a, recorder):
    enqueue(tenant_a.org, "k")
    registry.unregister("test.recorder")  # e.g. a worker running older code

    assert delivery.deliver_batch().retried == 1
    row = OutboxMessage.objects.get()
    assert (row.state, row.attempts) == ("pending", 1)
    assert "no outbox consumer is registered as 'test.recorder'" in row.last_error


@pytest.mark.django_db(transaction=True)
def test_rows_claimed_by_one_deliverer_are_skipped_by_another(tenant_a, recorder):
    # Given three effects, and a deliverer whose consumer is still busy with its batch of 2
    for n in range(3):
        enqueue(tenant_a.org, f"k{n}")
    busy, release = threading.Event(), threading.Event()
    calls: list[tuple[str, str]] = []

    def slow_on_k0(payload: dict, key: str) -> None:
        calls.append((threading.current_thread().name, key))
        if key == "k0":
            busy.set()
            release.wait(30)

    registry.unregister("test.recorder")
    registry.consumer("test.recorder")(slow_on_k0)

    def first_deliverer() -> None:
        delivery.deliver_batch(limit=2)
        connection.close()

    first = threading.Thread(target=first_deliverer, name="first")
    first.start()
    try:
        assert busy.wait(30)

        # When another deliverer runs meanwhile
        second = delivery.deliver_batch()
    finally:
        release.set()
        first.join(30)

    # Then it took only the row nobody held, without waiting for the other's locks
    assert second.claimed == 1
    assert sorted(calls) == [("MainThread", "k2"), ("first", "k0"), ("first", "k1")]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"delivered"}


@pytest.mark.parametrize("attempts", [1, 2, 5, 30])
def test_the_back_off_doubles_with_jitter_and_is_capped(attempts, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    settings.OUTBOX_RETRY_MAX_SECONDS = 600
    delay = min(10 * 2 ** (attempts - 1), 600)
    waits = {delivery.backoff_seconds(attempts) for _ in range(50)}
    assert all(delay / 2 <= wait <= delay for wait in waits)
    assert len(waits) > 1  # jittered, not one instant for every row


def test_delivered_rows_past_their_retention_are_purged(tenant_a, recorder):
    enqueue(tenant_a.org, "old")
    enqueue(tenant_a.org, "recent")
    enqueue(tenant_a.org, "waiting")
    delivery.deliver_batch(limit=2)
    OutboxMessage.objects.filter(delivery_key="old").update(
        delivered_at=timezone.now() - timedelta(days=8)
    )

    from deskbase.outbox.services import purge_delivered

    assert purge_delivered(older_than=timedelta(days=7)) == 1
    assert sorted(OutboxMessage.objects.values_list("delivery_key", flat=True)) == [
        "recent", "waiting",
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_bench_scenario_reports_rows_delivered_per_second():
    from deskbase.demo import load_demo

    # Given the demo data set, when `deskbase bench` runs the outbox scenario
    assert load_demo(tickets=30)
    out = io.StringIO()
    call_command("bench", "--scenario", "outbox_delivery", "--samples", "5", "--warmup", "1",
                 stdout=out, stderr=io.StringIO())  # fmt: skip
    result = json.loads(out.getvalue())["scenarios"]["outbox_delivery"]

    # Then every call delivered a whole batch, and the rate is reported beside the latency
    assert result["errors"] == 0, result
    details = result["details"]
    batch = details["batch_size"]
    # 5 samples, 1 warm-up, 1 call whose SQL is captured for the raw timing
    assert details["rows_delivered"] == 7 * batch
    assert details["rows_per_second"] > 0
    assert result["raw_sql"]["statements"] == 2  # the claim and the delivered mark
    assert OutboxMessage.objects.filter(state="delivered").count() == 7 * batch
