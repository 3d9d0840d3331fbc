from django.apps import AppConfig


class ProcessApisConfig(AppConfig):
    name = "process_apis"
    verbose_name = "Process APIs"

    def ready(self) -> None:
        # The system checks, and the kinds of background work each service registers.
        from . import checks  # noqa: F401
        from .customer_incidents import services as customer_incidents  # noqa: F401
        from .customer_mail import services as customer_mail  # noqa: F401
        from .customer_migration import services as customer_migration  # noqa: F401
        from .incident_events import services as incident_events  # noqa: F401
        from .notifications import services as notifications  # noqa: F401
        from .webhooks import services as webhooks  # noqa: F401
