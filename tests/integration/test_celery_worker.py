"""A real Celery worker process on real Redis and PostgreSQL: the Slack message arrives after commit.

Runs in the services tier of .ci/run (DATABASE_URL on PostgreSQL and REDIS_URL set); a worker cannot
share the in-memory SQLite test database, so on the embedded defaults it is skipped.
"""

import json
import os
import time

import pytest
from django.conf import settings
from django.db import transaction

from process_apis.models import NotificationDelivery
from process_apis.notifications.services import notification_queue
from tests.integration.conftest import celery_worker
from tests.reports import stored_report
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
        reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): run by .ci/run's services tier",
    ),
]


@pytest.fixture
def worker(queue, live_server, settings, tmp_path):
    settings.ROOT_URLCONF = "tests.urls_with_sandbox"
    with celery_worker(queue, live_server.url, tmp_path) as process:
        yield process


@pytest.mark.django_db(transaction=True)
def test_the_worker_posts_the_slack_message_only_after_the_commit(worker):
    from sandbox.slack.models import Message

    request = stored_report(
        sync_state="created",
        servicenow_number="INC0010001",
        servicenow_priority=4,
        servicenow_state=1,
        servicenow_state_label="New",
        servicenow_sys_id="a" * 32,
        servicenow_url="https://sn.example/incident",
    )

    with transaction.atomic():
        delivery = notification_queue(request=request)
        time.sleep(2)  # the worker is up and waiting; nothing may reach it before the commit
        assert not Message.objects.exists()
        assert worker.poll() is None, "the worker died"

    assert wait_for(lambda: Message.objects.filter(text__contains="Order 1042").exists()), "no Slack message"
    assert wait_for(lambda: NotificationDelivery.objects.get(pk=delivery.pk).state == "sent")
    delivery.refresh_from_db()
    message = Message.objects.get()
    assert (delivery.slack_ts, delivery.slack_channel_id, delivery.work.attempts) == (message.ts, message.channel_id, 1)
    assert message.blocks[0]["text"]["text"] == "INC0010001 · P4 · Parcel never arrived"
    assert settings.SANDBOX_SLACK_CHANNELS["incidents"] == message.channel_id


@pytest.mark.django_db(transaction=True)
def test_the_correlation_id_and_trace_context_cross_the_hop_to_the_worker(worker, tmp_path):
    from kernel import tracing
    from operations.models import TracedCall

    request = stored_report(
        reference="IH-TRACEH0P01",
        consumer="incidents_v1",
        trace_id="",  # not on the record: what the worker knows of the flow came with the task
        sync_state="created",
        servicenow_number="INC0010002",
    )

    with tracing.traced("experience", "incidents_v1", "POST v1-incidents") as span, tracing.correlation("hop-4712"):
        with transaction.atomic():
            delivery = notification_queue(request=request)
    publishing_trace = f"{span.get_span_context().trace_id:032x}"

    assert wait_for(lambda: NotificationDelivery.objects.get(pk=delivery.pk).state == "sent")
    assert wait_for(lambda: TracedCall.objects.filter(api="slack").exists())
    slack_call = TracedCall.objects.get(api="slack")
    assert (slack_call.trace_id, slack_call.correlation_id, slack_call.reference) == (
        publishing_trace,
        "hop-4712",
        "IH-TRACEH0P01",
    )
    hop = TracedCall.objects.get(api="celery", operation="process_apis.deliver_notification")
    deliver = TracedCall.objects.get(api="notifications", operation="deliver")
    assert (hop.layer, hop.reference, deliver.parent_span_id) == ("process", "IH-TRACEH0P01", hop.span_id)
    worker_events = [
        json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines() if line.startswith("{")
    ]
    sent = [e for e in worker_events if e.get("system") == "slack"]
    assert [(e["correlation_id"], e["trace_id"]) for e in sent] == [("hop-4712", publishing_trace)]
