from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "deskbase.organizations"
    label = "organizations"

    def ready(self) -> None:
        # The per-organization cache of hot reads (organization settings first)
        # subscribes its invalidations once every model is loaded.
        from deskbase import cached

        cached.connect()
