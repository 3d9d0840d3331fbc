"""Log events: JSON, one a line, each with the flow's correlation id; no secrets and no customer text."""

import base64
import io
import json
import logging
import re

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from experience_apis.clients.services import api_client_create
from incidents_site.log_format import FlowContextFilter
from tests.vendors import SLACK_POST

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REPORT = {
    "email": "dorothy.vaughan@example.com",
    "name": "Dorothy Vaughan",
    "order_number": "ORD-5512",
    "category": "payment",
    "urgency": "1",
    "short_description": "Card charged twice",
    "description": "My card was charged twice for order ORD-5512 <!channel>.",
}


@pytest.fixture
def log_lines():
    """What the site's console handler would print, as parsed JSON events."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    json_format = settings.LOGGING["formatters"]["json"]
    handler.setFormatter(JsonFormatter(json_format["fmt"], rename_fields=json_format["rename_fields"]))
    handler.addFilter(FlowContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def our_events(events: list[dict]) -> list[dict]:
    return [e for e in events if e["logger"].split(".")[0] in {"incidents_site", "process_apis", "system_apis"}]


def assert_flow_followed(events: list[dict], correlation_id: str, vendors) -> None:
    """Every event of the flow, the ServiceNow incident and the Slack message carry the correlation id."""
    ours = our_events(events)
    assert {e["correlation_id"] for e in ours} == {correlation_id}
    assert all(len(e["trace_id"]) == 32 for e in ours), "each event names its OpenTelemetry trace"
    calls = {(e["system"], e["operation"]): e for e in ours if e.get("layer") == "system"}
    assert set(calls) == {
        ("legacy_db", "find_by_email"),
        ("salesforce", "oauth_token"),
        ("salesforce", "find_contacts_by_email"),
        ("servicenow", "create_incident"),
        ("slack", "post_message"),
        ("email", "send"),
    }
    assert calls[("servicenow", "create_incident")]["outcome"] == 201
    assert all(isinstance(e["duration_ms"], float) for e in calls.values())
    assert f"Trace id: {correlation_id}" in vendors.created[0]["description"]
    assert f"trace {correlation_id}" in vendors.calls_to(SLACK_POST)[0].request.body.decode()


def assert_no_secret_or_customer_text(events: list[dict], *also: str) -> None:
    printed = json.dumps(events)
    for secret_or_customer_text in (
        REPORT["email"],
        REPORT["name"],
        REPORT["order_number"],
        REPORT["short_description"],
        "charged twice",
        settings.SERVICENOW_PASSWORD,
        settings.SALESFORCE_CLIENT_SECRET,
        settings.SLACK_BOT_TOKEN,
        *also,
    ):
        assert secret_or_customer_text not in printed


def test_a_reports_log_events_carry_its_correlation_id_and_no_secret_or_customer_text(
    client, vendors, legacy_customers, log_lines, django_capture_on_commit_callbacks
):
    api_client, secret = api_client_create(name="log-test-app")
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    token = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    bearer = token.json()["access_token"]
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010077")
    vendors.slack_accepts()
    already_logged = len(log_lines())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/incidents",
            REPORT,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {bearer}",
            HTTP_X_CORRELATION_ID="checkout-4711",
        )

    assert response.status_code == 201
    assert response["X-Correlation-ID"] == "checkout-4711"
    events = log_lines()[already_logged:]
    assert_flow_followed(events, "checkout-4711", vendors)
    access = [e for e in our_events(events) if e["logger"] == "incidents_site.access"]
    assert [(e["route"], e["status"], e["api"]) for e in access] == [("/api/v1/incidents", 201, "incidents_v1")]
    assert_no_secret_or_customer_text(events, bearer, secret)


def test_a_form_submission_can_be_followed_by_the_correlation_id_it_is_answered_with(
    client, vendors, legacy_customers, log_lines, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010078")
    vendors.slack_accepts()
    token = re.search(r'name="report_token" value="([^"]+)"', client.get("/").content.decode()).group(1)
    already_logged = len(log_lines())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/", {**REPORT, "report_token": token})

    assert response.status_code == 302
    correlation_id = response["X-Correlation-ID"]
    events = log_lines()[already_logged:]
    assert_flow_followed(events, correlation_id, vendors)
    access = [e for e in our_events(events) if e["logger"] == "incidents_site.access"]
    assert [(e["route"], e["status"], e["api"]) for e in access] == [("/", 302, "incident_form")]
    assert_no_secret_or_customer_text(events)


def test_django_request_warnings_carry_the_correlation_id_too(client, log_lines):
    client.post("/api/v1/incidents", {}, content_type="application/json", HTTP_X_CORRELATION_ID="bad-call-1")

    warnings = [e for e in log_lines() if e["logger"] == "django.request"]
    assert warnings and {e["correlation_id"] for e in warnings} == {"bad-call-1"}


def test_django_names_a_request_by_its_route_never_its_path_or_query(client, log_lines):
    client.get("/api/v1/incidents/IH-SECRETREF1", {"access_token": "tok-123", "email": "leak@example.com"})
    client.get("/no/such/page", {"email": "leak@example.com"})

    events = log_lines()
    warnings = [e for e in events if e["logger"] == "django.request"]
    access = [e["route"] for e in events if e["logger"] == "incidents_site.access"]
    printed = json.dumps(events)
    assert [e["request"] for e in warnings] == ["GET /api/v1/incidents/<str:reference>", "GET /no/such/page"]
    assert access == ["/api/v1/incidents/<str:reference>", "/no/such/page"]
    assert warnings[0]["message"] == "Unauthorized: /api/v1/incidents/<str:reference>"
    for leak in ("tok-123", "leak@example.com", "IH-SECRETREF1", "WSGIRequest"):
        assert leak not in printed


def test_the_development_servers_request_lines_lose_their_query(log_lines):
    logging.getLogger("django.server").info(
        '"%s" %s %s',
        "GET /api/v1/incidents?access_token=tok-123&email=leak@example.com HTTP/1.1",
        "401",
        "120",
        extra={"request": object(), "status_code": 401},
    )

    [event] = [e for e in log_lines() if e["logger"] == "django.server"]
    assert event["message"] == '"GET /api/v1/incidents HTTP/1.1" 401 120'
