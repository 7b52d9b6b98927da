from django.apps import AppConfig


class DbtoolsConfig(AppConfig):
    name = "deskbase.dbtools"
    label = "dbtools"
