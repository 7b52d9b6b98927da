from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "deskbase.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from deskbase.accounts.signals import remember_tenant

        user_logged_in.connect(remember_tenant, dispatch_uid="deskbase.remember_tenant")
