"""A span processor that stores Incident Hub's spans (those with a layer) as `TracedCall` rows.

Spans are held per trace until the flow's local root ends (the web request, the Celery task, or the
outermost operation of a direct call). The finished flow then goes to the process's call trace writer, a
thread that stores what has finished in one write about every half second (sooner when many rows wait): the
request or task the flow describes neither waits for the database nor fails with it. The report's reference
and the correlation id, known to some spans of a flow, are given to all of them.

The writer's queue is bounded: a flow that does not fit is dropped, and the drops are counted in the log. A
forked child (gunicorn's workers, Celery's prefork pool) starts with an empty queue and a writer thread of its
own. What is queued is stored by `force_flush()` and at shutdown (the tracer provider's at-exit handler,
Celery's worker shutdown signals). A synchronous writer (the test settings) stores each flow on the thread that
ends it, as it ends.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import close_old_connections, connections, router
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from kernel import tracing

from .models import TracedCall

logger = logging.getLogger("operations.recorder")

Flow = list[ReadableSpan]


def _after_fork_in_child(method: Callable[[], None]) -> None:
    """Run `method` in every forked child, without keeping its object alive (as OpenTelemetry's processors do)."""
    weak_method = weakref.WeakMethod(method)

    def run() -> None:
        if (bound := weak_method()) is not None:
            bound()

    os.register_at_fork(after_in_child=run)


class CallTraceRecorder(SpanProcessor):
    """A flow is a local root span and what started under it in this process. Grouping by trace instead
    would mix flows that share a trace: a Celery task and the request that queued it in one process, or
    two tasks of one report running side by side in a worker.
    """

    def __init__(
        self,
        writer: CallTraceWriter | None = None,
        *,
        max_open_spans: int = 100_000,
        max_spans_per_flow: int = 500,
    ) -> None:
        self.writer = writer if writer is not None else CallTraceWriter()
        self._root_of: OrderedDict[int, int] = OrderedDict()  # span id -> its local root's span id
        self._open: dict[int, list[ReadableSpan]] = {}  # local root's span id -> finished spans of ours
        self._lock = threading.Lock()
        self._max_open_spans = max_open_spans
        self._max_spans_per_flow = max_spans_per_flow
        _after_fork_in_child(self._renew_lock)

    def _renew_lock(self) -> None:
        # Another thread of the parent may have held it at the fork: in the child it would stay held.
        self._lock = threading.Lock()

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
            self.writer.put(finished)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.writer.flush(timeout_millis / 1000)

    def shutdown(self) -> None:
        with self._lock:
            self._open.clear()
        self.writer.shutdown()


class CallTraceWriter:
    """Stores finished flows in batches from a daemon thread of its own, started with the first flow.

    `put()` never waits on the database and never raises: it appends to a queue of at most `max_queued_spans`
    spans and wakes the thread when the queue was empty or holds `batch_spans` spans. The thread waits up to
    `interval` seconds for more, then stores everything queued in one `bulk_create`; a failed write is logged
    and its flows are dropped. Its database connection is kept or closed as a request's is (CONN_MAX_AGE,
    CONN_HEALTH_CHECKS), checked before and after each batch.
    """

    def __init__(
        self,
        store: Callable[[list[Flow]], None] | None = None,
        *,
        synchronous: bool = False,
        max_queued_spans: int = 5_000,  # a finished span holds about 3 KB: at most ~15 MB waiting
        batch_spans: int = 500,
        interval: float = 0.5,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self._store = store if store is not None else store_flows
        self.synchronous = synchronous
        self._max_queued_spans = max_queued_spans
        self._batch_spans = batch_spans
        self._interval = interval
        self._shutdown_timeout = shutdown_timeout
        self._reset()
        _after_fork_in_child(self._reset)

    def _reset(self) -> None:
        """A fresh state: at start, and in a forked child (the parent's queue is the parent's to write, and its
        thread does not exist in the child)."""
        self._condition = threading.Condition(threading.Lock())
        self._queue: list[Flow] = []
        self._queued_spans = 0
        self._flushes: list[threading.Event] = []
        self._dropped_flows = 0
        self._dropped_spans = 0
        self._thread: threading.Thread | None = None
        self._start_failed = False
        self._closed = False

    def put(self, flow: Flow) -> None:
        """Hand a finished flow over to be stored; drop it (counted) when the queue is full."""
        if self.synchronous:
            self._write([flow])
            return
        first_drop, start_failure = False, None
        with self._condition:
            if self._closed:
                return
            if self._queued_spans + len(flow) > self._max_queued_spans:
                first_drop = not self._dropped_flows
                self._dropped_flows += 1
                self._dropped_spans += len(flow)
            else:
                was_idle = not self._queue
                self._queue.append(flow)
                self._queued_spans += len(flow)
                if self._thread is None:
                    start_failure = self._start_thread()
                if was_idle or self._queued_spans >= self._batch_spans:
                    self._condition.notify()
        if first_drop:
            logger.warning(
                "call trace queue full (%d spans waiting): flows are dropped until it drains", self._max_queued_spans
            )
        if start_failure is not None:
            logger.warning("call trace writer thread not started (%s): flows wait for a flush", start_failure)

    def _start_thread(self) -> RuntimeError | None:
        """Start the writer thread (with the condition's lock held). When the process cannot (out of threads, or
        the interpreter shutting down), the queue waits for `flush()` or `shutdown()`: the first failure is given
        back to be logged, later ones are not."""
        thread = threading.Thread(target=self._run, name="call-trace-writer", daemon=True)
        try:
            thread.start()
        except RuntimeError as failure:
            first = not self._start_failed
            self._start_failed = True
            return failure if first else None
        self._thread = thread
        return None

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Store every flow handed over so far; False when that took longer than `timeout` seconds."""
        if self.synchronous:
            return True
        done = threading.Event()
        flows: list[Flow] = []
        dropped = (0, 0)
        with self._condition:
            thread, closed = self._thread, self._closed
            writer_running = thread is not None and thread.is_alive()
            if writer_running and not closed:
                self._flushes.append(done)
                self._condition.notify()
            elif not writer_running:
                flows, dropped = self._take()
        if writer_running:
            if closed:  # shutting down: the thread stores what is left, then stops
                thread.join(timeout)
                return not thread.is_alive()
            return done.wait(timeout)
        self._write(flows, dropped)  # no writer thread (never started, or gone): store here
        return True

    def shutdown(self) -> None:
        """Store what is queued, stop the thread; flows handed over later are dropped."""
        with self._condition:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._condition.notify()
        if thread is not None and thread.is_alive():
            thread.join(self._shutdown_timeout)
        else:
            with self._condition:
                flows, dropped = self._take()
            self._write(flows, dropped)

    def _take(self) -> tuple[list[Flow], tuple[int, int]]:
        """Everything queued, and how many flows and spans were dropped since the last time (called with the
        condition's lock held)."""
        flows, self._queue, self._queued_spans = self._queue, [], 0
        dropped = (self._dropped_flows, self._dropped_spans)
        self._dropped_flows = self._dropped_spans = 0
        return flows, dropped

    def _run(self) -> None:
        try:
            while True:
                with self._condition:
                    while not (self._queue or self._flushes or self._closed):
                        self._condition.wait()
                    # Something waits: give the batch up to the interval to fill, unless asked for it now.
                    deadline = time.monotonic() + self._interval
                    while not (self._flushes or self._closed) and self._queued_spans < self._batch_spans:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        self._condition.wait(remaining)
                    flows, dropped = self._take()
                    flushes, self._flushes = self._flushes, []
                    closed = self._closed
                close_old_connections()
                self._write(flows, dropped)
                close_old_connections()
                for done in flushes:
                    done.set()
                if closed:
                    return
        finally:
            connections.close_all()

    def _write(self, flows: list[Flow], dropped: tuple[int, int] = (0, 0)) -> None:
        if dropped[0]:
            logger.warning("call trace: %d flow(s) of %d span(s) dropped, the queue was full", *dropped)
        if not flows:
            return
        try:
            self._store(flows)
        except Exception:  # a trace that cannot be stored must never fail the flow it describes, nor the writer
            spans = sum(len(flow) for flow in flows)
            logger.warning("call trace of %d span(s) in %d flow(s) not stored", spans, len(flows), exc_info=True)


class CallRow(NamedTuple):
    """The values of one `TracedCall` row, in the order of its columns."""

    trace_id: str
    span_id: str
    parent_span_id: str
    correlation_id: str
    reference: str
    layer: str
    api: str
    operation: str
    system: str
    outcome: str
    ok: bool
    attempt: int | None
    started_at: datetime
    duration_ms: float


def store_flows(flows: list[Flow]) -> None:
    """Store finished flows in one write: a COPY on PostgreSQL, one insert elsewhere (the database may split it:
    SQLite's limit on a statement's values)."""
    rows: list[CallRow] = []
    for flow in flows:
        try:
            rows += flow_rows(flow)
        except Exception:  # one malformed flow is dropped, not the batch
            logger.warning("call trace of %d span(s) not stored", len(flow), exc_info=True)
    if not rows:
        return
    connection = connections[router.db_for_write(TracedCall)]
    if connection.vendor != "postgresql":
        TracedCall.objects.using(connection.alias).bulk_create([TracedCall(**row._asdict()) for row in rows])
        return
    # A model per row and a quoted INSERT parameter per value were most of what storing a span cost (a worker's
    # Slack post stores three): COPY takes the values as they are.
    quote = connection.ops.quote_name
    columns = ", ".join(quote(TracedCall._meta.get_field(name).column) for name in CallRow._fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {quote(TracedCall._meta.db_table)} ({columns}) FROM STDIN"  # only names from the model's metadata
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def flow_rows(spans: Flow) -> list[CallRow]:
    shared = {
        "reference": _first_attribute(spans, tracing.REFERENCE),
        "correlation_id": _first_attribute(spans, tracing.CORRELATION_ID),
    }
    return [traced_call(span, spans, shared) for span in spans]


def traced_call(span: ReadableSpan, flow: list[ReadableSpan], shared: dict[str, str]) -> CallRow:
    attributes = span.attributes or {}
    outcome = attributes.get(tracing.OUTCOME)
    failed = span.status.status_code is StatusCode.ERROR
    if outcome is None:
        outcome = (_exception_type(span) or "error") if failed else "ok"
    return CallRow(
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
