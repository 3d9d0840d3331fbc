"""The call trace writer: finished flows are stored from a thread of their own, in batches, and never hold up or
fail the request or task they describe.

Most tests give the writer a store of their own (a list, a gate, a failure) to watch what the thread hands it;
`tests/operations/test_call_trace.py` runs it against the database.
"""

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery.signals import worker_process_shutdown, worker_shutdown
from opentelemetry.sdk.trace import TracerProvider

from incidents_site.telemetry import call_trace_recorder
from kernel import tracing
from operations.recorder import CallTraceRecorder, CallTraceWriter
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


class Store:
    """Records the batches the writer stores, on which thread; `gate` holds the writer inside a store."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.batches: list[list[list[str]]] = []
        self.threads: set[str] = set()
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.fail_first = fail_first

    def __call__(self, flows: list[list[str]]) -> None:
        self.entered.set()
        self.gate.wait(10)
        self.threads.add(threading.current_thread().name)
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("database unavailable")
        self.batches.append(flows)

    @property
    def flows(self) -> list[list[str]]:
        return [flow for batch in self.batches for flow in batch]


@pytest.fixture
def writers():
    """Writers made by a test, shut down after it (their threads stop)."""
    made: list[CallTraceWriter] = []

    def make(store: Callable[[list], None], **options: object) -> CallTraceWriter:
        writer = CallTraceWriter(store, **options)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.shutdown()


def test_flows_are_stored_together_by_the_writer_thread_after_the_interval(writers):
    store = Store()
    writer = writers(store, interval=1.0)

    for name in ("request-1", "request-2", "task-1"):
        writer.put([name])

    assert store.batches == [], "nothing is stored on the thread that ends a flow"
    assert wait_for(lambda: store.batches, timeout=10, poll=0.01)
    assert store.batches == [[["request-1"], ["request-2"], ["task-1"]]], "one insert for the three flows"
    assert store.threads == {"call-trace-writer"}


def test_a_full_batch_is_stored_without_waiting_for_the_interval(writers):
    store = Store()
    writer = writers(store, interval=60, batch_spans=4)

    writer.put(["a", "b"])
    time.sleep(0.1)
    assert store.batches == [], "half a batch waits"
    writer.put(["c", "d"])

    assert wait_for(lambda: store.batches, timeout=5, poll=0.01)
    assert store.flows == [["a", "b"], ["c", "d"]]


def test_flush_stores_everything_handed_over_including_the_batch_being_written(writers):
    store = Store()
    writer = writers(store, interval=60)
    store.gate.clear()
    writer.put(["first"])
    writer.flush(timeout=0.1)  # hands "first" to the store, which now waits at the gate
    assert store.entered.wait(5)
    writer.put(["second"])

    threading.Timer(0.2, store.gate.set).start()
    assert writer.flush(timeout=10) is True

    assert store.flows == [["first"], ["second"]]


def test_flush_says_when_it_ran_out_of_time(writers):
    store = Store()
    writer = writers(store, interval=60)
    store.gate.clear()
    writer.put(["held"])

    assert writer.flush(timeout=0.2) is False

    store.gate.set()
    assert writer.flush(timeout=10) is True
    assert store.flows == [["held"]]


def test_the_queue_is_bounded_flows_past_it_are_dropped_and_counted_in_the_log(writers, caplog):
    store = Store()
    writer = writers(store, interval=0, max_queued_spans=4)
    store.gate.clear()
    writer.put(["a1", "a2"])
    assert store.entered.wait(5), "the writer holds the first flow, at the gate"

    with caplog.at_level(logging.WARNING, logger="operations.recorder"):
        started = time.monotonic()
        for flow in (["b1", "b2"], ["c1", "c2"], ["d1", "d2"], ["e1"]):
            writer.put(flow)  # returns at once, whatever the writer is doing
        assert time.monotonic() - started < 1
        assert [r.getMessage() for r in caplog.records] == [
            "call trace queue full (4 spans waiting): flows are dropped until it drains"
        ], "one warning when the queue fills, not one per flow"

        store.gate.set()
        assert writer.flush(timeout=10)

    assert store.flows == [["a1", "a2"], ["b1", "b2"], ["c1", "c2"]]
    assert "call trace: 2 flow(s) of 3 span(s) dropped, the queue was full" in [r.getMessage() for r in caplog.records]

    writer.put(["f1"])
    assert writer.flush(timeout=10)
    assert store.flows[-1] == ["f1"], "room again once drained"


def test_when_no_thread_can_be_started_flows_wait_for_a_flush_on_the_callers_thread(writers, monkeypatch, caplog):
    def refuse(thread):
        raise RuntimeError("can't start new thread")

    store = Store()
    writer = writers(store, max_queued_spans=2)
    with caplog.at_level(logging.WARNING, logger="operations.recorder"):
        with monkeypatch.context() as patched:
            patched.setattr(threading.Thread, "start", refuse)
            for flow in (["a"], ["b"], ["c"]):
                writer.put(flow)  # never raises
        assert writer.flush(timeout=1) is True

    assert store.flows == [["a"], ["b"]]
    assert store.threads == {threading.current_thread().name}
    assert [r.getMessage() for r in caplog.records] == [
        "call trace writer thread not started (can't start new thread): flows wait for a flush",
        "call trace queue full (2 spans waiting): flows are dropped until it drains",
        "call trace: 1 flow(s) of 1 span(s) dropped, the queue was full",
    ]


def test_a_failed_write_is_logged_never_raised_and_the_writer_goes_on(writers, caplog):
    store = Store(fail_first=1)
    writer = writers(store, interval=0)

    with caplog.at_level(logging.WARNING, logger="operations.recorder"):
        writer.put(["lost-1", "lost-2"])
        assert writer.flush(timeout=10) is True

    failure = next(r for r in caplog.records if "not stored" in r.getMessage())
    assert failure.getMessage() == "call trace of 2 span(s) in 1 flow(s) not stored"
    assert failure.exc_info and failure.exc_info[0] is RuntimeError

    writer.put(["kept"])
    assert writer.flush(timeout=10)
    assert store.flows == [["kept"]]


def test_a_synchronous_writer_stores_on_the_calling_thread_and_logs_a_failure_too(caplog):
    store = Store(fail_first=1)
    writer = CallTraceWriter(store, synchronous=True)

    with caplog.at_level(logging.WARNING, logger="operations.recorder"):
        writer.put(["lost"])
    writer.put(["kept"])

    assert "call trace of 1 span(s) in 1 flow(s) not stored" in [r.getMessage() for r in caplog.records]
    assert store.flows == [["kept"]]
    assert store.threads == {threading.current_thread().name}


def test_shutdown_stores_what_is_queued_stops_the_thread_and_drops_what_comes_later():
    store = Store()
    writer = CallTraceWriter(store, interval=60)
    writer.put(["queued"])
    thread = writer._thread

    writer.shutdown()
    writer.put(["too-late"])

    assert store.flows == [["queued"]]
    assert not thread.is_alive()
    assert writer.flush(timeout=1) is True
    assert store.flows == [["queued"]]


def test_a_forked_child_starts_with_an_empty_queue_and_a_writer_thread_of_its_own(writers):
    read_end, write_end = os.pipe()

    def child_store(flows):
        os.write(write_end, repr([[span.name for span in flow] for flow in flows]).encode())

    writer = writers(child_store, interval=60)
    recorder = CallTraceRecorder(writer)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(recorder)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("parent-flow", attributes={tracing.LAYER: "experience", tracing.API: "x"}):
        pass
    assert writer._thread.is_alive(), "the parent's flow waits in its queue"

    # Another thread of the parent holds the locks at the moment of the fork.
    holding, release = threading.Event(), threading.Event()

    def hold_the_locks():
        with recorder._lock, writer._condition:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_locks)
    holder.start()
    assert holding.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: record one flow, flush it, and leave without running pytest's cleanup
        code = 1
        try:
            with tracer.start_as_current_span("child-flow", attributes={tracing.LAYER: "experience", tracing.API: "x"}):
                pass
            code = 0 if provider.force_flush(5_000) and writer._thread.name == "call-trace-writer" else 2
        finally:
            os._exit(code)
    release.set()
    holder.join()

    deadline = time.monotonic() + 20
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited == (0, 0):
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the child hung: a lock held at the fork stayed held")
    child_stored = os.read(read_end, 10_000).decode()
    assert writer.flush(timeout=10)
    parent_stored = os.read(read_end, 10_000).decode()
    os.close(read_end)
    os.close(write_end)

    assert os.waitstatus_to_exitcode(waited[1]) == 0
    assert child_stored == "[['child-flow']]", "only its own flow; the parent's is the parent's to store"
    assert parent_stored == "[['parent-flow']]"


def test_the_tracer_providers_exit_handler_stores_what_the_writer_still_holds(tmp_path):
    script = """
import django
django.setup()
from opentelemetry.sdk.trace import TracerProvider
from kernel import tracing
from operations.recorder import CallTraceRecorder, CallTraceWriter

def store(flows):
    print("stored", [[span.name for span in flow] for flow in flows], flush=True)

provider = TracerProvider()  # shuts down at exit
provider.add_span_processor(CallTraceRecorder(CallTraceWriter(store, interval=60)))
with provider.get_tracer("test").start_as_current_span("last-request", attributes={tracing.LAYER: "experience"}):
    pass
print("exiting", flush=True)
"""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incidents_site.settings_test",
        "INCIDENT_HUB_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["exiting", "stored [['last-request']]"]


@pytest.mark.parametrize("signal", [worker_process_shutdown, worker_shutdown], ids=lambda s: s.name)
def test_a_stopping_celery_worker_process_stores_what_its_call_trace_holds(signal, monkeypatch):
    """A prefork child leaves without running at-exit handlers: the worker's shutdown signals flush the trace."""
    store = Store()
    writer = CallTraceWriter(store, interval=60)
    monkeypatch.setattr(call_trace_recorder(), "writer", writer)
    try:
        with tracing.traced("process", "notifications", "deliver"):
            pass
        assert store.flows == []

        signal.send(sender=None, pid=os.getpid(), exitcode=0)

        assert [[span.name for span in flow] for flow in store.flows] == [["notifications.deliver"]]
    finally:
        writer.shutdown()
