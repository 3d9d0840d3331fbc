"""Celery on RabbitMQ: a real worker on the machine's RabbitMQ takes a notice's work and posts it once.

Runs in the services tier of .ci/run, which names the broker in RABBITMQ_URL (and PostgreSQL in DATABASE_URL).
"""

import os
import uuid

import pytest
from celery import Celery
from django.db import transaction

from process_apis.models import NotificationDelivery
from process_apis.notifications.services import notification_queue
from tests.integration.conftest import celery_worker
from tests.reports import stored_report
from tests.waiting import wait_for

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "")
pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (RABBITMQ_URL and os.environ.get("DATABASE_URL", "").startswith("postgres")),
        reason="needs RabbitMQ and PostgreSQL (RABBITMQ_URL, DATABASE_URL): run by .ci/run's services tier",
    ),
]


@pytest.fixture
def rabbit_worker(live_server, settings, tmp_path):
    settings.ROOT_URLCONF = "tests.urls_with_sandbox"
    queue = f"test-rabbit-{uuid.uuid4().hex[:8]}"
    with celery_worker(queue, live_server.url, tmp_path, CELERY_BROKER_URL=RABBITMQ_URL):
        yield queue


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_rabbitmq_posts_the_notice_once(queue, rabbit_worker):
    from sandbox.slack.models import Message

    request = stored_report(sync_state="created", servicenow_number="INC0010007", servicenow_sys_id="b" * 32)
    # The site's own enqueue goes to the test's queue on the configured broker, which nobody here consumes.
    with transaction.atomic():
        delivery = notification_queue(request=request)
    # Published as the site publishes (publisher confirms on), to the worker's own durable queue.
    # Not the current app: the site's own tasks must keep resolving to the site's app and broker.
    publisher = Celery(broker=RABBITMQ_URL, set_as_current=False)
    publisher.conf.broker_transport_options = {"confirm_publish": True}
    publisher.send_task("process_apis.deliver_notification", args=[delivery.work_id], queue=rabbit_worker)

    assert wait_for(lambda: NotificationDelivery.objects.get(pk=delivery.pk).state == "sent"), "not sent"
    assert Message.objects.filter(text__contains="Order 1042").count() == 1
