"""The delivery loop of the worker: woken by the NOTIFY of a commit (not by its poll),
by a retry falling due, and stopped between batches."""

from __future__ import annotations

import pytest
from django.db import transaction

from deskbase import outbox
from deskbase.outbox.delivery import DeliveryThread
from deskbase.outbox.models import OutboxMessage
from tests.fault.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def states() -> dict[str, str]:
    return dict(OutboxMessage.objects.values_list("delivery_key", "state"))


def test_a_commit_wakes_the_loop_and_a_failed_row_comes_back_when_due(tenant_a, recorder, settings):
    # Given a running loop that would poll only every 10 minutes
    settings.OUTBOX_POLL_SECONDS = 600
    settings.OUTBOX_RETRY_BASE_SECONDS = 0.2
    thread = DeliveryThread().start()
    try:
        wait_until(lambda: thread.loop._listener is not None, 30, "the loop listening", 0.05)

        # When a transaction enqueuing an effect commits
        with transaction.atomic():
            outbox.enqueue(tenant_a.org, "test.recorder", "first", {})

        # Then it is delivered long before any poll
        wait_until(lambda: states() == {"first": "delivered"}, 30, "delivery on NOTIFY", 0.05)

        # When a consumer call fails once
        recorder.failing = RuntimeError("receiver down")
        with transaction.atomic():
            outbox.enqueue(tenant_a.org, "test.recorder", "second", {})
        wait_until(lambda: OutboxMessage.objects.filter(attempts=1, state="pending").exists(),
                   30, "the first attempt failing", 0.05)  # fmt: skip
        recorder.failing = None

        # Then the loop wakes again when the retry is due, without a NOTIFY or a poll
        wait_until(lambda: states()["second"] == "delivered", 30, "the retry", 0.05)
        row = OutboxMessage.objects.get(delivery_key="second")
        assert (row.attempts, row.last_error) == (2, "")
        assert recorder.keys == ["first", "second", "second"]
    finally:
        thread.stop()
    # And it stops when asked
    assert not thread.thread.is_alive()
