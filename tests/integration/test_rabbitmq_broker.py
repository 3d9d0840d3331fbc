"""Celery on RabbitMQ: a real worker on the machine's RabbitMQ takes a notice's work and posts it once.

Runs in the services tier of .ci/run, which names the broker in RABBITMQ_URL (and PostgreSQL in DATABASE_URL).
"""

import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.db import connection, transaction

from process_apis.models import NotificationDelivery
from process_apis.notifications.services import notification_queue
from tests.integration.test_celery_worker import ROOT, wait_for
from tests.reports import stored_report

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
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incidents_site.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": RABBITMQ_URL,
        "SLACK_API_URL": f"{live_server.url}/sandbox/slack/api/",
        "INCIDENT_HUB_VAR_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "celery", "-A", "incidents_site", "worker", "--pool=threads", "-c", "2"]
    command += ["-Q", queue, "--without-gossip", "--without-mingle", "--loglevel=INFO"]
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    yield queue
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    print((tmp_path / "worker.log").read_text()[-3000:])


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_rabbitmq_posts_the_notice_once(queue, rabbit_worker):
    from sandbox.slack.models import Message

    request = stored_report(sync_state="created", servicenow_number="INC0010007", servicenow_sys_id="b" * 32)
    # The site's own enqueue goes to the test's queue on the configured broker, which nobody here consumes.
    with transaction.atomic():
        delivery = notification_queue(request=request)
    # Published as the site publishes (publisher confirms on), to the worker's own durable queue.
    publisher = Celery(broker=RABBITMQ_URL)
    publisher.conf.broker_transport_options = {"confirm_publish": True}
    publisher.send_task("process_apis.deliver_notification", args=[delivery.work_id], queue=rabbit_worker)

    assert wait_for(lambda: NotificationDelivery.objects.get(pk=delivery.pk).state == "sent"), "not sent"
    assert Message.objects.filter(text__contains="Order 1042").count() == 1
