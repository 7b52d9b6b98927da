"""A person's language and time zone (blank: the organization's), the zone checked
by PostgreSQL like the organization's (organizations 0002)."""

import deskbase.organizations.models
from django.db import migrations, models


TIMEZONE_CHECK = """
CREATE FUNCTION accounts_user_check_timezone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.timezone <> '' THEN
        PERFORM now() AT TIME ZONE NEW.timezone;
    END IF;
    RETURN NEW;
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE EXCEPTION 'unknown time zone %', NEW.timezone
        USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_user_timezone_valid';
END $$;

CREATE TRIGGER accounts_user_timezone_valid
BEFORE INSERT OR UPDATE OF timezone ON accounts_user
FOR EACH ROW EXECUTE FUNCTION accounts_user_check_timezone();
"""

TIMEZONE_CHECK_REVERSE = """
DROP TRIGGER IF EXISTS accounts_user_timezone_valid ON accounts_user;
DROP FUNCTION IF EXISTS accounts_user_check_timezone();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("organizations", "0005_preferences"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("en", "English"), ("de", "Deutsch")],
                db_default="",
                default="",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="timezone",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                max_length=64,
                validators=[deskbase.organizations.models.validate_timezone],
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("language", ""), ("language__in", ["en", "de"]), _connector="OR"
                ),
                name="accounts_user_language_valid",
                violation_error_code="language",
                violation_error_message="Unknown language.",
            ),
        ),
        migrations.RunSQL(TIMEZONE_CHECK, TIMEZONE_CHECK_REVERSE),
    ]
