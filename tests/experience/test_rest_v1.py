import base64

import pytest
from django.core.management import call_command
from django.test import Client

from experience_apis.clients.services import api_client_create, api_client_set_active
from experience_apis.models import ApiClient
from process_apis.models import IncidentRequest
from tests.reports import KATHERINE_REPORT as REPORT
from tests.reports import servicenow_moved, stored_report
from tests.vendors import SLACK_POST, SN_INCIDENTS

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])


def token_for(client: Client, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def api(client):
    """A Django test client that talks as a freshly made API client, with a real token."""
    api_client, secret = api_client_create(name="partner-app")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, api_client.client_id, secret)}"
    client.api_client = api_client
    return client


def report(api, django_capture_on_commit_callbacks, body=None, **headers):
    with django_capture_on_commit_callbacks(execute=True):
        return api.post("/api/v1/incidents", body or REPORT, content_type="application/json", **headers)


def test_a_client_reports_an_incident_and_gets_reference_number_status_and_customer(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010009")
    vendors.slack_accepts()

    response = report(api, django_capture_on_commit_callbacks, HTTP_X_CORRELATION_ID="partner-trace-1")

    assert response.status_code == 201
    body = response.json()
    assert body["servicenow_number"] == "INC0010009"
    assert body["status"] == "New"
    assert body["customer"] == {
        "display_name": "katherine.johnson@example.com",
        "email": "katherine.johnson@example.com",
        "is_new": True,
    }
    assert response["Location"] == f"/api/v1/incidents/{body['reference']}"
    assert response["X-Correlation-ID"] == "partner-trace-1"
    stored = IncidentRequest.objects.get()
    assert (stored.consumer, stored.api_client_id, stored.trace_id) == (
        "incidents_v1",
        api.api_client.client_id,
        "partner-trace-1",
    )
    assert vendors.created[0]["correlation_id"] == body["reference"], "the reference, never the caller's trace id"
    assert len(vendors.calls_to(SLACK_POST)) == 1


def test_bad_input_gets_per_field_errors_and_nothing_is_stored_or_sent(api, vendors):
    response = api.post(
        "/api/v1/incidents",
        {**REPORT, "email": "not-an-email", "urgency": "9", "colour": "red"},
        content_type="application/json",
    )

    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]
    assert set(fields) == {"email", "urgency"}
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_unknown_fields_are_refused_by_name(api, vendors):
    response = api.post("/api/v1/incidents", {**REPORT, "colour": "red"}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {"colour": ["Unknown field."]}


def test_servicenow_down_still_accepts_the_report_with_the_number_to_follow(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)

    response = report(api, django_capture_on_commit_callbacks)

    assert response.status_code == 201
    assert response.json()["servicenow_number"] is None
    assert response.json()["status"] == "Accepted; the ServiceNow incident follows"


def test_a_report_that_cannot_be_stored_is_a_clear_503(api, vendors, legacy_customers, monkeypatch):
    from django.db import DatabaseError

    vendors.salesforce_knows()

    def disk_full(*args, **kwargs):
        raise DatabaseError("full")

    monkeypatch.setattr("process_apis.customer_incidents.services.work_create_for", disk_full)

    response = api.post("/api/v1/incidents", REPORT, content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["message"].startswith("Incident Hub cannot store reports right now")


def test_get_answers_the_state_servicenow_last_told_with_its_time_and_never_calls_servicenow(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    reference = report(api, django_capture_on_commit_callbacks).json()["reference"]
    before = api.get(f"/api/v1/incidents/{reference}").json()
    servicenow_moved(
        IncidentRequest.objects.get(reference=reference),
        6,
        close_code="Solution provided",
        close_notes="Parcel re-sent.",
    )
    calls = len(vendors.calls_to(SN_INCIDENTS))

    response = api.get(f"/api/v1/incidents/{reference.lower()}")

    assert response.status_code == 200
    assert (before["status"], before["state_as_of"], before["resolution_notes"]) == (
        "New",
        "2026-11-22T10:00:00Z",
        None,
    )
    after = response.json()
    assert (after["status"], after["state_as_of"]) == ("Resolved", "2026-12-01T10:00:05Z")
    assert (after["resolution_code"], after["resolution_notes"]) == ("Solution provided", "Parcel re-sent.")
    assert len(vendors.calls_to(SN_INCIDENTS)) == calls, "a read answers from the stored state"


def test_list_is_paginated_and_holds_only_the_clients_own_reports(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    mine = [report(api, django_capture_on_commit_callbacks).json()["reference"] for _ in range(3)]
    stored_report(consumer="incidents_v1", api_client_id="someone-else", short_description="Not yours")

    first = api.get("/api/v1/incidents", {"page_size": 2}).json()
    second = api.get("/api/v1/incidents", {"page_size": 2, "page": 2}).json()

    assert first["count"] == 3
    assert [r["reference"] for r in first["results"] + second["results"]] == list(reversed(mine))
    assert api.get("/api/v1/incidents/IH-0THER00000").status_code == 404


def test_no_token_or_a_bad_token_is_a_json_401(client):
    missing = client.get("/api/v1/incidents")
    wrong = client.get("/api/v1/incidents", HTTP_AUTHORIZATION="Bearer not-a-token")

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert "message" in response.json()
    assert missing["WWW-Authenticate"].startswith("Bearer")


def test_wrong_client_secret_gets_no_token(client):
    api_client, _ = api_client_create(name="app")
    basic = base64.b64encode(f"{api_client.client_id}:wrong".encode()).decode()

    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_disabling_a_client_revokes_its_tokens_at_once(api):
    assert api.get("/api/v1/incidents").status_code == 200

    api_client_set_active(client=api.api_client, active=False)

    assert api.get("/api/v1/incidents").status_code == 401


def test_staff_sessions_are_not_api_clients(admin_client):
    assert admin_client.get("/api/v1/incidents").status_code == 401


def test_create_api_client_prints_id_and_a_secret_that_works(client, capsys):
    call_command("create_api_client", "mobile-app", "--tier", "silver")

    out = dict(line.split("=", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert ApiClient.objects.get(application__client_id=out["client_id"]).tier == "silver"
    assert token_for(client, out["client_id"], out["client_secret"])


@pytest.mark.parametrize(
    "failure",
    [
        "couldn't get a connection after 10.00 sec",  # psycopg_pool's PoolTimeout, as Django wraps it
        "connection to server at 127.0.0.1, port 5432 failed: Connection refused",
    ],
)
def test_a_database_that_cannot_be_reached_is_a_503_to_retry_not_an_internal_error(api, monkeypatch, failure, caplog):
    from django.db import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError(failure)

    # The first thing a request reads: the bearer token.
    monkeypatch.setattr("experience_apis.clients.oauth.ApiClientOAuth2Validator._load_access_token", unreachable)

    response = api.post("/api/v1/incidents", REPORT, content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == {
        "message": "Incident Hub cannot reach its database right now; please try again shortly.",
        "extra": {"code": "database_unavailable"},
    }
    [logged] = [record for record in caplog.records if record.name == "incidents_site.api"]
    assert logged.getMessage() == f"database unavailable in IncidentListCreateApi: {failure}"
    assert logged.exc_info is None
    assert not IncidentRequest.objects.exists()
