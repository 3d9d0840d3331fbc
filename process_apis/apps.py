from django.apps import AppConfig


class ProcessApisConfig(AppConfig):
    name = "process_apis"
    verbose_name = "Process APIs"
