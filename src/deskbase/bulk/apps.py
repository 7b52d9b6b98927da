from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "deskbase.bulk"
    label = "bulk"
