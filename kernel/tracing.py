"""The span vocabulary every layer shares (OpenTelemetry): what a call was, in which layer, and how it went.

The kernel is below every layer, so every layer may import it. The operations app's span processor
(`operations/recorder.py`) keeps the spans that carry `LAYER`; any OpenTelemetry collector receives all of
them when OTEL_EXPORTER_OTLP_ENDPOINT is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from opentelemetry import baggage, context, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from kernel.errors import ServiceError

LAYER = "incident_hub.layer"
API = "incident_hub.api"
OPERATION = "incident_hub.operation"
SYSTEM = "incident_hub.system"
OUTCOME = "incident_hub.outcome"
ATTEMPT = "incident_hub.attempt"
REFERENCE = "incident_hub.reference"
CORRELATION_ID = "incident_hub.correlation_id"

# The API name of a Celery task's run: a hop of the flow, recorded in the Process layer as `celery.<task>`.
TASK_API = "celery"

# Baggage travels with the trace context (W3C `baggage`), across threads and the Celery hop.
CORRELATION_BAGGAGE = "correlation_id"

tracer = trace.get_tracer("incident_hub")
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def traced(
    layer: str, api: str, operation: str, *, kind: SpanKind = SpanKind.INTERNAL, system: str = ""
) -> Iterator[Span]:
    """A span for one call of `api.operation` in `layer` (to `system`, if any); an exception marks it failed."""
    attributes = {LAYER: layer, API: api, OPERATION: operation}
    if system:
        attributes[SYSTEM] = system
    with tracer.start_as_current_span(
        f"{api}.{operation}", kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            record_failure(span, exc)
            raise


def record_failure(span: Span, exc: BaseException) -> None:
    """The span failed with `exc`: its status and an "exception" event, as OpenTelemetry records one.

    A ServiceError says what failed and where, and it passes through every span of the flow above the call that
    raised it: its event has no stack trace, which would cost about 0.4 ms a span to format, each time a
    vendor is down. Any other exception is a bug, recorded with its stack trace.
    """
    if isinstance(exc, ServiceError):
        kind = type(exc)
        span.add_event(
            "exception",
            {
                "exception.type": f"{kind.__module__}.{kind.__qualname__}",
                "exception.message": str(exc),
                "exception.escaped": "True",
            },
        )
    else:
        span.record_exception(exc, escaped=True)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def traced_operation(layer: str, api: str, operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form of `traced` for a layer's service functions."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with traced(layer, api, operation):
                return function(*args, **kwargs)

        return run

    return decorate


def annotate(*, reference: str = "", attempt: int | None = None, outcome: str | int = "", system: str = "") -> None:
    """Say more of the current span: which report it served, which attempt it was, how it went."""
    span = trace.get_current_span()
    for key, value in ((REFERENCE, reference), (ATTEMPT, attempt), (OUTCOME, outcome), (SYSTEM, system)):
        if value not in (None, ""):
            span.set_attribute(key, value)


@contextmanager
def correlation(correlation_id: str) -> Iterator[None]:
    """Make `correlation_id` the current flow's: log lines, spans and enqueued tasks carry it from here."""
    if not correlation_id:
        yield
        return
    token = context.attach(baggage.set_baggage(CORRELATION_BAGGAGE, correlation_id))
    trace.get_current_span().set_attribute(CORRELATION_ID, correlation_id)
    try:
        yield
    finally:
        context.detach(token)


def current_correlation_id() -> str:
    value = baggage.get_baggage(CORRELATION_BAGGAGE)
    return str(value) if value else ""


def log_call(
    logger: logging.Logger,
    *,
    system: str,
    operation: str,
    outcome: str | int,
    started: float,
    level: int = logging.INFO,
    **details: str | int,
) -> None:
    """One log event for one call to a system of record, its outcome also put on the current span."""
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    annotate(outcome=outcome)
    logger.log(
        level,
        "%s %s -> %s in %.0f ms",
        system,
        operation,
        outcome,
        duration_ms,
        extra={
            "layer": "system",
            "system": system,
            "operation": operation,
            "outcome": outcome,
            "duration_ms": duration_ms,
            **details,
        },
    )
