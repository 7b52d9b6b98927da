from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "deskbase.api"
    label = "api"
