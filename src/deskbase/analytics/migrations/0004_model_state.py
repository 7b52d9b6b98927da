"""Django's view of the tables of 0001 (state only: the tables exist already), so that
flush and the ORM know them."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_views")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TicketCount",
                    fields=[
                        (
                            "pk",
                            models.CompositePrimaryKey(
                                "organization",
                                "status",
                                "priority",
                                "team_id",
                                "assigned",
                                "sla",
                                "shard",
                                blank=True,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        (
                            "organization",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="organizations.organization",
                            ),
                        ),
                        ("status", models.CharField(max_length=16)),
                        ("priority", models.CharField(max_length=16)),
                        ("team_id", models.BigIntegerField()),
                        ("assigned", models.BooleanField()),
                        ("sla", models.CharField(max_length=16)),
                        ("shard", models.IntegerField()),
                        ("tickets", models.BigIntegerField()),
                    ],
                    options={"db_table": "analytics_ticket_counts"},
                ),
                migrations.CreateModel(
                    name="RefreshLog",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("view_name", models.TextField()),
                        ("started_at", models.DateTimeField()),
                        ("finished_at", models.DateTimeField()),
                        ("duration_ms", models.FloatField()),
                        ("was_concurrent", models.BooleanField()),
                        ("row_count", models.BigIntegerField()),
                    ],
                    options={"db_table": "analytics_refresh_log"},
                ),
            ],
        ),
    ]
