from django.db import models
from django.db.models import F

SYSTEMS = ("servicenow", "salesforce", "slack", "mail")


class Fault(models.Model):
    """How one stand-in misbehaves, settable at run time. Counters are consumed one request each."""

    HANG_BEFORE = "before"
    HANG_AFTER = "after"

    system = models.CharField(max_length=20, unique=True, choices=[(s, s) for s in SYSTEMS])
    latency_ms = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(default=0.0)
    error_status = models.PositiveSmallIntegerField(default=503)
    fail_next = models.PositiveIntegerField(default=0)
    rate_limit_next = models.PositiveIntegerField(default=0)
    retry_after = models.PositiveIntegerField(default=1)
    hang_next = models.PositiveIntegerField(default=0)
    hang_seconds = models.FloatField(default=30.0)
    # "after": do the work (e.g. create the incident), then hang before answering.
    hang_phase = models.CharField(
        max_length=6, default=HANG_BEFORE, choices=[(HANG_BEFORE, HANG_BEFORE), (HANG_AFTER, HANG_AFTER)]
    )
    requests_seen = models.PositiveIntegerField(default=0)
    # The outbound event calls of ServiceNow's business rule (the other knobs are about requests coming in):
    # the next N events are not sent, sent twice, or held back and sent after the event that follows them.
    drop_events_next = models.PositiveIntegerField(default=0)
    duplicate_events_next = models.PositiveIntegerField(default=0)
    reorder_events_next = models.PositiveIntegerField(default=0)
    # The SMTP server (sandbox.mail) refuses every mail while down.
    down = models.BooleanField(default=False)
    # Salesforce's Bulk API 2.0: the next N jobs end Failed, every poll of a job waits this long before answering,
    # the next N uploads of job data answer 503.
    bulk_fail_next = models.PositiveIntegerField(default=0)
    bulk_poll_hang_seconds = models.FloatField(default=0.0)
    bulk_upload_503_next = models.PositiveIntegerField(default=0)

    EVENT_KNOBS = ("drop_events_next", "duplicate_events_next", "reorder_events_next")
    MAIL_KNOBS = ("down",)
    BULK_KNOBS = ("bulk_fail_next", "bulk_poll_hang_seconds", "bulk_upload_503_next")
    # What an SMTP server has no use for (it is not HTTP: no 429, and it hangs before its answer only).
    NOT_FOR_MAIL = ("rate_limit_next", "retry_after", "hang_phase")
    SETTABLE = (
        "latency_ms",
        "error_rate",
        "error_status",
        "fail_next",
        "rate_limit_next",
        "retry_after",
        "hang_next",
        "hang_seconds",
        "hang_phase",
        "drop_events_next",
        "duplicate_events_next",
        "reorder_events_next",
        "down",
        "bulk_fail_next",
        "bulk_poll_hang_seconds",
        "bulk_upload_503_next",
    )

    def __str__(self) -> str:
        return f"faults of {self.system}"

    @classmethod
    def for_system(cls, system: str) -> "Fault":
        fault, _ = cls.objects.get_or_create(system=system)
        return fault

    def take(self, counter: str) -> bool:
        """Atomically consume one unit of `counter`; True when this request gets that fault."""
        taken = Fault.objects.filter(pk=self.pk, **{f"{counter}__gt": 0}).update(**{counter: F(counter) - 1})
        return taken == 1

    def as_dict(self) -> dict[str, object]:
        return {"system": self.system, **{name: getattr(self, name) for name in self.SETTABLE}}
