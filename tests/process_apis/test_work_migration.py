"""Upgrading keeps every report's and notice's background work: schedule, claim, attempts, errors and history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.migrating import migrate

BEFORE = [("process_apis", "0006_move_traced_calls_to_operations"), ("kernel", "0001_initial")]
AFTER = [("process_apis", "0007_durable_work")]


pytestmark = pytest.mark.usefixtures("latest_schema_after")


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_moves_sync_and_delivery_state_to_work():
    old = migrate(BEFORE)
    Report = old.get_model("process_apis", "IncidentRequest")
    Delivery = old.get_model("process_apis", "NotificationDelivery")
    Attempt = old.get_model("process_apis", "NotificationAttempt")
    later = timezone.now() + timedelta(minutes=5)
    common = {"channel": "web", "email": "a@example.com", "name": "A", "category": "order", "urgency": 2, "impact": 3}
    Report.objects.create(
        reference="IH-0000000001",
        trace_id="t-1",
        sync_attempts=2,
        next_sync_at=later,
        sync_claimed_at=None,
        sync_error="Could not create the ServiceNow incident: down",
        short_description="x",
        description="y",
        **common,
    )
    created = Report.objects.create(
        reference="IH-0000000002",
        sync_state="created",
        sync_attempts=1,
        sync_claimed_at=None,
        short_description="x",
        description="y",
        **common,
    )
    delivery = Delivery.objects.create(request=created, channel="#incidents", state="sent", attempts=2, slack_ts="1.2")
    Attempt.objects.create(delivery=delivery, number=1, outcome="retrying", error="HTTP 503")
    Attempt.objects.create(delivery=delivery, number=2, outcome="sent")

    new = migrate(AFTER)

    Report = new.get_model("process_apis", "IncidentRequest")
    Delivery = new.get_model("process_apis", "NotificationDelivery")
    work = Report.objects.get(reference="IH-0000000001").sync_work
    assert (work.kind, work.subject, work.trace_id, work.state, work.attempts) == (
        "servicenow_sync",
        "IH-0000000001",
        "t-1",
        "retrying",
        2,
    )
    assert (work.next_attempt_at, work.last_error) == (later, "Could not create the ServiceNow incident: down")
    assert Report.objects.get(reference="IH-0000000002").sync_work.state == "done"
    moved = Delivery.objects.get().work
    assert (moved.kind, moved.state, moved.attempts) == ("notification", "done", 2)
    assert list(moved.history.values_list("number", "outcome", "error")) == [
        (1, "retrying", "HTTP 503"),
        (2, "done", ""),
    ]
