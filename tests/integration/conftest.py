"""What the tests that start a real Celery worker share."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from incidents_site.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


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


@contextmanager
def celery_worker(queue: str, live_server_url: str, tmp_path: Path, **env: str) -> Iterator[subprocess.Popen]:
    """A worker process on this test's PostgreSQL database and queue, posting to the live server's sandbox Slack;
    `env` adds to its environment (another broker, say). Its log's tail is printed when it stops."""
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incidents_site.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SLACK_API_URL": f"{live_server_url}/sandbox/slack/api/",
        "INCIDENT_HUB_VAR_DIR": str(tmp_path),
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "incidents_site", "worker", "--pool=threads", "-c", "2"]
    command += ["-Q", queue, "--without-gossip", "--without-mingle", "--loglevel=INFO"]
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    print(log_path.read_text()[-3000:])
