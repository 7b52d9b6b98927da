"""What the job worker did: one row per run of a task (docs/operations.md)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class JobRun(models.Model):
    """One attempt of one job. procrastinate keeps the job's state but not why it
    failed; this keeps the reason, for `deskbase jobs status`. Not tenant data: the
    application role has no privilege on it (deskbase.jobs.revoke_application_role)."""

    id = models.BigAutoField(primary_key=True)
    task = models.CharField(max_length=128)
    job_id = models.BigIntegerField(null=True)
    attempt = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(db_default=Now())
    finished_at = models.DateTimeField(null=True)
    ok = models.BooleanField(null=True)  # None while running
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "dbtools_jobrun"
        indexes = [models.Index(fields=["task", "-started_at"], name="dbtools_jobrun_by_task")]
