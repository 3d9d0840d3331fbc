"""The Slack connector against the sandbox's stand-in over real HTTP: only settings differ from real Slack."""

import pytest
import requests
from django.core.cache import cache

from system_apis import shared_state
from system_apis.errors import SystemAuthError, SystemNotFound, SystemRateLimited, SystemUnavailable
from system_apis.slack.blocks import notice_blocks
from system_apis.slack.client import SlackClient
from system_apis.slack.types import Notice

pytestmark = pytest.mark.django_db(transaction=True)

NOTICE = Notice(
    title="New incident IH-7K2M9Q4D1X",
    text="The parcel never arrived. <!channel> & co",
    fields=(("Customer", "Ada Lovelace"),),
    context="trace 4bf92f3577b34da6",
    link=("Open", "https://hub.example/incidents/IH-7K2M9Q4D1X"),
)


@pytest.fixture
def slack(sandbox_url, settings) -> SlackClient:
    settings.SLACK_API_URL = f"{sandbox_url}/slack/api/"
    settings.SLACK_BOT_TOKEN = settings.SANDBOX_SLACK_BOT_TOKEN
    settings.SLACK_CHANNEL = "#incidents"
    settings.SLACK_TIMEOUT = (2.0, 5.0)
    return SlackClient.from_settings()


def received(sandbox_url: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/slack/_sandbox/messages", timeout=5).json()


def test_a_notice_arrives_in_the_channel_as_sent(slack, sandbox_url):
    posted = slack.post_notice(NOTICE)

    messages = received(sandbox_url)
    assert posted.channel == "C0INCIDENTS"
    assert [(m["channel"], m["ts"], m["thread_ts"]) for m in messages] == [("C0INCIDENTS", posted.ts, None)]
    assert messages[0]["text"] == "The parcel never arrived. &lt;!channel&gt; &amp; co"
    assert messages[0]["blocks"] == notice_blocks(NOTICE)


def test_a_thread_reply_is_kept_under_its_parent(slack, sandbox_url):
    parent = slack.post_notice(NOTICE)

    reply = slack.post_notice(
        Notice(title="Update", text="Now in progress", thread_ts=parent.ts), channel="C0INCIDENTS"
    )

    newest = received(sandbox_url)[0]
    assert (newest["ts"], newest["thread_ts"]) == (reply.ts, parent.ts)
    assert reply.ts > parent.ts


def test_an_update_rewrites_the_message_and_a_wrong_ts_is_not_found(slack, sandbox_url):
    parent = slack.post_notice(NOTICE)
    reply = slack.post_notice(
        Notice(title="Update", text="Now in progress", thread_ts=parent.ts), channel=parent.channel
    )

    updated = slack.update_notice(
        Notice(title="[In Progress] IH-7K2M9Q4D1X", text="Now"), channel_id=parent.channel, ts=parent.ts
    )
    with pytest.raises(SystemNotFound) as raised:
        slack.update_notice(NOTICE, channel_id=parent.channel, ts="1000000000.000001")

    assert updated == parent
    assert raised.value.vendor_code == "message_not_found"
    [first] = [m for m in received(sandbox_url) if m["ts"] == parent.ts]
    assert (first["text"], first["replies"]) == ("Now", [reply.ts])
    assert first["blocks"][0]["text"]["text"] == "[In Progress] IH-7K2M9Q4D1X"
    assert first["edited_at"] is not None


def test_unknown_channel_is_not_found_and_nothing_arrives(slack, sandbox_url):
    with pytest.raises(SystemNotFound) as raised:
        slack.post_notice(NOTICE, channel="#nowhere")

    assert (raised.value.status, raised.value.vendor_code) == (200, "channel_not_found")
    assert received(sandbox_url) == []


def test_wrong_token_is_an_auth_error_and_nothing_arrives(sandbox_url):
    client = SlackClient(
        base_url=f"{sandbox_url}/slack/api/", token="xoxb-wrong", default_channel="#incidents", timeout=(2.0, 5.0)
    )

    with pytest.raises(SystemAuthError) as raised:
        client.post_notice(NOTICE)

    assert raised.value.vendor_code == "invalid_auth"
    assert received(sandbox_url) == []


def test_rate_limit_and_server_error_faults_reach_the_connector_as_typed_errors(slack, sandbox_url):
    requests.put(f"{sandbox_url}/_sandbox/faults/slack", json={"rate_limit_next": 1, "retry_after": 4}, timeout=5)

    with pytest.raises(SystemRateLimited) as limited:
        slack.post_notice(NOTICE)
    cache.delete("quota-hold:slack")  # as if the 4 s Slack asked for had passed
    shared_state.forget()  # and this process had read the holds again since
    requests.put(f"{sandbox_url}/_sandbox/faults/slack", json={"fail_next": 1, "error_status": 500}, timeout=5)
    with pytest.raises(SystemUnavailable) as failed:
        slack.post_notice(NOTICE)

    assert (limited.value.status, limited.value.retry_after) == (429, 4.0)
    assert (failed.value.status, failed.value.vendor_code) == (500, "internal_error")
    assert received(sandbox_url) == []
