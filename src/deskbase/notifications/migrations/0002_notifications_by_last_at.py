"""The retention purge's index (services.purge_old): built without blocking writes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(fields=["organization", "last_at"], name="notifications_by_last_at"),
        ),
    ]
