"""Webhook endpoints of an organization, and the log of what was sent to them.

The delivery log (`webhooks_delivery`) is range-partitioned by month (docs/partitions.md)
and written with SQL (deskbase.webhooks.services); `Delivery` maps it for reads only.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Now
from django.db.models.lookups import GreaterThan, LessThanOrEqual

from deskbase.core.models import TenantModel

MAX_URL_LENGTH = 2000
MAX_EVENT_TYPES = 50


class Endpoint(TenantModel):
    """A receiver of signed events: its URL, what it subscribes to, its signing secrets."""

    id = models.BigAutoField(primary_key=True)
    url = models.CharField(max_length=MAX_URL_LENGTH)
    description = models.CharField(max_length=500, blank=True, db_default="")
    # Declared event names, or "*" for every one that webhooks carry.
    event_types = ArrayField(models.CharField(max_length=63), size=MAX_EVENT_TYPES)
    enabled = models.BooleanField(db_default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, db_default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # `whsec_<base64>` encrypted at rest (deskbase.mail.crypto); the previous one stays
    # valid (deliveries carry both signatures) until `previous_secret_expires_at`.
    secret = models.TextField()
    previous_secret = models.TextField(blank=True, db_default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The first failure after the last success: the auto-disable's clock.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "webhooks_endpoint"
        constraints = [
            models.UniqueConstraint(fields=["organization", "id"], name="webhooks_endpoint_org_id"),
            models.CheckConstraint(
                condition=Q(url__regex=r"^https?://[^\s]+$"),
                name="webhooks_endpoint_url_http",
                violation_error_code="url",
            ),
            models.CheckConstraint(
                condition=GreaterThan(models.Func("event_types", function="cardinality"), 0),
                name="webhooks_endpoint_events_not_empty",
                violation_error_code="event_types",
            ),
            models.CheckConstraint(
                condition=Q(enabled=True, disabled_at__isnull=True, disabled_reason="")
                | Q(enabled=False, disabled_at__isnull=False),
                name="webhooks_endpoint_disabled_consistent",
                violation_error_code="enabled",
            ),
            models.CheckConstraint(
                condition=Q(previous_secret="", previous_secret_expires_at__isnull=True)
                | (~Q(previous_secret="") & Q(previous_secret_expires_at__isnull=False)),
                name="webhooks_endpoint_previous_secret_expires",
                violation_error_code="previous_secret",
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("secret"), 0)
                & LessThanOrEqual(Length("secret"), 1000),
                name="webhooks_endpoint_secret_set",
                violation_error_code="secret",
            ),
        ]
        indexes = [
            # The event subscriber's one query: an organization's enabled endpoints.
            models.Index(
                fields=["organization", "id"],
                condition=Q(enabled=True),
                name="webhooks_endpoint_enabled",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class Delivery(TenantModel):
    """One attempt to deliver one message to one endpoint (read-only map of the log)."""

    id = models.BigIntegerField(primary_key=True)
    endpoint_id = models.BigIntegerField()
    message_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=63)
    attempt = models.PositiveSmallIntegerField()
    replay_of = models.BigIntegerField(null=True)
    url = models.TextField()
    request_headers = models.JSONField()
    request_body = models.TextField()
    response_status = models.IntegerField(null=True)
    response_body = models.TextField()
    duration_ms = models.IntegerField()
    success = models.BooleanField()
    error = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "webhooks_delivery"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.response_status})"
