from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DbtoolsConfig(AppConfig):
    name = "deskbase.dbtools"
    label = "dbtools"

    def ready(self) -> None:
        from deskbase.jobs import revoke_application_role

        # After core's blanket grant to the application role (core comes first).
        post_migrate.connect(revoke_application_role, sender=self)
        from deskbase.dbtools.partitions import after_migrate

        post_migrate.connect(after_migrate, sender=self)
