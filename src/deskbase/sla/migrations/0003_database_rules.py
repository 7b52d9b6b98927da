from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, tenant_foreign_key, touch_updated_at


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_initial"), ("tickets", "0002_database_rules")]

    operations = [
        touch_updated_at("sla_slapolicy"),
        tenant_foreign_key("tickets_ticket", "sla_policy_id", "sla_slapolicy"),
        tenant_foreign_key("sla_slaevent", "ticket_id", "tickets_ticket", on_delete="CASCADE"),
        enable_rls("sla_slapolicy"),
        enable_rls("sla_slaevent"),
    ]
