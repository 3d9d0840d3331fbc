"""OTLP export: a process configured with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans to that collector.

The tracer provider is global and set once per process, so the exporting process is a fresh interpreter; the
collector is a plain HTTP server here that decodes what it receives as OTLP/HTTP protobuf.
"""

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parents[1]
MAKE_A_SPAN = """
import django
django.setup()
from opentelemetry import trace
with trace.get_tracer("incident-hub-test").start_as_current_span("report.accept"):
    pass
trace.get_tracer_provider().force_flush()
"""


def test_spans_go_to_the_configured_collector_even_with_the_call_trace_off(tmp_path):
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the handler's protocol)
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incidents_site.settings",
        "INCIDENT_HUB_VAR_DIR": str(tmp_path),
        "CALL_TRACE_ENABLED": "false",
        "OTEL_SERVICE_NAME": "incident-hub-staging",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
    }
    try:
        subprocess.run([sys.executable, "-c", MAKE_A_SPAN], cwd=ROOT, env=environment, check=True, timeout=60)  # noqa: S603
    finally:
        collector.shutdown()

    assert [path for path, _ in received] == ["/v1/traces"]
    export = ExportTraceServiceRequest.FromString(received[0][1])
    resource = export.resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "incident-hub-staging"
    assert [span.name for span in export.resource_spans[0].scope_spans[0].spans] == ["report.accept"]
