"""The call trace: every layer's call of a flow recorded, tied to its report, drawn as a timeline."""

import base64
import logging
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from experience_apis.clients.services import api_client_create
from incidents_site.telemetry import call_trace_recorder
from kernel import tracing
from operations.models import TracedCall
from operations.recorder import CallRow, CallTraceRecorder, CallTraceWriter, store_flows
from operations.selectors import api_figures, incident_timeline
from process_apis.models import IncidentRequest
from tests.reports import stored_report

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REPORT = {
    "email": "grace.hopper@example.com",
    "name": "Grace Hopper",
    "category": "order",
    "urgency": "2",
    "short_description": "Parcel never arrived",
    "description": "Order 1234 was due last week.",
}


# What a report sent over REST v1 leaves in the call trace: (layer, api, operation, system, outcome, ok), sorted.
EVERY_CALL_OF_A_REPORT = sorted(
    [
        ("experience", "incidents_v1", "POST v1-incidents", "", "201", True),
        ("process", "customer_incidents", "report", "", "ok", True),
        ("process", "customers", "find", "", "ok", True),
        ("system", "legacy_db", "find_by_email", "legacy_db", "ok", True),
        ("system", "salesforce", "oauth_token", "salesforce", "200", True),
        ("system", "salesforce", "find_contacts_by_email", "salesforce", "200", True),
        ("process", "customer_incidents", "sync_to_servicenow", "", "ok", True),
        ("process", "service_incidents", "create", "", "ok", True),
        ("system", "servicenow", "create_incident", "servicenow", "201", True),
        ("process", "celery", "process_apis.deliver_notification", "", "ok", True),
        ("process", "notifications", "deliver", "", "ok", True),
        ("system", "slack", "post_message", "slack", "200", True),
        ("process", "celery", "process_apis.send_customer_mail", "", "ok", True),
        ("process", "customer_mail", "send", "", "ok", True),
        ("system", "email", "send", "email", "ok", True),
    ]
)


def stored_call(model: type = TracedCall, **fields: object) -> TracedCall:
    """A recorded call, by default a ServiceNow create that went well."""
    defaults = {"trace_id": "f" * 32, "span_id": "f" * 16, "layer": "system", "api": "servicenow"}
    defaults |= {"operation": "create_incident", "outcome": "201", "ok": True, "duration_ms": 1.0}
    return model.objects.create(**(defaults | fields))


@pytest.fixture
def api(client):
    api_client, secret = api_client_create(name="trace-test-app")
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    token = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token.json()['access_token']}"
    return client


def report(api, capture, correlation_id: str):
    with capture(execute=True):
        response = api.post(
            "/api/v1/incidents", REPORT, content_type="application/json", HTTP_X_CORRELATION_ID=correlation_id
        )
    assert response.status_code == 201, response.content
    return response.json()["reference"]


def test_every_call_of_a_report_is_recorded_once_with_its_reference_and_correlation_id(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010042")
    vendors.slack_accepts()

    reference = report(api, django_capture_on_commit_callbacks, "shop-checkout-77")

    calls = TracedCall.objects.filter(reference=reference)
    assert sorted((c.layer, c.api, c.operation, c.system, c.outcome, c.ok) for c in calls) == EVERY_CALL_OF_A_REPORT
    assert {c.correlation_id for c in calls} == {"shop-checkout-77"}
    assert calls.get(api="servicenow").attempt == 1
    assert calls.get(api="slack").attempt == 1
    other = TracedCall.objects.exclude(reference=reference)
    assert [(c.api, c.operation, c.reference) for c in other] == [("oauth", "POST oauth2-token", "")], "no report's"


@pytest.fixture
def writer_thread(monkeypatch):
    """The process's call trace stored by a writer thread, as outside the tests (the test settings store each flow
    on its own thread); within the minute, nothing is stored before a flush."""
    writer = CallTraceWriter(interval=60)
    monkeypatch.setattr(call_trace_recorder(), "writer", writer)
    yield writer
    writer.shutdown()


@pytest.mark.django_db(transaction=True, databases=["default", "legacy"])
def test_the_writer_thread_stores_a_reports_calls_as_the_requests_own_thread_did(
    writer_thread, api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010044")
    vendors.slack_accepts()

    reference = report(api, django_capture_on_commit_callbacks, "shop-checkout-81")
    assert not TracedCall.objects.exists(), "the request stored nothing itself"
    assert trace.get_tracer_provider().force_flush()

    calls = TracedCall.objects.filter(reference=reference)
    assert sorted((c.layer, c.api, c.operation, c.system, c.outcome, c.ok) for c in calls) == EVERY_CALL_OF_A_REPORT
    assert {(c.correlation_id, c.trace_id) for c in calls} == {("shop-checkout-81", calls[0].trace_id)}
    assert (calls.get(api="servicenow").attempt, calls.get(api="slack").attempt) == (1, 1)
    hop = calls.get(api="celery", operation="process_apis.deliver_notification")
    assert calls.get(operation="deliver").parent_span_id == hop.span_id
    mail_hop = calls.get(api="celery", operation="process_apis.send_customer_mail")
    assert calls.get(api="customer_mail").parent_span_id == mail_hop.span_id
    assert calls.get(operation="report").parent_span_id == calls.get(layer="experience").span_id
    other = TracedCall.objects.exclude(reference=reference)
    assert [(c.api, c.operation, c.reference) for c in other] == [("oauth", "POST oauth2-token", "")]


@pytest.mark.django_db(transaction=True)
def test_flows_stored_in_one_batch_keep_their_own_reference_and_correlation_id():
    writer = CallTraceWriter(interval=60)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(CallTraceRecorder(writer))
    tracer = provider.get_tracer("test")
    try:
        for n in (1, 2):
            request = {tracing.LAYER: "experience", tracing.API: "incidents_v1", tracing.CORRELATION_ID: f"flow-{n}"}
            with tracer.start_as_current_span("request", attributes=request):
                reference = {tracing.LAYER: "process", tracing.API: "customer_incidents", tracing.REFERENCE: f"IH-{n}"}
                with tracer.start_as_current_span("report", attributes=reference):
                    pass
        assert not TracedCall.objects.exists()
        assert provider.force_flush()
    finally:
        writer.shutdown()

    assert sorted(TracedCall.objects.values_list("reference", "correlation_id", "api")) == [
        ("IH-1", "flow-1", "customer_incidents"),
        ("IH-1", "flow-1", "incidents_v1"),
        ("IH-2", "flow-2", "customer_incidents"),
        ("IH-2", "flow-2", "incidents_v1"),
    ]


def test_a_stored_row_has_a_value_for_every_column_of_the_call_trace():
    assert CallRow._fields == tuple(
        field.attname for field in TracedCall._meta.concrete_fields if not field.primary_key
    )


def test_a_flow_that_cannot_be_stored_is_dropped_alone_from_its_batch(caplog):
    flows: list = []
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(CallTraceRecorder(CallTraceWriter(flows.extend, synchronous=True)))
    tracer = provider.get_tracer("test")
    for api, attempt in (("first", 1), ("malformed", "not a number"), ("last", 2)):
        with tracer.start_as_current_span(api, attributes={tracing.LAYER: "system", tracing.API: api}) as span:
            span.set_attribute(tracing.ATTEMPT, attempt)

    with caplog.at_level(logging.WARNING, logger="operations.recorder"):
        store_flows(flows)

    assert sorted(TracedCall.objects.values_list("api", "attempt")) == [("first", 1), ("last", 2)]
    assert [r.getMessage() for r in caplog.records] == ["call trace of 1 span(s) not stored"]


def test_a_failed_downstream_call_is_recorded_as_failed_with_its_status_and_attempt(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)

    reference = report(api, django_capture_on_commit_callbacks, "shop-checkout-78")

    servicenow = TracedCall.objects.get(reference=reference, api="servicenow")
    assert (servicenow.outcome, servicenow.ok, servicenow.attempt) == ("503", False, 1)
    sync = TracedCall.objects.get(reference=reference, operation="sync_to_servicenow")
    assert (sync.outcome, sync.ok, sync.attempt) == ("retrying", False, 1), "this attempt made no incident"
    assert TracedCall.objects.get(reference=reference, operation="report").ok, "the report itself was accepted"
    assert IncidentRequest.objects.get(reference=reference).sync_state == "pending"


def test_a_notification_attempt_slack_refused_is_recorded_as_failed(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_refuses("channel_not_found")

    reference = report(api, django_capture_on_commit_callbacks, "shop-checkout-79")

    deliver = TracedCall.objects.get(reference=reference, operation="deliver")
    assert (deliver.outcome, deliver.ok, deliver.attempt) == ("failed", False, 1)


def test_the_timeline_nests_each_call_under_its_caller_in_order(
    api, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010043")
    vendors.slack_accepts()
    reference = report(api, django_capture_on_commit_callbacks, "shop-checkout-79")

    timeline = incident_timeline(reference=reference)

    depth = {(entry.call.api, entry.call.operation): entry.depth for entry in timeline}
    assert depth[("incidents_v1", "POST v1-incidents")] == 0
    assert depth[("customer_incidents", "report")] == 1
    assert depth[("customers", "find")] == 2
    assert depth[("legacy_db", "find_by_email")] == 3
    assert depth[("servicenow", "create_incident")] == 4
    # The Celery task heads the calls it made.
    assert depth[("notifications", "deliver")] == depth[("celery", "process_apis.deliver_notification")] + 1
    assert [entry.offset_ms for entry in timeline] == sorted(entry.offset_ms for entry in timeline)
    assert timeline[0].offset_ms == 0


def test_api_figures_count_calls_and_errors_and_give_latency_percentiles(db):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for index, duration in enumerate([10.0, 20.0, 30.0, 40.0, 1000.0]):
        stored_call(
            trace_id=f"{index:032x}",
            span_id=f"{index:016x}",
            system="servicenow",
            outcome="201" if index < 4 else "503",
            ok=index < 4,
            started_at=now - timedelta(minutes=index),
            duration_ms=duration,
        )
    stored_call(started_at=now - timedelta(days=2), duration_ms=5.0)

    figures = api_figures()[("system", "servicenow")]

    assert (figures.calls, figures.errors, figures.error_rate) == (5, 1, 0.2)
    assert figures.p50_ms == 30.0
    assert figures.p95_ms == pytest.approx(808.0)
    sampled = api_figures(sample=2)[("system", "servicenow")]
    assert (sampled.calls, sampled.errors, sampled.p50_ms) == (5, 1, 15.0), "counts are whole; latency sampled"


def test_api_figures_sample_each_api_on_its_own_in_two_queries(db, django_assert_num_queries):
    from django.utils import timezone

    now = timezone.now()
    for index, (api, duration) in enumerate([("slack", 100.0), ("servicenow", 1.0), ("slack", 300.0)]):
        stored_call(
            trace_id=f"{index:032x}",
            span_id=f"{index:016x}",
            api=api,
            operation="call",
            outcome="200",
            started_at=now,
            duration_ms=duration,
        )

    with django_assert_num_queries(2):
        figures = api_figures(sample=2)

    assert (figures[("system", "slack")].calls, figures[("system", "slack")].p50_ms) == (2, 200.0)
    assert (figures[("system", "servicenow")].calls, figures[("system", "servicenow")].p50_ms) == (1, 1.0)


def test_calls_older_than_the_retention_are_purged_and_recent_ones_kept(db, settings):
    from datetime import timedelta

    from django.utils import timezone

    from operations.services import traced_calls_purge

    settings.CALL_TRACE_RETENTION_DAYS = 14
    for days_ago in (15, 13):
        stored_call(
            trace_id=f"{days_ago:032x}",
            span_id=f"{days_ago:016x}",
            api="slack",
            operation="post_message",
            outcome="200",
            started_at=timezone.now() - timedelta(days=days_ago),
        )

    assert traced_calls_purge() == 1
    assert list(TracedCall.objects.values_list("trace_id", flat=True)) == [f"{13:032x}"]


@pytest.mark.django_db(transaction=True, databases=["default", "legacy"])
def test_calls_recorded_while_the_process_layer_held_the_trace_are_kept_by_operations():
    before_the_move = [("process_apis", "0005_traced_calls")]
    executor = MigrationExecutor(connection)
    executor.migrate(before_the_move)
    old_model = executor.loader.project_state(before_the_move).apps.get_model("process_apis", "TracedCall")
    stored_call(old_model, reference="IH-0000000042", started_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC))

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(TracedCall.objects.values_list("reference", "api", "outcome")) == [
        ("IH-0000000042", "servicenow", "201")
    ]


def test_the_admin_shows_a_reports_call_trace_as_a_timeline(
    api, admin_client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)
    reference = report(api, django_capture_on_commit_callbacks, "shop-checkout-80")
    stored = IncidentRequest.objects.get(reference=reference)

    page = admin_client.get(f"/admin/process_apis/incidentrequest/{stored.pk}/change/").content.decode()

    trace_section = page[page.index('id="call-trace"') : page.index("</table>", page.index('id="call-trace"'))]
    assert 'Correlation id: <code class="correlation-id">shop-checkout-80</code>' in trace_section
    assert trace_section.count("<svg") == TracedCall.objects.filter(reference=reference).count() == 12
    assert "servicenow.create_incident" in trace_section
    assert '<tr class="call-failed">' in trace_section, "the ServiceNow 503 stands out"
    assert "<strong>503</strong>" in trace_section


def test_a_report_without_recorded_calls_says_so(admin_client, db):
    stored = stored_report()

    page = admin_client.get(f"/admin/process_apis/incidentrequest/{stored.pk}/change/").content.decode()

    assert "No calls recorded for this report" in page


def test_a_flow_is_stored_whole_when_its_own_root_ends_not_when_another_flow_of_the_trace_does(db):
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(CallTraceRecorder(CallTraceWriter(synchronous=True)))
    tracer = provider.get_tracer("test")

    def ours(layer: str, api: str, **more: str) -> dict:
        return {tracing.LAYER: layer, tracing.API: api, tracing.OPERATION: "op", **more}

    with tracer.start_as_current_span("request", attributes=ours("experience", "incidents_v1")) as request_span:
        with tracer.start_as_current_span("call", attributes=ours("system", "servicenow")):
            pass
        # Another flow of the same trace ends in this process meanwhile (a server answering this request's
        # call, or a task it queued): its root has a remote parent.
        remote_parent = SpanContext(
            trace_id=request_span.get_span_context().trace_id,
            span_id=7,
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        with tracer.start_as_current_span("served", context=trace.set_span_in_context(NonRecordingSpan(remote_parent))):
            pass
        assert not TracedCall.objects.exists(), "nothing stored before the request's own root ends"
        with tracer.start_as_current_span("report", attributes=ours("process", "customer_incidents")) as report:
            report.set_attribute(tracing.REFERENCE, "IH-0000000042")

    assert sorted(TracedCall.objects.values_list("api", "reference")) == [
        ("customer_incidents", "IH-0000000042"),
        ("incidents_v1", "IH-0000000042"),
        ("servicenow", "IH-0000000042"),
    ]


def test_a_task_that_called_nothing_leaves_no_trace(db):
    from operations.tasks import purge_old_call_traces
    from process_apis.tasks import sweep

    sweep.delay()
    purge_old_call_traces.delay()

    assert not TracedCall.objects.exists()
