from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, tenant_foreign_key, touch_updated_at


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial"), ("organizations", "0002_database_rules")]

    operations = [
        touch_updated_at("accounts_team"),
        tenant_foreign_key(
            "accounts_teammembership", "team_id", "accounts_team", on_delete="CASCADE"
        ),
        tenant_foreign_key(
            "accounts_teammembership", "user_id", "accounts_user", on_delete="CASCADE"
        ),
        migrations.RunSQL(
            "ALTER TABLE accounts_user ADD CONSTRAINT accounts_user_skills_array"
            " CHECK (jsonb_typeof(skills) = 'array')",
            "ALTER TABLE accounts_user DROP CONSTRAINT IF EXISTS accounts_user_skills_array",
        ),
        enable_rls("accounts_user"),
        enable_rls("accounts_team"),
        enable_rls("accounts_teammembership"),
    ]
