from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The site itself as an app: what every process (web, worker, beat, manage.py) sets up once."""

    name = "incidents_site"
    verbose_name = "Incident Hub"

    def ready(self) -> None:
        from . import production_checks  # noqa: F401  (registers the system check)
        from .telemetry import configure_telemetry

        configure_telemetry()
