"""Team Chat Process API: a form opened for one person in Slack, and later answers to them."""

import json

import pytest
import responses

from kernel.errors import ServiceError
from operations.models import TracedCall
from process_apis.team_chat.services import team_chat_form_open, team_chat_reply
from system_apis.errors import SystemBadRequest, SystemNotFound, SystemUnavailable
from system_apis.slack.client import SlackResponseUrlRefused
from tests.vendors import SLACK_RESPONSE_URL, SLACK_VIEWS_OPEN

pytestmark = pytest.mark.django_db

TRIGGER = "12345.98765.abcd2358fdea"
FORM = {
    "type": "modal",
    "callback_id": "incident_report",
    "title": {"type": "plain_text", "text": "Report an incident"},
    "blocks": [],
}
MESSAGE = {"response_type": "ephemeral", "text": "Reported: IH-7K2M9Q4D1X"}


def test_a_form_is_opened_with_the_trigger_and_its_id_returned(vendors):
    vendors.slack_opens_views("V0FORM0001")

    form_id = team_chat_form_open(trigger=TRIGGER, form=FORM)

    assert form_id == "V0FORM0001"
    [call] = vendors.calls_to(SLACK_VIEWS_OPEN)
    assert json.loads(call.request.body) == {"trigger_id": TRIGGER, "view": FORM}


def test_a_reply_goes_to_the_reply_url_as_the_message(vendors):
    vendors.slack_takes_answers()

    assert team_chat_reply(reply_url=SLACK_RESPONSE_URL, message=MESSAGE) is None

    [call] = vendors.calls_to(SLACK_RESPONSE_URL)
    assert json.loads(call.request.body) == MESSAGE


def test_each_call_is_the_process_layers_operation_over_the_slack_call(vendors):
    vendors.slack_opens_views()
    vendors.slack_takes_answers()

    team_chat_form_open(trigger=TRIGGER, form=FORM)
    team_chat_reply(reply_url=SLACK_RESPONSE_URL, message=MESSAGE)

    calls = {(call.layer, call.api, call.operation): call for call in TracedCall.objects.all()}
    assert sorted((layer, api, operation, call.ok) for (layer, api, operation), call in calls.items()) == [
        ("process", "team_chat", "form_open", True),
        ("process", "team_chat", "reply", True),
        ("system", "slack", "open_view", True),
        ("system", "slack", "respond", True),
    ]
    assert calls["system", "slack", "open_view"].parent_span_id == calls["process", "team_chat", "form_open"].span_id
    assert calls["system", "slack", "respond"].parent_span_id == calls["process", "team_chat", "reply"].span_id


def test_a_spent_trigger_comes_up_as_the_system_apis_error_not_retryable(vendors):
    vendors.mock.add(responses.POST, SLACK_VIEWS_OPEN, json={"ok": False, "error": "expired_trigger_id"})

    with pytest.raises(SystemBadRequest) as raised:
        team_chat_form_open(trigger=TRIGGER, form=FORM)

    assert isinstance(raised.value, ServiceError)
    assert (raised.value.vendor_code, raised.value.retryable) == ("expired_trigger_id", False)
    failed = TracedCall.objects.get(api="team_chat")
    assert (failed.operation, failed.ok) == ("form_open", False)


def test_a_spent_reply_url_comes_up_as_not_found_not_retryable(vendors):
    vendors.mock.add(responses.POST, SLACK_RESPONSE_URL, body="Expired url", status=404)

    with pytest.raises(SystemNotFound) as raised:
        team_chat_reply(reply_url=SLACK_RESPONSE_URL, message=MESSAGE)

    assert isinstance(raised.value, ServiceError)
    assert (raised.value.vendor_code, raised.value.retryable) == ("expired_url", False)


def test_a_reply_url_that_is_not_slacks_is_refused_and_nothing_is_sent(vendors):
    with pytest.raises(SlackResponseUrlRefused) as raised:
        team_chat_reply(reply_url="https://hooks.slack.com.evil.example/commands/T0/1/x", message=MESSAGE)

    assert isinstance(raised.value, ServiceError)
    assert raised.value.retryable is False
    assert "SLACK_RESPONSE_URL_PREFIXES" in raised.value.message
    assert len(vendors.mock.calls) == 0


def test_a_slack_outage_comes_up_retryable(vendors):
    vendors.mock.add(responses.POST, SLACK_RESPONSE_URL, body="", status=503, headers={"Retry-After": "20"})

    with pytest.raises(SystemUnavailable) as raised:
        team_chat_reply(reply_url=SLACK_RESPONSE_URL, message=MESSAGE)

    assert (raised.value.retryable, raised.value.retry_after) == (True, 20.0)
