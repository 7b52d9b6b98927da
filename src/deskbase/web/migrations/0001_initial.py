import django.db.models.functions.datetime
from django.db import migrations, models

from deskbase.core.migrations._frozen import enable_rls


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketPresence",
            fields=[
                ("pk", models.CompositePrimaryKey("organization_id", "ticket_number", "user_id",
                                                  blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("organization_id", models.BigIntegerField()),
                ("ticket_number", models.BigIntegerField()),
                ("user_id", models.BigIntegerField()),
                ("seen_at", models.DateTimeField(
                    db_default=django.db.models.functions.datetime.Now())),
            ],
            options={"db_table": "web_ticketpresence"},
        ),
        # A hint polled every 15 s per open page: kept out of the WAL (emptied after a crash).
        migrations.RunSQL(
            "ALTER TABLE web_ticketpresence SET UNLOGGED",
            "ALTER TABLE web_ticketpresence SET LOGGED",
        ),
        enable_rls("web_ticketpresence"),
    ]  # fmt: skip
