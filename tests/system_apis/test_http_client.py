import pytest
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
    from system_apis import tracing

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
