"""Circuit breaking: a system that keeps failing is not hammered, and every process sees the same circuit."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from kernel.budget import time_budget
from system_apis import shared_state
from system_apis.circuit import CacheCircuitStorage, SystemCircuit, circuit_status, circuit_statuses
from system_apis.errors import (
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemProtocolError,
    SystemTimeout,
    SystemUnavailable,
)
from system_apis.http import HttpClient, Reading
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.schema import seed_demo_customers

URL = "https://acme.service-now.test/api/now/table/incident"
FAIL_MAX = 3
RESET_TIMEOUT = 30.0


class ServiceNowProbe(HttpClient):
    system = "servicenow"

    def read(self) -> int:
        return self._request("GET", "api/now/table/incident", operation="read").status_code


class GarbledServiceNow(ServiceNowProbe):
    read_answer = staticmethod(lambda answer: Reading.failed(SystemProtocolError, "answer is garbled"))


@pytest.fixture(autouse=True)
def _circuit_settings(settings):
    settings.CIRCUIT_BREAKER_FAIL_MAX = FAIL_MAX
    settings.CIRCUIT_BREAKER_RESET_TIMEOUT = RESET_TIMEOUT


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def probe(client_class: type[ServiceNowProbe] = ServiceNowProbe) -> ServiceNowProbe:
    return client_class(base_url="https://acme.service-now.test", timeout=(1, 1))


def fail(times: int, client: ServiceNowProbe | None = None) -> list[Exception]:
    errors = []
    for _ in range(times):
        with pytest.raises((SystemUnavailable, SystemTimeout, SystemProtocolError)) as raised:
            (client or probe()).read()
        errors.append(raised.value)
    return errors


def rewind_past_reset_timeout(system: str) -> None:
    """As if the reset timeout had gone by since the circuit opened."""
    CacheCircuitStorage(system).opened_at = datetime.now(UTC) - timedelta(seconds=RESET_TIMEOUT + 1)


# --- opening -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "outage"),
    [
        ({"status": 503}, SystemUnavailable),
        ({"status": 500}, SystemUnavailable),
        ({"body": requests.ConnectTimeout()}, SystemTimeout),
        ({"body": requests.ReadTimeout()}, SystemTimeout),
        ({"body": requests.ConnectionError()}, SystemUnavailable),
    ],
)
def test_fail_max_outages_in_a_row_open_the_circuit_and_the_next_call_fails_fast_without_a_request(
    mock, answer, outage
):
    mock.get(URL, **answer)

    errors = fail(FAIL_MAX)
    with pytest.raises(SystemUnavailable) as raised:
        probe().read()

    assert [type(error) for error in errors] == [outage] * FAIL_MAX
    assert len(mock.calls) == FAIL_MAX
    assert raised.value.system == "servicenow"
    assert raised.value.operation == "read"
    assert raised.value.status is None
    assert str(raised.value) == "servicenow.read: circuit open: servicenow keeps failing, calls to it resume in 30 s"
    assert RESET_TIMEOUT - 2 < raised.value.retry_after <= RESET_TIMEOUT
    assert circuit_status("servicenow").state == "open"


def test_each_call_is_one_log_event_with_its_path_and_a_call_the_open_circuit_refused_is_one_too(mock, caplog):
    mock.get(URL, status=503)
    caplog.set_level("INFO")

    fail(FAIL_MAX)
    with pytest.raises(SystemUnavailable):
        probe().read()

    calls = [r for r in caplog.records if getattr(r, "layer", "") == "system"]
    assert [(r.system, r.operation, r.outcome) for r in calls] == [("servicenow", "read", 503)] * FAIL_MAX + [
        ("servicenow", "read", "circuit-open")
    ]
    assert {r.url_path for r in calls[:FAIL_MAX]} == {"/api/now/table/incident"}
    assert all(isinstance(r.duration_ms, float) for r in calls)


def test_the_call_that_trips_the_circuit_raises_its_own_error(mock):
    mock.get(URL, status=503, headers={"Retry-After": "7"})

    errors = fail(FAIL_MAX)

    assert [(error.status, error.retry_after) for error in errors] == [(503, 7.0)] * FAIL_MAX


def test_answers_we_cannot_read_count_as_outages(mock):
    mock.get(URL, status=200, body="<html>maintenance</html>")

    fail(FAIL_MAX, probe(GarbledServiceNow))
    with pytest.raises(SystemUnavailable, match="circuit open"):
        probe().read()

    assert len(mock.calls) == FAIL_MAX


def test_fewer_outages_than_fail_max_keep_the_circuit_closed(mock):
    mock.get(URL, status=503)

    fail(FAIL_MAX - 1)
    with pytest.raises(SystemUnavailable) as raised:
        probe().read()

    assert raised.value.status == 503
    assert len(mock.calls) == FAIL_MAX


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (404, SystemNotFound),
        (400, SystemBadRequest),
        (401, SystemAuthError),
        (403, SystemAuthError),
    ],
)
def test_answers_of_a_system_that_is_up_never_open_the_circuit(mock, status, answer):
    mock.get(URL, status=status)

    for _ in range(FAIL_MAX * 3):
        with pytest.raises(answer):
            probe().read()

    assert len(mock.calls) == FAIL_MAX * 3
    assert circuit_status("servicenow").state == "closed"
    assert circuit_status("servicenow").failures == 0


def test_an_answer_between_outages_starts_the_count_again(mock):
    mock.get(URL, status=503)
    fail(FAIL_MAX - 1)
    mock.replace(responses.GET, URL, status=404)
    with pytest.raises(SystemNotFound):
        probe().read()
    mock.replace(responses.GET, URL, status=503)

    fail(FAIL_MAX - 1)

    assert circuit_status("servicenow").state == "closed"
    assert circuit_status("servicenow").failures == FAIL_MAX - 1
    assert len(mock.calls) == 2 * (FAIL_MAX - 1) + 1


def test_a_used_up_deadline_is_ours_and_never_opens_the_circuit(mock):
    mock.get(URL, status=200)

    for _ in range(FAIL_MAX * 2):
        with time_budget(0), pytest.raises(SystemTimeout):
            probe().read()

    assert len(mock.calls) == 0
    assert circuit_status("servicenow").failures == 0
    assert probe().read() == 200


def test_other_systems_keep_their_own_closed_circuit(mock):
    mock.get(URL, status=503)

    fail(FAIL_MAX)

    states = {status.system: status.state for status in circuit_statuses()}
    assert states == {
        "servicenow": "open",
        "salesforce": "closed",
        "slack": "closed",
        "legacy_db": "closed",
        "email": "closed",
    }


# --- half-open -----------------------------------------------------------------------------------


def test_after_the_reset_timeout_a_trial_call_goes_through_and_its_success_closes_the_circuit(mock):
    mock.get(URL, status=503)
    fail(FAIL_MAX)
    mock.replace(responses.GET, URL, status=200)
    rewind_past_reset_timeout("servicenow")
    assert circuit_status("servicenow").state == "half-open"

    first, second = probe().read(), probe().read()

    assert (first, second) == (200, 200)
    assert len(mock.calls) == FAIL_MAX + 2
    assert circuit_status("servicenow").state == "closed"
    assert circuit_status("servicenow").failures == 0


def test_before_the_reset_timeout_the_circuit_stays_open(mock):
    mock.get(URL, status=503)
    fail(FAIL_MAX)
    mock.replace(responses.GET, URL, status=200)
    CacheCircuitStorage("servicenow").opened_at = datetime.now(UTC) - timedelta(seconds=RESET_TIMEOUT - 5)

    with pytest.raises(SystemUnavailable) as raised:
        probe().read()

    assert 3 < raised.value.retry_after <= 5
    assert len(mock.calls) == FAIL_MAX


def test_a_failed_trial_call_opens_the_circuit_again_for_a_full_reset_timeout(mock):
    mock.get(URL, status=503)
    fail(FAIL_MAX)
    rewind_past_reset_timeout("servicenow")

    with pytest.raises(SystemUnavailable) as trial:
        probe().read()
    with pytest.raises(SystemUnavailable) as after:
        probe().read()

    assert trial.value.status == 503
    assert "circuit open" in after.value.message
    assert RESET_TIMEOUT - 2 < after.value.retry_after <= RESET_TIMEOUT
    assert len(mock.calls) == FAIL_MAX + 1
    assert circuit_status("servicenow").state == "open"


def test_an_answer_to_the_trial_call_proves_the_system_is_up_and_closes_the_circuit(mock):
    mock.get(URL, status=503)
    fail(FAIL_MAX)
    rewind_past_reset_timeout("servicenow")
    mock.replace(responses.GET, URL, status=404)

    with pytest.raises(SystemNotFound):
        probe().read()

    assert circuit_status("servicenow").state == "closed"


# --- shared state --------------------------------------------------------------------------------


def test_every_client_of_a_system_shares_its_circuit(mock):
    mock.get(URL, status=503)
    tripping, other = probe(), probe()

    fail(FAIL_MAX, tripping)
    with pytest.raises(SystemUnavailable, match="circuit open"):
        other.read()

    assert len(mock.calls) == FAIL_MAX


@pytest.fixture
def database_caches(settings, db):
    """Two cache connections to one database cache table, as two processes of the embedded default have."""
    settings.CACHES = {
        **settings.CACHES,
        "circuits": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "circuit_test_cache"},
    }
    call_command("createcachetable", "circuit_test_cache")
    return DatabaseCache("circuit_test_cache", {}), DatabaseCache("circuit_test_cache", {})


def test_two_breakers_built_apart_over_one_database_cache_count_their_outages_together(database_caches):
    one, other = SystemCircuit("slack", cache=database_caches[0]), SystemCircuit("slack", cache=database_caches[1])
    calls = []

    def outage():
        calls.append("outage")
        raise SystemUnavailable("down", system="slack", operation="post_message", status=503)

    # Taking turns, as two processes do: the count is the cache's, whatever each process last read.
    for breaker in ([one, other] * FAIL_MAX)[:FAIL_MAX]:
        with pytest.raises(SystemUnavailable):
            breaker.guard(outage, operation="post_message")
    with pytest.raises(SystemUnavailable, match="circuit open") as raised:
        one.guard(lambda: calls.append("not made"), operation="post_message")

    assert calls == ["outage"] * FAIL_MAX
    assert raised.value.retry_after > RESET_TIMEOUT - 2
    opened = circuit_status("slack", cache=database_caches[1])
    assert (opened.state, opened.failures) == ("open", FAIL_MAX)


def test_a_circuit_another_process_opens_is_seen_here_within_a_second(database_caches, snapshot_clock):
    here = SystemCircuit("slack", cache=database_caches[0])
    assert here.guard(lambda: "posted", operation="post_message") == "posted"
    elsewhere = SystemCircuit("slack", cache=database_caches[1])

    def outage():
        raise SystemUnavailable("down", system="slack", operation="post_message", status=503)

    for _ in range(FAIL_MAX):
        with pytest.raises(SystemUnavailable):
            elsewhere.guard(outage, operation="post_message")
    snapshot_clock.advance(shared_state.REFRESH_SECONDS - 0.01)
    not_seen_yet = SystemCircuit("slack", cache=database_caches[0]).guard(lambda: "posted", operation="post_message")
    snapshot_clock.advance(0.01)

    with pytest.raises(SystemUnavailable, match="circuit open"):
        SystemCircuit("slack", cache=database_caches[0]).guard(lambda: "not made", operation="post_message")
    assert not_seen_yet == "posted"


def test_a_circuit_another_process_closes_is_seen_here_within_a_second(database_caches, snapshot_clock):
    SystemCircuit("slack", cache=database_caches[0]).open()
    with pytest.raises(SystemUnavailable, match="circuit open"):
        SystemCircuit("slack", cache=database_caches[0]).guard(lambda: "not made", operation="post_message")

    SystemCircuit("slack", cache=database_caches[1]).close()
    snapshot_clock.advance(shared_state.REFRESH_SECONDS)

    assert SystemCircuit("slack", cache=database_caches[0]).guard(lambda: "posted", operation="post_message") == (
        "posted"
    )


class CountingCache(LocMemCache):
    """An in-memory cache that notes each operation, as Redis would receive it."""

    def __init__(self) -> None:
        super().__init__("counting", {})
        self.clear()  # in-memory caches of one name share their entries
        self.operations: list[str] = []

    def get_many(self, keys, version=None):
        self.operations.append("get_many")
        found = {}
        for key in keys:
            if (value := super().get(key, version=version)) is not None:
                found[key] = value
        return found

    def set(self, key, *args, **kwargs):
        self.operations.append("set")
        return super().set(key, *args, **kwargs)

    def add(self, key, *args, **kwargs):
        self.operations.append("add")
        return super().add(key, *args, **kwargs)

    def incr(self, key, *args, **kwargs):
        self.operations.append("incr")
        return super().incr(key, *args, **kwargs)

    def get(self, key, *args, **kwargs):
        self.operations.append("get")
        return super().get(key, *args, **kwargs)


def test_calls_through_a_closed_circuit_read_every_circuit_once_a_second_and_write_nothing(snapshot_clock):
    cache = CountingCache()

    for _ in range(3):
        assert SystemCircuit("servicenow", cache=cache).guard(lambda: "answered", operation="read") == "answered"
    assert SystemCircuit("slack", cache=cache).guard(lambda: "answered", operation="post_message") == "answered"
    first_second = list(cache.operations)
    snapshot_clock.advance(shared_state.REFRESH_SECONDS)
    SystemCircuit("servicenow", cache=cache).guard(lambda: "answered", operation="read")

    assert first_second == ["get_many"]
    assert cache.operations == ["get_many", "get_many"]


def test_an_outage_writes_its_count_and_the_next_success_resets_it(snapshot_clock):
    cache = CountingCache()

    def outage():
        raise SystemTimeout("no answer", system="servicenow", operation="read")

    with pytest.raises(SystemTimeout):
        SystemCircuit("servicenow", cache=cache).guard(outage, operation="read")
    with pytest.raises(SystemTimeout):
        SystemCircuit("servicenow", cache=cache).guard(outage, operation="read")
    SystemCircuit("servicenow", cache=cache).guard(lambda: "answered", operation="read")

    # The first outage opens the counter, the second counts in it, the success sets it back to 0.
    assert cache.operations == ["get_many", "incr", "add", "incr", "set"]
    assert circuit_status("servicenow", cache=cache).failures == 0


def test_a_circuit_closed_by_one_breaker_is_closed_for_the_other(database_caches):
    one, other = SystemCircuit("slack", cache=database_caches[0]), SystemCircuit("slack", cache=database_caches[1])
    one.open()
    CacheCircuitStorage("slack", cache=database_caches[0]).opened_at = datetime.now(UTC) - timedelta(seconds=60)

    assert one.guard(lambda: "posted", operation="post_message") == "posted"

    assert other.current_state == "closed"
    assert other.guard(lambda: "posted again", operation="post_message") == "posted again"


class BrokenCache(BaseCache):
    """A cache whose server is down: every operation raises."""

    def __init__(self) -> None:
        super().__init__({})
        self.operations = 0

    def _fail(self, *args, **kwargs):
        self.operations += 1
        raise ConnectionError("cache server unreachable")

    get = get_many = set = add = incr = delete = _fail


def test_a_failing_cache_never_fails_a_call_and_is_asked_once_a_second(snapshot_clock):
    cache = BrokenCache()
    calls = []

    def outage():
        calls.append("outage")
        raise SystemTimeout("no answer", system="servicenow", operation="read")

    for _ in range(FAIL_MAX * 2):
        with pytest.raises(SystemTimeout):
            SystemCircuit("servicenow", cache=cache).guard(outage, operation="read")
    answer = SystemCircuit("servicenow", cache=cache).guard(lambda: "answered", operation="read")
    asked_in_the_first_second = cache.operations
    snapshot_clock.advance(shared_state.REFRESH_SECONDS)
    SystemCircuit("servicenow", cache=cache).guard(lambda: "answered", operation="read")

    assert (answer, len(calls)) == ("answered", FAIL_MAX * 2)
    assert (asked_in_the_first_second, cache.operations) == (1, 2)


def test_a_circuit_whose_cache_cannot_be_read_shows_as_unknown_not_closed():
    status = circuit_status("servicenow", cache=BrokenCache())

    assert (status.state, status.failures, status.since, status.half_opens_at) == ("unknown", 0, None, None)


# --- the legacy database -------------------------------------------------------------------------


@pytest.mark.django_db(databases=["default", "legacy"])
def test_the_legacy_database_circuit_opens_and_then_fails_fast_without_a_query():
    for _ in range(FAIL_MAX):
        with pytest.raises(SystemUnavailable) as raised:
            LegacyCustomerDatabase().find_by_email("ada.lovelace@example.com")
        assert raised.value.__cause__ is not None  # the missing table
    seed_demo_customers(LEGACY_ALIAS)

    with CaptureQueriesContext(connections[LEGACY_ALIAS]) as queries, pytest.raises(SystemUnavailable) as raised:
        LegacyCustomerDatabase().find_by_email("ada.lovelace@example.com")

    assert len(queries) == 0
    assert "circuit open: legacy_db" in raised.value.message
    assert raised.value.retry_after > RESET_TIMEOUT - 2
    assert circuit_status("legacy_db").state == "open"

    rewind_past_reset_timeout("legacy_db")
    customers = LegacyCustomerDatabase().find_by_email("ada.lovelace@example.com")

    assert [customer.customer_number for customer in customers] == ["0000100001"]
    assert circuit_status("legacy_db").state == "closed"


@pytest.mark.django_db(databases=["default", "legacy"])
def test_unknown_customers_never_open_the_legacy_database_circuit():
    seed_demo_customers(LEGACY_ALIAS)

    for _ in range(FAIL_MAX * 2):
        with pytest.raises(SystemNotFound):
            LegacyCustomerDatabase().get_customer("9999999999")

    assert circuit_status("legacy_db").state == "closed"
    assert circuit_status("legacy_db").failures == 0


# --- status for the admin ------------------------------------------------------------------------


def test_a_circuit_never_used_reads_closed_with_no_history():
    assert circuit_status("salesforce").state == "closed"
    assert circuit_status("salesforce").failures == 0
    assert circuit_status("salesforce").since is None
    assert circuit_status("salesforce").half_opens_at is None


def test_an_open_circuit_says_since_when_and_when_it_half_opens(mock):
    mock.get(URL, status=503)
    before = datetime.now(UTC)

    fail(FAIL_MAX)

    status = circuit_status("servicenow")
    assert (status.state, status.failures) == ("open", FAIL_MAX)
    assert before <= status.since <= datetime.now(UTC)
    assert status.half_opens_at == CacheCircuitStorage("servicenow").opened_at + timedelta(seconds=RESET_TIMEOUT)
