"""Personal data: exports of what deskbase holds about a customer, retention rules.

Erasure keeps no table of its own: it is one transaction that leaves an audit entry
(`customer_erased`). Exports are built by the worker, so their progress is a row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import TenantModel, choice_constraint

MIN_RETENTION_MONTHS = 1
MAX_RETENTION_MONTHS = 120


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being built")
    READY = "ready", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class DataExport(TenantModel):
    """One export of a customer's personal data: a ZIP of JSON files and their files.

    The worker builds it (`progress` of `total` tickets written) into a file under
    MEDIA_ROOT/exports/, named by an unguessable `file_token`; admins download it
    through the API or the administration until `expires_at`, then it is deleted.
    """

    id = models.BigAutoField(primary_key=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    file_token = models.CharField(max_length=64, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "privacy_dataexport"
        indexes = [
            models.Index("organization", "subject", "id", name="privacy_export_by_subject"),
            models.Index(
                "state",
                name="privacy_export_pending",
                condition=Q(state__in=[ExportState.QUEUED, ExportState.RUNNING]),
            ),
        ]
        constraints = [
            choice_constraint(
                "state",
                ExportState,
                name="privacy_dataexport_state_valid",
                message=_("Unknown export state."),
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=models.F("total")),
                name="privacy_dataexport_progress_bounded",
                violation_error_code="progress",
                violation_error_message=_("Progress cannot pass the total."),
            ),
            models.CheckConstraint(
                condition=~Q(state=ExportState.READY)
                | (~Q(file_token="") & Q(expires_at__isnull=False)),
                name="privacy_dataexport_ready_has_file",
                violation_error_code="state",
                violation_error_message=_("A ready export has its file and its expiry."),
            ),
        ]


class RetentionPolicy(TenantModel):
    """An organization's retention rule: purge closed tickets N months after closing.

    No row, or `closed_ticket_months` empty, means tickets are kept (the default).
    """

    id = models.BigAutoField(primary_key=True)
    closed_ticket_months = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "privacy_retentionpolicy"
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], name="privacy_retentionpolicy_one_per_org"
            ),
            models.CheckConstraint(
                condition=Q(closed_ticket_months__isnull=True)
                | Q(
                    closed_ticket_months__gte=MIN_RETENTION_MONTHS,
                    closed_ticket_months__lte=MAX_RETENTION_MONTHS,
                ),
                name="privacy_retentionpolicy_months_range",
                violation_error_code="closed_ticket_months",
                violation_error_message=(
                    f"Months are between {MIN_RETENTION_MONTHS} and {MAX_RETENTION_MONTHS}."
                ),
            ),
        ]


class PurgedTicket(TenantModel):
    """A ticket whose content retention has purged (its skeleton stays in tickets_ticket)."""

    id = models.BigAutoField(primary_key=True)
    ticket_id = models.BigIntegerField()
    purged_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "privacy_purgedticket"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ticket_id"], name="privacy_purgedticket_once"
            ),
        ]
