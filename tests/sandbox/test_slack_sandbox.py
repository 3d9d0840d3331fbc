import json
import re
from datetime import timedelta

import pytest

from sandbox.faults import update_faults
from sandbox.slack.models import Message

pytestmark = pytest.mark.django_db

TOKEN = "xoxb-sandbox-incident-hub"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
JSON_UTF8 = "application/json; charset=utf-8"
URL = "/slack/api/chat.postMessage"
HEADER = {"type": "header", "text": {"type": "plain_text", "text": "New incident"}}
BODY = {"type": "section", "text": {"type": "mrkdwn", "text": "The parcel never arrived."}}


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SLACK_BOT_TOKEN = TOKEN
    settings.SANDBOX_SLACK_CHANNELS = {"incidents": "C0INCIDENTS", "general": "C0GENERAL01"}


def post_json(client, body, content_type=JSON_UTF8, **headers):
    return client.post(URL, json.dumps(body), content_type=content_type, **{**AUTH, **headers})


def test_post_message_answers_like_slack_and_keeps_the_message(client):
    response = post_json(client, {"channel": "C0INCIDENTS", "text": "fallback", "blocks": [HEADER, BODY]})

    answer = response.json()
    assert response.status_code == 200
    assert (answer["ok"], answer["channel"]) == (True, "C0INCIDENTS")
    assert re.fullmatch(r"\d{10}\.\d{6}", answer["ts"])
    assert answer["message"]["ts"] == answer["ts"]
    assert (answer["message"]["text"], answer["message"]["blocks"]) == ("fallback", [HEADER, BODY])
    assert "warning" not in answer and "response_metadata" not in answer
    stored = Message.objects.get()
    assert (stored.channel_id, stored.ts, stored.text, stored.blocks, stored.thread_ts) == (
        "C0INCIDENTS",
        answer["ts"],
        "fallback",
        [HEADER, BODY],
        "",
    )


@pytest.mark.parametrize(
    ("channel", "channel_id"),
    [
        ("C0INCIDENTS", "C0INCIDENTS"),
        ("incidents", "C0INCIDENTS"),
        ("#incidents", "C0INCIDENTS"),
        ("#general", "C0GENERAL01"),
    ],
)
def test_channels_are_found_by_id_or_name(client, channel, channel_id):
    answer = post_json(client, {"channel": channel, "text": "hi"}).json()

    assert (answer["ok"], answer["channel"]) == (True, channel_id)


@pytest.mark.parametrize("channel", ["#random", "C0UNKNOWN01", "", None])
def test_unknown_channel_is_channel_not_found_with_status_200_and_nothing_kept(client, channel):
    body = {"text": "hi"} if channel is None else {"channel": channel, "text": "hi"}

    response = post_json(client, body)

    assert (response.status_code, response.json()) == (200, {"ok": False, "error": "channel_not_found"})
    assert Message.objects.count() == 0


def test_missing_token_is_not_authed(client):
    response = client.post(URL, json.dumps({"channel": "#incidents", "text": "hi"}), content_type=JSON_UTF8)

    assert (response.status_code, response.json()) == (200, {"ok": False, "error": "not_authed"})
    assert Message.objects.count() == 0


def test_token_in_a_json_body_is_not_read_like_slack(client):
    body = json.dumps({"token": TOKEN, "channel": "#incidents", "text": "hi"})

    response = client.post(URL, body, content_type=JSON_UTF8)

    assert response.json() == {"ok": False, "error": "not_authed"}


@pytest.mark.parametrize("authorization", ["Bearer xoxb-wrong", "Basic eG94Yjp4", f"Bearer {TOKEN}x"])
def test_wrong_token_is_invalid_auth(client, authorization):
    response = post_json(client, {"channel": "#incidents", "text": "hi"}, HTTP_AUTHORIZATION=authorization)

    expected = {"ok": False, "error": "not_authed" if authorization.startswith("Basic") else "invalid_auth"}
    assert (response.status_code, response.json()) == (200, expected)
    assert Message.objects.count() == 0


def test_json_without_charset_is_accepted_with_slacks_warning(client):
    response = post_json(client, {"channel": "#incidents", "text": "hi"}, content_type="application/json")

    answer = response.json()
    assert answer["ok"] is True
    assert answer["warning"] == "missing_charset"
    assert answer["response_metadata"] == {"warnings": ["missing_charset"]}


def test_a_refusal_also_carries_the_charset_warning(client):
    response = post_json(client, {"channel": "#nope", "text": "hi"}, content_type="application/json")

    assert response.json() == {
        "ok": False,
        "error": "channel_not_found",
        "warning": "missing_charset",
        "response_metadata": {"warnings": ["missing_charset"]},
    }


def test_form_encoded_call_with_token_field_and_blocks_as_json_string(client):
    form = {
        "token": TOKEN,
        "channel": "#general",
        "text": "hi",
        "blocks": json.dumps([HEADER]),
        "thread_ts": "1.000001",
    }

    response = client.post(URL, form)

    answer = response.json()
    assert (answer["ok"], answer["channel"], answer["message"]["thread_ts"]) == (True, "C0GENERAL01", "1.000001")
    assert "warning" not in answer
    assert Message.objects.get().blocks == [HEADER]


def test_form_encoded_call_with_bearer_header(client):
    response = client.post(URL, {"channel": "incidents", "text": "hi"}, **AUTH)

    assert response.json()["ok"] is True


@pytest.mark.parametrize("body", [{"channel": "#incidents"}, {"channel": "#incidents", "text": "  ", "blocks": []}])
def test_neither_text_nor_blocks_is_no_text(client, body):
    response = post_json(client, body)

    assert response.json() == {"ok": False, "error": "no_text"}
    assert Message.objects.count() == 0


def test_blocks_without_text_are_enough(client):
    assert post_json(client, {"channel": "#incidents", "blocks": [BODY]}).json()["ok"] is True


@pytest.mark.parametrize(
    ("blocks", "detail"),
    [
        ({"type": "header"}, "must provide an array [json-pointer:/blocks]"),
        ("not json", "invalid JSON [json-pointer:/blocks]"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}], "[json-pointer:/blocks/0/text/type]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [HEADER, {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "must be less than 3001 characters [json-pointer:/blocks/1/text/text]",
        ),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "[json-pointer:/blocks/0/fields]"),
        ([{"type": "context", "elements": []}], "[json-pointer:/blocks/0/elements]"),
        ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
        ([HEADER] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
    ],
)
def test_invalid_blocks_are_refused_with_slacks_explanation(client, blocks, detail):
    response = post_json(client, {"channel": "#incidents", "text": "hi", "blocks": blocks})

    answer = response.json()
    assert (response.status_code, answer["ok"], answer["error"]) == (200, False, "invalid_blocks")
    assert detail in answer["errors"][0]
    assert answer["response_metadata"]["messages"] == [f"[ERROR] {answer['errors'][0]}"]
    assert Message.objects.count() == 0


def test_limits_themselves_are_allowed(client):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "x" * 150}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3000}},
    ]

    assert post_json(client, {"channel": "#incidents", "text": "hi", "blocks": blocks}).json()["ok"] is True


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ("{not json", JSON_UTF8, "invalid_json"),
        ("[1, 2]", JSON_UTF8, "json_not_object"),
        ("{}", "application/json; charset=koi8-r", "invalid_charset"),
        ("channel=x", "text/csv", "invalid_post_type"),
    ],
)
def test_malformed_calls_are_refused_like_slack(client, body, content_type, error):
    response = client.post(URL, body, content_type=content_type, **AUTH)

    assert (response.status_code, response.json()["error"]) == (200, error)


def test_every_message_gets_a_fresh_increasing_ts(client):
    answers = [post_json(client, {"channel": "#incidents", "text": str(n)}).json() for n in range(3)]

    stamps = [answer["ts"] for answer in answers]
    assert len(set(stamps)) == 3
    assert stamps == sorted(stamps)


def test_thread_ts_is_kept_and_a_malformed_one_refused(client):
    parent = post_json(client, {"channel": "#incidents", "text": "parent"}).json()

    reply = post_json(client, {"channel": "#incidents", "text": "reply", "thread_ts": parent["ts"]}).json()
    bad = post_json(client, {"channel": "#incidents", "text": "reply", "thread_ts": "yesterday"}).json()

    assert reply["message"]["thread_ts"] == parent["ts"]
    assert Message.objects.get(ts=reply["ts"]).thread_ts == parent["ts"]
    assert bad == {"ok": False, "error": "invalid_thread_ts"}


def test_rate_limit_fault_answers_429_with_retry_after_and_keeps_nothing(client):
    update_faults("slack", {"rate_limit_next": 1, "retry_after": 7})

    limited = post_json(client, {"channel": "#incidents", "text": "hi"})
    after = post_json(client, {"channel": "#incidents", "text": "hi"})

    assert (limited.status_code, limited["Retry-After"]) == (429, "7")
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    assert after.status_code == 200
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "error"), [(500, "internal_error"), (502, "internal_error"), (503, "service_unavailable")]
)
def test_error_fault_answers_like_slack_server_errors(client, status, error):
    update_faults("slack", {"fail_next": 1, "error_status": status})

    response = post_json(client, {"channel": "#incidents", "text": "hi"})

    assert (response.status_code, response.json()) == (status, {"ok": False, "error": error})
    assert Message.objects.count() == 0


def test_inspection_lists_messages_newest_first_and_filters_by_channel(client):
    first = post_json(client, {"channel": "#incidents", "text": "first"}).json()
    second = post_json(client, {"channel": "#general", "text": "second", "blocks": [BODY]}).json()

    listed = client.get("/slack/_sandbox/messages").json()
    incidents = client.get("/slack/_sandbox/messages", {"channel": "#incidents"}).json()

    assert [{key: m[key] for key in ("channel", "ts", "text", "blocks", "thread_ts")} for m in listed] == [
        {"channel": "C0GENERAL01", "ts": second["ts"], "text": "second", "blocks": [BODY], "thread_ts": None},
        {"channel": "C0INCIDENTS", "ts": first["ts"], "text": "first", "blocks": [], "thread_ts": None},
    ]
    assert [m["text"] for m in incidents] == ["first"]
    assert client.get("/slack/_sandbox/messages", {"channel": "#nope"}).json() == []


def test_inspection_delete_forgets_every_message(client):
    post_json(client, {"channel": "#incidents", "text": "hi"})

    deleted = client.delete("/slack/_sandbox/messages")

    assert deleted.json() == {"deleted": 1}
    assert client.get("/slack/_sandbox/messages").json() == []


def test_unknown_method_and_wrong_http_method(client):
    unknown = client.post("/slack/api/chat.postMesage", **AUTH)
    get = client.get(URL, **AUTH)

    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error": "unknown_method", "req_method": "chat.postMesage"},
    )
    assert get.status_code == 405


def test_sandbox_page_lists_the_messages(client):
    post_json(client, {"channel": "#incidents", "text": "shown on the page"})

    page = client.get("/")

    assert "shown on the page" in page.content.decode()


UPDATE_URL = "/slack/api/chat.update"
EDITED_HEADER = {"type": "header", "text": {"type": "plain_text", "text": "[In Progress] New incident"}}


def update_json(client, body, **headers):
    return client.post(UPDATE_URL, json.dumps(body), content_type=JSON_UTF8, **{**AUTH, **headers})


def test_chat_update_changes_the_bots_message_and_answers_like_slack(client):
    posted = post_json(client, {"channel": "#incidents", "text": "fallback", "blocks": [HEADER, BODY]}).json()

    response = update_json(
        client, {"channel": "C0INCIDENTS", "ts": posted["ts"], "text": "now", "blocks": [EDITED_HEADER, BODY]}
    )

    answer = response.json()
    assert response.status_code == 200
    assert (answer["ok"], answer["channel"], answer["ts"], answer["text"]) == (True, "C0INCIDENTS", posted["ts"], "now")
    assert answer["message"]["blocks"] == [EDITED_HEADER, BODY]
    assert answer["message"]["edited"]["user"] == "U0SANDBOXBT"
    stored = Message.objects.get()
    assert (stored.ts, stored.text, stored.blocks) == (posted["ts"], "now", [EDITED_HEADER, BODY])
    assert stored.edited_at is not None


def test_chat_update_without_blocks_keeps_the_messages_blocks(client):
    posted = post_json(client, {"channel": "#incidents", "text": "fallback", "blocks": [HEADER]}).json()

    update_json(client, {"channel": "C0INCIDENTS", "ts": posted["ts"], "text": "now"})

    assert Message.objects.get().blocks == [HEADER]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"channel": "C0INCIDENTS", "ts": "1700000000.000001", "text": "x"}, "message_not_found"),
        ({"channel": "C0INCIDENTS", "text": "x"}, "message_not_found"),
        ({"channel": "C0GENERAL01", "ts": None, "text": "x"}, "message_not_found"),
        ({"channel": "#incidents", "ts": None, "text": "x"}, "channel_not_found"),
        ({"channel": "C0UNKNOWN01", "ts": None, "text": "x"}, "channel_not_found"),
        ({"channel": "C0INCIDENTS", "ts": None, "text": " ", "blocks": []}, "no_text"),
        ({"channel": "C0INCIDENTS", "ts": None, "blocks": [{"type": "nope"}]}, "invalid_blocks"),
    ],
)
def test_chat_update_refusals_are_200_and_leave_the_message_as_it_was(client, body, error):
    posted = post_json(client, {"channel": "#incidents", "text": "fallback", "blocks": [HEADER]}).json()
    if "ts" in body and body["ts"] is None:
        body = {**body, "ts": posted["ts"]}

    response = update_json(client, body)

    assert (response.status_code, response.json()["ok"], response.json()["error"]) == (200, False, error)
    stored = Message.objects.get()
    assert (stored.text, stored.blocks, stored.edited_at) == ("fallback", [HEADER], None)


def test_chat_update_needs_the_token(client):
    posted = post_json(client, {"channel": "#incidents", "text": "fallback"}).json()

    response = client.post(
        UPDATE_URL, json.dumps({"channel": "C0INCIDENTS", "ts": posted["ts"], "text": "x"}), content_type=JSON_UTF8
    )

    assert response.json() == {"ok": False, "error": "not_authed"}
    assert Message.objects.get().text == "fallback"


def test_chat_update_after_the_edit_window_is_edit_window_closed(client, settings):
    settings.SANDBOX_SLACK_EDIT_WINDOW = 60
    posted = post_json(client, {"channel": "#incidents", "text": "fallback"}).json()
    Message.objects.update(posted_at=Message.objects.get().posted_at - timedelta(seconds=61))

    response = update_json(client, {"channel": "C0INCIDENTS", "ts": posted["ts"], "text": "x"})

    assert response.json() == {"ok": False, "error": "edit_window_closed"}


def test_chat_update_obeys_the_fault_knobs(client):
    posted = post_json(client, {"channel": "#incidents", "text": "fallback"}).json()
    update_faults("slack", {"error_rate": 1.0, "error_status": 503})

    response = update_json(client, {"channel": "C0INCIDENTS", "ts": posted["ts"], "text": "x"})

    assert (response.status_code, response.json()) == (503, {"ok": False, "error": "service_unavailable"})
    assert Message.objects.get().text == "fallback"


def test_inspection_shows_threads_and_edits(client):
    first = post_json(client, {"channel": "#incidents", "text": "first"}).json()
    reply = post_json(client, {"channel": "#incidents", "text": "reply", "thread_ts": first["ts"]}).json()
    post_json(client, {"channel": "#general", "text": "elsewhere"})
    update_json(client, {"channel": "C0INCIDENTS", "ts": first["ts"], "text": "first, edited"})

    thread = client.get("/slack/_sandbox/messages", {"thread_ts": first["ts"]}).json()

    assert [(m["ts"], m["text"], m["thread_ts"], m["replies"]) for m in thread] == [
        (reply["ts"], "reply", first["ts"], []),
        (first["ts"], "first, edited", None, [reply["ts"]]),
    ]
    assert thread[0]["edited_at"] is None and thread[1]["edited_at"] is not None


def test_sandbox_page_shows_each_thread_under_its_first_message_and_marks_edits(client):
    first = post_json(client, {"channel": "#incidents", "text": "INC0010042 new"}).json()
    post_json(client, {"channel": "#incidents", "text": "now In Progress", "thread_ts": first["ts"]})
    post_json(client, {"channel": "#incidents", "text": "now Resolved", "thread_ts": first["ts"]})
    update_json(client, {"channel": "C0INCIDENTS", "ts": first["ts"], "text": "INC0010042 resolved"})

    page = client.get("/").content.decode()

    first_at, progress_at, resolved_at = (
        page.index("INC0010042 resolved"),
        page.index("now In Progress"),
        page.index("now Resolved"),
    )
    assert first_at < progress_at < resolved_at
    assert "(edited)" in page[first_at:progress_at]
    assert page.count('class="slack-reply"') == 2
