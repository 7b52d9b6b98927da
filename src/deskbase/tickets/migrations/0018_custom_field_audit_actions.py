"""The audit log's CHECK constraint admits the custom-field definitions' actions
(docs/tickets.md): defined, changed, archived."""

from django.db import migrations

EXPORT_ACTIONS = (
    "'signed_in', 'sign_in_failed', 'signed_out', 'token_created', 'token_revoked', "
    "'role_changed', 'user_removed', 'two_factor_enabled', 'two_factor_disabled', "
    "'two_factor_reset', 'two_factor_failed', 'recovery_code_used', 'recovery_codes_renewed', "
    "'sso_signed_in', 'sso_refused', 'sso_user_created', 'sso_changed', 'password_changed', "
    "'session_ended', 'sessions_ended', 'passkey_added', 'passkey_removed', 'settings_changed', "
    "'data_export_requested', 'data_export_downloaded', 'customer_erased', "
    "'retention_purged', 'retention_changed', 'webhook_created', 'webhook_changed', "
    "'webhook_deleted', 'webhook_secret_rotated', 'webhook_disabled', "
    "'tickets_exported', 'report_exported'"
)
CUSTOM_FIELD_ACTIONS = (
    EXPORT_ACTIONS + ", 'custom_field_created', 'custom_field_changed', 'custom_field_archived'"
)


def actions_check(actions: str) -> str:
    return (
        "ALTER TABLE accounts_auditlog DROP CONSTRAINT accounts_auditlog_action_valid;"
        " ALTER TABLE accounts_auditlog ADD CONSTRAINT accounts_auditlog_action_valid"
        f" CHECK (action IN ({actions}));"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0017_ticketfieldvalue"),
        ("web", "0002_export_audit_actions"),
    ]

    operations = [
        migrations.RunSQL(actions_check(CUSTOM_FIELD_ACTIONS), actions_check(EXPORT_ACTIONS)),
    ]
