"""The `events` scope: a client made for ServiceNow's pushes gets it alone, and nothing else with it."""

import base64
import io

import pytest
from django.core.management import call_command

from experience_apis.clients.services import api_client_create
from experience_apis.models import ApiClient
from kernel.errors import ApplicationError
from tests.experience.test_rest_v1 import token_for
from tests.reports import KATHERINE_REPORT

pytestmark = pytest.mark.django_db


@pytest.fixture
def servicenow(client):
    made, secret = api_client_create(name="servicenow-prod", scopes=["events"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, made.client_id, secret)}"
    return client


def test_an_events_client_cannot_report_or_read_incidents_nor_the_internal_apis(servicenow):
    assert servicenow.post("/api/v1/incidents", KATHERINE_REPORT, content_type="application/json").status_code == 403
    assert servicenow.get("/api/v1/incidents").status_code == 403
    assert servicenow.get("/api/process/notifications/v1/deliveries").status_code == 403


def test_create_api_client_with_scope_events_makes_a_client_whose_tokens_carry_events_alone(client):
    out = io.StringIO()
    call_command("create_api_client", "servicenow-prod", "--scope", "events", stdout=out)

    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    assert set(lines) == {"client_id", "client_secret"}
    assert ApiClient.objects.get(application__client_id=lines["client_id"]).scopes == "events"
    basic = base64.b64encode(f"{lines['client_id']}:{lines['client_secret']}".encode()).decode()
    answer = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert answer.json()["scope"] == "events"
    asked_more = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "events incidents"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert asked_more.status_code == 400
    assert asked_more.json()["error"] == "invalid_scope"


def test_create_api_client_still_makes_an_incidents_client_by_default():
    out = io.StringIO()
    call_command("create_api_client", "partner-app", stdout=out)

    assert ApiClient.objects.get().scopes == "incidents"


def test_the_client_may_send_its_credentials_in_the_form_as_servicenow_can(client):
    made, secret = api_client_create(name="servicenow-prod", scopes=["events"])

    answer = client.post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": made.client_id, "client_secret": secret}
    )

    assert answer.status_code == 200
    assert answer.json()["scope"] == "events"


@pytest.mark.parametrize("scopes", [[], ["admin"], ["events", "internal"]])
def test_a_client_is_made_only_with_scopes_a_client_may_be_given(scopes):
    with pytest.raises(ApplicationError, match="Scopes are some of: incidents, events"):
        api_client_create(name="odd", scopes=scopes)
