from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, tenant_foreign_key


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_api_tokens")]

    operations = [
        tenant_foreign_key("accounts_apitoken", "user_id", "accounts_user", on_delete="CASCADE"),
        enable_rls("accounts_apitoken"),
    ]
