"""The API catalog: every API of every layer with its figures from the call trace, drawn as a dependency graph."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from itertools import count
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from experience_apis import catalog as experience_catalog
from experience_apis.clients.services import api_client_create
from kernel.apis import CatalogApi
from operations.catalog import LAYERS, SYSTEMS_OF_RECORD, declared_calls, node_key
from operations.models import TracedCall
from process_apis import catalog as process_catalog
from process_apis.customer_incidents.services import incident_report
from process_apis.team_chat.services import team_chat_reply
from process_apis.webhooks.services import webhook_endpoint_create
from system_apis import catalog as system_catalog
from system_apis.circuit import SYSTEMS, SystemCircuit
from tests.experience.test_rest_v1 import token_for
from tests.experience.test_slack_command import slash
from tests.process_apis.test_webhooks import HOOK, created_news, created_report, resolves_publicly
from tests.reports import TEST_CONSUMER
from tests.vendors import SLACK_RESPONSE_URL

pytestmark = pytest.mark.django_db

CATALOG = "/catalog/"
SVG = "{http://www.w3.org/2000/svg}"
LAYER_APIS = {
    "experience": experience_catalog.APIS,
    "process": process_catalog.APIS,
    "system": system_catalog.APIS,
}
ALL_API_KEYS = {node_key(layer, api.name) for layer, apis in LAYER_APIS.items() for api in apis}
SYSTEM_KEYS = {node_key(SYSTEMS_OF_RECORD, system.name) for system in system_catalog.SYSTEMS_OF_RECORD}
_span_ids = count(1)


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_user("grace", "grace@example.com", "pw", is_staff=True))
    return client


def traced_call(layer: str, api: str, *, duration_ms: float, ok: bool = True, hours_ago: float = 1) -> TracedCall:
    return TracedCall.objects.create(
        trace_id="a" * 32,
        span_id=f"{next(_span_ids):016x}",
        layer=layer,
        api=api,
        operation="find",
        outcome="ok" if ok else "503",
        ok=ok,
        started_at=timezone.now() - timedelta(hours=hours_ago),
        duration_ms=duration_ms,
    )


def row_of(html: str, key: str) -> str:
    return re.search(rf'<tr id="{key}"[^>]*>(.*?)</tr>', html, re.S).group(1)


def cell(row: str, name: str) -> str:
    return re.search(rf'<td class="{name}">(.*?)</td>', row, re.S).group(1)


def graph_of(html: str) -> ET.Element:
    """The dependency graph's SVG, parsed as XML (so it must be well-formed)."""
    figure = html[html.index('id="application-network"') :]
    return ET.fromstring(re.search(r"<svg.*?</svg>", figure, re.S).group(0))  # noqa: S314 (our own page)


def node_texts(graph: ET.Element) -> dict[str, list[str]]:
    return {
        node.get("id").removeprefix("node-"): [text.text for text in node.iter(f"{SVG}text")]
        for node in graph.iter(f"{SVG}a")
    }


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(CATALOG)

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/catalog/"


def test_a_signed_in_user_who_is_not_staff_is_refused(client):
    client.force_login(User.objects.create_user("ada", "ada@example.com", "pw", is_staff=False))

    response = client.get(CATALOG)

    assert response.status_code == 403
    assert b"application-network" not in response.content


def test_staff_see_every_api_of_every_layer_and_every_system_of_record(staff_client):
    response = staff_client.get(CATALOG)

    assert response.status_code == 200
    html = response.content.decode()
    assert set(re.findall(r'<tr id="([a-z0-9_-]+)"', html)) == ALL_API_KEYS | SYSTEM_KEYS
    assert len(ALL_API_KEYS) == sum(len(apis) for apis in LAYER_APIS.values()), "no two APIs share a row"
    servicenow = row_of(html, "system-servicenow")
    assert [cell(servicenow, name) for name in ("version", "base-path", "calls-to", "called-by")] == [
        "v1",
        "<code>/api/system/servicenow/v1/</code>",
        "servicenow",
        "incident_events, service_incidents",
    ]
    customer_incidents = row_of(html, "process-customer_incidents")
    assert cell(customer_incidents, "calls-to") == "customers, service_incidents, notifications"
    assert cell(customer_incidents, "called-by") == "incidents_v1, slack_command, incident_form, celery"
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_each_api_shows_its_calls_error_rate_and_latency_of_the_last_24_hours_from_the_trace(staff_client):
    for duration in (10.0, 20.0, 30.0):
        traced_call("process", "customers", duration_ms=duration)
    traced_call("process", "customers", duration_ms=40.0, ok=False)
    traced_call("process", "customers", duration_ms=9000.0, ok=False, hours_ago=25)  # outside the window
    traced_call("system", "salesforce", duration_ms=120.0)

    html = staff_client.get(CATALOG).content.decode()

    customers = row_of(html, "process-customers")
    assert (cell(customers, "call-count"), cell(customers, "error-rate")) == ("4", "25.0% (1)")
    assert (cell(customers, "p50"), cell(customers, "p95")) == ("25.0 ms", "38.5 ms")
    salesforce = row_of(html, "system-salesforce")
    assert [cell(salesforce, name) for name in ("call-count", "error-rate", "p50", "p95")] == [
        "1",
        "0.0% (0)",
        "120.0 ms",
        "120.0 ms",
    ]
    slack = row_of(html, "system-slack")
    assert [cell(slack, name) for name in ("call-count", "error-rate", "p50", "p95")] == ["0", "—", "—", "—"]
    nodes = node_texts(graph_of(html))
    assert nodes["process-customers"] == ["customers", "4 calls · 25.0% errors"]
    assert nodes["system-salesforce"] == ["salesforce", "1 call · 0.0% errors"]
    assert nodes["system-slack"] == ["slack", "0 calls · 0.0% errors"]


def test_a_failing_api_is_outlined_in_red_in_the_graph(staff_client):
    traced_call("system", "servicenow", duration_ms=5.0, ok=False)
    traced_call("system", "slack", duration_ms=5.0)

    graph = graph_of(staff_client.get(CATALOG).content.decode())

    strokes = {node.get("id"): node.find(f"{SVG}rect").get("stroke") for node in graph.iter(f"{SVG}a")}
    assert strokes["node-system-servicenow"] == "#ba2121"
    assert strokes["node-system-slack"] == "#5b8a3c"


def test_the_systems_of_record_show_their_circuit_state(staff_client):
    SystemCircuit("slack").open()

    html = staff_client.get(CATALOG).content.decode()

    nodes = node_texts(graph_of(html))
    assert nodes[node_key(SYSTEMS_OF_RECORD, "slack")] == ["Slack", "circuit open"]
    assert nodes[node_key(SYSTEMS_OF_RECORD, "servicenow")] == ["ServiceNow", "circuit closed"]
    assert cell(row_of(html, node_key(SYSTEMS_OF_RECORD, "slack")), "circuit") == "open"


def test_the_graph_has_one_node_per_api_and_system_and_one_edge_per_declared_call(staff_client):
    graph = graph_of(staff_client.get(CATALOG).content.decode())

    nodes = [node.get("id").removeprefix("node-") for node in graph.iter(f"{SVG}a")]
    edges = [(edge.get("data-from"), edge.get("data-to")) for edge in graph.iter(f"{SVG}path") if edge.get("data-from")]
    assert sorted(nodes) == sorted(ALL_API_KEYS | SYSTEM_KEYS)
    assert sorted(edges) == sorted((call.source, call.target) for call in declared_calls())
    assert len(edges) == sum(len(api.calls) for apis in LAYER_APIS.values() for api in apis)


def test_the_workers_tasks_sit_at_the_bottom_clear_of_the_edges_into_the_process_layer(staff_client):
    graph = graph_of(staff_client.get(CATALOG).content.decode())

    top = {node.get("id"): float(node.find(f"{SVG}rect").get("y")) for node in graph.iter(f"{SVG}a")}
    assert top["node-process-celery"] == max(top.values())
    assert top["node-process-celery"] > top["node-process-customer_incidents"]


def test_every_declared_call_names_an_api_or_system_the_caller_may_call():
    calls = {(call.caller_layer, call.caller, call.callee_layer, call.callee) for call in declared_calls()}

    assert ("experience", "incidents_v1", "process", "customer_incidents") in calls
    assert ("process", "customer_incidents", "process", "customers") in calls
    assert ("process", "customers", "system", "legacy_db") in calls
    assert ("system", "legacy_db", SYSTEMS_OF_RECORD, "legacy_db") in calls
    assert all(callee_layer != "experience" for _, _, callee_layer, _ in calls), "nothing calls upward"


def test_a_call_to_an_undeclared_name_is_a_configuration_error():
    typo = CatalogApi(name="notifications", title="Notifications", version="v1", base_path="/", calls=("slak",))
    layers = [(layer, title, (*apis[:-1], typo) if layer == "process" else apis) for layer, title, apis in LAYERS]

    with pytest.raises(ImproperlyConfigured, match="process API 'notifications' calls 'slak', not declared"):
        declared_calls(layers)


def test_an_experience_api_calling_a_system_api_breaks_the_layer_rule():
    skipping = CatalogApi(name="incidents_v1", title="Incidents", version="v1", base_path="/", calls=("servicenow",))
    layers = [(layer, title, (skipping,) if layer == "experience" else apis) for layer, title, apis in LAYERS]

    with pytest.raises(ImproperlyConfigured, match="experience API 'incidents_v1' calls 'servicenow', not declared"):
        declared_calls(layers)


@pytest.mark.django_db(databases=["default", "legacy"])
def test_the_catalog_declares_exactly_the_apis_the_trace_records_in_a_whole_flow(
    client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010042")
    vendors.slack_accepts()
    vendors.slack_opens_views()
    vendors.slack_takes_answers()
    slash(client, "")  # the Slack command's modal, opened through Team chat
    team_chat_reply(reply_url=SLACK_RESPONSE_URL, message={"text": "Reported"})
    client.get("/")
    client.post("/o/token/", {"grant_type": "client_credentials"})
    client.get("/api/v1/incidents")
    with django_capture_on_commit_callbacks(execute=True):
        incident_report(
            email="ada.lovelace@example.com",
            name="Ada Lovelace",
            category="order",
            urgency=2,
            short_description="Parcel never arrived",
            description="Ordered on the 3rd, still nothing.",
            consumer=TEST_CONSUMER,
        )
    servicenow, secret = api_client_create(name="servicenow", scopes=["events"])
    pushed = {"sys_id": "a" * 32, "sys_mod_count": "1", "state": "2"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/events/servicenow/v1/incidents",
            pushed,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token_for(client, servicenow.client_id, secret)}",
        )

    client.get("/api/v1/webhooks")
    webhook_endpoint_create(api_client_id="partner-app", url=HOOK)
    vendors.mock.post(HOOK, status=204)
    with mock.patch("socket.getaddrinfo", resolves_publicly), django_capture_on_commit_callbacks(execute=True):
        created_news(created_report("partner-app"))

    recorded = set(TracedCall.objects.values_list("layer", "api"))

    assert recorded == {(layer, api.name) for layer, apis in LAYER_APIS.items() for api in apis}


def test_an_experience_api_is_named_in_the_trace_of_its_requests_by_its_declaration_alone(client, monkeypatch):
    docs = CatalogApi(name="api_docs", title="API documentation", version="", base_path="/api/docs/")
    monkeypatch.setattr(experience_catalog, "APIS", (*experience_catalog.APIS, docs))

    client.get("/api/docs/")
    client.get("/admin/login/")

    assert list(TracedCall.objects.filter(layer="experience").values_list("api", flat=True)) == ["api_docs"]


def test_the_systems_of_record_are_the_systems_with_a_circuit():
    assert [system.name for system in system_catalog.SYSTEMS_OF_RECORD] == list(SYSTEMS)


def test_each_documented_api_owns_exactly_the_schema_paths_of_its_tag(admin_client):
    schema = admin_client.get("/api/internal/schema/", {"format": "json"}).json()
    paths_by_tag: dict[str, set[str]] = {}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for tag in operation.get("tags", []):
                paths_by_tag.setdefault(tag, set()).add(path)

    declared = {api.openapi_tag: api for apis in LAYER_APIS.values() for api in apis if api.openapi_tag}

    assert set(declared) == set(paths_by_tag), "every tag of the schema belongs to one API of the catalog"
    for tag, api in declared.items():
        assert all(path.startswith(api.base_path) for path in paths_by_tag[tag]), tag


def test_the_docs_link_opens_the_swagger_ui_at_the_apis_tag(staff_client):
    html = staff_client.get(CATALOG).content.decode()

    assert cell(row_of(html, "system-salesforce"), "openapi") == (
        '<a href="/api/internal/schema/">schema</a>, '
        '<a href="/api/internal/docs/#/System%3A%20Salesforce">System: Salesforce</a>'
    )
    assert cell(row_of(html, "process-customers"), "openapi").startswith(
        '<a href="/api/internal/schema/">schema</a>, <a href="/api/internal/docs/#/'
    )
    assert cell(row_of(html, "experience-incidents_v1"), "openapi") == (
        '<a href="/api/schema/">schema</a>, <a href="/api/docs/#/v1%3A%20incidents">v1: incidents</a>'
    )
    assert cell(row_of(html, "experience-oauth"), "openapi") == (
        '<a href="/api/schema/">schema</a>, <a href="/api/docs/#/OAuth">OAuth</a>'
    )
    assert cell(row_of(html, "experience-incident_form"), "openapi") == "—"


def test_the_admin_home_links_staff_to_the_catalog(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert '<p id="api-catalog-link"><a href="/catalog/">API catalog</a>' in page
