from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "deskbase.core"
    label = "core"

    def ready(self) -> None:
        from deskbase.core.grants import grant_application_role

        post_migrate.connect(grant_application_role, sender=self)
