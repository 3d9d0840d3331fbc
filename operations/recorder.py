"""A span processor that stores Incident Hub's spans (those with a layer) as `TracedCall` rows.

Spans are held per trace until the flow's local root ends (the web request, the Celery task, or the
outermost operation of a direct call), then written in one insert, outside the calls they describe.
The report's reference and the correlation id, known to some spans of a flow, are given to all of them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from kernel import tracing

from .models import TracedCall

logger = logging.getLogger("operations.recorder")


class CallTraceRecorder(SpanProcessor):
    """A flow is a local root span and what started under it in this process. Grouping by trace instead
    would mix flows that share a trace: a Celery task and the request that queued it in one process, or
    two tasks of one report running side by side in a worker.
    """

    def __init__(self, *, max_open_spans: int = 100_000, max_spans_per_flow: int = 500) -> None:
        self._root_of: OrderedDict[int, int] = OrderedDict()  # span id -> its local root's span id
        self._open: dict[int, list[ReadableSpan]] = {}  # local root's span id -> finished spans of ours
        self._lock = threading.Lock()
        self._max_open_spans = max_open_spans
        self._max_spans_per_flow = max_spans_per_flow

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        span_id = span.context.span_id
        parent = span.parent
        with self._lock:
            local_parent = parent is not None and not parent.is_remote
            self._root_of[span_id] = self._root_of.get(parent.span_id, span_id) if local_parent else span_id
            while len(self._root_of) > self._max_open_spans:  # roots that never ended: forget the oldest
                _, forgotten_root = self._root_of.popitem(last=False)
                self._open.pop(forgotten_root, None)

    def on_end(self, span: ReadableSpan) -> None:
        span_id = span.context.span_id
        with self._lock:
            root = self._root_of.pop(span_id, span_id)
            if span.attributes and tracing.LAYER in span.attributes:
                spans = self._open.setdefault(root, [])
                if len(spans) < self._max_spans_per_flow:
                    spans.append(span)
            if root != span_id:
                return
            finished = self._open.pop(root, [])
        # A task that called nothing (the sweeper finding no work, a purge) says nothing of any flow.
        if any((span.attributes or {}).get(tracing.API) != tracing.TASK_API for span in finished):
            self._store(finished)

    def shutdown(self) -> None:
        with self._lock:
            self._open.clear()

    def _store(self, spans: list[ReadableSpan]) -> None:
        shared = {
            "reference": _first_attribute(spans, tracing.REFERENCE),
            "correlation_id": _first_attribute(spans, tracing.CORRELATION_ID),
        }
        try:
            TracedCall.objects.bulk_create(traced_call(span, spans, shared) for span in spans)
        except Exception:  # a trace that cannot be stored must never fail the flow it describes
            logger.warning("call trace of %d span(s) not stored", len(spans), exc_info=True)


def traced_call(span: ReadableSpan, flow: list[ReadableSpan], shared: dict[str, str]) -> TracedCall:
    attributes = span.attributes or {}
    outcome = attributes.get(tracing.OUTCOME)
    failed = span.status.status_code is StatusCode.ERROR
    if outcome is None:
        outcome = (_exception_type(span) or "error") if failed else "ok"
    return TracedCall(
        trace_id=f"{span.context.trace_id:032x}",
        span_id=f"{span.context.span_id:016x}",
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent else "",
        correlation_id=str(attributes.get(tracing.CORRELATION_ID) or shared["correlation_id"])[:64],
        reference=str(attributes.get(tracing.REFERENCE) or shared["reference"])[:20],
        layer=str(attributes[tracing.LAYER]),
        api=str(attributes.get(tracing.API, ""))[:40],
        operation=str(attributes.get(tracing.OPERATION, span.name))[:60],
        system=str(attributes.get(tracing.SYSTEM, ""))[:40],
        outcome=str(outcome)[:40],
        ok=not failed and _outcome_ok(outcome),
        attempt=_inherited_attempt(span, flow),
        started_at=datetime.fromtimestamp(span.start_time / 1e9, tz=UTC),
        duration_ms=round((span.end_time - span.start_time) / 1e6, 3),
    )


def _outcome_ok(outcome: object) -> bool:
    text = str(outcome)
    # "paced": held back on purpose to keep within a system's rate, not a failure.
    return text in ("ok", "paced") or (text.isdigit() and int(text) < 400)


def _exception_type(span: ReadableSpan) -> str:
    for event in span.events:
        if event.name == "exception" and event.attributes:
            return str(event.attributes.get("exception.type", "")).rsplit(".", 1)[-1]
    return ""


def _first_attribute(spans: list[ReadableSpan], key: str) -> str:
    return next((str(span.attributes[key]) for span in spans if span.attributes and span.attributes.get(key)), "")


def _inherited_attempt(span: ReadableSpan, flow: list[ReadableSpan]) -> int | None:
    """The span's own attempt number, else its nearest ancestor's in the flow (a retry's downstream calls)."""
    by_id = {other.context.span_id: other for other in flow}
    current: ReadableSpan | None = span
    while current is not None:
        attempt = (current.attributes or {}).get(tracing.ATTEMPT)
        if attempt is not None:
            return int(attempt)
        current = by_id.get(current.parent.span_id) if current.parent else None
    return None
