"""Durable background work: one row per unit of work, and one per attempt at it (see `kernel.work`)."""

from django.db import models


class Work(models.Model):
    """One unit of background work on a subject (a report's ServiceNow incident, a Slack notice, ...).

    It is created in the same transaction as the business change that calls for it, handed to Celery after
    that commits, claimed before it runs (a claim older than its kind's lease is taken over), and retried
    with backoff until it is done or has failed for good.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Waiting to retry"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=100, help_text="What the work is about, for people (e.g. a reference).")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Raised by every claim: a write made under an older claim (one whose lease was taken over) is refused.
    claim = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The flow that asked for the work: its runs log and trace under the same correlation id.
    trace_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "work"
        indexes = [models.Index(fields=["state", "kind"], name="work_state_kind")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.subject}"


class WorkAttempt(models.Model):
    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(auto_now_add=True)
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=10)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.outcome}"
