"""Enqueueing to the outbox: in the caller's transaction, once per key, known consumers
only, bounded payloads, and each organization's rows under row-level security."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from deskbase import outbox
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.outbox.models import OutboxMessage
from tests.helpers import assert_sql_refused

pytestmark = pytest.mark.django_db


def test_an_enqueued_effect_is_a_pending_row_of_its_organization(tenant_a, recorder):
    # When a service enqueues an effect in its transaction
    with transaction.atomic():
        created = outbox.enqueue(tenant_a.org, "test.recorder", "ticket:1", {"ticket": 1})

    # Then one pending row waits for the worker, nothing delivered yet
    assert created is True
    row = OutboxMessage.objects.get()
    assert (row.organization_id, row.consumer, row.delivery_key) == (
        tenant_a.org.id, "test.recorder", "ticket:1",
    )  # fmt: skip
    assert (row.state, row.attempts, row.payload, row.delivered_at) == (
        "pending", 0, {"ticket": 1}, None,
    )  # fmt: skip
    assert recorder.calls == []


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_leaves_no_outbox_row(tenant_a, recorder):
    # Given a write that enqueues its effect, then fails
    def write() -> None:
        with transaction.atomic():
            outbox.enqueue(tenant_a.org, "test.recorder", "ticket:1", {"ticket": 1})
            raise RuntimeError("the write failed")

    with pytest.raises(RuntimeError, match="the write failed"):
        write()

    # Then the effect went with it
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(tenant_a, recorder):
    with pytest.raises(RuntimeError, match="transaction"):
        outbox.enqueue(tenant_a.org, "test.recorder", "ticket:1", {"ticket": 1})
    assert OutboxMessage.objects.count() == 0


def test_the_same_key_twice_is_one_row(tenant_a, tenant_b, recorder):
    with transaction.atomic():
        first = outbox.enqueue(tenant_a.org, "test.recorder", "k", {"n": 1})
        again = outbox.enqueue(tenant_a.org, "test.recorder", "k", {"n": 2})
        # Another organization's same key is its own effect
        other = outbox.enqueue(tenant_b.org, "test.recorder", "k", {"n": 3})
    assert (first, again, other) == (True, False, True)
    rows = OutboxMessage.objects.order_by("organization_id")
    assert [(r.organization_id, r.payload) for r in rows] == [
        (tenant_a.org.id, {"n": 1}), (tenant_b.org.id, {"n": 3}),
    ]  # fmt: skip


def test_an_unknown_consumer_is_refused(tenant_a):
    with pytest.raises(outbox.UnknownConsumer, match="no-such"), transaction.atomic():
        outbox.enqueue(tenant_a.org, "no-such", "k", {})
    assert OutboxMessage.objects.count() == 0


def test_a_consumer_name_is_registered_once(recorder):
    def other(payload: dict, key: str) -> None:
        pass

    with pytest.raises(ValueError, match="already registered"):
        outbox.consumer("test.recorder")(other)
    with pytest.raises(ValueError, match="must match"):
        outbox.consumer("Bad Name")(other)


@pytest.mark.parametrize(
    ("key", "payload", "field"),
    [
        ("", {}, "delivery_key"),
        ("k" * 201, {}, "delivery_key"),
        ("k", ["not", "an", "object"], "payload"),
        ("k", {"text": "x" * 70_000}, "payload"),
    ],
)
def test_bad_keys_and_payloads_are_refused_naming_the_field(tenant_a, recorder, key, payload,
                                                            field):  # fmt: skip
    with pytest.raises(ValidationFailed) as error, transaction.atomic():
        outbox.enqueue(tenant_a.org, "test.recorder", key, payload)
    assert error.value.field == field
    assert OutboxMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("state", "'sent', attempts = 1", "outbox_message_state_valid"),
        ("consumer", "'Bad Name'", "outbox_message_consumer_valid"),
        ("delivery_key", "''", "outbox_message_key_not_empty"),
        ("payload", "'[1]'::jsonb", "outbox_message_payload_bounded"),
        ("delivered_at", "now()", "outbox_message_delivered_at_iff_delivered"),
        ("state", "'failed'", "outbox_message_attempted_unless_pending"),
        ("last_error", "repeat('x', 2001)", "outbox_message_error_bounded"),
    ],
)
def test_the_database_holds_the_rules_for_any_writer(tenant_a, recorder, column, value,
                                                     constraint):  # fmt: skip
    with transaction.atomic():
        outbox.enqueue(tenant_a.org, "test.recorder", "k", {})
    with (
        pytest.raises(IntegrityError, match=constraint),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE outbox_message SET {column} = {value}")  # noqa: S608


def test_another_tenant_cannot_see_or_touch_an_organizations_rows(
    tenant_a, tenant_b, recorder, app_role
):
    # Given an effect of organization A, enqueued by the application role
    with transaction.atomic():
        outbox.enqueue(tenant_a.org, "test.recorder", "secret", {"to": "a@acme.test"})

    # Then organization B's transactions neither see it nor change it
    with tenant(tenant_b.org):
        assert OutboxMessage.objects.count() == 0
        assert OutboxMessage.objects.filter(delivery_key="secret").update(state="failed") == 0
        # ... nor write a row in A's name
        assert_sql_refused(
            DatabaseError,
            "row-level security",
            "INSERT INTO outbox_message (organization_id, consumer, delivery_key,"
            " payload) VALUES (%s, 'test.recorder', 'forged', '{}')",
            [tenant_a.org.id],
        )
    # And without a tenant nothing is visible
    with transaction.atomic():
        assert OutboxMessage.objects.count() == 0
    # While A sees its own row, unchanged
    with tenant(tenant_a.org):
        assert list(OutboxMessage.objects.values_list("delivery_key", "state")) == [
            ("secret", "pending")
        ]
