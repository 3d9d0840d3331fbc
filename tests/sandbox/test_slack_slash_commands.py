"""The sandbox's Slack plays Slack's side of the /incident slash command against Incident Hub (faked here with
`responses`): the form-encoded, signed command, the 3-second wait for its answer, Slack's retry, and the command's
response_url."""

import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from slack_sdk.signature import SignatureVerifier

from sandbox.faults import update_faults
from sandbox.slack import interactivity
from sandbox.slack.models import AppAnswer, SlashCommand

pytestmark = pytest.mark.django_db

HUB = "https://hub.example"
COMMAND_URL = f"{HUB}/api/slack/v1/commands"
INTERACTIONS_URL = f"{HUB}/api/slack/v1/interactions"
SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-sandbox-incident-hub"
SANDBOX = "http://sandbox.test"
SLACK_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]
TRIGGER_ID = re.compile(r"\d{10}\.\d{12}\.[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_URL = SANDBOX
    settings.SANDBOX_SLACK_BOT_TOKEN = BOT_TOKEN
    settings.SANDBOX_SLACK_CHANNELS = {"incidents": "C0INCIDENTS", "general": "C0GENERAL01"}
    settings.SANDBOX_SLACK_SIGNING_SECRET = SECRET
    settings.SANDBOX_SLACK_COMMAND_URL = COMMAND_URL
    settings.SANDBOX_SLACK_INTERACTIONS_URL = INTERACTIONS_URL


@pytest.fixture
def hub():
    """Incident Hub's Slack endpoints, faked; nothing reaches a network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def send(client, text: str = "report The parcel never arrived", **extra) -> dict:
    response = client.post(
        "/slack/_sandbox/commands", json.dumps({"text": text, **extra}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def form_of(request) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.body.decode(), keep_blank_values=True).items()}


def signed_by_slack(request, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid_request(request.body, dict(request.headers))


def post_to_response_url(client, url: str, message) -> tuple[int, dict]:
    body = message if isinstance(message, str) else json.dumps(message)
    response = client.post(urlsplit(url).path, body, content_type="application/json")
    return response.status_code, response.json()


def test_the_command_is_posted_form_encoded_with_slacks_fields_in_slacks_order(client, hub):
    hub.add(responses.POST, COMMAND_URL, body="")

    sent = send(client, "report The parcel never arrived", user_name="dana")

    request = hub.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == "Slackbot 1.0 (+https://api.slack.com/robots)"
    assert list(parse_qs(request.body.decode(), keep_blank_values=True)) == SLACK_FIELDS
    fields = form_of(request)
    command = SlashCommand.objects.get()
    assert fields == {
        "token": interactivity.VERIFICATION_TOKEN,
        "team_id": "T0SANDBOX01",
        "team_domain": "incident-hub-sandbox",
        "channel_id": "C0INCIDENTS",
        "channel_name": "incidents",
        "user_id": interactivity.user_id_of("dana"),
        "user_name": "dana",
        "command": "/incident",
        "text": "report The parcel never arrived",
        "api_app_id": "A0SANDBOXAP",
        "is_enterprise_install": "false",
        "response_url": f"{SANDBOX}/slack/commands/T0SANDBOX01/{command.pk}/{command.response_token}",
        "trigger_id": command.trigger_id,
    }
    assert re.fullmatch(r"U[A-Z0-9]{10}", fields["user_id"])
    assert TRIGGER_ID.fullmatch(fields["trigger_id"])
    assert (sent["trigger_id"], sent["response_url"]) == (fields["trigger_id"], fields["response_url"])
    assert command.body == request.body.decode()


def test_every_command_is_signed_as_slack_signs_requests(client, hub):
    hub.add(responses.POST, COMMAND_URL, body="")
    before = int(time.time())

    send(client, "status IH-0000000001")

    request = hub.calls[0].request
    timestamp = request.headers["X-Slack-Request-Timestamp"]
    assert before <= int(timestamp) <= int(time.time())
    expected = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=request.body)
    assert request.headers["X-Slack-Signature"] == expected
    assert signed_by_slack(request)
    assert not signed_by_slack(request, secret="another-secret")


def test_the_same_user_name_is_the_same_user_id_and_a_blank_one_is_the_sandbox_user(client, hub):
    hub.add(responses.POST, COMMAND_URL, body="")

    send(client, "help", user_name="dana")
    send(client, "help", user_name="dana")
    send(client, "help", user_name="")

    sent = [form_of(call.request) for call in hub.calls]
    assert sent[0]["user_id"] == sent[1]["user_id"] != sent[2]["user_id"]
    assert sent[2]["user_name"] == "sandbox.user"
    assert sent[0]["trigger_id"] != sent[1]["trigger_id"]


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/plain", "", None),
        (
            "text/plain; charset=utf-8",
            "Looking that up...",
            {"response_type": "ephemeral", "text": "Looking that up...", "blocks": []},
        ),
        (
            "application/json",
            json.dumps({"response_type": "in_channel", "text": "Reported", "blocks": [{"type": "divider"}]}),
            {"response_type": "in_channel", "text": "Reported", "blocks": [{"type": "divider"}]},
        ),
        (
            "application/json; charset=utf-8",
            json.dumps({"text": "Only for you"}),
            {"response_type": "ephemeral", "text": "Only for you", "blocks": []},
        ),
    ],
)
def test_the_synchronous_answer_is_recorded_as_the_user_sees_it(client, hub, content_type, body, message):
    hub.add(responses.POST, COMMAND_URL, body=body, content_type=content_type)

    answer = send(client)["answer"]

    assert (answer["kind"], answer["status"], answer["outcome"], answer["message"]) == ("command", 200, "ok", message)
    assert answer["body"] == body
    assert isinstance(answer["elapsed_ms"], int)
    stored = AppAnswer.objects.get()
    assert (stored.kind, stored.status, stored.message) == ("command", 200, message)


def test_slack_waits_three_seconds_and_records_operation_timeout(client, hub):
    hub.add(responses.POST, COMMAND_URL, body=requests.ReadTimeout("read timed out"))

    answer = send(client)["answer"]

    assert hub.calls[0].request.req_kwargs["timeout"] == (3.0, 3.0)
    assert (answer["status"], answer["outcome"], answer["message"], answer["body"]) == (
        None,
        "operation_timeout",
        None,
        "",
    )
    assert AppAnswer.objects.get().outcome == "operation_timeout"


@pytest.mark.parametrize(
    ("reply", "status", "outcome"),
    [
        ({"body": requests.ConnectionError("refused")}, None, "dispatch_failed"),
        ({"status": 500, "body": "boom"}, 500, "500_service_error"),
        ({"status": 404, "body": "not here"}, 404, "404_client_error"),
    ],
)
def test_an_unusable_answer_is_recorded_with_slacks_name_for_it(client, hub, reply, status, outcome):
    hub.add(responses.POST, COMMAND_URL, **reply)

    answer = send(client)["answer"]

    assert (answer["status"], answer["outcome"], answer["message"]) == (status, outcome, None)


def test_no_pooled_connection_is_held_while_incident_hub_is_waited_on(client, hub, monkeypatch):
    events: list[str] = []
    monkeypatch.setattr(interactivity, "release_db_connections", lambda: events.append("released"))
    hub.add_callback(responses.POST, COMMAND_URL, callback=lambda request: events.append("posted") or (200, {}, ""))

    send(client)

    assert events == ["released", "posted"]


def test_a_retry_sends_the_same_body_newly_signed_with_slacks_retry_headers(client, hub):
    hub.add(responses.POST, COMMAND_URL, body=requests.ReadTimeout("slow"))
    hub.add(responses.POST, COMMAND_URL, body="")
    sent = send(client, "report Card declined")

    retried = send(client, retry=True)
    again = send(client, retry=True)

    first, second, third = (call.request for call in hub.calls)
    assert first.body == second.body == third.body
    assert "X-Slack-Retry-Num" not in first.headers and "X-Slack-Retry-Reason" not in first.headers
    assert (second.headers["X-Slack-Retry-Num"], second.headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert third.headers["X-Slack-Retry-Num"] == "2"
    assert all(signed_by_slack(request) for request in (first, second, third))
    assert retried["command"]["id"] == sent["command"]["id"]
    assert (retried["answer"]["retry_num"], retried["answer"]["outcome"]) == (1, "ok")
    assert (again["command"]["retries"], again["answer"]["retry_num"]) == (2, 2)
    assert [answer.retry_num for answer in AppAnswer.objects.order_by("id")] == [0, 1, 2]


def test_slack_retries_at_most_three_times(client, hub):
    hub.add(responses.POST, COMMAND_URL, body="")
    send(client)
    for _ in range(3):
        send(client, retry=True)

    response = client.post("/slack/_sandbox/commands", json.dumps({"retry": True}), content_type="application/json")

    assert response.status_code == 400
    assert "at most 3 times" in response.json()["error"]
    assert len(hub.calls) == 4


def test_a_retry_without_a_command_is_refused_and_nothing_is_sent(client, hub):
    response = client.post("/slack/_sandbox/commands", json.dumps({"retry": True}), content_type="application/json")

    assert (response.status_code, response.json()) == (404, {"error": "no command to retry yet"})
    assert len(hub.calls) == 0


def test_an_unknown_channel_is_refused_and_nothing_is_sent(client, hub):
    response = client.post(
        "/slack/_sandbox/commands",
        json.dumps({"text": "help", "channel": "#random"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "no channel #random" in response.json()["error"]
    assert (len(hub.calls), SlashCommand.objects.count()) == (0, 0)


def test_the_command_and_interactions_urls_default_to_incident_hub_under_make_run(settings, monkeypatch):
    del settings.SANDBOX_SLACK_COMMAND_URL
    del settings.SANDBOX_SLACK_INTERACTIONS_URL
    monkeypatch.delenv("SANDBOX_SLACK_COMMAND_URL", raising=False)
    monkeypatch.delenv("SANDBOX_SLACK_INTERACTIONS_URL", raising=False)
    monkeypatch.setenv("WEB_PORT", "9000")

    assert interactivity.command_url() == "http://127.0.0.1:9000/api/slack/v1/commands"
    assert interactivity.interactions_url() == "http://127.0.0.1:9000/api/slack/v1/interactions"


# --- the response_url ---------------------------------------------------------------------------------------


@pytest.fixture
def response_url(client, hub) -> str:
    hub.add(responses.POST, COMMAND_URL, body="")
    return send(client, "report Parcel lost")["response_url"]


def test_the_response_url_takes_a_message_and_answers_ok_as_slack_does(client, response_url):
    message = {"response_type": "in_channel", "text": "Reported as IH-0000000001", "replace_original": True}

    assert post_to_response_url(client, response_url, message) == (200, {"ok": True})

    posted = AppAnswer.objects.filter(kind="response_url").get()
    assert (posted.status, posted.outcome, posted.message) == (
        200,
        "ok",
        {
            "response_type": "in_channel",
            "text": "Reported as IH-0000000001",
            "blocks": [],
            "replace_original": True,
            "delete_original": False,
        },
    )
    assert posted.command == SlashCommand.objects.get()


def test_the_response_url_takes_five_messages_then_answers_used_url(client, response_url):
    statuses = [post_to_response_url(client, response_url, {"text": f"update {n}"})[0] for n in range(5)]

    assert statuses == [200] * 5
    assert post_to_response_url(client, response_url, {"text": "one more"}) == (
        404,
        {"ok": False, "error": "used_url"},
    )
    assert SlashCommand.objects.get().response_url_uses == 5


def test_the_response_url_expires_30_minutes_after_the_command(client, response_url):
    SlashCommand.objects.update(sent_at=SlashCommand.objects.get().sent_at - timedelta(minutes=30, seconds=1))

    assert post_to_response_url(client, response_url, {"text": "late"}) == (404, {"ok": False, "error": "expired_url"})
    assert SlashCommand.objects.get().response_url_uses == 0


@pytest.mark.parametrize(
    ("message", "status", "error"),
    [
        ("not json", 400, "invalid_payload"),
        ([1, 2], 400, "invalid_payload"),
        ({"response_type": "ephemeral"}, 400, "no_text"),
        ({"text": "   "}, 400, "no_text"),
        (
            {"text": "hi", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]},
            400,
            "invalid_blocks",
        ),
    ],
)
def test_a_bad_message_is_refused_and_does_not_use_the_url_up(client, response_url, message, status, error):
    assert post_to_response_url(client, response_url, message) == (status, {"ok": False, "error": error})

    assert SlashCommand.objects.get().response_url_uses == 0
    assert AppAnswer.objects.filter(kind="response_url").get().outcome == error


def test_delete_original_needs_no_text(client, response_url):
    assert post_to_response_url(client, response_url, {"delete_original": True}) == (200, {"ok": True})


def test_an_unknown_response_url_is_no_service(client, response_url):
    command = SlashCommand.objects.get()
    wrong = f"{SANDBOX}/slack/commands/T0SANDBOX01/{command.pk}/not-the-token"

    assert post_to_response_url(client, wrong, {"text": "hi"}) == (404, {"ok": False, "error": "no_service"})


def test_the_slack_fault_knobs_apply_to_the_response_url(client, response_url):
    update_faults("slack", {"fail_next": 1, "error_status": 503})

    assert post_to_response_url(client, response_url, {"text": "hi"})[0] == 503
    assert post_to_response_url(client, response_url, {"text": "hi"}) == (200, {"ok": True})


def test_every_answer_is_listed_newest_first_with_its_command(client, hub, response_url):
    post_to_response_url(client, response_url, {"text": "Created INC0010001"})

    listed = client.get("/slack/_sandbox/responses").json()["responses"]

    assert [(entry["kind"], entry["outcome"]) for entry in listed] == [("response_url", "ok"), ("command", "ok")]
    assert listed[0]["message"]["text"] == "Created INC0010001"
    assert listed[0]["command"]["text"] == listed[1]["command"]["text"] == "report Parcel lost"
    assert listed[0]["command"]["response_url"] == response_url
    assert [entry["kind"] for entry in client.get("/slack/_sandbox/responses?kind=command").json()["responses"]] == [
        "command"
    ]


def test_delete_forgets_commands_and_answers(client, response_url):
    assert client.delete("/slack/_sandbox/responses").status_code == 200

    assert (SlashCommand.objects.count(), AppAnswer.objects.count()) == (0, 0)
