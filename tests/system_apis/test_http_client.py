import pytest
import requests
import responses

from system_apis.errors import SystemRateLimited, SystemUnavailable
from system_apis.http import HttpClient


@responses.activate
@pytest.mark.parametrize(("status", "kind"), [(429, SystemRateLimited), (503, SystemUnavailable)])
def test_retry_after_is_kept_on_a_429_and_on_a_503(status, kind):
    responses.add(responses.GET, "https://system.test/thing", status=status, headers={"Retry-After": "7"})

    with pytest.raises(kind) as raised:
        HttpClient(base_url="https://system.test", timeout=(1, 1))._request("GET", "thing", operation="read")

    assert raised.value.retry_after == 7.0


@responses.activate
def test_every_call_carries_the_trace_context_but_never_the_flows_baggage(db):
    from incidents_site.telemetry import configure_telemetry
    from kernel import tracing

    configure_telemetry()
    responses.add(responses.GET, "https://system.test/thing", json={})

    with tracing.correlation("caller-chosen-id"), tracing.tracer.start_as_current_span("flow") as flow:
        HttpClient(base_url="https://system.test", timeout=(1, 1))._request(
            "GET", "thing", operation="read", headers={"Accept": "application/json"}
        )

    sent = responses.calls[0].request.headers
    assert sent["traceparent"].split("-")[1] == f"{flow.get_span_context().trace_id:032x}"
    assert sent["Accept"] == "application/json"
    assert "baggage" not in sent
    assert "caller-chosen-id" not in str(dict(sent))


@responses.activate
def test_calls_of_one_thread_share_a_pooled_session_that_holds_no_credentials():
    from system_apis.servicenow.client import ServiceNowClient

    cookie = {"Set-Cookie": "JSESSIONID=one-session; Path=/"}
    responses.add(responses.GET, "https://one.test/api/now/table/incident/a", json={"result": {}}, headers=cookie)
    responses.add(responses.GET, "https://two.test/api/now/table/incident/a", json={"result": {}})
    first = ServiceNowClient(base_url="https://one.test", username="one", password="p1", timeout=(1, 1))
    second = ServiceNowClient(base_url="https://two.test", username="two", password="p2", timeout=(1, 1))

    for client in (first, second, first):
        client._request("GET", "api/now/table/incident/a", operation="read")

    assert first.session is second.session, "connections are kept for the next call"
    assert first.session.auth is None and "Authorization" not in first.session.headers
    assert all("Cookie" not in call.request.headers for call in responses.calls), "no vendor session kept"
    sent = [call.request.headers["Authorization"] for call in responses.calls]
    assert sent == [basic("one", "p1"), basic("two", "p2"), basic("one", "p1")], "each client's own credentials"


def test_each_thread_has_its_own_session():
    from concurrent.futures import ThreadPoolExecutor

    from system_apis.http import pooled_session

    with ThreadPoolExecutor(max_workers=1) as other_thread:
        theirs = other_thread.submit(pooled_session, "slack").result()

    assert pooled_session("slack") is pooled_session("slack") is not theirs


def test_a_pooled_session_takes_proxies_and_ca_bundle_from_the_environment_as_requests_does(monkeypatch):
    from system_apis.http import PooledSession

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "slack.internal")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company.pem")
    pooled, plain = PooledSession(), requests.Session()

    for url in ("https://slack.com/api/chat.postMessage", "https://slack.internal/api/chat.postMessage"):
        for stream, verify in ((None, None), (True, False)):
            assert pooled.merge_environment_settings(url, {}, stream, verify, None) == (
                plain.merge_environment_settings(url, {}, stream, verify, None)
            )
    proxied = pooled.merge_environment_settings("https://slack.com/api/x", {}, None, None, None)
    assert proxied["proxies"]["https"] == "http://proxy.internal:3128"
    assert proxied["verify"] == "/etc/ssl/company.pem"
    assert (
        "https"
        not in pooled.merge_environment_settings("https://slack.internal/api/x", {}, None, None, None)["proxies"]
    )


def test_a_pooled_session_reads_the_environment_once_per_origin(monkeypatch):
    from system_apis.http import PooledSession

    reads = []
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", lambda url, no_proxy=None: reads.append(url) or {})
    session = PooledSession()

    for path in ("chat.postMessage", "chat.update", "chat.postMessage"):
        settings = session.merge_environment_settings(f"https://slack.com/api/{path}", {}, None, None, None)
        settings["proxies"]["https"] = "changed by a caller"
    session.merge_environment_settings("https://hooks.slack.com/commands/1", {}, None, None, None)

    assert reads == ["https://slack.com/api/chat.postMessage", "https://hooks.slack.com/commands/1"]
    assert session.merge_environment_settings("https://slack.com/api/x", {}, None, None, None)["proxies"] == {}


def basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
