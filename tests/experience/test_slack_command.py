"""The Slack consumer: `/incident` and its modal, signed by Slack, answered within its three seconds."""

import hashlib
import hmac
import json
import time
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.test import Client, RequestFactory

from experience_apis.slack.commands import typed_text
from experience_apis.slack.models import SlackAnswer
from experience_apis.slack.signing import slack_request_verified
from kernel.errors import NotAcceptedError
from kernel.models import Work
from kernel.work import work_run
from operations.selectors import incident_timeline
from process_apis.models import IncidentRequest
from tests.reports import stored_report
from tests.vendors import SLACK_RESPONSE_URL, SLACK_VIEWS_OPEN, SN_INCIDENTS, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

SECRET = "sandbox-slack-signing-secret"
COMMANDS, INTERACTIONS = "/api/slack/v1/commands", "/api/slack/v1/interactions"


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(timestamp), "HTTP_X_SLACK_SIGNATURE": f"v0={digest}"}


def command_body(text: str, *, trigger_id: str = "13345224609.738474920.8088930838d88f008e0") -> str:
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": "T0INCIDENT",
            "team_domain": "shop",
            "channel_id": "C0SUPPORT",
            "channel_name": "support",
            "user_id": "U0GRACE",
            "user_name": "grace",
            "command": "/incident",
            "text": text,
            "api_app_id": "A0INCIDENT",
            "is_enterprise_install": "false",
            "response_url": SLACK_RESPONSE_URL,
            "trigger_id": trigger_id,
        }
    )


def slash(client: Client, text: str, *, headers: dict | None = None, **options):
    body = command_body(text, **options)
    return client.post(
        COMMANDS,
        body,
        content_type="application/x-www-form-urlencoded",
        **(signed(body) if headers is None else headers),
    )


def interact(client: Client, payload: dict, *, headers: dict | None = None):
    body = urlencode({"payload": json.dumps(payload)})
    return client.post(
        INTERACTIONS,
        body,
        content_type="application/x-www-form-urlencoded",
        **(signed(body) if headers is None else headers),
    )


@pytest.fixture(autouse=True)
def our_workspace(settings):
    settings.SLACK_TEAM_IDS = ["T0INCIDENT"]


@pytest.fixture
def vendors_up(vendors, legacy_customers):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.slack_accepts()
    return vendors


def test_slacks_own_published_signing_example_verifies(settings):
    # docs.slack.dev, "Verifying requests from Slack": its example secret, timestamp, body and signature.
    settings.SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": "1531420618",
        "HTTP_X_SLACK_SIGNATURE": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    request = RequestFactory().post(COMMANDS, body, content_type="application/x-www-form-urlencoded", **headers)

    assert slack_request_verified(request, now=1531420618 + 60)
    assert not slack_request_verified(request, now=1531420618 + 301)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time()))},
        signed(command_body("status IH-0000000000"), secret="not-the-secret"),
        signed(command_body("status IH-0000000000"), timestamp=int(time.time()) - 301),
        signed(command_body("status IH-0000000001")),  # a signature of another body
        {**signed(command_body("status IH-0000000000")), "HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon"},
        {**signed(command_body("status IH-0000000000")), "HTTP_X_SLACK_SIGNATURE": "v0=é"},
    ],
    ids=["missing", "no-signature", "wrong-secret", "stale", "other-body", "bad-timestamp", "not-ascii"],
)
def test_a_request_without_slacks_valid_fresh_signature_is_refused(client, vendors, headers):
    stored_report(reference="IH-0000000000")

    for response in (
        slash(client, "status IH-0000000000", headers=headers),
        interact(client, {"type": "view_submission"}, headers=headers),
    ):
        assert response.status_code == 401
    assert len(vendors.mock.calls) == 0


def test_a_report_by_command_answers_its_reference_and_servicenow_number_and_says_who_filed_it(
    client, vendors_up, django_capture_on_commit_callbacks
):
    vendors_up.servicenow_creates("INC0010042")

    with django_capture_on_commit_callbacks(execute=True):
        # Typed text comes &-escaped from Slack.
        response = slash(client, "report ada.lovelace@example.com order 2 Parcel never arrived &lt;!channel&gt;")

    assert response.status_code == 200
    answer = response.json()
    report = IncidentRequest.objects.get()
    assert answer["response_type"] == "ephemeral"
    assert f"*{report.reference}* is *INC0010042* in ServiceNow" in answer["text"]
    assert "&lt;!channel&gt;" in answer["text"] and "<!channel>" not in answer["text"]
    assert (report.consumer, report.consumer_label, report.contact_type) == ("slack_command", "Slack /incident", "chat")
    assert (report.filed_by, report.api_client_id) == ("@grace (U0GRACE) on Slack", "slack:T0INCIDENT:U0GRACE")
    assert (report.short_description, report.category, report.urgency) == (
        "Parcel never arrived <!channel>",
        "order",
        2,
    )
    assert vendors_up.created[0]["contact_type"] == "chat"
    assert not SlackAnswer.objects.exists(), "nothing left to follow"


def test_a_retried_command_makes_one_report_and_gets_the_same_answer(
    client, vendors_up, django_capture_on_commit_callbacks
):
    vendors_up.servicenow_creates("INC0010042")
    body = command_body("report ada.lovelace@example.com payment high Charged twice")

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(COMMANDS, body, content_type="application/x-www-form-urlencoded", **signed(body))
        retried = client.post(
            COMMANDS,
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_RETRY_NUM="1",
            HTTP_X_SLACK_RETRY_REASON="http_timeout",
            **signed(body),
        )

    assert first.json() == retried.json()
    assert IncidentRequest.objects.count() == 1
    assert len(vendors_up.created) == 1


def test_servicenow_down_answers_at_once_and_the_full_answer_follows_once_it_is_created(
    client, vendors_up, django_capture_on_commit_callbacks, settings
):
    vendors_up.servicenow_fails(503)
    vendors_up.slack_takes_answers()

    with django_capture_on_commit_callbacks(execute=True):
        response = slash(client, "report ada.lovelace@example.com website 1 Checkout is blank")
        again = slash(client, "report ada.lovelace@example.com website 1 Checkout is blank")  # Slack's retry

    report = IncidentRequest.objects.get()
    assert "Its ServiceNow incident follows in a message to you" in response.json()["text"]
    assert again.json() == response.json()
    answer = SlackAnswer.objects.get()
    assert (answer.reference, answer.response_url) == (report.reference, SLACK_RESPONSE_URL)
    # Still pending: the answer waits, without spending an attempt or posting anything.
    work_run(work_id=answer.work_id)
    answer.work.refresh_from_db()
    assert (answer.work.state, answer.work.attempts) == ("pending", 0)
    assert not vendors_up.calls_to(SLACK_RESPONSE_URL)

    vendors_up.mock.add("GET", SN_INCIDENTS, json={"result": []})  # the retry looks first: none made yet
    vendors_up.servicenow_creates("INC0010050")
    Work.objects.filter(pk=report.sync_work_id).update(next_attempt_at=None)  # its retry is due
    with django_capture_on_commit_callbacks(execute=True):
        work_run(work_id=report.sync_work_id)  # the incident is created: the answer is woken and sent
    work_run(work_id=answer.work_id)  # nothing left to do

    [posted] = vendors_up.calls_to(SLACK_RESPONSE_URL)
    message = json.loads(posted.request.body)
    assert message["response_type"] == "ephemeral"
    assert f"*{report.reference}* is *INC0010050* in ServiceNow" in message["text"]
    answer.work.refresh_from_db()
    assert answer.work.state == "done"
    # The report's call trace holds what happened after the answer too: the retry and the answer that followed.
    traced = {
        (entry.call.layer, entry.call.api, entry.call.operation)
        for entry in incident_timeline(reference=report.reference)
    }
    assert {
        ("experience", "slack_command", "POST slack-commands"),
        ("process", "customer_incidents", "report"),
        ("process", "customer_incidents", "sync_to_servicenow"),
        ("experience", "slack_command", "send_answer"),
        ("process", "team_chat", "reply"),
    } <= traced


def test_a_report_missing_parts_or_with_bad_values_is_explained_and_not_filed(client, vendors):
    short = slash(client, "report ada.lovelace@example.com order")
    bad = slash(client, "report not-an-email weather 7 Summary")

    assert "Give the customer's email, a category, an urgency and a summary." in short.json()["text"]
    text = bad.json()["text"]
    assert "Customer's email: Enter a valid email address." in text
    assert "What is it about?: Select a valid choice. weather is not one of the available choices." in text
    assert "How urgent is it?: Select a valid choice. 7 is not one of the available choices." in text
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


@pytest.mark.parametrize("typed", ["IH-7Q2M4K8P1Z", "inc0010042"])
def test_status_finds_a_report_by_reference_or_servicenow_number(client, vendors, typed):
    stored_report(
        reference="IH-7Q2M4K8P1Z",
        sync_state="created",
        servicenow_number="INC0010042",
        servicenow_state=2,
        servicenow_state_label="In Progress",
    )

    answer = slash(client, f"status {typed}").json()

    assert answer["text"].startswith("*IH-7Q2M4K8P1Z* is *INC0010042* in ServiceNow, In Progress")
    assert slash(client, "status IH-0000000000").json()["text"] == "No report is known as `IH-0000000000`."
    assert len(vendors.mock.calls) == 0


def test_an_unknown_verb_or_help_shows_how_to_use_the_command(client):
    assert "*/incident report*" in slash(client, "help").json()["text"]
    assert slash(client, "delete everything").json()["text"].startswith("I don't know `delete`.")


def test_the_command_alone_opens_the_report_modal_with_the_forms_fields(client, vendors):
    vendors.slack_opens_views()

    response = slash(client, "")

    assert response.status_code == 200 and response.content == b""
    [opened] = vendors.calls_to(SLACK_VIEWS_OPEN)
    sent = json.loads(opened.request.body)
    assert sent["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    view = sent["view"]
    assert (view["type"], view["callback_id"]) == ("modal", "incident_report")
    assert [block["block_id"] for block in view["blocks"]] == [
        "email",
        "name",
        "order_number",
        "category",
        "urgency",
        "short_description",
        "description",
    ]
    assert json.loads(view["private_metadata"])["response_url"] == SLACK_RESPONSE_URL
    urgency = next(block for block in view["blocks"] if block["block_id"] == "urgency")
    assert [option["value"] for option in urgency["element"]["options"]] == ["1", "2", "3"]


def test_the_modal_when_slack_refuses_to_open_it_says_to_use_the_text_form(client, vendors):
    vendors.mock.add("POST", SLACK_VIEWS_OPEN, json={"ok": False, "error": "expired_trigger_id"})

    answer = slash(client, "").json()

    assert answer["text"].startswith("The report form could not be opened")


def submission(values: dict[str, object], *, view_id: str = "V0INCIDENT1") -> dict:
    def state(name, value):
        if name in ("category", "urgency"):
            return {"type": "static_select", "selected_option": {"value": value} if value else None}
        return {"type": "email_text_input" if name == "email" else "plain_text_input", "value": value}

    return {
        "type": "view_submission",
        "team": {"id": "T0INCIDENT", "domain": "shop"},
        "user": {"id": "U0GRACE", "username": "grace", "name": "grace", "team_id": "T0INCIDENT"},
        "api_app_id": "A0INCIDENT",
        "trigger_id": "12466734323.1395872398.8a7d3d3bd5c2e7e6d68fe25c6c6d7d9c",
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": "incident_report",
            "private_metadata": json.dumps({"response_url": SLACK_RESPONSE_URL}),
            "state": {"values": {name: {"value": state(name, value)} for name, value in values.items()}},
        },
    }


def test_a_modal_with_bad_values_gets_slacks_errors_per_block_and_nothing_is_filed(client, vendors):
    response = interact(
        client, submission({"email": "nope", "category": None, "urgency": "2", "short_description": ""})
    )

    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "email": "Enter a valid email address.",
            "category": "This field is required.",
            "short_description": "This field is required.",
        },
    }
    assert not IncidentRequest.objects.exists()


def test_a_submitted_modal_files_the_report_once_and_shows_it_in_the_modal(
    client, vendors_up, django_capture_on_commit_callbacks
):
    vendors_up.servicenow_creates("INC0010077")
    values = {
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
        "order_number": None,
        "category": "order",
        "urgency": "1",
        "short_description": "Parcel lost",
        "description": "Tracking stopped on Monday.",
    }

    with django_capture_on_commit_callbacks(execute=True):
        first = interact(client, submission(values))
        retried = interact(client, submission(values))

    report = IncidentRequest.objects.get()
    assert first.json() == retried.json()
    assert first.json()["response_action"] == "update"
    assert f"*{report.reference}* is *INC0010077* in ServiceNow" in json.dumps(first.json()["view"])
    assert (report.name, report.order_number, report.description, report.consumer) == (
        "Ada Lovelace",
        "",
        "Tracking stopped on Monday.",
        "slack_command",
    )


def test_other_interactions_are_acknowledged_and_do_nothing(client, vendors):
    assert interact(client, {"type": "block_actions", "team": {"id": "T0INCIDENT"}}).status_code == 200
    assert interact(client, {**submission({}), "view": {"callback_id": "something_else"}}).status_code == 200
    assert not IncidentRequest.objects.exists()


def test_slack_needs_no_csrf_token_but_the_body_limit_holds(vendors, settings):
    strict = Client(enforce_csrf_checks=True)
    stored_report(reference="IH-0000000000")

    assert slash(strict, "status IH-0000000000").status_code == 200
    settings.API_MAX_BODY_BYTES = 200
    assert slash(strict, "status IH-0000000000 " + "x" * 200).status_code == 413
    assert strict.post("/", {"email": "a@example.com"}).status_code == 403, "the form still needs its token"


def test_a_signed_request_from_a_workspace_not_ours_is_refused(client, vendors, settings):
    settings.SLACK_TEAM_IDS = ["T0OTHER"]
    stored_report(reference="IH-0000000000")

    assert slash(client, "status IH-0000000000").status_code == 403
    assert interact(client, submission({"email": "a@example.com"})).status_code == 403
    assert len(vendors.mock.calls) == 0


def test_the_text_is_read_as_typed_from_slacks_escaped_form(client, vendors_up, django_capture_on_commit_callbacks):
    vendors_up.servicenow_creates("INC0010042")
    # How Slack sends "report ada.lovelace@example.com order 2 R&D <b>parcel</b>", links and addresses escaped.
    sent = "report <mailto:ada.lovelace@example.com|ada.lovelace@example.com> order 2 R&amp;D &lt;b&gt;parcel&lt;/b&gt;"

    with django_capture_on_commit_callbacks(execute=True):
        answer = slash(client, sent).json()

    report = IncidentRequest.objects.get()
    assert (report.email, report.short_description) == ("ada.lovelace@example.com", "R&D <b>parcel</b>")
    assert "R&amp;D &lt;b&gt;parcel&lt;/b&gt;" in answer["text"], "escaped once, as Slack shows it"


def test_a_retried_command_alone_does_not_open_a_second_modal(client, vendors):
    vendors.slack_opens_views()
    body = command_body("")

    first = client.post(COMMANDS, body, content_type="application/x-www-form-urlencoded", **signed(body))
    retried = client.post(
        COMMANDS, body, content_type="application/x-www-form-urlencoded", HTTP_X_SLACK_RETRY_NUM="1", **signed(body)
    )

    assert (first.status_code, retried.status_code, retried.content) == (200, 200, b"")
    assert len(vendors.calls_to(SLACK_VIEWS_OPEN)) == 1


def test_a_modal_that_cannot_be_filed_now_stays_open_to_try_again(client, vendors, settings):
    vendors.salesforce_knows()
    values = {"email": "ada.lovelace@example.com", "category": "order", "urgency": "2", "short_description": "Lost"}

    with mock.patch(
        "experience_apis.slack.commands.incident_report", side_effect=NotAcceptedError("Try again in a minute.")
    ):
        answer = interact(client, submission(values)).json()

    assert answer == {"response_action": "errors", "errors": {"short_description": "Not filed: Try again in a minute."}}


def test_a_modal_filed_late_answers_within_the_commands_30_minutes(
    client, vendors_up, django_capture_on_commit_callbacks
):
    vendors_up.servicenow_fails(503)
    vendors_up.slack_takes_answers()
    values = {"email": "ada.lovelace@example.com", "category": "order", "urgency": "2", "short_description": "Lost"}
    payload = submission(values)
    # The command was typed 26 minutes ago; the person took their time over the modal.
    payload["view"]["private_metadata"] = json.dumps(
        {"response_url": SLACK_RESPONSE_URL, "issued_at": int(time.time()) - 26 * 60}
    )

    with django_capture_on_commit_callbacks(execute=True):
        interact(client, payload)

    # Past the wait already: the answer goes at once, saying where the report stands.
    [posted] = vendors_up.calls_to(SLACK_RESPONSE_URL)
    assert "ServiceNow has no incident for it yet" in json.loads(posted.request.body)["text"]


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("a &amp;lt; b &amp;&amp; c", "a &lt; b && c"),
        ("ask <@U0GRACE|grace> in <#C0SUPPORT|support>", "ask @grace in #support"),
        ("<!here> see <https://shop.example/orders/7|order 7>", "@here see order 7"),
        ("<mailto:ada@example.com|ada@example.com>", "ada@example.com"),
    ],
)
def test_slacks_markup_and_entities_are_read_back_to_what_was_typed(sent, typed):
    assert typed_text(sent) == typed
