"""The analytics tables, declared for Django (flush, admin, the ORM); their DDL, row-level
security and triggers are the hand-written SQL of migrations 0001-0002. The seven
materialized views are not models: deskbase.analytics.selectors reads them."""

from __future__ import annotations

from django.db import models


class TicketCount(models.Model):
    """Live tickets of one key, as counted by one writing connection (`shard`)."""

    pk = models.CompositePrimaryKey(
        "organization", "status", "priority", "team_id", "assigned", "sla", "shard"
    )
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=16)
    priority = models.CharField(max_length=16)
    team_id = models.BigIntegerField()  # 0: no team (no foreign key: a count outlives it)
    assigned = models.BooleanField()
    sla = models.CharField(max_length=16)
    shard = models.IntegerField()
    tickets = models.BigIntegerField()

    class Meta:
        db_table = "analytics_ticket_counts"


class RefreshLog(models.Model):
    id = models.BigAutoField(primary_key=True)
    view_name = models.TextField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.FloatField()
    was_concurrent = models.BooleanField()
    row_count = models.BigIntegerField()

    class Meta:
        db_table = "analytics_refresh_log"
