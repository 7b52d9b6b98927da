from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "deskbase.search"
    label = "search"
