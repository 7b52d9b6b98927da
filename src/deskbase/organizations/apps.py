from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "deskbase.organizations"
    label = "organizations"
