import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from responses import matchers

from system_apis.errors import (
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from system_apis.http import HttpAnswer
from system_apis.quota import quota_hold_of
from system_apis.salesforce.client import (
    SalesforceClient,
    parse_api_usage,
    read_answer,
    remembered_grants,
    soql_literal,
)
from system_apis.salesforce.types import Contact
from tests.conftest import load_fixture

BASE_URL = "https://login.salesforce.com"
INSTANCE_URL = "https://acme.my.salesforce.com"
TOKEN_URL = f"{BASE_URL}/services/oauth2/token"
QUERY_URL = f"{INSTANCE_URL}/services/data/v62.0/query"
CLIENT_ID = "3MVG9test.incident.hub"
CLIENT_SECRET = "s3cr3t+/="
FIRST_TOKEN = load_fixture("salesforce/token.json")["access_token"]
SECOND_TOKEN = load_fixture("salesforce/token_second.json")["access_token"]
FIELDS = "Id, FirstName, LastName, Email, Phone, AccountId, Account.Name"
ORDER = "ORDER BY LastModifiedDate DESC, Id DESC"
ADA = Contact(
    id="0035g00000AdaLv1AB",
    first_name="Ada",
    last_name="Lovelace",
    email="ada.lovelace@example.com",
    phone="+44 20 7946 0958",
    account_id="0015g00000AnlEngAA",
    account_name="Analytical Engines Ltd",
)


def soql_for(quoted_email: str) -> str:
    return f"SELECT {FIELDS} FROM Contact WHERE Email = {quoted_email} {ORDER}"  # noqa: S608 - SOQL, not SQL


def make_client(**overrides: object) -> SalesforceClient:
    options = {
        "base_url": BASE_URL,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_version": "v62.0",
        "timeout": (1.5, 4.0),
        **overrides,
    }
    return SalesforceClient(**options)  # type: ignore[arg-type]


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def add_token(rsps: responses.RequestsMock, fixture: str = "token.json", status: int = 200, **kwargs: object):
    return rsps.post(
        TOKEN_URL,
        json=load_fixture(f"salesforce/{fixture}"),
        status=status,
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            )
        ],
        **kwargs,
    )


def add_query(
    rsps: responses.RequestsMock,
    fixture: str,
    *,
    soql: str = soql_for("'ada.lovelace@example.com'"),
    token: str = FIRST_TOKEN,
    status: int = 200,
    headers: dict[str, str] | None = None,
):
    return rsps.get(
        QUERY_URL,
        json=load_fixture(f"salesforce/{fixture}"),
        status=status,
        headers=headers,
        match=[
            matchers.query_param_matcher({"q": soql}),
            matchers.header_matcher({"Authorization": f"Bearer {token}", "Accept": "application/json"}),
        ],
    )


def cached_token(client: SalesforceClient) -> str | None:
    grant = cache.get(client.token_cache_key)
    return grant["access_token"] if grant else None


# --- the happy paths -----------------------------------------------------------------------------


def test_find_contacts_by_email_gets_a_token_then_queries_the_instance_with_it(rsps):
    token_call = add_token(rsps)
    query_call = add_query(rsps, "query_one_contact.json")

    contacts = make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert contacts == [ADA]
    assert token_call.call_count == 1 and query_call.call_count == 1
    token_request = rsps.calls[0].request
    assert (token_request.method, token_request.url) == ("POST", TOKEN_URL)
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_request.body == (f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=s3cr3t%2B%2F%3D")
    assert rsps.calls[1].request.url == (
        f"{QUERY_URL}?q=SELECT+Id%2C+FirstName%2C+LastName%2C+Email%2C+Phone%2C+AccountId%2C+Account.Name"
        "+FROM+Contact+WHERE+Email+%3D+%27ada.lovelace%40example.com%27"
        "+ORDER+BY+LastModifiedDate+DESC%2C+Id+DESC"
    )


def test_contacts_sharing_an_email_come_most_recently_modified_first_in_the_order_salesforce_answers(rsps):
    add_token(rsps)
    newer, older = load_fixture("salesforce/query_page_1.json")["records"]
    rsps.get(
        QUERY_URL,
        json={"totalSize": 2, "done": True, "records": [newer, older]},
        match=[matchers.query_param_matcher({"q": soql_for("'s.obrien@example.com'")})],
    )

    contacts = make_client().find_contacts_by_email("s.obrien@example.com")

    sent = parse_qs(urlsplit(rsps.calls[1].request.url).query)["q"][0]
    assert sent.endswith(" FROM Contact WHERE Email = 's.obrien@example.com' ORDER BY LastModifiedDate DESC, Id DESC")
    assert [contact.id for contact in contacts] == ["0035g00000ObrSh1AB", "0035g00000ObrSh2AB"]


def test_a_contact_without_account_name_or_phone_has_none_there(rsps):
    add_token(rsps)
    add_query(rsps, "query_contact_without_account.json", soql=soql_for("'margaret.hamilton@example.com'"))

    contacts = make_client().find_contacts_by_email("margaret.hamilton@example.com")

    assert contacts == [
        Contact(
            id="0035g00000MrgHm4AB",
            first_name=None,
            last_name="Hamilton",
            email="margaret.hamilton@example.com",
            phone=None,
            account_id=None,
            account_name=None,
        )
    ]


def test_no_match_is_an_empty_list(rsps):
    add_token(rsps)
    add_query(rsps, "query_empty.json", soql=soql_for("'nobody@example.com'"))

    assert make_client().find_contacts_by_email("nobody@example.com") == []


def test_every_batch_is_fetched_by_following_next_records_url_until_done(rsps):
    add_token(rsps)
    add_query(rsps, "query_page_1.json", soql=soql_for("'s.obrien@example.com'"))
    more = rsps.get(
        f"{INSTANCE_URL}/services/data/v62.0/query/01gD0000002HU6KIAW-2",
        json=load_fixture("salesforce/query_page_2.json"),
        match=[matchers.header_matcher({"Authorization": f"Bearer {FIRST_TOKEN}"}), matchers.query_string_matcher("")],
    )

    contacts = make_client().find_contacts_by_email("s.obrien@example.com")

    assert [contact.id for contact in contacts] == ["0035g00000ObrSh1AB", "0035g00000ObrSh2AB", "0035g00000ObrSh3AB"]
    assert [contact.account_name for contact in contacts] == ["Dublin Traders", None, "Cork Tea Co"]
    assert more.call_count == 1


@pytest.mark.parametrize(
    ("email", "quoted"),
    [
        ("o'brien@example.com", r"'o\'brien@example.com'"),
        ("back\\slash@example.com", r"'back\\slash@example.com'"),
        ("tricky\\'@example.com", r"'tricky\\\'@example.com'"),
        ("x' OR Email != '@example.com", r"'x\' OR Email != \'@example.com'"),
        ('"quoted"@example.com', r"'\"quoted\"@example.com'"),
    ],
)
def test_quotes_and_backslashes_are_escaped_inside_the_soql_literal(rsps, email, quoted):
    add_token(rsps)
    query_call = add_query(rsps, "query_empty.json", soql=soql_for(quoted))

    make_client().find_contacts_by_email(email)

    assert query_call.call_count == 1


@pytest.mark.parametrize("email", ["", "   ", "a\x00b@example.com", "a\x07@example.com", "a\x7f@example.com"])
def test_an_empty_email_or_control_characters_are_refused_before_any_call(rsps, email):
    with pytest.raises(SystemBadRequest) as caught:
        make_client().find_contacts_by_email(email)

    assert caught.value.status is None
    assert len(rsps.calls) == 0


def test_soql_literal_escapes_line_breaks_and_tabs():
    assert soql_literal("a\nb\rc\td") == r"'a\nb\rc\td'"


# --- the token: cached, refreshed once, refused ---------------------------------------------------


def test_the_cached_token_is_reused_by_a_second_call_and_a_second_client(rsps):
    token_call = add_token(rsps)
    query_call = add_query(rsps, "query_one_contact.json")

    first = make_client().find_contacts_by_email("ada.lovelace@example.com")
    second = make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert first == second == [ADA]
    assert token_call.call_count == 1
    assert query_call.call_count == 2


def test_the_token_cache_key_names_neither_token_nor_secret(rsps):
    add_token(rsps)
    add_query(rsps, "query_one_contact.json")
    client = make_client()

    client.find_contacts_by_email("ada.lovelace@example.com")

    assert cached_token(client) == FIRST_TOKEN
    assert FIRST_TOKEN not in client.token_cache_key and CLIENT_SECRET not in client.token_cache_key
    assert make_client(client_id="another.client").token_cache_key != client.token_cache_key


def test_an_invalid_session_gets_a_new_token_and_the_call_is_retried_once(rsps):
    first_token = add_token(rsps)
    refused = add_query(rsps, "error_invalid_session_id.json", status=401)
    second_token = add_token(rsps, "token_second.json")
    accepted = add_query(rsps, "query_one_contact.json", token=SECOND_TOKEN)
    client = make_client()

    contacts = client.find_contacts_by_email("ada.lovelace@example.com")

    assert contacts == [ADA]
    assert [first_token.call_count, refused.call_count, second_token.call_count, accepted.call_count] == [1, 1, 1, 1]
    assert cached_token(client) == SECOND_TOKEN


def test_a_cached_token_that_expired_is_replaced(rsps):
    add_token(rsps)
    add_query(rsps, "query_one_contact.json")
    client = make_client()
    client.find_contacts_by_email("ada.lovelace@example.com")
    add_query(rsps, "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    add_query(rsps, "query_one_contact.json", token=SECOND_TOKEN)

    assert client.find_contacts_by_email("ada.lovelace@example.com") == [ADA]
    assert [call.request.method for call in rsps.calls] == ["POST", "GET", "GET", "POST", "GET"]
    assert cached_token(client) == SECOND_TOKEN


def test_an_invalid_session_with_the_new_token_too_is_an_auth_error_without_a_third_try(rsps):
    add_token(rsps)
    add_query(rsps, "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    add_query(rsps, "error_invalid_session_id.json", status=401, token=SECOND_TOKEN)
    client = make_client()

    with pytest.raises(SystemAuthError) as caught:
        client.find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.status, caught.value.vendor_code) == (401, "INVALID_SESSION_ID")
    assert caught.value.message == "Session expired or invalid"
    assert len(rsps.calls) == 4
    assert cached_token(client) is None


@pytest.mark.parametrize(
    ("fixture", "status", "code"),
    [
        ("token_invalid_client.json", 400, "invalid_client"),
        ("token_invalid_client.json", 401, "invalid_client"),
        ("token_invalid_client_id.json", 400, "invalid_client_id"),
        ("token_unsupported_grant_type.json", 400, "unsupported_grant_type"),
    ],
)
def test_refused_client_credentials_are_an_auth_error_and_nothing_is_queried_or_cached(rsps, fixture, status, code):
    add_token(rsps, fixture, status=status)
    client = make_client()

    with pytest.raises(SystemAuthError) as caught:
        client.find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.status, caught.value.vendor_code, caught.value.operation) == (status, code, "oauth_token")
    assert caught.value.message == load_fixture(f"salesforce/{fixture}")["error_description"]
    assert len(rsps.calls) == 1
    assert cached_token(client) is None


def test_too_many_token_requests_is_rate_limited(rsps):
    add_token(rsps, "token_rate_limit_exceeded.json", status=400, headers={"Retry-After": "30"})

    with pytest.raises(SystemRateLimited) as caught:
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.vendor_code, caught.value.retry_after) == ("rate_limit_exceeded", 30.0)


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "instance_url": INSTANCE_URL},
        {"access_token": "00D!abc", "token_type": "Bearer"},
        {"access_token": "00D!abc", "instance_url": "acme.my.salesforce.com"},
    ],
)
def test_a_token_answer_without_token_or_instance_url_is_a_protocol_error_and_not_cached(rsps, body):
    rsps.post(TOKEN_URL, json=body)
    client = make_client()

    with pytest.raises(SystemProtocolError) as caught:
        client.find_contacts_by_email("ada.lovelace@example.com")

    assert caught.value.body is None
    assert cached_token(client) is None


def test_the_token_and_the_secret_are_never_logged(rsps, caplog):
    add_token(rsps)
    add_query(rsps, "error_invalid_session_id.json", status=401)
    add_token(rsps, "token_second.json")
    add_query(rsps, "query_one_contact.json", token=SECOND_TOKEN)

    with caplog.at_level(logging.DEBUG):
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert caplog.records
    assert all(
        secret not in record.getMessage()
        for record in caplog.records
        for secret in (FIRST_TOKEN, SECOND_TOKEN, CLIENT_SECRET, "ada.lovelace")
    )


# --- the query's errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "error", "code"),
    [
        (403, "error_request_limit_exceeded.json", SystemRateLimited, "REQUEST_LIMIT_EXCEEDED"),
        (400, "error_malformed_query.json", SystemBadRequest, "MALFORMED_QUERY"),
        (400, "error_invalid_field.json", SystemBadRequest, "INVALID_FIELD"),
        (404, "error_not_found.json", SystemNotFound, "NOT_FOUND"),
        (403, "error_api_disabled.json", SystemAuthError, "API_DISABLED_FOR_ORG"),
        (500, "error_unknown_exception.json", SystemUnavailable, "UNKNOWN_EXCEPTION"),
        (503, "error_server_unavailable.json", SystemUnavailable, "SERVER_UNAVAILABLE"),
    ],
)
def test_query_errors_become_typed_errors_without_retry_and_keep_the_token(rsps, status, fixture, error, code):
    add_token(rsps)
    add_query(rsps, fixture, status=status)
    client = make_client()

    with pytest.raises(error) as caught:
        client.find_contacts_by_email("ada.lovelace@example.com")

    assert type(caught.value) is error
    assert (caught.value.status, caught.value.vendor_code) == (status, code)
    assert caught.value.operation == "find_contacts_by_email"
    assert caught.value.message == load_fixture(f"salesforce/{fixture}")[0]["message"]
    assert len(rsps.calls) == 2
    assert cached_token(client) == FIRST_TOKEN


def test_request_limit_exceeded_has_no_retry_after_unless_told():
    with responses.RequestsMock() as rsps:
        add_token(rsps)
        add_query(rsps, "error_request_limit_exceeded.json", status=403)

        with pytest.raises(SystemRateLimited) as caught:
            make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert caught.value.retry_after is None


def test_429_with_retry_after_is_rate_limited_for_that_long(rsps):
    add_token(rsps)
    add_query(rsps, "error_request_limit_exceeded.json", status=429, headers={"Retry-After": "7"})

    with pytest.raises(SystemRateLimited) as caught:
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)


def test_a_server_error_page_that_is_not_json_is_unavailable(rsps):
    add_token(rsps)
    rsps.get(QUERY_URL, body="<html>Service Unavailable</html>", status=502, content_type="text/html")

    with pytest.raises(SystemUnavailable) as caught:
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.status, caught.value.vendor_code) == (502, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"body": "not json", "content_type": "text/plain"}, "answer is not JSON"),
        ({"json": [{"Id": "003"}]}, "query answer is not an object"),
        ({"json": {"totalSize": 1, "done": True}}, "query answer lacks records or done"),
        ({"json": {"totalSize": 9, "done": False, "records": []}}, "no relative nextRecordsUrl"),
        (
            {"json": {"totalSize": 9, "done": False, "records": [], "nextRecordsUrl": "https://evil.example/x"}},
            "no relative nextRecordsUrl",
        ),
        ({"json": {"totalSize": 1, "done": True, "records": [{"LastName": "X"}]}}, "a contact record has no Id"),
    ],
)
def test_query_answers_we_cannot_read_are_protocol_errors(rsps, kwargs, message):
    add_token(rsps)
    rsps.get(QUERY_URL, **kwargs)

    with pytest.raises(SystemProtocolError) as caught:
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert message in caught.value.message


def test_a_query_that_never_finishes_paging_stops_after_the_page_bound(rsps):
    add_token(rsps)
    endless = {"totalSize": 99, "done": False, "records": [], "nextRecordsUrl": "/services/data/v62.0/query/01g-1"}
    rsps.get(QUERY_URL, json=endless)
    more = rsps.get(f"{INSTANCE_URL}/services/data/v62.0/query/01g-1", json=endless)

    with pytest.raises(SystemProtocolError):
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert more.call_count == SalesforceClient.MAX_PAGES - 1


# --- transport failures --------------------------------------------------------------------------


def test_no_connection_to_the_token_endpoint_is_a_timeout_before_sending(rsps):
    rsps.post(TOKEN_URL, body=requests.ConnectTimeout("connect timed out"))

    with pytest.raises(SystemTimeout) as caught:
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.request_sent, caught.value.operation) == (False, "oauth_token")


def test_no_answer_to_the_query_is_a_timeout_after_sending(rsps):
    add_token(rsps)
    rsps.get(QUERY_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(SystemTimeout) as caught:
        make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert (caught.value.request_sent, caught.value.operation) == (True, "find_contacts_by_email")
    assert "4.0 s" in caught.value.message


def test_an_unreachable_instance_is_unavailable(rsps):
    add_token(rsps)
    rsps.get(QUERY_URL, body=requests.ConnectionError("connection refused"))

    with pytest.raises(SystemUnavailable):
        make_client().find_contacts_by_email("ada.lovelace@example.com")


def test_every_call_carries_the_configured_timeout(rsps, monkeypatch):
    add_token(rsps)
    add_query(rsps, "query_one_contact.json")
    client = make_client()
    seen: list[object] = []
    original = client.session.request

    def spy(method, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        return original(method, url, **kwargs)

    monkeypatch.setattr(client.session, "request", spy)

    client.find_contacts_by_email("ada.lovelace@example.com")

    assert seen == [(1.5, 4.0), (1.5, 4.0)]


# --- API usage -----------------------------------------------------------------------------------


def test_the_api_usage_header_is_read_from_each_answer(rsps):
    add_token(rsps)
    add_query(
        rsps,
        "query_one_contact.json",
        headers={"Sforce-Limit-Info": "api-usage=18/15000; per-app-api-usage=17/250(appName=Incident Hub)"},
    )
    client = make_client()
    assert client.last_api_usage is None

    client.find_contacts_by_email("ada.lovelace@example.com")

    assert client.last_api_usage == (18, 15000)


def test_the_api_usage_of_an_error_answer_is_read_too(rsps):
    add_token(rsps)
    add_query(
        rsps, "error_request_limit_exceeded.json", status=403, headers={"Sforce-Limit-Info": "api-usage=15000/15000"}
    )
    client = make_client()

    with pytest.raises(SystemRateLimited):
        client.find_contacts_by_email("ada.lovelace@example.com")

    assert client.last_api_usage == (15000, 15000)


@pytest.mark.parametrize(
    ("header", "usage"),
    [
        ("api-usage=10018/100000", (10018, 100000)),
        ("per-app-api-usage=17/250(appName=x)", None),
        ("per-app-api-usage=17/250(appName=x); api-usage=3/5000", (3, 5000)),
        ("", None),
        (None, None),
    ],
)
def test_parse_api_usage(header, usage):
    assert parse_api_usage(header) == usage


# --- construction --------------------------------------------------------------------------------


def test_from_settings_reads_the_salesforce_settings(settings, rsps):
    settings.SALESFORCE_BASE_URL = "https://acme.my.salesforce.com/"
    settings.SALESFORCE_CLIENT_ID = "3MVG9.settings"
    settings.SALESFORCE_CLIENT_SECRET = "from-settings"
    settings.SALESFORCE_API_VERSION = "v61.0"
    settings.SALESFORCE_TIMEOUT = (2.0, 6.0)
    rsps.post(
        "https://acme.my.salesforce.com/services/oauth2/token",
        json=load_fixture("salesforce/token.json"),
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "client_id": "3MVG9.settings", "client_secret": "from-settings"}
            )
        ],
    )
    rsps.get(f"{INSTANCE_URL}/services/data/v61.0/query", json=load_fixture("salesforce/query_empty.json"))

    client = SalesforceClient.from_settings()

    assert client.find_contacts_by_email("x@example.com") == []
    assert client.timeout == (2.0, 6.0)


class BrokenCache:
    def __init__(self) -> None:
        self.operations = 0

    def get(self, *args: object) -> None:
        self.operations += 1
        raise ConnectionError("cache down")

    set = delete = get


def test_a_broken_cache_costs_neither_the_lookup_nor_a_token_per_call(rsps):
    token_call = add_token(rsps)
    add_query(rsps, "query_one_contact.json")
    cache = BrokenCache()

    assert make_client(cache=cache).find_contacts_by_email("ada.lovelace@example.com") == [ADA]
    assert make_client(cache=cache).find_contacts_by_email("ada.lovelace@example.com") == [ADA]

    assert token_call.call_count == 1, "the process remembers the token it could not share"
    assert cache.operations == 2, "asked for a token and told of the new one, once"


class CountingCache(LocMemCache):
    def __init__(self) -> None:
        super().__init__("salesforce-token", {})
        self.clear()  # in-memory caches of one name share their entries
        self.operations: list[str] = []

    def get(self, key, *args, **kwargs):
        self.operations.append("get")
        return super().get(key, *args, **kwargs)

    def set(self, key, *args, **kwargs):
        self.operations.append("set")
        return super().set(key, *args, **kwargs)

    def delete(self, key, *args, **kwargs):
        self.operations.append("delete")
        return super().delete(key, *args, **kwargs)


def test_the_token_this_process_used_is_used_again_without_asking_the_cache(rsps):
    add_token(rsps)
    query_call = add_query(rsps, "query_one_contact.json")
    cache = CountingCache()

    for _ in range(3):
        make_client(cache=cache).find_contacts_by_email("ada.lovelace@example.com")

    assert query_call.call_count == 3
    assert cache.operations == ["get", "set"], "looked for once, then fetched and shared"


def test_a_token_another_process_stored_is_taken_from_the_cache_without_a_token_request(rsps):
    token_call = add_token(rsps)
    add_query(rsps, "query_one_contact.json")
    make_client().find_contacts_by_email("ada.lovelace@example.com")  # "another process" fetches and shares it
    remembered_grants.clear()  # this process has not used it yet

    make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert token_call.call_count == 1


def test_a_token_another_process_replaced_is_refused_once_here_then_the_shared_one_is_used(rsps):
    add_token(rsps)
    add_query(rsps, "query_one_contact.json")
    make_client().find_contacts_by_email("ada.lovelace@example.com")
    # Elsewhere the first token was refused and a second one fetched and shared.
    cache.set(make_client().token_cache_key, {"access_token": SECOND_TOKEN, "instance_url": INSTANCE_URL}, 3600)
    refused = add_query(rsps, "error_invalid_session_id.json", status=401)
    accepted = add_query(rsps, "query_one_contact.json", token=SECOND_TOKEN)

    assert make_client().find_contacts_by_email("ada.lovelace@example.com") == [ADA]
    assert make_client().find_contacts_by_email("ada.lovelace@example.com") == [ADA]

    assert (refused.call_count, accepted.call_count) == (1, 2)
    assert [call.request.method for call in rsps.calls].count("POST") == 1, "no token request of our own"
    assert cached_token(make_client()) == SECOND_TOKEN, "the shared token is not the refused one: it stays"


def test_a_remembered_token_is_used_for_the_cache_time_at_most(rsps, monkeypatch):
    token_call = add_token(rsps)
    add_token(rsps, "token_second.json")
    add_query(rsps, "query_one_contact.json")
    add_query(rsps, "query_one_contact.json", token=SECOND_TOKEN)
    make_client().find_contacts_by_email("ada.lovelace@example.com")
    cache.clear()  # the shared token's time is up
    later = time.monotonic() + SalesforceClient.TOKEN_CACHE_SECONDS
    monkeypatch.setattr("system_apis.salesforce.client.time.monotonic", lambda: later)

    make_client().find_contacts_by_email("ada.lovelace@example.com")

    assert token_call.call_count == 1
    assert cached_token(make_client()) == SECOND_TOKEN


def test_reading_an_answer_past_the_ceiling_names_the_hold_without_holding_anything_itself(settings):
    settings.SALESFORCE_API_USAGE_CEILING = 0.9
    headers = {"Sforce-Limit-Info": "api-usage=13500/15000"}

    reading = read_answer(HttpAnswer(status=200, reason="OK", headers=headers, content=b"{}", retry_after=None))

    assert (reading.error, reading.usage) == (None, (13500, 15000))
    assert reading.hold == "the org's API quota is 13500/15000 used"
    assert quota_hold_of("salesforce") is None, "the pipeline holds the system, not the reader"
