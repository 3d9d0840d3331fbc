"""How a rate limit counts in the shared cache: exactly, per window, one round trip a request once it is open."""

import pytest
from django.core.cache import caches

from experience_apis.policies import rate_limits
from experience_apis.policies.rate_limits import rate_limit_hit, split_rate

WINDOW_START = 1_800_000_000  # a multiple of 60 and of 600


@pytest.fixture
def clock(monkeypatch):
    """The rate limits' clock (epoch seconds), standing still until moved."""

    class Clock:
        now = float(WINDOW_START)

    monkeypatch.setattr(rate_limits.time, "time", lambda: Clock.now)
    return Clock


@pytest.fixture
def operations(monkeypatch) -> list[str]:
    """The cache operations the rate limits make, in order."""
    made: list[str] = []
    cache = caches["default"]

    def noted(name: str):
        operation = getattr(cache, name)

        def call(*args, **kwargs):
            made.append(name)
            return operation(*args, **kwargs)

        return call

    for name in ("get", "set", "add", "incr", "get_many"):
        monkeypatch.setattr(cache, name, noted(name))
    return made


def hit(rate: str = "3/m", key: str = "client-1", scope: str = "api-v1"):
    return rate_limit_hit(scope=scope, key=key, rate=rate)


@pytest.mark.parametrize(
    ("rate", "parsed"), [("60/m", (60, 60)), ("10/10m", (10, 600)), ("5/s", (5, 1)), ("1000/h", (1000, 3600))]
)
def test_a_rate_is_requests_per_window(rate, parsed):
    assert split_rate(rate) == parsed


def test_the_first_request_of_a_window_opens_its_counter_and_each_later_one_counts_in_one_round_trip(clock, operations):
    usages = [hit() for _ in range(4)]

    assert [(u.remaining, u.exceeded) for u in usages] == [(2, False), (1, False), (0, False), (0, True)]
    assert {u.limit for u in usages} == {3}
    assert operations == ["incr", "add", "incr", "incr", "incr"]


def test_a_window_ends_at_its_key_s_own_moment_and_the_next_counts_from_one(clock):
    first = hit(key="client-1")
    clock.now += first.reset
    last_moment = hit(key="client-1")
    clock.now += 1

    next_window = hit(key="client-1")

    assert 0 < first.reset <= 60
    assert (last_moment.remaining, last_moment.reset) == (1, 0)
    assert (next_window.remaining, next_window.reset) == (2, 59)


def test_each_key_and_each_scope_count_on_their_own(clock):
    hit(key="client-1")
    hit(key="client-1")

    assert hit(key="client-2").remaining == 2
    assert hit(key="client-1", scope="web-report").remaining == 2
    assert hit(key="client-1", rate="5/m").remaining == 4, "a changed limit counts anew"
    assert hit(key="client-1").remaining == 0


def test_a_counter_opened_by_another_process_between_our_incr_and_add_is_counted_in(clock, monkeypatch):
    cache = caches["default"]
    add = cache.add

    def add_after_another_process(key, value, timeout):
        add(key, 1, timeout)  # the other process's request, first
        return add(key, value, timeout)

    monkeypatch.setattr(cache, "add", add_after_another_process)

    usage = hit()

    assert usage.remaining == 1, "two requests counted"
    assert hit().remaining == 0


def test_the_counter_outlives_its_window_so_it_never_expires_while_counted_in(clock, monkeypatch):
    timeouts = []
    cache = caches["default"]
    add = cache.add
    monkeypatch.setattr(cache, "add", lambda key, value, timeout: timeouts.append(timeout) or add(key, value, timeout))

    hit(rate="10/10m")

    assert timeouts == [600 + rate_limits.EXPIRY_MARGIN]


@pytest.mark.parametrize("operation", ["add", "incr"])
def test_a_cache_that_cannot_count_lets_the_request_through(clock, monkeypatch, operation):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], operation, broken)

    assert [hit() for _ in range(5)] == [None] * 5
