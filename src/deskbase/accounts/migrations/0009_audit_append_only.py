"""The audit log is append-only: no UPDATE or DELETE of a row, by any role.

Retention removes whole monthly partitions (DETACH / DROP, docs/partitions.md),
which fires no row trigger; so does emptying a test database (TRUNCATE).
"""

from django.db import migrations

OLD_ACTIONS = (
    "'signed_in', 'sign_in_failed', 'signed_out', 'token_created', 'token_revoked', "
    "'role_changed', 'user_removed', 'two_factor_enabled', 'two_factor_disabled', "
    "'two_factor_reset', 'two_factor_failed', 'recovery_code_used', 'recovery_codes_renewed', "
    "'sso_signed_in', 'sso_refused', 'sso_user_created', 'sso_changed', 'password_changed', "
    "'session_ended', 'sessions_ended', 'passkey_added', 'passkey_removed'"
)
NEW_ACTIONS = OLD_ACTIONS + ", 'settings_changed'"


def actions_check(actions):
    return (
        "ALTER TABLE accounts_auditlog DROP CONSTRAINT accounts_auditlog_action_valid;"
        " ALTER TABLE accounts_auditlog ADD CONSTRAINT accounts_auditlog_action_valid"
        f" CHECK (action IN ({actions}));"
    )


APPEND_ONLY = """
CREATE FUNCTION deskbase_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % of an entry refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER accounts_auditlog_append_only BEFORE UPDATE OR DELETE ON accounts_auditlog
    FOR EACH ROW EXECUTE FUNCTION deskbase_audit_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS accounts_auditlog_append_only ON accounts_auditlog;
DROP FUNCTION IF EXISTS deskbase_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_passkeys"),
    ]

    operations = [
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
        migrations.RunSQL(actions_check(NEW_ACTIONS), actions_check(OLD_ACTIONS)),
    ]
