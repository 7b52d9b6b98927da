from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "deskbase.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from deskbase.accounts import audit
        from deskbase.accounts.signals import remember_tenant

        user_logged_in.connect(remember_tenant, dispatch_uid="deskbase.remember_tenant")
        user_logged_in.connect(audit.signed_in, dispatch_uid="deskbase.audit.signed_in")
        user_logged_out.connect(audit.signed_out, dispatch_uid="deskbase.audit.signed_out")
        user_login_failed.connect(audit.sign_in_failed, dispatch_uid="deskbase.audit.failed")
