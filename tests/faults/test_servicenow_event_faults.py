"""Events back from ServiceNow, end to end over real HTTP: the sandbox's ServiceNow pushes each change of an
incident to Incident Hub's events endpoint as a business rule would (a token from /o/token/, then a POST), with
its pushes dropped, duplicated or reordered by the fault knobs; the poll catches up what never came, and every
listener acts once per change.

The sandbox's push runs beside the test's own writes: PostgreSQL only (the services tier of .ci/run).
"""

import pytest
import requests
from django.core import mail
from django.db import connection

from experience_apis.clients.scopes import EVENTS
from experience_apis.clients.services import api_client_create
from process_apis.incident_events.services import incident_events_poll
from process_apis.models import IncidentEvent, IncidentRequest, NotificationDelivery
from sandbox.servicenow import events
from sandbox.servicenow.models import Incident as ServiceNowIncident
from sandbox.slack.models import Message as SlackMessage
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])


@pytest.fixture
def pushes(hub, settings):
    """The sandbox's ServiceNow posts every change of our incidents to the live Incident Hub, as its own events
    client; the poll is left to the test."""
    if connection.vendor != "postgresql":
        pytest.skip("the sandbox's push and the test's writes overlap: PostgreSQL (the services tier of .ci/run)")
    client, secret = api_client_create(name="sandbox-servicenow", scopes=[EVENTS])
    settings.SANDBOX_SERVICENOW_EVENT_URL = f"{hub.url}/api/events/servicenow/v1/incidents"
    settings.SANDBOX_SERVICENOW_EVENT_CLIENT_ID = client.client_id
    settings.SANDBOX_SERVICENOW_EVENT_CLIENT_SECRET = secret
    events.sender.reset()
    yield hub
    assert events.sender.wait_idle()
    events.sender.reset()


def reported(hub) -> IncidentRequest:
    """A report over REST whose incident's insert has been pushed back (and applied) already."""
    reference = hub.report().body["reference"]
    assert events.sender.wait_idle()
    return IncidentRequest.objects.get(reference=reference)


def move(hub, request: IncidentRequest, action: str, **fields: str) -> None:
    """The support team moves the incident on the sandbox's page."""
    sys_id = ServiceNowIncident.objects.get(correlation_id=request.reference).sys_id
    moved = requests.post(
        f"{hub.url}/sandbox/_sandbox/servicenow/incidents/{sys_id}",
        data={"action": action, **fields},
        allow_redirects=False,
        timeout=10,
    )
    assert moved.status_code == 302, moved.text


def resolve(hub, request: IncidentRequest) -> None:
    move(hub, request, "resolve", close_code="Solution provided", close_notes="Refunded the second charge.")


def resolved(request: IncidentRequest) -> bool:
    return IncidentRequest.objects.get(pk=request.pk).servicenow_state == 6


def changes(request: IncidentRequest) -> list[dict]:
    return [event.detail for event in IncidentEvent.objects.filter(request=request, kind="servicenow_changed")]


def thread_replies(request: IncidentRequest) -> list[SlackMessage]:
    first = NotificationDelivery.objects.get(request=request, kind=NotificationDelivery.NEW_INCIDENT)
    return list(SlackMessage.objects.filter(thread_ts=first.slack_ts).exclude(ts=first.slack_ts))


def resolution_mails(request: IncidentRequest) -> list:
    return [sent for sent in mail.outbox if sent.subject == f"Your report {request.reference} is resolved"]


def test_a_change_pushed_reaches_the_report_and_every_listener_once(pushes):
    request = reported(pushes)

    resolve(pushes, request)

    assert events.sender.wait_idle()
    assert wait_for(lambda: resolved(request), timeout=20)
    [change] = changes(request)
    assert (change["path"], change["by"], change["changes"]["state"]) == (
        "push",
        "admin",
        {"from": "New", "to": "Resolved"},
    )
    assert events.sender.history()[0].outcome == "HTTP 202"
    assert wait_for(lambda: len(thread_replies(request)) == 1 and len(resolution_mails(request)) == 1)


def test_a_dropped_push_is_caught_up_by_the_next_poll(pushes):
    request = reported(pushes)
    pushes.set_faults("servicenow", drop_events_next=1)

    resolve(pushes, request)
    assert events.sender.wait_idle()
    assert events.sender.history()[0].outcome != "HTTP 202"
    assert not resolved(request), "the push never came"

    assert incident_events_poll() == 1

    assert resolved(request)
    assert [change["path"] for change in changes(request)] == ["pull"]
    assert (len(thread_replies(request)), len(resolution_mails(request))) == (1, 1)
    assert incident_events_poll() == 0, "a second poll finds nothing new"


def test_pushes_duplicated_and_out_of_order_make_one_change_one_reply_and_one_mail(pushes):
    request = reported(pushes)
    pushes.set_faults("servicenow", duplicate_events_next=2, reorder_events_next=1)

    move(pushes, request, "in_progress")
    resolve(pushes, request)

    assert events.sender.wait_idle()
    assert wait_for(lambda: resolved(request), timeout=20)
    assert incident_events_poll() == 0, "nothing was missed"
    # The in-progress change came after the resolution it preceded: older, so ignored; each push came twice.
    assert [change["changes"]["state"]["to"] for change in changes(request)] == ["Resolved"]
    assert (len(thread_replies(request)), len(resolution_mails(request))) == (1, 1)
