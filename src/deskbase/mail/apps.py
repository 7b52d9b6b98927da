from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "deskbase.mail"
    label = "mail"
