from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "deskbase.notifications"
    label = "notifications"

    def ready(self) -> None:
        # The events that notify agents, in every process that writes.
        from deskbase.notifications import subscribers  # noqa: F401
