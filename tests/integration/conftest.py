"""What the tests that start a real Celery worker share."""

import uuid

import pytest

from incidents_site.celery import app as celery_app


@pytest.fixture
def queue():
    """Real publishing, to a queue of this test's own so the worker takes only what this test sends."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "task_default_queue", "task_routes")}
    celery_app.conf.update(task_always_eager=False, task_default_queue=name, task_routes={"*": {"queue": name}})
    _reroute()
    yield name
    celery_app.conf.update(saved)
    _reroute()


def _reroute() -> None:
    """Celery builds its router once per process: make it read the routes as they are now."""
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)
