"""Slack takes about one message per second per channel: posts are paced per channel through the shared cache."""

import pytest
import responses
from django.core.cache import caches

from system_apis.errors import SystemPaced
from system_apis.slack import client as slack_client
from system_apis.slack.client import SlackClient
from system_apis.slack.pacing import channel_slot_wait
from system_apis.slack.types import Notice
from tests.conftest import load_fixture

API = "https://slack.test/api/"
NOTICE = Notice(title="New incident", text="The parcel never arrived.")


def paced_client() -> SlackClient:
    """A client pacing posts at one a second per channel."""
    return SlackClient(base_url=API, token="xoxb-t", default_channel="#incidents", timeout=(1, 1), posts_per_second=1)


def posts_at(monkeypatch, *moments: float) -> None:
    """The client's posts count themselves into their channel's seconds at these moments, one each."""
    clock = iter(moments)

    def slot_wait(channel: str, per_second: int) -> float:
        return channel_slot_wait(channel, per_second=per_second, now=next(clock))

    monkeypatch.setattr(slack_client, "channel_slot_wait", slot_wait)


def test_each_post_past_the_rate_gets_the_next_free_slot_in_its_channel():
    waits = [channel_slot_wait("#incidents", per_second=1, now=1000.25) for _ in range(4)]

    assert waits == [0.0, 0.75, 1.75, 2.75]
    assert channel_slot_wait("#other", per_second=1, now=1000.25) == 0.0, "each channel counts on its own"
    assert channel_slot_wait("#incidents", per_second=1, now=1001.0) == 0.0, "a new second starts a new count"


def test_a_higher_rate_lets_that_many_through_each_second():
    waits = [channel_slot_wait("#incidents", per_second=2, now=2000.5) for _ in range(4)]

    assert waits == [0.0, 0.0, 0.5, 1.0]


@pytest.mark.parametrize("operation", ["add", "incr"])
def test_a_cache_that_cannot_count_lets_the_post_through(monkeypatch, operation):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], operation, broken)

    assert channel_slot_wait("#incidents", per_second=1, now=3000.0) == 0.0


def test_posts_after_the_first_of_a_second_count_in_one_round_trip_each(monkeypatch):
    operations = []

    def noted(name: str):
        operation = getattr(caches["default"], name)

        def call(*args, **kwargs):
            operations.append(name)
            return operation(*args, **kwargs)

        return call

    for name in ("add", "incr"):
        monkeypatch.setattr(caches["default"], name, noted(name))

    waits = [channel_slot_wait("#incidents", per_second=1, now=4000.5) for _ in range(3)]

    assert waits == [0.0, 0.5, 1.5]
    assert operations == ["incr", "add", "incr", "incr"]


@responses.activate
def test_a_post_whose_slot_is_later_is_held_back_with_its_wait_and_never_sent(monkeypatch):
    responses.post(f"{API}chat.postMessage", json=load_fixture("slack/post_message_ok.json"))
    monkeypatch.setattr(slack_client, "channel_slot_wait", lambda channel, per_second: 2.5)

    with pytest.raises(SystemPaced) as held:
        paced_client().post_notice(NOTICE)

    assert (held.value.retry_after, held.value.retryable) == (2.5, True)
    assert len(responses.calls) == 0


@responses.activate
def test_a_second_post_in_one_second_of_a_channel_is_held_back_at_once_without_sleeping(monkeypatch):
    responses.post(f"{API}chat.postMessage", json=load_fixture("slack/post_message_ok.json"))
    posts_at(monkeypatch, 1000.25, 1000.25)
    monkeypatch.setattr("time.sleep", lambda seconds: pytest.fail(f"slept {seconds} s in the worker thread"))
    client = paced_client()

    client.post_notice(NOTICE)
    with pytest.raises(SystemPaced) as held:
        client.post_notice(NOTICE)

    assert held.value.retry_after == 0.75, "the wait to the channel's next second"
    assert len(responses.calls) == 1


@responses.activate
def test_a_held_post_counts_again_when_it_comes_back_and_is_held_again_if_its_new_second_was_taken(monkeypatch):
    responses.post(f"{API}chat.postMessage", json=load_fixture("slack/post_message_ok.json"))
    posts_at(monkeypatch, 1000.25, 1000.5, 1001.0, 1001.0)
    client = paced_client()

    client.post_notice(NOTICE)  # second 1000's slot
    with pytest.raises(SystemPaced):
        client.post_notice(NOTICE)  # counted into 1000 too: held back
    client.post_notice(NOTICE)  # another post takes second 1001 first
    with pytest.raises(SystemPaced) as held:
        client.post_notice(NOTICE)  # the held post, back at 1001: that second is taken now

    assert held.value.retry_after == 1.0
    assert len(responses.calls) == 2
