from django.apps import AppConfig


class ExperienceApisConfig(AppConfig):
    name = "experience_apis"
    verbose_name = "Experience APIs"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .slack import answers  # noqa: F401  (registers its kind of background work)
