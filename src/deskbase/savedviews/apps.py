from django.apps import AppConfig


class SavedViewsConfig(AppConfig):
    name = "deskbase.savedviews"
    label = "savedviews"
