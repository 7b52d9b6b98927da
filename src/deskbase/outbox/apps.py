from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "deskbase.outbox"
    label = "outbox"

    def ready(self) -> None:
        from deskbase.outbox import registry

        # Every process (web servers enqueue, the worker delivers) knows every consumer.
        registry.autodiscover()
