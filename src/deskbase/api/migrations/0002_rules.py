from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, tenant_foreign_key


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial"), ("accounts", "0005_api_token_rules")]

    operations = [
        tenant_foreign_key("api_idempotencykey", "user_id", "accounts_user", on_delete="CASCADE"),
        enable_rls("api_idempotencykey"),
    ]
