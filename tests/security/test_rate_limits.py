"""Rate limits: per API client by tier on /api/v1/, per client address on the form, status page and token endpoint."""

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory

from experience_apis.clients.services import api_client_create
from experience_apis.policies.client_ip import client_block, client_ip
from incidents_site.cache import AtomicDatabaseCache
from process_apis.models import IncidentRequest
from tests.reports import ADA_FORM as FORM
from tests.reports import form_token
from tests.security.conftest import api_as, token_response

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])


def test_every_v1_answer_carries_the_clients_limit_what_is_left_and_when_it_resets(settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "silver": "5/m"}
    api = api_as("partner", tier="silver")

    answers = [api.get("/api/v1/incidents") for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 5
    assert [a["X-RateLimit-Limit"] for a in answers] == ["5"] * 5
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
    assert all(0 <= int(a["X-RateLimit-Reset"]) <= 60 for a in answers)


def test_past_the_limit_a_client_gets_a_json_429_with_retry_after_and_nothing_is_stored(settings, vendors):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "bronze": "2/m"}
    api = api_as("partner")
    api.get("/api/v1/incidents")
    api.get("/api/v1/incidents")

    refused = api.post("/api/v1/incidents", FORM, content_type="application/json")

    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    body = refused.json()
    wait = int(refused["Retry-After"])
    assert body["message"] == (
        "Your client's rate limit of 2 requests is used up for this window. "
        f"Expected available in {wait} second{'' if wait == 1 else 's'}."
    )
    assert body["extra"]["code"] == "throttled"
    assert body["extra"]["retry_after"] == int(refused["Retry-After"]) >= 1
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("2", "0")
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_the_tier_sets_the_limit_and_each_client_counts_on_its_own(settings):
    settings.API_RATE_LIMITS = {"bronze": "1/m", "silver": "3/m", "gold": "6/m"}
    bronze, gold, other_bronze = api_as("b", tier="bronze"), api_as("g", tier="gold"), api_as("b2", tier="bronze")

    assert [bronze.get("/api/v1/incidents").status_code for _ in range(2)] == [200, 429]
    assert [gold.get("/api/v1/incidents").status_code for _ in range(2)] == [200, 200]
    assert gold.get("/api/v1/incidents")["X-RateLimit-Limit"] == "6"
    assert other_bronze.get("/api/v1/incidents").status_code == 200, "another client's count is its own"


def test_a_new_token_does_not_reset_the_count(settings, client):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "bronze": "1/m"}
    api_client, secret = api_client_create(name="partner")
    first = token_response(client, api_client.client_id, secret).json()["access_token"]
    second = token_response(client, api_client.client_id, secret).json()["access_token"]

    assert client.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 200
    assert client.get("/api/v1/incidents", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 429


def test_a_limit_the_cache_cannot_count_lets_the_request_through(settings, monkeypatch):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "bronze": "1/m"}
    api = api_as("partner")

    def cache_down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], "add", cache_down)
    answers = [api.get("/api/v1/incidents") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in answers[0]


def test_the_schema_documents_the_rate_limit_headers_and_the_429(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    for path, method in [
        ("/api/v1/incidents", "post"),
        ("/api/v1/incidents", "get"),
        ("/api/v1/incidents/{reference}", "get"),
    ]:
        responses = schema["paths"][path][method]["responses"]
        assert responses["429"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ApiError"}
        assert "Retry-After" in responses["429"]["headers"]
        for code in ("200" if method == "get" else "201", "429"):
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
                responses[code]["headers"]
            )


# --- Per client address -----------------------------------------------------------------------


def test_the_form_is_limited_per_address_with_a_friendly_429_page_and_nothing_sent(settings, vendors):
    settings.REPORT_FORM_RATE_LIMIT = "2/m"
    browser = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        assert browser.post("/", {"report_token": form_token(browser)}).status_code == 200  # invalid: errors shown

    refused = browser.post("/", {**FORM, "report_token": form_token(browser)})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    html = refused.content.decode()
    assert "<h1>Please wait a moment</h1>" in html
    assert "Please try again in 1 minute." in html
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0
    assert Client(REMOTE_ADDR="203.0.113.10").post("/", {}).status_code == 200, "another address is not limited"


def test_the_form_limit_ignores_a_forged_x_forwarded_for(settings):
    settings.REPORT_FORM_RATE_LIMIT = "1/m"
    settings.TRUSTED_PROXY_COUNT = 0
    browser = Client(REMOTE_ADDR="203.0.113.9")

    first = browser.post("/", {}, HTTP_X_FORWARDED_FOR="198.51.100.1")
    second = browser.post("/", {}, HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert (first.status_code, second.status_code) == (200, 429)


def test_the_status_lookup_is_limited_per_address(settings):
    settings.STATUS_LOOKUP_RATE_LIMIT = "2/m"
    browser = Client(REMOTE_ADDR="203.0.113.9")
    lookup = {"reference": "IH-7Q4M2X9K0B", "email": "ada@example.com"}

    answers = [browser.post("/status", lookup).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_guessing_client_secrets_at_the_token_endpoint_is_limited_per_address(settings):
    settings.TOKEN_ENDPOINT_RATE_LIMIT = "3/m"
    api_client, secret = api_client_create(name="partner")
    guesser = Client(REMOTE_ADDR="203.0.113.66")

    guesses = [token_response(guesser, api_client.client_id, f"guess-{n}") for n in range(3)]
    blocked = token_response(guesser, api_client.client_id, secret)

    assert [g.status_code for g in guesses] == [401, 401, 401]
    assert blocked.status_code == 429
    assert blocked.json()["extra"] == {"code": "rate_limited", "retry_after": int(blocked["Retry-After"])}
    assert "access_token" not in blocked.json()
    assert token_response(Client(REMOTE_ADDR="192.0.2.1"), api_client.client_id, secret).status_code == 200


# --- The client's address ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.1"),  # no trusted proxy: the header is never believed
        (1, "198.51.100.1", "198.51.100.1"),  # one proxy: the address it appended
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # what the client sent left of it is ignored
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.1"),  # fewer entries than proxies: nothing is vouched for
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_the_client_address_believes_x_forwarded_for_only_as_far_as_trusted_proxies_wrote_it(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


@pytest.mark.parametrize(
    ("address", "block"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_limits_count_an_ipv6_slash_64_as_one_client(address, block):
    assert client_block(RequestFactory().get("/", REMOTE_ADDR=address)) == block


def test_rotating_addresses_inside_one_ipv6_slash_64_does_not_escape_the_form_limit(settings):
    settings.REPORT_FORM_RATE_LIMIT = "2/m"
    answers = [Client(REMOTE_ADDR=f"2001:db8:5:6::{n:x}").post("/", {}).status_code for n in range(1, 4)]

    assert answers[-1] == 429
    assert Client(REMOTE_ADDR="2001:db8:5:7::1").post("/", {}).status_code != 429, "the next /64 counts on its own"


# --- The embedded default's counter -------------------------------------------------------------


@pytest.fixture
def database_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "atomic": {"BACKEND": "incidents_site.cache.AtomicDatabaseCache", "LOCATION": "test_atomic_cache"},
    }
    call_command("createcachetable", "--database", "default")
    cache = caches["atomic"]
    assert isinstance(cache, AtomicDatabaseCache)
    return cache


def expiry() -> object:
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM test_atomic_cache")
        return cursor.fetchone()[0]


def test_the_database_cache_counts_in_place_and_keeps_the_entrys_expiry(database_cache):
    assert database_cache.add("hits", 1, 60)
    expires = expiry()

    assert [database_cache.incr("hits") for _ in range(3)] == [2, 3, 4]
    assert database_cache.incr("hits", 10) == 14
    assert database_cache.get("hits") == 14
    assert expiry() == expires, "counting does not move the window's end"


def test_the_database_cache_refuses_to_count_a_missing_or_expired_key(database_cache):
    database_cache.add("old", 1, 60)
    database_cache.touch("old", -1)

    with pytest.raises(ValueError):
        database_cache.incr("missing")
    with pytest.raises(ValueError):
        database_cache.incr("old")


# --- Settings that cannot be read fail at start ----------------------------------------------


def test_the_default_rate_limits_pass_the_system_check():
    from experience_apis.checks import rate_limits_are_readable

    assert rate_limits_are_readable() == []


def test_an_unreadable_rate_limit_is_a_system_check_error(settings):
    from experience_apis.checks import rate_limits_are_readable

    settings.API_RATE_LIMITS = {"bronze": "60/min", "silver": "300/m"}
    settings.TOKEN_ENDPOINT_RATE_LIMIT = "lots"

    problems = rate_limits_are_readable()

    assert [(p.id, p.msg) for p in problems] == [
        ("experience_apis.E001", "API_RATE_LIMITS['bronze'] is '60/min', which is no rate limit."),
        ("experience_apis.E001", "API_RATE_LIMITS['gold'] is None, which is no rate limit."),
        ("experience_apis.E001", "TOKEN_ENDPOINT_RATE_LIMIT is 'lots', which is no rate limit."),
    ]
