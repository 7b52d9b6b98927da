"""The audit log's CHECK constraint admits the webhook actions (docs/webhooks.md)."""

from django.db import migrations

PRIVACY_ACTIONS = (
    "'signed_in', 'sign_in_failed', 'signed_out', 'token_created', 'token_revoked', "
    "'role_changed', 'user_removed', 'two_factor_enabled', 'two_factor_disabled', "
    "'two_factor_reset', 'two_factor_failed', 'recovery_code_used', 'recovery_codes_renewed', "
    "'sso_signed_in', 'sso_refused', 'sso_user_created', 'sso_changed', 'password_changed', "
    "'session_ended', 'sessions_ended', 'passkey_added', 'passkey_removed', 'settings_changed', "
    "'data_export_requested', 'data_export_downloaded', 'customer_erased', "
    "'retention_purged', 'retention_changed'"
)
WEBHOOK_ACTIONS = PRIVACY_ACTIONS + (
    ", 'webhook_created', 'webhook_changed', 'webhook_deleted', 'webhook_secret_rotated',"
    " 'webhook_disabled'"
)


def actions_check(actions: str) -> str:
    return (
        "ALTER TABLE accounts_auditlog DROP CONSTRAINT accounts_auditlog_action_valid;"
        " ALTER TABLE accounts_auditlog ADD CONSTRAINT accounts_auditlog_action_valid"
        f" CHECK (action IN ({actions}));"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("privacy", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(actions_check(WEBHOOK_ACTIONS), actions_check(PRIVACY_ACTIONS)),
    ]
