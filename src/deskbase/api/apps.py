from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "deskbase.api"
    label = "api"

    def ready(self) -> None:
        # Webhook messages carry the API's representations (every process, the worker too).
        from deskbase.api import webhook_payloads  # noqa: F401
