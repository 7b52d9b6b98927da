from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "deskbase.web"
    label = "web"
