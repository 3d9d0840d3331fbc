"""What many tests need around a report: what a customer types, the form's one-time token, a stored report."""

import re
from datetime import UTC, datetime

from django.test import Client

from kernel.work import work_create
from process_apis.customer_incidents.references import new_reference
from process_apis.customer_incidents.services import SERVICENOW_SYNC
from process_apis.customer_incidents.types import Consumer
from process_apis.incident_events.services import incident_change_apply
from process_apis.models import IncidentRequest
from system_apis.servicenow.types import IncidentChange, IncidentState

# The report form's fields as a browser posts them (every value text).
ADA_FORM = {
    "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace",
    "order_number": "1042",
    "category": "order",
    "urgency": "2",
    "short_description": "Parcel never arrived",
    "description": "Ordered on the 3rd, still nothing.",
}
# Who brings the tests' reports in, as a consumer names itself to the Process APIs.
TEST_CONSUMER = Consumer(name="tests", label="Test suite")
# The same report as the Process layer takes it (urgency a number).
ADA_REPORT = {**ADA_FORM, "urgency": 2}
# A report as a REST client sends it to /api/v1/incidents.
KATHERINE_REPORT = {
    "email": "katherine.johnson@example.com",
    "name": "Katherine Johnson",
    "category": "website",
    "urgency": "1",
    "short_description": "Checkout page is blank",
    "description": "Since this morning the checkout shows nothing.",
}
_REPORT_TOKEN = re.compile(r'name="report_token" value="([^"]+)"')


def form_token(client: Client) -> str:
    """The one-time token of a freshly rendered report form, as the browser `client` gets it."""
    return _REPORT_TOKEN.search(client.get("/").content.decode()).group(1)


def stored_report(**fields: object) -> IncidentRequest:
    """A report as the Process layer stores it before calling any system; `fields` override the defaults."""
    values = {
        "reference": new_reference(),
        "consumer": "incident_form",
        "consumer_label": "Web form",
        "contact_type": "web",
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
        "category": "order",
        "urgency": 2,
        "impact": 3,
        "short_description": "Parcel never arrived",
        "description": "Order 1042",
        **fields,
    }
    work = work_create(kind=SERVICENOW_SYNC, subject=values["reference"], claimed=True)
    return IncidentRequest.objects.create(sync_work=work, **values)


STATE_CHANGED_AT = datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)


def servicenow_moved(request: IncidentRequest, state: int, *, mod_count: int = 1, **resolution: str) -> None:
    """ServiceNow's event that `request`'s incident moved to `state` at STATE_CHANGED_AT, applied as a poll would
    (`resolution`: close_code, close_notes)."""
    change = IncidentChange(
        sys_id=request.servicenow_sys_id,
        mod_count=mod_count,
        state=IncidentState(state),
        updated_at=STATE_CHANGED_AT,
        correlation_id=request.reference,
        **resolution,
    )
    assert incident_change_apply(change=change, path="pull")
