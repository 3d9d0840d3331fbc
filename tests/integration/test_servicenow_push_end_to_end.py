"""The push, end to end over real HTTP: the sandbox's ServiceNow gets a token from Incident Hub's /o/token/ and posts
each change of an incident to the events endpoint, as a business rule would, and the report learns it."""

from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from experience_apis.clients.scopes import EVENTS
from experience_apis.clients.services import api_client_create
from process_apis.customer_incidents.services import incident_report
from process_apis.models import IncidentEvent, IncidentRequest
from sandbox.servicenow import events
from sandbox.servicenow.models import Incident as ServiceNowIncident
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])


@pytest.fixture
def hub_and_sandbox(live_server, settings):
    """One live server for Incident Hub and, under /sandbox/, the vendors; the sandbox pushes to Incident Hub."""
    if connection.vendor != "postgresql":
        pytest.skip("the sandbox's push and the test's writes overlap: PostgreSQL (the services tier of .ci/run)")
    settings.ROOT_URLCONF = "tests.urls_with_sandbox"
    settings.SERVICENOW_BASE_URL = f"{live_server.url}/sandbox/servicenow"
    settings.SALESFORCE_BASE_URL = f"{live_server.url}/sandbox/salesforce"
    settings.SLACK_API_URL = f"{live_server.url}/sandbox/slack/api/"
    call_command("seed_sandbox", stdout=StringIO())
    call_command("seed_legacy_customers", stdout=StringIO())
    client, secret = api_client_create(name="sandbox-servicenow", scopes=[EVENTS])
    settings.SANDBOX_SERVICENOW_EVENT_URL = f"{live_server.url}/api/events/servicenow/v1/incidents"
    settings.SANDBOX_SERVICENOW_EVENT_CLIENT_ID = client.client_id
    settings.SANDBOX_SERVICENOW_EVENT_CLIENT_SECRET = secret
    events.sender.reset()
    yield live_server.url
    assert events.sender.wait_idle()
    events.sender.reset()


def test_an_incident_resolved_in_servicenow_reaches_the_report_by_push(hub_and_sandbox):
    request = incident_report(
        email="grace.hopper@example.com",
        name="Grace Hopper",
        category="payment",
        urgency=1,
        short_description="Card charged twice",
        description="The bank shows two charges.",
    )
    sys_id = ServiceNowIncident.objects.get(correlation_id=request.reference).sys_id

    moved = requests.post(
        f"{hub_and_sandbox}/sandbox/_sandbox/servicenow/incidents/{sys_id}",
        data={"action": "resolve", "close_code": "Solution provided", "close_notes": "Refunded the second charge."},
        allow_redirects=False,
        timeout=10,
    )

    assert moved.status_code == 302
    assert events.sender.wait_idle()
    assert wait_for(lambda: IncidentRequest.objects.get(pk=request.pk).servicenow_state == 6, timeout=20)
    request.refresh_from_db()
    assert (request.servicenow_close_code, request.servicenow_close_notes) == (
        "Solution provided",
        "Refunded the second charge.",
    )
    [change] = IncidentEvent.objects.filter(request=request, kind="servicenow_changed")
    assert (change.detail["path"], change.detail["by"], change.detail["changes"]["state"]) == (
        "push",
        "admin",
        {"from": "New", "to": "Resolved"},
    )
    assert [call.outcome for call in events.sender.history()][-1] == "HTTP 202"
