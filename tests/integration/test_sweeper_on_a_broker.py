"""The sweeper asks the real broker how many messages wait in a kind's queue (Redis here, as in production)."""

import os
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from incidents_site.celery import app as celery_app
from kernel import work as work_engine
from kernel.models import Work
from process_apis.notifications.services import NOTIFICATION, notification_queue
from tests.reports import stored_report

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
        reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): run by .ci/run's services tier",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_work_waiting_in_its_queue_is_counted_and_left_there(queue):
    for _ in range(3):
        with transaction.atomic():
            notification_queue(request=stored_report())
    Work.objects.filter(kind=NOTIFICATION).update(updated_at=timezone.now() - timedelta(minutes=5))
    kind = work_engine._kinds[NOTIFICATION]
    try:
        assert work_engine._queued_messages(kind) == 3
        assert NOTIFICATION not in work_engine.work_sweep()
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
