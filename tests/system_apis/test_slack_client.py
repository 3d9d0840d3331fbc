import json

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
from system_apis.slack.client import SlackClient
from system_apis.slack.types import Notice, PostedMessage
from tests.conftest import load_fixture

API = "https://slack.test/api/"
POST_MESSAGE_URL = "https://slack.test/api/chat.postMessage"
TOKEN = "xoxb-test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json; charset=utf-8"}


def make_client() -> SlackClient:
    return SlackClient(base_url=API, token=TOKEN, default_channel="#incidents", timeout=(1.0, 2.0))


def plain_notice(**overrides) -> Notice:
    return Notice(**{"title": "New incident", "text": "The parcel never arrived.", **overrides})


def sent_body(call_index: int = 0) -> dict:
    return json.loads(responses.calls[call_index].request.body)


@responses.activate
def test_post_notice_sends_the_exact_request_and_returns_where_slack_put_it():
    expected_body = {
        "channel": "#incidents",
        "text": "The parcel never arrived.",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "New incident IH-7K2M9Q4D1X", "emoji": True}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Customer*\nAda Lovelace", "verbatim": True},
                    {"type": "mrkdwn", "text": "*ServiceNow*\nINC0010001", "verbatim": True},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "The parcel never arrived.", "verbatim": True}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "<https://hub.example/incidents/IH-7K2M9Q4D1X|Open>",
                    "verbatim": True,
                },
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "trace 4bf92f3577b34da6", "verbatim": True}]},
        ],
    }
    responses.post(
        POST_MESSAGE_URL,
        json=load_fixture("slack/post_message_ok.json"),
        match=[matchers.header_matcher(HEADERS), matchers.json_params_matcher(expected_body, strict_match=True)],
    )
    notice = Notice(
        title="New incident IH-7K2M9Q4D1X",
        text="The parcel never arrived.",
        fields=(("Customer", "Ada Lovelace"), ("ServiceNow", "INC0010001")),
        context="trace 4bf92f3577b34da6",
        link=("Open", "https://hub.example/incidents/IH-7K2M9Q4D1X"),
    )

    posted = make_client().post_notice(notice)

    assert posted == PostedMessage(channel="C0INCIDENTS", ts="1700000000.000100")
    assert len(responses.calls) == 1
    assert responses.calls[0].request.method == "POST"
    assert responses.calls[0].request.url == POST_MESSAGE_URL


@responses.activate
def test_minimal_notice_has_only_header_and_body_and_no_thread_ts():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))

    make_client().post_notice(plain_notice(), channel="C0GENERAL01")

    assert sent_body() == {
        "channel": "C0GENERAL01",
        "text": "The parcel never arrived.",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "New incident", "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "The parcel never arrived.", "verbatim": True}},
        ],
    }


@responses.activate
def test_thread_ts_makes_the_notice_a_thread_reply():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))

    make_client().post_notice(plain_notice(thread_ts="1700000000.000100"))

    assert sent_body()["thread_ts"] == "1700000000.000100"


@responses.activate
def test_user_text_cannot_mention_everyone_or_forge_links():
    """Escaped, and every mrkdwn object verbatim: Slack links or pings nothing in it that is not marked up."""
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))
    notice = Notice(
        title="<!channel> refund",
        text="<!channel> see <http://evil|click> & pay",
        fields=(("<b>Name</b>", "Tom & <@U123>"),),
        context="from <!here>",
        link=("<!channel> click", "https://hub.example/a?b=1&c=2"),
    )

    make_client().post_notice(notice)

    body = sent_body()
    assert body["text"] == "&lt;!channel&gt; see &lt;http://evil|click&gt; &amp; pay"
    assert body["blocks"] == [
        # Header text is plain_text: Slack never parses it, so it stays as typed.
        {"type": "header", "text": {"type": "plain_text", "text": "<!channel> refund", "emoji": True}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*&lt;b&gt;Name&lt;/b&gt;*\nTom &amp; &lt;@U123&gt;", "verbatim": True}
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "&lt;!channel&gt; see &lt;http://evil|click&gt; &amp; pay",
                "verbatim": True,
            },
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "<https://hub.example/a?b=1&amp;c=2|&lt;!channel&gt; click>",
                "verbatim": True,
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "from &lt;!here&gt;", "verbatim": True}]},
    ]


@responses.activate
def test_link_url_cannot_break_out_of_the_link():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))

    make_client().post_notice(plain_notice(link=("Open", "https://hub.example/x|<!channel>> y")))

    assert sent_body()["blocks"][-1]["text"]["text"] == "<https://hub.example/x%7C%3C!channel%3E%3E%20y|Open>"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://files.example/x", "hub.example/x", "https://"])
@responses.activate
def test_only_http_links_are_accepted_and_nothing_is_sent(url):
    with pytest.raises(ValueError, match="http or https"):
        plain_notice(link=("Open", url))

    assert len(responses.calls) == 0


def test_a_notice_needs_a_title():
    with pytest.raises(ValueError, match="title"):
        Notice(title="  ", text="body")


@responses.activate
def test_header_is_truncated_to_150_characters_with_an_ellipsis():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))

    make_client().post_notice(plain_notice(title="x" * 151))
    make_client().post_notice(plain_notice(title="y" * 150))

    assert sent_body(0)["blocks"][0]["text"]["text"] == "x" * 149 + "…"
    assert sent_body(1)["blocks"][0]["text"]["text"] == "y" * 150


@responses.activate
def test_body_is_truncated_to_3000_characters_after_escaping():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))

    make_client().post_notice(plain_notice(text="a" * 3500))
    make_client().post_notice(plain_notice(text="b" * 2996 + "&&"))

    assert sent_body(0)["blocks"][1]["text"]["text"] == "a" * 2999 + "…"
    # "&amp;" is never cut in half: the partial entity is dropped before the ellipsis.
    assert sent_body(1)["blocks"][1]["text"]["text"] == "b" * 2996 + "…"


@responses.activate
def test_more_than_ten_fields_are_split_over_sections():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok.json"))

    make_client().post_notice(plain_notice(fields=[(f"k{i}", f"v{i}") for i in range(12)]))

    sections = [block for block in sent_body()["blocks"] if "fields" in block]
    assert [len(section["fields"]) for section in sections] == [10, 2]
    assert sections[1]["fields"][1] == {"type": "mrkdwn", "text": "*k11*\nv11", "verbatim": True}


@responses.activate
def test_from_settings_uses_the_configured_url_token_and_channel(settings):
    settings.SLACK_API_URL = "https://other.slack.test/api/"
    settings.SLACK_BOT_TOKEN = "xoxb-from-settings"
    settings.SLACK_CHANNEL = "C0INCIDENTS"
    settings.SLACK_TIMEOUT = (1.5, 4.0)
    responses.post(
        "https://other.slack.test/api/chat.postMessage",
        json=load_fixture("slack/post_message_ok.json"),
        match=[matchers.header_matcher({"Authorization": "Bearer xoxb-from-settings"})],
    )

    client = SlackClient.from_settings()
    client.post_notice(plain_notice())

    assert client.timeout == (1.5, 4.0)
    assert sent_body()["channel"] == "C0INCIDENTS"


@responses.activate
def test_success_with_a_warning_is_still_a_success():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/post_message_ok_missing_charset.json"))

    posted = make_client().post_notice(plain_notice())

    assert posted == PostedMessage(channel="C0INCIDENTS", ts="1700000000.000200")


ERROR_KINDS = [
    ("not_authed", SystemAuthError),
    ("invalid_auth", SystemAuthError),
    ("account_inactive", SystemAuthError),
    ("token_revoked", SystemAuthError),
    ("token_expired", SystemAuthError),
    ("missing_scope", SystemAuthError),
    ("not_allowed_token_type", SystemAuthError),
    ("channel_not_found", SystemNotFound),
    ("ratelimited", SystemRateLimited),
    ("internal_error", SystemUnavailable),
    ("fatal_error", SystemUnavailable),
    ("service_unavailable", SystemUnavailable),
    ("request_timeout", SystemUnavailable),
    ("not_in_channel", SystemBadRequest),
    ("is_archived", SystemBadRequest),
    ("msg_too_long", SystemBadRequest),
    ("no_text", SystemBadRequest),
    ("invalid_blocks", SystemBadRequest),
    ("invalid_arguments", SystemBadRequest),
    ("restricted_action", SystemBadRequest),
    ("some_future_error", SystemBadRequest),
]


@pytest.mark.parametrize(("code", "kind"), ERROR_KINDS)
@responses.activate
def test_every_logical_error_becomes_its_typed_error(code, kind):
    responses.post(POST_MESSAGE_URL, json={**load_fixture("slack/error.json"), "error": code}, status=200)

    with pytest.raises(kind) as raised:
        make_client().post_notice(plain_notice())

    assert type(raised.value) is kind
    assert (raised.value.system, raised.value.operation) == ("slack", "post_message")
    assert (raised.value.status, raised.value.vendor_code) == (200, code)
    assert len(responses.calls) == 1


@responses.activate
def test_missing_scope_says_which_scope_is_needed():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/error_missing_scope.json"))

    with pytest.raises(SystemAuthError) as raised:
        make_client().post_notice(plain_notice())

    assert raised.value.message == "Slack refused the call: missing_scope (needs chat:write)"


@responses.activate
def test_invalid_blocks_keeps_slacks_explanation_in_the_error_body():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/error_invalid_blocks.json"))

    with pytest.raises(SystemBadRequest) as raised:
        make_client().post_notice(plain_notice())

    assert raised.value.vendor_code == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in raised.value.body


@responses.activate
def test_http_429_is_rate_limited_with_retry_after():
    responses.post(
        POST_MESSAGE_URL, json=load_fixture("slack/error_ratelimited.json"), status=429, headers={"Retry-After": "30"}
    )

    with pytest.raises(SystemRateLimited) as raised:
        make_client().post_notice(plain_notice())

    assert (raised.value.status, raised.value.retry_after, raised.value.vendor_code) == (429, 30.0, "ratelimited")
    assert len(responses.calls) == 1


@responses.activate
def test_ratelimited_answer_with_status_200_still_reads_retry_after():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/error_ratelimited.json"), headers={"Retry-After": "3"})

    with pytest.raises(SystemRateLimited) as raised:
        make_client().post_notice(plain_notice())

    assert raised.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (500, load_fixture("slack/error_internal_error.json"), "internal_error"),
        (503, {"ok": False, "error": "service_unavailable"}, "service_unavailable"),
        (502, "<html>Bad Gateway</html>", None),
        (504, "", None),
    ],
)
@responses.activate
def test_server_errors_are_unavailable(status, body, code):
    if isinstance(body, dict):
        responses.post(POST_MESSAGE_URL, json=body, status=status)
    else:
        responses.post(POST_MESSAGE_URL, body=body, status=status)

    with pytest.raises(SystemUnavailable) as raised:
        make_client().post_notice(plain_notice())

    assert (raised.value.status, raised.value.vendor_code) == (status, code)


@responses.activate
def test_a_wrong_api_url_is_a_bad_request_not_a_missing_record():
    responses.post(POST_MESSAGE_URL, json=load_fixture("slack/error_unknown_method.json"), status=404)

    with pytest.raises(SystemBadRequest) as raised:
        make_client().post_notice(plain_notice())

    assert (raised.value.status, raised.value.vendor_code) == (404, "unknown_method")


@responses.activate
def test_connect_timeout_means_the_message_was_not_sent():
    responses.post(POST_MESSAGE_URL, body=requests.ConnectTimeout("no route"))

    with pytest.raises(SystemTimeout) as raised:
        make_client().post_notice(plain_notice())

    assert raised.value.request_sent is False
    assert isinstance(raised.value.__cause__, requests.ConnectTimeout)


@responses.activate
def test_read_timeout_means_the_message_may_have_been_posted():
    responses.post(POST_MESSAGE_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(SystemTimeout) as raised:
        make_client().post_notice(plain_notice())

    assert raised.value.request_sent is True
    assert len(responses.calls) == 1


@responses.activate
def test_connection_refused_is_unavailable():
    responses.post(POST_MESSAGE_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(SystemUnavailable):
        make_client().post_notice(plain_notice())


@pytest.mark.parametrize(
    "body",
    ["<html>login</html>", '{"ok": true}', '{"ok": true, "channel": "C0INCIDENTS"}', "[]", '{"ok": false}'],
)
@responses.activate
def test_answers_that_are_not_slack_envelopes_are_protocol_errors(body):
    responses.post(POST_MESSAGE_URL, body=body, status=200, content_type="application/json")

    with pytest.raises(SystemProtocolError):
        make_client().post_notice(plain_notice())


UPDATE_URL = "https://slack.test/api/chat.update"


@responses.activate
def test_update_notice_sends_channel_ts_and_the_new_message_and_returns_it():
    expected_body = {
        "channel": "C0INCIDENTS",
        "ts": "1700000000.000100",
        "text": "The parcel never arrived.",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "INC0010042 · In Progress", "emoji": True}},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": "*State*\nIn Progress", "verbatim": True}],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "The parcel never arrived.", "verbatim": True}},
        ],
    }
    responses.post(
        UPDATE_URL,
        json=load_fixture("slack/update_message_ok.json"),
        match=[matchers.header_matcher(HEADERS), matchers.json_params_matcher(expected_body, strict_match=True)],
    )
    notice = plain_notice(title="INC0010042 · In Progress", fields=(("State", "In Progress"),))

    updated = make_client().update_notice(notice, channel_id="C0INCIDENTS", ts="1700000000.000100")

    assert updated == PostedMessage(channel="C0INCIDENTS", ts="1700000000.000100")
    assert [call.request.url for call in responses.calls] == [UPDATE_URL]


@responses.activate
def test_update_notice_is_not_paced_like_posts(settings):
    responses.post(UPDATE_URL, json=load_fixture("slack/update_message_ok.json"))
    responses.post(UPDATE_URL, json=load_fixture("slack/update_message_ok.json"))
    client = SlackClient(
        base_url=API, token=TOKEN, default_channel="#incidents", timeout=(1.0, 2.0), posts_per_second=1
    )

    for _ in range(2):
        client.update_notice(plain_notice(), channel_id="C0INCIDENTS", ts="1700000000.000100")

    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("fixture", "kind", "code"),
    [
        ("slack/error_message_not_found.json", SystemNotFound, "message_not_found"),
        ("slack/error_cant_update_message.json", SystemBadRequest, "cant_update_message"),
        ("slack/error_edit_window_closed.json", SystemBadRequest, "edit_window_closed"),
        ("slack/error.json", SystemNotFound, "channel_not_found"),
    ],
)
@responses.activate
def test_update_refusals_are_typed_and_not_retryable(fixture, kind, code):
    responses.post(UPDATE_URL, json=load_fixture(fixture), status=200)

    with pytest.raises(kind) as raised:
        make_client().update_notice(plain_notice(), channel_id="C0INCIDENTS", ts="1700000000.000100")

    assert type(raised.value) is kind
    assert (raised.value.operation, raised.value.status, raised.value.vendor_code) == ("update_message", 200, code)
    assert raised.value.retryable is False
    assert len(responses.calls) == 1


@responses.activate
def test_update_answered_without_ts_is_a_protocol_error():
    responses.post(UPDATE_URL, json={"ok": True, "channel": "C0INCIDENTS"})

    with pytest.raises(SystemProtocolError) as raised:
        make_client().update_notice(plain_notice(), channel_id="C0INCIDENTS", ts="1700000000.000100")

    assert raised.value.message == "chat.update answered ok without channel and ts"


@responses.activate
def test_update_during_a_slack_outage_is_retryable():
    responses.post(UPDATE_URL, json={"ok": False, "error": "service_unavailable"}, status=503)

    with pytest.raises(SystemUnavailable) as raised:
        make_client().update_notice(plain_notice(), channel_id="C0INCIDENTS", ts="1700000000.000100")

    assert raised.value.retryable is True
