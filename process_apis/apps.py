from django.apps import AppConfig


class ProcessApisConfig(AppConfig):
    name = "process_apis"
    verbose_name = "Process APIs"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
