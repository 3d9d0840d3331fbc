"""The sandbox's Slack plays Slack's side of a modal: views.open with the trigger_id of a command, the
view_submission posted to Incident Hub (faked with `responses`) and each response_action it may answer with, and
the sandbox page that shows all of it."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
import responses

from sandbox.faults import update_faults
from sandbox.slack import interactivity, modals
from sandbox.slack.models import AppAnswer, Modal, Trigger
from tests.sandbox import test_slack_slash_commands as commands
from tests.sandbox.test_slack_slash_commands import (
    BOT_TOKEN,
    COMMAND_URL,
    INTERACTIONS_URL,
    TRIGGER_ID,
    form_of,
    send,
    signed_by_slack,
)

pytestmark = pytest.mark.django_db

# The same sandbox settings and faked Incident Hub as the slash command's tests.
sandbox = commands.sandbox
hub = commands.hub

AUTH = {"HTTP_AUTHORIZATION": f"Bearer {BOT_TOKEN}"}
JSON_UTF8 = "application/json; charset=utf-8"
PRIORITIES = [
    {"text": {"type": "plain_text", "text": "High"}, "value": "1"},
    {"text": {"type": "plain_text", "text": "Low"}, "value": "3"},
]
REPORT_VIEW = {
    "type": "modal",
    "callback_id": "report_incident",
    "private_metadata": '{"channel": "C0INCIDENTS"}',
    "title": {"type": "plain_text", "text": "Report an incident"},
    "submit": {"type": "plain_text", "text": "Report"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "What happened?"}},
        {
            "type": "input",
            "block_id": "summary",
            "label": {"type": "plain_text", "text": "Summary"},
            "element": {"type": "plain_text_input", "action_id": "summary_input", "max_length": 160},
        },
        {
            "type": "input",
            "block_id": "details",
            "optional": True,
            "label": {"type": "plain_text", "text": "Details"},
            "element": {"type": "plain_text_input", "action_id": "details_input", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "email",
            "label": {"type": "plain_text", "text": "Customer email"},
            "element": {"type": "email_text_input", "action_id": "email_input"},
        },
        {
            "type": "input",
            "block_id": "orders",
            "optional": True,
            "label": {"type": "plain_text", "text": "Orders affected"},
            "element": {"type": "number_input", "action_id": "orders_input", "is_decimal_allowed": False},
        },
        {
            "type": "input",
            "block_id": "priority",
            "label": {"type": "plain_text", "text": "Priority"},
            "element": {
                "type": "static_select",
                "action_id": "priority_select",
                "options": PRIORITIES,
                "initial_option": PRIORITIES[1],
            },
        },
    ],
}
FILLED_IN = {"summary": "Parcel never arrived", "email": "dana@example.com", "orders": "2", "priority": "1"}


def views_open(client, trigger_id, view=REPORT_VIEW, **auth):
    body = {"view": view} if trigger_id is None else {"trigger_id": trigger_id, "view": view}
    response = client.post("/slack/api/views.open", json.dumps(body), content_type=JSON_UTF8, **(auth or AUTH))
    assert response.status_code == 200
    return response.json()


def opened_by_command(client, hub, view=REPORT_VIEW) -> dict:
    """/incident report: Incident Hub opens a modal with the command's trigger_id before it answers (an empty 200)."""
    opened = {}

    def incident_hub(request):
        opened.update(views_open(client, form_of(request)["trigger_id"], view))
        return 200, {}, ""

    hub.add_callback(responses.POST, COMMAND_URL, callback=incident_hub)
    send(client, "report")
    assert opened["ok"], opened
    return opened["view"]


def submit(client, view_id: str, values: dict) -> dict:
    response = client.post(
        f"/slack/_sandbox/views/{view_id}/submit", json.dumps({"values": values}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def submission_of(call) -> dict:
    fields = parse_qs(call.request.body.decode())
    assert list(fields) == ["payload"]
    return json.loads(fields["payload"][0])


def answer_with(hub, *, body="", content_type="application/json", status=200):
    hub.add(responses.POST, INTERACTIONS_URL, body=body, status=status, content_type=content_type)


# --- views.open ---------------------------------------------------------------------------------------------


def test_views_open_with_the_commands_trigger_answers_the_view_as_slack_does(client, hub):
    view = opened_by_command(client, hub)

    modal = Modal.objects.get()
    assert view == {
        "id": modal.view_id,
        "team_id": "T0SANDBOX01",
        "type": "modal",
        "blocks": modal.view["blocks"],
        "private_metadata": '{"channel": "C0INCIDENTS"}',
        "callback_id": "report_incident",
        "state": {"values": {}},
        "hash": modal.hash,
        "title": REPORT_VIEW["title"],
        "clear_on_close": False,
        "notify_on_close": False,
        "close": REPORT_VIEW["close"],
        "submit": REPORT_VIEW["submit"],
        "previous_view_id": None,
        "root_view_id": modal.view_id,
        "app_id": "A0SANDBOXAP",
        "external_id": "",
        "app_installed_team_id": "T0SANDBOX01",
        "bot_id": "B0SANDBOXBT",
    }
    assert view["id"].startswith("V") and len(view["id"]) == 11
    assert modal.command.text == "report"
    assert Trigger.objects.get(trigger_id=modal.command.trigger_id).exchanged_at is not None


def test_views_open_gives_blocks_and_elements_without_ids_made_up_ones(client, hub):
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Look up"},
        "submit": {"type": "plain_text", "text": "Find"},
        "blocks": [
            {"type": "divider"},
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Reference"},
                "element": {"type": "plain_text_input"},
            },
        ],
    }

    opened = opened_by_command(client, hub, view)

    divider, field = opened["blocks"]
    assert divider["block_id"] and field["block_id"] and field["element"]["action_id"]
    assert "block_id" not in view["blocks"][0]


def test_views_open_takes_a_form_encoded_call_with_the_view_as_a_json_string(client, hub):
    hub.add(responses.POST, COMMAND_URL, body="")
    trigger_id = send(client, "report")["trigger_id"]

    response = client.post(
        "/slack/api/views.open",
        {"token": BOT_TOKEN, "trigger_id": trigger_id, "view": json.dumps(REPORT_VIEW)},
    )

    assert response.json()["ok"] is True
    assert Modal.objects.get().view["callback_id"] == "report_incident"


@pytest.fixture
def trigger_id(client, hub) -> str:
    hub.add(responses.POST, COMMAND_URL, body="")
    return send(client, "report")["trigger_id"]


def test_an_unknown_trigger_is_invalid_trigger_id(client, trigger_id):
    assert views_open(client, "1234567890.123456789012.abcdef") == {"ok": False, "error": "invalid_trigger_id"}
    assert Modal.objects.count() == 0


def test_a_trigger_opens_one_modal_only(client, trigger_id):
    assert views_open(client, trigger_id)["ok"] is True

    assert views_open(client, trigger_id) == {"ok": False, "error": "exchanged_trigger_id"}
    assert Modal.objects.count() == 1


def test_a_trigger_expires_after_three_seconds(client, trigger_id):
    Trigger.objects.update(issued_at=Trigger.objects.get().issued_at - timedelta(seconds=3, milliseconds=100))

    assert views_open(client, trigger_id) == {"ok": False, "error": "expired_trigger_id"}
    assert Modal.objects.count() == 0


def test_a_missing_trigger_is_invalid_arguments(client, trigger_id):
    assert views_open(client, None) == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] missing required field: trigger_id"]},
    }


@pytest.mark.parametrize(
    ("headers", "error"),
    [({"HTTP_X_NOTHING": "x"}, "not_authed"), ({"HTTP_AUTHORIZATION": "Bearer xoxb-wrong"}, "invalid_auth")],
)
def test_views_open_checks_the_bot_token(client, trigger_id, headers, error):
    assert views_open(client, trigger_id, **headers) == {"ok": False, "error": error}
    assert Trigger.objects.get().exchanged_at is None


def with_(**changes) -> dict:
    return {**REPORT_VIEW, **changes}


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (with_(type="home"), "[ERROR] must be modal [json-pointer:/view/type]"),
        (
            with_(title={"type": "plain_text", "text": "x" * 25}),
            "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]",
        ),
        (
            with_(title={"type": "mrkdwn", "text": "Report"}),
            "[ERROR] must be one of plain_text [json-pointer:/view/title/type]",
        ),
        (
            with_(submit={"type": "plain_text", "text": "y" * 25}),
            "[ERROR] must be less than 25 characters [json-pointer:/view/submit/text]",
        ),
        (
            with_(close={"type": "plain_text", "text": ""}),
            "[ERROR] must be more than 0 characters [json-pointer:/view/close/text]",
        ),
        (
            with_(submit=None),
            "[ERROR] must provide submit when blocks contain an input block [json-pointer:/view/submit]",
        ),
        (
            with_(blocks=[{"type": "divider"}] * 101),
            "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]",
        ),
        (
            with_(private_metadata="m" * 3001),
            "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]",
        ),
        (
            with_(
                blocks=[
                    {
                        "type": "input",
                        "label": {"type": "plain_text", "text": "Count"},
                        "element": {"type": "number_input"},
                    }
                ]
            ),
            "[ERROR] missing required field: is_decimal_allowed [json-pointer:/view/blocks/0/element]",
        ),
        (
            with_(
                blocks=[
                    {
                        "type": "input",
                        "label": {"type": "plain_text", "text": "Thing"},
                        "element": {"type": "magic_input"},
                    }
                ]
            ),
            "[ERROR] failed to match all allowed schemas [json-pointer:/view/blocks/0/element]",
        ),
        (
            with_(blocks=[{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]),
            "[ERROR] duplicate block_id 'a' [json-pointer:/view/blocks/1/block_id]",
        ),
        (None, "[ERROR] missing required field: view"),
    ],
)
def test_a_view_slack_would_refuse_is_invalid_arguments_and_keeps_the_trigger(client, trigger_id, view, message):
    assert views_open(client, trigger_id, view) == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": [message]},
    }

    assert views_open(client, trigger_id)["ok"] is True


def test_a_view_over_250kb_is_view_too_large(client, trigger_id):
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3000}}

    assert views_open(client, trigger_id, with_(blocks=[section] * 90)) == {"ok": False, "error": "view_too_large"}


def test_the_slack_fault_knobs_apply_to_views_open(client, trigger_id):
    update_faults("slack", {"fail_next": 1, "error_status": 503})

    response = client.post(
        "/slack/api/views.open",
        json.dumps({"trigger_id": trigger_id, "view": REPORT_VIEW}),
        content_type=JSON_UTF8,
        **AUTH,
    )

    assert (response.status_code, response.json()) == (503, {"ok": False, "error": "service_unavailable"})
    assert Trigger.objects.get().exchanged_at is None


# --- view_submission ----------------------------------------------------------------------------------------


def test_a_submission_is_a_signed_view_submission_with_slacks_state_values(client, hub):
    view = opened_by_command(client, hub)
    answer_with(hub, body="")

    submitted = submit(client, view["id"], {**FILLED_IN, "details": ""})

    call = hub.calls[-1]
    assert call.request.url == INTERACTIONS_URL
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.request.req_kwargs["timeout"] == (3.0, 3.0)
    assert signed_by_slack(call.request)
    payload = submission_of(call)
    modal = Modal.objects.get()
    user_id = interactivity.user_id_of("sandbox.user")
    assert {name: payload[name] for name in payload if name != "view" and name != "trigger_id"} == {
        "type": "view_submission",
        "team": {"id": "T0SANDBOX01", "domain": "incident-hub-sandbox"},
        "user": {"id": user_id, "username": "sandbox.user", "name": "sandbox.user", "team_id": "T0SANDBOX01"},
        "api_app_id": "A0SANDBOXAP",
        "token": interactivity.VERIFICATION_TOKEN,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    assert TRIGGER_ID.fullmatch(payload["trigger_id"])
    assert payload["trigger_id"] != modal.command.trigger_id
    assert Trigger.objects.filter(trigger_id=payload["trigger_id"], exchanged_at=None).exists()
    sent_view = payload["view"]
    assert (sent_view["id"], sent_view["callback_id"], sent_view["private_metadata"], sent_view["hash"]) == (
        view["id"],
        "report_incident",
        '{"channel": "C0INCIDENTS"}',
        view["hash"],
    )
    assert sent_view["blocks"] == view["blocks"]
    assert sent_view["state"] == {
        "values": {
            "summary": {"summary_input": {"type": "plain_text_input", "value": "Parcel never arrived"}},
            "details": {"details_input": {"type": "plain_text_input", "value": None}},
            "email": {"email_input": {"type": "email_text_input", "value": "dana@example.com"}},
            "orders": {"orders_input": {"type": "number_input", "value": "2"}},
            "priority": {"priority_select": {"type": "static_select", "selected_option": PRIORITIES[0]}},
        }
    }
    assert submitted["sent"] is True


def test_an_empty_200_closes_the_modal(client, hub):
    view = opened_by_command(client, hub)
    answer_with(hub, body="")

    submitted = submit(client, view["id"], FILLED_IN)

    assert submitted["answer"]["outcome"] == "ok"
    assert submitted["answer"]["message"] == {"response_action": None, "closed": [view["id"]]}
    assert (submitted["view"]["open"], submitted["view"]["closed_by"], submitted["open_views"]) == (
        False,
        "submitted",
        [],
    )
    assert client.get("/slack/_sandbox/views").json() == {"views": []}


def test_an_untouched_field_is_submitted_with_its_initial_option(client, hub):
    view = opened_by_command(client, hub)
    answer_with(hub, body="")

    submit(client, view["id"], {"summary": "Late", "email": "dana@example.com"})

    state = submission_of(hub.calls[-1])["view"]["state"]["values"]
    assert state["priority"] == {"priority_select": {"type": "static_select", "selected_option": PRIORITIES[1]}}
    assert state["orders"] == {"orders_input": {"type": "number_input", "value": None}}


def test_errors_keep_the_modal_open_with_each_message_under_its_block(client, hub):
    view = opened_by_command(client, hub)
    errors = {"email": "No customer has this email", "summary": "Say a little more"}
    answer_with(hub, body=json.dumps({"response_action": "errors", "errors": errors}))

    submitted = submit(client, view["id"], FILLED_IN)

    assert submitted["answer"]["message"] == {"response_action": "errors", "errors": errors}
    assert (submitted["view"]["open"], submitted["view"]["errors"]) == (True, errors)
    assert submitted["view"]["entered"]["email"] == "dana@example.com"
    page = client.get("/").content.decode()
    assert f'id="slack-view-{view["id"]}-email-error" role="alert">No customer has this email</p>' in page
    assert f'id="slack-view-{view["id"]}-summary-error" role="alert">Say a little more</p>' in page
    assert 'value="dana@example.com"' in page


def test_update_replaces_the_view_in_place_with_a_new_hash(client, hub):
    view = opened_by_command(client, hub)
    done = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Reported"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Reported as *IH-0000000001*"}}],
    }
    answer_with(hub, body=json.dumps({"response_action": "update", "view": done}))

    submitted = submit(client, view["id"], FILLED_IN)

    assert submitted["answer"]["message"] == {"response_action": "update", "view_id": view["id"]}
    shown = submitted["view"]
    assert (shown["view_id"], shown["open"], shown["title"]) == (view["id"], True, "Reported")
    assert shown["hash"] != view["hash"]
    assert (shown["entered"], shown["errors"]) == ({}, {})
    assert "Reported as *IH-0000000001*" in client.get("/").content.decode()


def test_clear_closes_the_modal(client, hub):
    view = opened_by_command(client, hub)
    answer_with(hub, body=json.dumps({"response_action": "clear"}))

    submitted = submit(client, view["id"], FILLED_IN)

    assert submitted["answer"]["message"] == {"response_action": "clear", "closed": [view["id"]]}
    assert (submitted["view"]["closed_by"], submitted["open_views"]) == ("cleared", [])


def test_push_puts_a_view_on_top_and_clear_closes_the_whole_stack(client, hub):
    view = opened_by_command(client, hub)
    confirm = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Sure?"},
        "submit": {"type": "plain_text", "text": "Yes"},
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "Report it?"}}],
    }
    answer_with(hub, body=json.dumps({"response_action": "push", "view": confirm}))
    answer_with(hub, body=json.dumps({"response_action": "clear"}))

    pushed_id = submit(client, view["id"], FILLED_IN)["answer"]["message"]["view_id"]

    listed = {entry["view_id"]: entry for entry in client.get("/slack/_sandbox/views").json()["views"]}
    assert (listed[pushed_id]["on_top"], listed[view["id"]]["on_top"]) == (True, False)
    assert (listed[pushed_id]["previous_view_id"], listed[pushed_id]["root_view_id"]) == (view["id"], view["id"])
    under = client.post(
        f"/slack/_sandbox/views/{view['id']}/submit", json.dumps({"values": {}}), content_type="application/json"
    )
    assert under.status_code == 409
    cleared = submit(client, pushed_id, {})
    assert sorted(cleared["answer"]["message"]["closed"]) == sorted([view["id"], pushed_id])
    assert cleared["open_views"] == []


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ({"body": requests.ReadTimeout("slow")}, "operation_timeout"),
        ({"status": 500, "body": "boom"}, "500_service_error"),
        ({"body": "<html>ok</html>", "content_type": "text/html"}, "invalid_json"),
        ({"body": json.dumps({"response_action": "errors", "errors": {"nope": "x"}})}, "invalid_errors"),
        ({"body": json.dumps({"response_action": "update", "view": {"type": "modal"}})}, "invalid_arguments"),
        ({"body": json.dumps({"response_action": "dance"})}, "unknown_response_action"),
    ],
)
def test_an_unusable_answer_keeps_the_modal_open_with_slacks_trouble_message(client, hub, reply, outcome):
    view = opened_by_command(client, hub)
    hub.add(responses.POST, INTERACTIONS_URL, **reply)

    submitted = submit(client, view["id"], FILLED_IN)

    assert submitted["answer"]["outcome"] == outcome
    assert (submitted["view"]["open"], submitted["view"]["problem"]) == (True, interactivity.TROUBLE)
    assert AppAnswer.objects.filter(kind="view_submission").get().outcome == outcome
    assert interactivity.TROUBLE in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({**FILLED_IN, "summary": "  "}, {"summary": modals.REQUIRED_MESSAGE}),
        ({**FILLED_IN, "email": "dana-at-example"}, {"email": modals.EMAIL_MESSAGE}),
        ({**FILLED_IN, "orders": "2.5"}, {"orders": "Please enter a whole number."}),
        ({**FILLED_IN, "priority": ""}, {"priority": modals.REQUIRED_MESSAGE}),
        ({**FILLED_IN, "summary": "s" * 161}, {"summary": "Please enter no more than 160 characters."}),
    ],
)
def test_slacks_client_keeps_back_a_form_it_would_not_submit(client, hub, values, errors):
    view = opened_by_command(client, hub)
    calls_before = len(hub.calls)

    submitted = submit(client, view["id"], values)

    assert (submitted["sent"], submitted["answer"], submitted["view"]["errors"]) == (False, None, errors)
    assert len(hub.calls) == calls_before


def test_values_for_blocks_the_modal_does_not_have_are_refused(client, hub):
    view = opened_by_command(client, hub)

    response = client.post(
        f"/slack/_sandbox/views/{view['id']}/submit",
        json.dumps({"values": {"colour": "red"}}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "no input block colour" in response.json()["error"]


def test_closing_tells_the_app_only_when_the_view_asks_to(client, hub):
    quiet = opened_by_command(client, hub)
    loud = opened_by_command(client, hub, with_(notify_on_close=True))
    answer_with(hub, body="")
    calls_before = len(hub.calls)

    client.post(f"/slack/_sandbox/views/{quiet['id']}/close")
    closed = client.post(f"/slack/_sandbox/views/{loud['id']}/close").json()

    assert len(hub.calls) == calls_before + 1
    payload = submission_of(hub.calls[-1])
    assert (payload["type"], payload["view"]["id"], payload["is_cleared"]) == ("view_closed", loud["id"], False)
    assert (closed["answer"]["kind"], closed["view"]["closed_by"]) == ("view_closed", "closed by the user")


# --- the sandbox page ---------------------------------------------------------------------------------------


def test_the_page_has_the_command_form(client):
    page = client.get("/").content.decode()

    assert '<h2 id="slack-command">Slack: /incident</h2>' in page
    assert 'action="/_sandbox/slack/command" id="slack-command-form"' in page
    assert '<input name="text" id="slack-command-text"' in page
    assert '<input name="user_name" id="slack-command-user"' in page
    assert 'id="slack-command-send"' in page
    assert "slack-command-retry" not in page


def test_the_page_form_sends_the_command_and_shows_an_ephemeral_answer(client, hub):
    hub.add(responses.POST, COMMAND_URL, json={"response_type": "ephemeral", "text": "Usage: /incident report"})

    response = client.post("/_sandbox/slack/command", {"text": "help", "user_name": "dana", "action": "send"})

    assert (response.status_code, response["Location"]) == (302, "/#slack-command")
    assert form_of(hub.calls[0].request)["user_name"] == "dana"
    page = client.get("/").content.decode()
    assert "Only visible to you:" in page and "Usage: /incident report" in page
    assert 'id="slack-command-retry"' in page


def test_the_page_form_retries_the_last_command(client, hub):
    hub.add(responses.POST, COMMAND_URL, body="")
    client.post("/_sandbox/slack/command", {"text": "help", "action": "send"})

    client.post("/_sandbox/slack/command", {"action": "retry"})

    assert hub.calls[1].request.headers["X-Slack-Retry-Num"] == "1"
    assert "(retry 1)" in client.get("/").content.decode()


def test_the_page_shows_a_timed_out_command_as_slack_tells_the_user(client, hub):
    hub.add(responses.POST, COMMAND_URL, body=requests.ReadTimeout("slow"))

    client.post("/_sandbox/slack/command", {"text": "help", "action": "send"})

    assert '/incident failed with the error "operation_timeout"' in client.get("/").content.decode()


def test_the_page_draws_the_open_modal_as_a_form_named_by_block_id(client, hub):
    view = opened_by_command(client, hub)
    prefix = f"slack-view-{view['id']}"

    page = client.get("/").content.decode()

    assert f'action="/_sandbox/slack/views/{view["id"]}/submit" id="{prefix}-form" novalidate' in page
    assert f'<input name="summary" id="{prefix}-summary"' in page
    assert f'<textarea name="details" id="{prefix}-details"' in page
    assert f'<input name="email" id="{prefix}-email"' in page and 'type="email"' in page
    assert f'<input name="orders" id="{prefix}-orders"' in page and 'type="number"' in page
    assert f'<select name="priority" id="{prefix}-priority">' in page
    assert '<option value="3" selected>Low</option>' in page
    assert f'<button id="{prefix}-submit">Report</button>' in page
    assert f'<button id="{prefix}-close">Cancel</button>' in page


def test_the_page_form_submits_the_modal(client, hub):
    view = opened_by_command(client, hub)
    answer_with(hub, body="")

    response = client.post(f"/_sandbox/slack/views/{view['id']}/submit", FILLED_IN)

    assert response.status_code == 302
    state = submission_of(hub.calls[-1])["view"]["state"]["values"]
    assert state["summary"]["summary_input"]["value"] == "Parcel never arrived"
    assert Modal.objects.get().closed_by == "submitted"
    assert "No modal open." in client.get("/").content.decode()


def test_the_page_shows_the_clients_own_message_under_a_field_left_empty(client, hub):
    view = opened_by_command(client, hub)

    client.post(f"/_sandbox/slack/views/{view['id']}/submit", {**FILLED_IN, "summary": ""})

    page = client.get("/").content.decode()
    assert f'id="slack-view-{view["id"]}-summary-error" role="alert">{modals.REQUIRED_MESSAGE}</p>' in page


def test_the_page_form_for_a_closed_view_says_so(client, hub):
    view = opened_by_command(client, hub)
    client.post(f"/_sandbox/slack/views/{view['id']}/close")

    response = client.post(f"/_sandbox/slack/views/{view['id']}/submit", FILLED_IN)

    assert response.status_code == 404
    assert f"no open view {view['id']}" in response.content.decode()
