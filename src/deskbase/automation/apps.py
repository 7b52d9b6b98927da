from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "deskbase.automation"
    label = "automation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The event activator subscribes to the ticket events when the app loads.
        from deskbase.automation import engine  # noqa: F401
