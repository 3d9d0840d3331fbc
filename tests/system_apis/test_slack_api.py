import json

import pytest
import responses
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import load_fixture

pytestmark = pytest.mark.django_db

URL = "/api/system/slack/v1/messages"
SLACK = "https://slack.test/api/chat.postMessage"


@pytest.fixture(autouse=True)
def slack_settings(settings):
    settings.SLACK_API_URL = "https://slack.test/api/"
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_CHANNEL = "#incidents"


def post(client, body: dict):
    return client.post(URL, json.dumps(body), content_type="application/json")


@responses.activate
def test_staff_posts_a_message_and_gets_channel_and_ts(admin_client):
    responses.post(SLACK, json=load_fixture("slack/post_message_ok.json"))

    response = post(
        admin_client,
        {
            "channel": "C0GENERAL01",
            "title": "New incident",
            "text": "The parcel <never> arrived.",
            "fields": [{"label": "Customer", "value": "Ada Lovelace"}],
            "context": "trace 4bf92f35",
            "link_label": "Open",
            "link_url": "https://hub.example/incidents/IH-1",
        },
    )

    assert response.status_code == 201
    assert response.json() == {"channel": "C0INCIDENTS", "ts": "1700000000.000100"}
    assert json.loads(responses.calls[0].request.body) == {
        "channel": "C0GENERAL01",
        "text": "The parcel &lt;never&gt; arrived.",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "New incident", "emoji": True}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Customer*\nAda Lovelace", "verbatim": True}]},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "The parcel &lt;never&gt; arrived.", "verbatim": True},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "<https://hub.example/incidents/IH-1|Open>", "verbatim": True},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "trace 4bf92f35", "verbatim": True}]},
        ],
    }


@responses.activate
def test_channel_defaults_to_the_configured_one_and_link_label_to_the_url(admin_client):
    responses.post(SLACK, json=load_fixture("slack/post_message_ok.json"))

    response = post(admin_client, {"title": "T", "text": "B", "link_url": "http://hub.example/x"})

    assert response.status_code == 201
    sent = json.loads(responses.calls[0].request.body)
    assert sent["channel"] == "#incidents"
    assert sent["blocks"][-1]["text"]["text"] == "<http://hub.example/x|http://hub.example/x>"


@responses.activate
def test_anonymous_callers_are_refused_and_nothing_is_posted(client):
    response = post(client, {"title": "T", "text": "B"})

    assert response.status_code == 401  # not authenticated: asked to authenticate
    assert len(responses.calls) == 0


@responses.activate
def test_non_staff_users_are_refused_and_nothing_is_posted(client, django_user_model):
    user = django_user_model.objects.create_user(username="reporter", password="pw")
    client.force_login(user)

    response = post(client, {"title": "T", "text": "B"})

    assert response.status_code == 403
    assert len(responses.calls) == 0


@pytest.mark.parametrize("link_url", ["javascript:alert(1)", "ftp://files.example/a", "not a url", "https://"])
@responses.activate
def test_a_link_that_is_not_http_is_refused_and_nothing_is_posted(admin_client, link_url):
    response = post(admin_client, {"title": "T", "text": "B", "link_label": "Open", "link_url": link_url})

    assert response.status_code == 400
    assert response.json() == {
        "message": "The request is not valid.",
        "extra": {"fields": {"link_url": ["Enter an http or https URL."]}},
    }
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "B"}, "title"),
        ({"title": "T"}, "text"),
        ({"title": "x" * 151, "text": "B"}, "title"),
        ({"title": "T", "text": "x" * 3001}, "text"),
        ({"title": "T", "text": "B", "context": "x" * 301}, "context"),
        ({"title": "T", "text": "B", "fields": [{"label": "k", "value": "v"}] * 11}, "fields"),
        ({"title": "T", "text": "B", "fields": [{"label": "k"}]}, "fields"),
        ({"title": "T", "text": "B", "link_label": "Open"}, "link_url"),
        ({"title": "T", "text": "B", "thread_ts": "yesterday"}, "thread_ts"),
    ],
)
@responses.activate
def test_invalid_input_is_refused_with_the_field_named(admin_client, body, field):
    response = post(admin_client, body)

    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("slack_status", "slack_body", "headers", "status"),
    [
        (200, {"ok": False, "error": "channel_not_found"}, {}, 404),
        (200, {"ok": False, "error": "invalid_auth"}, {}, 502),
        (200, {"ok": False, "error": "is_archived"}, {}, 400),
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "12"}, 429),
        (500, {"ok": False, "error": "internal_error"}, {}, 503),
    ],
)
@responses.activate
def test_slack_errors_become_fitting_statuses(admin_client, slack_status, slack_body, headers, status):
    responses.post(SLACK, json=slack_body, status=slack_status, headers=headers)

    response = post(admin_client, {"title": "T", "text": "B"})

    assert response.status_code == status
    assert response.json()["extra"]["vendor_code"] == slack_body["error"]
    assert response.get("Retry-After") == headers.get("Retry-After")


def test_schema_describes_the_endpoint():
    generator = SchemaGenerator(patterns=[path("api/system/slack/v1/", include("system_apis.slack.urls"))])

    schema = generator.get_schema(request=None, public=True)

    operation = schema["paths"]["/api/system/slack/v1/messages"]["post"]
    assert operation["operationId"] == "slack_post_message"
    assert set(operation["responses"]) == {"201", "400", "401", "403", "404", "413", "415", "429", "502", "503", "504"}
    assert operation["responses"]["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    components = schema["components"]["schemas"]
    assert set(components["SlackMessageInput"]["required"]) == {"title", "text"}
    assert set(components["SlackMessageOutput"]["properties"]) == {"channel", "ts"}


UPDATE_URL = "/api/system/slack/v1/messages/C0INCIDENTS/1700000000.000100"
SLACK_UPDATE = "https://slack.test/api/chat.update"


def put(client, body: dict, url: str = UPDATE_URL):
    return client.put(url, json.dumps(body), content_type="application/json")


@responses.activate
def test_staff_rewrites_a_posted_message(admin_client):
    responses.post(SLACK_UPDATE, json=load_fixture("slack/update_message_ok.json"))

    response = put(admin_client, {"title": "[Resolved] INC0010042", "text": "Found <at> the depot."})

    assert (response.status_code, response.json()) == (200, {"channel": "C0INCIDENTS", "ts": "1700000000.000100"})
    sent = json.loads(responses.calls[0].request.body)
    assert (sent["channel"], sent["ts"]) == ("C0INCIDENTS", "1700000000.000100")
    assert sent["text"] == "Found &lt;at&gt; the depot."
    assert sent["blocks"][0]["text"]["text"] == "[Resolved] INC0010042"


@pytest.mark.parametrize(
    ("error", "status"),
    [("message_not_found", 404), ("channel_not_found", 404), ("cant_update_message", 400), ("edit_window_closed", 400)],
)
@responses.activate
def test_update_refusals_become_fitting_statuses(admin_client, error, status):
    responses.post(SLACK_UPDATE, json={"ok": False, "error": error})

    response = put(admin_client, {"title": "T", "text": "B"})

    assert response.status_code == status
    assert (response.json()["extra"]["vendor_code"], response.json()["extra"]["operation"]) == (error, "update_message")


@pytest.mark.parametrize(
    "url",
    [
        "/api/system/slack/v1/messages/%23incidents/1700000000.000100",
        "/api/system/slack/v1/messages/C0INCIDENTS/yesterday",
    ],
)
@responses.activate
def test_update_needs_a_channel_id_and_a_ts(admin_client, url):
    response = put(admin_client, {"title": "T", "text": "B"}, url=url)

    assert response.status_code == 404
    assert len(responses.calls) == 0


@responses.activate
def test_anonymous_callers_cannot_update_and_nothing_is_sent(client):
    response = put(client, {"title": "T", "text": "B"})

    assert response.status_code == 401
    assert len(responses.calls) == 0


def test_schema_describes_the_update():
    generator = SchemaGenerator(patterns=[path("api/system/slack/v1/", include("system_apis.slack.urls"))])

    schema = generator.get_schema(request=None, public=True)

    operation = schema["paths"]["/api/system/slack/v1/messages/{channel}/{ts}"]["put"]
    assert operation["operationId"] == "slack_update_message"
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "413", "415", "429", "502", "503", "504"}
    assert set(schema["components"]["schemas"]["SlackMessageUpdateInput"]["required"]) == {"title", "text"}
    assert "channel" not in schema["components"]["schemas"]["SlackMessageUpdateInput"]["properties"]
