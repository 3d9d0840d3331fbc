"""views.open: a modal for the person whose action gave the trigger_id."""

import pytest
import requests
import responses
from responses import matchers

from system_apis.errors import (
    SystemAuthError,
    SystemBadRequest,
    SystemPaced,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from system_apis.quota import quota_hold
from system_apis.slack.client import SlackClient
from tests.conftest import load_fixture

API = "https://slack.test/api/"
VIEWS_OPEN_URL = "https://slack.test/api/views.open"
TOKEN = "xoxb-test-token"
TRIGGER = "12345.98765.abcd2358fdea"
VIEW = {
    "type": "modal",
    "callback_id": "incident_report",
    "title": {"type": "plain_text", "text": "Report an incident"},
    "submit": {"type": "plain_text", "text": "Report"},
    "blocks": [
        {
            "type": "input",
            "block_id": "summary",
            "label": {"type": "plain_text", "text": "What happened?"},
            "element": {"type": "plain_text_input", "action_id": "summary"},
        }
    ],
}


def make_client() -> SlackClient:
    return SlackClient(base_url=API, token=TOKEN, default_channel="#incidents", timeout=(1.0, 2.0))


@responses.activate
def test_open_view_sends_the_trigger_and_the_view_with_the_bot_token_and_returns_the_views_id():
    responses.post(
        VIEWS_OPEN_URL,
        json=load_fixture("slack/views_open_ok.json"),
        match=[
            matchers.header_matcher(
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json; charset=utf-8"}
            ),
            matchers.json_params_matcher({"trigger_id": TRIGGER, "view": VIEW}, strict_match=True),
        ],
    )

    view_id = make_client().open_view(TRIGGER, VIEW)

    assert view_id == "VMHU10V25"
    assert [(call.request.method, call.request.url) for call in responses.calls] == [("POST", VIEWS_OPEN_URL)]


@responses.activate
def test_open_view_from_settings_goes_to_the_configured_web_api(settings):
    settings.SLACK_API_URL = "https://other.slack.test/api/"
    settings.SLACK_BOT_TOKEN = "xoxb-from-settings"
    responses.post(
        "https://other.slack.test/api/views.open",
        json=load_fixture("slack/views_open_ok.json"),
        match=[matchers.header_matcher({"Authorization": "Bearer xoxb-from-settings"})],
    )

    assert SlackClient.from_settings().open_view(TRIGGER, VIEW) == "VMHU10V25"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("expired_trigger_id", SystemBadRequest),
        ("exchanged_trigger_id", SystemBadRequest),
        ("invalid_trigger_id", SystemBadRequest),
        ("view_too_large", SystemBadRequest),
        ("duplicate_external_id", SystemBadRequest),
        ("invalid_arguments", SystemBadRequest),
        ("invalid_auth", SystemAuthError),
        ("missing_scope", SystemAuthError),
    ],
)
@responses.activate
def test_every_refusal_of_a_view_is_its_typed_error_and_not_retryable(code, kind):
    responses.post(VIEWS_OPEN_URL, json={"ok": False, "error": code})

    with pytest.raises(kind) as raised:
        make_client().open_view(TRIGGER, VIEW)

    assert type(raised.value) is kind
    assert (raised.value.system, raised.value.operation) == ("slack", "open_view")
    assert (raised.value.status, raised.value.vendor_code) == (200, code)
    assert raised.value.retryable is False
    assert len(responses.calls) == 1


@pytest.mark.parametrize("fixture", ["slack/error_expired_trigger_id.json", "slack/error_view_too_large.json"])
@responses.activate
def test_a_spent_trigger_or_a_view_too_large_says_so_in_the_message(fixture):
    body = load_fixture(fixture)
    responses.post(VIEWS_OPEN_URL, json=body)

    with pytest.raises(SystemBadRequest) as raised:
        make_client().open_view(TRIGGER, VIEW)

    assert str(raised.value) == f"slack.open_view (HTTP 200) [{body['error']}]: Slack refused the call: {body['error']}"


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "12"}, SystemRateLimited),
        (503, {"ok": False, "error": "service_unavailable"}, {}, SystemUnavailable),
        (500, {"ok": False, "error": "internal_error"}, {}, SystemUnavailable),
    ],
)
@responses.activate
def test_a_busy_or_failing_slack_is_retryable(status, body, headers, kind):
    responses.post(VIEWS_OPEN_URL, json=body, status=status, headers=headers)

    with pytest.raises(kind) as raised:
        make_client().open_view(TRIGGER, VIEW)

    assert raised.value.retryable is True
    assert raised.value.retry_after == (12.0 if status == 429 else None)


@responses.activate
def test_a_read_timeout_is_retryable_but_the_trigger_may_be_spent():
    responses.post(VIEWS_OPEN_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(SystemTimeout) as raised:
        make_client().open_view(TRIGGER, VIEW)

    assert (raised.value.retryable, raised.value.request_sent) == (True, True)


@pytest.mark.parametrize("body", ['{"ok": true}', '{"ok": true, "view": {}}', '{"ok": true, "view": "V1"}', "<html/>"])
@responses.activate
def test_an_answer_without_the_views_id_is_a_protocol_error(body):
    responses.post(VIEWS_OPEN_URL, body=body, content_type="application/json")

    with pytest.raises(SystemProtocolError) as raised:
        make_client().open_view(TRIGGER, VIEW)

    assert raised.value.operation == "open_view"


@responses.activate
def test_open_view_is_held_back_unsent_while_slack_is_on_hold():
    responses.post(VIEWS_OPEN_URL, json=load_fixture("slack/views_open_ok.json"))
    quota_hold("slack", seconds=30, reason="Slack asked us to slow down")

    with pytest.raises(SystemPaced):
        make_client().open_view(TRIGGER, VIEW)

    assert len(responses.calls) == 0
