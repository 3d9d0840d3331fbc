import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.models import Work
from kernel.work import work_run, work_sweep
from process_apis.customer_incidents.services import incident_report
from tests.reports import TEST_CONSUMER, stored_report
from tests.vendors import SLACK_POST, SN_INCIDENTS

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REPORT = {
    "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace",
    "category": "order",
    "urgency": 2,
    "short_description": "Parcel never arrived",
    "description": "Order 1042",
}
LONG_AGO = timezone.now() - timedelta(hours=1)


@pytest.fixture
def created_but_never_announced(vendors, legacy_customers, django_capture_on_commit_callbacks):
    """A report whose notification was recorded but never reached the broker (it was down)."""
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    with django_capture_on_commit_callbacks(execute=False):
        request = incident_report(**REPORT, consumer=TEST_CONSUMER)
    Work.objects.filter(kind="notification").update(updated_at=LONG_AGO)
    return request


def test_the_sweeper_sends_a_notification_the_broker_never_got_exactly_once(vendors, created_but_never_announced):
    vendors.slack_accepts()

    first = work_sweep()
    second = work_sweep()

    assert first == {"notification": 1}
    assert second == {}
    assert created_but_never_announced.notifications.get().state == "sent"
    assert len(vendors.calls_to(SLACK_POST)) == 1


def test_fresh_work_is_left_to_the_normal_path(vendors, created_but_never_announced):
    Work.objects.filter(kind="notification").update(updated_at=timezone.now())

    assert work_sweep() == {}
    assert vendors.calls_to(SLACK_POST) == []


def test_a_delivery_claimed_by_a_worker_that_died_is_taken_over_after_the_lease(
    vendors, created_but_never_announced, settings
):
    vendors.slack_accepts()
    Work.objects.filter(kind="notification").update(state="running", claimed_at=timezone.now(), attempts=1)

    assert "notification" not in work_sweep()
    Work.objects.filter(kind="notification").update(
        claimed_at=timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE + 1)
    )
    assert work_sweep()["notification"] == 1

    delivery = created_but_never_announced.notifications.get()
    assert (delivery.state, delivery.work.attempts) == ("sent", 2)
    assert len(vendors.calls_to(SLACK_POST)) == 1


def test_a_delivery_being_sent_is_not_sent_a_second_time_by_a_duplicate_task(vendors, created_but_never_announced):
    vendors.slack_accepts()
    delivery = created_but_never_announced.notifications.get()
    Work.objects.filter(pk=delivery.work_id).update(state="running", claimed_at=timezone.now())

    assert work_run(work_id=delivery.work_id) is None
    assert vendors.calls_to(SLACK_POST) == []


def test_the_sweeper_retries_a_servicenow_create_that_is_due(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)
    with django_capture_on_commit_callbacks(execute=False):
        request = incident_report(**REPORT, consumer=TEST_CONSUMER)
    Work.objects.filter(pk=request.sync_work_id).update(next_attempt_at=LONG_AGO)
    vendors.mock.add("GET", SN_INCIDENTS, json={"result": []})
    vendors.servicenow_creates("INC0010005")
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        swept = work_sweep()

    request.refresh_from_db()
    assert swept["servicenow_sync"] == 1
    assert (request.sync_state, request.servicenow_number, request.sync_work.attempts) == ("created", "INC0010005", 2)
    assert len(vendors.calls_to(SLACK_POST)) == 1


def test_a_report_whose_web_request_died_before_servicenow_is_picked_up_after_the_lease(
    vendors, legacy_customers, settings
):
    stuck = stored_report()
    assert stuck.sync_work.claimed_at is not None  # claimed by its creator from the start
    assert "servicenow_sync" not in work_sweep()

    expired = timezone.now() - timedelta(seconds=settings.SERVICENOW_SYNC_LEASE + 1)
    Work.objects.filter(pk=stuck.sync_work_id).update(claimed_at=expired, updated_at=expired)
    # The request may have died after its create reached ServiceNow: the next attempt looks first.
    vendors.mock.add("GET", SN_INCIDENTS, json={"result": []})
    vendors.servicenow_creates("INC0010006")

    assert work_sweep()["servicenow_sync"] == 1
    stuck.refresh_from_db()
    assert stuck.servicenow_number == "INC0010006"
    assert [call.request.method for call in vendors.mock.calls if call.request.url.startswith(SN_INCIDENTS)] == [
        "GET",
        "POST",
    ]


def test_a_delivery_held_back_to_pace_the_channel_waits_for_its_slot_without_using_an_attempt(
    vendors, created_but_never_announced, settings
):
    from kernel.models import WorkAttempt
    from operations.models import TracedCall
    from system_apis.slack.pacing import channel_slot_wait

    vendors.slack_accepts()
    settings.SLACK_POSTS_PER_SECOND = 1
    delivery = created_but_never_announced.notifications.get()
    now = time.time()
    for second in (now, now + 1):  # taken in this second and the next, so a second rolling over changes nothing
        for _ in range(3):
            channel_slot_wait(delivery.channel, per_second=1, now=second)

    work = work_run(work_id=delivery.work_id)

    delivery.refresh_from_db()
    wait = (work.next_attempt_at - timezone.now()).total_seconds()
    assert 1.0 < wait <= 3.0
    assert (delivery.state, delivery.work.attempts, delivery.work.claimed_at) == ("pending", 0, None)
    assert delivery.work.next_attempt_at > timezone.now()
    assert vendors.calls_to(SLACK_POST) == [] and not WorkAttempt.objects.filter(work=delivery.work).exists()
    assert "notification" not in work_sweep(), "not due before its slot"
    assert TracedCall.objects.get(operation="deliver").ok, "held back on purpose is not a failure"
