"""Schemathesis against Incident Hub's own OpenAPI schema: every operation, through the WSGI app.

For each operation of the internal schema (`/api/internal/schema/`, which holds every operation, those of the
public `/api/schema/` too) Schemathesis generates valid and invalid requests and checks that no answer is a
5xx and that status code, content type, headers and body are the ones the schema documents. Internal
operations (`/api/system/...`, `/api/process/...`) are called with an internal API client's bearer token,
`/api/v1/...` with an ordinary API client's, `/o/token/` with its id and secret; the vendors are faked with
`responses`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import schemathesis
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings

from experience_apis.clients.services import api_client_create
from incidents_site.wsgi import application
from process_apis.customer_incidents.services import incident_report
from process_apis.models import NotificationDelivery
from process_apis.webhooks.services import webhook_endpoint_create
from tests.reports import TEST_CONSUMER
from tests.vendors import SLACK, SN_INCIDENTS, Vendors, sn_record

# Through the bare WSGI app every request ends by closing "obsolete" database connections, which on
# PostgreSQL includes the one holding the test's transaction: the fuzz run is the SQLite tier's.
pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs on the embedded SQLite tier (the WSGI app closes the test's PostgreSQL connection)",
)

# Per operation and generation mode; a deeper run: OPENAPI_FUZZ_MAX_EXAMPLES=200 pytest tests/test_openapi_fuzz.py
MAX_EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_MAX_EXAMPLES", "6"))
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"mode": "all", "max-examples": MAX_EXAMPLES}, "phases": {"stateful": {"enabled": False}}}
)
# The internal schema answers only internal callers, and collection has no database to make one: it is
# generated here as its view generates it (the settings' hooks, every endpoint).
schema = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))), config=CONFIG
)
schema.app = application
public_schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

# Answers the app gives but its schema does not document yet, per operation. Only these statuses are let
# through the status code check; every other check still applies. `test_known_gaps_are_still_undocumented`
# fails once an entry is documented, so that it is then removed here. None today: keep it that way.
KNOWN_GAPS: dict[str, set[int]] = {}


def status_code_conformance_but_known_gaps(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    if response.status_code in KNOWN_GAPS.get(case.operation.label, set()):
        return None
    return schemathesis.checks.status_code_conformance(ctx, response, case)


CHECKS: list[Callable] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance_but_known_gaps,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]

SN_INCIDENT = re.compile(rf"{re.escape(SN_INCIDENTS)}/(?P<sys_id>[^/?]+)")
SN_NOT_FOUND = {
    "error": {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"},
    "status": "failure",
}


class FakeServiceNowTable:
    """The incident table as the Table API serves it: create, query by correlation_id, read and patch."""

    def __init__(self) -> None:
        self.records: dict[str, dict] = {}

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, SN_INCIDENTS, callback=self.create)
        mock.add_callback(responses.GET, re.compile(rf"{re.escape(SN_INCIDENTS)}(\?.*)?$"), callback=self.query)
        mock.add_callback(responses.GET, SN_INCIDENT, callback=self.read)
        mock.add_callback(responses.PATCH, SN_INCIDENT, callback=self.patch)

    def create(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        sys_id = uuid.uuid4().hex
        record = sn_record(f"INC{len(self.records) + 10001:07d}", sys_id=sys_id, **_strings(json.loads(request.body)))
        self.records[sys_id] = record
        return 201, {"Location": f"{SN_INCIDENTS}/{sys_id}"}, json.dumps({"result": record})

    def query(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        query = parse_qs(urlsplit(request.url).query).get("sysparm_query", [""])[0]
        found = [r for r in self.records.values() if r["correlation_id"] == query.removeprefix("correlation_id=")]
        return 200, {}, json.dumps({"result": found[:1]})

    def read(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        record = self.records.get(SN_INCIDENT.match(request.url)["sys_id"])
        return (200, {}, json.dumps({"result": record})) if record else (404, {}, json.dumps(SN_NOT_FOUND))

    def patch(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        record = self.records.get(SN_INCIDENT.match(request.url)["sys_id"])
        if not record:
            return 404, {}, json.dumps(SN_NOT_FOUND)
        record.update(_strings(json.loads(request.body)))
        return 200, {}, json.dumps({"result": record})


def _strings(values: dict) -> dict[str, str]:
    return {name: str(value) for name, value in values.items()}


@pytest.fixture
def all_vendors(vendors: Vendors) -> Vendors:
    """ServiceNow, Salesforce and Slack all up and answering as their APIs do."""
    FakeServiceNowTable().install(vendors.mock)
    vendors.salesforce_knows()
    vendors.slack_accepts()
    vendors.mock.add(
        responses.POST, f"{SLACK}chat.update", json={"ok": True, "channel": "C0INCIDENTS", "ts": "1700000000.000100"}
    )
    return vendors


def basic_auth(name: str, *, internal: bool = False) -> tuple[str, str]:
    """A new API client's id and its HTTP Basic credentials for /o/token/."""
    client, secret = api_client_create(name=name, internal=internal)
    return client.client_id, "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


def bearer_token(name: str, *, internal: bool = False) -> tuple[str, str]:
    """A new API client's id and a real bearer token for it from /o/token/."""
    client_id, basic = basic_auth(name, internal=internal)
    response = Client().post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic)
    assert response.status_code == 200, response.content
    return client_id, f"Bearer {response.json()['access_token']}"


@pytest.fixture
def staff_auth(db) -> str:
    """An internal API client's bearer token: what may call the System and Process APIs besides a staff session."""
    return bearer_token("fuzz-ops", internal=True)[1]


@pytest.fixture
def api_client(db) -> tuple[str, str]:
    return bearer_token("fuzz-client")


@pytest.fixture
def known(api_client, all_vendors, legacy_customers, django_capture_on_commit_callbacks) -> dict[str, object]:
    """Ids of records that exist: a report of the API client (in ServiceNow, notified), its webhook and a legacy
    customer."""
    with django_capture_on_commit_callbacks(execute=True):
        report = incident_report(
            email="ada.lovelace@example.com",
            name="Ada Lovelace",
            category="order",
            urgency=2,
            short_description="Parcel never arrived",
            description="Order 1042 has not arrived.",
            consumer=TEST_CONSUMER,
            api_client_id=api_client[0],
            trace_id="fuzz",
        )
    report.refresh_from_db()
    assert report.servicenow_sys_id, "the fake ServiceNow made the incident"
    return {
        "reference": report.reference,
        "sys_id": report.servicenow_sys_id,
        "delivery_id": NotificationDelivery.objects.get(request=report).id,
        "customer_number": "0000100001",
        # The message the fake Slack answered for the report's notice.
        "channel": "C0INCIDENTS",
        "ts": "1700000000.000100",
        "email": "ada.lovelace@example.com",
        "webhook_id": webhook_endpoint_create(api_client_id=api_client[0], url="https://hooks.fuzz.example/in").pk,
    }


@pytest.fixture
def client_credentials(db) -> str:
    return basic_auth("fuzz-token-client")[1]


def authorization(case, staff_auth: str, api_client: tuple[str, str], client_credentials: str) -> dict[str, str]:
    if case.path == "/o/token/":
        return {"Authorization": client_credentials}
    return {"Authorization": api_client[1] if case.path.startswith("/api/v1/") else staff_auth}


@pytest.mark.django_db(databases=["default", "legacy"])
@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_answers_as_its_schema_says(
    case, all_vendors, legacy_customers, staff_auth, api_client, client_credentials
):
    case.call_and_validate(headers=authorization(case, staff_auth, api_client, client_credentials), checks=CHECKS)


@pytest.mark.django_db(databases=["default", "legacy"])
@schema.include(path_regex=r"\{|/customers$|/contacts$").parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_operations_on_existing_records_answer_as_their_schema_says(
    case, known, staff_auth, api_client, client_credentials
):
    # Random ids almost never name a record: the path ids and the email looked up are ones that exist.
    for name in case.path_parameters or {}:
        case.path_parameters[name] = known[name]
    if case.query and "email" in case.query:
        case.query["email"] = known["email"]

    case.call_and_validate(headers=authorization(case, staff_auth, api_client, client_credentials), checks=CHECKS)


def test_the_fuzzed_schema_holds_every_public_operation_as_the_public_schema_describes_it():
    public, fuzzed = public_schema.raw_schema["paths"], schema.raw_schema["paths"]

    assert {"/api/v1/incidents", "/o/token/"} <= set(public)
    for path, operations in public.items():
        assert fuzzed[path] == operations, path


def test_known_gaps_are_still_undocumented():
    raw = schema.raw_schema["paths"]
    for label, statuses in KNOWN_GAPS.items():
        method, path = label.split(" ", 1)
        documented = {int(code) for code in raw[path][method.lower()]["responses"] if code.isdigit()}
        assert not statuses & documented, f"{label} now documents {statuses & documented}: remove it from KNOWN_GAPS"
