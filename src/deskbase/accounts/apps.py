from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "deskbase.accounts"
    label = "accounts"
