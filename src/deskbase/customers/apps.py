from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "deskbase.customers"
    label = "customers"

    def ready(self) -> None:
        # The user.created subscriber that files a new customer under their company.
        from deskbase.customers import subscribers  # noqa: F401
