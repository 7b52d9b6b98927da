"""Rules (event, time, manual = macros), their versions, and the record of each firing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import TenantModel, TimestampedModel, choice_constraint


class Activator(models.TextChoices):
    EVENT = "event", _("On an event")
    TIME = "time", _("On time")
    MANUAL = "manual", _("Macro (applied by an agent)")


class Rule(TenantModel, TimestampedModel):
    """One rule; `definition` holds its events, conditions and actions (automation.schema).

    `version` counts saves; each save writes a RuleVersion row with the same number.
    Positions are unique per (organization, activator), deferred to the commit so a
    reorder can swap them in one transaction.
    """

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=120)
    activator = models.CharField(max_length=8, choices=Activator.choices)
    position = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    definition = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+",
        db_index=False,
    )  # fmt: skip

    class Meta:
        db_table = "automation_rule"
        ordering = ["activator", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "activator", "position"],
                name="automation_rule_position_unique",
                deferrable=models.Deferrable.DEFERRED,
                violation_error_code="position",
                violation_error_message=_("Another rule holds this position."),
            ),
            models.UniqueConstraint(
                fields=["organization", "activator", "name"],
                name="automation_rule_name_unique",
                violation_error_code="name",
                violation_error_message=_("A rule with this name already exists."),
            ),
            models.UniqueConstraint(
                fields=["organization", "id"], name="automation_rule_org_id_unique"
            ),
            choice_constraint(
                "activator",
                Activator,
                name="automation_rule_activator_valid",
                message=_("Unknown activator."),
            ),
            models.CheckConstraint(
                condition=Q(name__regex=r"\S"),
                name="automation_rule_name_not_blank",
                violation_error_code="name",
                violation_error_message=_("A rule needs a name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleVersion(TenantModel):
    """A rule as one save left it: name, activator, active flag and definition."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    is_active = models.BooleanField()
    definition = models.JSONField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, null=True, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    saved_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "automation_ruleversion"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "rule", "version"],
                name="automation_ruleversion_unique",
            ),
        ]


class TimeOccurrence(TenantModel):
    """A time rule fired on a ticket for one occurrence (the instant its condition keyed on).

    The unique key is what makes a time rule fire once per occurrence, whatever the
    number of passes, concurrent or not: a second pass's INSERT finds the row.
    """

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+", db_index=False)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    occurrence = models.DateTimeField()
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "automation_timeoccurrence"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "rule", "ticket", "occurrence"],
                name="automation_timeoccurrence_once",
            ),
        ]


class Firing(models.Model):
    """Why and how a rule acted on a ticket. Append-only, partitioned by month (created_at).

    The table is created by the migration (PARTITION BY RANGE); the rule is kept by id,
    name and version, so the record outlives a deleted rule.
    """

    id = models.BigAutoField(primary_key=True)
    organization_id = models.BigIntegerField()
    rule_id = models.BigIntegerField()
    rule_name = models.CharField(max_length=120)
    rule_version = models.PositiveIntegerField()
    activator = models.CharField(max_length=8)
    trigger = models.CharField(max_length=64)  # the event, "time" or "macro"
    ticket_id = models.BigIntegerField(null=True)
    actor_id = models.BigIntegerField(null=True)
    depth = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=16)  # fired, failed, skipped
    matched = models.JSONField(default=list)  # [{"text": ..., "value": ...}]
    changes = models.JSONField(default=list)  # ["set priority to urgent", ...]
    errors = models.JSONField(default=list)  # ["actions[1].team: no such team", ...]
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        managed = False
        db_table = "automation_firing"
