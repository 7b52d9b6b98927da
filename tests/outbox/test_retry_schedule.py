"""A consumer's own retry schedule, and failures whose record of the attempt stands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction
from django.utils import timezone

from deskbase import outbox
from deskbase.outbox import delivery, registry
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets.models import Category

pytestmark = pytest.mark.django_db
SCHEDULE = (100.0, 10_000.0)


class Recorded(outbox.FailedWithRecord):
    pass


@pytest.fixture
def scheduled() -> Iterator[list[str]]:
    """`test.scheduled`: writes a category named after its key, then fails (keeping or not)."""
    calls: list[str] = []

    def deliver(payload: dict, key: str) -> None:
        calls.append(key)
        Category.objects.create(organization_id=payload["org"], name=f"{key}-{len(calls)}")
        raise (Recorded if payload["keep"] else RuntimeError)("receiver down")

    registry.consumer("test.scheduled", max_attempts=4, retry_schedule=SCHEDULE)(deliver)
    yield calls
    registry.unregister("test.scheduled")


def _enqueue(org, key: str, keep: bool) -> None:
    with transaction.atomic():
        outbox.enqueue(org, "test.scheduled", key, {"org": org.id, "keep": keep})


def _due() -> None:
    OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())


def test_a_consumer_schedule_sets_each_wait_and_its_last_step_repeats(tenant_a, scheduled):
    _enqueue(tenant_a.org, "s-1", keep=False)
    waits = []
    for _ in range(3):
        started = timezone.now()
        delivery.drain(consumers=["test.scheduled"])
        row = OutboxMessage.objects.get(delivery_key="s-1")
        waits.append((row.next_attempt_at - started).total_seconds())
        _due()
    assert 80 <= waits[0] <= 121  # 100 s +-20%, past no cap
    assert 8_000 <= waits[1] <= 12_001  # 10,000 s: beyond OUTBOX_RETRY_MAX_SECONDS
    assert 8_000 <= waits[2] <= 12_001  # the last step repeats
    delivery.drain(consumers=["test.scheduled"])
    assert OutboxMessage.objects.get(delivery_key="s-1").state == "failed"


def test_a_failure_with_record_keeps_its_writes_and_another_does_not(tenant_a, scheduled):
    _enqueue(tenant_a.org, "kept", keep=True)
    _enqueue(tenant_a.org, "undone", keep=False)
    result = delivery.drain(consumers=["test.scheduled"])
    assert result.retried == 2
    names = Category.objects.filter(name__endswith="-1").values_list("name", flat=True)
    assert sorted(names) == ["kept-1"]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"pending"}


def test_a_bad_schedule_is_refused_at_registration():
    with pytest.raises(ValueError, match="retry schedule"):
        registry.consumer("test.bad", retry_schedule=())(lambda payload, key: None)
    with pytest.raises(ValueError, match="retry schedule"):
        registry.consumer("test.bad", retry_schedule=(8 * 86400.0,))(lambda payload, key: None)
    assert "test.bad" not in registry.names()
