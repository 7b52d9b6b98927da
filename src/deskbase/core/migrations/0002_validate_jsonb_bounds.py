"""The stored-JSON bounds of 0001 checked over the rows already stored, too.

0001 added them NOT VALID so that a migration never fails on old data. Here each is
validated (a scan that blocks no writes); a table still holding a value past the
bounds keeps its constraint NOT VALID with a warning, and `deskbase db_maintenance
--check` reports it until the rows are corrected and the constraint validated.
"""

from django.db import migrations


BOUNDED = [
    ("tickets_ticket", "tickets_ticket_custom_fields_bounded"),
    ("organizations_organization", "organizations_organization_settings_bounded"),
    ("organizations_organization", "organizations_organization_business_hours_bounded"),
    ("accounts_user", "accounts_user_skills_bounded"),
]


def _validate(table: str, name: str) -> str:
    return f"""
DO $$ BEGIN
    ALTER TABLE {table} VALIDATE CONSTRAINT {name};
EXCEPTION WHEN check_violation THEN
    RAISE WARNING 'constraint % on % left NOT VALID: rows hold JSON past its bounds',
        '{name}', '{table}';
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0001_jsonb_bounds")]

    # Validating marks the constraint checked; there is nothing to undo.
    operations = [
        migrations.RunSQL(_validate(table, name), migrations.RunSQL.noop) for table, name in BOUNDED
    ]
