from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "deskbase.analytics"
    label = "analytics"
