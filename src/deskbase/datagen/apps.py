from django.apps import AppConfig


class DatagenConfig(AppConfig):
    name = "deskbase.datagen"
    label = "datagen"
