"""The audit log's CHECK constraint admits the CSV exports (docs/web.md)."""

from django.db import migrations

WEBHOOK_ACTIONS = (
    "'signed_in', 'sign_in_failed', 'signed_out', 'token_created', 'token_revoked', "
    "'role_changed', 'user_removed', 'two_factor_enabled', 'two_factor_disabled', "
    "'two_factor_reset', 'two_factor_failed', 'recovery_code_used', 'recovery_codes_renewed', "
    "'sso_signed_in', 'sso_refused', 'sso_user_created', 'sso_changed', 'password_changed', "
    "'session_ended', 'sessions_ended', 'passkey_added', 'passkey_removed', 'settings_changed', "
    "'data_export_requested', 'data_export_downloaded', 'customer_erased', "
    "'retention_purged', 'retention_changed', 'webhook_created', 'webhook_changed', "
    "'webhook_deleted', 'webhook_secret_rotated', 'webhook_disabled'"
)
EXPORT_ACTIONS = WEBHOOK_ACTIONS + ", 'tickets_exported', 'report_exported'"


def actions_check(actions: str) -> str:
    return (
        "ALTER TABLE accounts_auditlog DROP CONSTRAINT accounts_auditlog_action_valid;"
        " ALTER TABLE accounts_auditlog ADD CONSTRAINT accounts_auditlog_action_valid"
        f" CHECK (action IN ({actions}));"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0001_initial"),
        ("webhooks", "0002_audit_actions"),
    ]

    operations = [
        migrations.RunSQL(actions_check(EXPORT_ACTIONS), actions_check(WEBHOOK_ACTIONS)),
    ]
