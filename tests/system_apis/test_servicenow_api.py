import json

import pytest
import requests
import responses
from responses import matchers

from tests.conftest import load_fixture

pytestmark = pytest.mark.django_db

INSTANCE = "https://acme.service-now.com"
INCIDENTS = f"{INSTANCE}/api/now/table/incident"
SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"
API = "/api/system/servicenow/v1/incidents"

INCIDENT_OUT = {
    "sys_id": SYS_ID,
    "number": "INC0010042",
    "state": 1,
    "state_label": "New",
    "impact": 2,
    "urgency": 1,
    "priority": 2,
    "short_description": "Order 1042 never arrived",
    "description": "Paid on 3 November, tracking shows nothing since.",
    "correlation_id": "IH-7K2M9QX4TB",
    "category": "inquiry",
    "opened_at": "2026-11-22T09:15:02Z",
    "updated_at": "2026-11-22T09:15:02Z",
    "url": f"{INSTANCE}/nav_to.do?uri=incident.do?sys_id={SYS_ID}",
}
VALID_INPUT = {
    "short_description": "Order 1042 never arrived",
    "description": "Paid on 3 November, tracking shows nothing since.",
    "impact": 2,
    "urgency": 1,
    "correlation_id": "IH-7K2M9QX4TB",
}


@pytest.fixture(autouse=True)
def servicenow(settings):
    settings.SERVICENOW_BASE_URL = INSTANCE
    settings.SERVICENOW_USERNAME = "incident.hub"
    settings.SERVICENOW_PASSWORD = "s3cret"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


# --- who may call ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", API),
        ("get", f"{API}?correlation_id=IH-7K2M9QX4TB"),
        ("get", f"{API}/{SYS_ID}"),
        ("patch", f"{API}/{SYS_ID}"),
    ],
)
def test_anonymous_callers_are_refused_before_servicenow_is_called(client, servicenow, method, path):
    response = client.generic(method.upper(), path, json.dumps(VALID_INPUT), content_type="application/json")

    assert response.status_code == 401  # not authenticated: asked to authenticate
    assert response.json()["extra"] == {"code": "not_authenticated"}
    assert len(servicenow.calls) == 0


def test_signed_in_non_staff_users_are_refused(client, django_user_model, servicenow):
    client.force_login(django_user_model.objects.create_user("shopper", password="x"))

    response = client.get(f"{API}/{SYS_ID}")

    assert response.status_code == 403
    assert len(servicenow.calls) == 0


# --- create ----------------------------------------------------------------------------------------


def test_create_answers_201_with_the_incident(admin_client, servicenow):
    servicenow.post(
        INCIDENTS,
        status=201,
        json=load_fixture("servicenow/incident_created.json"),
        match=[
            matchers.json_params_matcher(
                {
                    "short_description": "Order 1042 never arrived",
                    "description": "Paid on 3 November, tracking shows nothing since.\n\nCaller email: ada@example.com",
                    "impact": "2",
                    "urgency": "1",
                    "correlation_id": "IH-7K2M9QX4TB",
                    "correlation_display": "Incident Hub",
                    "category": "inquiry",
                    "contact_type": "web",
                },
                strict_match=True,
            )
        ],
    )

    response = post_json(admin_client, API, {**VALID_INPUT, "caller_email": "ada@example.com"})

    assert response.status_code == 201
    assert response.json() == INCIDENT_OUT


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"impact": 4}, "impact"),
        ({"urgency": 0}, "urgency"),
        ({"short_description": "x" * 161}, "short_description"),
        ({"short_description": ""}, "short_description"),
        ({"description": "x" * 4001}, "description"),
        ({"correlation_id": "x" * 101}, "correlation_id"),
        ({"correlation_id": "IH-1^active=true"}, "correlation_id"),
        ({"caller_email": "not an address"}, "caller_email"),
    ],
)
def test_create_refuses_invalid_input_without_calling_servicenow(admin_client, servicenow, changes, field):
    response = post_json(admin_client, API, {**VALID_INPUT, **changes})

    assert response.status_code == 400
    assert response.json()["message"] == "The request is not valid."
    assert list(response.json()["extra"]["fields"]) == [field]
    assert len(servicenow.calls) == 0


def test_create_accepts_the_longest_allowed_values(admin_client, servicenow):
    servicenow.post(INCIDENTS, status=201, json=load_fixture("servicenow/incident_created.json"))

    response = post_json(
        admin_client,
        API,
        {**VALID_INPUT, "short_description": "s" * 160, "description": "d" * 4000, "correlation_id": "c" * 100},
    )

    assert response.status_code == 201
    sent = json.loads(servicenow.calls[0].request.body)
    assert (len(sent["short_description"]), len(sent["description"]), len(sent["correlation_id"])) == (160, 4000, 100)


def test_create_requires_the_core_fields(admin_client, servicenow):
    response = post_json(admin_client, API, {})

    assert response.status_code == 400
    assert sorted(response.json()["extra"]["fields"]) == ["correlation_id", "impact", "short_description", "urgency"]
    assert len(servicenow.calls) == 0


# --- find and read ---------------------------------------------------------------------------------


def test_find_by_correlation_id_lists_the_one_incident(admin_client, servicenow):
    servicenow.get(
        INCIDENTS,
        json=load_fixture("servicenow/incident_query_one.json"),
        match=[matchers.query_param_matcher({"sysparm_query": "correlation_id=IH-7K2M9QX4TB"}, strict_match=False)],
    )

    response = admin_client.get(API, {"correlation_id": "IH-7K2M9QX4TB"})

    assert response.status_code == 200
    assert response.json() == [INCIDENT_OUT]


def test_find_by_correlation_id_without_a_match_is_an_empty_list(admin_client, servicenow):
    servicenow.get(INCIDENTS, json=load_fixture("servicenow/incident_query_empty.json"))

    response = admin_client.get(API, {"correlation_id": "IH-UNKNOWN000"})

    assert response.status_code == 200
    assert response.json() == []


def test_find_needs_a_correlation_id(admin_client, servicenow):
    response = admin_client.get(API)

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["correlation_id"]
    assert len(servicenow.calls) == 0


def test_get_returns_the_incident(admin_client, servicenow):
    servicenow.get(f"{INCIDENTS}/{SYS_ID}", json=load_fixture("servicenow/incident_with_reference_links.json"))

    response = admin_client.get(f"{API}/{SYS_ID}")

    assert response.status_code == 200
    assert response.json() == INCIDENT_OUT


def test_get_of_an_incident_servicenow_does_not_have_is_404(admin_client, servicenow):
    servicenow.get(f"{INCIDENTS}/{SYS_ID}", status=404, json=load_fixture("servicenow/error_not_found.json"))

    response = admin_client.get(f"{API}/{SYS_ID}")

    assert response.status_code == 404
    assert response.json()["extra"]["error"] == "SystemNotFound"
    assert "No Record found" in response.json()["message"]


def test_a_path_that_is_not_a_sys_id_is_404_without_calling_servicenow(admin_client, servicenow):
    response = admin_client.get(f"{API}/INC0010042")

    assert response.status_code == 404
    assert len(servicenow.calls) == 0


# --- update ----------------------------------------------------------------------------------------


def test_patch_sends_only_the_given_fields_and_returns_the_incident(admin_client, servicenow):
    servicenow.patch(
        f"{INCIDENTS}/{SYS_ID}",
        json=load_fixture("servicenow/incident_updated.json"),
        match=[
            matchers.json_params_matcher(
                {"state": "2", "impact": "3", "work_notes": "Carrier contacted."}, strict_match=True
            )
        ],
    )

    response = patch_json(
        admin_client, f"{API}/{SYS_ID}", {"state": 2, "impact": 3, "work_notes": "Carrier contacted."}
    )

    assert response.status_code == 200
    assert response.json() == {
        **INCIDENT_OUT,
        "state": 2,
        "state_label": "In Progress",
        "impact": 3,
        "priority": 3,
        "updated_at": "2026-11-22T10:01:40Z",
    }


@pytest.mark.parametrize("body", [{}, {"state": 4}, {"urgency": 5}, {"short_description": "x" * 161}])
def test_patch_refuses_empty_or_invalid_changes_without_calling_servicenow(admin_client, servicenow, body):
    response = patch_json(admin_client, f"{API}/{SYS_ID}", body)

    assert response.status_code == 400
    assert len(servicenow.calls) == 0


# --- ServiceNow's failures, as HTTP answers -------------------------------------------------------------


def test_servicenow_rate_limit_becomes_429_with_retry_after(admin_client, servicenow):
    servicenow.get(
        f"{INCIDENTS}/{SYS_ID}",
        status=429,
        json=load_fixture("servicenow/error_rate_limited.json"),
        headers={"Retry-After": "12"},
    )

    response = admin_client.get(f"{API}/{SYS_ID}")

    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert response.json()["extra"]["retry_after"] == 12.0


def test_servicenow_refusing_our_credentials_is_a_bad_gateway(admin_client, servicenow):
    servicenow.post(INCIDENTS, status=401, json=load_fixture("servicenow/error_unauthenticated.json"))

    response = post_json(admin_client, API, VALID_INPUT)

    assert response.status_code == 502
    assert response.json()["extra"]["error"] == "SystemAuthError"


def test_servicenow_timing_out_is_a_gateway_timeout(admin_client, servicenow):
    servicenow.post(INCIDENTS, body=requests.ReadTimeout("read timed out"))

    response = post_json(admin_client, API, VALID_INPUT)

    assert response.status_code == 504
    assert response.json()["extra"]["error"] == "SystemTimeout"


def test_servicenow_down_is_service_unavailable(admin_client, servicenow):
    servicenow.get(INCIDENTS, status=503, json=load_fixture("servicenow/error_server.json"))

    response = admin_client.get(API, {"correlation_id": "IH-7K2M9QX4TB"})

    assert response.status_code == 503
    assert response.json()["extra"]["error"] == "SystemUnavailable"


# --- the schema ------------------------------------------------------------------------------------------


def test_schema_describes_every_operation(admin_client):
    schema = admin_client.get("/api/internal/schema/", {"format": "json"}).json()

    operations = {
        (path, method): spec["operationId"]
        for path, methods in schema["paths"].items()
        if path.startswith("/api/system/servicenow/")
        for method, spec in methods.items()
    }
    assert operations == {
        ("/api/system/servicenow/v1/incidents", "post"): "servicenow_incidents_create",
        ("/api/system/servicenow/v1/incidents", "get"): "servicenow_incidents_find",
        ("/api/system/servicenow/v1/incidents/{sys_id}", "get"): "servicenow_incidents_retrieve",
        ("/api/system/servicenow/v1/incidents/{sys_id}", "patch"): "servicenow_incidents_update",
    }
    create = schema["paths"]["/api/system/servicenow/v1/incidents"]["post"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ServiceNowIncident"
    }
    assert (
        schema["components"]["schemas"]["ServiceNowIncidentCreate"]["properties"]["short_description"]["maxLength"]
        == 160
    )
