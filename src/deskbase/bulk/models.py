"""Bulk actions on tickets: one row per run, with its selection, progress and summary.

The selection is stored as (number, version) pairs taken when the agent chose the
tickets (or when the server evaluated "all matching this filter"); the run works
through it a chunk at a time, one transaction per chunk, and `position` says how far
it got: a run stopped midway resumes from there (docs/bulk.md).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from deskbase.core.models import TenantModel


class Action(models.TextChoices):
    ASSIGN = "assign", _("Assign")
    STATUS = "status", _("Change status")
    PRIORITY = "priority", _("Change priority")
    TEAM = "team", _("Change team")
    ADD_TAGS = "add_tags", _("Add tags")
    REMOVE_TAGS = "remove_tags", _("Remove tags")
    MERGE = "merge", _("Merge")
    TRASH = "trash", _("Move to trash")


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class BulkJob(TenantModel):
    id = models.BigAutoField(primary_key=True)
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    params = models.JSONField(default=dict)
    # [[number, version or null], ...] in ticket-number order
    selection = models.JSONField(default=list)
    described = models.CharField(max_length=300, blank=True, default="")
    total = models.PositiveIntegerField()
    position = models.PositiveIntegerField(db_default=0)
    done = models.PositiveIntegerField(db_default=0)
    # [{"number": n, "reason": "..."}, ...]: the first 1,000 skipped tickets
    skipped = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=State.choices, db_default=State.QUEUED)
    error = models.TextField(blank=True, db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "bulk_job"
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=Action.values), name="bulk_job_action_valid",
                violation_error_code="action",
            ),
            models.CheckConstraint(
                condition=Q(state__in=State.values), name="bulk_job_state_valid",
                violation_error_code="state",
            ),
            models.CheckConstraint(
                condition=Q(position__lte=F("total")), name="bulk_job_position_in_selection",
                violation_error_code="position",
            ),
            models.CheckConstraint(
                condition=Q(total__gte=1), name="bulk_job_not_empty",
                violation_error_code="tickets",
            ),
            models.CheckConstraint(
                condition=Q(state=State.FINISHED, position=F("total"))
                | ~Q(state=State.FINISHED),
                name="bulk_job_finished_at_end", violation_error_code="state",
            ),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["organization", "actor", "-id"], name="bulk_job_of_actor"),
            models.Index(
                fields=["id"], condition=Q(state__in=["queued", "running"]),
                name="bulk_job_unfinished",
            ),
        ]  # fmt: skip

    @property
    def skipped_count(self) -> int:
        """Every ticket gone through and not changed (the list keeps the first 1,000)."""
        return self.position - self.done

    @property
    def finished(self) -> bool:
        return self.state in (State.FINISHED, State.FAILED)

    @property
    def percent(self) -> int:
        return int(100 * self.position / self.total) if self.total else 100
