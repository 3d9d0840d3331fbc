"""A system's word that we must wait holds every process's calls to it: 429s, Salesforce's quota."""

import pytest
import responses

from system_apis.errors import SystemPaced, SystemRateLimited
from system_apis.http import HttpClient
from system_apis.quota import quota_hold_of
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

    monkeypatch.setattr("system_apis.quota.cache.get", broken)
    responses.get(URL, status=429, headers={"Retry-After": "30"})

    for _ in range(2):
        with pytest.raises(SystemRateLimited):
            probe().read()

    assert len(responses.calls) == 2


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
