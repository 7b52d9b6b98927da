"""SLA policies and the clock events of each ticket."""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from deskbase.accounts.models import CustomerTier
from deskbase.core.models import TenantModel, TimestampedModel, choice_constraint
from deskbase.tickets.models import Priority

# A year of minutes: business time is counted day by day, so targets stay bounded.
MAX_TARGET_MINUTES = 366 * 24 * 60
# Lazy, so each reader gets it in their language: the figure is MAX_TARGET_MINUTES.
TARGET_RANGE = _("A whole number of minutes, from 1 to 527040.")
TARGET_VALIDATORS = [
    MinValueValidator(1, message=TARGET_RANGE),
    MaxValueValidator(MAX_TARGET_MINUTES, message=TARGET_RANGE),
]


class TstzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the constraint


class SlaPolicy(TenantModel, TimestampedModel):
    """Targets for one (priority, customer tier) in one period of validity."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    priority = models.CharField(max_length=16, choices=Priority.choices)
    customer_tier = models.CharField(max_length=16, choices=CustomerTier.choices)
    first_response_minutes = models.PositiveIntegerField(validators=TARGET_VALIDATORS)
    resolution_minutes = models.PositiveIntegerField(validators=TARGET_VALIDATORS)
    business_hours = models.BooleanField(
        default=True, help_text="Count only the organization's business hours (else calendar time)."
    )
    is_active = models.BooleanField(default=True)
    valid_from = models.DateTimeField(db_default=Now())
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sla_slapolicy"
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        indexes = [
            models.Index("organization", "priority", "customer_tier", name="sla_policy_lookup",
                         condition=Q(is_active=True)),
        ]  # fmt: skip
        constraints = [
            ExclusionConstraint(
                name="sla_slapolicy_no_overlap",
                violation_error_code="valid_from",
                expressions=[
                    ("organization", RangeOperators.EQUAL),
                    ("priority", RangeOperators.EQUAL),
                    ("customer_tier", RangeOperators.EQUAL),
                    (TstzRange("valid_from", "valid_until"), RangeOperators.OVERLAPS),
                ],
                condition=Q(is_active=True),
                violation_error_message=(
                    "An active policy for this priority and customer tier already covers this"
                    " period."
                ),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="sla_slapolicy_org_id_unique"
            ),
            choice_constraint(
                "priority",
                Priority,
                name="sla_slapolicy_priority_valid",
                message=_("Unknown priority."),
            ),
            choice_constraint(
                "customer_tier",
                CustomerTier,
                name="sla_slapolicy_customer_tier_valid",
                message=_("Unknown customer tier."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0),
                name="sla_slapolicy_first_response_positive",
                violation_error_code="first_response_minutes",
                violation_error_message=_("The first-response target must be at least a minute."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__lte=MAX_TARGET_MINUTES),
                name="sla_slapolicy_first_response_bounded",
                violation_error_code="first_response_minutes",
                violation_error_message=TARGET_RANGE,
            ),
            models.CheckConstraint(
                condition=Q(resolution_minutes__lte=MAX_TARGET_MINUTES),
                name="sla_slapolicy_resolution_bounded",
                violation_error_code="resolution_minutes",
                violation_error_message=TARGET_RANGE,
            ),
            models.CheckConstraint(
                condition=Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="sla_slapolicy_resolution_after_first_response",
                violation_error_code="resolution_minutes",
                violation_error_message=(
                    "The resolution target cannot be shorter than the first response."
                ),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="sla_slapolicy_validity_ordered",
                violation_error_code="valid_until",
                violation_error_message=_("A policy must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaEventKind(models.TextChoices):
    STARTED = "started", _("Started")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    RECOMPUTED = "recomputed", _("Recomputed")


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")


class SlaEvent(TenantModel):
    """One event of a ticket's SLA clock: the answer to "why is this ticket breached"."""

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_events", db_index=False
    )
    kind = models.CharField(max_length=16, choices=SlaEventKind.choices)
    target = models.CharField(max_length=16, choices=SlaTarget.choices, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "sla_slaevent"
        indexes = [
            models.Index("organization", "ticket", "created_at", "id", name="sla_event_by_ticket")
        ]
        constraints = [
            choice_constraint(
                "kind",
                SlaEventKind,
                name="sla_slaevent_kind_valid",
                message=_("Unknown SLA event."),
            ),
            models.CheckConstraint(
                condition=Q(target="") | Q(target__in=SlaTarget.values),
                name="sla_slaevent_target_valid",
                violation_error_code="target",
                violation_error_message=_("Unknown SLA target."),
            ),
        ]


class SlaAlertKind(models.TextChoices):
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


class SlaAlert(TenantModel):
    """A running target crossed into "at risk" or "breached" (the periodic pass, docs/sla.md).

    One row per (ticket, target, kind, due time), ever: the unique key is what makes a
    re-run or a concurrent run announce a crossing once, while a due time moved later
    (a policy change, a pause) is a new crossing that announces again.
    """

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    target = models.CharField(max_length=16, choices=SlaTarget.choices)
    kind = models.CharField(max_length=16, choices=SlaAlertKind.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "sla_slaalert"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ticket", "target", "kind", "due_at"],
                name="sla_slaalert_once",
            ),
            choice_constraint(
                "kind", SlaAlertKind, name="sla_slaalert_kind_valid", message=_("Unknown alert.")
            ),
            choice_constraint(
                "target", SlaTarget, name="sla_slaalert_target_valid", message=_("Unknown target.")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.kind}"
