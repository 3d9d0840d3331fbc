"""A span that an exception passes through: failed, with an "exception" event as OpenTelemetry records one."""

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from kernel import tracing
from kernel.errors import ServiceError


class VendorDown(ServiceError):
    pass


@pytest.fixture
def spans(monkeypatch):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("test"))
    return exporter


def nested_failure(error: BaseException) -> None:
    with tracing.traced("process", "customer_incidents", "report"), tracing.traced("system", "servicenow", "create"):
        raise error


def test_a_service_error_fails_every_span_it_passes_with_its_type_and_message_and_no_stack(spans):
    with pytest.raises(VendorDown):
        nested_failure(VendorDown("servicenow is down"))

    for span in spans.get_finished_spans():
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "VendorDown: servicenow is down"
        [event] = span.events
        assert event.name == "exception"
        assert dict(event.attributes) == {
            "exception.type": "tests.kernel.test_tracing.VendorDown",
            "exception.message": "servicenow is down",
            "exception.escaped": "True",
        }


def test_a_bug_is_recorded_with_its_stack_trace(spans):
    with pytest.raises(KeyError):
        nested_failure(KeyError("sys_id"))

    for span in spans.get_finished_spans():
        assert span.status.status_code is StatusCode.ERROR
        [event] = span.events
        assert event.attributes["exception.type"] == "KeyError"
        assert "in nested_failure" in event.attributes["exception.stacktrace"]


def test_a_span_that_ends_well_has_no_event(spans):
    with tracing.traced("system", "servicenow", "create"):
        pass

    [span] = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
