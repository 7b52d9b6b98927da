"""Time rules read their candidates from indexes: the customer's last public reply kept on
the ticket (filled here from the comments), and one partial index per instant a time
rule may wait on, over the tickets not ended and not deleted (docs/automation.md)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_audit_append_only"),
        ("organizations", "0004_api_rate_limit"),
        ("sla", "0005_sla_alerts"),
        ("tickets", "0010_ticketlink_timeentry"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="last_customer_reply_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # A derived column: filled without the UPDATE triggers (updated_at, history,
        # search and analytics are not changed by it).
        migrations.RunSQL(
            sql="""
                ALTER TABLE tickets_ticket DISABLE TRIGGER USER;
                UPDATE tickets_ticket AS t SET last_customer_reply_at = r.at
                FROM (
                    SELECT c.ticket_id, max(c.created_at) AS at
                    FROM tickets_ticketcomment AS c
                    JOIN accounts_user AS u ON u.id = c.author_id
                    WHERE c.kind = 'public' AND c.deleted_at IS NULL AND u.role = 'customer'
                    GROUP BY c.ticket_id
                ) AS r
                WHERE t.id = r.ticket_id;
                ALTER TABLE tickets_ticket ENABLE TRIGGER USER;
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.F("organization"),
                models.F("created_at"),
                models.F("id"),
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    models.Q(("status__in", ("closed", "cancelled")), _negated=True),
                ),
                name="tickets_time_created",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.F("organization"),
                models.F("updated_at"),
                models.F("id"),
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    models.Q(("status__in", ("closed", "cancelled")), _negated=True),
                ),
                name="tickets_time_updated",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.F("organization"),
                models.F("first_response_due_at"),
                models.F("id"),
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    models.Q(("status__in", ("closed", "cancelled")), _negated=True),
                ),
                name="tickets_time_first_due",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.F("organization"),
                models.F("resolution_due_at"),
                models.F("id"),
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    models.Q(("status__in", ("closed", "cancelled")), _negated=True),
                ),
                name="tickets_time_resolution_due",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                models.F("organization"),
                models.F("last_customer_reply_at"),
                models.F("id"),
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    models.Q(("status__in", ("closed", "cancelled")), _negated=True),
                ),
                name="tickets_time_customer_reply",
            ),
        ),
    ]
