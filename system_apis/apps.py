from django.apps import AppConfig


class SystemApisConfig(AppConfig):
    name = "system_apis"
    verbose_name = "System APIs"
