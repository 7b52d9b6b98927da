from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "deskbase.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        # The domain events that become messages, in every process that writes.
        from deskbase.webhooks import subscribers  # noqa: F401
