"""Salesforce down: the report still gets its incident, the customer from the legacy database, marked degraded."""

import pytest

from process_apis.models import IncidentRequest
from sandbox.servicenow.models import Incident as ServiceNowIncident
from sandbox.slack.models import Message as SlackMessage
from tests.faults.conftest import PROMPT_SECONDS, slack_fields

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])


def test_salesforce_down_degrades_to_the_legacy_customer_and_the_report_goes_through(hub):
    """Mechanism: the customer lookup asks both sources and lists a failing one as unavailable instead of
    failing (customer_find), and the report records that it was made with a degraded customer.

    Without it Salesforce's 503 would fail the whole report (a 5xx, no incident, no Slack message), or the
    customer would be stored as complete (customer_degraded False, no "Salesforce unavailable" anywhere).
    """
    hub.set_faults("salesforce", error_rate=1.0, error_status=503)

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    assert reported.seconds < PROMPT_SECONDS
    body = reported.body
    assert body["customer"] == {"display_name": "Ada Lovelace", "email": "ada.lovelace@example.com", "is_new": False}
    assert body["servicenow_number"] is not None
    request = IncidentRequest.objects.get(reference=body["reference"])
    assert request.customer_degraded is True
    customer = request.customer
    assert (customer["found_in"], customer["unavailable"]) == (["legacy_db"], ["salesforce"])
    assert (customer["first_name"], customer["last_name"], customer["phone"]) == ("Ada", "Lovelace", "+442079460001")
    assert (customer["legacy_customer_number"], customer["salesforce_contact_id"]) == ("0000100001", None)
    assert set(customer["source_errors"]) == {"salesforce"}
    assert request.events.get(kind="accepted").detail["customer_sources_unavailable"] == ["salesforce"]
    assert hub.requests_seen("salesforce") == 1  # the token request failed: no query was tried without one

    incident = ServiceNowIncident.objects.get()
    assert (incident.correlation_id, incident.number) == (request.reference, body["servicenow_number"])
    assert "Reported by Ada Lovelace <ada.lovelace@example.com>" in incident.fields["description"]
    message = SlackMessage.objects.get()
    fields = slack_fields(message.blocks)
    assert fields["Known in"] == "legacy DB (Salesforce unavailable)"
    assert fields["Customer"] == "Ada Lovelace (ada.lovelace@example.com)"
    assert request.notifications.get().state == "sent"
