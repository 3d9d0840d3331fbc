"""OpenTelemetry for the whole process: the call trace recorder, and an OTLP exporter when one is configured.

Spans come from the layers (`kernel/tracing.py`; the System APIs' HTTP client also sends the W3C trace context
to the systems of record), the trace middleware, and the Celery instrumentation, which carries the trace
context and the correlation id (as baggage) across the hop to the worker.

The call trace recorder and the OTLP exporter both hold spans a moment, then write or send them from a thread
of their own. What they still hold when a process stops goes out at exit (the tracer provider's at-exit handler:
web, beat, a Celery worker's main process) and when a Celery worker or one of its prefork children stops (a child
leaves without running at-exit handlers).
"""

from __future__ import annotations

import threading
from typing import Any

from celery.signals import task_prerun, worker_process_shutdown, worker_shutdown
from django.conf import settings
from opentelemetry import baggage, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from kernel import tracing
from operations.recorder import CallTraceRecorder, CallTraceWriter

_lock = threading.Lock()
_provider: TracerProvider | None = None
_recorder: CallTraceRecorder | None = None
# How long a stopping worker process waits for its spans to be written or sent.
SHUTDOWN_FLUSH_MILLIS = 10_000


def configure_telemetry() -> TracerProvider | None:
    """Install the tracer provider once per process (OpenTelemetry's global may be set only once)."""
    global _provider, _recorder
    if not (settings.CALL_TRACE_ENABLED or settings.OTEL_EXPORTER_OTLP_ENDPOINT):
        return None
    with _lock:
        if _provider is None:
            _provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
            _provider.add_span_processor(CorrelationIdStamp())
            if settings.CALL_TRACE_ENABLED:
                # The test settings store each flow as it ends, on its own thread (the test's transaction).
                synchronous = getattr(settings, "CALL_TRACE_SYNCHRONOUS", False)
                _recorder = CallTraceRecorder(CallTraceWriter(synchronous=synchronous))
                _provider.add_span_processor(_recorder)
            if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

                # The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) from the environment.
                _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            trace.set_tracer_provider(_provider)
            CeleryInstrumentor().instrument()
            # Connected after the instrumentation's own handler, so the task's span is current here.
            task_prerun.connect(name_task_span, weak=False)
            worker_process_shutdown.connect(flush_spans, weak=False)
            worker_shutdown.connect(flush_spans, weak=False)
    return _provider


def call_trace_recorder() -> CallTraceRecorder | None:
    """The process's call trace recorder, if the call trace is on (its `writer` stores the flows)."""
    return _recorder


def flush_spans(**_: Any) -> None:
    """A Celery worker process stops: write and send the spans it still holds."""
    if _provider is not None:
        _provider.force_flush(SHUTDOWN_FLUSH_MILLIS)


def name_task_span(task: Any = None, **_: Any) -> None:
    """A Celery task's run is a hop of the flow: recorded in the call trace as `celery.<task name>`."""
    span = trace.get_current_span()
    if task is not None and span.is_recording():
        span.set_attributes({tracing.LAYER: "process", tracing.API: tracing.TASK_API, tracing.OPERATION: task.name})


class CorrelationIdStamp(SpanProcessor):
    """Every span gets the flow's correlation id, wherever it came from (the request, or a task's headers)."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        correlation_id = baggage.get_baggage(tracing.CORRELATION_BAGGAGE, parent_context)
        if correlation_id:
            span.set_attribute(tracing.CORRELATION_ID, str(correlation_id))
