"""Slack takes about one message per second per channel: posts are paced per channel through the shared cache."""

import pytest
import responses

from system_apis.errors import SystemPaced
from system_apis.slack import client as slack_client
from system_apis.slack.client import SlackClient
from system_apis.slack.pacing import channel_slot_wait
from system_apis.slack.types import Notice
from tests.conftest import load_fixture

API = "https://slack.test/api/"
NOTICE = Notice(title="New incident", text="The parcel never arrived.")


def paced_client(*, max_pace_wait: float) -> SlackClient:
    """A client pacing posts at one a second per channel, waiting in place at most `max_pace_wait` s."""
    return SlackClient(
        base_url=API,
        token="xoxb-t",
        default_channel="#incidents",
        timeout=(1, 1),
        posts_per_second=1,
        max_pace_wait=max_pace_wait,
    )


def test_each_post_past_the_rate_gets_the_next_free_slot_in_its_channel():
    waits = [channel_slot_wait("#incidents", per_second=1, now=1000.25) for _ in range(4)]

    assert waits == [0.0, 0.75, 1.75, 2.75]
    assert channel_slot_wait("#other", per_second=1, now=1000.25) == 0.0, "each channel counts on its own"
    assert channel_slot_wait("#incidents", per_second=1, now=1001.0) == 0.0, "a new second starts a new count"


def test_a_higher_rate_lets_that_many_through_each_second():
    waits = [channel_slot_wait("#incidents", per_second=2, now=2000.5) for _ in range(4)]

    assert waits == [0.0, 0.0, 0.5, 1.0]


def test_a_cache_that_cannot_count_lets_the_post_through(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr("system_apis.slack.pacing.cache.add", broken)

    assert channel_slot_wait("#incidents", per_second=1, now=3000.0) == 0.0


@responses.activate
def test_a_post_whose_slot_is_far_is_held_back_with_its_wait_and_never_sent(monkeypatch):
    responses.post(f"{API}chat.postMessage", json=load_fixture("slack/post_message_ok.json"))
    monkeypatch.setattr(slack_client, "channel_slot_wait", lambda channel, per_second: 2.5)
    client = paced_client(max_pace_wait=0.0)

    with pytest.raises(SystemPaced) as held:
        client.post_notice(NOTICE)

    assert (held.value.retry_after, held.value.retryable) == (2.5, True)
    assert len(responses.calls) == 0


@responses.activate
def test_a_post_whose_slot_is_near_waits_for_it_then_posts(monkeypatch):
    responses.post(f"{API}chat.postMessage", json=load_fixture("slack/post_message_ok.json"))
    slept, waits = [], iter([0.4, 0.0])
    monkeypatch.setattr(slack_client, "channel_slot_wait", lambda channel, per_second: next(waits))
    monkeypatch.setattr(slack_client.time, "sleep", slept.append)
    client = paced_client(max_pace_wait=1.0)

    client.post_notice(NOTICE)

    assert slept == [0.4]
    assert len(responses.calls) == 1


@responses.activate
def test_after_waiting_a_post_counts_again_and_is_held_back_if_the_new_second_was_taken(monkeypatch):
    responses.post(f"{API}chat.postMessage", json=load_fixture("slack/post_message_ok.json"))
    waits = iter([0.4, 0.9])
    monkeypatch.setattr(slack_client, "channel_slot_wait", lambda channel, per_second: next(waits))
    monkeypatch.setattr(slack_client.time, "sleep", lambda seconds: None)
    client = paced_client(max_pace_wait=1.0)

    with pytest.raises(SystemPaced) as held:
        client.post_notice(NOTICE)

    assert held.value.retry_after == 0.9
    assert len(responses.calls) == 0
