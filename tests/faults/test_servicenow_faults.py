"""ServiceNow failing or timing out: the report is accepted at once and ends up as exactly one incident."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.models import Work
from kernel.work import work_enqueue, work_sweep
from process_apis.models import IncidentRequest, NotificationDelivery
from sandbox.servicenow.models import Incident as ServiceNowIncident
from sandbox.slack.models import Message as SlackMessage
from tests.faults.conftest import PROMPT_SECONDS, slack_fields

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])

NUMBER_TO_FOLLOW = "Accepted; the ServiceNow incident follows"


def make_due(request: IncidentRequest, *, ago: float = 0.0) -> None:
    """What Celery's countdown would do after the backoff, without sleeping through it."""
    Work.objects.filter(pk=request.sync_work_id).update(next_attempt_at=timezone.now() - timedelta(seconds=ago))


def test_servicenow_503_for_the_first_attempts_ends_in_one_incident_and_one_slack_message(hub, settings):
    """Mechanism: a failed ServiceNow create leaves the report accepted and pending, with its next attempt
    scheduled (bounded backoff) and taken up again by the sync task and the sweeper.

    Without it the report is refused or lost when ServiceNow answers 503 (no 201, or the report marked
    failed and no incident after the retries); without the backoff a retry run before it is due reaches
    ServiceNow (requests_seen grows); the incident and the Slack message must each exist exactly once.
    That a retry looks the incident up by correlation_id before creating is proven by the timeout test
    below (here it only shows in requests_seen: each retry's lookup is a request of its own).
    """
    failures = 3  # below the circuit breaker's 5 consecutive failures
    hub.set_faults("servicenow", fail_next=failures, error_status=503)

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    assert reported.seconds < PROMPT_SECONDS
    assert (reported.body["servicenow_number"], reported.body["status"]) == (None, NUMBER_TO_FOLLOW)
    reference = reported.body["reference"]
    request = IncidentRequest.objects.get(reference=reference)
    assert (request.sync_state, request.sync_work.attempts) == ("pending", 1)
    assert request.sync_work.last_error == (
        "Could not create the ServiceNow incident: Service Unavailable: The instance is temporarily unavailable"
    )
    assert request.sync_work.next_attempt_at > timezone.now() + timedelta(
        seconds=settings.SERVICENOW_RETRY_BASE / 2 - 1
    )
    assert not ServiceNowIncident.objects.exists()
    assert not NotificationDelivery.objects.exists()
    assert hub.requests_seen("servicenow") == 1

    # Not due yet: the task (as an early duplicate would run it) and the sweeper leave ServiceNow alone.
    work_enqueue(request.sync_work)
    assert "servicenow_sync" not in work_sweep()
    assert hub.requests_seen("servicenow") == 1

    for attempt in range(2, failures + 1):
        make_due(request)
        work_enqueue(request.sync_work)
        request.refresh_from_db()
        assert (request.sync_state, request.sync_work.attempts) == ("pending", attempt)
        assert request.sync_work.next_attempt_at > timezone.now()
    assert not ServiceNowIncident.objects.exists()

    make_due(request, ago=settings.SWEEPER_GRACE + 1)
    swept = work_sweep()

    assert swept["servicenow_sync"] == 1
    request.refresh_from_db()
    incident = ServiceNowIncident.objects.get()
    assert incident.correlation_id == reference
    assert (request.sync_state, request.sync_work.attempts, request.sync_work.last_error) == (
        "created",
        failures + 1,
        "",
    )
    assert (request.servicenow_number, request.servicenow_sys_id) == (incident.number, incident.sys_id)
    # attempt 1: POST (503); attempts 2 and 3: the correlation_id lookup (503); attempt 4: lookup, then POST.
    assert hub.requests_seen("servicenow") == failures + 2
    # The customer's confirmation does not wait for ServiceNow.
    assert list(request.events.values_list("kind", flat=True)) == [
        "accepted",
        "email_sent",
        "servicenow_created",
        "notification_sent",
    ]
    assert list(request.sync_work.history.values_list("outcome", flat=True)) == ["retrying"] * failures + ["done"]
    message = SlackMessage.objects.get()
    delivery = request.notifications.get()
    assert (delivery.state, delivery.work.attempts, delivery.slack_ts) == ("sent", 1, message.ts)
    assert message.blocks[0]["text"]["text"] == f"{incident.number} · P4 · Parcel never arrived"
    assert slack_fields(message.blocks)["Reference"] == reference

    status = hub.status(reference)

    assert (status["servicenow_number"], status["status"]) == (incident.number, "New")
    assert ServiceNowIncident.objects.count() == 1
    assert SlackMessage.objects.count() == 1


def test_servicenow_that_creates_then_times_out_is_adopted_by_correlation_id_not_created_twice(hub, settings):
    """Mechanism: every attempt after the first (which may have sent a create) first looks the
    incident up by correlation_id (the report's reference) and adopts what it finds.

    The stand-in makes the incident and then hangs past the client's read timeout, so the first attempt
    never learns of it. Without the lookup the retry would POST again: two incidents with that
    correlation_id, and the report linked to the second.
    """
    settings.SERVICENOW_TIMEOUT = (1.0, 1.0)
    hub.set_faults("servicenow", hang_next=1, hang_phase="after", hang_seconds=2.5)

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    assert 1.0 <= reported.seconds < PROMPT_SECONDS
    assert (reported.body["servicenow_number"], reported.body["status"]) == (None, NUMBER_TO_FOLLOW)
    reference = reported.body["reference"]
    request = IncidentRequest.objects.get(reference=reference)
    assert (request.sync_state, request.sync_work.attempts) == ("pending", 1)
    assert request.sync_work.last_error == "Could not create the ServiceNow incident: no answer within 1.0 s"
    made_while_we_waited = ServiceNowIncident.objects.get()
    assert made_while_we_waited.correlation_id == reference
    assert not NotificationDelivery.objects.exists()

    make_due(request)
    work_enqueue(request.sync_work)

    request.refresh_from_db()
    assert (request.sync_state, request.sync_work.attempts) == ("created", 2)
    assert (request.servicenow_number, request.servicenow_sys_id) == (
        made_while_we_waited.number,
        made_while_we_waited.sys_id,
    )
    assert ServiceNowIncident.objects.filter(correlation_id=reference).count() == 1
    assert ServiceNowIncident.objects.count() == 1
    assert hub.requests_seen("servicenow") == 2  # the create that hung, then the lookup: no second create
    adopted = request.events.get(kind="servicenow_adopted")
    assert adopted.detail == {
        "number": made_while_we_waited.number,
        "sys_id": made_while_we_waited.sys_id,
        "attempt": 2,
    }
    message = SlackMessage.objects.get()
    assert message.blocks[0]["text"]["text"] == f"{made_while_we_waited.number} · P4 · Parcel never arrived"
    assert request.notifications.get().state == "sent"
