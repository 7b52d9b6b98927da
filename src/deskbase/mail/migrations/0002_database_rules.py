from django.db import migrations

from deskbase.core.migrations._frozen import enable_rls, tenant_foreign_key, touch_updated_at

MESSAGE_ID_HASH = """
    ALTER TABLE {table} ADD CONSTRAINT {table}_message_id_hash_sha256
    CHECK (octet_length(message_id_hash) = 32);
"""


class Migration(migrations.Migration):
    dependencies = [("mail", "0001_initial"), ("tickets", "0001_initial")]

    operations = [
        touch_updated_at("mail_mailbox"),
        # No reference crosses tenants; a purged ticket leaves its mail, without the link.
        tenant_foreign_key("mail_inboundmessage", "mailbox_id", "mail_mailbox"),
        tenant_foreign_key(
            "mail_inboundmessage",
            "ticket_id",
            "tickets_ticket",
            on_delete="SET NULL (ticket_id)",
        ),
        tenant_foreign_key("mail_outboundmessage", "mailbox_id", "mail_mailbox"),
        tenant_foreign_key(
            "mail_outboundmessage", "ticket_id", "tickets_ticket", on_delete="CASCADE"
        ),
        tenant_foreign_key(
            "mail_outboundmessage",
            "bounce_id",
            "mail_inboundmessage",
            on_delete="SET NULL (bounce_id)",
        ),
        *(
            migrations.RunSQL(
                MESSAGE_ID_HASH.format(table=table),
                f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_message_id_hash_sha256",
            )
            for table in ("mail_inboundmessage", "mail_outboundmessage")
        ),
        enable_rls("mail_mailbox"),
        enable_rls("mail_inboundmessage"),
        tenant_foreign_key("mail_participant", "ticket_id", "tickets_ticket", on_delete="CASCADE"),
        enable_rls("mail_outboundmessage"),
        enable_rls("mail_participant"),
    ]
