import logging.config
import os

from celery import Celery, bootsteps
from celery.signals import setup_logging, task_postrun, task_prerun

from .broker import use_shared_redis_clients
from .production_checks import refuse_to_start_on_laptop_defaults

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidents_site.settings")
use_shared_redis_clients()

app = Celery("incidents_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_the_sites_logging(**kwargs: object) -> None:
    """Workers and beat log as the web does (JSON, with the flow's correlation id), not Celery's own way."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)  # Python warnings too, as JSON events of the py.warnings logger


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task: object = None, **kwargs: object) -> None:
    """Around each task, what Django does around each request: a connection past CONN_MAX_AGE or left broken is
    closed, the rest are kept for the next task (an eager task runs inside its caller's transaction: left alone)."""
    if not getattr(getattr(task, "request", None), "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()


class RefuseLaptopDefaults(bootsteps.Step):
    """A worker of a production deployment left on laptop defaults stops before taking any task (a signal
    handler could not stop it: Celery logs their errors and goes on)."""

    def __init__(self, parent: object, **kwargs: object) -> None:
        refuse_to_start_on_laptop_defaults()
        super().__init__(parent, **kwargs)


app.steps["worker"].add(RefuseLaptopDefaults)
