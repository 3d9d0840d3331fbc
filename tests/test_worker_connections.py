"""A worker keeps its database connection from one task to the next, as the web does between requests."""

import time
from types import SimpleNamespace

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
def django_fixup():
    """What a starting worker installs around every task (Celery's Django fix-up)."""
    fixup = DjangoWorkerFixup(app).install()
    yield
    signals.task_prerun.disconnect(fixup.on_task_prerun)
    signals.task_postrun.disconnect(fixup.on_task_postrun)
    signals.worker_process_init.disconnect(fixup.on_worker_process_init)
    signals.beat_embedded_init.disconnect(fixup.close_database)


class Task:
    request = SimpleNamespace(is_eager=False)


def run_a_task() -> None:
    task = Task()
    signals.task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    signals.task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


def test_the_next_task_reuses_the_connection_of_the_last(django_fixup):
    run_a_task()
    first = connection.connection
    run_a_task()

    assert first is not None and connection.connection is first


def test_a_connection_past_its_age_is_replaced_by_the_next_task(django_fixup):
    run_a_task()
    first = connection.connection
    connection.close_at = time.monotonic() - 1

    run_a_task()
    assert connection.connection is not None and connection.connection is not first
    assert first.closed
