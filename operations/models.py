"""The call trace: one row per call of Incident Hub's own, kept for the admin timeline and the API catalog."""

from django.db import models


class TracedCall(models.Model):
    """One call in a flow, as its span recorded it: an Experience request, a Process operation, a System call.

    Rows are written by the span processor in `operations/recorder.py` when a flow's local root span ends;
    the admin draws an incident's rows as a timeline and the API catalog reads its figures from them.
    Nothing a customer typed is kept here: names of APIs and operations, outcomes and timings only.
    """

    class Layer(models.TextChoices):
        EXPERIENCE = "experience", "Experience"
        PROCESS = "process", "Process"
        SYSTEM = "system", "System"

    trace_id = models.CharField(max_length=32, db_index=True, help_text="The OpenTelemetry trace (32 hex).")
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    reference = models.CharField(max_length=20, blank=True, db_index=True)
    layer = models.CharField(max_length=10, choices=Layer.choices)
    api = models.CharField(max_length=40, help_text="e.g. customer-incidents, servicenow, incidents-v1.")
    operation = models.CharField(max_length=60)
    system = models.CharField(max_length=40, blank=True, help_text="The system of record called, if any.")
    outcome = models.CharField(max_length=40, help_text="ok, an HTTP status, timeout, unreachable, circuit-open...")
    ok = models.BooleanField()
    attempt = models.PositiveSmallIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()

    class Meta:
        # The table it had in the Process layer, kept so that moving the model moved no row.
        db_table = "process_apis_tracedcall"
        ordering = ["started_at", "id"]
        verbose_name = "traced call"
        indexes = [models.Index(fields=["layer", "api", "started_at"], name="traced_call_api_recent")]

    def __str__(self) -> str:
        return f"{self.api}.{self.operation}: {self.outcome} in {self.duration_ms:.0f} ms"
