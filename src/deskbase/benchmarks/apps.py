from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "deskbase.benchmarks"
    label = "benchmarks"
