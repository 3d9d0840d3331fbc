"""A system's word that we must wait holds every process's calls to it: 429s, Salesforce's quota."""

import time

import pytest
import responses
from django.core.cache import cache, caches

from system_apis import shared_state
from system_apis.errors import SystemPaced, SystemRateLimited
from system_apis.http import HttpClient
from system_apis.quota import QuotaHold, quota_hold_of
from tests.system_apis.test_salesforce_client import add_query, add_token, make_client

URL = "https://system.test/thing"


class Probe(HttpClient):
    system = "servicenow"

    def read(self) -> int:
        return self._request("GET", "thing", operation="read").status_code


def probe() -> Probe:
    return Probe(base_url="https://system.test", timeout=(1, 1))


@responses.activate
def test_a_429_holds_every_clients_calls_to_that_system_for_its_retry_after():
    responses.get(URL, status=429, headers={"Retry-After": "30"})

    with pytest.raises(SystemRateLimited):
        probe().read()
    with pytest.raises(SystemRateLimited, match="on hold") as held:
        probe().read()  # another client, as in another process: the hold is in the shared cache

    assert len(responses.calls) == 1, "the held call was not sent"
    assert isinstance(held.value, SystemPaced), "held back by us: a caller does not count it as a failed attempt"
    assert 28 < held.value.retry_after <= 30
    assert quota_hold_of("slack") is None, "other systems are not held"


@responses.activate
def test_a_429_without_retry_after_holds_for_the_default(settings):
    settings.QUOTA_HOLD_SECONDS = 12
    responses.get(URL, status=429)

    with pytest.raises(SystemRateLimited):
        probe().read()

    assert 10 < quota_hold_of("servicenow").seconds_left() <= 12


@responses.activate
def test_a_cache_that_cannot_keep_the_hold_lets_calls_through(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for operation in ("get", "get_many", "set"):
        monkeypatch.setattr(caches["default"], operation, broken)
    responses.get(URL, status=429, headers={"Retry-After": "30"})

    for _ in range(2):
        with pytest.raises(SystemRateLimited):
            probe().read()

    assert len(responses.calls) == 2


@responses.activate
def test_a_hold_another_process_sets_is_honoured_here_within_a_second(snapshot_clock):
    responses.get(URL, status=200)
    assert probe().read() == 200  # this process has read the holds

    cache.set("quota-hold:servicenow", QuotaHold(until=time.time() + 30, reason="slow down"), 31)  # another process
    snapshot_clock.advance(shared_state.REFRESH_SECONDS - 0.01)
    not_seen_yet = probe().read()
    snapshot_clock.advance(0.01)

    with pytest.raises(SystemPaced, match="on hold") as held:
        probe().read()
    assert 28 < held.value.retry_after <= 30
    assert not_seen_yet == 200
    assert len(responses.calls) == 2


@responses.activate
def test_a_hold_ended_by_another_process_frees_the_calls_here_within_a_second(snapshot_clock):
    responses.get(URL, status=429, headers={"Retry-After": "30"})
    with pytest.raises(SystemRateLimited):
        probe().read()
    responses.replace(responses.GET, URL, status=200)

    cache.delete("quota-hold:servicenow")  # another process ends it (the cache lost it, or an operator)
    with pytest.raises(SystemPaced):
        probe().read()
    snapshot_clock.advance(shared_state.REFRESH_SECONDS)

    assert probe().read() == 200


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.mark.parametrize(("used", "held"), [(13499, False), (13500, True)])
def test_salesforce_lookups_stop_once_the_orgs_api_quota_passes_the_ceiling(rsps, settings, used, held):
    settings.SALESFORCE_API_USAGE_CEILING = 0.9
    add_token(rsps)
    add_query(rsps, "query_one_contact.json", headers={"Sforce-Limit-Info": f"api-usage={used}/15000"})

    make_client().find_contacts_by_email("ada.lovelace@example.com")

    hold = quota_hold_of("salesforce")
    assert (hold is not None) is held
    if held:
        assert "13500/15000" in hold.reason
        with pytest.raises(SystemRateLimited, match="on hold"):
            make_client().find_contacts_by_email("ada.lovelace@example.com")
