"""Answers through a response_url (Slack's delayed responses): JSON, no token, only where the prefixes allow."""

import json
import logging

import pytest
import requests
import responses
from responses import matchers

from system_apis.errors import (
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemPaced,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from system_apis.quota import quota_hold
from system_apis.slack.client import SlackClient, SlackResponseUrlRefused

RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1234567890/AbCdEfGhIjKlMnOp"
MESSAGE = {
    "response_type": "ephemeral",
    "replace_original": False,
    "text": "IH-7K2M9Q4D1X is In Progress · INC0010042",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*IH-7K2M9Q4D1X* is In Progress"}}],
}
SPENT = "Slack takes no more answers at this response_url (it takes 5, within 30 minutes)"


def make_client(**overrides) -> SlackClient:
    return SlackClient(
        base_url="https://slack.test/api/",
        token="xoxb-test-token",
        default_channel="#incidents",
        timeout=(1.0, 2.0),
        **overrides,
    )


@responses.activate
def test_respond_posts_the_message_as_json_to_the_response_url_without_the_bot_token():
    responses.post(
        RESPONSE_URL,
        body="ok",
        content_type="text/html",
        match=[
            matchers.header_matcher({"Content-Type": "application/json; charset=utf-8"}),
            matchers.json_params_matcher(MESSAGE, strict_match=True),
        ],
    )

    assert make_client().respond(RESPONSE_URL, MESSAGE) is None

    sent = responses.calls[0].request
    assert (sent.method, sent.url) == ("POST", RESPONSE_URL)
    assert "Authorization" not in sent.headers
    assert "xoxb-test-token" not in str(dict(sent.headers)) + sent.body.decode()


@responses.activate
def test_respond_can_replace_or_delete_the_original_message():
    responses.post(RESPONSE_URL, json={"ok": True})
    responses.post(RESPONSE_URL, json={"ok": True})

    make_client().respond(RESPONSE_URL, {"replace_original": True, "text": "Reported: IH-7K2M9Q4D1X"})
    make_client().respond(RESPONSE_URL, {"delete_original": True})

    assert [json.loads(call.request.body) for call in responses.calls] == [
        {"replace_original": True, "text": "Reported: IH-7K2M9Q4D1X"},
        {"delete_original": True},
    ]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("ok", "text/html"), ("ok\n", "text/plain"), ('{"ok": true}', "application/json"), ("", "text/plain")],
)
@responses.activate
def test_slacks_ways_of_saying_ok_are_all_success(body, content_type):
    responses.post(RESPONSE_URL, body=body, content_type=content_type)

    make_client().respond(RESPONSE_URL, MESSAGE)

    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (404, "Expired url", "expired_url"),
        (404, '{"ok": false, "error": "expired_url"}', "expired_url"),
        (200, '{"ok": false, "error": "expired_url"}', "expired_url"),
        (404, "", None),
        (404, "<html><body>Not Found</body></html>", None),
        (410, "", None),
    ],
)
@responses.activate
def test_an_expired_or_used_up_response_url_is_not_found_and_not_retryable(status, body, code):
    responses.post(RESPONSE_URL, body=body, status=status)

    with pytest.raises(SystemNotFound) as raised:
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert type(raised.value) is SystemNotFound
    assert raised.value.message == f"{SPENT}: {code or status}"
    assert (raised.value.system, raised.value.operation) == ("slack", "respond")
    assert (raised.value.status, raised.value.vendor_code) == (status, code)
    assert raised.value.retryable is False
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "code", "kind"),
    [
        (400, "invalid_payload", "invalid_payload", SystemBadRequest),
        (400, "no_text", "no_text", SystemBadRequest),
        (400, '{"ok": false, "error": "invalid_blocks"}', "invalid_blocks", SystemBadRequest),
        (200, '{"ok": false, "error": "invalid_blocks"}', "invalid_blocks", SystemBadRequest),
        (200, "no_text", "no_text", SystemBadRequest),
        (403, "action_prohibited", "action_prohibited", SystemBadRequest),
        (400, "<html/>", None, SystemBadRequest),
        (403, "", None, SystemAuthError),
    ],
)
@responses.activate
def test_a_message_slack_will_not_take_is_a_bad_request_not_retried(status, body, code, kind):
    responses.post(RESPONSE_URL, body=body, status=status)

    with pytest.raises(kind) as raised:
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert type(raised.value) is kind
    assert (raised.value.status, raised.value.vendor_code) == (status, code)
    expected = f"Slack refused the answer: {code}" if code else f"Slack refused the answer (HTTP {status})"
    assert raised.value.message == expected
    assert raised.value.retryable is False


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retry_after"),
    [
        (429, "rate_limited", {"Retry-After": "9"}, SystemRateLimited, 9.0),
        (500, "rollup_error", {}, SystemUnavailable, None),
        (502, "<html>Bad Gateway</html>", {}, SystemUnavailable, None),
        (503, '{"ok": false, "error": "service_unavailable"}', {"Retry-After": "4"}, SystemUnavailable, 4.0),
    ],
)
@responses.activate
def test_a_busy_or_failing_slack_is_retryable(status, body, headers, kind, retry_after):
    responses.post(RESPONSE_URL, body=body, status=status, headers=headers)

    with pytest.raises(kind) as raised:
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert type(raised.value) is kind
    assert (raised.value.status, raised.value.retry_after) == (status, retry_after)
    assert raised.value.retryable is True


@responses.activate
def test_a_connect_timeout_sent_nothing_and_a_read_timeout_may_have_answered():
    responses.post(RESPONSE_URL, body=requests.ConnectTimeout("no route"))
    responses.post(RESPONSE_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(SystemTimeout) as not_sent:
        make_client().respond(RESPONSE_URL, MESSAGE)
    with pytest.raises(SystemTimeout) as maybe_sent:
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert (not_sent.value.retryable, not_sent.value.request_sent) == (True, False)
    assert (maybe_sent.value.retryable, maybe_sent.value.request_sent) == (True, True)


@responses.activate
def test_a_redirect_is_not_followed():
    responses.post(RESPONSE_URL, status=307, headers={"Location": "https://evil.example/collect"})
    responses.post("https://evil.example/collect", body="ok")

    with pytest.raises(SystemProtocolError) as raised:
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert raised.value.message == "Slack answered 307 Temporary Redirect: a redirect, not followed"
    assert [call.request.url for call in responses.calls] == [RESPONSE_URL]


@responses.activate
def test_a_success_status_with_an_unreadable_body_is_a_protocol_error():
    responses.post(RESPONSE_URL, body="<html>Sign in to your proxy</html>", status=200)

    with pytest.raises(SystemProtocolError) as raised:
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert raised.value.message == "Slack answered 200 with neither ok nor an error code"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com.evil.example/commands/T0001/1/SeCrEt",
        "https://hooks.slack.com@evil.example/commands/T0001/1/SeCrEt",
        "https://hooks.slack.com:8443/commands/T0001/1/SeCrEt",
        "http://hooks.slack.com/commands/T0001/1/SeCrEt",
        "https://slack.test/api/chat.postMessage",
        "http://127.0.0.1:8001/slack/response/SeCrEt",
        "https://hooks.slack.com\\@evil.example/SeCrEt",
    ],
)
@responses.activate
def test_a_response_url_the_prefixes_do_not_admit_is_refused_unsent_naming_the_setting(url):
    with pytest.raises(SlackResponseUrlRefused) as raised:
        make_client().respond(url, MESSAGE)

    assert isinstance(raised.value, SystemBadRequest)
    assert raised.value.retryable is False
    assert (raised.value.system, raised.value.operation) == ("slack", "respond")
    assert raised.value.message.startswith("not sent: ")
    assert raised.value.message.endswith("; SLACK_RESPONSE_URL_PREFIXES says where answers may go")
    assert "SeCrEt" not in str(raised.value), "the URL's path is the capability to answer"
    assert len(responses.calls) == 0


@responses.activate
def test_the_sandboxs_response_urls_are_answered_when_the_prefixes_admit_them(settings):
    sandbox_url = "http://127.0.0.1:8001/slack/response/7f3a"
    settings.SLACK_RESPONSE_URL_PREFIXES = ["https://hooks.slack.com/", "http://127.0.0.1:8001/slack/"]
    responses.post(sandbox_url, json={"ok": True})

    SlackClient.from_settings().respond(sandbox_url, MESSAGE)
    with pytest.raises(SlackResponseUrlRefused):
        make_client().respond(sandbox_url, MESSAGE)

    assert [call.request.url for call in responses.calls] == [sandbox_url]


@responses.activate
def test_respond_is_held_back_unsent_while_slack_is_on_hold():
    responses.post(RESPONSE_URL, body="ok")
    quota_hold("slack", seconds=30, reason="Slack asked us to slow down")

    with pytest.raises(SystemPaced):
        make_client().respond(RESPONSE_URL, MESSAGE)

    assert len(responses.calls) == 0


@responses.activate
def test_the_call_is_logged_without_the_response_urls_secret_path(caplog):
    caplog.set_level(logging.INFO, logger="system_apis.calls")
    responses.post(RESPONSE_URL, body="ok")

    make_client().respond(RESPONSE_URL, MESSAGE)

    [call] = [record for record in caplog.records if getattr(record, "layer", "") == "system"]
    assert (call.operation, call.outcome, call.url_path) == ("respond", 200, "/commands/...")
    assert "AbCdEfGhIjKlMnOp" not in caplog.text


@responses.activate
def test_a_response_url_with_its_scheme_in_capitals_goes_where_the_guard_looked():
    responses.post(RESPONSE_URL, body="ok", content_type="text/html")

    make_client().respond("HTTPS://hooks.slack.com/commands/T0001/1234567890/AbCdEfGhIjKlMnOp", MESSAGE)

    [sent] = responses.calls
    assert sent.request.url == RESPONSE_URL, "never the Web API base with the URL appended"
