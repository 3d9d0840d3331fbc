import base64
import ipaddress
import json
import socket
from datetime import UTC, datetime

import pytest
import requests
import responses
from standardwebhooks import Webhook

from system_apis.errors import SystemTimeout, SystemUnavailable
from system_apis.webhooks.client import (
    WebhookAddressRefused,
    WebhookClient,
    WebhookGone,
    WebhookRefused,
    signature_headers,
)
from system_apis.webhooks.guard import (
    AddressRefused,
    PinnedAdapter,
    Target,
    literal_problem,
    resolve_target,
    url_problem,
)
from system_apis.webhooks.types import WebhookAnswer, WebhookMessage

URL = "https://hooks.partner.example/incident-hub?token=abc"
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
PUBLIC = "93.184.215.14"
AT = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every host name resolve to the given addresses."""

    def resolve(*addresses: str) -> list:
        def getaddrinfo(host, port, *args, **kwargs):
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    resolve(PUBLIC)
    return resolve


def message(url: str = URL, body: bytes = b'{"type":"incident.created"}') -> WebhookMessage:
    return WebhookMessage(url=url, secret=SECRET, message_id="msg_2Rk7yXq", body=body)


def make_client(**kwargs) -> WebhookClient:
    return WebhookClient(timeout=(1.0, 2.0), **kwargs)


# --- signing ---------------------------------------------------------------------------------------


def test_the_signature_matches_the_specifications_example():
    # The example of the Standard Webhooks reference libraries' tests.
    headers = signature_headers(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        body=b'{"test": 2432232314}',
        at=datetime.fromtimestamp(1614265330, UTC),
    )

    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


@responses.activate
def test_a_delivery_posts_the_body_signed_for_this_attempt(resolves_to):
    responses.post(URL, status=204)

    answer = make_client().send(message(), at=AT)

    assert answer == WebhookAnswer(status=204, excerpt="")
    sent = responses.calls[0].request
    assert sent.body == b'{"type":"incident.created"}'
    assert sent.headers["webhook-id"] == "msg_2Rk7yXq"
    assert sent.headers["webhook-timestamp"] == "1796385600"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Host"] == "hooks.partner.example"
    assert sent.headers["webhook-signature"].startswith("v1,")
    expected = Webhook(SECRET).sign("msg_2Rk7yXq", AT, b'{"type":"incident.created"}')
    assert sent.headers["webhook-signature"] == expected


@responses.activate
def test_the_receiver_verifies_it_with_the_standard_library(resolves_to):
    responses.post(URL, status=200)

    make_client().send(message())

    sent = responses.calls[0].request
    assert Webhook(SECRET).verify(sent.body, dict(sent.headers)) == {"type": "incident.created"}


@responses.activate
def test_a_retry_keeps_the_message_id_and_signs_its_own_time(resolves_to):
    responses.post(URL, status=200)
    client = make_client()

    client.send(message(), at=AT)
    client.send(message(), at=datetime.fromtimestamp(AT.timestamp() + 90, UTC))

    first, second = (call.request.headers for call in responses.calls)
    assert first["webhook-id"] == second["webhook-id"] == "msg_2Rk7yXq"
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 90
    assert first["webhook-signature"] != second["webhook-signature"]


# --- answers ---------------------------------------------------------------------------------------


@responses.activate
def test_410_gone_is_not_retried(resolves_to):
    responses.post(URL, status=410, body="no such hook")

    with pytest.raises(WebhookGone) as raised:
        make_client().send(message(), at=AT)

    assert raised.value.retryable is False
    assert raised.value.status == 410
    assert raised.value.body == "no such hook"


@pytest.mark.parametrize("status", [400, 401, 404, 409, 500, 502, 302])
@responses.activate
def test_any_other_non_2xx_is_retried(resolves_to, status):
    responses.post(URL, status=status, headers={"Location": "https://elsewhere.example/"} if status == 302 else {})

    with pytest.raises(WebhookRefused) as raised:
        make_client().send(message(), at=AT)

    assert raised.value.retryable is True
    assert raised.value.status == status
    assert len(responses.calls) == 1, "no redirect is followed"


@responses.activate
def test_429_says_when_to_retry_and_holds_nothing_else(resolves_to):
    responses.post(URL, status=429, headers={"Retry-After": "120"})

    with pytest.raises(WebhookRefused) as raised:
        make_client().send(message(), at=AT)

    assert raised.value.retry_after == 120.0
    responses.replace(responses.POST, URL, status=200)
    assert make_client().send(message(), at=AT).status == 200, "another message is not held back"


@responses.activate
def test_only_the_start_of_the_answer_is_kept(resolves_to):
    responses.post(URL, status=200, body="x" * 10_000)

    answer = make_client().send(message(), at=AT)

    assert answer.excerpt == "x" * 200


@responses.activate
def test_a_timeout_is_retryable(resolves_to):
    responses.post(URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(SystemTimeout) as raised:
        make_client().send(message(), at=AT)

    assert raised.value.retryable is True


# --- the address guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.1",
        "100.64.0.1",
        "fd00::1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo of 10.0.0.1
        "fec0::1",  # site-local
    ],
)
@responses.activate
def test_a_host_resolving_to_a_non_public_address_is_refused_without_a_call(resolves_to, address):
    resolves_to(address)
    responses.post(URL, status=200)

    with pytest.raises(WebhookAddressRefused) as raised:
        make_client().send(message(), at=AT)

    assert f"resolves to {ipaddress.ip_address(address)}" in str(raised.value)
    assert raised.value.retryable is False
    assert len(responses.calls) == 0


@responses.activate
def test_one_private_address_among_public_ones_is_enough_to_refuse(resolves_to):
    resolves_to(PUBLIC, "127.0.0.1")
    responses.post(URL, status=200)

    with pytest.raises(WebhookAddressRefused):
        make_client().send(message(), at=AT)

    assert len(responses.calls) == 0


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook"])
@responses.activate
def test_an_address_literal_is_checked_as_it_resolves(url):
    responses.post(url, status=200)

    with pytest.raises(WebhookAddressRefused):
        make_client().send(message(url), at=AT)

    assert len(responses.calls) == 0


@responses.activate
def test_private_addresses_are_called_when_the_setting_allows_them(resolves_to):
    resolves_to("127.0.0.1")
    responses.post(URL, status=200)

    assert make_client(allow_private=True).send(message(), at=AT).status == 200


@responses.activate
def test_http_is_refused_unless_allowed(resolves_to):
    url = "http://hooks.partner.example/hook"
    responses.post(url, status=200)

    with pytest.raises(WebhookAddressRefused) as raised:
        make_client().send(message(url), at=AT)
    assert "https" in str(raised.value)
    assert len(responses.calls) == 0

    assert make_client(allow_http=True).send(message(url), at=AT).status == 200


def test_a_name_that_does_not_resolve_is_retryable(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    with pytest.raises(SystemUnavailable) as raised:
        make_client().send(message(), at=AT)

    assert raised.value.retryable is True


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example/x", None),
        ("http://hooks.example/x", "must be an https URL"),
        ("ftp://hooks.example/x", "must be an https URL"),
        ("https:///x", "has no host"),
        ("https://user:pw@hooks.example/x", "may not carry a user name or password"),
        ("https://hooks.example:99999/x", "is not a valid URL"),
    ],
)
def test_url_problems_on_their_face(url, problem):
    assert url_problem(url, allow_http=False) == problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1/x", "a loopback address"),
        ("https://[::1]/x", "a loopback address"),
        ("https://10.0.0.1/x", "a private address"),
        ("https://localhost/x", "a name for this machine"),
        ("https://93.184.215.14/x", None),
        ("https://hooks.example/x", None),
    ],
)
def test_literal_problems(url, problem):
    assert literal_problem(url) == problem


def test_the_connection_goes_to_the_checked_address_and_tls_names_the_host(resolves_to):
    target = resolve_target(URL, allow_http=False, allow_private=False)
    adapter = PinnedAdapter(target)
    prepared = requests.Request("POST", URL, data=b"{}").prepare()

    pool = adapter.get_connection_with_tls_context(prepared, verify=True)

    assert (pool.host, pool.port, pool.scheme) == (PUBLIC, 443, "https")
    assert pool.conn_kw["server_hostname"] == "hooks.partner.example"
    assert pool.assert_hostname == "hooks.partner.example"


def test_the_pinned_connection_refuses_another_host(resolves_to):
    adapter = PinnedAdapter(Target("https", "hooks.partner.example", 443, "hooks.partner.example", PUBLIC))
    prepared = requests.Request("POST", "https://elsewhere.example/", data=b"{}").prepare()

    with pytest.raises(AddressRefused):
        adapter.get_connection_with_tls_context(prepared, verify=True)


def test_the_payload_is_sent_as_given(resolves_to):
    body = json.dumps({"a": "é"}, ensure_ascii=False).encode()
    with responses.RequestsMock() as mocked:
        mocked.post(URL, status=200)
        make_client().send(message(body=body), at=AT)
        assert mocked.calls[0].request.body == body


@responses.activate
def test_an_international_host_name_is_checked_and_sent_in_its_ascii_form(resolves_to):
    responses.post("https://xn--bcher-kva.example/hook", status=204)

    make_client().send(message(url="https://bücher.example/hook"), at=AT)

    assert responses.calls[0].request.url == "https://xn--bcher-kva.example/hook"
