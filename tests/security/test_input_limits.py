"""Input limits: lengths, unknown fields, body size; customer text never pings Slack nor escapes a SOQL literal."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from incidents_site.request_limits import LIMITED_PREFIXES
from process_apis.models import IncidentRequest
from tests.security.conftest import api_as
from tests.vendors import SF, SF_QUERY, SLACK, SLACK_POST, SN, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REPORT = {
    "email": "katherine.johnson@example.com",
    "name": "Katherine Johnson",
    "category": "website",
    "urgency": 1,
    "short_description": "Checkout page is blank",
    "description": "Since this morning the checkout shows nothing.",
}
LIMITS = {"email": 254, "name": 200, "order_number": 40, "short_description": 160, "description": 4000}


def mrkdwn_texts(node) -> list[str]:
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn_texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [text for value in node.values() for text in mrkdwn_texts(value)]
    return []


@pytest.fixture
def api():
    return api_as("partner-app")


def post(api, body, **headers):
    return api.post("/api/v1/incidents", body, content_type="application/json", **headers)


@pytest.mark.parametrize(("field", "limit"), list(LIMITS.items()))
def test_a_field_one_character_over_its_limit_is_refused_by_name_and_nothing_is_stored(api, vendors, field, limit):
    value = "a" * (limit - len("@example.com") + 1) + "@example.com" if field == "email" else "x" * (limit + 1)

    response = post(api, {**REPORT, field: value})

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == [field]
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_unknown_fields_anywhere_are_refused_by_name(api, vendors):
    response = post(api, {**REPORT, "api_client_id": "someone-else", "reference": "IH-0000000000", "is_staff": True})

    assert response.status_code == 400
    assert response.json()["extra"]["fields"] == {
        "api_client_id": ["Unknown field."],
        "is_staff": ["Unknown field."],
        "reference": ["Unknown field."],
    }
    assert not IncidentRequest.objects.exists()


def test_a_body_that_is_not_an_object_is_a_clear_400(api, vendors):
    for body in ("[1, 2]", '"text"', "{not json"):
        response = api.post("/api/v1/incidents", body, content_type="application/json")
        assert response.status_code == 400, body
        assert response["Content-Type"] == "application/json"
    assert not IncidentRequest.objects.exists()


def test_a_body_over_the_size_limit_is_refused_with_a_json_413_before_it_is_read(api, vendors, settings):
    settings.API_MAX_BODY_BYTES = 1024
    body = json.dumps({**REPORT, "description": "x" * 2000})

    response = api.post("/api/v1/incidents", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "message": "The request body is too large: at most 1024 bytes are accepted.",
        "extra": {"code": "payload_too_large", "max_bytes": 1024},
    }
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_the_default_size_limit_takes_a_full_report_and_refuses_a_huge_one(api, vendors, legacy_customers, settings):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    full = {**REPORT, "description": "é" * 4000, "short_description": "ü" * 160}

    assert post(api, json.dumps(full, ensure_ascii=True)).status_code == 201
    assert post(api, {**REPORT, "description": "x" * settings.API_MAX_BODY_BYTES}).status_code == 413
    assert IncidentRequest.objects.count() == 1


def test_slack_markup_in_customer_text_arrives_escaped_through_the_whole_flow(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    hostile = {
        **REPORT,
        "name": "<!everyone> Eve",
        "short_description": "<!channel> urgent <@U123>",
        "description": "Please <https://evil.example/login|click here> & <!here>",
    }

    with django_capture_on_commit_callbacks(execute=True):
        assert post(api, hostile).status_code == 201

    [message] = vendors.slack_bodies()
    parsed = [message["text"], *mrkdwn_texts(message["blocks"])]  # what Slack reads as markup
    for markup in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil.example"):
        assert not any(markup in text for text in parsed), markup
    assert "Please &lt;https://evil.example/login|click here&gt; &amp; &lt;!here&gt;" in parsed
    # The header is plain_text, which Slack never parses: the customer's words show as typed.
    assert message["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "INC0010001 · P4 · <!channel> urgent <@U123>",
        "emoji": True,
    }
    assert IncidentRequest.objects.get().description == hostile["description"], "stored as typed, escaped on the way"


def test_urls_a_customer_types_are_never_fetched_only_the_configured_systems_are_called(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    urls = ("http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "http://127.0.0.1:6379/")
    report = {
        **REPORT,
        "name": urls[0],
        "order_number": "http://10.0.0.1/x",
        "short_description": f"See {urls[1]}",
        "description": " ".join(urls),
    }

    with django_capture_on_commit_callbacks(execute=True):
        assert post(api, report).status_code == 201

    called = {urlsplit(call.request.url).netloc for call in vendors.mock.calls}
    assert called == {urlsplit(base).netloc for base in (SN, SF, SLACK)}
    for call in vendors.mock.calls:
        path_and_query = call.request.url.split(urlsplit(call.request.url).netloc, 1)[1]
        assert not any(typed in path_and_query for typed in (*urls, "10.0.0.1")), call.request.url


def test_quotes_in_the_email_cannot_break_out_of_the_soql_literal(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows(sf_contact("o'brien@example.com"))
    vendors.servicenow_creates()
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, {**REPORT, "email": "o'brien@example.com", "order_number": "1042' OR Email != '"})

    assert response.status_code == 201
    [query] = [call for call in vendors.mock.calls if SF_QUERY.match(call.request.url)]
    soql = parse_qs(urlsplit(query.request.url).query)["q"][0]
    assert soql.endswith("FROM Contact WHERE Email = 'o\\'brien@example.com' ORDER BY LastModifiedDate DESC, Id DESC")
    assert "OR Email" not in soql, "the order number never goes into a query"
    assert IncidentRequest.objects.get().order_number == "1042' OR Email != '"
    assert len(vendors.calls_to(SLACK_POST)) == 1


def test_the_internal_apis_refuse_a_body_over_the_limit_too(admin_client, vendors, settings):
    settings.API_MAX_BODY_BYTES = 1024

    response = admin_client.post(
        "/api/system/slack/v1/messages", json.dumps({"text": "x" * 2000}), content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json()["extra"] == {"code": "payload_too_large", "max_bytes": 1024}
    assert len(vendors.mock.calls) == 0


def test_every_operation_that_takes_a_body_documents_the_413(admin_client):
    schema = admin_client.get("/api/internal/schema/", {"format": "json"}).json()

    with_body = [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        # The limit is the APIs' (LIMITED_PREFIXES); the token endpoint's form body is the OAuth toolkit's.
        if "requestBody" in operation and path.startswith(LIMITED_PREFIXES)
    ]
    assert {"/api/v1/incidents", "/api/system/slack/v1/messages"} <= {path for path, _, _ in with_body}
    for path, method, operation in with_body:
        assert operation["responses"]["413"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ApiError"
        }, f"{method} {path}"
