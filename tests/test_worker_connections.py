"""A worker keeps its database connection from one task to the next, as the web does between requests."""

from datetime import UTC, datetime
from types import SimpleNamespace

import psycopg
import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from incidents_site.celery import app

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="an in-memory SQLite connection is never closed"),
]


@pytest.fixture
def prefork_worker():
    """What a starting prefork worker installs around every task (Celery's Django fix-up)."""
    fixup = DjangoWorkerFixup(app).install()
    fixup.worker = SimpleNamespace(pool_cls="celery.concurrency.prefork:TaskPool")
    yield
    signals.task_prerun.disconnect(fixup.on_task_prerun)
    signals.task_postrun.disconnect(fixup.on_task_postrun)
    signals.worker_process_init.disconnect(fixup.on_worker_process_init)
    signals.beat_embedded_init.disconnect(fixup.close_database)


class Request(dict):
    is_eager = False


class Task:
    name = "tests.task"
    request = Request()


def run_a_task() -> tuple[int, bool]:
    """The PostgreSQL backend the task's query ran on, and whether it was connected before the task began."""
    task, began = Task(), datetime.now(UTC)
    signals.task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        backend, connected_at = cursor.fetchone()
    signals.task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")
    return backend, connected_at < began


def test_the_next_task_runs_on_a_connection_kept_from_the_last(prefork_worker):
    run_a_task()
    assert [run_a_task()[1] for _ in range(3)] == [True, True, True]


def test_a_connection_that_broke_between_tasks_is_replaced(prefork_worker):
    broken, _ = run_a_task()
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [broken])

    assert run_a_task()[0] != broken
