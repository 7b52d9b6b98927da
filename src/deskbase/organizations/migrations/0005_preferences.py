"""An organization's default language (blank: each browser's)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0004_api_rate_limit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("en", "English"), ("de", "Deutsch")],
                db_default="",
                default="",
                max_length=8,
            ),
        ),
        migrations.AddConstraint(
            model_name="organization",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("language", ""), ("language__in", ["en", "de"]), _connector="OR"
                ),
                name="organizations_organization_language_valid",
                violation_error_code="language",
                violation_error_message="Unknown language.",
            ),
        ),
    ]
