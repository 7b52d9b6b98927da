"""The outbox: effects that leave the process, written in the transaction of the change.

One row per effect and consumer. The worker delivers pending rows at least once
(deskbase.outbox.delivery); docs/outbox.md describes the guarantees and operations.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Now
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import TenantModel
from deskbase.outbox.limits import CONSUMER_PATTERN, MAX_ERROR_LENGTH, MAX_KEY_LENGTH


class State(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # attempts exhausted: dead until an operator replays it


class OutboxMessage(TenantModel):
    """One effect for one consumer: delivered at least once, identified by its key."""

    id = models.BigAutoField(primary_key=True)
    consumer = models.CharField(max_length=63)
    delivery_key = models.CharField(max_length=MAX_KEY_LENGTH)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, db_default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(db_default=0)
    next_attempt_at = models.DateTimeField(db_default=Now())
    last_error = models.TextField(blank=True, db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outbox_message"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "consumer", "delivery_key"],
                name="outbox_message_key_unique",
                violation_error_code="delivery_key",
                violation_error_message=_("This delivery key was already enqueued."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=State.values),
                name="outbox_message_state_valid",
                violation_error_code="state",
            ),
            models.CheckConstraint(
                condition=Q(consumer__regex=CONSUMER_PATTERN),
                name="outbox_message_consumer_valid",
                violation_error_code="consumer",
            ),
            models.CheckConstraint(
                condition=~Q(delivery_key=""),
                name="outbox_message_key_not_empty",
                violation_error_code="delivery_key",
            ),
            models.CheckConstraint(
                condition=Q(state=State.DELIVERED, delivered_at__isnull=False)
                | (~Q(state=State.DELIVERED) & Q(delivered_at__isnull=True)),
                name="outbox_message_delivered_at_iff_delivered",
                violation_error_code="delivered_at",
            ),
            models.CheckConstraint(
                # A failed (dead) row was tried at least once; a delivered one too.
                condition=Q(state=State.PENDING) | Q(attempts__gte=1),
                name="outbox_message_attempted_unless_pending",
                violation_error_code="attempts",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("last_error"), MAX_ERROR_LENGTH),
                name="outbox_message_error_bounded",
                violation_error_code="last_error",
            ),
        ]
        indexes = [
            # The worker's claim: due pending rows, oldest first, across tenants.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(state=State.PENDING),
                name="outbox_message_due",
            ),
            # Status and replay of dead rows, per tenant.
            models.Index(
                fields=["organization", "consumer", "id"],
                condition=Q(state=State.FAILED),
                name="outbox_message_failed",
            ),
            # The purge of delivered rows past their retention.
            models.Index(
                fields=["delivered_at"],
                condition=Q(state=State.DELIVERED),
                name="outbox_message_delivered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}:{self.delivery_key} ({self.state})"
