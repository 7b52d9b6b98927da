from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "deskbase.sla"
    label = "sla"
