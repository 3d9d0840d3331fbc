import base64
import json
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from system_apis.errors import (
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from system_apis.servicenow.client import ServiceNowClient
from system_apis.servicenow.types import (
    Impact,
    Incident,
    IncidentState,
    IncidentUpdate,
    NewIncident,
    Urgency,
    priority_for,
)
from tests.conftest import load_fixture

BASE = "https://acme.service-now.com"
INCIDENTS = f"{BASE}/api/now/table/incident"
SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"
INCIDENT = f"{INCIDENTS}/{SYS_ID}"
BASIC = "Basic " + base64.b64encode(b"incident.hub:s3cret pass").decode()
EXCLUDE_LINKS = matchers.query_param_matcher({"sysparm_exclude_reference_link": "true"})

EXPECTED = Incident(
    sys_id=SYS_ID,
    number="INC0010042",
    state=IncidentState.NEW,
    impact=Impact.MEDIUM,
    urgency=Urgency.HIGH,
    priority=2,
    short_description="Order 1042 never arrived",
    description="Paid on 3 November, tracking shows nothing since.",
    correlation_id="IH-7K2M9QX4TB",
    category="inquiry",
    opened_at=datetime(2026, 11, 22, 9, 15, 2, tzinfo=UTC),
    updated_at=datetime(2026, 11, 22, 9, 15, 2, tzinfo=UTC),
    url=f"{BASE}/nav_to.do?uri=incident.do?sys_id={SYS_ID}",
    mod_count=0,
)


@pytest.fixture
def client() -> ServiceNowClient:
    return ServiceNowClient(base_url=BASE, username="incident.hub", password="s3cret pass", timeout=(1.5, 4.0))


def new_incident(**changes: object) -> NewIncident:
    values = {
        "short_description": "Order 1042 never arrived",
        "description": "Paid on 3 November, tracking shows nothing since.",
        "impact": Impact.MEDIUM,
        "urgency": Urgency.HIGH,
        "correlation_id": "IH-7K2M9QX4TB",
        **changes,
    }
    return NewIncident(**values)


# --- create ------------------------------------------------------------------------------------


@responses.activate
def test_create_incident_posts_every_value_as_a_string_with_basic_auth(client):
    responses.post(
        INCIDENTS,
        status=201,
        json=load_fixture("servicenow/incident_created.json"),
        headers={"Location": INCIDENT},
        match=[
            EXCLUDE_LINKS,
            matchers.header_matcher(
                {"Authorization": BASIC, "Accept": "application/json", "Content-Type": "application/json"}
            ),
            matchers.json_params_matcher(
                {
                    "short_description": "Order 1042 never arrived",
                    "description": "Paid on 3 November, tracking shows nothing since.",
                    "impact": "2",
                    "urgency": "1",
                    "correlation_id": "IH-7K2M9QX4TB",
                    "correlation_display": "Incident Hub",
                    "category": "inquiry",
                    "contact_type": "web",
                },
                strict_match=True,
            ),
        ],
    )

    incident = client.create_incident(new_incident())

    assert incident == EXPECTED
    assert len(responses.calls) == 1
    call = responses.calls[0]
    assert call.request.url == f"{INCIDENTS}?sysparm_exclude_reference_link=true"
    assert call.request.req_kwargs["timeout"] == (1.5, 4.0)


@responses.activate
def test_create_incident_writes_the_caller_email_into_the_description_not_a_reference(client):
    responses.post(INCIDENTS, status=201, json=load_fixture("servicenow/incident_created.json"))

    client.create_incident(new_incident(caller_email="ada@example.com", category="network", contact_type="email"))

    sent = json.loads(responses.calls[0].request.body)
    assert sent["description"] == ("Paid on 3 November, tracking shows nothing since.\n\nCaller email: ada@example.com")
    assert (sent["category"], sent["contact_type"]) == ("network", "email")
    assert "caller_id" not in sent


@responses.activate
def test_create_incident_that_is_not_answered_201_is_a_protocol_error(client):
    responses.post(INCIDENTS, status=200, json=load_fixture("servicenow/incident_created.json"))

    with pytest.raises(SystemProtocolError) as caught:
        client.create_incident(new_incident())

    assert caught.value.status == 200
    assert caught.value.operation == "create_incident"


@pytest.mark.parametrize("correlation_id", ["", "IH-1^active=true"])
@responses.activate
def test_create_incident_refuses_a_correlation_id_no_query_could_find_and_sends_nothing(client, correlation_id):
    with pytest.raises(SystemBadRequest):
        client.create_incident(new_incident(correlation_id=correlation_id))

    assert len(responses.calls) == 0


# --- read ----------------------------------------------------------------------------------------


@responses.activate
def test_get_incident_reads_reference_fields_given_as_link_objects(client):
    responses.get(INCIDENT, json=load_fixture("servicenow/incident_with_reference_links.json"), match=[EXCLUDE_LINKS])

    incident = client.get_incident(SYS_ID)

    assert incident == EXPECTED
    assert responses.calls[0].request.headers["Authorization"] == BASIC


@responses.activate
def test_get_incident_that_does_not_exist_is_not_found_with_servicenows_message(client):
    responses.get(INCIDENT, status=404, json=load_fixture("servicenow/error_not_found.json"))

    with pytest.raises(SystemNotFound) as caught:
        client.get_incident(SYS_ID)

    assert caught.value.message == "No Record found: Record doesn't exist or ACL restricts the record retrieval"
    assert (caught.value.system, caught.value.operation, caught.value.status) == ("servicenow", "get_incident", 404)


@responses.activate
def test_get_incident_escapes_the_sys_id_into_one_path_segment(client):
    responses.get(f"{INCIDENTS}/a%2F..%3Fx", status=404, json=load_fixture("servicenow/error_not_found.json"))

    with pytest.raises(SystemNotFound):
        client.get_incident("a/..?x")

    assert responses.calls[0].request.url.startswith(f"{INCIDENTS}/a%2F..%3Fx?")


@responses.activate
def test_an_empty_sys_id_is_refused_without_a_request(client):
    with pytest.raises(SystemBadRequest):
        client.get_incident("")
    with pytest.raises(SystemBadRequest):
        client.update_incident("", IncidentUpdate(state=IncidentState.CLOSED))

    assert len(responses.calls) == 0


@responses.activate
def test_find_by_correlation_id_queries_that_field_for_one_record(client):
    responses.get(
        INCIDENTS,
        json=load_fixture("servicenow/incident_query_one.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "sysparm_query": "correlation_id=IH-7K2M9QX4TB",
                    "sysparm_limit": "1",
                    "sysparm_exclude_reference_link": "true",
                }
            )
        ],
    )

    incident = client.find_by_correlation_id("IH-7K2M9QX4TB")

    assert incident == EXPECTED
    assert responses.calls[0].request.url == (
        f"{INCIDENTS}?sysparm_query=correlation_id%3DIH-7K2M9QX4TB&sysparm_limit=1&sysparm_exclude_reference_link=true"
    )


@responses.activate
def test_find_by_correlation_id_without_a_match_is_none(client):
    responses.get(INCIDENTS, json=load_fixture("servicenow/incident_query_empty.json"))

    assert client.find_by_correlation_id("IH-UNKNOWN000") is None


@pytest.mark.parametrize("correlation_id", ["", "IH-1^ORactive=true"])
@responses.activate
def test_find_by_correlation_id_refuses_ids_that_would_match_other_incidents(client, correlation_id):
    with pytest.raises(SystemBadRequest):
        client.find_by_correlation_id(correlation_id)

    assert len(responses.calls) == 0


# --- update --------------------------------------------------------------------------------------


@responses.activate
def test_update_incident_patches_only_the_fields_that_are_set(client):
    responses.patch(
        INCIDENT,
        json=load_fixture("servicenow/incident_updated.json"),
        match=[
            EXCLUDE_LINKS,
            matchers.header_matcher({"Authorization": BASIC}),
            matchers.json_params_matcher(
                {"state": "2", "impact": "3", "work_notes": "Carrier contacted."}, strict_match=True
            ),
        ],
    )

    incident = client.update_incident(
        SYS_ID, IncidentUpdate(state=IncidentState.IN_PROGRESS, impact=Impact.LOW, work_notes="Carrier contacted.")
    )

    assert (incident.state, incident.impact, incident.urgency, incident.priority) == (
        IncidentState.IN_PROGRESS,
        Impact.LOW,
        Urgency.HIGH,
        3,
    )
    assert incident.updated_at == datetime(2026, 11, 22, 10, 1, 40, tzinfo=UTC)
    assert incident.opened_at == datetime(2026, 11, 22, 9, 15, 2, tzinfo=UTC)


@responses.activate
def test_update_incident_sends_close_fields_for_a_resolution(client):
    resolved = load_fixture("servicenow/incident_updated.json")
    resolved["result"].update(state="6", close_code="Solved (Permanently)", close_notes="Parcel delivered.")
    responses.patch(
        INCIDENT,
        json=resolved,
        match=[
            matchers.json_params_matcher(
                {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Parcel delivered."},
                strict_match=True,
            )
        ],
    )

    incident = client.update_incident(
        SYS_ID,
        IncidentUpdate(
            state=IncidentState.RESOLVED, close_code="Solved (Permanently)", close_notes="Parcel delivered."
        ),
    )

    assert incident.state is IncidentState.RESOLVED


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "error_type", "message"),
    [
        (
            400,
            "error_invalid_json.json",
            SystemBadRequest,
            "Exception while reading request: The payload is not valid JSON.",
        ),
        (
            401,
            "error_unauthenticated.json",
            SystemAuthError,
            "User Not Authenticated: Required to provide Auth information",
        ),
        (
            403,
            "error_acl_insert.json",
            SystemAuthError,
            "Operation Failed: ACL Exception Insert Failed due to security constraints",
        ),
        (
            404,
            "error_not_found.json",
            SystemNotFound,
            "No Record found: Record doesn't exist or ACL restricts the record retrieval",
        ),
        (500, "error_server.json", SystemUnavailable, "Internal Server Error"),
        (503, "error_server.json", SystemUnavailable, "Internal Server Error"),
    ],
)
@responses.activate
def test_every_error_status_becomes_its_typed_error(client, status, fixture, error_type, message):
    responses.post(INCIDENTS, status=status, json=load_fixture(f"servicenow/{fixture}"))

    with pytest.raises(error_type) as caught:
        client.create_incident(new_incident())

    assert type(caught.value) is error_type
    assert (caught.value.message, caught.value.status) == (message, status)
    assert caught.value.system == "servicenow"


@responses.activate
def test_rate_limit_is_typed_with_servicenows_retry_after(client):
    responses.get(
        INCIDENTS,
        status=429,
        json=load_fixture("servicenow/error_rate_limited.json"),
        headers={
            "Retry-After": "37",
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Reset": "1795000000",
            "X-RateLimit-Rule": "9a4c3f1e2b7d4e8fa0c1d2e3f4a5b6c7",
        },
    )

    with pytest.raises(SystemRateLimited) as caught:
        client.find_by_correlation_id("IH-7K2M9QX4TB")

    assert caught.value.retry_after == 37.0
    assert caught.value.message == "Too many requests: The rate limit of 1000 requests per hour was exceeded"


@responses.activate
def test_an_error_page_that_is_not_json_keeps_the_http_reason(client):
    responses.get(INCIDENT, status=502, body="<html><body>Bad gateway</body></html>", content_type="text/html")

    with pytest.raises(SystemUnavailable) as caught:
        client.get_incident(SYS_ID)

    assert caught.value.message == "Bad Gateway"
    assert caught.value.body == "<html><body>Bad gateway</body></html>"


@responses.activate
def test_connect_timeout_means_the_request_was_never_sent(client):
    responses.post(INCIDENTS, body=requests.ConnectTimeout("connect timed out"))

    with pytest.raises(SystemTimeout) as caught:
        client.create_incident(new_incident())

    assert caught.value.request_sent is False
    assert isinstance(caught.value.__cause__, requests.ConnectTimeout)


@responses.activate
def test_read_timeout_means_servicenow_may_have_made_the_incident(client):
    responses.post(INCIDENTS, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(SystemTimeout) as caught:
        client.create_incident(new_incident())

    assert caught.value.request_sent is True
    assert caught.value.message == "no answer within 4.0 s"


@responses.activate
def test_unreachable_instance_is_unavailable(client):
    responses.get(INCIDENT, body=requests.ConnectionError("connection refused"))

    with pytest.raises(SystemUnavailable):
        client.get_incident(SYS_ID)


@responses.activate
def test_an_answer_that_is_not_json_is_a_protocol_error(client):
    # A hibernating developer instance answers 200 with its wake-up page.
    responses.get(INCIDENT, status=200, body="<html>Your instance is hibernating</html>", content_type="text/html")

    with pytest.raises(SystemProtocolError) as caught:
        client.get_incident(SYS_ID)

    assert caught.value.message == "answer is not JSON"


@pytest.mark.parametrize(
    "body",
    [
        {"records": []},
        {"result": "nothing"},
        {"result": {**load_fixture("servicenow/incident_created.json")["result"], "sys_id": ""}},
        {
            "result": {
                key: value
                for key, value in load_fixture("servicenow/incident_created.json")["result"].items()
                if key != "number"
            }
        },
        {"result": {**load_fixture("servicenow/incident_created.json")["result"], "state": "New"}},
        {"result": {**load_fixture("servicenow/incident_created.json")["result"], "impact": "9"}},
        {"result": {**load_fixture("servicenow/incident_created.json")["result"], "opened_at": "22/11/2026 09:15"}},
    ],
    ids=["no-result", "result-not-object", "empty-sys-id", "no-number", "state-label", "unknown-impact", "bad-date"],
)
@responses.activate
def test_a_malformed_incident_is_a_protocol_error(client, body):
    responses.get(INCIDENT, json=body)

    with pytest.raises(SystemProtocolError) as caught:
        client.get_incident(SYS_ID)

    assert caught.value.operation == "get_incident"


@responses.activate
def test_a_query_answer_without_a_result_list_is_a_protocol_error(client):
    responses.get(INCIDENTS, json={"result": {}})

    with pytest.raises(SystemProtocolError):
        client.find_by_correlation_id("IH-7K2M9QX4TB")


# --- construction and types ------------------------------------------------------------------------


def test_from_settings_uses_the_instance_credentials_and_timeouts(settings):
    settings.SERVICENOW_BASE_URL = "https://other.service-now.com/"
    settings.SERVICENOW_USERNAME = "svc.incident.hub"
    settings.SERVICENOW_PASSWORD = "from-env"
    settings.SERVICENOW_TIMEOUT = (2.0, 9.0)

    client = ServiceNowClient.from_settings()

    assert client.base_url == "https://other.service-now.com/"
    assert client.auth == ("svc.incident.hub", "from-env")
    assert client.timeout == (2.0, 9.0)
    assert client.incident_url("abc") == "https://other.service-now.com/nav_to.do?uri=incident.do?sys_id=abc"


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [(1, 1, 1), (1, 2, 2), (2, 1, 2), (1, 3, 3), (2, 2, 3), (3, 1, 3), (2, 3, 4), (3, 2, 4), (3, 3, 5)],
)
def test_priority_follows_servicenows_impact_urgency_matrix(impact, urgency, priority):
    assert priority_for(Impact(impact), Urgency(urgency)) == priority


def test_state_labels_read_as_servicenow_shows_them():
    assert [state.label for state in IncidentState] == [
        "New",
        "In Progress",
        "On Hold",
        "Resolved",
        "Closed",
        "Canceled",
    ]
